/** SQS consumer: persists a batch of grabs to MySQL, reporting failed records for redelivery. */
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { metrics, publishMetrics } from '../lib/metrics';
import { persistPurchases } from '../lib/persist-purchases';
import { secrets } from '../lib/secrets';
import { services } from '../lib/services';

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(secrets())
  .use(publishMetrics())
  .handler(async (event) => {
    const failed = await persistPurchases(services(), event.Records);
    metrics.batch(event.Records.length, failed.length);
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  });
