/**
 * The real services for an integration test file: this worker's MySQL database (migrated, emptied),
 * Redis database (flushed) and queues (created on the run's SQS endpoint), plus a poller that hands
 * batches to the real consumer handler exactly as the Lambda event source would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PurgeQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { Cluster, type Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { handler as consumer } from '../../functions/persist-purchases';
import { mysql } from '../../lib/clients/mysql';
import { type RedisClient, redis } from '../../lib/clients/redis';
import { config } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { keys, SLOT_COUNT } from '../../lib/keys';
import { closeServices, services } from '../../lib/services';
import { queueDrained } from '../../lib/warm-up';
import { type Poller, startPoller } from '../../scripts/queue/poller';
import { ensureQueues } from '../../scripts/queue/setup';
import { lambdaContext, sqsEvent } from './events';

export interface Stack {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  db: Pool;
  redis: Redis;
  startConsumer(): void;
  stopConsumer(): Promise<void>;
  /** Waits until the queue is empty and nothing is in flight. */
  drain(timeoutMs?: number): Promise<void>;
  reset(): Promise<void>;
  /** Makes the cache forget that it is a complete copy of MySQL (its warm markers). */
  markCold(): Promise<void>;
  /** The nodes holding data: the one server, or every primary of a cluster. */
  dataNodes(): Redis[];
  close(): Promise<void>;
}

export { sleep };

export async function startStack(
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<Stack> {
  const endpoint = process.env.SQS_ENDPOINT;
  if (!endpoint) throw new Error('SQS_ENDPOINT is not set: the global setup should have started the emulator');
  const bootstrap = new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const { queueUrl, dlqUrl } = await ensureQueues(bootstrap, {
    queueName: process.env.QUEUE_NAME ?? 'seckill-test',
    dlqName: `${process.env.QUEUE_NAME ?? 'seckill-test'}-dlq`,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 2,
    maxReceiveCount: options.maxReceiveCount ?? 3,
  });
  process.env.QUEUE_URL = queueUrl;
  process.env.DLQ_URL = dlqUrl;
  const cfg = config();
  await migrate(cfg.mysql);
  const db = mysql();
  const r = redis() as Redis;

  let poller: Poller | undefined;
  const stack: Stack = {
    sqs: bootstrap,
    queueUrl,
    dlqUrl,
    db,
    redis: r,
    startConsumer() {
      poller ??= startPoller({
        client: bootstrap,
        queueUrl,
        batchSize: 50,
        windowMs: 50,
        deliver: async (records: SQSRecord[]) => {
          const result = (await consumer(
            sqsEvent(records),
            lambdaContext('persistPurchases', 30_000),
          )) as SQSBatchResponse;
          return result.batchItemFailures.map((f) => f.itemIdentifier);
        },
      });
    },
    async stopConsumer() {
      await poller?.stop();
      poller = undefined;
    },
    async drain(timeoutMs = 20_000) {
      if (!(await queueDrained(services().queue, timeoutMs, 100, 3))) throw new Error('queue did not drain in time');
    },
    async reset() {
      await stack.stopConsumer();
      await bootstrap.send(new PurgeQueueCommand({ QueueUrl: queueUrl })).catch(() => {});
      await bootstrap.send(new PurgeQueueCommand({ QueueUrl: dlqUrl })).catch(() => {});
      for (const table of ['purchases', 'coupons', 'users', 'revoked_tokens']) await db.query(`DELETE FROM ${table}`);
      await Promise.all(stack.dataNodes().map((n) => n.flushdb()));
    },
    async markCold() {
      const client = r as RedisClient;
      if (!(client instanceof Cluster)) {
        await r.del(keys.warm);
        return;
      }
      for (let slot = 0; slot < SLOT_COUNT; slot += 500) {
        const batch = Array.from({ length: Math.min(500, SLOT_COUNT - slot) }, (_, i) => keys.warmSlot(slot + i));
        await Promise.all(batch.map((key) => client.del(key)));
      }
    },
    dataNodes() {
      const client = r as RedisClient;
      return client instanceof Cluster ? client.nodes('master') : [r];
    },
    async close() {
      await stack.stopConsumer();
      bootstrap.destroy();
      await closeServices();
    },
  };
  await stack.reset();
  return stack;
}
