/**
 * `npm start` as an outsider meets it: under a production stage (its own secret, a MySQL account
 * with a password), with forged and malformed-claim tokens, odd request targets, deep JSON, aborted
 * uploads and slow clients; refusing to start without its secrets or on a taken port; and with
 * its embedded queue out of reach of other machines.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { SignJWT } from 'jose';
import { DEV_JWT_SECRET } from '../../lib/config';
import { freePort } from '../../scripts/lib/ports';
import { badClaimTokens } from '../contract/contract-suite';
import { type Client, client, httpApi } from '../helpers/api';
import { runToExit } from '../helpers/faults';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, startStack } from '../helpers/stack';

const worker = Number(process.env.SECKILL_TEST_WORKER ?? 1);
const PROD_SECRET = `prod-secret-${randomUUID()}`;
const DB_USER = `seckill_prod_${worker}`;
const DB_PASSWORD = `pw-${randomUUID()}`;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  // A deployed stage needs a MySQL password: an account of its own for this worker's database.
  const database = process.env.MYSQL_DATABASE ?? '';
  await stack.db.query(`CREATE USER IF NOT EXISTS '${DB_USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
  await stack.db.query(`ALTER USER '${DB_USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
  await stack.db.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${DB_USER}'@'%'`);
}, 60_000);

afterAll(async () => {
  await stack?.db.query(`DROP USER IF EXISTS '${DB_USER}'@'%'`);
  await stack?.close();
});

const prodEnv = (): Record<string, string> => ({
  STAGE: 'prod',
  JWT_SECRET: PROD_SECRET,
  MYSQL_USER: DB_USER,
  MYSQL_PASSWORD: DB_PASSWORD,
  QUEUE_URL: stack.queueUrl,
  SERVER_WORKERS: '1',
  HTTP_HEADERS_TIMEOUT_MS: '1000',
  HTTP_REQUEST_TIMEOUT_MS: '3000',
});

/** Runs `npm start` until it exits by itself (or is killed after `timeoutMs`). */
const startToExit = (env: Record<string, string>, timeoutMs = 90_000) =>
  runToExit('scripts/start.ts', { LOG_LEVEL: 'warn', ...env }, timeoutMs);

interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** One request written byte for byte (fetch would normalize the target). */
function rawRequest(port: number, text: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
    });
    // A server that refuses a huge request may reset the connection while the client still sends
    // it: the answer that came before the reset is still the answer (curl shows it the same way).
    socket.on('error', (e) => {
      if (!/^HTTP\/1\.1 \d{3}/.test(data)) reject(e);
    });
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
    socket.write(text);
  });
}

const ODD_TARGETS: [string, string][] = [
  ['GET //', 'GET // HTTP/1.1'],
  ['GET /\\', 'GET /\\ HTTP/1.1'],
  ['GET //a:b', 'GET //a:b HTTP/1.1'],
  ['GET ///api/health', 'GET ///api/health HTTP/1.1'],
  ['GET /%FF', 'GET /%FF HTTP/1.1'],
  ['GET /api/users/%FF/coupons', 'GET /api/users/%FF/coupons HTTP/1.1'],
  ['PATCH /api/users/a/coupons/%E0%A4%A', 'PATCH /api/users/a/coupons/%E0%A4%A HTTP/1.1'],
];

