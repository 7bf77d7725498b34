/**
 * The bench's own stack: an SQS emulator in a child process, its queue and dead-letter queue, the
 * `seckill_bench` MySQL database, a Redis database of its own, and the environment the handlers
 * read. Everything here runs before the first `config()` call, which memoizes the environment.
 */
import { join } from 'node:path';
import { GetQueueAttributesCommand, PurgeQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import Redis from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { mysql } from '../../lib/clients/mysql';
import { redis } from '../../lib/clients/redis';
import { config, DEV_JWT_SECRET } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { persistPurchases } from '../../lib/persist-purchases';
import { startPoller } from '../../lib/queue/poller';
import { ensureQueues } from '../../lib/queue/setup';
import { services } from '../../lib/services';
import type { PurchaseMessage } from '../../lib/stores/types';
import type { BenchOptions } from './options';
import { type Child, freePort, httpStatus, progress, sleep, spawnChild } from './procs';

export const QUEUE_NAME = 'seckill-bench';

export interface Stack {
  root: string;
  emulator: Child;
  sqsEndpoint: string;
  queueUrl: string;
  dlqUrl: string;
  sqs: SQSClient;
  /** A connection of the bench's own, apart from the handlers' auto-pipelined client. */
  admin: Redis;
  redisUrl: string;
  /** Environment of the child servers (and of this process). */
  env: Record<string, string | undefined>;
}

/** The emulator runs in its own process, so its CPU never counts as the load client's. */
async function startEmulator(root: string, logFile: string): Promise<{ child: Child; endpoint: string }> {
  const port = await freePort();
  const code = [
    "import { startFauxqs } from 'fauxqs';",
    `const server = await startFauxqs({ port: ${port}, logger: false, host: 'localhost' });`,
    "process.on('SIGTERM', () => server.stop().finally(() => process.exit(0)));",
    "console.log('fauxqs listening on ' + server.port);",
  ].join('\n');
  const child = spawnChild('sqs-emulator', ['--input-type=module', '-e', code], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    logFile,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null) throw new Error(`the SQS emulator exited:\n${child.tail()}`);
    if ((await httpStatus(`${endpoint}/health`, 1000)) === 200) return { child, endpoint };
    await sleep(100);
  }
  await child.stop();
  throw new Error(`the SQS emulator did not answer on ${endpoint} within 30 s`);
}

/**
 * Sets the environment, starts the emulator, creates the queues and the database. Must run before
 * anything calls `config()`; it checks afterwards that the memoized configuration is the bench's.
 */
export async function startStack(o: BenchOptions, root: string, logDir: string): Promise<Stack> {
  const base = (process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
  const redisUrl = `${base}/${o.redisDb}`;
  const { child, endpoint } = await startEmulator(root, join(logDir, 'sqs-emulator.log'));
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // Every call of the bench is bounded in time (the SDK only warns on a timeout by default).
    requestHandler: { requestTimeout: 15_000, connectionTimeout: 3000, throwOnRequestTimeout: true },
  });
  const { queueUrl, dlqUrl } = await ensureQueues(sqs, {
    queueName: QUEUE_NAME,
    dlqName: `${QUEUE_NAME}-dlq`,
    visibilityTimeoutSeconds: 30,
    maxReceiveCount: 5,
  });
  const env: Record<string, string | undefined> = {
    STAGE: 'local',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    JWT_SECRET: process.env.JWT_SECRET ?? DEV_JWT_SECRET,
    REDIS_URL: redisUrl,
    REDIS_CLUSTER: 'false',
    MYSQL_DATABASE: o.database,
    SQS_ENDPOINT: endpoint,
    QUEUE_URL: queueUrl,
    QUEUE_NAME,
    DLQ_NAME: `${QUEUE_NAME}-dlq`,
    // Registration and login are setup, not measured: a cheap password hash keeps setup short.
    SCRYPT_LOG_N: '10',
    AWS_REGION: 'us-east-1',
  };
  Object.assign(process.env, env);
  delete process.env.AWS_ACCESS_KEY_ID;
  const cfg = config();
  if (cfg.redis.url !== redisUrl || cfg.mysql.database !== o.database || cfg.sqs.queueUrl !== queueUrl) {
    throw new Error('config() was read before the bench set its environment: the handlers would use other stores');
  }
  await migrate(cfg.mysql);
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableAutoPipelining: false, commandTimeout: 60_000 });
  admin.on('error', () => {});
  await admin.ping();
  progress(`stack: SQS emulator ${endpoint} (pid ${child.pid}), Redis ${redisUrl}, MySQL ${o.database}`);
  return {
    root,
    emulator: child,
    sqsEndpoint: endpoint,
    queueUrl,
    dlqUrl,
    sqs,
    admin,
    redisUrl,
    env: { ...process.env },
  };
}

