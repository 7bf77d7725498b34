/**
 * The SQS consumer (functions/persist-purchases.ts) with real MySQL, real Redis and a real SQS
 * endpoint: messages go through the queue, the poller hands batches to the real handler and deletes
 * only the records not reported in `batchItemFailures`; the redrive policy moves poison to the DLQ.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createPool, type RowDataPacket } from 'mysql2/promise';
import { handler } from '../../functions/persist-purchases';
import { createRedis } from '../../lib/clients/redis';
import { persistPurchases } from '../../lib/persist-purchases';
import { services } from '../../lib/services';
import { MysqlDatabase } from '../../lib/stores/mysql-database';
import { RedisSaleCache } from '../../lib/stores/redis-sale-cache';
import type { Coupon, PurchaseMessage } from '../../lib/stores/types';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/events';
import { type Stack, startStack } from '../helpers/stack';

const MAX_RECEIVE_COUNT = 2;
let stack: Stack;

let consoleError: jest.SpiedFunction<typeof console.error>;

beforeAll(async () => {
  stack = await startStack({ visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVE_COUNT });
});
afterAll(() => stack?.close());

beforeEach(async () => {
  await stack.reset();
  // A warm (empty) cache, as after the handlers' warm-up: the consumer can then tell released grabs.
  await services().cache.restore(await services().db.snapshot());
  // The logger writes warnings and errors here; poison messages are expected to log, so keep them for asserts.
  consoleError = jest.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => consoleError.mockRestore());

/** The messages of the error-level lines the logger wrote during this test. */
function loggedErrors(): string[] {
  return consoleError.mock.calls
    .map(([line]) => {
      try {
        return JSON.parse(String(line)) as { level?: string; message?: string };
      } catch {
        return {};
      }
    })
    .filter((l) => l.level === 'error')
    .map((l) => String(l.message));
}

async function createCoupon(amount: number, name = 'c1'): Promise<Coupon> {
  const seller = `s${randomUUID().slice(0, 8)}`;
  const coupon = await services().db.insertCoupon(seller, { name, amount, stock: 10, description: '' });
  if (!coupon) throw new Error('coupon not created');
  await services().cache.addCoupon(coupon);
  return coupon;
}

/** A grab as the grab handler makes it: taken in Redis, then described by its queue message. */
async function grab(coupon: Coupon, username: string): Promise<PurchaseMessage> {
  const grabbedAtMs = Date.now();
  const requestId = randomUUID();
  const result = await services().cache.grab(coupon.seller, coupon.name, username, requestId, grabbedAtMs);
  if (result.outcome !== 'granted') throw new Error(`grab of ${username}: ${result.outcome}`);
  await services().cache.confirm(coupon.seller, coupon.name, username);
  return {
    couponId: coupon.id,
    seller: coupon.seller,
    name: coupon.name,
    username,
    grabbedAt: new Date(grabbedAtMs).toISOString(),
    requestId,
  };
}

const body = (m: PurchaseMessage | string) => (typeof m === 'string' ? m : JSON.stringify(m));

async function send(...messages: (PurchaseMessage | string)[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    const { Failed = [] } = await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queueUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), MessageBody: body(m) })),
      }),
    );
    expect(Failed).toEqual([]);
  }
}

async function invoke(records: SQSRecord[] | SQSEvent): Promise<string[]> {
  const event = Array.isArray(records) ? sqsEvent(records) : records;
  const result = (await handler(event, lambdaContext('persistPurchases', 30_000))) as SQSBatchResponse;
  return result.batchItemFailures.map((f) => f.itemIdentifier);
}

async function buyers(couponId: number): Promise<string[]> {
  const [rows] = await stack.db.query<RowDataPacket[]>(
    'SELECT username FROM purchases WHERE coupon_id = ? ORDER BY username',
    [couponId],
  );
  return rows.map((r) => r.username as string);
}

