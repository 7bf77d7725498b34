/**
 * The grab: one Lua script takes the coupon atomically and records an outbox entry in the coupon's
 * hash slot; the purchase message is then sent to SQS, and only once SQS accepted it is the grab
 * confirmed (201). If the send fails the grab is released and the caller gets 503: nothing taken
 * (unless the consumer already persisted the message of the failed send: then the grab stands).
 * If the process dies in between, the outbox sweeper re-sends the message (lib/sweep-outbox.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Caller } from './auth/tokens';
import { describe, Unauthorized, Unavailable } from './errors';
import { logger } from './logger';
import type { SaleServices } from './sale-services';
import type { GrabResult } from './stores/types';
import { isValidUsername, normalizeCouponName } from './validation';

export type GrabOutcome = GrabResult['outcome'];

export async function grabCoupon(
  s: SaleServices,
  caller: Caller,
  seller: string | undefined,
  rawName: string | undefined,
): Promise<GrabOutcome> {
  if (caller.kind !== 'customer') throw new Unauthorized("Sellers aren't allowed to get coupons.");
  // Names are stored in NFC: the path's spelling is normalized the same way.
  const name = normalizeCouponName(rawName);
  if (!isValidUsername(seller) || name === undefined) return 'not-found';

  const requestId = randomUUID();
  const grabbedAtMs = Date.now();
  let result: GrabResult;
  try {
    result = await s.cache.grab(seller, name, caller.username, requestId, grabbedAtMs);
  } catch (e: unknown) {
    // The script may have run before the connection failed: undo it, if it did.
    await s.cache.release(seller, name, caller.username, requestId).catch(() => {});
    throw e;
  }
  if (result.outcome !== 'granted') return result.outcome;

  const message = {
    couponId: result.couponId,
    seller,
    name,
    username: caller.username,
    grabbedAt: new Date(grabbedAtMs).toISOString(),
  };
  const [listed, sent] = await Promise.allSettled([
    s.cache.addHolding(caller.username, result.holding, grabbedAtMs),
    s.queue.send(message),
  ]);
  if (sent.status === 'rejected') {
    // A failed send may still have reached the queue (its answer was lost or came too late). If the
    // consumer already took that message, it claimed the grab: the release finds nothing to undo,
    // the customer still holds the coupon, and the grab stands.
    const released = await s.cache.release(seller, name, caller.username, requestId);
    if (released || !(await s.cache.holds(seller, name, caller.username))) {
      logger.warn('grab released: queue send failed', { seller, name, error: describe(sent.reason) });
      await s.cache.removeHolding(caller.username, result.holding);
      throw new Unavailable('The grab could not be queued. Nothing was taken; retry shortly.');
    }
    logger.warn('grab stands: the queue took its message despite the failed send', {
      seller,
      name,
      error: describe(sent.reason),
    });
  }
  if (listed.status === 'rejected') {
    // Queued, so the grab stands; the sweeper lists it when it sees the pending outbox entry.
    logger.error('grab queued but not listed', { seller, name, error: describe(listed.reason) });
    return 'granted';
  }
  await s.cache.confirm(seller, name, caller.username).catch((e: unknown) => {
    // A leftover outbox entry only causes a harmless re-send.
    logger.warn('outbox entry not cleared', { seller, name, error: describe(e) });
  });
  return 'granted';
}
