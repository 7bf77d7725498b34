/**
 * POST /api/users/{username}/coupons/{name}/pause, .../resume and .../amount: the seller's controls
 * of a running sale. One function serves the three routes; the last path segment names the control.
 */
import { authenticate } from '../lib/authenticate';
import { HttpError, PayloadTooLarge } from '../lib/errors';
import { deadlineOf, httpHandler } from '../lib/http/handler';
import { header, jsonBody } from '../lib/http/request';
import { json } from '../lib/http/response';
import { type Control, controlCoupon } from '../lib/sale-controls';
import { services } from '../lib/services';

const CONTROLS: readonly string[] = ['pause', 'resume', 'amount'] satisfies Control[];

export const handler = httpHandler(async (event, context) => {
  const s = services();
  const control = event.rawPath.split('/').pop() ?? '';
  if (!CONTROLS.includes(control)) return json(404, { errMsg: 'Not Found.' });
  const caller = await authenticate(s, header(event, 'authorization'), deadlineOf(context));
  let body: Record<string, unknown> | HttpError | undefined;
  if (control === 'amount') {
    try {
      body = jsonBody(event);
    } catch (e: unknown) {
      if (!(e instanceof HttpError) || e instanceof PayloadTooLarge) throw e;
      body = e;
    }
  }
  const { username, name } = event.pathParameters ?? {};
  const changed = await controlCoupon(s, caller, username, name, control as Control, body);
  return json(200, changed ?? {});
});
