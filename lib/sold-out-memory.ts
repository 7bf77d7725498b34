/**
 * A container's memory of sold-out coupons (api.md allows answering `204 sold-out` from it for at
 * most one second), so the long tail of a hot sale never reaches Redis. The answers it gives are
 * counted here and added to the coupon's counters in Redis in batches (lua/add-stats.lua), at most
 * one flush per coupon per second; on Lambda a frozen container flushes when it next runs.
 */
import { config } from './config';
import { describe } from './errors';
import { couponRef, parseCouponRef } from './keys';
import { logger } from './logger';
import type { GrabCache } from './stores/types';

const FLUSH_EVERY_MS = 1000;

/** Coupon ref -> epoch ms until which it is known sold out. */
const soldOutUntil = new Map<string, number>();
/** Coupon ref -> epoch second -> answers given from memory, not yet flushed. */
const unflushed = new Map<string, Map<number, number>>();
let flushTimer: NodeJS.Timeout | undefined;
let flushCache: GrabCache | undefined;

/** Whether the container may answer a grab of this coupon `204 sold-out` without Redis. */
export function knownSoldOut(seller: string, name: string, now = Date.now()): boolean {
  const ref = couponRef(seller, name);
  const until = soldOutUntil.get(ref);
  if (until === undefined) return false;
  if (until > now) return true;
  soldOutUntil.delete(ref);
  return false;
}

/** Redis answered sold out: remember it for the configured time (at most a second). */
export function rememberSoldOut(seller: string, name: string, now = Date.now()): void {
  const { soldOutMemoryMs } = config().sale;
  if (soldOutMemoryMs > 0) soldOutUntil.set(couponRef(seller, name), now + soldOutMemoryMs);
}

/** Stock came back (an amount change, a release seen here): forget the memory at once. */
export function forgetSoldOut(seller: string, name: string): void {
  soldOutUntil.delete(couponRef(seller, name));
}

/** Counts one answer given from memory; it reaches Redis with the next flush. */
export function countFromMemory(cache: GrabCache, seller: string, name: string, now = Date.now()): void {
  const ref = couponRef(seller, name);
  const seconds = unflushed.get(ref) ?? new Map<number, number>();
  const second = Math.floor(now / 1000);
  seconds.set(second, (seconds.get(second) ?? 0) + 1);
  unflushed.set(ref, seconds);
  flushCache = cache;
  if (!flushTimer) {
    flushTimer = setTimeout(() => {
      flushTimer = undefined;
      void flushSoldOutCounts();
    }, FLUSH_EVERY_MS);
    flushTimer.unref();
  }
}

/** Adds every count not yet flushed to Redis; counts that fail to reach it are kept for the next try. */
export async function flushSoldOutCounts(): Promise<void> {
  const cache = flushCache;
  if (!cache || unflushed.size === 0) return;
  const batch = [...unflushed];
  unflushed.clear();
  await Promise.all(
    batch.map(async ([ref, seconds]) => {
      const { seller, name } = parseCouponRef(ref);
      try {
        await cache.addStats(seller, name, 'sold-out', [...seconds]);
      } catch (e: unknown) {
        logger.warn('sold-out counts not flushed; kept for the next flush', { coupon: ref, error: describe(e) });
        const now = unflushed.get(ref) ?? new Map<number, number>();
        for (const [second, n] of seconds) now.set(second, (now.get(second) ?? 0) + n);
        unflushed.set(ref, now);
      }
    }),
  );
}

/** Forgets everything (tests). */
export function resetSoldOutMemory(): void {
  soldOutUntil.clear();
  unflushed.clear();
  if (flushTimer) clearTimeout(flushTimer);
  flushTimer = undefined;
}