async function mysqlLeft(couponId: number): Promise<number> {
  const [rows] = await stack.db.query<RowDataPacket[]>('SELECT `left` FROM coupons WHERE id = ?', [couponId]);
  return Number(rows[0]?.left);
}

async function redisLeft(coupon: Coupon): Promise<number> {
  const [listed] = await services().cache.sellerCoupons(coupon.seller, 0, 1);
  return Number(listed?.left);
}

async function purchaseCount(): Promise<number> {
  const [rows] = await stack.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM purchases');
  return Number(rows[0]?.n);
}

/** Receives from the DLQ until `count` messages arrived (or the deadline passed). */
async function deadLetters(count: number, timeoutMs = 15_000) {
  const received: { body: string; receiveCount: number }[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < count && Date.now() < deadline) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    for (const m of Messages) {
      received.push({ body: m.Body ?? '', receiveCount: Number(m.Attributes?.ApproximateReceiveCount) });
    }
  }
  return received;
}

describe('through the real queue', () => {
  test('a batch is persisted, each coupon losing exactly the rows inserted', async () => {
    const a = await createCoupon(5);
    const b = await createCoupon(3);
    const messages = [
      ...(await Promise.all(['u1', 'u2', 'u3', 'u4'].map((u) => grab(a, u)))),
      ...(await Promise.all(['u1', 'u5'].map((u) => grab(b, u)))),
    ];
    await send(...messages);
    stack.startConsumer();
    await stack.drain();

    expect(await buyers(a.id)).toEqual(['u1', 'u2', 'u3', 'u4']);
    expect(await buyers(b.id)).toEqual(['u1', 'u5']);
    expect(await mysqlLeft(a.id)).toBe(1);
    expect(await mysqlLeft(b.id)).toBe(1);
    // Promise 3: once drained, MySQL's left equals Redis's left equals amount minus purchases.
    expect(await redisLeft(a)).toBe(1);
    expect(await redisLeft(b)).toBe(1);
    expect(await deadLetters(1, 1500)).toEqual([]);
  });

  test('the same message sent twice makes one row and one decrement', async () => {
    const c = await createCoupon(4);
    const m = await grab(c, 'bob');
    await send(m);
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: JSON.stringify(m) }));
    stack.startConsumer();
    await stack.drain();

    expect(await buyers(c.id)).toEqual(['bob']);
    expect(await mysqlLeft(c.id)).toBe(3);
    expect(await redisLeft(c)).toBe(3);
  });

  test('poison messages go to the DLQ at once, not after the redrive count; the good ones are persisted', async () => {
    const c = await createCoupon(5);
    const good = await Promise.all(['u1', 'u2', 'u3'].map((u) => grab(c, u)));
    const malformed = '{"couponId": 1, "seller": ';
    // A held grab whose id names no coupon row: only MySQL can tell it is wrong.
    const unknownId = JSON.stringify({ ...good[0], couponId: c.id + 1000 });
    await send(
      good[0] as PurchaseMessage,
      malformed,
      good[1] as PurchaseMessage,
      unknownId,
      good[2] as PurchaseMessage,
    );
    stack.startConsumer();

    const dead = await deadLetters(2);
    expect(dead.map((d) => d.body).sort()).toEqual([malformed, unknownId].sort());
    // Moved by the consumer on their first receive: a message redriven by the queue would arrive
    // with its receive count (MAX_RECEIVE_COUNT) and be received here once more.
    for (const d of dead) expect(d.receiveCount).toBe(1);
    await stack.drain();

    expect(await buyers(c.id)).toEqual(['u1', 'u2', 'u3']);
    expect(await mysqlLeft(c.id)).toBe(2);
    expect(await purchaseCount()).toBe(3);
  });

  test('the message of a released grab is dropped, not persisted and not dead-lettered', async () => {
    const c = await createCoupon(2);
    const kept = await grab(c, 'keeper');
    const requestId = randomUUID();
    const grabbedAtMs = Date.now();
    expect((await services().cache.grab(c.seller, c.name, 'gone', requestId, grabbedAtMs)).outcome).toBe('granted');
    // The send timed out but the queue had taken the message: the grab was released (503).
    expect(await services().cache.release(c.seller, c.name, 'gone', requestId)).toBe('released');
    const released = { ...kept, username: 'gone', grabbedAt: new Date(grabbedAtMs).toISOString(), requestId };
    await send(released, kept);
    stack.startConsumer();
    await stack.drain();

    expect(await buyers(c.id)).toEqual(['keeper']);
    expect(await mysqlLeft(c.id)).toBe(1);
    expect(await redisLeft(c)).toBe(1);
    expect(await deadLetters(1, 2500)).toEqual([]);
  });
});

