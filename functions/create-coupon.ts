/** POST /api/users/{username}/coupons */
import { authenticate } from '../lib/authenticate';
import { createCoupon } from '../lib/coupons';
import { httpHandler } from '../lib/http/handler';
import { header, jsonBody } from '../lib/http/request';
import { json } from '../lib/http/response';
import { services } from '../lib/services';

export const handler = httpHandler(async (event) => {
  const s = services();
  const caller = await authenticate(s, header(event, 'authorization'));
  await createCoupon(s, caller, event.pathParameters?.username, jsonBody(event));
  return json(201, {});
});
