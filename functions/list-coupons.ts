/** GET /api/users/{username}/coupons?page=N */
import { authenticate } from '../lib/authenticate';
import { listCoupons } from '../lib/coupons';
import { httpHandler } from '../lib/http/handler';
import { header } from '../lib/http/request';
import { json, noContent } from '../lib/http/response';
import { saleServices } from '../lib/sale-services';

export const handler = httpHandler(async (event) => {
  const s = saleServices();
  const caller = await authenticate(s, header(event, 'authorization'));
  const data = await listCoupons(s, caller, event.pathParameters?.username, event.queryStringParameters?.page);
  return data.length > 0 ? json(200, { data }) : noContent();
});
