/**
 * Real faults for the reliability tests: private servers (MariaDB, Redis, the SQS emulator) that a
 * test can kill, stop, freeze and restart without touching the machine's shared ones, network
 * black holes and one-way proxies, and scripts run in a child process that a test can SIGKILL.
 * Every process started here is stopped (and every data directory removed) by `stopAll()`: call it
 * in `afterAll`, so that a test failing half-way leaves nothing running.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createConnection, type Pool, type RowDataPacket } from 'mysql2/promise';
import { register } from '../../lib/accounts';
import { issueToken } from '../../lib/auth/tokens';
import { config } from '../../lib/config';
import { ServerBusy } from '../../lib/errors';
import { couponKeys } from '../../lib/keys';
import { services } from '../../lib/services';
import { freePort, portOpen } from '../../scripts/lib/ports';
import { waitFor } from '../../scripts/lib/wait-for';

const ROOT = join(__dirname, '..', '..');

export { portOpen, sleep, waitFor };

/** Processes started by this file, stopped by `stopAll()` even when a test failed half-way. */
const cleanups = new Set<() => Promise<void>>();

export async function stopAll(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((c) => c()));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function alive(child: ChildProcess | undefined): boolean {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** A server in a child process on a fixed port, so it can be killed and started again in place. */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private log = '';
  private readonly cleanup = () => this.close();

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly command: string,
    private readonly args: string[],
    private readonly ready: () => Promise<boolean>,
    private readonly env: Record<string, string> = {},
    private readonly onClose: () => void = () => {},
  ) {
    cleanups.add(this.cleanup);
  }

  /** Starts the server and waits until it answers; resolves the milliseconds that took. */
  async start(timeoutMs = 20_000): Promise<number> {
    if (alive(this.child)) throw new Error(`${this.name} is already running`);
    const started = Date.now();
    const child = spawn(this.command, this.args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    const deadline = started + timeoutMs;
    while (!(await this.ready())) {
      // A missing binary fails here, at once, rather than after the deadline.
      if (spawnError) throw new Error(`${this.name} could not start: ${spawnError.message}`);
      if (!alive(child)) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}):\n${this.log}`);
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`${this.name} did not start in ${timeoutMs} ms:\n${this.log}`);
      }
      await sleep(25);
    }
    return Date.now() - started;
  }

  /** A crash: SIGKILL, no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** An orderly shutdown (SIGTERM), forced after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && alive(child)) {
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([
        exited(child).then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 10_000);
        }),
      ]);
      clearTimeout(timer);
      if (!done) await this.kill();
    }
  }

  /** Resolves once the process exited on its own (after a SHUTDOWN command, say). */
  async exited(): Promise<void> {
    if (this.child) await exited(this.child);
  }

  /** Frozen (SIGSTOP): the kernel still accepts connections, but nothing is ever answered. */
  freeze(): void {
    this.child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server for good and removes what it left on disk. */
  async close(): Promise<void> {
    cleanups.delete(this.cleanup);
    await this.stop();
    this.onClose();
  }

  output(): string {
    return this.log;
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child && alive(child)) {
      child.kill(signal);
      await exited(child);
    }
  }
}

/** A MariaDB server of its own (fresh data directory, root without password), not started yet. */
export async function privateMariadb(): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'seckill-mariadb-'));
  const user = userInfo().username;
  const install = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${dir}/data`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      `--user=${user}`,
    ],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const why = install.error?.message ?? `exit ${install.status}: ${install.stderr}${install.stdout}`;
    throw new Error(`mariadb-install-db failed (${why})`);
  }
  const port = await freePort();
  const ready = async () => {
    try {
      const conn = await createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 1000 });
      await conn.end();
      return true;
    } catch {
      return false;
    }
  };
  return new ServerProcess(
    'mariadbd',
    port,
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${dir}/data`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${dir}/mysqld.sock`,
      `--pid-file=${dir}/mysqld.pid`,
      `--user=${user}`,
      '--skip-log-bin',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
    ],
    ready,
    {},
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

/** A redis-server on loopback that keeps nothing on disk and stays in the foreground. */
export const EPHEMERAL_REDIS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];

