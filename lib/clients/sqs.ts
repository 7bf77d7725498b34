/** One SQS client per container, created on first use; closable for tests and scripts. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { config } from '../config';

let client: SQSClient | undefined;

export function sqs(): SQSClient {
  if (!client) {
    const { region, endpoint, sendTimeoutMs, sendAttempts, credentials } = config().sqs;
    client = new SQSClient({
      region,
      endpoint,
      credentials,
      // The attempts the time budget counts (lib/config.ts).
      maxAttempts: sendAttempts,
      // Without throwOnRequestTimeout the SDK only logs a warning when the timeout passes and keeps
      // waiting: a hung queue would hang the grab instead of answering 503.
      requestHandler: { requestTimeout: sendTimeoutMs, connectionTimeout: sendTimeoutMs, throwOnRequestTimeout: true },
    });
  }
  return client;
}

export function closeSqs(): void {
  client?.destroy();
  client = undefined;
}
