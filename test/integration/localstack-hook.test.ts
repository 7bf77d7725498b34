/**
 * The LocalStack init hook, without the AWS CLI, Python or Docker. The hook
 * (localstack/create-queues.py, run by LocalStack's own Python) does not hold the queue settings: it
 * reads localstack/queues.json. So the test runs that very definition through the project's own
 * setup code (scripts/queue/setup.ts) against this run's SQS endpoint, checks that it is what the
 * configuration expects, and that the hook reads every field of it and makes the same calls.
 * What is left unexercised here is the hook's dozen lines of boto3 glue (see localstack/README.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readConfig } from '../../lib/config';
import { ensureQueues, type QueueSpec } from '../../scripts/queue/setup';

const DIR = join(__dirname, '..', '..', 'localstack');
const spec = JSON.parse(readFileSync(join(DIR, 'queues.json'), 'utf8')) as QueueSpec;
const hook = readFileSync(join(DIR, 'create-queues.py'), 'utf8');

test('queues.json is the queue the application expects by default', () => {
  const cfg = readConfig({ STAGE: 'local' });
  expect(spec).toEqual({
    queueName: cfg.sqs.queueName,
    dlqName: cfg.sqs.dlqName,
    visibilityTimeoutSeconds: cfg.local.visibilityTimeoutSeconds,
    maxReceiveCount: cfg.local.maxReceiveCount,
  });
});

test('the hook reads every field of queues.json, where docker-compose.yml mounts it, and makes the same calls', () => {
  for (const field of Object.keys(spec)) expect(hook).toContain(`spec["${field}"]`);
  expect(hook).toContain('open("/etc/localstack/queues.json"');
  // scripts/queue/setup.ts: CreateQueue (DLQ), GetQueueAttributes QueueArn, CreateQueue with the
  // redrive policy, and on QueueNameExists GetQueueUrl + SetQueueAttributes.
  for (const call of ['create_queue(', 'get_queue_attributes(', 'get_queue_url(', 'set_queue_attributes(']) {
    expect(hook).toContain(call);
  }
  expect(hook).toContain('"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec["maxReceiveCount"]');
  expect(hook).toContain('"VisibilityTimeout": str(spec["visibilityTimeoutSeconds"])');
});

test('the definition creates the queue and its DLQ with the redrive policy, idempotently', async () => {
  const endpoint = process.env.SQS_ENDPOINT ?? '';
  const sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 't', secretAccessKey: 't' } });
  // Names of this run only (LocalStack may be shared); the settings are the file's.
  const run = {
    ...spec,
    queueName: `${spec.queueName}-hook-${process.pid}`,
    dlqName: `${spec.dlqName}-hook-${process.pid}`,
  };
  try {
    const first = await ensureQueues(sqs, run);
    const second = await ensureQueues(sqs, run);
    expect(second).toEqual(first);
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: first.queueUrl,
        AttributeNames: ['RedrivePolicy', 'VisibilityTimeout'],
      }),
    );
    const { Attributes: dlq = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: first.dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq.QueueArn,
      maxReceiveCount: spec.maxReceiveCount,
    });
    expect(Attributes.VisibilityTimeout).toBe(String(spec.visibilityTimeoutSeconds));
  } finally {
    sqs.destroy();
  }
});
