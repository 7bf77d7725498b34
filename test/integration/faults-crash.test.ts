/**
 * Fault: the process dies between the grab script and the queue's answer. A real child process runs
 * the grab handler and is SIGKILLed once the script ran (its outbox entry is in Redis) while its
 * SQS request is still unanswered; the outbox sweeper must then deliver the grab exactly once.
 */
import { config } from '../../lib/config';
import { couponKeys } from '../../lib/keys';
import { services } from '../../lib/services';
import { sweepOutbox } from '../../lib/sweep-outbox';
import { client, inProcessApi } from '../helpers/api';
import {
  blackHole,
  observe,
  replyDroppingProxy,
  runScript,
  type ScriptProcess,
  saleState,
  sleep,
  stopAll,
  type TcpFault,
  waitFor,
} from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'crash_seller';
let stack: Stack;
let sellerToken: string;

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
  sellerToken = await c.user(SELLER, 'saler');
});

afterAll(async () => {
  await stopAll();
  await stack?.close();
});

/** Starts a grab in a child process whose SQS requests go to `endpoint`, and waits for a long time. */
function grabInChild(token: string, name: string, endpoint: TcpFault): ScriptProcess {
  return runScript('test/helpers/grab-in-child.ts', [token, SELLER, name], {
    SQS_ENDPOINT: endpoint.url,
    // The real queue's URL: the SDK talks to SQS_ENDPOINT and names the queue by this URL.
    QUEUE_URL: stack.queueUrl,
    // A send that hangs far longer than the test waits, within a (validated) time budget.
    SQS_SEND_TIMEOUT_MS: '10000',
    HANDLER_TIMEOUT_MS: '25000',
    WARMUP_GRACE_MS: '21000',
    OUTBOX_RESEND_AFTER_MS: '3600000',
    LOG_LEVEL: 'error',
  });
}

/** The grab's outbox entry, once the child's script has run and its SQS request is on the wire. */
async function waitUntilStuckInSend(name: string, customer: string, endpoint: TcpFault, child: ScriptProcess) {
  const entry = await waitFor(
    'the outbox entry and the SQS request of the child',
    async () => {
      if (child.output().includes('statusCode')) throw new Error(`the child finished: ${child.output()}`);
      const value = await stack.redis.hget(couponKeys(SELLER, name).outbox, customer);
      return value !== null && endpoint.bytesIn() > 0 ? value : undefined;
    },
    20_000,
  );
  return { grabbedAtMs: Number(entry.slice(0, entry.indexOf('|'))) };
}

async function sweepWhenDue(grabbedAtMs: number) {
  const { resendAfterMs } = config().outbox;
  await sleep(Math.max(0, grabbedAtMs + resendAfterMs + 50 - Date.now()));
  return sweepOutbox(services(), resendAfterMs);
}

test('a grab killed before SQS answered is re-sent by the sweeper: one row, listed, left equal', async () => {
  const customer = 'crash_customer1';
  const token = await c.user(customer, 'customer');
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'killed', amount: 5, stock: 7 })).status).toBe(201);
  const hole = await blackHole();
  const child = grabInChild(token, 'killed', hole);
  const { grabbedAtMs } = await waitUntilStuckInSend('killed', customer, hole, child);
  await child.kill();
  const killedAt = Date.now();

  // The grab is taken in Redis, pending in the outbox, and nowhere in the queue or MySQL.
  const afterKill = await saleState(stack.db, stack.redis, SELLER, 'killed');
  expect(afterKill).toMatchObject({ rows: 0, mysqlLeft: 5, redisLeft: 4, holders: [customer], pending: [customer] });
  expect(await services().queue.backlog()).toBe(0);

  // Too young: it might belong to a request still sending. Then due: re-sent once.
  expect(await sweepOutbox(services(), config().outbox.resendAfterMs)).toEqual({ resent: 0, failed: 0 });
  expect(await sweepWhenDue(grabbedAtMs)).toEqual({ resent: 1, failed: 0 });
  const resentAfterMs = Date.now() - killedAt;
  await stack.drain();
  const recoveredAfterMs = Date.now() - killedAt;

  const final = await saleState(stack.db, stack.redis, SELLER, 'killed');
  expect(final).toMatchObject({ rows: 1, mysqlLeft: 4, redisLeft: 4, holders: [customer], pending: [] });
  const listed = await c.list(token, customer);
  expect(listed.status).toBe(200);
  expect(listed.body.data).toEqual([{ name: 'killed', seller: SELLER, stock: 7, description: '' }]);
  // Nothing left to re-send.
  expect(await sweepOutbox(services(), 0)).toEqual({ resent: 0, failed: 0 });
  observe('faults-crash: killed before SQS answered', {
    sqsBytesSentBeforeKill: hole.bytesIn(),
    resent: 1,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
    resentAfterMs,
    recoveredAfterMs,
  });
  await hole.close();
});

test('a grab killed after SQS took the message but before the outbox was cleared: the re-send is a harmless duplicate', async () => {
  const customer = 'crash_customer2';
  const token = await c.user(customer, 'customer');
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'accepted', amount: 5, stock: 7 })).status).toBe(201);
  // Keep both copies in the queue until the sweeper has run, so the consumer really sees a duplicate.
  await stack.stopConsumer();
  const sqsPort = Number(new URL(process.env.SQS_ENDPOINT ?? '').port);
  const proxy = await replyDroppingProxy(sqsPort);
  const child = grabInChild(token, 'accepted', proxy);
  const { grabbedAtMs } = await waitUntilStuckInSend('accepted', customer, proxy, child);
  await waitFor('the queue to hold the message', async () => (await services().queue.backlog()) === 1);
  await child.kill();

  expect(await sweepWhenDue(grabbedAtMs)).toEqual({ resent: 1, failed: 0 });
  expect(await services().queue.backlog()).toBe(2);
  stack.startConsumer();
  await stack.drain();

  const final = await saleState(stack.db, stack.redis, SELLER, 'accepted');
  expect(final).toMatchObject({ rows: 1, mysqlLeft: 4, redisLeft: 4, holders: [customer], pending: [] });
  expect((await c.list(token, customer)).body.data).toEqual([
    { name: 'accepted', seller: SELLER, stock: 7, description: '' },
  ]);
  observe('faults-crash: killed after SQS accepted', {
    messagesInQueue: 2,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
  });
  await proxy.close();
});
