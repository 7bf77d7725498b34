/**
 * End to end over HTTP: `npm run dev` (serverless-offline + the queue poller) started as a user
 * starts it, then the contract, bad input, and a concurrent sale checked through real requests.
 */
import { client, httpApi } from '../helpers/api';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, startStack } from '../helpers/stack';

let server: RunningServer;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  server = await startServer('scripts/dev.ts', { QUEUE_URL: stack.queueUrl });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await stack?.close();
});

async function pool<T>(items: T[], inFlight: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

test('300 customers grab a coupon of 50 with 100 requests in flight: exactly 50 win and 50 rows land', async () => {
  const c = client(httpApi(server.baseUrl));
  const seller = await c.user('conc_seller', 'saler');
  expect((await c.createCoupon(seller, 'conc_seller', { name: 'hot', amount: 50, stock: 1 })).status).toBe(201);
  const customers = Array.from({ length: 300 }, (_, i) => `conc_c${i}`);
  const tokens: string[] = [];
  await pool(customers, 10, async (name) => {
    tokens.push(await c.user(name, 'customer'));
  });

  const statuses = new Map<number, number>();
  await pool(tokens, 100, async (token) => {
    const res = await c.grab(token, 'conc_seller', 'hot');
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  });
  expect(Object.fromEntries(statuses)).toEqual({ 201: 50, 204: 250 });

  await stack.drain(60_000);
  const [rows] = await stack.db.query<any[]>(
    'SELECT COUNT(*) AS n FROM purchases p JOIN coupons c ON c.id = p.coupon_id WHERE c.seller = ?',
    ['conc_seller'],
  );
  expect(Number(rows[0].n)).toBe(50);
  const listed = await c.list(seller, 'conc_seller');
  expect(listed.body.data[0]).toMatchObject({ name: 'hot', amount: 50, left: 0 });
  const [left] = await stack.db.query<any[]>('SELECT `left` FROM coupons WHERE seller = ?', ['conc_seller']);
  expect(left[0].left).toBe(0);
}, 180_000);
