/**
 * Two ways to send a request: invoke the Lambda handler in this process (the route table of
 * lib/server/routes.ts picks handler and path parameters), or HTTP over a keep-alive agent with as
 * many sockets as requests in flight. node:http rather than fetch: it costs the client less CPU.
 */
import { Agent, request as httpRequest } from 'node:http';
import { matchRoute } from '../../lib/server/routes';
import { apiEvent, lambdaContext } from './events';

export interface Reply {
  status: number;
  body?: string;
  /** `Authorization` response header (login). */
  authorization?: string;
  /** `X-Seckill-Reason` of a 204 grab. */
  reason?: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Keep the response body (HTTP discards it otherwise). */
  wantBody?: boolean;
}

export interface Transport {
  name: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): void;
}

/** Status recorded for a request that got no HTTP answer (connection error, timeout, exception). */
export const NO_ANSWER = 599;

function headerValue(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return String(v);
  return undefined;
}

export function inProcessTransport(): Transport {
  return {
    name: 'inprocess',
    async request(method, path, options = {}) {
      const q = path.indexOf('?');
      const rawPath = q < 0 ? path : path.slice(0, q);
      const rawQuery = q < 0 ? '' : path.slice(q + 1);
      const match = matchRoute(method, rawPath);
      if (!match) return { status: 404 };
      const headers: Record<string, string> = { host: 'localhost', 'user-agent': 'bench' };
      if (options.token) headers.authorization = options.token;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
      try {
        const result = await match.handler(
          apiEvent({
            method,
            rawPath,
            rawQuery,
            routeKey: match.routeKey,
            pathParameters: match.pathParameters,
            headers,
            body,
          }),
          lambdaContext('bench'),
        );
        return {
          status: result.statusCode,
          body: result.body,
          authorization: headerValue(result.headers, 'authorization'),
          reason: headerValue(result.headers, 'x-seckill-reason'),
        };
      } catch (e: unknown) {
        return { status: NO_ANSWER, body: String(e) };
      }
    },
    close() {},
  };
}

export function httpTransport(name: string, baseUrl: string, sockets: number, timeoutMs = 30_000): Transport {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  return {
    name,
    request(method, path, options = {}) {
      return new Promise<Reply>((resolve) => {
        const headers: Record<string, string> = {};
        if (options.token) headers.authorization = options.token;
        const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
        headers['content-length'] = String(payload?.length ?? 0);
        if (payload) headers['content-type'] = 'application/json';
        let settled = false;
        const done = (r: Reply) => {
          if (!settled) {
            settled = true;
            resolve(r);
          }
        };
        const req = httpRequest(
          { host: url.hostname, port: url.port, method, path, headers, agent, timeout: timeoutMs },
          (res) => {
            const reply: Reply = {
              status: res.statusCode ?? NO_ANSWER,
              authorization: headerValue(res.headers, 'authorization'),
              reason: headerValue(res.headers, 'x-seckill-reason'),
            };
            if (options.wantBody) {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.once('end', () => done({ ...reply, body: Buffer.concat(chunks).toString('utf8') }));
            } else {
              res.resume();
              res.once('end', () => done(reply));
            }
            res.once('error', () => done({ status: NO_ANSWER }));
          },
        );
        req.once('timeout', () => req.destroy(new Error('timeout')));
        req.once('error', (e) => done({ status: NO_ANSWER, body: e.message }));
        req.end(payload);
      });
    },
    close() {
      agent.destroy();
    },
  };
}
