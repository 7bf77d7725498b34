/**
 * Runs a workload: over HTTP with autocannon, or in this process through the handlers (the route
 * table picks handler and path parameters) with the same request sequences and the same rules:
 * `connections` virtual users, `total` requests shared out as autocannon shares `amount`, the
 * context starting over with each pass through the sequence. Latency by kind of request goes into
 * HdrHistograms.
 */
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { httpApiEvent, lambdaContext } from '../server/invocation';
import { matchRoute } from '../server/routes';
import { type Kind, lastResponse, type Step, type Workload } from './workloads';

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

/** One request through the handler the route table names, as API Gateway would invoke it. */
export async function invoke(
  method: string,
  path: string,
  o: { token?: string; body?: unknown; headers?: Record<string, unknown> } = {},
): Promise<Reply> {
  const [rawPath = '', rawQuery = ''] = path.split('?');
  const match = matchRoute(method, rawPath);
  if (!match) return { status: 404, body: '', headers: {} };
  const headers: Record<string, string> = { host: 'localhost', 'user-agent': 'bench' };
  for (const [k, v] of Object.entries(o.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (o.token !== undefined) headers.authorization = o.token;
  const body = typeof o.body === 'string' || o.body === undefined ? o.body : JSON.stringify(o.body);
  try {
    const event = { method, rawPath, rawQuery, routeKey: match.routeKey, pathParameters: match.pathParameters };
    const r = await match.handler(httpApiEvent({ ...event, headers, body }), lambdaContext('bench'));
    return { status: r.statusCode, body: r.body ?? '', headers: r.headers ?? {} };
  } catch (e: unknown) {
    return { status: 599, body: String(e), headers: {} };
  }
}

export interface Latency {
  count: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  latency: Latency;
  byKind: Partial<Record<Kind, Latency>>;
  statuses: Record<string, number>;
  /** Connection errors and timeouts (HTTP). */
  errors: number;
  completed: boolean;
}

class Tally {
  readonly all = hdr.build({ highestTrackableValue: 600_000_000 });
  readonly kinds = new Map<Kind, hdr.Histogram>();
  readonly statuses: Record<string, number> = {};

  record(kind: Kind, status: number, ms: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    this.all.recordValue(us);
    const h = this.kinds.get(kind) ?? hdr.build({ highestTrackableValue: 600_000_000 });
    this.kinds.set(kind, h);
    h.recordValue(us);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  result(w: Workload, seconds: number, errors: number): LoadResult {
    const stats = (h: hdr.Histogram): Latency => ({
      count: h.totalCount,
      meanMs: Math.round(h.mean) / 1000,
      p50Ms: h.getValueAtPercentile(50) / 1000,
      p99Ms: h.getValueAtPercentile(99) / 1000,
      maxMs: h.maxValue / 1000,
    });
    const requests = this.all.totalCount;
    return {
      requests,
      seconds: Math.round(seconds * 100) / 100,
      rps: Math.round(requests / seconds),
      latency: stats(this.all),
      byKind: Object.fromEntries([...this.kinds].map(([k, h]) => [k, stats(h)])),
      statuses: this.statuses,
      errors,
      completed: errors === 0 && requests === w.total,
    };
  }
}

/** Requests of connection `i`: autocannon's share of `amount`. */
const share = (w: Workload, i: number) => Math.floor(w.total / w.connections) + (i < w.total % w.connections ? 1 : 0);

export async function runInProcess(w: Workload): Promise<LoadResult> {
  const tally = new Tally();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: w.connections }, async (_, c) => {
      let ctx: object = {};
      for (let r = 0; r < share(w, c); r++) {
        const i = r % w.requests.length;
        if (i === 0) ctx = {};
        const step = w.requests[i] as Step;
        const req = step.setupRequest({}, ctx);
        const start = performance.now();
        const reply = await invoke(req.method ?? 'GET', req.path ?? '/', { headers: req.headers, body: req.body });
        const ms = performance.now() - start;
        step.onResponse(reply.status, reply.body, ctx, reply.headers as autocannon.Request['headers']);
        tally.record(lastResponse.kind, reply.status, ms);
      }
    }),
  );
  return tally.result(w, (performance.now() - t0) / 1000, 0);
}

export function runHttp(url: string, w: Workload): Promise<LoadResult> {
  const tally = new Tally();
  const t0 = performance.now();
  let last = t0;
  return new Promise((resolve, reject) => {
    // autocannon notices the end at its next sample: sampled often, and timed to the last answer.
    const options = {
      url,
      connections: w.connections,
      amount: w.total,
      requests: w.requests,
      timeout: 60,
      sampleInt: 50,
    };
    const instance = autocannon(options, (err, result) =>
      err ? reject(err) : resolve(tally.result(w, (last - t0) / 1000, result.errors)),
    );
    // onResponse (which sets lastResponse.kind) runs just before autocannon emits `response`.
    instance.on('response', (_client, status, _bytes, ms) => {
      tally.record(lastResponse.kind, status, ms);
      last = performance.now();
    });
  });
}
