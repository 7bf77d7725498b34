/** POST /api/users */
import { register } from '../lib/accounts';
import { httpHandler } from '../lib/http/handler';
import { jsonBody } from '../lib/http/request';
import { json } from '../lib/http/response';
import { services } from '../lib/services';

export const handler = httpHandler(async (event) => {
  await register(services(), jsonBody(event));
  return json(201, {});
});
