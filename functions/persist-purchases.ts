/** SQS consumer: persists a batch of grabs to MySQL, reporting failed records for redelivery. */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { persistPurchases } from '../lib/persist-purchases';
import { services } from '../lib/services';

export const handler = middy<SQSEvent, SQSBatchResponse>().handler(async (event) => {
  const failed = await persistPurchases(services(), event.Records);
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
});