describe('npm start under a production stage', () => {
  let server: RunningServer;
  let api: Client;
  let port: number;

  beforeAll(async () => {
    server = await startServer('scripts/start.ts', prodEnv());
    port = Number(new URL(server.baseUrl).port);
    api = client(httpApi(server.baseUrl));
  }, 180_000);
  afterAll(() => server?.stop());

  const signed = (secret: string, claims: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(secret));
  };

  test('tokens signed with the development secret are refused: no coupon under another name, no grab as nobody', async () => {
    const sellerToken = await api.user('prod_seller', 'saler');
    expect((await api.createCoupon(sellerToken, 'prod_seller', { name: 'c1', amount: 5, stock: 1 })).status).toBe(201);
    // The server's own tokens work (so the refusals below are about the key).
    expect((await api.list(sellerToken, 'prod_seller')).status).toBe(200);

    const devSeller = await signed(DEV_JWT_SECRET, { sub: 'prod_seller', kind: 'saler' });
    const devGhost = await signed(DEV_JWT_SECRET, { sub: 'ghost', kind: 'customer' });
    const create = await api.createCoupon(devSeller, 'prod_seller', { name: 'forged', amount: 5, stock: 1 });
    expect([create.status, create.body]).toEqual([401, { errMsg: 'Not Authorized.' }]);
    const grab = await api.grab(devGhost, 'prod_seller', 'c1');
    expect([grab.status, grab.body]).toEqual([401, { errMsg: 'Not Authorized.' }]);
    const [rows] = await stack.db.query<any[]>('SELECT name FROM coupons WHERE seller = ?', ['prod_seller']);
    expect(rows.map((r) => r.name)).toEqual(['c1']);
  });

  test('tokens signed with the production secret but with claims registration refuses get 401, and no grab', async () => {
    const forged = {
      ...(await badClaimTokens(new TextEncoder().encode(PROD_SECRET), { sub: 'prod_seller', kind: 'customer' })),
    };
    for (const [what, token] of Object.entries(forged)) {
      const grab = await api.grab(token, 'prod_seller', 'c1');
      expect({ what, status: grab.status, body: grab.body }).toEqual({
        what,
        status: 401,
        body: { errMsg: 'Not Authorized.' },
      });
    }
    // The same token with valid claims is accepted: the refusals were about the claims.
    const valid = await signed(PROD_SECRET, { sub: 'prod_cust', kind: 'customer' });
    expect((await api.grab(valid, 'prod_seller', 'c1')).status).toBe(201);
  });

  test.each([
    ...ODD_TARGETS,
    ['absolute-form target', 'GET http://evil.example/api/health HTTP/1.1'],
    ['OPTIONS *', 'OPTIONS * HTTP/1.1'],
  ])('%s: a 4xx with errMsg', async (_label, line) => {
    const res = await rawRequest(port, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(typeof JSON.parse(res.body).errMsg).toBe('string');
  });

  test.each([
    ['a header line without a colon', 'GET /api/health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n', 400],
    ['a NUL in a header value', 'GET /api/health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 400],
    ['a space in the method', 'GE T /api/health HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['an unknown HTTP version', 'GET /api/health HTTP/9.9\r\nHost: x\r\n\r\n', 400],
    [
      'two content lengths',
      'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}',
      400,
    ],
    ['a 128 KB header', `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(128 * 1024)}\r\n\r\n`, 431],
  ])('a request the parser refuses (%s): its 4xx, with errMsg', async (_label, text, status) => {
    const res = await rawRequest(port, text);
    expect(res.status).toBe(status);
    expect(typeof JSON.parse(res.body).errMsg).toBe('string');
  });

  test('a kind nested 4,200 arrays deep gets 400', async () => {
    const body = `{"username":"deep_u","password":"secret123","kind":${'['.repeat(4200)}${']'.repeat(4200)}}`;
    const res = await api.api.request('POST', '/api/users', { body });
    expect([res.status, res.body]).toEqual([400, { errMsg: 'Unexpected value of kind, [...]' }]);
  });

  test('clients that abort mid-upload are not logged as a failing database, and the server serves on', async () => {
    const before = server.output().length;
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"username":',
          );
          setTimeout(() => {
            socket.resetAndDestroy();
            resolve();
          }, 50);
        });
        socket.on('error', () => {});
      });
    }
    await new Promise((r) => setTimeout(r, 500));
    expect((await api.health()).status).toBe(200);
    expect(server.output().slice(before)).not.toMatch(/unavailable|unexpected error/);
  });

  test('a client that sends its headers too slowly is cut off after the headers timeout', async () => {
    const started = Date.now();
    const res = await new Promise<{ closedAfterMs: number; data: string }>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /api/health HTTP/1.1\r\nHost: x\r\n'));
      let data = '';
      socket.on('data', (d: Buffer) => {
        data += d.toString();
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve({ closedAfterMs: Date.now() - started, data }));
      // Without a timeout of its own the server would hold the connection for a minute.
      setTimeout(() => socket.destroy(), 15_000);
    });
    expect(res.closedAfterMs).toBeLessThan(6000);
    expect(res.data).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(res.data.split('\r\n\r\n')[1] ?? '')).toEqual({ errMsg: 'Request timeout.' });
  });
});

/**
 * `npm run dev` in a production stage: serverless.yml's secrets for such a stage are SSM references
 * only CloudFormation resolves; the runner hands serverless-offline the configured ones instead.
 * serverless-offline answers odd targets itself, before any handler, as API Gateway does on AWS: a
 * 4xx, never a 5xx, but its own JSON (`{"statusCode", "error", ...}`) without `errMsg`. Giving them
 * the contract's body needs a `$default` route in serverless.yml (docs/ARCHITECTURE.md, "Known limits").
 */
