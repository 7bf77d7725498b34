/**
 * The consumer's rule: turn a batch of SQS records into purchase rows, exactly once each.
 * Records that cannot be parsed or name an unknown coupon are reported as failed, so the queue's
 * redrive policy moves them to the dead-letter queue; the rest of the batch is persisted.
 */
import { describe } from './errors';
import { logger } from './logger';
import type { Services } from './services';
import type { PurchaseMessage } from './stores/types';
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
  const { couponId, seller, name, username, grabbedAt } = value as Record<string, unknown>;
  if (
    typeof couponId !== 'number' ||
    !Number.isSafeInteger(couponId) ||
    couponId < 1 ||
    !isValidUsername(seller) ||
    !isValidCouponName(name) ||
    !isValidUsername(username) ||
    typeof grabbedAt !== 'string' ||
    Number.isNaN(Date.parse(grabbedAt))
  ) {
    return undefined;
  }
  return { couponId, seller, name, username, grabbedAt };
}

/** Returns the ids of the records that failed and must be retried (or dead-lettered). */
export async function persistPurchases(s: Pick<Services, 'cache' | 'db'>, records: QueueRecord[]): Promise<string[]> {
  const failed: string[] = [];
  const parsed: { id: string; purchase: PurchaseMessage }[] = [];
  for (const r of records) {
    const purchase = parsePurchase(r.body);
    if (purchase) parsed.push({ id: r.messageId, purchase });
    else {
      logger.error('malformed purchase message', { messageId: r.messageId });
      failed.push(r.messageId);
    }
  }
  if (parsed.length === 0) return failed;

  // A grab released after an ambiguous send (the queue took the message but the sender timed out)
  // is no longer held in Redis: its message must not become a purchase.
  let valid = parsed;
  try {
    const held = await s.cache.claimGrabs(parsed.map((p) => p.purchase));
    if (held) {
      valid = parsed.filter((_, i) => held[i]);
      for (const p of parsed.filter((_, i) => !held[i])) {
        logger.warn('dropped message of a released grab', { messageId: p.id, ...p.purchase });
      }
    }
  } catch (e: unknown) {
    logger.error('cache unavailable to the consumer; batch retried', { error: describe(e) });
    return [...failed, ...parsed.map((p) => p.id)];
  }

  try {
    const { inserted, rejected } = await s.db.persistPurchases(valid.map((p) => p.purchase));
    const rejectedSet = new Set(rejected);
    for (const p of valid) {
      if (rejectedSet.has(p.purchase)) {
        logger.error('purchase of an unknown coupon', { messageId: p.id, ...p.purchase });
        failed.push(p.id);
      }
    }
    logger.info('purchases persisted', { records: records.length, inserted, failed: failed.length });
  } catch (e: unknown) {
    logger.error('persisting purchases failed; batch retried', { error: describe(e) });
    failed.push(...valid.map((p) => p.id));
  }
  return failed;
}
