/**
 * Delivers SQS messages to the consumer outside AWS, with the semantics of Lambda's SQS event
 * source: batches of up to `batchSize` gathered within `windowMs`, and only the records the
 * consumer did not report in `batchItemFailures` are deleted. Failed records become visible again
 * after the visibility timeout and the queue's redrive policy moves them to the DLQ.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** Parallel receive loops, as Lambda runs several pollers. */
const RECEIVE_LOOPS = 2;

/** Between two receives that found nothing while a batch is being gathered. */
const GATHER_PAUSE_MS = 100;

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  region?: string;
  batchSize: number;
  windowMs: number;
  /** Hands a batch to the consumer; resolves the ids of the failed records. */
  deliver: (records: SQSRecord[]) => Promise<string[]>;
  onError?: (e: unknown) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

export function startPoller(options: PollerOptions): Poller {
  let running = true;
  const loops = Array.from({ length: RECEIVE_LOOPS }, () => loop());

  async function receiveBatch(): Promise<SQSRecord[]> {
    const records: SQSRecord[] = [];
    let deadline = Number.POSITIVE_INFINITY;
    while (running && records.length < options.batchSize && Date.now() < deadline) {
      const { Messages = [] } = await options.client.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queueUrl,
          MaxNumberOfMessages: Math.min(10, options.batchSize - records.length),
          WaitTimeSeconds: records.length === 0 ? 1 : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) {
        if (records.length === 0) continue;
        // Lambda's batching window: keep gathering until it closes, a short pause between tries,
        // so a trickle of messages makes one batch rather than a receive and a delivery each.
        const left = deadline - Date.now();
        if (left <= 0) break;
        await sleep(Math.min(left, GATHER_PAUSE_MS));
        continue;
      }
      if (records.length === 0) deadline = Date.now() + options.windowMs;
      for (const m of Messages) records.push(toRecord(m, options));
    }
    return records;
  }

  async function loop(): Promise<void> {
    while (running) {
      try {
        const records = await receiveBatch();
        if (records.length === 0) continue;
        const failed = new Set(await options.deliver(records));
        const done = records.filter((r) => !failed.has(r.messageId));
        const chunks = Array.from({ length: Math.ceil(done.length / 10) }, (_, i) => done.slice(i * 10, i * 10 + 10));
        await Promise.all(
          chunks.map((chunk) =>
            options.client.send(
              new DeleteMessageBatchCommand({
                QueueUrl: options.queueUrl,
                Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
              }),
            ),
          ),
        );
      } catch (e: unknown) {
        // The whole batch stays in the queue and is retried after its visibility timeout.
        options.onError?.(e);
        await sleep(500);
      }
    }
  }

  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

function toRecord(
  m: {
    MessageId?: string;
    ReceiptHandle?: string;
    Body?: string;
    Attributes?: Record<string, string>;
    MD5OfBody?: string;
  },
  options: Pick<PollerOptions, 'region'>,
): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: '',
    awsRegion: options.region ?? 'us-east-1',
  };
}
