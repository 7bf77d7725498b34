/**
 * Creates the purchase queue and its dead-letter queue with a redrive policy, as serverless.yml
 * declares them on AWS. Idempotent. Used by the dev runner, the standalone server and the tests,
 * against LocalStack or the embedded emulator.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

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
  const attributes = {
    VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: spec.maxReceiveCount }),
  };
  try {
    const queue = await client.send(new CreateQueueCommand({ QueueName: spec.queueName, Attributes: attributes }));
    return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
  } catch (e: unknown) {
    // The queue exists with other settings (an earlier run): bring it to these.
    // SQS names the error `QueueNameExists`; emulators answering in the query-compatible style
    // name it `AWS.SimpleQueueService.QueueNameExists`.
    if (!(e instanceof Error) || !/(^|\.)QueueNameExists$/.test(e.name)) throw e;
    const { QueueUrl = '' } = await client.send(new GetQueueUrlCommand({ QueueName: spec.queueName }));
    await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
    return { queueUrl: QueueUrl, dlqUrl };
  }
}
