/**
 * One client interface over the API, with two implementations: handlers invoked in-process with
 * API Gateway events, and real HTTP against a running server. The contract suite runs on both.
 */
import { matchRoute } from '../../scripts/server/routes';
import { httpEvent, lambdaContext } from './events';
import { checkAgainstOpenApi } from './openapi-check';

export interface ApiResponse {
  status: number;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when there is none. */
  body: any;
  text: string;
}

export interface RawRequest {
  headers?: Record<string, string>;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
}

export interface Api {
  /** Any request, by method and (URL-encoded) path with optional query string. */
  request(method: string, path: string, init?: RawRequest): Promise<ApiResponse>;
}

function parse(status: number, headers: Record<string, string>, text: string): ApiResponse {
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status, headers, body, text };
}

/** Routes like API Gateway's HTTP API: matches the encoded path, passes decoded path parameters. */
export function inProcessApi(): Api {
  return {
    async request(method, target, init = {}) {
      const url = new URL(target, 'http://local');
      const match = matchRoute(method, url.pathname);
      if (!match) return parse(404, {}, JSON.stringify({ errMsg: 'Not Found.' }));
      const query = Object.fromEntries(url.searchParams);
      const rawBody =
        init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const event = httpEvent({
        method,
        path: url.pathname,
        pathParameters: match.pathParameters,
        query: url.search ? query : undefined,
        headers,
        rawBody,
      });
      const result = await match.handler(event, lambdaContext());
      const outHeaders = Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
      );
      return parse(result.statusCode ?? 200, outHeaders, result.body ?? '');
    },
  };
}

export function httpApi(baseUrl: string): Api {
  return {
    async request(method, target, init = {}) {
      const body =
        init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      const res = await fetch(new URL(target, baseUrl), {
        method,
        headers: { 'content-type': 'application/json', ...(init.headers ?? {}) },
        body,
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      return parse(res.status, headers, await res.text());
    },
  };
}

/** Convenience calls over any `Api`; every answer is checked against docs/openapi.json. */
export function client(unchecked: Api) {
  const api: Api = {
    async request(method, target, init) {
      const res = await unchecked.request(method, target, init);
      checkAgainstOpenApi(method, target, res);
      return res;
    },
  };
  const auth = (token?: string): Record<string, string> => (token === undefined ? {} : { authorization: token });
  return {
    api,
    register: (username: string, password: string, kind: string) =>
      api.request('POST', '/api/users', { body: { username, password, kind } }),
    login: (username: string, password: string) => api.request('POST', '/api/auth', { body: { username, password } }),
    logout: (token?: string) => api.request('POST', '/api/auth/logout', { headers: auth(token) }),
    createCoupon: (token: string | undefined, seller: string, coupon: Record<string, unknown>) =>
      api.request('POST', `/api/users/${encodeURIComponent(seller)}/coupons`, { headers: auth(token), body: coupon }),
    list: (token: string | undefined, username: string, page?: string | number) =>
      api.request(
        'GET',
        `/api/users/${encodeURIComponent(username)}/coupons${page === undefined ? '' : `?page=${encodeURIComponent(String(page))}`}`,
        { headers: auth(token) },
      ),
    grab: (token: string | undefined, seller: string, name: string) =>
      api.request('PATCH', `/api/users/${encodeURIComponent(seller)}/coupons/${encodeURIComponent(name)}`, {
        headers: auth(token),
      }),
    health: () => api.request('GET', '/api/health'),
    /** Registers and logs in; returns the token. */
    async user(username: string, kind: 'customer' | 'saler', password = 'secret123'): Promise<string> {
      // Setup of many users at once meets the hash lane's limit: a 503 busy is tried again, soon.
      const reg = await busyRetried(() => api.request('POST', '/api/users', { body: { username, password, kind } }));
      if (reg.status !== 201) throw new Error(`register ${username}: ${reg.status} ${reg.text}`);
      const res = await busyRetried(() => api.request('POST', '/api/auth', { body: { username, password } }));
      const token = res.headers.authorization;
      if (res.status !== 200 || !token) throw new Error(`login ${username}: ${res.status} ${res.text}`);
      return token;
    },
  };
}

export type Client = ReturnType<typeof client>;

/** For test setup: a `503 "Server busy."` (the hash lane is full) is sent again after a short pause. */
async function busyRetried(send: () => Promise<ApiResponse>): Promise<ApiResponse> {
  for (let attempt = 0; ; attempt++) {
    const res = await send();
    if (res.status !== 503 || res.body?.errMsg !== 'Server busy. Retry shortly.' || attempt >= 100) return res;
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
  }
}

/**
 * Sends a request again after each 503, as a well-behaved client does: it waits the Retry-After the
 * answer carries (which must be there). Resolves the first other answer and the 503s seen before it.
 */
export async function untilAnswered(
  send: () => Promise<ApiResponse>,
  maxAttempts = 20,
): Promise<ApiResponse & { refusals: number }> {
  for (let refusals = 0; ; refusals++) {
    const res = await send();
    if (res.status !== 503 || refusals + 1 >= maxAttempts) return { ...res, refusals };
    const retryAfter = Number(res.headers['retry-after']);
    if (!Number.isInteger(retryAfter) || retryAfter < 1) throw new Error(`503 without Retry-After: ${res.text}`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
  }
}
