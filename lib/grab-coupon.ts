/**
 * The grab: one Lua script takes the coupon atomically and records an outbox entry in the coupon's
 * hash slot; where Redis has replicas, the grab waits for one to hold it (WAIT); the purchase
 * message is then sent to SQS, and once SQS accepted it the grab is confirmed (201) whatever
 * follows. If it cannot be made durable (no replica acknowledged, the send failed) the grab is
 * released, leaving a tombstone for its request id that makes the consumer drop its message should
 * it reach the queue after all, and the caller gets 503: nothing taken. If the process dies in
 * between, the outbox sweeper re-sends the message (lib/sweep-outbox.ts).
 *
 * The same script checks the grab rate limits, the pause flag and the sale window and counts the
 * answer (stats); on a single Redis node it also checks the caller's session (revoked token, cold
 * cache: lua/session-check.lua), so any grab but a granted one is one Redis round trip in all. On a
 * cluster the session keys live in other slots and are checked just before. A coupon this
 * container saw sold out within the last second is answered from memory after the session check
 * alone (lib/sold-out-memory.ts).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Caller } from './auth/tokens';
import { checkSession } from './authenticate';
import { config } from './config';
import { DependencyError, describe, TooManyRequests, Unauthorized, Unavailable } from './errors';
import { logger } from './logger';
import { metrics } from './metrics';
import { restoring } from './restore-cache';
import type { SaleServices } from './sale-services';
import { countFromMemory, knownSoldOut, rememberSoldOut } from './sold-out-memory';
import type { GrabResult, ReleaseResult, SessionRefusal } from './stores/types';
import { isValidUsername, normalizeCouponName } from './validation';

export type GrabOutcome = GrabResult['outcome'];

interface Grab {
  seller: string;
  name: string;
  username: string;
  requestId: string;
  /** The client's address ('' when unknown): the per-address rate limit's key. */
  address: string;
}

/**
 * @param caller the claims of a verified token: the session is checked here.
 * @param deadline epoch milliseconds by which the handler must have answered: late steps that are
 *   not needed for the answer are abandoned then.
 * @param address the client's address (API Gateway's sourceIp), for the per-address rate limit.
 * @throws TooManyRequests when a configured rate limit refuses the grab.
 */
