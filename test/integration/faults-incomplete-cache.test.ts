/**
 * Faults where Redis is incomplete while it looks warm, and messages that outlive a rebuild. The
 * consumer may drop a purchase message only when a tombstone says its grab was released; anything
 * else is persisted and put back into Redis. A rebuild counts the grabs waiting in the dead-letter
 * queue, and a message that can never succeed goes there at once instead of holding a rebuild's
 * drain hostage.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { couponKeys } from '../../lib/keys';
import { services } from '../../lib/services';
import { rebuildHere } from '../../lib/warm-up';
import { client, inProcessApi, untilAnswered } from '../helpers/api';
import { observe, purchasers, quietLogs, saleState, statusCounts, waitFor } from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
let stack: Stack;
const logs = quietLogs();

beforeAll(async () => {
  stack = await startStack({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
});

afterAll(async () => {
  await stack?.close();
  logs.restore();
});

beforeEach(async () => {
  await stack.reset();
  logs.lines.length = 0;
});

async function sale(seller: string, amount: number, customers: number) {
  const sellerToken = await c.user(seller, 'saler');
  const tokens = await Promise.all(Array.from({ length: customers }, (_, i) => c.user(`${seller}_c${i}`, 'customer')));
  expect((await c.createCoupon(sellerToken, seller, { name: 'x', amount, stock: 2 })).status).toBe(201);
  return { tokens, grab: (i: number) => c.grab(tokens[i], seller, 'x') };
}

/** Moves every message from one queue to another (a redrive, or its reverse). */
async function moveAll(from: string, to: string): Promise<number> {
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
    );
    if (Messages.length === 0) return moved;
    for (const m of Messages) {
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: to, MessageBody: m.Body ?? '' }));
      await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: from, ReceiptHandle: m.ReceiptHandle ?? '' }));
      moved++;
    }
  }
}

test('a holder deleted while the cache stays warm: the message is persisted and Redis repaired, not dropped', async () => {
  const { grab, tokens } = await sale('hd', 5, 10);
  expect((await Promise.all([0, 1, 2].map(grab))).map((r) => r.status)).toEqual([201, 201, 201]);
  // Redis loses one confirmed grab (a shard restored from an older snapshot) but stays warm.
  const k = couponKeys('hd', 'x');
  await stack.redis.srem(k.holders, 'hd_c1');
  await stack.redis.hincrby(k.info, 'left', 1);
  await stack.redis.zremrangebyrank('user:{hd_c1}:held', 0, -1);
  stack.startConsumer();
  await stack.drain();

  expect(await purchasers(stack.db, 'hd', 'x')).toEqual(['hd_c0', 'hd_c1', 'hd_c2']);
  expect(await saleState(stack.db, stack.redis, 'hd', 'x')).toMatchObject({ rows: 3, mysqlLeft: 2, redisLeft: 2 });
  expect(logs.lines.join('\n')).toContain('grab missing from Redis put back');
  // The customer sees it again, and cannot buy it twice; the rest sells out at exactly the amount.
  expect((await c.list(tokens[1], 'hd_c1')).body.data).toHaveLength(1);
  expect((await grab(1)).headers['x-seckill-reason']).toBe('already-owned');
  const rest = await Promise.all([3, 4, 5, 6, 7, 8, 9].map(grab));
  expect(statusCounts(rest.map((r) => r.status))).toEqual({ 201: 2, 204: 5 });
  await stack.drain();
  expect(await saleState(stack.db, stack.redis, 'hd', 'x')).toMatchObject({ rows: 5, mysqlLeft: 0, redisLeft: 0 });
  observe('faults-incomplete-cache: holder deleted while warm', { confirmed: 3, rows: 3, lost: 0, repaired: 1 });
});

test('a confirmed grab in the dead-letter queue during a rebuild is not resold, and persists when redriven', async () => {
  const { grab, tokens } = await sale('dl', 3, 10);
  expect((await Promise.all([0, 1].map(grab))).map((r) => r.status)).toEqual([201, 201]);
  // Both messages end in the dead-letter queue (MySQL was down longer than the redrive window).
  expect(await moveAll(stack.queueUrl, stack.dlqUrl)).toBe(2);
  // Redis then loses everything; the rebuild finds MySQL without these two purchases.
  await stack.redis.flushdb();
  expect(await rebuildHere()).toBe('rebuilt');
  expect(await saleState(stack.db, stack.redis, 'dl', 'x')).toMatchObject({ rows: 0, mysqlLeft: 3, redisLeft: 1 });
  expect((await grab(0)).headers['x-seckill-reason']).toBe('already-owned');
  // One coupon is left, not three.
  const rest = await Promise.all([2, 3, 4, 5].map(grab));
  expect(statusCounts(rest.map((r) => r.status))).toEqual({ 201: 1, 204: 3 });

  stack.startConsumer();
  // The operator redrives the dead-letter queue (`aws sqs start-message-move-task`).
  expect(await moveAll(stack.dlqUrl, stack.queueUrl)).toBe(2);
  await stack.drain();
  const rows = await purchasers(stack.db, 'dl', 'x');
  expect(rows).toHaveLength(3);
  expect(rows.slice(0, 2)).toEqual(['dl_c0', 'dl_c1']);
  expect(await saleState(stack.db, stack.redis, 'dl', 'x')).toMatchObject({ rows: 3, mysqlLeft: 0, redisLeft: 0 });
  expect((await c.list(tokens[1], 'dl_c1')).body.data).toHaveLength(1);
  observe('faults-incomplete-cache: dead letters during a rebuild', {
    deadLettered: 2,
    soldAfterRebuild: 1,
    rows: 3,
    oversold: 0,
    lost: 0,
  });
});

test('a poison message in the queue does not hold a rebuild hostage', async () => {
  const { grab } = await sale('pr', 5, 6);
  expect((await grab(0)).status).toBe(201);
  stack.startConsumer();
  await stack.drain();
  await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: '{"not":"a purchase"' }));
  await stack.redis.flushdb();
  const started = Date.now();
  const answers = await Promise.all([1, 2, 3].map((i) => untilAnswered(() => grab(i))));
  const rebuiltInMs = Date.now() - started;
  expect(answers.map((r) => r.status)).toEqual([201, 201, 201]);
  // The grace (1.5 s here) and one drain, not the drain timeout (10 s) nor the redrive count.
  expect(rebuiltInMs).toBeLessThan(8000);
  await waitFor('the poison in the dead-letter queue', async () => (await services().queue.deadLetters()).length === 1);
  await stack.drain();
  expect(await saleState(stack.db, stack.redis, 'pr', 'x')).toMatchObject({ rows: 4, mysqlLeft: 1, redisLeft: 1 });
  observe('faults-incomplete-cache: poison during a rebuild', { rebuiltInMs, poisonDeadLettered: 1 });
});
