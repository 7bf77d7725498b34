/** Typed builders for the events the handlers receive: API Gateway HTTP API (v2) and SQS. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { httpApiEvent, lambdaContext as invocationContext } from '../../scripts/server/invocation';

export interface HttpRequest {
  method: string;
  path: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as is, when the body must not be JSON-encoded. */
  rawBody?: string;
}

export function httpEvent(r: HttpRequest): APIGatewayProxyEventV2 {
  return httpApiEvent({
    method: r.method,
    rawPath: r.path,
    rawQuery: new URLSearchParams(r.query ?? {}).toString(),
    routeKey: `${r.method} ${r.path}`,
    pathParameters: r.pathParameters,
    headers: { 'content-type': 'application/json', 'user-agent': 'jest', ...(r.headers ?? {}) },
    body: r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body)),
  });
}

export function sqsRecord(body: string | object, overrides: Partial<SQSRecord> = {}): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'jest',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
    ...overrides,
  };
}

export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** A Lambda context for one invocation, with the HTTP functions' time limit unless told otherwise. */
export function lambdaContext(name = 'test', timeoutMs?: number): Context {
  return invocationContext(name, randomUUID(), timeoutMs);
}
