/**
 * The HTTP contract of docs/api.md as a jest suite that runs against any `Api`: the
 * handlers in process, or a real server over HTTP. Every row of the contract has a test here; the
 * bad-input corpus lives beside it (bad-input.ts).
 *
 * The suite reads and compares the stores directly (MySQL rows, Redis keys), so the `Stack` it is
 * given must be the one the API under test writes to. Forged tokens (expired, for instance) are
 * signed with this process's `JWT_SECRET`: a server under test must use the same one.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import type { RowDataPacket } from 'mysql2/promise';
import { config } from '../../lib/config';
import { couponKeys, keys } from '../../lib/keys';
import { services } from '../../lib/services';
import { queueDrained } from '../../lib/warm-up';
import { type ApiResponse, type Client, untilAnswered } from '../helpers/api';
import { type Stack, sleep } from '../helpers/stack';

export type Transport = 'in-process' | 'http';

export interface ContractTarget {
  /** Getters: the stack and the server start in `beforeAll`, after the tests are registered. */
  client: () => Client;
  stack: () => Stack;
  transport: Transport;
}

export type Kind = 'customer' | 'saler';

export interface TestUser {
  username: string;
  token: string;
}

/** Usernames unique to this run and prefix (at most 32 characters of `A-Za-z0-9_.-`). */
export function usernames(prefix: string): () => string {
  const run = randomBytes(3).toString('hex');
  let n = 0;
  return () => `${prefix}_${run}_${++n}`;
}

export function expectJson(res: ApiResponse, status: number, body: Record<string, unknown>): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
}

/** A `204`: no body at all, and the `X-Seckill-Reason` header when a reason is given. */
export type Reason = 'not-found' | 'sold-out' | 'already-owned' | 'paused' | 'not-started' | 'ended';

export function expectNoContent(res: ApiResponse, reason?: Reason): void {
  expect({ status: res.status, text: res.text, reason: res.headers['x-seckill-reason'] }).toEqual({
    status: 204,
    text: '',
    reason,
  });
}

/**
 * A grab asked right after the coupon was answered `sold-out`: api.md lets a server answer it
 * `sold-out` from memory for at most one second even where another reason comes first; after that
 * second the exact reason must come. `expected` is that exact reason.
 */
export async function expectExactAfterSoldOutMemory(
  send: () => Promise<ApiResponse>,
  expected: 'already-owned' | 'paused' | 'ended',
): Promise<void> {
  const first = await send();
  expect(first.status).toBe(204);
  if (first.headers['x-seckill-reason'] === 'sold-out') {
    await sleep(1100);
    expectNoContent(await send(), expected);
  } else {
    expectNoContent(first, expected);
  }
}

/**
 * An oversized request is refused with a 4xx or a closed connection (HTTP only: in process, the
 * handler itself must answer 413 with an `errMsg`), never a 5xx. `statuses` are the handler's
 * answers; a server refusing the request before any handler runs may answer any 4xx (a huge header:
 * 431 from Node, 400 from hapi). `send` rejects when the connection closed.
 */
export async function expectOversizeRefused(
  send: () => Promise<ApiResponse>,
  transport: Transport,
  statuses: number[] | 'any 4xx' = [413],
): Promise<void> {
  let res: ApiResponse | undefined;
  try {
    res = await send();
  } catch (e: unknown) {
    if (transport === 'in-process') throw e;
    return;
  }
  if (statuses === 'any 4xx') {
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  } else {
    expect(statuses).toContain(res.status);
    expect(typeof res.body?.errMsg).toBe('string');
  }
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens that must all be refused with `401 Not Authorized.`, built from a valid one. */
export async function forgedTokens(valid: string): Promise<Record<string, string>> {
  const [header, payload, signature] = valid.split('.');
  const claims = decodeJwt(valid);
  const secret = config().auth.jwtSecret;
  const now = Math.floor(Date.now() / 1000);
  const sign = (alg: string, key: Uint8Array, iat: number, exp: number) =>
    new SignJWT({ kind: claims.kind })
      .setProtectedHeader({ alg, typ: 'JWT' })
      .setSubject(String(claims.sub))
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
  return {
    garbage: 'not-a-token',
    'three garbage parts': 'a.b.c',
    'bearer without token': 'Bearer',
    'basic scheme': `Basic ${valid}`,
    'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`,
    'payload changed (kind)': `${header}.${b64url({ ...claims, kind: claims.kind === 'saler' ? 'customer' : 'saler' })}.${signature}`,
    'payload changed (sub)': `${header}.${b64url({ ...claims, sub: `${claims.sub}x` })}.${signature}`,
    'signature stripped': `${header}.${payload}.`,
    'other secret': await sign(
      'HS256',
      new TextEncoder().encode('another-secret-of-at-least-32-characters!'),
      now,
      now + 3600,
    ),
    'HS512 instead of HS256': await sign('HS512', secret, now, now + 3600),
    expired: await sign('HS256', secret, now - 7200, now - 60),
    ...(await badClaimTokens(secret, { sub: String(claims.sub), kind: claims.kind })),
  };
}

/**
 * Tokens signed with the right key whose claims registration would refuse (api.md): each must be
 * refused with 401, whatever key signed it.
 */
export async function badClaimTokens(
  secret: Uint8Array,
  valid: { sub: string; kind: unknown },
): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT({ ...valid, ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(secret);
  return {
    'claims: sub of 40 characters': await sign({ sub: 'u'.repeat(40) }),
    'claims: sub with a space': await sign({ sub: 'has space' }),
    'claims: sub in odd unicode': await sign({ sub: 'Ünïcode' }),
    'claims: empty sub': await sign({ sub: '' }),
    'claims: sub of dots': await sign({ sub: '..' }),
    'claims: kind admin': await sign({ kind: 'admin' }),
  };
}

/** A token signed like the server's own: proves `forgedTokens().expired` fails for its expiry alone. */
export function freshToken(username: string, kind: Kind): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ kind })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(username)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(config().auth.jwtSecret);
}

/** Polls until `probe` returns a value other than undefined. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

export interface DataSnapshot {
  mysql: Record<string, RowDataPacket[]>;
  redis: [key: string, type: string, value: unknown][];
}

/**
 * Keys that count answers rather than hold data (api.md counts them by design: failed logins for
 * throttling, grab outcomes for the stats, grab rate limits): left out of the comparison.
 */
const COUNTERS = /^login:fail:|^coupon:\{.*\}:(stats|seconds|rate:.*)$/s;

