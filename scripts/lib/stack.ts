/**
 * The one stack builder: the stores a run needs, prepared the same way for `npm run dev`,
 * `npm start`, the tests and the bench. An SQS client for the configured endpoint (optionally the
 * embedded emulator, started here), the queue and its dead-letter queue created with the redrive
 * policy, QUEUE_URL / DLQ_URL set in the environment the handlers read, the schema migrated. Then
 * what runs against those stores: a poller feeding the real consumer, the drain, emptying them.
 * What only one caller needs stays with it: reachability and docker compose (local-stack.ts), the
 * bench's own databases and child processes (bench/stack.ts), the cache helpers of the tests.
 */
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { Cluster, type Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { handler as persistPurchases } from '../../functions/persist-purchases';
import { mysql } from '../../lib/clients/mysql';
import { type RedisClient, redis } from '../../lib/clients/redis';
import { type Config, config, readConfig } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { closeServices, services } from '../../lib/services';
import { queueDrained } from '../../lib/warm-up';
import { type Poller, startPoller } from '../queue/poller';
import { ensureQueues, type QueueSpec } from '../queue/setup';
import { lambdaContext } from '../server/invocation';

export type Env = Record<string, string | undefined>;

/** The queues of a run and the client that reaches them. */
export interface Queues {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
}

export interface Stores extends Queues {
  /** The environment the handlers must run with (the one passed in, completed). */
  env: Env;
  cfg: Config;
  /** Closes the clients (the services' too) and stops the embedded emulator if it was started. */
  close(): Promise<void>;
}

export interface StoresOptions {
  /** Start the embedded emulator (on QUEUE_PORT) when the environment names no SQS endpoint and no queue URL. */
  embeddedQueue?: boolean;
  /** A QUEUE_URL in the environment names a queue that exists already (LocalStack's init hook made it): use it as is. */
  configuredQueue?: boolean;
  /** Instead of the configuration's QUEUE_VISIBILITY_TIMEOUT and QUEUE_MAX_RECEIVE_COUNT. */
  queue?: Partial<Pick<QueueSpec, 'visibilityTimeoutSeconds' | 'maxReceiveCount'>>;
  /** A time limit on each SQS request of the client. */
  requestTimeoutMs?: number;
  /** Where to say what was started and which migrations ran. */
  log?: (line: string) => void;
}

/**
 * The embedded SQS emulator (fauxqs), on 127.0.0.1 only: it has no authentication, and anyone who
 * reaches it can read, delete and inject purchase messages. (`startFauxqs` always binds 0.0.0.0;
 * its `host` option only names the host in queue URLs, so the app is built and bound here.)
 */
async function startEmbeddedQueue(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the emulator has no address');
  return { url: `http://${address.address}:${address.port}`, stop: () => app.close() };
}

/**
 * Prepares the stores of `env` and completes it (SQS_ENDPOINT of a started emulator, QUEUE_URL,
 * DLQ_URL). Throws a ConfigError for an invalid configuration, an Error saying what failed else.
 */
export async function prepareStores(env: Env, o: StoresOptions = {}): Promise<Stores> {
  const log = o.log ?? (() => {});
  let stopEmulator = async () => {};
  if (o.embeddedQueue && !env.SQS_ENDPOINT && !env.QUEUE_URL) {
    const port = readConfig(env).local.queuePort;
    const emulator = await startEmbeddedQueue(port).catch((e: unknown) => {
      const inUse = e instanceof Error && 'code' in e && e.code === 'EADDRINUSE';
      throw new Error(
        inUse
          ? `port ${port} for the embedded SQS emulator is in use (another npm run dev?). Stop it, or set QUEUE_PORT.`
          : `the embedded SQS emulator did not start: ${String(e)}`,
      );
    });
    env.SQS_ENDPOINT = emulator.url;
    stopEmulator = emulator.stop;
    log(`embedded SQS emulator listening on ${emulator.url} (loopback only)`);
  }

  const configured = o.configuredQueue && env.QUEUE_URL ? env.QUEUE_URL : undefined;
  // Until the queue exists, its URL is derived from the endpoint.
  const draft = readConfig({ ...env, QUEUE_URL: configured });
  const sqs = new SQSClient({
    region: draft.sqs.region,
    endpoint: draft.sqs.endpoint,
    credentials: draft.sqs.credentials,
    ...(o.requestTimeoutMs
      ? { requestHandler: { requestTimeout: o.requestTimeoutMs, throwOnRequestTimeout: true } }
      : {}),
  });
  const close = async () => {
    sqs.destroy();
    await closeServices();
    await stopEmulator();
  };
  try {
    if (!configured) {
      // As the emulator spells them: a rebuild reads the dead letters, and a derived URL may not match.
      const created = await ensureQueues(sqs, {
        queueName: draft.sqs.queueName,
        dlqName: draft.sqs.dlqName,
        visibilityTimeoutSeconds: o.queue?.visibilityTimeoutSeconds ?? draft.local.visibilityTimeoutSeconds,
        maxReceiveCount: o.queue?.maxReceiveCount ?? draft.local.maxReceiveCount,
      });
      env.QUEUE_URL = created.queueUrl;
      env.DLQ_URL = created.dlqUrl;
    }
    const cfg = readConfig(env);
    await migrate(cfg.mysql, log).catch((e: unknown) => {
      throw new Error(`migration failed: ${e instanceof Error ? e.message : String(e)}`);
    });
    return { env, cfg, sqs, queueUrl: cfg.sqs.queueUrl, dlqUrl: cfg.sqs.dlqUrl, close };
  } catch (e: unknown) {
    await close();
    throw e;
  }
}

export interface ConsumerOptions {
  /** The configuration's CONSUMER_BATCH_SIZE and CONSUMER_BATCH_WINDOW_MS unless given. */
  batchSize?: number;
  windowMs?: number;
  /**
   * Hands a batch to the consumer; resolves the ids of the failed records. By default the consumer
   * handler runs in this process, with the event and context Lambda's SQS event source gives it.
   */
  deliver?: (records: SQSRecord[]) => Promise<string[]>;
  onError?: (e: unknown) => void;
}

/** A poller that delivers the queue's batches to the consumer, as Lambda's SQS event source does. */
export function startConsumer(q: Queues, o: ConsumerOptions = {}): Poller {
  const { local, sqs } = config();
  return startPoller({
    client: q.sqs,
    queueUrl: q.queueUrl,
    region: sqs.region,
    batchSize: o.batchSize ?? local.consumerBatchSize,
    windowMs: o.windowMs ?? local.consumerBatchWindowMs,
    deliver: o.deliver ?? consumeHere,
    onError: o.onError,
  });
}

/** The consumer function's timeout in serverless.yml. */
const CONSUMER_TIMEOUT_MS = 30_000;

async function consumeHere(records: SQSRecord[]): Promise<string[]> {
  const result = await persistPurchases(
    { Records: records },
    lambdaContext('persistPurchases', undefined, CONSUMER_TIMEOUT_MS),
  );
  return result.batchItemFailures.map((f) => f.itemIdentifier);
}

/**
 * Whether the queue (visible, in-flight and delayed messages) read empty three times in a row within
 * `timeoutMs`: every message a consumer took is then persisted and deleted. `consume`: run a
 * consumer meanwhile (nothing else consumes).
 */
export async function drain(
  q: Queues,
  timeoutMs: number,
  o: { consume?: boolean; onError?: (e: unknown) => void } = {},
): Promise<boolean> {
  const poller = o.consume ? startConsumer(q, { onError: o.onError }) : undefined;
  try {
    return await queueDrained(services().queue, timeoutMs, 100, 3);
  } finally {
    await poller?.stop();
  }
}

/**
 * The nodes holding a client's data: the one server, or every primary of a cluster (a cluster
 * client knows its nodes only once connected, so it is asked something first).
 */
export async function primaries(client: RedisClient): Promise<Redis[]> {
  if (!(client instanceof Cluster)) return [client];
  await client.ping();
  const nodes = client.nodes('master');
  if (nodes.length === 0) throw new Error('the cluster has no primary');
  return nodes;
}

/** The nodes holding the handlers' data. */
export function dataNodes(): Promise<Redis[]> {
  return primaries(redis());
}

/** Empties the queue and its DLQ, every table of the schema and the Redis data. Stop any consumer first. */
export async function emptyStores(q: Queues): Promise<void> {
  for (const url of [q.queueUrl, q.dlqUrl]) await q.sqs.send(new PurgeQueueCommand({ QueueUrl: url })).catch(() => {});
  // Every table the migrations made (none references another), but their own record.
  const [tables] = await mysql().query<RowDataPacket[]>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name <> 'schema_migrations'",
  );
  for (const { name } of tables) await mysql().query(`DELETE FROM \`${name}\``);
  await Promise.all((await dataNodes()).map((n) => n.flushdb()));
}
