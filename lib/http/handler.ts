/**
 * The middleware chain of every HTTP handler: request-scoped logging, then the one place that turns
 * errors into responses. Typed `HttpError`s become their contract response; an outage of Redis,
 * MySQL or the queue becomes a 503 naming it; anything else a generic 500, logged, never echoed.
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { config, HANDLER_MARGIN_MS } from '../config';
import { DeadlineExceeded, describe, failedDependency, HttpError, ServerBusy } from '../errors';
import { logger } from '../logger';
import { secrets } from '../secrets';
import { type HttpResult, json } from './response';

type Event = APIGatewayProxyEventV2;

const DEPENDENCY_MESSAGES = {
  cache: 'Cache unavailable. Nothing was changed; retry shortly.',
  database: 'Database unavailable. Nothing was changed; retry shortly.',
  queue: 'Queue unavailable. Nothing was changed; retry shortly.',
} as const;

export function errorResponse(e: unknown, requestId?: string): HttpResult {
  if (e instanceof HttpError) return json(e.status, { ...e.extra, errMsg: e.errMsg }, e.headers);
  if (e instanceof DeadlineExceeded) {
    logger.error('handler ran out of time', { requestId });
    return errorResponse(new ServerBusy(), requestId);
  }
  const dependency = failedDependency(e);
  logger.error(dependency ? `${dependency} unavailable` : 'unexpected error', {
    requestId,
    error: describe(e),
    stack: e instanceof Error ? e.stack : undefined,
  });
  if (dependency) return json(503, { errMsg: DEPENDENCY_MESSAGES[dependency] }, { 'Retry-After': '1' });
  return json(500, { errMsg: 'Internal server error.' });
}

function httpErrors(): MiddlewareObj<Event, HttpResult> {
  return {
    onError: async (request) => {
      request.response = errorResponse(request.error, request.context.awsRequestId);
    },
  };
}

function requestLogging(): MiddlewareObj<Event, HttpResult> {
  return {
    before: async (request) => {
      // Where requests run concurrently (npm start, serverless-offline) a global context would
      // mislabel lines; there the error middleware names the request id itself.
      if (config().onLambda) logger.setContext({ requestId: request.context.awsRequestId });
    },
  };
}

/** The epoch milliseconds by which a handler must have its answer, leaving itself a margin. */
export function deadlineOf(context: Context): number {
  return Date.now() + context.getRemainingTimeInMillis() - HANDLER_MARGIN_MS;
}

export function httpHandler(fn: (event: Event, context: Context) => Promise<HttpResult>) {
  // Should a handler still be running just before the platform's limit, it answers 503 "busy"
  // itself rather than let the platform answer with its own error (its budget makes that rare).
  return (
    middy<Event, HttpResult>({
      timeoutEarlyInMillis: HANDLER_MARGIN_MS / 2,
      timeoutEarlyResponse: () => {
        throw new DeadlineExceeded();
      },
    })
      .use(httpErrors())
      .use(requestLogging())
      // After httpErrors, which answers 503 when the secrets cannot be read.
      .use(secrets<Event, HttpResult>())
      .handler(fn)
  );
}
