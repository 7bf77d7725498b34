/** POST /api/auth */
import { login } from '../lib/accounts';
import { httpHandler } from '../lib/http/handler';
import { clientAddress, jsonBody } from '../lib/http/request';
import { json } from '../lib/http/response';
import { services } from '../lib/services';

export const handler = httpHandler(async (event) => {
  const { token, kind } = await login(services(), jsonBody(event, { kind: '' }), clientAddress(event));
  return json(200, { kind }, { Authorization: token });
});
