/** GET /api/users/{username}/coupons/{name}/stats: how the sale of a coupon is going (its seller only). */
import { authenticate } from '../lib/authenticate';
import { deadlineOf, httpHandler } from '../lib/http/handler';
import { header } from '../lib/http/request';
import { json } from '../lib/http/response';
import { couponStats } from '../lib/sale-controls';
import { saleServices } from '../lib/sale-services';

export const handler = httpHandler(async (event, context) => {
  const s = saleServices();
  const caller = await authenticate(s, header(event, 'authorization'), deadlineOf(context));
  const { username, name } = event.pathParameters ?? {};
  return json(200, { ...(await couponStats(s, caller, username, name)) });
});
