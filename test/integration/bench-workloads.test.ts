/**
 * The benchmark's workloads and invariants, at a small size, in process against this worker's
 * stores: each workload keeps every invariant, the plan logs in on every iteration, and the checks
 * do catch a store that disagrees with the answers (a purchase lost from MySQL).
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { config } from '../../lib/config';
import { runInProcess } from '../../scripts/bench/load';
import { drain, type Stack } from '../../scripts/bench/stack';
import { classic, hot, originalPlan, type Sizes, verify } from '../../scripts/bench/workloads';
import { emptyStores as resetData } from '../../scripts/lib/stack';
import { startStack, type Stack as TestStack } from '../helpers/stack';

const sizes: Sizes = {
  sellers: 2,
  couponsPerSeller: 2,
  customers: 25,
  hotCustomers: 30,
  hotAmount: 10,
  inflight: 8,
  planCustomers: 5,
};
let stores: TestStack;
let bench: Stack;

beforeAll(async () => {
  stores = await startStack();
  bench = {
    root: join(__dirname, '..', '..'),
    logDir: '',
    sqs: stores.sqs,
    queueUrl: stores.queueUrl,
    dlqUrl: stores.dlqUrl,
    admin: stores.redis as Redis,
    redisUrl: config().redis.url,
    database: config().mysql.database,
    redisPid: undefined,
  };
});
afterAll(() => stores.close());

test('classic: every customer lists, grabs and lists every coupon; every invariant holds', async () => {
  await resetData(bench);
  const w = await classic(sizes);
  const load = await runInProcess(w);
  expect(load).toMatchObject({ requests: 25 * 4 * 3, completed: true });
  expect(load.statuses['201']).toBe(4 * 20);
  expect(await verify(bench, w, true)).toMatchObject({ failures: [] });
}, 60_000);

test('hot coupon, then sold out: exactly the amount granted, then none', async () => {
  await resetData(bench);
  const w = await hot(sizes);
  expect((await runInProcess(w)).statuses).toEqual({ 201: 10, 204: 20 });
  expect(await verify(bench, w, true)).toMatchObject({ failures: [] });
  const soldOut = await hot(sizes, 2, w.ledger);
  expect((await runInProcess(soldOut)).statuses).toEqual({ 204: 60 });
  expect(await verify(bench, soldOut, true)).toMatchObject({ failures: [] });
}, 60_000);

test('the original plan logs in on every iteration and sells every coupon exactly', async () => {
  await resetData(bench);
  const w = await originalPlan(sizes);
  const load = await runInProcess(w);
  // 5 customers x 4 coupons = 20 rows over 8 virtual users: 3 iterations each, the last rows repeat.
  expect(load.byKind.login?.count).toBe(24);
  expect(load.statuses['201']).toBe(4 * 5);
  expect(await verify(bench, w, true)).toMatchObject({ failures: [] });
}, 60_000);

test('the checks catch a purchase missing from MySQL', async () => {
  await resetData(bench);
  const w = await hot(sizes);
  await runInProcess(w);
  expect((await drain(bench, true)).ok).toBe(true);
  await stores.db.query('DELETE FROM purchases LIMIT 1');
  const { failures } = await verify(bench, w, true);
  expect(failures.join('\n')).toContain('MySQL holds 9 purchases, expected exactly 10');
}, 60_000);
