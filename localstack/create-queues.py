# LocalStack init hook (ready.d): creates the purchase queue and its dead-letter queue with the
# redrive policy serverless.yml declares on AWS. Idempotent.
#
# LocalStack runs it with its own Python, which has boto3 (no AWS CLI needed, here or on the host).
# What it creates is not written here: it reads queues.json, the same definition (a QueueSpec)
# that test/integration/localstack-hook.test.ts runs through lib/queue/setup.ts, and this file
# makes the same calls as that function. See localstack/README.md.
import json

import boto3

with open("/etc/localstack/queues.json", encoding="utf-8") as f:
    spec = json.load(f)

sqs = boto3.client(
    "sqs",
    endpoint_url="http://localhost:4566",
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)
dlq_url = sqs.create_queue(QueueName=spec["dlqName"])["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
attributes = {
    "VisibilityTimeout": str(spec["visibilityTimeoutSeconds"]),
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec["maxReceiveCount"]}),
}
try:
    queue_url = sqs.create_queue(QueueName=spec["queueName"], Attributes=attributes)["QueueUrl"]
except sqs.exceptions.QueueNameExists:
    # The queue exists with other settings (an earlier run): bring it to these.
    queue_url = sqs.get_queue_url(QueueName=spec["queueName"])["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
print(f"created {queue_url} (dead letters: {dlq_url})")
