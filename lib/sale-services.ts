/**
 * The stores of the hot handlers (grab, list): Redis and the queue, and no MySQL client, so their
 * Lambda bundles stay small and start fast. A cold cache is rebuilt through `restoreCache()`.
 */
import { redis } from './clients/redis';
import { sqs } from './clients/sqs';
import { config } from './config';
import { isCacheFailure } from './errors';
import { guard } from './stores/guard';
import { RedisSaleCache } from './stores/redis-sale-cache';
import { SqsPurchaseQueue } from './stores/sqs-purchase-queue';
import type { PurchaseQueue, SaleCache } from './stores/types';

export interface SaleServices {
  cache: SaleCache;
  queue: PurchaseQueue;
}

let current: SaleServices | undefined;

/** Built once per container from the shared clients, which connect lazily. */
export function saleServices(): SaleServices {
  if (!current) {
    const { queueUrl, dlqUrl } = config().sqs;
    current = {
      cache: guard(new RedisSaleCache(redis()), 'cache', isCacheFailure),
      queue: guard(new SqsPurchaseQueue(sqs(), queueUrl, dlqUrl), 'queue', () => true),
    };
  }
  return current;
}

/** Forgets the stores (their clients are closed by `closeServices()`). */
export function resetSaleServices(): void {
  current = undefined;
}
