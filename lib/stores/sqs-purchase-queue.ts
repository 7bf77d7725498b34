import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { PurchaseMessage, PurchaseQueue } from './types';

const BACKLOG_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

/**
 * The message as pure-ASCII JSON: SQS refuses U+FFFE, U+FFFF (and emulators every character past
 * U+FFFF), all valid in coupon names; escaped, any name travels and parses back unchanged.
 */
function messageBody(message: PurchaseMessage): string {
  return JSON.stringify(message).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** An entry of a batch send that SQS refused. */
export class QueueSendError extends Error {
  override name = 'QueueSendError';
}

interface PendingSend {
  body: string;
  resolve: () => void;
  reject: (e: unknown) => void;
}

const MAX_BATCH = 10;

/**
 * Sends purchase messages. Sends issued in the same turn of the event loop (concurrent grabs in one
 * process: `npm start`, the in-process benchmark) go out together as SendMessageBatch calls of up
 * to ten, which costs one signed request instead of ten; a lone send (one Lambda invocation) is a
 * plain SendMessage. Each caller learns the fate of its own message.
 */
export class SqsPurchaseQueue implements PurchaseQueue {
  private pending: PendingSend[] = [];

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly dlqUrl: string,
  ) {}

  send(message: PurchaseMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ body: messageBody(message), resolve, reject });
      if (this.pending.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) void this.sendBatch(all.slice(i, i + MAX_BATCH));
  }

  private async sendBatch(batch: PendingSend[]): Promise<void> {
    const [only] = batch;
    if (batch.length === 1 && only) {
      try {
        await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: only.body }));
        only.resolve();
      } catch (e: unknown) {
        only.reject(e);
      }
      return;
    }
    try {
      const { Failed = [] } = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((p, i) => ({ Id: String(i), MessageBody: p.body })),
        }),
      );
      const failed = new Map(Failed.map((f) => [f.Id, f]));
      batch.forEach((p, i) => {
        const f = failed.get(String(i));
        if (f) p.reject(new QueueSendError(`${f.Code ?? 'error'}: ${f.Message ?? 'message refused'}`));
        else p.resolve();
      });
    } catch (e: unknown) {
      for (const p of batch) p.reject(e);
    }
  }

  async deadLetter(records: { messageId: string; body: string }[]) {
    const unsent: string[] = [];
    for (let i = 0; i < records.length; i += MAX_BATCH) {
      const batch = records.slice(i, i + MAX_BATCH);
      try {
        const { Failed = [] } = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.dlqUrl,
            Entries: batch.map((r, j) => ({ Id: String(j), MessageBody: r.body })),
          }),
        );
        for (const f of Failed) unsent.push(batch[Number(f.Id)]?.messageId ?? '');
      } catch {
        unsent.push(...batch.map((r) => r.messageId));
      }
    }
    return unsent.filter(Boolean);
  }

  async deadLetters() {
    // Each message is hidden while the walk goes on, so none is read twice, then shown again.
    const bodies = new Map<string, string>();
    const receipts: string[] = [];
    for (let empty = 0; empty < 2; ) {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({ QueueUrl: this.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
      );
      empty = Messages.length === 0 ? empty + 1 : 0;
      for (const m of Messages) {
        if (m.MessageId && m.Body !== undefined) bodies.set(m.MessageId, m.Body);
        if (m.ReceiptHandle) receipts.push(m.ReceiptHandle);
      }
    }
    for (let i = 0; i < receipts.length; i += MAX_BATCH) {
      await this.client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.dlqUrl,
            Entries: receipts.slice(i, i + MAX_BATCH).map((ReceiptHandle, j) => ({
              Id: String(j),
              ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch(() => {});
    }
    return [...bodies.values()];
  }

  async backlog() {
    const { Attributes = {} } = await this.client.send(
      new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: [...BACKLOG_ATTRIBUTES] }),
    );
    return BACKLOG_ATTRIBUTES.reduce((sum, name) => sum + Number(Attributes[name] ?? 0), 0);
  }

  async ping() {
    await this.backlog();
  }
}
