/**
 * API Gateway HTTP API (payload 2.0) events and Lambda contexts for invoking the handlers in this
 * process, shaped as API Gateway sends them (lowercase header names, decoded path parameters).
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

let sequence = 0;
let clockSecond = 0;
let clockText = '';

/** API Gateway formats the request time; one string per second is enough here. */
function requestTime(nowMs: number): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = new Date(nowMs).toUTCString();
  }
  return clockText;
}

export interface EventInput {
  method: string;
  rawPath: string;
  rawQuery: string;
  routeKey: string;
  pathParameters: Record<string, string> | undefined;
  headers: Record<string, string>;
  body: string | undefined;
}

export function apiEvent(r: EventInput): APIGatewayProxyEventV2 {
  const now = Date.now();
  const requestId = `bench-${++sequence}`;
  return {
    version: '2.0',
    routeKey: r.routeKey,
    rawPath: r.rawPath,
    rawQueryString: r.rawQuery,
    headers: r.headers,
    queryStringParameters: r.rawQuery ? Object.fromEntries(new URLSearchParams(r.rawQuery)) : undefined,
    pathParameters: r.pathParameters,
    body: r.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: r.method, path: r.rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId,
      routeKey: r.routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now,
    },
  };
}

const remaining = () => 6000;
const ignore = () => {};

/** A context per invocation, as Lambda gives (shared functions keep the client's garbage small). */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `bench-ctx-${++sequence}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'bench',
    getRemainingTimeInMillis: remaining,
    done: ignore,
    fail: ignore,
    succeed: ignore,
  };
}
