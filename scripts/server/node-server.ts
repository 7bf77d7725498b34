/**
 * Serves the Lambda handlers with Node's own HTTP server, translating each request into the API
 * Gateway HTTP API (payload 2.0) event the handlers receive on AWS. Used by `npm start`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorResponse } from '../../lib/http/handler';
import { type HttpResult, json } from '../../lib/http/response';
import { logger } from '../../lib/logger';
import { MAX_BODY_BYTES } from '../../lib/validation';
import { httpApiEvent, lambdaContext } from './invocation';
import { type Match, matchRoute } from './routes';

/** Path and query of a request target; undefined for anything but origin-form (`/path?query`). */
export function splitTarget(target: string): { path: string; query: string } | undefined {
  // Not `new URL()`: it throws on `//`, `/\\` or `//a:b`, and would read them as a host.
  if (!target.startsWith('/')) return undefined;
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

function toEvent(
  req: IncomingMessage,
  url: { path: string; query: string },
  body: Buffer,
  requestId: string,
  match: Match | undefined,
) {
  const headers: Record<string, string> = {};
  const given = req.headers;
  for (const k in given) {
    const v = given[k];
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  return httpApiEvent({
    method: req.method ?? 'GET',
    rawPath: url.path,
    rawQuery: url.query,
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

const EMPTY = Buffer.alloc(0);

/** The body, or undefined when the client went away before sending all of it. */
function readBody(req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> | Buffer {
  // Most requests (listings, grabs) have none: no stream to read.
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) return EMPTY;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        tooLarge(req, res);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    // An aborted upload (ECONNRESET, "aborted"): the client's doing, not a dependency's failure,
    // and nobody is left to answer.
    const gone = () => {
      res.destroy();
      resolve(undefined);
    };
    req.once('error', gone);
    req.once('close', () => {
      if (!req.complete) gone();
    });
  });
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('connection', 'close');
  send(res, json(413, { errMsg: 'Request body too large.' }));
  req.destroy();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const url = splitTarget(req.url ?? '/');
  if (!url) {
    send(res, json(400, { errMsg: 'Bad request target.' }));
    return;
  }
  const match = matchRoute(req.method ?? 'GET', url.path);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) {
    tooLarge(req, res);
    return;
  }
  const body = await readBody(req, res);
  if (body === undefined) return;
  if (!match) {
    send(res, json(404, { errMsg: 'Not Found.' }));
    return;
  }
  let result: HttpResult;
  try {
    result = await match.handler(toEvent(req, url, body, requestId, match), lambdaContext('seckill', requestId));
  } catch (e: unknown) {
    result = errorResponse(e, requestId);
  }
  send(res, result);
}

/**
 * Limits against slow clients: all headers within `headersTimeoutMs`, the whole request within
 * `requestTimeoutMs` (else 408 and the connection closes), idle keep-alive connections closed after
 * 65 s (longer than a load balancer's 60 s idle timeout, so the balancer closes first).
 */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** One log line per request: method, target, status, milliseconds. */
  accessLog: boolean;
}

export function createApiServer(limits: ServerLimits): Server {
  const server = createServer(
    {
      keepAliveTimeout: 65_000,
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      // How often Node checks those two timeouts (30 s by default).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    (req, res) => {
      if (limits.accessLog) logAccess(req, res);
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) send(res, errorResponse(e));
        else res.destroy();
      });
    },
  );
  server.on('clientError', answerClientError);
  return server;
}

function logAccess(req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  res.once('close', () => {
    logger.info('request', {
      method: req.method,
      target: req.url,
      status: res.statusCode,
      ms: Math.round((performance.now() - started) * 10) / 10,
      client: req.socket.remoteAddress,
    });
  });
}

const CLIENT_ERRORS: Record<number, string> = {
  400: 'Malformed request.',
  408: 'Request timeout.',
  431: 'Request headers too large.',
};

/**
 * A request Node's parser refused (bad syntax, headers too large, too slow) gets the contract's
 * JSON body too, instead of Node's bare status line; a connection already gone is just closed.
 */
function answerClientError(e: Error & { code?: string }, socket: Duplex): void {
  if (e.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = e.code === 'HPE_HEADER_OVERFLOW' ? 431 : e.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({ errMsg: CLIENT_ERRORS[status] });
  // Lingering close: read what the client is still sending (a huge header) for a moment, so the
  // kernel does not answer it with a reset that would discard the answer before the client reads it.
  socket.on('data', () => {});
  setTimeout(() => socket.destroy(), 1000).unref();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