/** Every row of the MySQL tables and every key of the Redis database (but counters), for before/after comparison. */
export async function dataSnapshot(stack: Stack): Promise<DataSnapshot> {
  // A grab of an earlier test may still be on its way to MySQL (the consumer gathers a batch for a
  // moment): wait until the queue holds nothing, visible or in flight (the emulator counts exactly).
  if (!(await queueDrained(services().queue, 20_000, 20, 1))) throw new Error('the queue did not drain');
  const mysql: Record<string, RowDataPacket[]> = {};
  for (const [table, order] of [
    ['users', 'id'],
    ['coupons', 'id'],
    ['purchases', 'id'],
    ['revoked_tokens', 'jti'],
    ['coupon_changes', 'id'],
  ] as const) {
    const [rows] = await stack.db.query<RowDataPacket[]>(`SELECT * FROM ${table} ORDER BY ${order}`);
    mysql[table] = rows;
  }
  const r = stack.redis;
  const keys: string[] = [];
  // Every node holding data (a cluster's primaries), each scanned to the end.
  for (const node of await stack.dataNodes()) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch.filter((key) => !COUNTERS.test(key)));
    } while (cursor !== '0');
  }
  keys.sort();
  // Issued together, the reads travel in a few pipelined round trips.
  const types = await Promise.all(keys.map((key) => r.type(key)));
  const values = await Promise.all(
    keys.map((key, i): Promise<unknown> => {
      const type = types[i];
      if (type === 'string') return r.get(key);
      if (type === 'list') return r.lrange(key, 0, -1);
      if (type === 'set') return r.smembers(key).then((members) => members.sort());
      if (type === 'zset') return r.zrange(key, 0, -1, 'WITHSCORES');
      if (type === 'hash') return r.hgetall(key);
      return Promise.resolve(type);
    }),
  );
  const redis: DataSnapshot['redis'] = keys.map((key, i) => [key, types[i] ?? 'none', values[i]]);
  return { mysql, redis };
}

/** A JSON object padded with whitespace to exactly `bytes` bytes. */
export function paddedJson(value: Record<string, unknown>, bytes: number): string {
  const text = JSON.stringify(value);
  const missing = bytes - Buffer.byteLength(text);
  if (missing < 0) throw new Error('value is larger than the requested size');
  return `${text.slice(0, -1)}${' '.repeat(missing)}}`;
}

const PASSWORD = 'secret123';

