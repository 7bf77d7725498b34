/**
 * Creates the purchase queue and its dead-letter queue with a redrive policy, as serverless.yml
 * declares them on AWS. Idempotent. Used by the dev runner, the standalone server and the tests,
 * against LocalStack or the embedded emulator.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueSpec {
  queueName: string;
  dlqName: string;
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}

export async function ensureQueues(client: SQSClient, spec: QueueSpec): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: spec.dlqName }));
  const dlqUrl = dlq.QueueUrl ?? '';
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: spec.queueName,
      Attributes: {
        VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: spec.maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
}
