/**
 * Fault: Redis fails over to a replica that missed the last writes. A real primary and replica
 * (private redis-servers), reached through a proxy that plays the part of the endpoint a failover
 * moves. The replica's link is paused (SIGSTOP), the primary is killed, the replica promoted
 * (REPLICAOF NO ONE) and the proxy switched to it. With REDIS_WAIT_REPLICAS=1 a grab answers 201
 * only once the replica holds it, so every 201 keeps its row and no coupon is sold twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { couponKeys } from '../../lib/keys';
import { type ApiResponse, client, inProcessApi, untilAnswered } from '../helpers/api';
import {
  observe,
  privateRedis,
  purchasers,
  quietLogs,
  type ServerProcess,
  type SwitchableProxy,
  saleState,
  statusCounts,
  stopAll,
  switchableProxy,
  waitFor,
} from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'fo_seller';
let primary: ServerProcess;
let replica: ServerProcess;
let proxy: SwitchableProxy;
let stack: Stack;
const logs = quietLogs();

function admin(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false });
  r.on('error', () => {});
  return r;
}

beforeAll(async () => {
  primary = await privateRedis();
  await primary.start();
  replica = await privateRedis(['--replicaof', '127.0.0.1', '0']);
  await replica.start();
  const r = admin(replica.port);
  await r.call('REPLICAOF', '127.0.0.1', String(primary.port));
  await waitFor('the replica to sync', async () => /master_link_status:up/.test(await r.info('replication')));
  r.disconnect();
  proxy = await switchableProxy(primary.port);
  process.env.REDIS_URL = `redis://127.0.0.1:${proxy.port}/0`;
  process.env.REDIS_WAIT_REPLICAS = '1';
  process.env.REDIS_WAIT_TIMEOUT_MS = '100';
  stack = await startStack({ visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
  stack.startConsumer();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await stopAll();
  logs.restore();
});

test('failover to a replica that missed writes: every 201 keeps its row, nothing is sold twice', async () => {
  const sellerToken = await c.user(SELLER, 'saler');
  const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => c.user(`fo_c${i}`, 'customer')));
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'fo', amount: 20, stock: 3 })).status).toBe(201);
  const grab = (i: number) => c.grab(tokens[i], SELLER, 'fo');
  const answers: { customer: number; res: ApiResponse }[] = [];

  // The replica acknowledges: grabs are confirmed.
  for (const i of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) answers.push({ customer: i, res: await grab(i) });
  expect(answers.map((a) => a.res.status)).toEqual(Array(10).fill(201));

  // The replica's link pauses: it misses every write from now on. No grab can be made durable, so
  // none is confirmed: each is released on the primary and answered 503 with Retry-After.
  replica.freeze();
  const paused = await Promise.all([10, 11, 12, 13, 14].map(async (i) => ({ customer: i, res: await grab(i) })));
  answers.push(...paused);
  expect(paused.map((a) => a.res.status)).toEqual(Array(5).fill(503));
  for (const a of paused) expect(Number(a.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  const onPrimary = admin(primary.port);
  expect(Number(await onPrimary.hget(couponKeys(SELLER, 'fo').info, 'left'))).toBe(10);
  onPrimary.disconnect();

  // The primary dies; the replica, still behind, is promoted; the endpoint moves to it.
  await primary.kill();
  replica.thaw();
  const promoted = admin(replica.port);
  await promoted.call('REPLICAOF', 'NO', 'ONE');
  promoted.disconnect();
  proxy.switchTo(replica.port);
  const failedOverAt = Date.now();

  // Everyone who has nothing yet tries until answered: exactly the 10 coupons left are sold.
  const after = await Promise.all(
    Array.from({ length: 30 }, (_, k) => k + 10).map(async (i) => ({
      customer: i,
      res: await untilAnswered(() => grab(i)),
    })),
  );
  answers.push(...after);
  const recoveredInMs = Date.now() - failedOverAt;
  expect(statusCounts(after.map((a) => a.res.status))).toEqual({ 201: 10, 204: 20 });
  await stack.drain();

  const granted = answers
    .filter((a) => a.res.status === 201)
    .map((a) => `fo_c${a.customer}`)
    .sort();
  expect(granted).toHaveLength(20);
  expect(await purchasers(stack.db, SELLER, 'fo')).toEqual(granted);
  const final = await saleState(stack.db, stack.redis, SELLER, 'fo');
  expect(final).toMatchObject({ rows: 20, mysqlLeft: 0, redisLeft: 0 });
  observe('faults-failover', {
    confirmedBeforePause: 10,
    refusedWhilePaused: paused.length,
    grantedAfterFailover: after.filter((a) => a.res.status === 201).length,
    total201: granted.length,
    rows: final.rows,
    oversold: Math.max(0, final.rows - 20),
    lost: 0,
    recoveredInMs,
  });
  await sleep(0);
});
