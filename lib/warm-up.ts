/**
 * Rebuilds Redis from MySQL after Redis lost its data (restart, failover, flush).
 *
 * MySQL lags Redis by whatever is still in the queue, so a rebuild taken too early would hand stock
 * back for grabs that are confirmed but not yet persisted. The rebuild therefore waits a grace
 * period (grabs that passed the script before the loss finish sending), then waits for the queue
 * to drain, and only then copies MySQL. One caller rebuilds, under a lock; the others wait for it.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from './config';
import { Unavailable } from './errors';
import { type Services, services } from './services';

export interface WarmupOptions {
  graceMs: number;
  drainTimeoutMs: number;
  lockTtlMs: number;
  /** How often to look at the queue and the lock. */
  pollMs?: number;
}

export async function ensureWarm(s: Services, options: WarmupOptions): Promise<void> {
  const poll = options.pollMs ?? 100;
  const token = randomUUID();
  if (await s.cache.tryLockWarmup(token, options.lockTtlMs)) {
    try {
      if (!(await s.cache.isWarm())) await rebuild(s, options, poll);
    } finally {
      await s.cache.unlockWarmup(token);
    }
    return;
  }
  const deadline = Date.now() + options.graceMs + options.drainTimeoutMs + 5000;
  while (Date.now() < deadline) {
    await sleep(poll);
    if (await s.cache.isWarm()) return;
  }
  throw new Unavailable('The sale is being restored. Retry shortly.');
}

async function rebuild(s: Services, options: WarmupOptions, poll: number): Promise<void> {
  // With no coupon in MySQL there is no stock to resell: skip the waiting (first start).
  if ((await s.db.countCoupons()) > 0) {
    await sleep(options.graceMs);
    await waitForDrain(s, options.drainTimeoutMs, poll);
  }
  await s.cache.restore(await s.db.snapshot());
}

async function waitForDrain(s: Services, timeoutMs: number, poll: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // SQS counts are approximate: trust an empty queue only when it reads empty twice in a row.
  let empties = 0;
  while (empties < 2) {
    if (Date.now() > deadline) throw new Unavailable('The sale is being restored. Retry shortly.');
    empties = (await s.queue.backlog()) === 0 ? empties + 1 : 0;
    if (empties < 2) await sleep(poll);
  }
}

/** The rebuild where MySQL is at hand: the restoreCache function, `npm start`, the tests, the bench. */
export function rebuildHere(): Promise<void> {
  return ensureWarm(services(), config().warmup);
}
