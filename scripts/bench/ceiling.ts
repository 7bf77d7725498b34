/**
 * The ceiling: what Redis itself does with the grab script on this machine, measured with
 * redis-benchmark (50 connections) in the same run as the workloads. Two paths: a real grant
 * (`left` large, a random customer each call) and sold out (`left` 0). Redis's CPU comes from
 * INFO, redis-benchmark's from its process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { couponKeys } from '../../lib/keys';
import grabLua from '../../lua/grab-coupon.lua';
import { progress, type Stack } from './stack';

export interface CeilingPath {
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Redis CPU per script call, µs, and % of one core during the measurement. */
  redisUsPerCall: number;
  redisCpuPct: number;
}

export interface Ceiling {
  command: string;
  grant: CeilingPath;
  soldOut: CeilingPath;
}

async function redisCpuSeconds(s: Stack): Promise<number> {
  const info = await s.admin.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_sys') + num('used_cpu_user');
}

export async function measureCeiling(s: Stack, requests: number): Promise<Ceiling> {
  const sha = (await s.admin.script('LOAD', grabLua)) as string;
  const k = couponKeys('bench_ceiling', 'ceiling');
  const u = new URL(s.redisUrl);
  const args = [
    ...['-h', u.hostname, '-p', u.port || '6379', '--dbnum', u.pathname.slice(1) || '0'],
    ...['-n', String(requests), '-c', '50', '-r', '100000000', '--csv'],
    // The grab script's keys and arguments (lua/grab-coupon.lua), with the default settings: no
    // rate limit, so its two rate keys are named but never touched.
    ...['EVALSHA', sha, '7', k.info, k.holders, k.outbox, k.stats, k.seconds, k.customerRate('c'), k.addressRate('a')],
    ...['__rand_int__', String(Date.now()), 'bench-req', '0', '1', '0', '1'],
  ];
  const measure = async (label: string): Promise<CeilingPath> => {
    const [c0, t0] = [await redisCpuSeconds(s), performance.now()];
    const { stdout } = await promisify(execFile)('redis-benchmark', args, { timeout: 180_000 }).catch((e: unknown) => {
      throw new Error(`redis-benchmark failed (is it installed? it comes with Redis): ${String(e)}`);
    });
    const [wall, cpu] = [(performance.now() - t0) / 1000, (await redisCpuSeconds(s)) - c0];
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    const row = (stdout.trim().split('\n').pop() ?? '').split('","').map((v) => Number(v.replace(/"/g, '')));
    const [opsPerSec = 0, , , p50Ms = 0, , p99Ms = 0] = row.slice(1);
    if (!(opsPerSec > 0)) throw new Error(`cannot read redis-benchmark's output:\n${stdout}`);
    progress(`ceiling ${label}: ${Math.round(opsPerSec)} calls/s, Redis ${Math.round((100 * cpu) / wall)}% of a core`);
    return {
      opsPerSec: Math.round(opsPerSec),
      p50Ms,
      p99Ms,
      redisUsPerCall: Math.round((cpu / requests) * 1e7) / 10,
      redisCpuPct: Math.round((1000 * cpu) / wall) / 10,
    };
  };
  const large = 1_000_000_000;
  await s.admin.del(k.info, k.holders, k.outbox, k.stats, k.seconds);
  await s.admin.hset(k.info, { id: 1, amount: large, left: large, stock: 5, description: 'fsdfd' });
  const grant = await measure('grant');
  const granted = large - Number(await s.admin.hget(k.info, 'left'));
  if (granted < requests * 0.99) throw new Error(`ceiling: ${granted} of ${requests} calls were grants`);
  await s.admin.del(k.holders, k.outbox);
  await s.admin.hset(k.info, 'left', 0);
  const soldOut = await measure('sold out');
  if ((await s.admin.scard(k.holders)) !== 0) throw new Error('ceiling: the sold-out path granted something');
  await s.admin.del(k.info, k.holders, k.outbox, k.stats, k.seconds);
  return { command: `redis-benchmark ${args.join(' ')}`, grant, soldOut };
}
