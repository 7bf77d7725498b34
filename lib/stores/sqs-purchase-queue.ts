import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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

export class SqsPurchaseQueue implements PurchaseQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(message: PurchaseMessage) {
    await this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: messageBody(message) }));
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
