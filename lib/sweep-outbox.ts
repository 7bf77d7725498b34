/**
 * The outbox sweeper: completes grabs whose request died between the grab script and the end of
 * its send (or whose outbox entry could not be cleared). Entries younger than `resendAfterMs` may
 * still belong to a live request, so they are left alone. A grab the consumer already claimed is
 * only listed; any other is listed and re-sent, which is safe: the consumer is idempotent.
 */
import { describe } from './errors';
import { logger } from './logger';
import type { Services } from './services';

export async function sweepOutbox(
  s: Services,
  resendAfterMs: number,
  now = Date.now(),
): Promise<{ resent: number; failed: number }> {
  const pending = await s.cache.pendingGrabs(now - resendAfterMs);
  let resent = 0;
  let failed = 0;
  for (const p of pending) {
    const { seller, name } = p.holding;
    try {
      // The request died before it could list the grab, too.
      await s.cache.addHolding(p.username, p.holding, p.grabbedAtMs);
      if (!p.claimed) {
        await s.queue.send({
          couponId: p.couponId,
          seller,
          name,
          username: p.username,
          grabbedAt: new Date(p.grabbedAtMs).toISOString(),
          requestId: p.requestId,
        });
      }
      await s.cache.confirm(seller, name, p.username);
      resent++;
    } catch (e: unknown) {
      failed++;
      logger.error('outbox re-send failed', { seller, coupon: name, customer: p.username, error: describe(e) });
    }
  }
  if (pending.length > 0) logger.info('outbox swept', { pending: pending.length, resent, failed });
  return { resent, failed };
}