/** Empties every store: queue and DLQ, the four tables, the Redis database. */
export async function resetData(s: Stack): Promise<void> {
  await s.sqs.send(new PurgeQueueCommand({ QueueUrl: s.queueUrl })).catch(() => {});
  await s.sqs.send(new PurgeQueueCommand({ QueueUrl: s.dlqUrl })).catch(() => {});
  const pool = mysql();
  for (const table of ['purchases', 'coupons', 'users', 'revoked_tokens']) await pool.query(`DELETE FROM ${table}`);
  await s.admin.flushdb();
}

export async function queueDepth(s: Stack, url: string): Promise<number> {
  const { Attributes = {} } = await s.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return Object.values(Attributes).reduce((sum, v) => sum + Number(v ?? 0), 0);
}

export async function purchaseCount(): Promise<number> {
  const [rows] = await mysql().query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM purchases');
  return Number(rows[0]?.n ?? 0);
}

/**
 * Waits until the queue reads empty three times in a row and MySQL holds `expected` purchases (or
 * the deadline passes). Returns the milliseconds it took.
 */
export async function drain(s: Stack, expected: number, timeoutMs: number): Promise<{ ms: number; ok: boolean }> {
  const t0 = Date.now();
  const deadline = t0 + timeoutMs;
  let empties = 0;
  while (Date.now() < deadline) {
    empties = (await queueDepth(s, s.queueUrl)) === 0 ? empties + 1 : 0;
    if (empties >= 3 && (await purchaseCount()) >= expected) return { ms: Date.now() - t0, ok: true };
    await sleep(100);
  }
  return { ms: Date.now() - t0, ok: false };
}

export interface Consumer {
  batches: number;
  records: number;
  /** Wall time spent inside the consumer (summed over concurrent batches). */
  busyMs: number;
  batchMs: number[];
  stop(): Promise<void>;
}

/** The consumer as `npm start` runs it: the poller delivering batches to lib/persist-purchases.ts. */
export function startConsumer(s: Stack, concurrency?: number): Consumer {
  const cfg = config();
  const stats = { batches: 0, records: 0, busyMs: 0, batchMs: [] as number[] };
  const poller = startPoller({
    client: s.sqs,
    queueUrl: s.queueUrl,
    region: cfg.sqs.region,
    batchSize: cfg.local.consumerBatchSize,
    windowMs: cfg.local.consumerBatchWindowMs,
    concurrency,
    deliver: async (records: SQSRecord[]) => {
      const t = performance.now();
      const failed = await persistPurchases(services(), records);
      const ms = performance.now() - t;
      stats.batches++;
      stats.records += records.length;
      stats.busyMs += ms;
      if (stats.batchMs.length < 100_000) stats.batchMs.push(ms);
      return failed;
    },
    onError: (e) => progress(`consumer delivery failed: ${e instanceof Error ? e.message : String(e)}`),
  });
  return Object.assign(stats, { stop: () => poller.stop() });
}

/** Sends purchase messages in batches of 10, `parallel` batches at a time. */
export async function pushMessages(s: Stack, messages: PurchaseMessage[], parallel = 16): Promise<void> {
  let next = 0;
  const deadline = Date.now() + 300_000;
  const worker = async () => {
    while (next < messages.length) {
      if (Date.now() > deadline) throw new Error('queueing the purchase messages took over 5 minutes');
      const start = next;
      next += 10;
      const batch = messages.slice(start, start + 10);
      const out = await s.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: s.queueUrl,
          Entries: batch.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) })),
        }),
      );
      if (out.Failed && out.Failed.length > 0)
        throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

export async function closeStack(s: Stack): Promise<void> {
  s.sqs.destroy();
  s.admin.disconnect();
  await s.emulator.stop();
}

/** Redis client of the handlers in this process (auto-pipelined), for the round-trip count. */
export const handlerRedis = () => redis();