describe('npm run dev (serverless-offline) under a production stage', () => {
  let server: RunningServer;
  let port: number;

  beforeAll(async () => {
    server = await startServer('scripts/dev.ts', prodEnv());
    port = Number(new URL(server.baseUrl).port);
  }, 180_000);
  afterAll(() => server?.stop());

  test('the handlers use the configured secret: not the development one, not the unresolved SSM reference', async () => {
    const api = client(httpApi(server.baseUrl));
    await api.user('devprod_user', 'customer');
    const sign = (secret: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ kind: 'customer' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject('devprod_user')
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(secret));
    };
    for (const secret of [DEV_JWT_SECRET, '{{resolve:ssm:/seckill/prod/jwt-secret}}']) {
      expect((await api.list(await sign(secret), 'devprod_user')).status).toBe(401);
    }
    expect((await api.list(await sign(PROD_SECRET), 'devprod_user')).status).toBe(204);
  });

  test.each(ODD_TARGETS)('%s: a 4xx with a JSON body, never a 5xx', async (_label, line) => {
    const res = await rawRequest(port, `${line}\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect([400, 404]).toContain(res.status);
    expect(typeof JSON.parse(res.body)).toBe('object');
    expect((await fetch(`${server.baseUrl}/api/health`)).status).toBe(200);
  });
});

describe('npm start refuses to start without what a deployed stage needs', () => {
  test.each([
    ['JWT_SECRET', { JWT_SECRET: '' }],
    ['MYSQL_PASSWORD', { MYSQL_PASSWORD: '' }],
  ])(
    'without %s: exits non-zero with one line naming it',
    async (name, missing) => {
      const { code, output } = await startToExit({ ...prodEnv(), ...missing, HTTP_PORT: String(await freePort()) });
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      const lines = output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
        level: 'error',
        message: expect.stringMatching(new RegExp(`^configuration error: ${name} is required`)),
      });
    },
    120_000,
  );
});

describe('npm start on a taken port', () => {
  let blocker: Server;
  afterAll(() => new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve())));

  test('exits non-zero with one clear line instead of re-forking workers', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, resolve));
    const started = Date.now();
    const { code, output } = await startToExit({
      QUEUE_URL: stack.queueUrl,
      HTTP_PORT: String(port),
      SERVER_WORKERS: '2',
    });
    expect(code).toBe(1);
    expect(Date.now() - started).toBeLessThan(60_000);
    const complaints = output.split('\n').filter((l) => l.includes('is in use'));
    expect(complaints.map((l) => JSON.parse(l).message)).toEqual([
      `port ${port} is in use (another npm start?): stop that process, or set HTTP_PORT.`,
    ]);
    expect(output).not.toMatch(/starting another/);
  }, 120_000);
});

describe('the embedded queue of npm start', () => {
  let server: RunningServer;
  let queuePort: number;

  beforeAll(async () => {
    queuePort = await freePort();
    server = await startServer('scripts/start.ts', {
      SQS_ENDPOINT: '',
      QUEUE_URL: '',
      QUEUE_PORT: String(queuePort),
      SERVER_WORKERS: '1',
    });
  }, 180_000);
  afterAll(() => server?.stop());

  /** This machine's addresses other than loopback (the test needs one). */
  function otherAddresses(): string[] {
    return Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
      .map((a) => a?.address ?? '');
  }

  /** Whether a separate process can open a TCP connection to host:port. */
  function reachableFromAnotherProcess(host: string, port: number): boolean {
    const script = `require('node:net').connect({ host: ${JSON.stringify(host)}, port: ${port} })
      .on('connect', () => process.exit(0)).on('error', () => process.exit(3));
      setTimeout(() => process.exit(4), 5000);`;
    return spawnSync(process.execPath, ['-e', script], { timeout: 10_000 }).status === 0;
  }

  test('listens on 127.0.0.1 only, and says so', async () => {
    expect(server.output()).toContain(
      `embedded SQS emulator listening on http://127.0.0.1:${queuePort} (loopback only)`,
    );
    expect(server.output()).toMatch(/API listening on http:\/\/\*:\d+ \(all interfaces\)/);
    expect(reachableFromAnotherProcess('127.0.0.1', queuePort)).toBe(true);
    const others = otherAddresses();
    if (others.length === 0) {
      throw new Error('this machine has no address but loopback: the emulator cannot be reached from elsewhere anyway');
    }
    for (const address of others) {
      expect({ address, reachable: reachableFromAnotherProcess(address, queuePort) }).toEqual({
        address,
        reachable: false,
      });
    }
  });
});
