/**
 * The bench's stores and processes: a Redis database and a MySQL database of its own on the
 * servers the configuration names (it refuses the configured ones: it wipes what it uses), an SQS
 * emulator in a child process (its CPU is never the client's), the servers under test, and the CPU
 * each of them uses. The stores themselves are prepared, drained and emptied by the one stack
 * builder (scripts/lib/stack.ts). Everything here runs before the first `config()` call, which memoizes the
 * environment the handlers of this process read.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import pidtree from 'pidtree';
import pidusage from 'pidusage';
import { config, DEV_JWT_SECRET, readConfig } from '../../lib/config';
import { type LocalScript, startLocalServer } from '../lib/local-server';
import { freePort } from '../lib/ports';
import { drain as drainQueue, prepareStores, type Queues } from '../lib/stack';
import { waitFor } from '../lib/wait-for';

export const progress = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

const QUEUE = 'seckill-bench';
const children = new Set<ChildProcess>();

/** A child in its own process group (stopped with everything it started), its output in a log file. */
function start(args: string[], env: NodeJS.ProcessEnv, logFile: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const log = createWriteStream(logFile);
  let tail = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (d: Buffer) => {
      log.write(d);
      tail = (tail + d.toString()).slice(-8192);
    });
  }
  return { child, output: () => tail };
}

/** Last resort on exit: every child group still running. */
export function killChildren(): void {
  for (const c of children) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

const healthy = (url: string) => fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200);

export interface Stack extends Queues {
  root: string;
  logDir: string;
  admin: Redis;
  redisUrl: string;
  database: string;
  redisPid: number | undefined;
}

/**
 * Picks the bench's stores on the configured servers, says loudly what it will wipe, starts the
 * emulator, creates the queues and the schema, and sets the environment of this process.
 */
/**
 * The bench's own stores on the servers the user configured (environment or .env): Redis database
 * `redisDb` and MySQL `database` (default `<MYSQL_DATABASE>_<suffix>`). It wipes them, so it
 * refuses the configured ones, and says loudly what it will wipe.
 */
export function benchStores(redisDb: number, database: string | undefined, suffix = 'bench') {
  const user = readConfig({ ...process.env, STAGE: 'local' });
  const redis = new URL(user.redis.url);
  const userDb = Number(redis.pathname.slice(1) || 0);
  redis.pathname = `/${redisDb}`;
  const redisUrl = redis.toString();
  const db = database ?? `${user.mysql.database}_${suffix}`;
  if (redisDb === userDb || db === user.mysql.database) {
    throw new Error(
      `the bench wipes its stores; it refuses the configured ones (Redis db ${userDb}, MySQL ${user.mysql.database}): pick others with --redis-db / --database`,
    );
  }
  progress(
    `WIPES before every workload: Redis ${redisUrl} (FLUSHDB) and every row of MySQL database ${db} on ${user.mysql.host}:${user.mysql.port}`,
  );
  return { redisUrl, database: db };
}

