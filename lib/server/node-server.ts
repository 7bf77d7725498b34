/**
 * Serves the Lambda handlers with Node's own HTTP server, translating each request into the API
 * Gateway HTTP API (payload 2.0) event the handlers receive on AWS. Used by `npm start`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorResponse } from '../http/handler';
import { type HttpResult, json } from '../http/response';
import { MAX_BODY_BYTES } from '../validation';
import { httpApiEvent, lambdaContext } from './invocation';
import { type Match, matchRoute } from './routes';

function toEvent(req: IncomingMessage, url: URL, body: Buffer, requestId: string, match: Match | undefined) {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  return httpApiEvent({
    method: req.method ?? 'GET',
    rawPath: url.pathname,
    rawQuery: url.search.slice(1),
    routeKey: match?.routeKey ?? '$default',
    pathParameters: match?.pathParameters,
    headers,
    body: body.length ? body.toString('utf8') : undefined,
    requestId,
    sourceIp: req.socket.remoteAddress ?? '',
    protocol: `HTTP/${req.httpVersion}`,
  });
}

function send(res: ServerResponse, result: HttpResult): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.statusCode === 204 || result.body === undefined) {
    res.writeHead(result.statusCode, headers).end();
    return;
  }
  headers['content-length'] = String(Buffer.byteLength(result.body));
  res.writeHead(result.statusCode, headers).end(result.body);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = matchRoute(req.method ?? 'GET', url.pathname);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    res.setHeader('connection', 'close');
    send(res, json(413, { errMsg: 'Request body too large.' }));
    req.destroy();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      res.setHeader('connection', 'close');
      send(res, json(413, { errMsg: 'Request body too large.' }));
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  if (!match) {
    send(res, json(404, { errMsg: 'Not Found.' }));
    return;
  }
  let result: HttpResult;
  try {
    result = await match.handler(
      toEvent(req, url, Buffer.concat(chunks), requestId, match),
      lambdaContext('seckill', requestId),
    );
  } catch (e: unknown) {
    result = errorResponse(e, requestId);
  }
  send(res, result);
}

export function createApiServer(): Server {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, errorResponse(e));
      else res.destroy();
    });
  });
  server.headersTimeout = 66_000;
  return server;
}
