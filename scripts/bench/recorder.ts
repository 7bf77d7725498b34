/**
 * Per-request latency and status in typed arrays (no allocation per request), and what a run
 * reports from them: percentiles, status counts, throughput over time, a latency histogram, and
 * the CPU each process used while it ran.
 */
import { cpuSeconds, machineCpu, processTree } from './procs';

export const KIND = { grab: 0, list: 1 } as const;
export type Kind = keyof typeof KIND;

export class Recorder {
  private latency: Float64Array;
  private endAt: Float64Array;
  private status: Uint16Array;
  private kind: Uint8Array;
  count = 0;
  /** `X-Seckill-Reason` of the grab 204s. */
  readonly reasons = new Map<string, number>();
  readonly t0 = performance.now();

  constructor(capacity: number) {
    const n = Math.max(16, capacity);
    this.latency = new Float64Array(n);
    this.endAt = new Float64Array(n);
    this.status = new Uint16Array(n);
    this.kind = new Uint8Array(n);
  }

  private grow() {
    const n = this.latency.length * 2;
    const copy = <T extends Float64Array | Uint16Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.latency = copy(this.latency, new Float64Array(n));
    this.endAt = copy(this.endAt, new Float64Array(n));
    this.status = copy(this.status, new Uint16Array(n));
    this.kind = copy(this.kind, new Uint8Array(n));
  }

  record(kind: Kind, status: number, startMs: number, endMs: number, reason?: string) {
    if (this.count === this.latency.length) this.grow();
    const i = this.count++;
    this.latency[i] = endMs - startMs;
    this.endAt[i] = endMs - this.t0;
    this.status[i] = status;
    this.kind[i] = KIND[kind];
    if (reason) this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  /** Latencies (sorted) and statuses of one kind of request, or of all. */
  select(kind?: Kind): { latency: Float64Array; status: Uint16Array; endAt: Float64Array } {
    const want = kind === undefined ? -1 : KIND[kind];
    const idx: number[] = [];
    for (let i = 0; i < this.count; i++) if (want < 0 || this.kind[i] === want) idx.push(i);
    const latency = new Float64Array(idx.length);
    const status = new Uint16Array(idx.length);
    const endAt = new Float64Array(idx.length);
    idx.forEach((j, k) => {
      latency[k] = this.latency[j] ?? 0;
      status[k] = this.status[j] ?? 0;
      endAt[k] = this.endAt[j] ?? 0;
    });
    latency.sort();
    return { latency, status, endAt };
  }
}

export interface LatencyStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}

export function latencyStats(sorted: Float64Array | number[]): LatencyStats {
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mean: round(sorted.length ? sum / sorted.length : 0, 3),
    p50: round(percentile(sorted, 50), 3),
    p90: round(percentile(sorted, 90), 3),
    p99: round(percentile(sorted, 99), 3),
    max: round(sorted.length ? (sorted[sorted.length - 1] ?? 0) : 0, 3),
  };
}

export function statusCounts(status: Uint16Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of status) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

/** Completions per bucket, as requests per second. */
export function throughputSeries(endAt: Float64Array, bucketMs: number, durationMs: number): number[] {
  const buckets = new Array<number>(Math.max(1, Math.ceil(durationMs / bucketMs))).fill(0);
  for (const t of endAt) {
    const b = Math.min(buckets.length - 1, Math.max(0, Math.floor(t / bucketMs)));
    buckets[b] = (buckets[b] ?? 0) + 1;
  }
  return buckets.map((n) => round((n * 1000) / bucketMs, 1));
}

/** Log-spaced latency histogram: bucket upper bounds (ms) and counts. */
export function latencyHistogram(sorted: Float64Array): { bounds: number[]; counts: number[] } {
  const perDecade = 10;
  const lo = 0.01;
  const bounds: number[] = [];
  for (let i = 1; i <= 7 * perDecade; i++) bounds.push(round(lo * 10 ** (i / perDecade), 4));
  const counts = new Array<number>(bounds.length).fill(0);
  let b = 0;
  for (const v of sorted) {
    while (b < bounds.length - 1 && v > (bounds[b] ?? 0)) b++;
    counts[b] = (counts[b] ?? 0) + 1;
  }
  // Trim empty buckets at both ends.
  let first = counts.findIndex((c) => c > 0);
  let last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
  if (first < 0) {
    first = 0;
    last = 0;
  }
  return { bounds: bounds.slice(first, last + 1), counts: counts.slice(first, last + 1) };
}

// ---------------------------------------------------------------- CPU over a run

export interface CpuWatch {
  stop(): CpuReport;
}

export interface CpuReport {
  /** Wall time the figures below cover. */
  wallSeconds: number;
  /** This process (the load client; in-process runs: client and handlers together), % of one core. */
  clientPct: number;
  /** Server process tree (HTTP targets), % of one core (several cores may add up past 100). */
  serverPct?: number;
  emulatorPct?: number;
  redisPct?: number;
  mysqlPct?: number;
  /** Every process on the machine, % of all cores. */
  machinePct: number;
  /** Processes not listed above (other work on a shared machine), % of one core. */
  outsidePct: number;
}

export interface CpuSources {
  serverRoot?: number;
  emulatorPid?: number;
  redisPid?: number;
  mysqlPid?: number;
}

const pct = (cpuS: number, wallS: number) => (wallS > 0 ? round((100 * cpuS) / wallS, 1) : 0);

export function watchCpu(src: CpuSources): CpuWatch {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = machineCpu();
  const serverPids = src.serverRoot ? processTree(src.serverRoot) : [];
  const other = (pid?: number) => (pid ? cpuSeconds([pid]) : 0);
  const s0 = cpuSeconds(serverPids);
  const e0 = other(src.emulatorPid);
  const r0 = other(src.redisPid);
  const d0 = other(src.mysqlPid);
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const m1 = machineCpu();
      const client = (c.user + c.system) / 1e6;
      const server = src.serverRoot ? cpuSeconds(serverPids) - s0 : 0;
      const emulator = other(src.emulatorPid) - e0;
      const redis = other(src.redisPid) - r0;
      const mysql = other(src.mysqlPid) - d0;
      const report: CpuReport = {
        wallSeconds: round(wall, 3),
        clientPct: pct(client, wall),
        machinePct: m1.total > m0.total ? round((100 * (m1.busy - m0.busy)) / (m1.total - m0.total), 1) : 0,
        outsidePct: Math.max(0, pct(m1.busy - m0.busy - client - server - emulator - redis - mysql, wall)),
      };
      if (src.serverRoot) report.serverPct = pct(server, wall);
      if (src.emulatorPid) report.emulatorPct = pct(emulator, wall);
      if (src.redisPid) report.redisPct = pct(redis, wall);
      if (src.mysqlPid) report.mysqlPct = pct(mysql, wall);
      return report;
    },
  };
}