/**
 * A redis-server of its own, without persistence: a restart comes back empty, like a failover.
 * `extraArgs` configure it further (`--replicaof 127.0.0.1 <port>` makes a replica).
 */
export async function privateRedis(extraArgs: string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  // A replica's full sync writes an RDB file: keep it out of the working directory.
  const dir = mkdtempSync(join(tmpdir(), 'seckill-redis-'));
  return new ServerProcess(
    'redis-server',
    port,
    'redis-server',
    ['--port', String(port), ...EPHEMERAL_REDIS, '--dir', dir, ...extraArgs],
    () => portOpen(port),
    {},
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

export interface SwitchableProxy extends TcpFault {
  /** From now on connections go to `port`; the open ones are cut, as a failover cuts them. */
  switchTo(port: number): void;
}

/** A loopback TCP proxy whose target can be switched: a DNS name that a failover moves. */
export async function switchableProxy(targetPort: number): Promise<SwitchableProxy> {
  let target = targetPort;
  const open = new Set<Socket>();
  const fault = await tcpFault((socket, received) => {
    const upstream = connect({ port: target, host: '127.0.0.1' });
    open.add(socket);
    upstream.on('error', () => socket.destroy());
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => {
      open.delete(socket);
      upstream.destroy();
    });
    upstream.on('data', (d: Buffer) => socket.write(d));
    socket.on('data', (d: Buffer) => {
      received(d.length);
      upstream.write(d);
    });
  });
  return {
    ...fault,
    switchTo(port: number) {
      target = port;
      for (const s of open) s.destroy();
    },
  };
}

/** The SQS emulator (`npx fauxqs`, without the npx wrapper so signals reach it). In memory only. */
export async function privateSqs(): Promise<ServerProcess> {
  const port = await freePort();
  return new ServerProcess(
    'fauxqs',
    port,
    process.execPath,
    [join(ROOT, 'node_modules/fauxqs/dist/cli.js')],
    () => portOpen(port),
    { FAUXQS_PORT: String(port), FAUXQS_HOST: 'localhost', FAUXQS_LOGGER: 'false' },
  );
}

export interface TcpFault {
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Bytes received from clients so far. */
  bytesIn(): number;
  close(): Promise<void>;
}

async function listen(onSocket: (socket: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, close };
}

/** A loopback TCP server whose connections `serve` handles, counting connections and bytes received. */
async function tcpFault(serve: (socket: Socket, received: (bytes: number) => void) => void): Promise<TcpFault> {
  let connections = 0;
  let bytes = 0;
  const { port, close } = await listen((socket) => {
    connections++;
    serve(socket, (n) => {
      bytes += n;
    });
  });
  cleanups.add(close);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections: () => connections,
    bytesIn: () => bytes,
    close: async () => {
      cleanups.delete(close);
      await close();
    },
  };
}

/** Accepts connections and reads requests, but never answers: a hung endpoint. */
export function blackHole(): Promise<TcpFault> {
  return tcpFault((socket, received) => {
    socket.on('data', (d: Buffer) => received(d.length));
  });
}

/**
 * Forwards every request to `targetPort` but throws the replies away: the server acts on the
 * request, the client never learns that it did (a reply lost on the way back).
 */
export function replyDroppingProxy(targetPort: number): Promise<TcpFault> {
  return tcpFault((socket, received) => {
    const upstream = connect({ port: targetPort, host: '127.0.0.1' });
    upstream.on('error', () => socket.destroy());
    upstream.on('data', () => {});
    upstream.once('close', () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      received(d.length);
      upstream.write(d);
    });
    socket.once('close', () => upstream.destroy());
  });
}

/**
 * Runs a command of this project (`node scripts/run.mjs <entry>`) until it exits by itself, in its
 * own process group (killed whole after `timeoutMs`); resolves its exit code and output.
 */
export function runToExit(
  entry: string,
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/run.mjs'), entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface ScriptProcess {
  pid: number;
  output(): string;
  exited: Promise<void>;
  /** SIGKILLs the script and its runner (one process group). */
  kill(): Promise<void>;
}

/**
 * Runs a TypeScript file of this project in its own process group (`node scripts/run.mjs`, which
 * bundles it with the `.lua` loader), with extra environment variables.
 */
