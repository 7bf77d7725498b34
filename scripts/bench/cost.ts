/**
 * What one million grabs cost on AWS, from the handler durations measured here (one request at a
 * time, as one Lambda container serves them) and list prices. Fixed costs (ElastiCache, RDS, the
 * event source's idle long polls, data transfer, CloudWatch logs) are not per grab and not counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** us-east-1 list prices assumed (2025). */
export const PRICES = {
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  httpApiPerMillionRequests: 1.0,
  sqsPerMillionRequests: 0.4,
  /** Messages per ReceiveMessage / DeleteMessageBatch call of the Lambda event source. */
  sqsMessagesPerCall: 10,
} as const;

export interface CostInputs {
  memoryMb: number;
  consumerBatchSize: number;
  /** Handler duration of a granted / a failed grab, ms (billed rounded up to 1 ms). */
  grantMs: number;
  failedMs: number;
  /** Consumer duration per batch of `consumerBatchSize` records, ms. */
  consumerBatchMs: number;
}

export interface CostLine {
  scenario: string;
  grantShare: number;
  grantMs: number;
  failedMs: number;
  usd: { grabLambda: number; apiGateway: number; sqs: number; consumerLambda: number; total: number };
}

export function serverlessSettings(root: string): { memoryMb: number; batchSize: number } {
  const yml = readFileSync(join(root, 'serverless.yml'), 'utf8');
  return {
    memoryMb: Number(/^\s*memorySize:\s*(\d+)/m.exec(yml)?.[1] ?? 1024),
    batchSize: Number(/^\s*batchSize:\s*(\d+)/m.exec(yml)?.[1] ?? 100),
  };
}

const usd = (x: number) => Math.round(x * 10_000) / 10_000;

export function costPerMillion(scenario: string, grantShare: number, c: CostInputs): CostLine {
  const n = 1_000_000;
  const gb = c.memoryMb / 1024;
  const grants = n * grantShare;
  const failed = n - grants;
  const billed = (ms: number) => Math.max(1, Math.ceil(ms)) / 1000;
  const grabGbS = (grants * billed(c.grantMs) + failed * billed(c.failedMs)) * gb;
  const grabLambda = grabGbS * PRICES.lambdaArmPerGbSecond + (n / 1e6) * PRICES.lambdaPerMillionRequests;
  const apiGateway = (n / 1e6) * PRICES.httpApiPerMillionRequests;
  // One SendMessage per grant; the event source receives and deletes in batches of 10.
  const sqsRequests = grants + (2 * grants) / PRICES.sqsMessagesPerCall;
  const sqs = (sqsRequests / 1e6) * PRICES.sqsPerMillionRequests;
  const batches = grants / c.consumerBatchSize;
  const consumerLambda =
    batches * billed(c.consumerBatchMs) * gb * PRICES.lambdaArmPerGbSecond +
    (batches / 1e6) * PRICES.lambdaPerMillionRequests;
  return {
    scenario,
    grantShare,
    grantMs: Math.round(c.grantMs * 100) / 100,
    failedMs: Math.round(c.failedMs * 100) / 100,
    usd: {
      grabLambda: usd(grabLambda),
      apiGateway: usd(apiGateway),
      sqs: usd(sqs),
      consumerLambda: usd(consumerLambda),
      total: usd(grabLambda + apiGateway + sqs + consumerLambda),
    },
  };
}
