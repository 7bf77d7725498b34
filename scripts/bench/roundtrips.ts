/**
 * Redis cost of each grab outcome, without MONITOR: N grabs one after another through the handler
 * in this process, counting
 * - the commands the handlers' ioredis client sends (its `sendCommand`, pipelined ones included),
 * - the writes on its socket: with one request at a time, each write is one round trip
 *   (auto-pipelining sends commands issued in the same tick in one write),
 * - the server's `total_commands_processed` and `INFO commandstats` deltas (commands run inside
 *   the Lua script count there too; other clients of the same server add noise),
 * and the handler's duration at concurrency 1, which is what Lambda bills.
 */
import type Redis from 'ioredis';
import { type LatencyStats, latencyStats } from './recorder';
import { handlerRedis, resetData, type Stack } from './stack';
import type { Transport } from './transport';
import { createCoupon, createUsers, newLedger } from './workloads';

export interface OutcomeCost {
  grabs: number;
  status: Record<string, number>;
  /** Commands the handler's client sent, per grab. */
  clientCommands: number;
  /** Socket writes per grab = sequential round trips. */
  roundTrips: number;
  /** `total_commands_processed` delta per grab (script-internal commands included). */
  serverCommands: number;
  /** Per-command calls per grab, from `INFO commandstats`. */
  commandstats: Record<string, number>;
  durationMs: LatencyStats;
}

type Counted = { commands: number; writes: number };

/** Counts commands and socket writes of the client until `restore()`. */
function instrument(r: Redis): { counted: Counted; restore(): void } {
  const counted: Counted = { commands: 0, writes: 0 };
  const originalSend = r.sendCommand;
  const send = originalSend.bind(r);
  r.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    counted.commands++;
    return send(...args);
  }) as Redis['sendCommand'];
  const stream = r.stream;
  const originalWrite = stream.write;
  const write = originalWrite.bind(stream) as (...a: unknown[]) => boolean;
  stream.write = ((...a: unknown[]) => {
    counted.writes++;
    return write(...a);
  }) as typeof stream.write;
  return {
    counted,
    restore() {
      r.sendCommand = originalSend;
      stream.write = originalWrite;
    },
  };
}

function parseInfo(text: string): { total: number; calls: Map<string, number> } {
  const total = Number(/total_commands_processed:(\d+)/.exec(text)?.[1] ?? 0);
  const calls = new Map<string, number>();
  for (const m of text.matchAll(/cmdstat_([a-z|_-]+):calls=(\d+)/g)) calls.set(m[1] as string, Number(m[2]));
  return { total, calls };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export async function measureRoundTrips(s: Stack, t: Transport, n: number): Promise<Record<string, OutcomeCost>> {
  await resetData(s);
  const deadline = Date.now() + 60_000;
  const ledger = newLedger();
  await createUsers(t, ['rt_saler'], 'saler', ledger, deadline);
  await createUsers(t, ['rt_a', 'rt_b'], 'customer', ledger, deadline);
  for (let i = 0; i < n; i++) {
    await createCoupon(t, ledger, { seller: 'rt_saler', name: `rt_${i}`, amount: 10, stock: 5, description: 'fsdfd' });
  }
  await createCoupon(t, ledger, { seller: 'rt_saler', name: 'rt_one', amount: 1, stock: 5, description: 'fsdfd' });
  const a = ledger.tokens.get('rt_a');
  const b = ledger.tokens.get('rt_b');
  const grab = (name: string, token?: string) => t.request('PATCH', `/api/users/rt_saler/coupons/${name}`, { token });

  const r = handlerRedis() as Redis;
  await r.ping();
  const { counted, restore } = instrument(r);

  const measure = async (call: (i: number) => Promise<{ status: number }>): Promise<OutcomeCost> => {
    const before = parseInfo((await s.admin.call('INFO', 'stats', 'commandstats')) as string);
    const c0 = { ...counted };
    const durations: number[] = [];
    const status: Record<string, number> = {};
    for (let i = 0; i < n && Date.now() < deadline; i++) {
      const t0 = performance.now();
      const reply = await call(i);
      durations.push(performance.now() - t0);
      status[reply.status] = (status[reply.status] ?? 0) + 1;
    }
    const after = parseInfo((await s.admin.call('INFO', 'stats', 'commandstats')) as string);
    const grabs = durations.length;
    const commandstats: Record<string, number> = {};
    for (const [cmd, calls] of after.calls) {
      const delta = calls - (before.calls.get(cmd) ?? 0) - (cmd === 'info' ? 1 : 0);
      if (delta > 0) commandstats[cmd] = round2(delta / grabs);
    }
    durations.sort((x, y) => x - y);
    return {
      grabs,
      status,
      clientCommands: round2((counted.commands - c0.commands) / grabs),
      roundTrips: round2((counted.writes - c0.writes) / grabs),
      // The first INFO counts itself in the second one's total.
      serverCommands: round2((after.total - before.total - 1) / grabs),
      commandstats,
      durationMs: latencyStats(durations),
    };
  };

  const out: Record<string, OutcomeCost> = {};
  try {
    out.granted = await measure((i) => grab(`rt_${i}`, a));
    out['already-owned'] = await measure((i) => grab(`rt_${i}`, a));
    await grab('rt_one', a);
    out['sold-out'] = await measure(() => grab('rt_one', b));
    out['not-found'] = await measure(() => grab('rt_missing', b));
    out['list-own'] = await measure(() => t.request('GET', '/api/users/rt_a/coupons?page=1', { token: a }));
  } finally {
    restore();
  }
  return out;
}
