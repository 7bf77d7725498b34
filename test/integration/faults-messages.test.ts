/**
 * Faults of delivery, end to end: the messages of real grabs (made through the grab handler) are
 * duplicated, redelivered after their batch committed, and mixed with poison. MySQL's rows and
 * `left` must match Redis's `left` and the 201s exactly. (test/integration/consumer.test.ts covers
 * the consumer's rules message by message; this file checks the promises across the whole sale.)
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { handler as consumer } from '../../functions/persist-purchases';
import { client, inProcessApi } from '../helpers/api';
import { lambdaContext, sqsEvent, sqsRecord } from '../helpers/events';
import { observe, saleState, waitFor } from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'msg_seller';
const MAX_RECEIVE_COUNT = 2;
let stack: Stack;
let sellerToken: string;

beforeAll(async () => {
  stack = await startStack({ visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVE_COUNT });
  sellerToken = await c.user(SELLER, 'saler');
});

afterAll(() => stack?.close());

/** Receives from `queueUrl` until `count` messages came (each receive makes them invisible for 1 s). */
async function receive(queueUrl: string, count: number): Promise<Message[]> {
  const got = new Map<string, Message>();
  await waitFor(
    `${count} messages`,
    async () => {
      const { Messages = [] } = await stack.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      for (const m of Messages) got.set(m.MessageId ?? '', m);
      return got.size >= count;
    },
    15_000,
    0,
  );
  return [...got.values()];
}

const toRecord = (m: Message): SQSRecord =>
  sqsRecord(m.Body ?? '', {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
      SenderId: 'sqs',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
    },
  });

/** The consumer Lambda, invoked as the event source would; resolves the failed message ids. */
async function invoke(records: SQSRecord[]): Promise<string[]> {
  const result = (await consumer(sqsEvent(records), lambdaContext('persistPurchases', 30_000))) as SQSBatchResponse;
  return result.batchItemFailures.map((f) => f.itemIdentifier).sort();
}

async function deleteAll(queueUrl: string, messages: Message[]) {
  for (let i = 0; i < messages.length; i += 10) {
    await stack.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.slice(i, i + 10).map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

async function sendBodies(bodies: string[]) {
  for (let i = 0; i < bodies.length; i += 10) {
    const { Failed = [] } = await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: stack.queueUrl,
        Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })),
      }),
    );
    expect(Failed).toEqual([]);
  }
}

async function queued(queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) + Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Real grabs through the handler, with the consumer stopped: their messages wait in the queue. */
async function grabs(name: string, amount: number, buyers: number): Promise<void> {
  await stack.stopConsumer();
  expect((await c.createCoupon(sellerToken, SELLER, { name, amount, stock: 3 })).status).toBe(201);
  for (let i = 0; i < buyers; i++) {
    const token = await c.user(`${name}_buyer${i}`, 'customer');
    expect((await c.grab(token, SELLER, name)).status).toBe(201);
  }
}

test('duplicated sends and redeliveries after commit persist each grab once, left decremented once', async () => {
  await grabs('dup', 5, 3);
  const first = await receive(stack.queueUrl, 3);
  const records = first.map(toRecord);
  expect(await invoke(records)).toEqual([]);
  // The same event again (Lambda retried after a commit whose answer was lost), twice at once.
  expect(await Promise.all([invoke(records), invoke(records)])).toEqual([[], []]);
  // Never deleted, the messages come back after the visibility timeout: a real redelivery.
  const again = await receive(stack.queueUrl, 3);
  expect(again.map((m) => m.MessageId).sort()).toEqual(first.map((m) => m.MessageId).sort());
  expect(again.every((m) => Number(m.Attributes?.ApproximateReceiveCount) >= 2)).toBe(true);
  expect(await invoke(again.map(toRecord))).toEqual([]);
  await deleteAll(stack.queueUrl, again);
  // And every message sent twice more, as the sweeper's re-send of an unconfirmed grab would.
  const bodies = first.map((m) => m.Body ?? '');
  await sendBodies([...bodies, ...bodies]);
  stack.startConsumer();
  await stack.drain();

  const final = await saleState(stack.db, stack.redis, SELLER, 'dup');
  expect(final).toMatchObject({ rows: 3, mysqlLeft: 2, redisLeft: 2, pending: [] });
  expect(await queued(stack.dlqUrl)).toBe(0);
  observe('faults-messages: duplicates', {
    granted: 3,
    deliveries: 3 + 3 * 2 + 3 + 6,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
    deadLettered: 0,
  });
});

test('poison in a batch of real grabs: dead-lettered at once, exactly; the rest persisted', async () => {
  await grabs('mixed', 10, 4);
  const poison = [
    'not json {',
    JSON.stringify({ couponId: '1', seller: SELLER, name: 'mixed', username: 'x', grabbedAt: 'yesterday' }),
    // Well formed, but no such coupon exists anywhere: MySQL rejects it.
    JSON.stringify({
      couponId: 987_654_321,
      seller: 'nobody',
      name: 'ghost',
      username: 'mixed_buyer0',
      grabbedAt: new Date().toISOString(),
      requestId: 'r-ghost',
    }),
  ];
  await sendBodies(poison);
  const batch = await receive(stack.queueUrl, 7);
  const poisonIds = batch.filter((m) => poison.includes(m.Body ?? '')).map((m) => m.MessageId ?? '');
  expect(poisonIds).toHaveLength(3);
  // One batch: nothing is left to retry; the poison is in the dead-letter queue at once, so it
  // holds no rebuild's drain hostage and never waits out the redrive count.
  const started = Date.now();
  expect(await invoke(batch.map(toRecord))).toEqual([]);
  await deleteAll(stack.queueUrl, batch);
  const persisted = await saleState(stack.db, stack.redis, SELLER, 'mixed');
  expect(persisted).toMatchObject({ rows: 4, mysqlLeft: 6, redisLeft: 6 });
  expect(await queued(stack.dlqUrl)).toBe(3);
  const deadLetteredInMs = Date.now() - started;
  const dead = await receive(stack.dlqUrl, 3);
  expect(dead.map((m) => m.Body).sort()).toEqual([...poison].sort());
  const final = await saleState(stack.db, stack.redis, SELLER, 'mixed');
  expect(final).toMatchObject({ rows: 4, mysqlLeft: 6, redisLeft: 6, pending: [] });
  observe('faults-messages: poison', {
    granted: 4,
    poison: poison.length,
    reportedForRetry: 0,
    deadLettered: dead.length,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    deadLetteredInMs,
    rows: final.rows,
    mysqlLeft: final.mysqlLeft,
    redisLeft: final.redisLeft,
  });
});
