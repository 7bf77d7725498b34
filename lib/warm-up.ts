/**
 * Rebuilds Redis from MySQL after Redis lost its data (restart, failover, flush).
 *
 * MySQL lags Redis by whatever is still in the queue, so a rebuild taken too early would hand stock
 * back for grabs that are confirmed but not yet persisted. The rebuild therefore waits a grace
 * period (grabs that passed the script before the loss finish sending), then waits for the queue
 * to drain, and copies MySQL plus the grabs waiting in the dead-letter queue (confirmed, not yet
 * persisted: they must not be sold again). One rebuild at a time: a token lock, renewed while the
 * rebuild runs and released only by its holder; a caller that finds it taken simply returns.
 */

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { config } from './config';
import { describe, Unavailable } from './errors';
import { logger } from './logger';
import { parsePurchase } from './persist-purchases';
import { type Services, services } from './services';
import type { PurchaseQueue, Snapshot } from './stores/types';

export interface WarmupOptions {
  graceMs: number;
  drainTimeoutMs: number;
  lockTtlMs: number;
  /** How often to look at the queue. */
  pollMs?: number;
}

export type WarmupResult = 'rebuilt' | 'warm' | 'busy';

export async function ensureWarm(s: Services, options: WarmupOptions): Promise<WarmupResult> {
  const token = randomUUID();
  if (!(await s.cache.tryLockWarmup(token, options.lockTtlMs))) return 'busy';
  let lost = false;
  const renewal = setInterval(
    () => {
      s.cache
        .renewWarmupLock(token, options.lockTtlMs)
        .then((held) => {
          lost ||= !held;
        })
        .catch((e: unknown) => logger.warn('rebuild lock not renewed', { error: describe(e) }));
    },
    Math.max(100, Math.floor(options.lockTtlMs / 3)),
  );
  try {
    if (await s.cache.isWarm()) return 'warm';
    await rebuild(s, options, () => lost);
    return 'rebuilt';
  } finally {
    clearInterval(renewal);
    await s.cache.unlockWarmup(token).catch(() => {});
  }
}

async function rebuild(s: Services, options: WarmupOptions, lockLost: () => boolean): Promise<void> {
  const started = Date.now();
  const poll = options.pollMs ?? 100;
  // With no coupon in MySQL there is no stock to resell: skip the waiting (first start).
  if ((await s.db.countCoupons()) > 0) {
    await sleep(options.graceMs);
    await waitForDrain(s, options.drainTimeoutMs, poll);
  }
  const snapshot = withDeadLetters(await s.db.snapshot(), await s.queue.deadLetters());
  // Another caller took the lock after ours expired: its rebuild is the one that counts.
  if (lockLost()) throw new Error('rebuild lock lost');
  await s.cache.restore(snapshot);
  logger.info('cache rebuilt', { ms: Date.now() - started, coupons: snapshot.coupons.length });
}

/**
 * Adds the grabs waiting in the dead-letter queue (valid purchases of known coupons that MySQL does
 * not have yet) to the snapshot, as holders and as stock taken.
 */
export function withDeadLetters(snapshot: Snapshot, bodies: string[]): Snapshot {
  const coupons = new Map(snapshot.coupons.map((c) => [c.id, { ...c }]));
  const held = new Set(snapshot.purchases.map((p) => `${p.couponId}/${p.username}`));
  const purchases = [...snapshot.purchases];
  for (const body of bodies) {
    const p = parsePurchase(body);
    const coupon = p && coupons.get(p.couponId);
    if (!p || !coupon || coupon.seller !== p.seller || coupon.name !== p.name) continue;
    if (held.has(`${p.couponId}/${p.username}`)) continue;
    held.add(`${p.couponId}/${p.username}`);
    coupon.left -= 1;
    purchases.push({ couponId: p.couponId, username: p.username, grabbedAt: new Date(p.grabbedAt) });
  }
  if (purchases.length > snapshot.purchases.length) {
    logger.warn('rebuild counts grabs waiting in the dead-letter queue', {
      grabs: purchases.length - snapshot.purchases.length,
    });
  }
  return { ...snapshot, coupons: [...coupons.values()], purchases };
}

async function waitForDrain(s: Services, timeoutMs: number, poll: number): Promise<void> {
  if (!(await queueDrained(s.queue, timeoutMs, poll))) {
    throw new Unavailable('The sale is being restored. Retry shortly.');
  }
}

/**
 * The one drain wait (the rebuild, the tests, the bench): resolves true once the queue reports no
 * visible, in-flight or delayed message `reads` times in a row (SQS counts are approximate: one
 * empty reading is not trusted), false if that did not happen within `timeoutMs`.
 */
export async function queueDrained(
  queue: Pick<PurchaseQueue, 'backlog'>,
  timeoutMs: number,
  pollMs = 100,
  reads = 2,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let empties = 0; ; await sleep(pollMs)) {
    empties = (await queue.backlog()) === 0 ? empties + 1 : 0;
    if (empties >= reads) return true;
    if (Date.now() > deadline) return false;
  }
}

/** The rebuild where MySQL is at hand: the restoreCache function, `npm start`, the tests, the bench. */
export function rebuildHere(): Promise<WarmupResult> {
  return ensureWarm(services(), config().warmup);
}
