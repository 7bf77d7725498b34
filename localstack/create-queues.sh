#!/usr/bin/env bash
# LocalStack init hook (ready.d): creates the purchase queue and its dead-letter queue with the
# redrive policy serverless.yml declares on AWS. Idempotent.
# Outside LocalStack, run it against any SQS endpoint: SQS_ENDPOINT=http://127.0.0.1:9324 bash localstack/create-queues.sh
set -euo pipefail

QUEUE_NAME="${QUEUE_NAME:-seckill-purchases}"
DLQ_NAME="${DLQ_NAME:-${QUEUE_NAME}-dlq}"
VISIBILITY_TIMEOUT="${QUEUE_VISIBILITY_TIMEOUT:-30}"
MAX_RECEIVE_COUNT="${QUEUE_MAX_RECEIVE_COUNT:-5}"

if command -v awslocal >/dev/null 2>&1 && [ -z "${SQS_ENDPOINT:-}" ]; then
  sqs() { awslocal sqs "$@"; }
else
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
  sqs() { aws --endpoint-url "${SQS_ENDPOINT:-http://localhost:4566}" sqs "$@"; }
fi

dlq_url=$(sqs create-queue --queue-name "$DLQ_NAME" --query QueueUrl --output text)
dlq_arn=$(sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
redrive="{\"deadLetterTargetArn\":\"${dlq_arn}\",\"maxReceiveCount\":${MAX_RECEIVE_COUNT}}"
attributes=$(printf '{"VisibilityTimeout":"%s","RedrivePolicy":%s}' "$VISIBILITY_TIMEOUT" "$(printf '%s' "$redrive" | sed 's/"/\\"/g; s/^/"/; s/$/"/')")
queue_url=$(sqs create-queue --queue-name "$QUEUE_NAME" --attributes "$attributes" --query QueueUrl --output text)
echo "created $queue_url (dead letters: $dlq_url)"
