/** GET /api/health */
import { health } from '../lib/health';
import { httpHandler } from '../lib/http/handler';
import { json } from '../lib/http/response';
import { services } from '../lib/services';

export const handler = httpHandler(async () => {
  const states = await health(services());
  const failing = Object.entries(states).filter(([, state]) => state !== 'ok');
  if (failing.length === 0) return json(200, states);
  return json(
    503,
    { ...states, errMsg: `Unavailable: ${failing.map(([name]) => name).join(', ')}.` },
    { 'Retry-After': '1' },
  );
});
