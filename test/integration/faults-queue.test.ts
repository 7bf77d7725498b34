/**
 * Fault: the queue is unavailable. The whole stack of this file runs on a private SQS emulator
 * (a child process) that the tests stop, freeze (SIGSTOP) and restart; a reply-dropping proxy in
 * front of it loses the queue's answers. A grab must never answer 201 unless its message is in the
 * queue, and a 503 must leave no trace: not in Redis, not in the customer's list, not in MySQL.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { verifyToken } from '../../lib/auth/tokens';
import { config } from '../../lib/config';
import { Unavailable } from '../../lib/errors';
import { grabCoupon } from '../../lib/grab-coupon';
import { couponKeys } from '../../lib/keys';
import { type Services, services } from '../../lib/services';
import { SqsPurchaseQueue } from '../../lib/stores/sqs-purchase-queue';
import { ensureQueues } from '../../scripts/queue/setup';
import { client, inProcessApi } from '../helpers/api';
import {
  observe,
  privateSqs,
  replyDroppingProxy,
  type ServerProcess,
  saleState,
  sleep,
  stopAll,
  waitFor,
} from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'queue_seller';
const QUEUE_OPTIONS = { visibilityTimeoutSeconds: 2, maxReceiveCount: 5 };
let sqs: ServerProcess;
let stack: Stack;
let sellerToken: string;

beforeAll(async () => {
  sqs = await privateSqs();
  await sqs.start();
  process.env.SQS_ENDPOINT = `http://127.0.0.1:${sqs.port}`;
  stack = await startStack(QUEUE_OPTIONS);
  stack.startConsumer();
  sellerToken = await c.user(SELLER, 'saler');
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await stopAll();
});

/** Everything Redis holds about one coupon and one customer's list. */
async function redisView(name: string, customer: string) {
  const k = couponKeys(SELLER, name);
  const [info, holders, outbox, held] = await Promise.all([
    stack.redis.hgetall(k.info),
    stack.redis.smembers(k.holders),
    stack.redis.hgetall(k.outbox),
    stack.redis.zrange(`user:{${customer}}:held`, 0, -1),
  ]);
  return { info, holders: holders.sort(), outbox, held };
}

async function customers(prefix: string, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => c.user(`${prefix}${i}`, 'customer')));
}

test('queue stopped: the grab answers 503 and takes nothing; after a restart grabs work again', async () => {
  const [t0, t1, t2] = await customers('qdown_', 3);
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'down', amount: 2, stock: 1 })).status).toBe(201);
  expect((await c.grab(t0, SELLER, 'down')).status).toBe(201);
  await stack.drain();
  const before = await redisView('down', 'qdown_1');

  await sqs.stop();
  const stoppedAt = Date.now();
  const refused = await c.grab(t1, SELLER, 'down');
  const refusedInMs = Date.now() - stoppedAt;
  expect(refused.status).toBe(503);
  expect(refused.body.errMsg).toMatch(/Nothing was taken/);
  expect(await redisView('down', 'qdown_1')).toEqual(before);
  expect((await c.list(t1, 'qdown_1')).status).toBe(204);
  const health = await c.health();
  expect(health.status).toBe(503);
  expect(health.body).toMatchObject({ queue: 'unavailable', redis: 'ok', mysql: 'ok' });
  expect(health.headers['retry-after']).toBe('1');

  // The emulator keeps nothing in memory across a restart: create the queues again, as a deploy would.
  const restartMs = await sqs.start();
  await ensureQueues(stack.sqs, {
    queueName: config().sqs.queueName,
    dlqName: `${config().sqs.queueName}-dlq`,
    ...QUEUE_OPTIONS,
  });
  const restartedAt = Date.now();
  const retried = await waitFor('a grab to succeed after the restart', async () => {
    const r = await c.grab(t1, SELLER, 'down');
    return r.status === 201 ? r : undefined;
  });
  const recoveredInMs = Date.now() - restartedAt;
  expect(retried.status).toBe(201);
  expect((await c.grab(t2, SELLER, 'down')).headers['x-seckill-reason']).toBe('sold-out');
  await stack.drain();
  const final = await saleState(stack.db, stack.redis, SELLER, 'down');
  expect(final).toMatchObject({ rows: 2, mysqlLeft: 0, redisLeft: 0, holders: ['qdown_0', 'qdown_1'], pending: [] });
  observe('faults-queue: stopped', {
    status: refused.status,
    refusedInMs,
    emulatorRestartMs: restartMs,
    recoveredInMs,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
  });
});

