/**
 * The ceiling: what Redis itself does with the grab script on this machine, measured with
 * redis-benchmark (50 connections, no pipelining) in the same run as everything else. Two paths:
 * a real grant (`left` large, a random customer each call) and sold out (`left` 0).
 */
import { spawn } from 'node:child_process';
import { couponKeys } from '../../lib/keys';
import grabLua from '../../lua/grab-coupon.lua';
import { cpuSeconds, progress } from './procs';
import type { Stack } from './stack';

export interface CeilingPath {
  opsPerSec: number;
  avgLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Grants counted from `left` afterwards (random customers may repeat: those are re-grants). */
  grants?: number;
  /** CPU of redis-benchmark itself, % of one core. */
  benchmarkCpuPct: number;
  redisCpuPct: number;
  /** Redis CPU microseconds per script call. */
  redisCpuUsPerOp: number;
}

export interface Ceiling {
  sha: string;
  command: string;
  grant: CeilingPath;
  soldOut: CeilingPath;
}

const SELLER = 'bench_ceiling';
const NAME = 'ceiling';
const LARGE = 1_000_000_000;

function parseUrl(redisUrl: string): { host: string; port: string; db: string } {
  const u = new URL(redisUrl);
  return { host: u.hostname || '127.0.0.1', port: u.port || '6379', db: u.pathname.replace('/', '') || '0' };
}

function runBenchmark(args: string[], timeoutMs: number): Promise<{ csv: string; cpuS: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    // Its CPU, sampled while it runs (the last sample is at most 100 ms before it exits).
    let cpuS = 0;
    const sampler = setInterval(() => {
      if (child.pid) cpuS = Math.max(cpuS, cpuSeconds([child.pid]));
    }, 100);
    const finish = () => {
      clearTimeout(timer);
      clearInterval(sampler);
    };
    child.once('error', (e) => {
      finish();
      reject(new Error(`redis-benchmark could not start (${e.message}); is it installed?`));
    });
    child.once('exit', (code) => {
      finish();
      if (code !== 0) reject(new Error(`redis-benchmark exited with ${code}: ${err || out}`));
      else resolve({ csv: out, cpuS });
    });
  });
}

/** `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"` */
function parseCsv(csv: string): { rps: number; avg: number; p50: number; p99: number } {
  const lines = csv
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('"'));
  const header = (lines[0] ?? '').split(',').map((h) => h.replace(/"/g, ''));
  const row = (lines[lines.length - 1] ?? '').split('","').map((v) => v.replace(/"/g, ''));
  // The command (first column) contains no `","`; the values follow it.
  const value = (name: string) => Number(row[header.indexOf(name)]);
  const rps = value('rps');
  if (!Number.isFinite(rps) || rps <= 0) throw new Error(`cannot read redis-benchmark's output:\n${csv}`);
  return { rps, avg: value('avg_latency_ms'), p50: value('p50_latency_ms'), p99: value('p99_latency_ms') };
}

async function cpuOf(s: Stack): Promise<number> {
  const info = await s.admin.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_sys') + num('used_cpu_user');
}

export async function measureCeiling(s: Stack, requests: number): Promise<Ceiling> {
  const sha = (await s.admin.script('LOAD', grabLua)) as string;
  const k = couponKeys(SELLER, NAME);
  const { host, port, db } = parseUrl(s.redisUrl);
  const args = (extra: string[]) => [
    '-h',
    host,
    '-p',
    port,
    '--dbnum',
    db,
    '-n',
    String(requests),
    '-c',
    '50',
    '-r',
    '100000000',
    '--csv',
    ...extra,
  ];
  const command = ['EVALSHA', sha, '3', k.info, k.holders, k.outbox, '__rand_int__', String(Date.now()), 'bench-req'];
  const measure = async (label: string): Promise<CeilingPath> => {
    const t0 = performance.now();
    const r0 = await cpuOf(s);
    const { csv, cpuS } = await runBenchmark(args(command), 120_000);
    const wall = (performance.now() - t0) / 1000;
    const redisCpu = (await cpuOf(s)) - r0;
    const p = parseCsv(csv);
    progress(`ceiling ${label}: ${Math.round(p.rps)} ops/s (p50 ${p.p50} ms, p99 ${p.p99} ms)`);
    return {
      opsPerSec: Math.round(p.rps),
      avgLatencyMs: p.avg,
      p50Ms: p.p50,
      p99Ms: p.p99,
      requests,
      benchmarkCpuPct: Math.round((1000 * cpuS) / wall) / 10,
      redisCpuPct: Math.round((1000 * redisCpu) / wall) / 10,
      redisCpuUsPerOp: Math.round((redisCpu / requests) * 1e7) / 10,
    };
  };

  await s.admin.del(k.info, k.holders, k.outbox);
  await s.admin.hset(k.info, { id: 1, amount: LARGE, left: LARGE, stock: 5, description: 'fsdfd' });
  const grant = await measure('grant');
  grant.grants = LARGE - Number(await s.admin.hget(k.info, 'left'));
  if (grant.grants < requests * 0.99) {
    throw new Error(`ceiling: only ${grant.grants} of ${requests} calls were grants; the keys or the script differ`);
  }
  await s.admin.del(k.holders, k.outbox);
  await s.admin.hset(k.info, 'left', 0);
  const soldOut = await measure('sold out');
  const holders = await s.admin.scard(k.holders);
  if (holders !== 0 || Number(await s.admin.hget(k.info, 'left')) !== 0) {
    throw new Error('ceiling: the sold-out run granted something');
  }
  await s.admin.del(k.info, k.holders, k.outbox);
  return { sha, command: `redis-benchmark ${args(command).join(' ')}`, grant, soldOut };
}
