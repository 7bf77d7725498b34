import { client, inProcessApi } from '../helpers/api';
import { inParallel, observe, purchasers, registeredCustomers, saleState, statusCounts } from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'load_seller';
const CUSTOMERS = 1000;
const COUPONS = 10;
const AMOUNT = 20;
const IN_FLIGHT = 200;
let stack: Stack;
let sellerToken: string;

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
  sellerToken = await c.user(SELLER, 'saler');
});

afterAll(() => stack?.close());

/** A fixed shuffle (mulberry32), so each run contends the same way and failures replay. */
function shuffled<T>(items: T[], seed = 42): T[] {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

test(`${CUSTOMERS} customers x ${COUPONS} coupons of ${AMOUNT}, ${IN_FLIGHT} in flight: exactly ${COUPONS * AMOUNT} grabs, all persisted`, async () => {
  const names = Array.from({ length: COUPONS }, (_, j) => `load-${j}`);
  for (const name of names) {
    expect((await c.createCoupon(sellerToken, SELLER, { name, amount: AMOUNT, stock: 5 })).status).toBe(201);
  }
  const usersStarted = Date.now();
  const usernames = Array.from({ length: CUSTOMERS }, (_, i) => `load_c${i}`);
  // Registered through lib, a few at a time: the password hash lane takes a few at once.
  const tokens = await registeredCustomers(usernames, 2);
  const usersMs = Date.now() - usersStarted;

  const jobs = shuffled(usernames.flatMap((_, i) => names.map((name) => ({ i, name }))));
  const started = Date.now();
  const results = await inParallel(
    IN_FLIGHT,
    jobs.map(({ i, name }) => async () => {
      const r = await c.grab(tokens[i], SELLER, name);
      return { i, name, status: r.status, reason: r.headers['x-seckill-reason'] };
    }),
  );
  const grabMs = Date.now() - started;

  const granted = results.filter((r) => r.status === 201);
  expect(statusCounts(results.map((r) => r.status))).toEqual({
    201: COUPONS * AMOUNT,
    204: jobs.length - COUPONS * AMOUNT,
  });
  expect(results.filter((r) => r.status === 204).every((r) => r.reason === 'sold-out')).toBe(true);
  for (const name of names) expect(granted.filter((r) => r.name === name)).toHaveLength(AMOUNT);

  const drainStarted = Date.now();
  await stack.drain(60_000);
  const drainMs = Date.now() - drainStarted;
  const totals = { rows: 0, mysqlLeft: 0, redisLeft: 0 };
  for (const name of names) {
    const state = await saleState(stack.db, stack.redis, SELLER, name);
    expect(state).toMatchObject({ rows: AMOUNT, mysqlLeft: 0, redisLeft: 0, pending: [] });
    totals.rows += state.rows;
    totals.mysqlLeft += state.mysqlLeft;
    totals.redisLeft += state.redisLeft;
    // Nothing lost, nothing phantom: the rows are exactly the 201s.
    const winners = granted.filter((r) => r.name === name).map((r) => usernames[r.i] ?? '');
    expect(await purchasers(stack.db, SELLER, name)).toEqual(winners.sort());
    expect(state.holders).toEqual(winners.sort());
  }
  // Read-your-writes: every winner lists exactly the coupons they won.
  const won = new Map<number, string[]>();
  for (const r of granted) won.set(r.i, [...(won.get(r.i) ?? []), r.name]);
  const listings = await inParallel(
    50,
    [...won].map(([i, mine]) => async () => {
      const listed = await c.list(tokens[i], usernames[i] ?? '');
      return { mine: mine.sort(), listed: (listed.body.data as { name: string }[]).map((d) => d.name).sort() };
    }),
  );
  for (const l of listings) expect(l.listed).toEqual(l.mine);

  observe('load: 1000 x 10', {
    customers: CUSTOMERS,
    coupons: COUPONS,
    amountEach: AMOUNT,
    inFlight: IN_FLIGHT,
    requests: jobs.length,
    status201: granted.length,
    status204: jobs.length - granted.length,
    other: results.filter((r) => r.status !== 201 && r.status !== 204).length,
    rows: totals.rows,
    mysqlLeftTotal: totals.mysqlLeft,
    redisLeftTotal: totals.redisLeft,
    winners: won.size,
    usersMs,
    grabMs,
    grabsPerSecond: Math.round(jobs.length / (grabMs / 1000)),
    drainMs,
  });
}, 180_000);

test('one customer, 50 grabs of one coupon at once: exactly one 201', async () => {
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'burst', amount: 5, stock: 5 })).status).toBe(201);
  const token = await c.user('load_burst', 'customer');
  const results = await Promise.all(Array.from({ length: 50 }, () => c.grab(token, SELLER, 'burst')));
  expect(statusCounts(results.map((r) => r.status))).toEqual({ 201: 1, 204: 49 });
  expect(results.filter((r) => r.status === 204).every((r) => r.headers['x-seckill-reason'] === 'already-owned')).toBe(
    true,
  );
  await stack.drain();
  const state = await saleState(stack.db, stack.redis, SELLER, 'burst');
  expect(state).toMatchObject({ rows: 1, mysqlLeft: 4, redisLeft: 4, holders: ['load_burst'], pending: [] });
  observe('load: one customer x 50', {
    requests: 50,
    status201: 1,
    status204: 49,
    rows: state.rows,
    mysqlLeft: state.mysqlLeft,
    redisLeft: state.redisLeft,
  });
});
