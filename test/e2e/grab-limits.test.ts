/**
 * Grab rate limits over HTTP, with the limits configured, through `npm start` and `npm run dev`:
 * the 429 and its Retry-After, and the client address taken from the socket (every request here
 * comes from 127.0.0.1, so customers share the per-address limit; loopback is exempt only from
 * login throttling).
 */
import { expectJson } from '../contract/contract-suite';
import { type Client, client, httpApi } from '../helpers/api';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, sleep, startStack } from '../helpers/stack';

describe.each([
  ['npm start', 'scripts/start.ts'],
  ['serverless offline', 'scripts/dev.ts'],
] as const)('grab rate limits through %s', (label, script) => {
  let server: RunningServer;
  let stack: Stack;
  let api: Client;

  beforeAll(async () => {
    stack = await startStack();
    server = await startServer(script, {
      QUEUE_URL: stack.queueUrl,
      GRAB_RATE_PER_CUSTOMER: '1',
      GRAB_BURST_PER_CUSTOMER: '2',
      GRAB_RATE_PER_ADDRESS: '1',
      GRAB_BURST_PER_ADDRESS: '4',
    });
    api = client(httpApi(server.baseUrl));
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await stack?.close();
  });

  test(`${label}: over a customer's limit, then over the address's limit: 429 with Retry-After, nothing taken`, async () => {
    const prefix = label === 'npm start' ? 'gl_s' : 'gl_d';
    const seller = await api.user(`${prefix}_seller`, 'saler');
    const [a, b, c] = (await Promise.all(['a', 'b', 'c'].map((n) => api.user(`${prefix}_${n}`, 'customer')))) as [
      string,
      string,
      string,
    ];
    expectJson(await api.createCoupon(seller, `${prefix}_seller`, { name: 'limited', amount: 10, stock: 1 }), 201, {
      errMsg: '',
    });
    const grab = (token: string) => api.grab(token, `${prefix}_seller`, 'limited');
    // a: two at once are admitted (201, then already-owned), the third is refused.
    expect((await grab(a)).status).toBe(201);
    expect((await grab(a)).status).toBe(204);
    const refused = await grab(a);
    expectJson(refused, 429, { errMsg: 'Too many requests.' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // The address (127.0.0.1 for everyone here) admitted 2 of its 4 and refused the third; b takes
    // 2 more; c is over the address's limit although c never asked before.
    expect((await grab(b)).status).toBe(201);
    expect((await grab(b)).status).toBe(204);
    const overAddress = await grab(c);
    expectJson(overAddress, 429, { errMsg: 'Too many requests.' });
    const listing = (await api.list(seller, `${prefix}_seller`)).body.data[0];
    expect(listing).toMatchObject({ amount: 10, left: 8 });
    await sleep(Number(overAddress.headers['retry-after']) * 1000);
    expect((await grab(c)).status).toBe(201);
    const stats = await api.api.request('GET', `/api/users/${prefix}_seller/coupons/limited/stats`, {
      headers: { authorization: seller },
    });
    expect(stats.body.outcomes['rate-limited']).toBe(2);
  }, 60_000);
});