export function runScript(entry: string, args: string[], env: Record<string, string>): ScriptProcess {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/run.mjs'), entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${entry}`);
  let log = '';
  child.stdout?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const done = exited(child);
  const kill = async () => {
    cleanups.delete(kill);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await done;
    // The runner died before it could remove its bundle.
    rmSync(join(ROOT, '.build', `${basename(entry, '.ts')}-${pid}.cjs`), { force: true });
  };
  cleanups.add(kill);
  return { pid, output: () => log, exited: done, kill };
}

export interface SaleState {
  /** Purchase rows of the coupon in MySQL. */
  rows: number;
  mysqlLeft: number;
  /** `left` in Redis; NaN when Redis does not know the coupon. */
  redisLeft: number;
  holders: string[];
  /** Grabs the queue has not confirmed yet (the outbox). */
  pending: string[];
}

/** One coupon as MySQL and Redis see it. */
export async function saleState(db: Pool, redis: Redis, seller: string, name: string): Promise<SaleState> {
  const k = couponKeys(seller, name);
  const [[rows], redisLeft, holders, pending] = await Promise.all([
    db.query<RowDataPacket[]>(
      'SELECT c.`left` AS mysqlLeft, COUNT(p.id) AS n FROM coupons c LEFT JOIN purchases p ON p.coupon_id = c.id ' +
        'WHERE c.seller = ? AND c.name = ? GROUP BY c.id',
      [seller, name],
    ),
    redis.hget(k.info, 'left'),
    redis.smembers(k.holders),
    redis.hkeys(k.outbox),
  ]);
  const row = rows[0];
  return {
    rows: Number(row?.n ?? 0),
    mysqlLeft: Number(row?.mysqlLeft ?? Number.NaN),
    redisLeft: redisLeft === null ? Number.NaN : Number(redisLeft),
    holders: holders.sort(),
    pending: pending.sort(),
  };
}

/** Usernames holding the coupon in MySQL. */
export async function purchasers(db: Pool, seller: string, name: string): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT p.username FROM purchases p JOIN coupons c ON c.id = p.coupon_id WHERE c.seller = ? AND c.name = ? ' +
      'ORDER BY p.username',
    [seller, name],
  );
  return rows.map((r) => r.username as string);
}

/**
 * Customers registered through lib, as the register handler does (`inFlight` at a time), and their
 * tokens issued as a login would. A registration the hash lane refuses on a busy machine
 * (`ServerBusy`, the 503 a client retries) is tried again after a short pause, as a client would.
 */
export async function registeredCustomers(usernames: string[], inFlight: number): Promise<string[]> {
  const { auth } = config();
  return inParallel(
    inFlight,
    usernames.map((username) => async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          await register(services(), { username, password: 'secret123', kind: 'customer' });
          break;
        } catch (e: unknown) {
          if (!(e instanceof ServerBusy) || attempt >= 200) throw e;
          await sleep(20 + Math.random() * 80);
        }
      }
      return issueToken({ username, kind: 'customer' }, auth.jwtSecret, auth.tokenTtlSeconds);
    }),
  );
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function inParallel<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i];
      if (task) results[i] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** How many responses had each status, e.g. `{ 201: 20, 204: 80 }`. */
export function statusCounts(statuses: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
}

/**
 * Keeps the figures a reliability test observed, one JSON line per record in
 * `.build/reliability.jsonl`, for docs/RELIABILITY.md.
 */
export function observe(test: string, figures: Record<string, unknown>): void {
  mkdirSync(join(ROOT, '.build'), { recursive: true });
  appendFileSync(
    join(ROOT, '.build', 'reliability.jsonl'),
    `${JSON.stringify({ at: new Date().toISOString(), test, ...figures })}\n`,
  );
}

/**
 * Keeps the error lines a fault makes the logger write (expected here) out of the test output;
 * they stay available in `lines`.
 */
export function quietLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  const spies = [
    jest.spyOn(console, 'error').mockImplementation(keep),
    jest.spyOn(console, 'warn').mockImplementation(keep),
  ];
  return {
    lines,
    restore: () => {
      for (const s of spies) s.mockRestore();
    },
  };
}
