import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** The one way a response is built: JSON with `errMsg`, or an empty 204. */
export function json(
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ errMsg: '', ...body }),
  };
}

export function noContent(headers: Record<string, string> = {}): HttpResult {
  return { statusCode: 204, headers };
}

/** A file of the live sale page (the only answers without `errMsg`, api.md "GET /sale"). */
export function asset(contentType: string, body: string, cacheControl: string): HttpResult {
  return {
    statusCode: 200,
    headers: { 'content-type': contentType, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' },
    body,
  };
}
