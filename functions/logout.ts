/** POST /api/auth/logout */
import { logout } from '../lib/accounts';
import { httpHandler } from '../lib/http/handler';
import { header } from '../lib/http/request';
import { json } from '../lib/http/response';
import { services } from '../lib/services';

export const handler = httpHandler(async (event) => {
  await logout(services(), header(event, 'authorization'));
  return json(200, { errMsg: 'log out.' });
});