describe('the handler invoked directly', () => {
  test('one batch over several coupons; left drops only by the rows actually inserted', async () => {
    const a = await createCoupon(5);
    const b = await createCoupon(5, 'c2');
    const first = await grab(a, 'u1');
    expect(await invoke([sqsRecord(first)])).toEqual([]);
    expect(await mysqlLeft(a.id)).toBe(4);

    // u1's purchase of `a` is already persisted: the batch inserts 4 rows, not 5.
    const batch = [first, await grab(a, 'u2'), await grab(a, 'u3'), await grab(b, 'u1'), await grab(b, 'u2')];
    expect(await invoke(batch.map((m) => sqsRecord(m)))).toEqual([]);
    expect(await buyers(a.id)).toEqual(['u1', 'u2', 'u3']);
    expect(await buyers(b.id)).toEqual(['u1', 'u2']);
    expect(await mysqlLeft(a.id)).toBe(2);
    expect(await mysqlLeft(b.id)).toBe(3);
  });

  test('a redelivery after commit (the same event twice) changes nothing', async () => {
    const c = await createCoupon(3);
    const event = sqsEvent([sqsRecord(await grab(c, 'bob')), sqsRecord(await grab(c, 'carol'))]);
    expect(await invoke(event)).toEqual([]);
    expect(await invoke(event)).toEqual([]);
    expect(await buyers(c.id)).toEqual(['bob', 'carol']);
    expect(await mysqlLeft(c.id)).toBe(1);
  });

  test('duplicates inside one batch make one row', async () => {
    const c = await createCoupon(3);
    const m = await grab(c, 'bob');
    expect(await invoke([sqsRecord(m), sqsRecord(m), sqsRecord(m)])).toEqual([]);
    expect(await buyers(c.id)).toEqual(['bob']);
    expect(await mysqlLeft(c.id)).toBe(2);
  });

  test('poison records are moved to the DLQ, exactly, and the rest of the batch is persisted', async () => {
    const c = await createCoupon(5);
    const other = await createCoupon(5, 'c2');
    const good = [await grab(c, 'u1'), await grab(c, 'u2')];
    const poison = [
      sqsRecord('not json at all'),
      sqsRecord('{"couponId": 1'),
      sqsRecord({ ...good[0], username: 'bad user' }),
      // Held in Redis, but the id names no coupon row.
      sqsRecord({ ...(await grab(c, 'u3')), couponId: c.id + 1000 }),
      // The id of one coupon with the seller and name of another.
      sqsRecord({ ...(await grab(other, 'u4')), couponId: c.id }),
    ];
    const records = [sqsRecord(good[0] as PurchaseMessage), ...poison, sqsRecord(good[1] as PurchaseMessage)];
    expect(await invoke(records)).toEqual([]);
    // Each one is logged, not swallowed, and is in the dead-letter queue.
    expect(loggedErrors().sort()).toEqual([
      'malformed purchase message',
      'malformed purchase message',
      'malformed purchase message',
      'purchase messages moved to the dead-letter queue',
      'purchase names a coupon under another id',
      'purchase names a coupon under another id',
    ]);
    expect((await deadLetters(5)).map((d) => d.body).sort()).toEqual(poison.map((r) => r.body).sort());
    expect(await buyers(c.id)).toEqual(['u1', 'u2']);
    expect(await buyers(other.id)).toEqual([]);
    expect(await mysqlLeft(c.id)).toBe(3);
    expect(await mysqlLeft(other.id)).toBe(5);
  });

  test('a message naming a coupon that exists nowhere is dead-lettered, not dropped', async () => {
    const c = await createCoupon(5);
    const good = await grab(c, 'u1');
    const ghost = sqsRecord({ ...good, couponId: c.id + 1000, seller: 'nobody', name: 'nothing' });
    expect(await invoke([sqsRecord(good), ghost])).toEqual([]);
    expect(loggedErrors()).toContain('purchase of an unknown coupon');
    expect((await deadLetters(1)).map((d) => d.body)).toEqual([ghost.body]);
    expect(await purchaseCount()).toBe(1);
  });

  test('a batch of released grabs only is dropped cleanly', async () => {
    const c = await createCoupon(2);
    const requestId = randomUUID();
    await services().cache.grab(c.seller, c.name, 'gone', requestId, Date.now());
    await services().cache.release(c.seller, c.name, 'gone', requestId);
    const released = {
      couponId: c.id,
      seller: c.seller,
      name: c.name,
      username: 'gone',
      grabbedAt: new Date().toISOString(),
      requestId,
    };
    expect(await invoke([sqsRecord(released)])).toEqual([]);
    expect(loggedErrors()).toEqual([]);
    expect(await purchaseCount()).toBe(0);
    expect(await mysqlLeft(c.id)).toBe(2);
  });

  test('while the cache is cold Redis cannot tell released grabs, so messages are persisted', async () => {
    const c = await createCoupon(2);
    const m = await grab(c, 'bob');
    await stack.redis.flushdb();
    expect(await invoke([sqsRecord(m)])).toEqual([]);
    expect(await buyers(c.id)).toEqual(['bob']);
  });
});

