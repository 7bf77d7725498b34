/**
 * The consumer's rule: turn a batch of SQS records into purchase rows, exactly once each.
 *
 * Only transient failures (Redis or MySQL unavailable) are retried through the queue. Records that
 * can never succeed (malformed, an unknown coupon) are moved to the dead-letter queue at once, so
 * they neither hold a cache rebuild's drain hostage nor wait out the redrive count. A message is
 * dropped only when a tombstone says its grab was released (answered 503); any other grab is
 * persisted, and put back into Redis if Redis had lost it.
 */
import { describe } from './errors';
import { logger } from './logger';
import type { Claim, Database, GrabCache, PurchaseCache, PurchaseMessage, PurchaseQueue } from './stores/types';

/** What the consumer does to Redis: claim each message's grab, and list the ones it put back. */
type ConsumerCache = PurchaseCache & Pick<GrabCache, 'addHolding'>;

import { isValidCouponName, isValidUsername } from './validation';

export interface QueueRecord {
  messageId: string;
  body: string;
}

export function parsePurchase(body: string): PurchaseMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { couponId, seller, name, username, grabbedAt, requestId } = value as Record<string, unknown>;
  if (
    typeof couponId !== 'number' ||
    !Number.isSafeInteger(couponId) ||
    couponId < 1 ||
    !isValidUsername(seller) ||
    !isValidCouponName(name) ||
    !isValidUsername(username) ||
    typeof grabbedAt !== 'string' ||
    Number.isNaN(Date.parse(grabbedAt)) ||
    typeof requestId !== 'string' ||
    !/^[\w-]{1,64}$/.test(requestId)
  ) {
    return undefined;
  }
  return { couponId, seller, name, username, grabbedAt, requestId };
}

/** Returns the ids of the records that failed for a transient reason and must be retried. */
export async function persistPurchases(
  s: { cache: ConsumerCache; db: Database; queue: PurchaseQueue },
  records: QueueRecord[],
): Promise<string[]> {
  const poison: QueueRecord[] = [];
  const parsed: { record: QueueRecord; purchase: PurchaseMessage }[] = [];
  for (const record of records) {
    const purchase = parsePurchase(record.body);
    if (purchase) parsed.push({ record, purchase });
    else {
      logger.error('malformed purchase message', { messageId: record.messageId });
      poison.push(record);
    }
  }

  const retry = parsed.length > 0 ? await persist(s, parsed, poison) : [];
  if (poison.length > 0) {
    // A record that could not be moved stays in the queue; its redrive policy moves it later.
    const unmoved = await s.queue.deadLetter(poison).catch(() => poison.map((r) => r.messageId));
    retry.push(...unmoved);
    logger.error('purchase messages moved to the dead-letter queue', {
      moved: poison.length - unmoved.length,
      unmoved: unmoved.length,
    });
  }
  return retry;
}

async function persist(
  s: { cache: ConsumerCache; db: Database },
  parsed: { record: QueueRecord; purchase: PurchaseMessage }[],
  poison: QueueRecord[],
): Promise<string[]> {
  let claims: Claim[];
  try {
    claims = await s.cache.claimGrabs(parsed.map((p) => p.purchase));
  } catch (e: unknown) {
    // Without Redis a released grab cannot be told from a held one: retry the batch later.
    logger.error('cache unavailable to the consumer; batch retried', { error: describe(e) });
    return parsed.map((p) => p.record.messageId);
  }

  const valid: typeof parsed = [];
  for (const [i, p] of parsed.entries()) {
    const claim = claims[i] ?? { status: 'unknown' };
    if (claim.status === 'released') {
      logger.warn('dropped message of a released grab', { messageId: p.record.messageId, ...p.purchase });
    } else if (claim.status === 'mismatch') {
      logger.error('purchase names a coupon under another id', { messageId: p.record.messageId, ...p.purchase });
      poison.push(p.record);
    } else {
      if (claim.status === 'repaired') await repaired(s, p.purchase, claim);
      valid.push(p);
    }
  }
  if (valid.length === 0) return [];

  try {
    const { inserted, rejected } = await s.db.persistPurchases(valid.map((p) => p.purchase));
    const rejectedSet = new Set(rejected);
    for (const p of valid) {
      if (rejectedSet.has(p.purchase)) {
        logger.error('purchase of an unknown coupon', { messageId: p.record.messageId, ...p.purchase });
        poison.push(p.record);
      }
    }
    logger.info('purchases persisted', { records: parsed.length, inserted, poison: poison.length });
    return [];
  } catch (e: unknown) {
    logger.error('persisting purchases failed; batch retried', { error: describe(e) });
    return valid.map((p) => p.record.messageId);
  }
}

/** Redis had lost a grab that no tombstone released: it was put back; list it too, and say so. */
async function repaired(
  s: { cache: ConsumerCache },
  purchase: PurchaseMessage,
  claim: Extract<Claim, { status: 'repaired' }>,
): Promise<void> {
  const fields = { seller: purchase.seller, coupon: purchase.name, customer: purchase.username, left: claim.left };
  // Redis had lost a confirmed write: worth an operator's attention either way.
  if (claim.left < 0) logger.error('coupon oversold while Redis was incomplete: reconcile', fields);
  else logger.error('grab missing from Redis put back', fields);
  await s.cache
    .addHolding(purchase.username, claim.holding, Date.parse(purchase.grabbedAt))
    .catch((e: unknown) => logger.warn('repaired grab not listed', { ...fields, error: describe(e) }));
}