export async function grabCoupon(
  s: SaleServices,
  caller: Caller,
  seller: string | undefined,
  rawName: string | undefined,
  deadline = Date.now() + config().handlerTimeoutMs,
  address = '',
): Promise<Exclude<GrabOutcome, 'rate-limited'>> {
  // Names are stored in NFC: the path's spelling is normalized the same way.
  const name = normalizeCouponName(rawName);
  const grabbedAtMs = Date.now();
  if (caller.kind !== 'customer' || !isValidUsername(seller) || name === undefined) {
    await checkSession(s, caller, deadline);
    if (caller.kind !== 'customer') throw new Unauthorized("Sellers aren't allowed to get coupons.");
    return 'not-found';
  }
  if (knownSoldOut(seller, name, grabbedAtMs)) {
    await checkSession(s, caller, deadline);
    countFromMemory(s.cache, seller, name, grabbedAtMs);
    return 'sold-out';
  }
  const grab: Grab = { seller, name, username: caller.username, requestId: randomUUID(), address };
  // The session is checked by the grab's own round trip (on a cluster, just before it), and a
  // "not found" comes only from a warm cache.
  let result = await takeCoupon(s, grab, grabbedAtMs, deadline, caller.jti);
  if (result.outcome === 'cold') {
    // Waits for the rebuild, then asks about the token again (revocations are restored too).
    await checkSession(s, caller, deadline);
    result = await takeCoupon(s, grab, grabbedAtMs, deadline, caller.jti);
    // Lost again right after the rebuild: answer as a cold cache does.
    if (result.outcome === 'cold') throw restoring();
  }
  if (result.outcome === 'revoked') throw new Unauthorized();
  if (result.outcome === 'rate-limited') throw new TooManyRequests('Too many requests.', result.retryAfterSeconds);
  if (result.outcome === 'sold-out') rememberSoldOut(seller, name, grabbedAtMs);
  if (result.outcome !== 'granted') return result.outcome;

  const { waitReplicas, waitTimeoutMs } = config().redis;
  if (waitReplicas > 0) {
    // A failover to a replica that missed this grab would sell its coupon again: answer 201 only
    // once a replica holds it. None acknowledging means the grab is not durable: undo it, 503.
    const durable = await s.cache
      .waitForReplicas(seller, name, waitReplicas, waitTimeoutMs)
      .catch((e: unknown) => new DependencyError('cache', e));
    if (durable !== true) {
      const cause = durable || new Error(`no replica acknowledged within ${waitTimeoutMs} ms`);
      await release(s, grab, 'no replica acknowledged the grab', cause, deadline);
      throw new Unavailable('The grab could not be made durable in the cache. Nothing was taken; retry shortly.');
    }
  }

  const listed = s.cache.addHolding(caller.username, result.holding, grabbedAtMs);
  try {
    await s.queue.send({
      couponId: result.couponId,
      seller,
      name,
      username: caller.username,
      grabbedAt: new Date(grabbedAtMs).toISOString(),
      requestId: grab.requestId,
    });
  } catch (sendError: unknown) {
    metrics.sendFailed(seller, name);
    await listed.catch(() => {});
    // A failed send may still have reached the queue (its answer was lost or came too late). If the
    // consumer already claimed it, the grab stands; otherwise the tombstone makes it drop it.
    const released = await release(s, grab, 'the queue send failed', sendError, deadline);
    if (released !== 'stands') {
      await s.cache.removeHolding(caller.username, result.holding).catch(() => {});
      throw new Unavailable('The grab could not be queued. Nothing was taken; retry shortly.');
    }
    logger.warn('grab stands: the queue took its message despite the failed send', {
      seller,
      coupon: name,
      customer: caller.username,
      error: describe(sendError),
    });
  }

  // The queue holds the grab: it is confirmed, and nothing from here on may turn it into a 503.
  const listing = await settleWithin(listed, deadline);
  if (listing !== 'done') {
    // The outbox entry stays, so the sweeper lists the grab (and re-sends it, harmlessly).
    logger.error('grab queued but not listed', { seller, coupon: name, customer: caller.username, listing });
    return 'granted';
  }
  // Not awaited: a leftover outbox entry only causes a harmless re-send.
  s.cache.confirm(seller, name, caller.username).catch((e: unknown) => {
    logger.warn('outbox entry not cleared', { seller, coupon: name, error: describe(e) });
  });
  return 'granted';
}

/** The grab script, with the caller's session checked in the same round trip when `session` is given. */
async function takeCoupon(
  s: SaleServices,
  grab: Grab,
  grabbedAtMs: number,
  deadline: number,
  session?: string,
): Promise<GrabResult | SessionRefusal> {
  try {
    return await s.cache.grab(
      grab.seller,
      grab.name,
      grab.username,
      grab.requestId,
      grabbedAtMs,
      grab.address,
      config().sale.grabLimits,
      session,
    );
  } catch (e: unknown) {
    // The script may have run before the connection failed: undo it, if it did.
    await release(s, grab, 'the grab script failed', e, deadline);
    throw e;
  }
}

/**
 * Releases a grab that could not be made durable, trying again while the deadline allows: a grab
 * left taken after its caller heard 503 would later be completed by the sweeper.
 */
async function release(
  s: SaleServices,
  grab: Grab,
  why: string,
  cause: unknown,
  deadline: number,
): Promise<ReleaseResult | 'failed'> {
  const { commandTimeoutMs } = config().redis;
  let failure: unknown;
  for (let attempt = 0; attempt === 0 || Date.now() + commandTimeoutMs < deadline; attempt++) {
    try {
      const released = await s.cache.release(grab.seller, grab.name, grab.username, grab.requestId);
      if (released === 'released') {
        metrics.grabReleased(grab.seller, grab.name);
        logger.warn('grab released', { ...fields(grab), why, error: describe(cause) });
      }
      return released;
    } catch (e: unknown) {
      failure = e;
      await sleep(50);
    }
  }
  logger.error('grab not released: it may still be completed by the outbox sweeper', {
    ...fields(grab),
    why,
    error: describe(cause),
    releaseError: describe(failure),
  });
  return 'failed';
}

function fields(grab: Grab) {
  return { seller: grab.seller, coupon: grab.name, customer: grab.username, requestId: grab.requestId };
}

/** Waits for `p` until the deadline at most; never throws. */
async function settleWithin(p: Promise<unknown>, deadline: number): Promise<'done' | 'failed' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([p.then(() => 'done' as const).catch(() => 'failed' as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
