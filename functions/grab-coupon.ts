/** PATCH /api/users/{username}/coupons/{name}: a customer grabs a coupon of seller {username}. */
import { verify } from '../lib/authenticate';
import { HttpError } from '../lib/errors';
import { grabCoupon } from '../lib/grab-coupon';
import { deadlineOf, httpHandler } from '../lib/http/handler';
import { clientAddress, header } from '../lib/http/request';
import { json, noContent } from '../lib/http/response';
import { metrics, publishMetrics } from '../lib/metrics';
import { saleServices } from '../lib/sale-services';

export const handler = httpHandler(async (event, context) => {
  const s = saleServices();
  const { username, name } = event.pathParameters ?? {};
  const deadline = deadlineOf(context);
  try {
    // The session (revoked token, cold cache) is checked by the grab's own round trip.
    const caller = await verify(header(event, 'authorization'));
    const outcome = await grabCoupon(s, caller, username, name, deadline, clientAddress(event));
    metrics.grab(outcome, username, name);
    return outcome === 'granted' ? json(201, {}) : noContent({ 'X-Seckill-Reason': outcome });
  } catch (e: unknown) {
    const refusal = e instanceof HttpError && e.status === 429 ? 'rate-limited' : 'refused';
    metrics.grab(e instanceof HttpError && e.status < 500 ? refusal : 'failed', username, name);
    throw e;
  }
}).use(publishMetrics());