test('queue frozen: the send times out, the grab is released (503), and a late message changes nothing', async () => {
  const [t0, t1] = await customers('qfrozen_', 2);
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'frozen', amount: 1, stock: 1 })).status).toBe(201);
  await stack.stopConsumer();
  const before = await redisView('frozen', 'qfrozen_0');

  sqs.freeze();
  const frozenAt = Date.now();
  // Thawed in any case, even if the grab never returned.
  const thawLater = setTimeout(() => sqs.thaw(), 15_000);
  const refused = await c.grab(t0, SELLER, 'frozen');
  clearTimeout(thawLater);
  sqs.thaw();
  const refusedInMs = Date.now() - frozenAt;
  expect(refused.status).toBe(503);
  expect(await redisView('frozen', 'qfrozen_0')).toEqual(before);

  // Thawed, the emulator may still act on the requests the grab gave up on.
  await sleep(1000);
  const lateMessages = await services().queue.backlog();
  stack.startConsumer();
  await stack.drain();
  const afterLate = await saleState(stack.db, stack.redis, SELLER, 'frozen');
  expect(afterLate).toMatchObject({ rows: 0, mysqlLeft: 1, redisLeft: 1, holders: [], pending: [] });

  expect((await c.grab(t1, SELLER, 'frozen')).status).toBe(201);
  await stack.drain();
  const final = await saleState(stack.db, stack.redis, SELLER, 'frozen');
  expect(final).toMatchObject({ rows: 1, mysqlLeft: 0, redisLeft: 0, holders: ['qfrozen_1'] });
  observe('faults-queue: frozen', {
    status: refused.status,
    refusedInMs,
    lateMessages,
    rowsFromLateMessages: afterLate.rows,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
  });
});

describe('queue reply lost: SQS took the message, the grab never heard back', () => {
  /** Services whose queue answers are thrown away on the way back; a send gives up after `timeoutMs`. */
  async function lossyServices(timeoutMs: number): Promise<Services> {
    const proxy = await replyDroppingProxy(sqs.port);
    const lossy = new SQSClient({
      region: 'us-east-1',
      endpoint: proxy.url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, throwOnRequestTimeout: true },
    });
    return { ...services(), queue: new SqsPurchaseQueue(lossy, stack.queueUrl, stack.dlqUrl) };
  }

  async function grabThrough(s: Services, token: string | undefined, name: string) {
    const caller = await verifyToken(token, config().auth.jwtSecret);
    return grabCoupon(s, caller, SELLER, name).catch((e: unknown) => e);
  }

  test('with the consumer running, the message is persisted, so the grab stands: 201, one row, left equal', async () => {
    const [t0] = await customers('qlost_', 1);
    expect((await c.createCoupon(sellerToken, SELLER, { name: 'lost', amount: 3, stock: 1 })).status).toBe(201);
    // The send waits long enough for the running consumer to take the message first.
    const outcome = await grabThrough(await lossyServices(4000), t0, 'lost');
    await stack.drain();
    const final = await saleState(stack.db, stack.redis, SELLER, 'lost');
    // Either answer would be consistent only with the matching state; the consumer saw the message first.
    expect(outcome).toBe('granted');
    expect(final).toMatchObject({ rows: 1, mysqlLeft: 2, redisLeft: 2, holders: ['qlost_0'], pending: [] });
    expect((await c.list(t0, 'qlost_0')).body.data).toEqual([
      { name: 'lost', seller: SELLER, stock: 1, description: '' },
    ]);
    observe('faults-queue: reply lost, consumer running', {
      outcome,
      rows: final.rows,
      mysqlLeft: final.mysqlLeft,
      redisLeft: final.redisLeft,
    });
  });

  test('with the consumer stopped, the grab is released (503) and its message is dropped: no row', async () => {
    const [t0] = await customers('qlost2_', 1);
    expect((await c.createCoupon(sellerToken, SELLER, { name: 'lost2', amount: 3, stock: 1 })).status).toBe(201);
    await stack.stopConsumer();
    const outcome = await grabThrough(await lossyServices(1000), t0, 'lost2');
    expect(outcome).toBeInstanceOf(Unavailable);
    expect((outcome as Unavailable).status).toBe(503);
    expect(await services().queue.backlog()).toBe(1);
    stack.startConsumer();
    await stack.drain();
    const final = await saleState(stack.db, stack.redis, SELLER, 'lost2');
    expect(final).toMatchObject({ rows: 0, mysqlLeft: 3, redisLeft: 3, holders: [], pending: [] });
    expect((await c.list(t0, 'qlost2_0')).status).toBe(204);
    observe('faults-queue: reply lost, consumer stopped', {
      status: 503,
      messagesInQueue: 1,
      rows: final.rows,
      mysqlLeft: final.mysqlLeft,
      redisLeft: final.redisLeft,
    });
  });
});
