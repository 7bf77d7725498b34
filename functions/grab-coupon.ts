/** PATCH /api/users/{username}/coupons/{name}: a customer grabs a coupon of seller {username}. */
import { authenticate } from '../lib/authenticate';
import { grabCoupon } from '../lib/grab-coupon';
import { deadlineOf, httpHandler } from '../lib/http/handler';
import { header } from '../lib/http/request';
import { json, noContent } from '../lib/http/response';
import { saleServices } from '../lib/sale-services';

export const handler = httpHandler(async (event, context) => {
  const s = saleServices();
  const deadline = deadlineOf(context);
  const caller = await authenticate(s, header(event, 'authorization'), deadline);
  const { username, name } = event.pathParameters ?? {};
  const outcome = await grabCoupon(s, caller, username, name, deadline);
  return outcome === 'granted' ? json(201, {}) : noContent({ 'X-Seckill-Reason': outcome });
});
