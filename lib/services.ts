/**
 * The stores the handlers use in production, built once per container from the shared clients.
 * Tests pass their own stores to the rules instead.
 */
import { closeMysql, mysql } from './clients/mysql';
import { closeRedis, redis } from './clients/redis';
import { closeSqs, sqs } from './clients/sqs';
import { config } from './config';
import { isCacheFailure, isDatabaseFailure } from './errors';
import { resetSaleServices } from './sale-services';
import { guard } from './stores/guard';
import { MysqlDatabase } from './stores/mysql-database';
import { RedisSaleCache } from './stores/redis-sale-cache';
import { SqsPurchaseQueue } from './stores/sqs-purchase-queue';
import type { Database, PurchaseQueue, SaleCache } from './stores/types';

export interface Services {
  cache: SaleCache;
  db: Database;
  queue: PurchaseQueue;
}

let current: Services | undefined;

/** Clients connect lazily, so building the services does no I/O. */
export function services(): Services {
  current ??= {
    cache: guard(new RedisSaleCache(redis()), 'cache', isCacheFailure),
    db: guard(new MysqlDatabase(mysql()), 'database', isDatabaseFailure),
    queue: guard(new SqsPurchaseQueue(sqs(), config().sqs.queueUrl, config().sqs.dlqUrl), 'queue', () => true),
  };
  return current;
}

/** Closes every client (scripts and tests); the next `services()` call connects again. */
export async function closeServices(): Promise<void> {
  current = undefined;
  resetSaleServices();
  closeSqs();
  await Promise.all([closeRedis(), closeMysql()]);
}