describe('failures of a store are never swallowed', () => {
  test('with the cache down, every parsed record is reported for retry and nothing is written', async () => {
    const c = await createCoupon(2);
    const m = await grab(c, 'bob');
    // A real client of a Redis that is not there (nothing listens on port 1).
    const unreachable = createRedis('redis://127.0.0.1:1');
    const records = [sqsRecord(m), sqsRecord('garbage')];
    const failed = await persistPurchases(
      { cache: new RedisSaleCache(unreachable), db: services().db, queue: services().queue },
      records,
    );
    unreachable.disconnect();
    // The good record waits for Redis; the garbage can never succeed and is dead-lettered.
    expect(failed).toEqual([records[0]?.messageId]);
    expect((await deadLetters(1)).map((d) => d.body)).toEqual(['garbage']);
    expect(await purchaseCount()).toBe(0);
    expect(loggedErrors()).toContain('cache unavailable to the consumer; batch retried');
  });

  test('with the database failing, the whole batch is reported for retry', async () => {
    const c = await createCoupon(2);
    const records = [sqsRecord(await grab(c, 'bob')), sqsRecord(await grab(c, 'carol'))];
    // A real pool of a MySQL that is not there (nothing listens on port 1).
    const unreachable = createPool({ host: '127.0.0.1', port: 1, user: 'root', connectTimeout: 1000 });
    const failed = await persistPurchases(
      { cache: services().cache, db: new MysqlDatabase(unreachable), queue: services().queue },
      records,
    );
    await unreachable.end();
    expect(failed.sort()).toEqual(records.map((r) => r.messageId).sort());
    expect(await purchaseCount()).toBe(0);
    expect(loggedErrors()).toEqual(['persisting purchases failed; batch retried']);
    // Redelivered once the database is back, the batch is persisted.
    expect(await invoke(records)).toEqual([]);
    expect(await buyers(c.id)).toEqual(['bob', 'carol']);
  });
});
