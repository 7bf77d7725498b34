/**
 * The API Gateway HTTP API (payload 2.0) event and the Lambda context a handler receives, for the
 * places that invoke handlers outside AWS: the standalone server, the benchmark and the tests.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { config } from '../../lib/config';

export interface HttpApiRequest {
  method: string;
  /** Still percent-encoded, without the query string. */
  rawPath: string;
  rawQuery: string;
  routeKey: string;
  /** Decoded, as API Gateway passes them. */
  pathParameters: Record<string, string> | undefined;
  /** Lower-case names; repeated headers joined with commas. */
  headers: Record<string, string>;
  body: string | undefined;
  requestId?: string;
  sourceIp?: string;
  protocol?: string;
}

/** API Gateway joins repeated query parameters with commas. */
function queryParameters(rawQuery: string): Record<string, string> | undefined {
  if (!rawQuery) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQuery)) out[k] = k in out ? `${out[k]},${v}` : v;
  return out;
}

export function httpApiEvent(r: HttpApiRequest): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: r.routeKey,
    rawPath: r.rawPath,
    rawQueryString: r.rawQuery,
    headers: r.headers,
    queryStringParameters: queryParameters(r.rawQuery),
    pathParameters: r.pathParameters,
    body: r.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'seckill',
      domainName: r.headers.host ?? 'localhost',
      domainPrefix: 'seckill',
      http: {
        method: r.method,
        path: r.rawPath,
        protocol: r.protocol ?? 'HTTP/1.1',
        sourceIp: r.sourceIp ?? '127.0.0.1',
        userAgent: r.headers['user-agent'] ?? '',
      },
      requestId: r.requestId ?? randomUUID(),
      routeKey: r.routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
  };
}

const ignore = () => {};

/**
 * A context whose clock runs like Lambda's: `timeoutMs` (the HTTP functions' time limit by default)
 * from now, so that handlers keep the same time budget wherever they run.
 */
export function lambdaContext(
  functionName: string,
  requestId: string = randomUUID(),
  timeoutMs = config().handlerTimeoutMs,
): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: ignore,
    fail: ignore,
    succeed: ignore,
  };
}
