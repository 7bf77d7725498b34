/**
 * Fault: the Redis server dies mid-sale and comes back empty (a restart without persistence, as a
 * failover to a fresh node). This file's whole stack runs on a private redis-server that the test
 * SIGKILLs and restarts. While it is down a grab answers 503 and takes nothing; once it is back the
 * first requests rebuild it from MySQL (the Lua scripts reload themselves), without reselling.
 */
import { services } from '../../lib/services';
import { client, inProcessApi, untilAnswered } from '../helpers/api';
import {
  observe,
  privateRedis,
  quietLogs,
  type ServerProcess,
  saleState,
  sleep,
  statusCounts,
  stopAll,
  waitFor,
} from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'restart_seller';
let redis: ServerProcess;
let stack: Stack;
const logs = quietLogs();

beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  process.env.REDIS_URL = `redis://127.0.0.1:${redis.port}/0`;
  stack = await startStack({ visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
  stack.startConsumer();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await stopAll();
  logs.restore();
});

test('redis-server killed and restarted empty mid-sale: 503 while down, one rebuild after the drain, no resale', async () => {
  const sellerToken = await c.user(SELLER, 'saler');
  const customers = await Promise.all(Array.from({ length: 16 }, (_, i) => c.user(`restart_c${i}`, 'customer')));
  const token = (i: number) => customers[i] ?? '';
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'r1', amount: 10, stock: 9 })).status).toBe(201);
  const grab = (i: number) => c.grab(token(i), SELLER, 'r1');

  expect((await Promise.all([0, 1, 2, 3].map(grab))).map((r) => r.status)).toEqual([201, 201, 201, 201]);
  await stack.drain();
  await stack.stopConsumer();
  expect((await Promise.all([4, 5].map(grab))).map((r) => r.status)).toEqual([201, 201]);

  await redis.kill();
  const killedAt = Date.now();
  const whileDown = await Promise.all([6, 7].map(grab));
  const refusedInMs = Date.now() - killedAt;
  expect(whileDown.map((r) => r.status)).toEqual([503, 503]);
  expect(whileDown.every((r) => typeof r.body.errMsg === 'string' && r.body.errMsg !== '')).toBe(true);

  const restartMs = await redis.start();
  const restartedAt = Date.now();
  // The application's client reconnects on its own (a grab meanwhile would get a 503, taking nothing).
  await waitFor('the Redis client to reconnect', () =>
    services()
      .cache.ping()
      .then(() => true)
      .catch(() => false),
  );
  const reconnectedInMs = Date.now() - restartedAt;
  // Everyone left tries, the two refused ones included, while the queue still holds two grabs.
  const after = Promise.all([6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((i) => untilAnswered(() => grab(i))));
  await sleep(1000);
  stack.startConsumer();
  const statuses = (await after).map((r) => r.status);
  const recoveredInMs = Date.now() - restartedAt;
  expect(statusCounts(statuses)).toEqual({ 201: 4, 204: 6 });
  // The queued grabs were not lost with Redis: their owners still hold the coupon (asked once the
  // one second of sold-out memory api.md allows is over, so the exact reason comes).
  await sleep(1100);
  expect((await grab(4)).headers['x-seckill-reason']).toBe('already-owned');
  expect((await c.list(token(5), 'restart_c5')).body.data).toEqual([
    { name: 'r1', seller: SELLER, stock: 9, description: '' },
  ]);
  await stack.drain();

  const final = await saleState(stack.db, stack.redis, SELLER, 'r1');
  expect(final).toMatchObject({ rows: 10, mysqlLeft: 0, redisLeft: 0, pending: [] });
  expect(final.holders).toHaveLength(10);
  observe('faults-redis-restart', {
    amount: 10,
    grantedBeforeKill: 6,
    queuedAtKill: 2,
    refusedWhileDown: whileDown.length,
    refusedInMs,
    redisRestartMs: restartMs,
    reconnectedInMs,
    grantedAfterRestart: statuses.filter((s) => s === 201).length,
    total201: 6 + statuses.filter((s) => s === 201).length,
    recoveredInMs,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
  });
});
