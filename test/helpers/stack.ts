/**
 * The real services for an integration test file, prepared by the one stack builder
 * (scripts/lib/stack.ts): this worker's MySQL database (migrated, emptied), Redis database
 * (flushed) and queues (created on the run's SQS endpoint), plus a poller that hands batches to the
 * real consumer handler exactly as the Lambda event source would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Cluster, type Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { mysql } from '../../lib/clients/mysql';
import { type RedisClient, redis } from '../../lib/clients/redis';
import { keys, SLOT_COUNT } from '../../lib/keys';
import { dataNodes, drain, emptyStores, prepareStores, startConsumer } from '../../scripts/lib/stack';
import type { Poller } from '../../scripts/queue/poller';

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
  dataNodes(): Promise<Redis[]>;
  close(): Promise<void>;
}

export { sleep };

export async function startStack(
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<Stack> {
  if (!process.env.SQS_ENDPOINT) {
    throw new Error('SQS_ENDPOINT is not set: the global setup should have started the emulator');
  }
  const stores = await prepareStores(process.env, {
    queue: {
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 2,
      maxReceiveCount: options.maxReceiveCount ?? 3,
    },
  });
  const r = redis() as Redis;

  let poller: Poller | undefined;
  const stack: Stack = {
    sqs: stores.sqs,
    queueUrl: stores.queueUrl,
    dlqUrl: stores.dlqUrl,
    db: mysql(),
    redis: r,
    startConsumer() {
      poller ??= startConsumer(stores, { batchSize: 50, windowMs: 50 });
    },
    async stopConsumer() {
      await poller?.stop();
      poller = undefined;
    },
    async drain(timeoutMs = 20_000) {
      if (!(await drain(stores, timeoutMs))) throw new Error('queue did not drain in time');
    },
    async reset() {
      await stack.stopConsumer();
      await emptyStores(stores);
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
    dataNodes,
    async close() {
      await stack.stopConsumer();
      await stores.close();
    },
  };
  await stack.reset();
  return stack;
}
