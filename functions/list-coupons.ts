/** GET /api/users/{username}/coupons?page=N */
import { authenticateWith } from '../lib/authenticate';
import { listCoupons } from '../lib/coupons';
import { deadlineOf, httpHandler } from '../lib/http/handler';
import { header } from '../lib/http/request';
import { json, noContent } from '../lib/http/response';
import { saleServices } from '../lib/sale-services';

export const handler = httpHandler(async (event, context) => {
  const s = saleServices();
  // The listing is read alongside the session check: one Redis round trip for one's own coupons.
  const { value: data } = await authenticateWith(
    s,
    header(event, 'authorization'),
    (caller) => listCoupons(s, caller, event.pathParameters?.username, event.queryStringParameters?.page),
    deadlineOf(context),
  );
  return data.length > 0 ? json(200, { data }) : noContent();
});