export function describeContract(label: string, setup: () => ContractTarget): void {
  describe(`API contract (${label})`, () => {
    const target = setup();
    const c = () => target.client();
    const stack = () => target.stack();
    const nextName = usernames('ct');

    async function newUser(kind: Kind): Promise<TestUser> {
      const username = nextName();
      return { username, token: await c().user(username, kind, PASSWORD) };
    }

    async function createOk(seller: TestUser, coupon: Record<string, unknown>): Promise<void> {
      const res = await c().createCoupon(seller.token, seller.username, coupon);
      expectJson(res, 201, { errMsg: '' });
    }

    async function purchaseRows(seller: string, name: string) {
      const [rows] = await stack().db.query<RowDataPacket[]>(
        'SELECT p.username, c.`left` FROM purchases p JOIN coupons c ON c.id = p.coupon_id WHERE c.seller = ? AND c.name = ?',
        [seller, name],
      );
      return rows;
    }

    describe('POST /api/users (register)', () => {
      test('201 {"errMsg": ""} for a customer and for a saler', async () => {
        for (const kind of ['customer', 'saler']) {
          expectJson(await c().register(nextName(), PASSWORD, kind), 201, { errMsg: '' });
        }
      });

      test('"seller" is an alias: stored, logged in and reported as "saler", and acts as one', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'seller'), 201, { errMsg: '' });
        const [rows] = await stack().db.query<RowDataPacket[]>('SELECT kind FROM users WHERE username = ?', [username]);
        expect(rows.map((r) => r.kind)).toEqual(['saler']);
        const login = await c().login(username, PASSWORD);
        expectJson(login, 200, { kind: 'saler', errMsg: '' });
        expect(decodeJwt(login.headers.authorization ?? '').kind).toBe('saler');
        const token = login.headers.authorization ?? '';
        expectJson(await c().createCoupon(token, username, { name: 'alias', amount: 1, stock: 1 }), 201, {
          errMsg: '',
        });
        expect((await c().list(token, username)).body.data).toHaveLength(1);
      });

      test.each([
        ['empty', ''],
        ['null', 'null'],
        ['an array', '[{"username":"a","password":"secret123","kind":"customer"}]'],
        ['a number', '42'],
        ['a string', '"username"'],
        ['true', 'true'],
        ['truncated JSON', '{"username":"a"'],
        ['not JSON', 'username=a&password=secret123'],
      ])('400 "Only receive JSON format." when the body is %s', async (_, body) => {
        expectJson(await c().api.request('POST', '/api/users', { body }), 400, {
          errMsg: 'Only receive JSON format.',
        });
      });

      test('username: empty or missing is "User name too short."; bad characters or too long "Invalid user name."', async () => {
        const register = (username: unknown) =>
          c().api.request('POST', '/api/users', { body: { username, password: PASSWORD, kind: 'customer' } });
        expectJson(await register(''), 400, { errMsg: 'User name too short.' });
        expectJson(await register(undefined), 400, { errMsg: 'User name too short.' });
        for (const bad of ['a'.repeat(33), 'with space', 'semi;colon', 'slash/x', 'é', 'a😀', 42, ['a'], { a: 1 }]) {
          expectJson(await register(bad), 400, { errMsg: 'Invalid user name.' });
        }
      });

      test('username: 1 and 32 characters of A-Z a-z 0-9 _ . - are accepted', async () => {
        const long = `${nextName()}_`.padEnd(32, 'Z');
        expect(long).toHaveLength(32);
        const all = `aZ09_.-${randomBytes(4).toString('hex')}`;
        // Any one character but '.' (a name of dots alone cannot be addressed in a URL: refused).
        const single = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.charAt(
          randomBytes(1).readUInt8(0) % 64,
        );
        for (const username of [long, all]) {
          expectJson(await c().register(username, PASSWORD, 'customer'), 201, { errMsg: '' });
          expectJson(await c().login(username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
        }
        // A one-character name may be taken by an earlier run against the same database: either answer is contractual.
        const res = await c().register(single, PASSWORD, 'customer');
        expect([201, 400]).toContain(res.status);
        if (res.status === 400) expect(res.body).toEqual({ errMsg: 'Insert user failed. Maybe user name duplicates.' });
      });

      test('password: 6-128 characters; shorter, longer or not a string is refused', async () => {
        const register = (password: unknown) =>
          c().api.request('POST', '/api/users', { body: { username: nextName(), password, kind: 'customer' } });
        expectJson(await register('12345'), 400, { errMsg: 'Password too short.' });
        expectJson(await register(''), 400, { errMsg: 'Password too short.' });
        expectJson(await register(undefined), 400, { errMsg: 'Password too short.' });
        expectJson(await register('p'.repeat(129)), 400, { errMsg: 'Password too long.' });
        for (const wrongType of [12345678, true, ['secret123'], { p: 'secret123' }, null]) {
          const res = await register(wrongType);
          expect(res.status).toBe(400);
          expect(['Password too short.', 'Password too long.']).toContain(res.body?.errMsg);
        }
        for (const ok of ['123456', 'p'.repeat(128)]) {
          const username = nextName();
          expectJson(await c().register(username, ok, 'customer'), 201, { errMsg: '' });
          expectJson(await c().login(username, ok), 200, { kind: 'customer', errMsg: '' });
        }
      });

      test('kind: missing or empty is "Empty field of kind."; any other value "Unexpected value of kind, <kind>"', async () => {
        const register = (kind: unknown) =>
          c().api.request('POST', '/api/users', { body: { username: nextName(), password: PASSWORD, kind } });
        expectJson(await register(undefined), 400, { errMsg: 'Empty field of kind.' });
        expectJson(await register(''), 400, { errMsg: 'Empty field of kind.' });
        for (const kind of ['admin', 'Customer', 'SALER', 'sellers', ' customer', "' OR 1=1 --"]) {
          expectJson(await register(kind), 400, { errMsg: `Unexpected value of kind, ${kind}` });
        }
        for (const kind of [1, true, ['customer'], { kind: 'customer' }]) {
          const res = await register(kind);
          expect(res.status).toBe(400);
          expect(res.body?.errMsg).toMatch(/^Unexpected value of kind, /);
        }
      });

      test('400 "Insert user failed. Maybe user name duplicates." for a taken name, whatever the kind', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'customer'), 201, { errMsg: '' });
        for (const kind of ['customer', 'saler']) {
          expectJson(await c().register(username, 'another-password', kind), 400, {
            errMsg: 'Insert user failed. Maybe user name duplicates.',
          });
        }
        // The first account is untouched.
        expectJson(await c().login(username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
        expectJson(await c().login(username, 'another-password'), 401, {
          kind: '',
          errMsg: 'Invalid username or password.',
        });
      });

      test('passwords are stored as salted scrypt or argon2id hashes, never in clear', async () => {
        const a = nextName();
        const b = nextName();
        for (const u of [a, b]) expectJson(await c().register(u, PASSWORD, 'customer'), 201, { errMsg: '' });
        const [rows] = await stack().db.query<RowDataPacket[]>(
          'SELECT username, password_hash FROM users WHERE username IN (?, ?) ORDER BY username',
          [a, b],
        );
        expect(rows).toHaveLength(2);
        const hashes = rows.map((r) => String(r.password_hash));
        for (const h of hashes) {
          expect(h).toMatch(/^(scrypt\$|\$argon2id\$)/);
          expect(h).not.toContain(PASSWORD);
          expect(h).not.toContain(Buffer.from(PASSWORD).toString('base64'));
        }
        expect(hashes[0]).not.toBe(hashes[1]);
      });
    });

    describe('POST /api/auth (log in)', () => {
      test('200 {"kind", "errMsg": ""} and the raw JWT in the Authorization response header', async () => {
        for (const kind of ['customer', 'saler'] as const) {
          const username = nextName();
          expectJson(await c().register(username, PASSWORD, kind), 201, { errMsg: '' });
          const res = await c().login(username, PASSWORD);
          expectJson(res, 200, { kind, errMsg: '' });
          expect(res.headers.authorization).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
        }
      });

      test('the JWT is HS256 and carries username, kind, jti, iat and a 1 hour expiry, never the password or hash', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'customer'), 201, { errMsg: '' });
        const first = (await c().login(username, PASSWORD)).headers.authorization ?? '';
        const second = (await c().login(username, PASSWORD)).headers.authorization ?? '';
        expect(decodeProtectedHeader(first).alg).toBe('HS256');
        const claims = decodeJwt(first);
        expect(claims).toMatchObject({
          sub: username,
          kind: 'customer',
          jti: expect.any(String),
          iat: expect.any(Number),
          exp: expect.any(Number),
        });
        expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
        expect(Math.abs((claims.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
        expect(decodeJwt(second).jti).not.toBe(claims.jti);
        const [rows] = await stack().db.query<RowDataPacket[]>('SELECT password_hash FROM users WHERE username = ?', [
          username,
        ]);
        const hash = String(rows[0]?.password_hash);
        const decoded = JSON.stringify([decodeProtectedHeader(first), claims]);
        for (const secret of [PASSWORD, hash, ...hash.split('$').filter((part) => part.length > 8)]) {
          expect(decoded).not.toContain(secret);
        }
        expect(decoded).not.toMatch(/pass|hash|scrypt|argon/i);
      });

      test.each([
        ['empty', ''],
        ['null', 'null'],
        ['an array', '[]'],
        ['a string', '"x"'],
        ['truncated JSON', '{"username":'],
      ])('400 {"kind": "", "errMsg": "Only receive JSON format."} when the body is %s', async (_, body) => {
        expectJson(await c().api.request('POST', '/api/auth', { body }), 400, {
          kind: '',
          errMsg: 'Only receive JSON format.',
        });
      });

      test('401 with the same message for an unknown user and a wrong password', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'saler'), 201, { errMsg: '' });
        const failed = { kind: '', errMsg: 'Invalid username or password.' };
        const attempts = [
          c().login(nextName(), PASSWORD),
          c().login(username, 'wrong-password'),
          c().login(username, `${PASSWORD} `),
          c().login(username.toUpperCase(), PASSWORD),
          c().login(username, ''),
        ];
        for (const res of await Promise.all(attempts)) {
          expectJson(res, 401, failed);
          expect(res.headers.authorization).toBeUndefined();
        }
      });
    });

    describe('the Authorization request header', () => {
      /** A seller with a coupon, and a customer: each test its own. */
      async function scene() {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'forms', amount: 100, stock: 1 });
        return { seller, customer };
      }

      test.each([
        ['raw', (t: string) => t],
        ['Bearer <token>', (t: string) => `Bearer ${t}`],
        ['with a leading space', (t: string) => ` ${t}`],
        ['Bearer with surrounding whitespace', (t: string) => `  Bearer ${t}  `],
      ])('is accepted %s on every route that needs it', async (_, form) => {
        const { seller, customer } = await scene();
        const coupon = { name: 'second', amount: 1, stock: 1 };
        expectJson(await c().createCoupon(form(seller.token), seller.username, coupon), 201, { errMsg: '' });
        expect((await c().list(form(customer.token), seller.username)).body?.data).toHaveLength(2);
        expect((await c().list(form(seller.token), seller.username)).body?.data).toHaveLength(2);
        expectJson(await c().grab(form(customer.token), seller.username, 'forms'), 201, { errMsg: '' });
        expect((await c().list(form(customer.token), customer.username)).body?.data).toHaveLength(1);
      });

      test('a missing, empty, malformed, forged or expired token gets 401 "Not Authorized." on every route', async () => {
        const { seller, customer } = await scene();
        const forged = {
          ...(await forgedTokens(seller.token)),
          ...Object.fromEntries(
            Object.entries(await forgedTokens(customer.token)).map(([k, v]) => [`customer ${k}`, v]),
          ),
          empty: '',
          blank: '   ',
          'Bearer and blank': 'Bearer   ',
        };
        const notAuthorized = { errMsg: 'Not Authorized.' };
        expectJson(
          await c().createCoupon(undefined, seller.username, { name: 'x', amount: 1, stock: 1 }),
          401,
          notAuthorized,
        );
        expectJson(await c().list(undefined, seller.username), 401, notAuthorized);
        expectJson(await c().grab(undefined, seller.username, 'forms'), 401, notAuthorized);
        for (const [what, token] of Object.entries(forged)) {
          const results = {
            create: await c().createCoupon(token, seller.username, { name: what, amount: 1, stock: 1 }),
            listSeller: await c().list(token, seller.username),
            listCustomer: await c().list(token, customer.username),
            grab: await c().grab(token, seller.username, 'forms'),
          };
          for (const [route, res] of Object.entries(results)) {
            expect({ what, route, status: res.status, body: res.body }).toEqual({
              what,
              route,
              status: 401,
              body: notAuthorized,
            });
          }
        }
        // Nothing was created or grabbed by any of them.
        expectJson(await c().list(seller.token, seller.username), 200, {
          errMsg: '',
          data: [{ name: 'forms', amount: 100, left: 100, stock: 1, description: '' }],
        });
        expectNoContent(await c().list(customer.token, customer.username));
      });

      test('the expired token above fails only for its expiry: the same key signs an accepted one', async () => {
        const { seller, customer } = await scene();
        const token = await freshToken(customer.username, 'customer');
        expect((await c().list(token, seller.username)).status).toBe(200);
        expectJson(await c().grab(token, seller.username, 'forms'), 201, { errMsg: '' });
      });
    });

    describe('POST /api/auth/logout', () => {
      test('always 200 {"errMsg": "log out."}: no token, a bad token, any body', async () => {
        const loggedOut = { errMsg: 'log out.' };
        expectJson(await c().logout(), 200, loggedOut);
        expectJson(await c().logout('garbage'), 200, loggedOut);
        expectJson(await c().logout('Bearer a.b.c'), 200, loggedOut);
        expectJson(await c().api.request('POST', '/api/auth/logout', { body: 'not json at all' }), 200, loggedOut);
        expectJson(await c().api.request('POST', '/api/auth/logout', { body: [1, 2] }), 200, loggedOut);
      });

      test('revokes exactly the token sent: 401 on every route afterwards, other tokens keep working', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'kept', amount: 5, stock: 1 });
        const sellerOther = (await c().login(seller.username, PASSWORD)).headers.authorization ?? '';
        const customerOther = (await c().login(customer.username, PASSWORD)).headers.authorization ?? '';

        expectJson(await c().logout(seller.token), 200, { errMsg: 'log out.' });
        expectJson(await c().logout(`Bearer ${customer.token}`), 200, { errMsg: 'log out.' });

        const notAuthorized = { errMsg: 'Not Authorized.' };
        for (const form of [(t: string) => t, (t: string) => `Bearer ${t}`, (t: string) => ` ${t}`]) {
          expectJson(
            await c().createCoupon(form(seller.token), seller.username, { name: 'late', amount: 1, stock: 1 }),
            401,
            notAuthorized,
          );
          expectJson(await c().list(form(seller.token), seller.username), 401, notAuthorized);
          expectJson(await c().list(form(customer.token), seller.username), 401, notAuthorized);
          expectJson(await c().list(form(customer.token), customer.username), 401, notAuthorized);
          expectJson(await c().grab(form(customer.token), seller.username, 'kept'), 401, notAuthorized);
        }
        // Logging out again with it is still a plain 200, and it stays revoked.
        expectJson(await c().logout(seller.token), 200, { errMsg: 'log out.' });
        expectJson(await c().list(seller.token, seller.username), 401, notAuthorized);

        // The user's other sessions are untouched, and nothing was created or grabbed.
        const listing = await c().list(sellerOther, seller.username);
        expect(listing.body.data).toEqual([{ name: 'kept', amount: 5, left: 5, stock: 1, description: '' }]);
        expectJson(await c().grab(customerOther, seller.username, 'kept'), 201, { errMsg: '' });
        expect(await purchaseRowsEventually(seller.username, 'kept', 1)).toHaveLength(1);
      });

      test('a revocation outlives the cache: after Redis loses it and is rebuilt, the token is still refused', async () => {
        const customer = await newUser('customer');
        const seller = await newUser('saler');
        await createOk(seller, { name: 'after-rebuild', amount: 5, stock: 1 });
        const other = (await c().login(customer.username, PASSWORD)).headers.authorization ?? '';
        expectJson(await c().logout(customer.token), 200, { errMsg: 'log out.' });
        const jti = String(decodeJwt(customer.token).jti);
        // Redis forgets the revocation and knows it is no longer a complete copy of MySQL.
        await stack().redis.del(keys.revokedToken(jti));
        await stack().markCold();
        // The cold cache is rebuilt in the background; meanwhile requests get 503 with Retry-After.
        expectJson(await untilAnswered(() => c().list(customer.token, seller.username)), 401, {
          errMsg: 'Not Authorized.',
        });
        expect(await stack().redis.exists(keys.revokedToken(jti))).toBe(1);
        expectJson(await c().grab(customer.token, seller.username, 'after-rebuild'), 401, {
          errMsg: 'Not Authorized.',
        });
        expectJson(await c().grab(other, seller.username, 'after-rebuild'), 201, { errMsg: '' });
      });
    });

    async function purchaseRowsEventually(seller: string, name: string, count: number) {
      return eventually(async () => {
        const rows = await purchaseRows(seller, name);
        return rows.length >= count ? rows : undefined;
      });
    }

    describe('POST /api/users/{username}/coupons (create)', () => {
      test('201 {"errMsg": ""}; listed as created and grabbable at once', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'c1', amount: 20, description: 'twenty off', stock: 5 });
        expectJson(await c().list(customer.token, seller.username), 200, {
          errMsg: '',
          data: [{ name: 'c1', amount: 20, left: 20, stock: 5, description: 'twenty off' }],
        });
        expectJson(await c().grab(customer.token, seller.username, 'c1'), 201, { errMsg: '' });
      });

      test('amount and stock may be strings of digits; they are stored and reported as numbers', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'strings', amount: '20', stock: '5' });
        await createOk(seller, { name: 'zeros', amount: '007', stock: '0' });
        expect((await c().list(seller.token, seller.username)).body.data).toEqual([
          { name: 'strings', amount: 20, left: 20, stock: 5, description: '' },
          { name: 'zeros', amount: 7, left: 7, stock: 0, description: '' },
        ]);
        const [rows] = await stack().db.query<RowDataPacket[]>(
          'SELECT name, amount, `left`, stock, description FROM coupons WHERE seller = ? ORDER BY id',
          [seller.username],
        );
        expect(rows.map((r) => ({ ...r }))).toEqual([
          { name: 'strings', amount: 20, left: 20, stock: 5, description: '' },
          { name: 'zeros', amount: 7, left: 7, stock: 0, description: '' },
        ]);
      });

      test('the bounds are accepted: amount 1 and 1,000,000, stock 0 and 1,000,000,000, name 60, description 255 characters', async () => {
        const seller = await newUser('saler');
        const name60 = '😀'.repeat(30) + 'n'.repeat(30);
        const description255 = `${'é'.repeat(100)}${'🎟'.repeat(100)}${'d'.repeat(55)}`;
        await createOk(seller, { name: 'lo', amount: 1, stock: 0 });
        await createOk(seller, { name: 'hi', amount: 1_000_000, stock: 1_000_000_000, description: description255 });
        await createOk(seller, { name: name60, amount: '1000000', stock: '1000000000' });
        expect((await c().list(seller.token, seller.username)).body.data).toEqual([
          { name: 'lo', amount: 1, left: 1, stock: 0, description: '' },
          { name: 'hi', amount: 1_000_000, left: 1_000_000, stock: 1_000_000_000, description: description255 },
          { name: name60, amount: 1_000_000, left: 1_000_000, stock: 1_000_000_000, description: '' },
        ]);
      });

      test('description is optional and defaults to empty', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'plain', amount: 2, stock: 3 });
        await createOk(seller, { name: 'blank', amount: 2, stock: 3, description: '' });
        expect((await c().list(seller.token, seller.username)).body.data).toEqual([
          { name: 'plain', amount: 2, left: 2, stock: 3, description: '' },
          { name: 'blank', amount: 2, left: 2, stock: 3, description: '' },
        ]);
        expectJson(await c().grab(customer.token, seller.username, 'plain'), 201, { errMsg: '' });
        expect((await c().list(customer.token, customer.username)).body.data).toEqual([
          { name: 'plain', seller: seller.username, stock: 3, description: '' },
        ]);
      });

      test.each([
        ['empty', ''],
        ['null', 'null'],
        ['an array', '[{"name":"c","amount":1,"stock":1}]'],
        ['a number', '7'],
        ['a string', '"c"'],
        ['truncated JSON', '{"name":"c","amount":1'],
      ])('400 "Only receive JSON format." when the body is %s', async (_, body) => {
        const seller = await newUser('saler');
        const res = await c().api.request('POST', `/api/users/${seller.username}/coupons`, {
          headers: { authorization: seller.token },
          body,
        });
        expectJson(res, 400, { errMsg: 'Only receive JSON format.' });
      });

      test('name: missing or empty is "Coupon name should not be empty."; over 60 characters, "/" or control characters "Invalid coupon name."', async () => {
        const seller = await newUser('saler');
        const create = (name: unknown) =>
          c().createCoupon(seller.token, seller.username, { name, amount: 1, stock: 1 });
        expectJson(await create(undefined), 400, { errMsg: 'Coupon name should not be empty.' });
        expectJson(await create(''), 400, { errMsg: 'Coupon name should not be empty.' });
        const invalid = [
          'n'.repeat(61),
          '😀'.repeat(61),
          'a/b',
          '/',
          '../x',
          'nul\u0000',
          'tab\t',
          'line\nbreak',
          'unit\u001f',
          'del\u007f',
          'c1\u0080',
          'nel\u0085',
          'c1\u009f',
        ];
        for (const name of invalid) expectJson(await create(name), 400, { errMsg: 'Invalid coupon name.' });
        for (const wrongType of [7, true, ['c'], { name: 'c' }]) {
          const res = await create(wrongType);
          expect(res.status).toBe(400);
          expect(['Coupon name should not be empty.', 'Invalid coupon name.']).toContain(res.body?.errMsg);
        }
        expect((await c().list(seller.token, seller.username)).status).toBe(204);
      });

      test('amount: not an integer 1-1,000,000 is "Amount field wrong format."', async () => {
        const seller = await newUser('saler');
        const create = (amount: unknown) =>
          c().createCoupon(seller.token, seller.username, { name: 'a', amount, stock: 1 });
        const bad = [
          undefined,
          null,
          0,
          -1,
          1_000_001,
          1.5,
          0.1,
          '1.5',
          '-1',
          '0',
          '1000001',
          '99999999999',
          '1e3',
          ' 5',
          '5 ',
          '+5',
          '0x10',
          '',
          'five',
          '١٢',
          '５',
          true,
          [5],
          { value: 5 },
        ];
        for (const amount of bad) expectJson(await create(amount), 400, { errMsg: 'Amount field wrong format.' });
        const raw = (amount: string) =>
          c().api.request('POST', `/api/users/${seller.username}/coupons`, {
            headers: { authorization: seller.token },
            body: `{"name":"a","amount":${amount},"stock":1}`,
          });
        for (const amount of ['1e400', '9007199254740993', '-0.5', '2.000001']) {
          expectJson(await raw(amount), 400, { errMsg: 'Amount field wrong format.' });
        }
        expect((await c().list(seller.token, seller.username)).status).toBe(204);
      });

      test('stock: required, an integer 0-1,000,000,000, else "Stock field wrong format."', async () => {
        const seller = await newUser('saler');
        const create = (stock: unknown) =>
          c().createCoupon(seller.token, seller.username, { name: 's', amount: 1, stock });
        const bad = [
          undefined,
          null,
          -1,
          1_000_000_001,
          2.5,
          '2.5',
          '-1',
          '1000000001',
          'abc',
          "' OR 1=1 --",
          '',
          true,
          {},
          [],
        ];
        for (const stock of bad) expectJson(await create(stock), 400, { errMsg: 'Stock field wrong format.' });
        expect((await c().list(seller.token, seller.username)).status).toBe(204);
      });

      test('description: over 255 characters or not a string is "Description too long."', async () => {
        const seller = await newUser('saler');
        const create = (description: unknown) =>
          c().createCoupon(seller.token, seller.username, { name: 'd', amount: 1, stock: 1, description });
        for (const description of ['d'.repeat(256), '🎟'.repeat(256), 42, true, { text: 'x' }, ['x']]) {
          expectJson(await create(description), 400, { errMsg: 'Description too long.' });
        }
        expect((await c().list(seller.token, seller.username)).status).toBe(204);
      });

      test('names are unique per seller, compared exactly; two sellers may share a name and those are different coupons', async () => {
        const a = await newUser('saler');
        const b = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(a, { name: 'c1', amount: 1, stock: 10 });
        expectJson(await c().createCoupon(a.token, a.username, { name: 'c1', amount: 9, stock: 99 }), 400, {
          errMsg: 'Create failed. Maybe (username,coupon name) duplicates',
        });
        // Other names, however close, are other coupons.
        await createOk(a, { name: 'C1', amount: 1, stock: 11 });
        await createOk(a, { name: 'c1 ', amount: 1, stock: 12 });
        await createOk(b, { name: 'c1', amount: 2, stock: 20, description: 'from b' });

        expect((await c().list(a.token, a.username)).body.data).toEqual([
          { name: 'c1', amount: 1, left: 1, stock: 10, description: '' },
          { name: 'C1', amount: 1, left: 1, stock: 11, description: '' },
          { name: 'c1 ', amount: 1, left: 1, stock: 12, description: '' },
        ]);
        expectJson(await c().grab(customer.token, a.username, 'c1'), 201, { errMsg: '' });
        expectJson(await c().grab(customer.token, b.username, 'c1'), 201, { errMsg: '' });
        expect((await c().list(customer.token, customer.username)).body.data).toEqual([
          { name: 'c1', seller: a.username, stock: 10, description: '' },
          { name: 'c1', seller: b.username, stock: 20, description: 'from b' },
        ]);
        expect((await c().list(customer.token, a.username)).body.data[0].left).toBe(0);
        expect((await c().list(customer.token, b.username)).body.data).toEqual([
          { name: 'c1', amount: 2, left: 1, stock: 20, description: 'from b' },
        ]);
      });

      test('401: no token "Not Authorized.", a customer "Only sellers can create coupons.", another user "Cannot create coupons for other users."', async () => {
        const seller = await newUser('saler');
        const other = await newUser('saler');
        const customer = await newUser('customer');
        const coupon = { name: 'c1', amount: 1, stock: 1 };
        expectJson(await c().createCoupon(undefined, seller.username, coupon), 401, { errMsg: 'Not Authorized.' });
        expectJson(await c().createCoupon(customer.token, customer.username, coupon), 401, {
          errMsg: 'Only sellers can create coupons.',
        });
        expectJson(await c().createCoupon(customer.token, seller.username, coupon), 401, {
          errMsg: 'Only sellers can create coupons.',
        });
        for (const path of [other.username, seller.username.toUpperCase(), `${seller.username}x`, 'nobody']) {
          expectJson(await c().createCoupon(seller.token, path, coupon), 401, {
            errMsg: 'Cannot create coupons for other users.',
          });
        }
        expect((await c().list(seller.token, other.username)).status).toBe(204);
        expect((await c().list(seller.token, seller.username)).status).toBe(204);
      });
    });

    describe('GET /api/users/{username}/coupons (list)', () => {
      test("a seller's coupons: in creation order, 20 a page; page missing, 0 or negative is 1; past the end 204", async () => {
        const seller = await newUser('saler');
        const viewer = await newUser('customer');
        const names = Array.from({ length: 41 }, (_, i) => `p${String(40 - i).padStart(2, '0')}`);
        for (const [i, name] of names.entries()) {
          await createOk(seller, { name, amount: i + 1, stock: i, description: `d${i}` });
        }
        const row = (i: number) => ({ name: names[i], amount: i + 1, left: i + 1, stock: i, description: `d${i}` });
        const page = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => row(from + k));
        const first = { errMsg: '', data: page(0, 20) };
        for (const p of [undefined, 1, '1', 0, '0', -1, '-7', '-0', '01']) {
          expectJson(await c().list(viewer.token, seller.username, p), 200, first);
        }
        expectJson(await c().list(viewer.token, seller.username, 2), 200, { errMsg: '', data: page(20, 40) });
        expectJson(await c().list(viewer.token, seller.username, 3), 200, { errMsg: '', data: page(40, 41) });
        for (const p of [4, 100, '999999999999999999999'])
          expectNoContent(await c().list(viewer.token, seller.username, p));
      });

      test.each([
        'abc',
        '1.5',
        '1.0',
        '1e2',
        '0x1',
        '+1',
        ' 1',
        '1 ',
        '1,2',
        'Infinity',
        'NaN',
        '１',
        '١',
        "1' OR '1'='1",
      ])('400 "Wrong format of page." for page=%j', async (p) => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'one', amount: 1, stock: 1 });
        expectJson(await c().list(seller.token, seller.username, p), 400, { errMsg: 'Wrong format of page.' });
      });

      test('any logged-in user may list a seller: a customer, another seller, the seller', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'open', amount: 3, stock: 4, description: 'for all' });
        const expected = { errMsg: '', data: [{ name: 'open', amount: 3, left: 3, stock: 4, description: 'for all' }] };
        for (const viewer of [await newUser('customer'), await newUser('saler'), seller]) {
          expectJson(await c().list(viewer.token, seller.username), 200, expected);
        }
      });

      test('"left" is live: it reflects every grab answered 201', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'live', amount: 3, stock: 1 });
        const left = async () => (await c().list(seller.token, seller.username)).body.data[0].left;
        expect(await left()).toBe(3);
        const shoppers = [await newUser('customer'), await newUser('customer'), await newUser('customer')];
        for (const [i, shopper] of shoppers.entries()) {
          expectJson(await c().grab(shopper.token, seller.username, 'live'), 201, { errMsg: '' });
          expect(await left()).toBe(2 - i);
        }
        expectNoContent(await c().grab((await newUser('customer')).token, seller.username, 'live'), 'sold-out');
        await expectExactAfterSoldOutMemory(
          () => c().grab(shoppers[0]?.token, seller.username, 'live'),
          'already-owned',
        );
        expect(await left()).toBe(0);
      });

      test("a customer's coupons: only to that customer, in the order grabbed, 20 a page, read-your-writes", async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        const names = Array.from({ length: 21 }, (_, i) => `h${String(i).padStart(2, '0')}`);
        for (const [i, name] of names.entries()) {
          await createOk(seller, { name, amount: 5, stock: 100 + i, description: `held ${i}` });
        }
        expectNoContent(await c().list(customer.token, customer.username));
        // Grabbed in reverse creation order, each listed by the very next request.
        const grabbed = [...names.keys()].reverse();
        for (const [n, i] of grabbed.entries()) {
          expectJson(await c().grab(customer.token, seller.username, names[i] ?? ''), 201, { errMsg: '' });
          const listing = await c().list(customer.token, customer.username, Math.floor(n / 20) + 1);
          expect(listing.status).toBe(200);
          expect(listing.body.data.at(-1)).toEqual({
            name: names[i],
            seller: seller.username,
            stock: 100 + i,
            description: `held ${i}`,
          });
        }
        const row = (i: number) => ({
          name: names[i],
          seller: seller.username,
          stock: 100 + i,
          description: `held ${i}`,
        });
        for (const p of [undefined, 1, 0, -3]) {
          expectJson(await c().list(customer.token, customer.username, p), 200, {
            errMsg: '',
            data: grabbed.slice(0, 20).map(row),
          });
        }
        expectJson(await c().list(customer.token, customer.username, 2), 200, {
          errMsg: '',
          data: grabbed.slice(20).map(row),
        });
        expectNoContent(await c().list(customer.token, customer.username, 3));
      });

      test('401 {"errMsg": "Cannot check other customer.", "data": []} for another customer, whoever asks', async () => {
        const customer = await newUser('customer');
        const seller = await newUser('saler');
        await createOk(seller, { name: 'mine', amount: 1, stock: 1 });
        expectJson(await c().grab(customer.token, seller.username, 'mine'), 201, { errMsg: '' });
        for (const viewer of [await newUser('customer'), seller]) {
          for (const p of [undefined, 1, 2]) {
            expectJson(await c().list(viewer.token, customer.username, p), 401, {
              errMsg: 'Cannot check other customer.',
              data: [],
            });
          }
        }
      });

      test('400 "Record not found." for a user that does not exist', async () => {
        const viewer = await newUser('customer');
        for (const who of [
          nextName(),
          viewer.username.toUpperCase(),
          `${viewer.username}x`,
          'no such user',
          "' OR 1=1 --",
        ]) {
          expectJson(await c().list(viewer.token, who), 400, { errMsg: 'Record not found.' });
        }
      });

      test('204 with no body when there is nothing on the page: a seller without coupons, a customer without any', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        expectNoContent(await c().list(customer.token, seller.username));
        expectNoContent(await c().list(seller.token, seller.username));
        expectNoContent(await c().list(customer.token, customer.username));
        expectNoContent(await c().list(customer.token, customer.username, 2));
      });

      test('401 "Not Authorized." without a token, for a seller and a customer', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'x', amount: 1, stock: 1 });
        for (const who of [seller.username, customer.username, nextName()]) {
          expectJson(await c().list(undefined, who), 401, { errMsg: 'Not Authorized.' });
        }
      });
    });

    describe('PATCH /api/users/{username}/coupons/{name} (grab)', () => {
      test('201 once per customer; then 204 already-owned; 204 sold-out when none left; no bodies on 204', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'two', amount: 2, stock: 7 });
        const [a, b, late] = [await newUser('customer'), await newUser('customer'), await newUser('customer')];
        expectJson(await c().grab(a.token, seller.username, 'two'), 201, { errMsg: '' });
        expectNoContent(await c().grab(a.token, seller.username, 'two'), 'already-owned');
        expectJson(await c().grab(b.token, seller.username, 'two'), 201, { errMsg: '' });
        expectNoContent(await c().grab(late.token, seller.username, 'two'), 'sold-out');
        // An owner asking again after the sale ended still owns it (once the sold-out memory expired).
        await expectExactAfterSoldOutMemory(() => c().grab(b.token, seller.username, 'two'), 'already-owned');
        expectNoContent(await c().list(late.token, late.username));
      });

      test('204 not-found: no such coupon, no such seller, a customer in the seller position, a name that is only similar', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'real', amount: 5, stock: 1 });
        const probes: [string, string][] = [
          [seller.username, 'unreal'],
          [seller.username, 'Real'],
          [seller.username, 'real '],
          [nextName(), 'real'],
          [customer.username, 'real'],
          [seller.username.toUpperCase(), 'real'],
        ];
        for (const [who, name] of probes) expectNoContent(await c().grab(customer.token, who, name), 'not-found');
        expectNoContent(await c().list(customer.token, customer.username));
        expect((await c().list(seller.token, seller.username)).body.data[0].left).toBe(5);
      });

      test('401: no token "Not Authorized."; a seller "Sellers aren\'t allowed to get coupons."', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'c1', amount: 5, stock: 1 });
        expectJson(await c().grab(undefined, seller.username, 'c1'), 401, { errMsg: 'Not Authorized.' });
        for (const who of [seller, await newUser('saler')]) {
          expectJson(await c().grab(who.token, seller.username, 'c1'), 401, {
            errMsg: "Sellers aren't allowed to get coupons.",
          });
          expectJson(await c().grab(who.token, seller.username, 'no such coupon'), 401, {
            errMsg: "Sellers aren't allowed to get coupons.",
          });
        }
        expect((await c().list(seller.token, seller.username)).body.data[0].left).toBe(5);
      });

      test('a 201 is durable: once the queue drains it is one purchase row, and MySQL left = Redis left = amount - purchases', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'durable', amount: 3, stock: 1 });
        const shoppers = [await newUser('customer'), await newUser('customer')];
        for (const s of shoppers) expectJson(await c().grab(s.token, seller.username, 'durable'), 201, { errMsg: '' });
        expectNoContent(await c().grab(shoppers[0]?.token, seller.username, 'durable'), 'already-owned');
        const rows = await purchaseRowsEventually(seller.username, 'durable', 2);
        await stack().drain();
        const after = await purchaseRows(seller.username, 'durable');
        expect(after.map((r) => r.username).sort()).toEqual(shoppers.map((s) => s.username).sort());
        expect(after.map((r) => r.left)).toEqual([1, 1]);
        expect(rows.length).toBe(2);
        const redisLeft = await stack().redis.hget(couponKeys(seller.username, 'durable').info, 'left');
        expect(Number(redisLeft)).toBe(1);
        expect((await c().list(seller.token, seller.username)).body.data[0].left).toBe(1);
      });
    });

    describe('names made of SQL or Lua metacharacters, or odd unicode, work end to end', () => {
      test.each([
        "' OR 1=1 --",
        "'; DROP TABLE coupons; --",
        '" OR ""="',
        "]]..redis.call('FLUSHALL')..[[",
        "redis.call('DEL', KEYS[1])",
        '%s%d%n #{x} {0} $(id)',
        '{hash}tag}',
        '*?[a-z]\\',
        '<img src=x onerror=alert(1)>',
        'a+b c%20?&#=;',
        '😀 coupon 🎟',
        'nbsp\u00A0x',
        'line\u2028sep',
        'مرحبا',
        '日本語のクーポン',
        'nonchar\uFFFE\uFFFF',
      ])('%j: create, list, grab, listed as held, persisted', async (name) => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name, amount: 2, stock: 9, description: name });
        expectJson(await c().list(customer.token, seller.username), 200, {
          errMsg: '',
          data: [{ name, amount: 2, left: 2, stock: 9, description: name }],
        });
        expectJson(await c().createCoupon(seller.token, seller.username, { name, amount: 1, stock: 1 }), 400, {
          errMsg: 'Create failed. Maybe (username,coupon name) duplicates',
        });
        expectJson(await c().grab(customer.token, seller.username, name), 201, { errMsg: '' });
        expectNoContent(await c().grab(customer.token, seller.username, name), 'already-owned');
        expectJson(await c().list(customer.token, customer.username), 200, {
          errMsg: '',
          data: [{ name, seller: seller.username, stock: 9, description: name }],
        });
        expect((await c().list(customer.token, seller.username)).body.data[0].left).toBe(1);
        const rows = await purchaseRowsEventually(seller.username, name, 1);
        expect(rows.map((r) => ({ ...r }))).toEqual([{ username: customer.username, left: 1 }]);
        const [coupons] = await stack().db.query<RowDataPacket[]>('SELECT name FROM coupons WHERE seller = ?', [
          seller.username,
        ]);
        expect(coupons.map((r) => r.name)).toEqual([name]);
      });
    });

    describe('name rules: look-alike names are one name or refused', () => {
      test('usernames are unique regardless of case; only the registered spelling logs in and is addressed', async () => {
        const name = `Case_${nextName()}`;
        expectJson(await c().register(name, PASSWORD, 'saler'), 201, { errMsg: '' });
        for (const other of [name.toLowerCase(), name.toUpperCase()]) {
          expectJson(await c().register(other, PASSWORD, 'customer'), 400, {
            errMsg: 'Insert user failed. Maybe user name duplicates.',
          });
          expectJson(await c().login(other, PASSWORD), 401, { kind: '', errMsg: 'Invalid username or password.' });
        }
        const login = await c().login(name, PASSWORD);
        expect(login.status).toBe(200);
        const token = login.headers.authorization ?? '';
        expectJson(await c().list(token, name.toLowerCase()), 400, { errMsg: 'Record not found.' });
        const [rows] = await stack().db.query<RowDataPacket[]>('SELECT username FROM users WHERE LOWER(username) = ?', [
          name.toLowerCase(),
        ]);
        expect(rows.map((r) => r.username)).toEqual([name]);
      });

      test('a coupon name typed in NFD or NFC is one coupon, stored, listed, grabbed and persisted in NFC', async () => {
        const seller = await newUser('saler');
        const [first, second] = [await newUser('customer'), await newUser('customer')];
        const nfd = 'Cafe\u0301 cre\u0300me';
        const nfc = nfd.normalize('NFC');
        expect(nfc).not.toBe(nfd);
        await createOk(seller, { name: nfd, amount: 5, stock: 3 });
        expectJson(await c().createCoupon(seller.token, seller.username, { name: nfc, amount: 1, stock: 1 }), 400, {
          errMsg: 'Create failed. Maybe (username,coupon name) duplicates',
        });
        expectJson(await c().list(seller.token, seller.username), 200, {
          errMsg: '',
          data: [{ name: nfc, amount: 5, left: 5, stock: 3, description: '' }],
        });
        expectJson(await c().grab(first.token, seller.username, nfd), 201, { errMsg: '' });
        expectNoContent(await c().grab(first.token, seller.username, nfc), 'already-owned');
        expectJson(await c().grab(second.token, seller.username, nfc), 201, { errMsg: '' });
        expectJson(await c().list(first.token, first.username), 200, {
          errMsg: '',
          data: [{ name: nfc, seller: seller.username, stock: 3, description: '' }],
        });
        const rows = await purchaseRowsEventually(seller.username, nfc, 2);
        expect(rows.map((r) => r.username).sort()).toEqual([first.username, second.username].sort());
        const [coupons] = await stack().db.query<RowDataPacket[]>('SELECT name FROM coupons WHERE seller = ?', [
          seller.username,
        ]);
        expect(coupons.map((r) => r.name)).toEqual([nfc]);
      });

      test('coupon names of dots alone or with format characters are refused; a grab of one is not-found', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        for (const name of ['.', '..', '...', 'a\u200bb', '\u202eevil', '\ufeffbom', 'soft\u00adhyphen']) {
          expectJson(await c().createCoupon(seller.token, seller.username, { name, amount: 1, stock: 1 }), 400, {
            errMsg: 'Invalid coupon name.',
          });
        }
        await createOk(seller, { name: 'ab', amount: 1, stock: 1 });
        // A zero-width space does not make a look-alike of `ab` reach it, nor another coupon.
        expectNoContent(await c().grab(customer.token, seller.username, 'a\u200bb'), 'not-found');
        expectNoContent(await c().grab(customer.token, seller.username, '...'), 'not-found');
        expect((await c().list(seller.token, seller.username)).body.data).toHaveLength(1);
      });
    });

    describe('GET /api/health', () => {
      test('200 {"errMsg": "", "redis": "ok", "mysql": "ok", "queue": "ok"} with no token needed', async () => {
        const expected = { errMsg: '', redis: 'ok', mysql: 'ok', queue: 'ok' };
        expectJson(await c().health(), 200, expected);
        expectJson(
          await c().api.request('GET', '/api/health', { headers: { authorization: 'garbage' } }),
          200,
          expected,
        );
      });
    });

    describe('oversized requests', () => {
      const registration = () => ({ username: nextName(), password: PASSWORD, kind: 'customer' });

      test('a body of exactly 64 KB is read; one byte more is refused with 413', async () => {
        const fits = registration();
        expectJson(await c().api.request('POST', '/api/users', { body: paddedJson(fits, 64 * 1024) }), 201, {
          errMsg: '',
        });
        expectJson(await c().login(fits.username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
        const over = registration();
        await expectOversizeRefused(
          () => c().api.request('POST', '/api/users', { body: paddedJson(over, 64 * 1024 + 1) }),
          target.transport,
        );
        expectJson(await c().login(over.username, PASSWORD), 401, {
          kind: '',
          errMsg: 'Invalid username or password.',
        });
      });

      if (target.transport === 'http') {
        test('a huge header is refused with a 4xx (431) or a closed connection, never a 5xx', async () => {
          const huge: Record<string, string>[] = [
            { 'x-filler': 'a'.repeat(128 * 1024) },
            { authorization: `Bearer ${'a'.repeat(128 * 1024)}` },
          ];
          for (const headers of huge) {
            await expectOversizeRefused(() => c().api.request('GET', '/api/health', { headers }), 'http', 'any 4xx');
            await expectOversizeRefused(
              () => c().api.request('POST', '/api/users', { headers, body: registration() }),
              'http',
              'any 4xx',
            );
          }
          expectJson(await c().health(), 200, { errMsg: '', redis: 'ok', mysql: 'ok', queue: 'ok' });
        });
      }
    });
  });
}
