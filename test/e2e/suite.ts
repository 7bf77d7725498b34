/**
 * The end-to-end suite, over real HTTP against a server started the way a user starts it: the
 * contract (every row of api.md), the bad-input corpus, and a concurrent sale. Runs against
 * `npm run dev` (serverless-offline) and `npm start` (the standalone server).
 */
import { describeBadInput } from '../contract/bad-input';
import { type ContractTarget, describeContract } from '../contract/contract-suite';
import { describeSaleContract } from '../contract/sale-suite';
import { type Client, client, httpApi } from '../helpers/api';
import { inParallel, statusCounts } from '../helpers/faults';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, startStack } from '../helpers/stack';

export function describeEndToEnd(label: string, script: 'scripts/dev.ts' | 'scripts/start.ts'): void {
  let server: RunningServer;
  let stack: Stack;
  let api: Client;

  beforeAll(async () => {
    stack = await startStack();
    // The server runs its own consumer on this worker's queue.
    server = await startServer(script, { QUEUE_URL: stack.queueUrl });
    api = client(httpApi(server.baseUrl));
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await stack?.close();
  });

  const target = (): ContractTarget => ({ client: () => api, stack: () => stack, transport: 'http' });
  describeContract(label, target);
  describeBadInput(label, target);
  describeSaleContract(label, target);

  test(`${label}: 300 customers grab a coupon of 50 with 100 requests in flight; exactly 50 win and 50 rows land`, async () => {
    const seller = await api.user('conc_seller', 'saler');
    expect((await api.createCoupon(seller, 'conc_seller', { name: 'hot', amount: 50, stock: 1 })).status).toBe(201);
    const tokens = await inParallel(
      10,
      Array.from({ length: 300 }, (_, i) => () => api.user(`conc_c${i}`, 'customer')),
    );

    const grabs = await inParallel(
      100,
      tokens.map((token) => () => api.grab(token, 'conc_seller', 'hot')),
    );
    expect(statusCounts(grabs.map((r) => r.status))).toEqual({ 201: 50, 204: 250 });

    await stack.drain(60_000);
    const [rows] = await stack.db.query<any[]>(
      'SELECT COUNT(*) AS n FROM purchases p JOIN coupons c ON c.id = p.coupon_id WHERE c.seller = ?',
      ['conc_seller'],
    );
    expect(Number(rows[0].n)).toBe(50);
    expect((await api.list(seller, 'conc_seller')).body.data[0]).toMatchObject({ name: 'hot', amount: 50, left: 0 });
    const [left] = await stack.db.query<any[]>('SELECT `left` FROM coupons WHERE seller = ?', ['conc_seller']);
    expect(left[0].left).toBe(0);
  }, 180_000);

  test(`${label}: after Redis loses its data, the next requests rebuild it from MySQL, selling nothing twice`, async () => {
    const seller = await api.user('cold_seller', 'saler');
    const [alice, bob, carol] = await Promise.all(['cold_a', 'cold_b', 'cold_c'].map((n) => api.user(n, 'customer')));
    expect((await api.createCoupon(seller, 'cold_seller', { name: 'two', amount: 2, stock: 7 })).status).toBe(201);
    expect((await api.grab(alice, 'cold_seller', 'two')).status).toBe(201);
    await stack.drain(30_000);

    await stack.redis.flushdb();
    // The first requests find the cache cold: the grab handler (no MySQL of its own) has it rebuilt.
    const [again, other] = await Promise.all([
      api.grab(alice, 'cold_seller', 'two'),
      api.grab(bob, 'cold_seller', 'two'),
    ]);
    expect(again.status).toBe(204);
    expect(again.headers['x-seckill-reason']).toBe('already-owned');
    expect(other.status).toBe(201);
    const last = await api.grab(carol, 'cold_seller', 'two');
    expect(last.headers['x-seckill-reason']).toBe('sold-out');
    expect((await api.list(alice, 'cold_a')).body.data).toEqual([
      { name: 'two', seller: 'cold_seller', stock: 7, description: '' },
    ]);
    await stack.drain(30_000);
    expect((await api.list(seller, 'cold_seller')).body.data[0]).toMatchObject({ name: 'two', left: 0 });
    const [rows] = await stack.db.query<any[]>('SELECT `left` FROM coupons WHERE seller = ?', ['cold_seller']);
    expect(rows[0].left).toBe(0);
  }, 120_000);
}
