/**
 * The LocalStack init hook, run with the AWS CLI against this run's SQS endpoint (the embedded
 * emulator, or LocalStack itself when SQS_ENDPOINT points at it): it must create the queue and a
 * dead-letter queue with the redrive policy, and running it twice must change nothing.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';

const hook = join(__dirname, '..', '..', 'localstack', 'create-queues.sh');
const queueName = `hook-${process.pid}`;

test('localstack/create-queues.sh creates the queue and its DLQ with a redrive policy, idempotently', async () => {
  const endpoint = process.env.SQS_ENDPOINT ?? '';
  const env = { ...process.env, SQS_ENDPOINT: endpoint, QUEUE_NAME: queueName, QUEUE_MAX_RECEIVE_COUNT: '4' };
  for (let run = 0; run < 2; run++) {
    // Asynchronously: the emulator may run in this very process (jest --runInBand).
    const { stdout } = await promisify(execFile)('bash', [hook], { env, encoding: 'utf8' });
    expect(stdout).toMatch(/^created /m);
  }
  const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const dlq = await sqs.send(new GetQueueUrlCommand({ QueueName: `${queueName}-dlq` }));
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'] }),
  );
  const { Attributes: dlqAttributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
    deadLetterTargetArn: dlqAttributes.QueueArn,
    maxReceiveCount: 4,
  });
  expect(Attributes.VisibilityTimeout).toBe('30');
  sqs.destroy();
});