export async function startStack(o: { redisDb: number; database?: string }, root: string, logDir: string) {
  const { redisUrl, database } = benchStores(o.redisDb, o.database);

  const port = await freePort();
  const code = `import { startFauxqs } from 'fauxqs';
const s = await startFauxqs({ port: ${port}, logger: false, host: 'localhost' });
process.on('SIGTERM', () => s.stop().finally(() => process.exit(0)));`;
  const emulator = start(['--input-type=module', '-e', code], { PATH: process.env.PATH }, join(logDir, 'sqs.log'));
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor('the SQS emulator', () => healthy(`${endpoint}/health`), 30_000, 200).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}:\n${emulator.output()}`);
  });
  Object.assign(process.env, {
    STAGE: 'local',
    LOG_LEVEL: 'warn',
    JWT_SECRET: process.env.JWT_SECRET ?? DEV_JWT_SECRET,
    REDIS_URL: redisUrl,
    MYSQL_DATABASE: database,
    SQS_ENDPOINT: endpoint,
    QUEUE_NAME: QUEUE,
    DLQ_NAME: `${QUEUE}-dlq`,
    // Setup is not measured: cheap password hashes keep it short (the plan sets its own cost).
    SCRYPT_LOG_N: '10',
  });
  // The queues are the bench's own, created on its emulator (with the emulator's test credentials).
  for (const name of ['QUEUE_URL', 'DLQ_URL', 'AWS_ACCESS_KEY_ID']) delete process.env[name];
  const { sqs, queueUrl, dlqUrl } = await prepareStores(process.env, {
    queue: { visibilityTimeoutSeconds: 30, maxReceiveCount: 5 },
    requestTimeoutMs: 15_000,
  });
  const cfg = config();
  if (cfg.redis.url !== redisUrl || cfg.mysql.database !== database || cfg.sqs.queueUrl !== queueUrl) {
    throw new Error('config() was read before the bench set its environment');
  }
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 60_000 });
  const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]) || undefined;
  return { root, logDir, sqs, queueUrl, dlqUrl, admin, redisUrl, database, redisPid } satisfies Stack;
}

export async function queueDepth(s: Stack, url: string): Promise<number> {
  const { Attributes = {} } = await s.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Object.values(Attributes).reduce((sum, v) => sum + Number(v ?? 0), 0);
}

/**
 * Waits until the queue reads empty (stack.ts), at most 2 minutes. `consume`: run the consumer here
 * (the in-process target has none of its own).
 */
export async function drain(s: Stack, consume: boolean): Promise<{ ms: number; ok: boolean }> {
  const t0 = Date.now();
  const ok = await drainQueue(s, 120_000, {
    consume,
    onError: (e) => progress(`consumer: ${e instanceof Error ? e.message : String(e)}`),
  });
  return { ms: Date.now() - t0, ok };
}

export type Target = 'start' | 'offline';
const SCRIPT: Record<Target, LocalScript> = { start: 'scripts/start.ts', offline: 'scripts/dev.ts' };

/** `npm start` or `npm run dev` as a user starts them, on free ports, against the bench's stores. */
export async function startServer(s: Stack, target: Target, env: Record<string, string>) {
  const server = await startLocalServer(
    SCRIPT[target],
    {
      ...process.env,
      HTTP_PORT: String(await freePort()),
      LAMBDA_PORT: String(await freePort()),
      ESBUILD_WORK_FOLDER: `.esbuild-bench-${target}`,
      // As a user runs it: the default level, at which the server announces itself and logs each
      // request (npm start's access log).
      LOG_LEVEL: 'info',
      ...env,
    },
    { logFile: join(s.logDir, `${target}.log`), timeoutMs: 180_000 },
  );
  return { url: server.url, child: server.child, startupSeconds: server.startupSeconds, stop: server.stop };
}

// ---------------------------------------------------------------- CPU

export interface CpuSources {
  serverPid?: number;
  redisPid?: number;
}

export interface CpuUse {
  wallSeconds: number;
  /** % of one core: the bench process (load client; in process, the handlers too). */
  client: number;
  /** % of one core: the server's process tree (HTTP targets). */
  server?: number;
  redis?: number;
  /** % of all cores, every process of the machine. */
  machine: number;
  cores: number;
}

async function cpuSecondsOf(pids: number[]): Promise<number> {
  if (pids.length === 0) return 0;
  const stats = await pidusage(pids).catch(() => ({}) as Record<string, pidusage.Status>);
  return Object.values(stats).reduce((sum, st) => sum + (st?.ctime ?? 0) / 1000, 0);
}

function machineSeconds(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy: busy / 1000, total: total / 1000 };
}

/** Starts measuring; the returned function gives the CPU each source used since. */
export async function watchCpu(src: CpuSources): Promise<() => Promise<CpuUse>> {
  const serverPids = src.serverPid ? await pidtree(src.serverPid, { root: true }) : [];
  const redisPids = src.redisPid ? [src.redisPid] : [];
  const [s0, r0, m0, c0, t0] = [
    await cpuSecondsOf(serverPids),
    await cpuSecondsOf(redisPids),
    machineSeconds(),
    process.cpuUsage(),
    performance.now(),
  ];
  return async () => {
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const m1 = machineSeconds();
    const pct = (seconds: number) => Math.round((1000 * seconds) / wall) / 10;
    return {
      wallSeconds: Math.round(wall * 100) / 100,
      client: pct((c.user + c.system) / 1e6),
      server: src.serverPid ? pct((await cpuSecondsOf(serverPids)) - s0) : undefined,
      redis: src.redisPid ? pct((await cpuSecondsOf(redisPids)) - r0) : undefined,
      machine: Math.round((1000 * (m1.busy - m0.busy)) / Math.max(1e-9, m1.total - m0.total)) / 10,
      cores: cpus().length,
    };
  };
}
