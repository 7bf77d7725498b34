/**
 * `npm run bench`: the reference workloads (classic, hot coupon, the original plan) against the
 * handlers in this process, through `npm start` and through `npm run dev`, with autocannon as the
 * load generator; the ceiling (redis-benchmark on the grab script) in the same run; the invariants
 * after every run; the CPU of client, server and Redis. JSON summary on stdout, progress on stderr,
 * bench-results/summary.json and report.md. Any broken invariant makes the exit status non-zero.
 * Method and figures: docs/PERFORMANCE.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../lib/config';
import { useRestorer } from '../lib/restore-cache';
import { closeServices } from '../lib/services';
import { rebuildHere } from '../lib/warm-up';
import { type Ceiling, measureCeiling } from './bench/ceiling';
import { type LoadResult, runHttp, runInProcess } from './bench/load';
import { type GrabCost, grabCosts } from './bench/round-trips';
import {
  type CpuUse,
  killChildren,
  progress,
  type Stack,
  startServer,
  startStack,
  type Target,
  watchCpu,
} from './bench/stack';
import { classic, hot, originalPlan, type Sizes, verify, type Workload } from './bench/workloads';
import { killLocalServers } from './lib/local-server';
import { emptyStores } from './lib/stack';

const PHASES = ['ceiling', 'inprocess', 'start', 'offline'] as const;
const WORKLOADS = ['classic', 'hot', 'plan'] as const;
const USAGE = `usage: npm run bench -- [flags]
  --quick              a smoke run: small workloads, one ceiling measurement (a couple of minutes)
  --only=a,b           phases, of: ${PHASES.join(', ')} (default: all)
  --workloads=a,b      of: ${WORKLOADS.join(', ')} (default: all; hot includes the sold-out rounds)
  --inflight=N         virtual users of the hot coupon and the plan (default 200; classic: one per customer)
  --customers=N (200, quick 100)  --sellers=N (5)  --coupons=N per seller (10, quick 2)
  --hot-customers=N (2000, quick 500)  --hot-amount=N (100)  --soldout-rounds=N (5, quick 2)
  --plan-customers=N   customers of the plan (200, quick 20; rows = customers x coupons)
  --ceiling-n=N        redis-benchmark calls per path (200000, quick 20000)
  --redis-db=N         the bench's Redis database on REDIS_URL's server (default 14)
  --database=NAME      the bench's MySQL database (default <MYSQL_DATABASE>_bench)
  --workers=N          npm start worker processes     --out=DIR  results (bench-results)`;

function options(argv: string[]) {
  const strings = ['only', 'workloads', 'inflight', 'customers', 'sellers', 'coupons', 'hot-customers', 'hot-amount'];
  strings.push('plan-customers', 'soldout-rounds', 'ceiling-n', 'redis-db', 'database', 'workers', 'out');
  const spec = Object.fromEntries(strings.map((name) => [name, { type: 'string' as 'string' | 'boolean' }]));
  Object.assign(spec, { quick: { type: 'boolean' }, help: { type: 'boolean' } });
  const values = parseArgs({ args: argv, strict: true, options: spec }).values as Record<string, string | boolean>;
  if (values.help) {
    console.error(USAGE);
    process.exit(0);
  }
  const quick = values.quick === true;
  const int = (name: string, fallback: number, min = 1, max = 10_000_000) => {
    const raw = values[name];
    if (typeof raw !== 'string') return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      throw new Error(`--${name} must be an integer in ${min}-${max}\n${USAGE}`);
    return n;
  };
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const raw = values[name];
    if (typeof raw !== 'string') return [...all];
    const wanted = raw.split(',').filter(Boolean);
    for (const w of wanted) if (!all.includes(w as T)) throw new Error(`--${name}: unknown "${w}"\n${USAGE}`);
    return wanted as T[];
  };
  const sizes: Sizes = {
    sellers: int('sellers', 5),
    couponsPerSeller: int('coupons', quick ? 2 : 10),
    customers: int('customers', quick ? 100 : 200),
    hotCustomers: int('hot-customers', quick ? 500 : 2000),
    hotAmount: int('hot-amount', 100),
    inflight: int('inflight', 200, 1, 5000),
    planCustomers: int('plan-customers', quick ? 20 : 200),
  };
  const database = typeof values.database === 'string' ? values.database : undefined;
  if (database !== undefined && !/^\w{1,64}$/.test(database)) throw new Error('--database must be a plain identifier');
  return {
    quick,
    sizes,
    only: list('only', PHASES),
    workloads: list('workloads', WORKLOADS),
    soldoutRounds: int('soldout-rounds', quick ? 2 : 5, 0),
    ceilingN: int('ceiling-n', quick ? 20_000 : 200_000, 1000),
    redisDb: int('redis-db', 14, 0, 15),
    database,
    workers: values.workers === undefined ? undefined : int('workers', 2, 1, 64),
    out: typeof values.out === 'string' ? values.out : 'bench-results',
  };
}

type Options = ReturnType<typeof options>;

interface Run {
  target: string;
  workload: string;
  load: LoadResult;
  cpu: CpuUse;
  /** CPU of the process that runs the handlers, µs per request (in process: the bench itself). */
  handlerUsPerRequest: number | undefined;
  grabsPerSec: number;
  /** Share of the grabs answered 201. */
  grantShare: number;
  /** Grabs per second / the ceiling for this run's share of grants (the best ceiling of the run). */
  grabsVsCeiling?: number;
  /** What limits the figure, from the CPU of each process. */
  boundBy: string;
  drainMs: number;
  failures: string[];
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

/** The ceiling for a mix of grants and failures: the harmonic blend of the two paths. */
function ceilingFor(c: Ceiling | undefined, grantShare: number): number | undefined {
  return c && 1 / (grantShare / c.grant.opsPerSec + (1 - grantShare) / c.soldOut.opsPerSec);
}

function boundBy(target: string, cpu: CpuUse, inflight: number): string {
  const ours = cpu.client + (cpu.server ?? 0) + (cpu.redis ?? 0);
  const others = Math.max(0, Math.round(cpu.machine * cpu.cores - ours));
  const parts = `client ${cpu.client}%, server ${cpu.server ?? '-'}%, Redis ${cpu.redis ?? '-'}%, other processes ${others}% of a core`;
  if (cpu.machine >= 90) return `the machine: ${cpu.cores} cores ${cpu.machine}% busy (${parts})`;
  if (target === 'inprocess' && cpu.client >= 90) return `the bench process's one thread (${cpu.client}% of a core)`;
  if (cpu.client >= 90) return `the load client (${cpu.client}% of a core)`;
  if ((cpu.redis ?? 0) >= 90) return `Redis's one thread (${cpu.redis}% of a core)`;
  if ((cpu.server ?? 0) >= 90 * cpu.cores) return `the server's processes (${cpu.server}%)`;
  return `no CPU saturated (${parts}): waiting, with ${inflight} requests in flight`;
}

async function runTarget(o: Options, stack: Stack, target: 'inprocess' | Target) {
  const runs: Run[] = [];
  const server =
    target === 'inprocess'
      ? undefined
      : await startServer(stack, target, {
          ...(o.workers ? { SERVER_WORKERS: String(o.workers) } : {}),
        });
  if (server) progress(`${target}: ready on ${server.url} after ${server.startupSeconds} s`);
  const measure = async (w: Workload) => {
    const cpu = await watchCpu({ serverPid: server?.child.pid, redisPid: stack.redisPid });
    const load = server ? await runHttp(server.url, w) : await runInProcess(w);
    const use = await cpu();
    const { failures, drainMs } = await verify(stack, w, !server);
    if (!load.completed) failures.unshift(`${load.requests} of ${w.total} requests answered, ${load.errors} errors`);
    const grabs = load.byKind.grab?.count ?? 0;
    const grantShare = grabs ? (load.statuses['201'] ?? 0) / grabs : 0;
    const handlerPct = server ? use.server : use.client;
    const run: Run = {
      target,
      workload: w.name,
      load,
      cpu: use,
      handlerUsPerRequest:
        handlerPct === undefined ? undefined : Math.round(((handlerPct / 100) * use.wallSeconds * 1e6) / load.requests),
      grabsPerSec: Math.round(grabs / load.seconds),
      grantShare: round(grantShare, 4),
      boundBy: boundBy(target, use, w.connections),
      drainMs,
      failures,
    };
    progress(
      `${target} / ${w.name}: ${load.requests} requests in ${load.seconds} s = ${load.rps} req/s, p50 ${load.latency.p50Ms} ms, ` +
        `p99 ${load.latency.p99Ms} ms; CPU client ${use.client}%, server ${use.server ?? '-'}%, Redis ${use.redis ?? '-'}%; ` +
        (failures.length ? `INVARIANTS FAILED: ${failures.join('; ')}` : 'invariants ok'),
    );
    runs.push(run);
  };
  try {
    for (const name of o.workloads) {
      await emptyStores(stack);
      if (name === 'classic') await measure(await classic(o.sizes));
      if (name === 'hot') {
        const w = await hot(o.sizes);
        await measure(w);
        if (o.soldoutRounds > 0) await measure(await hot(o.sizes, o.soldoutRounds, w.ledger));
      }
      // The plan measures logins: its users are hashed with the production setting (the default).
      if (name === 'plan') await measure(await originalPlan(o.sizes));
    }
  } finally {
    if (server) await server.stop();
  }
  return { runs, startupSeconds: server?.startupSeconds };
}

function report(summary: Record<string, unknown>, runs: Run[], goals: Goal[], ceilings: Ceiling[]): string {
  const table = (head: string[], rows: (string | number | undefined)[][]) =>
    [head, head.map(() => '---'), ...rows.map((r) => r.map((v) => (v === undefined ? '' : String(v))))]
      .map((r) => `| ${r.join(' | ')} |`)
      .join('\n');
  const meta = summary.meta as Record<string, unknown>;
  return [
    `# Bench ${meta.date}${meta.quick ? ' (quick: small workloads, not figures to quote)' : ''}`,
    `Node ${meta.node}, ${meta.cpus} cores (${meta.cpuModel}), load average at start ${meta.loadavgAtStart}. ` +
      `Every ratio compares figures of this run. CPU in % of one core.`,
    '## Goals',
    table(
      ['goal', 'this run', 'status'],
      goals.map((g) => [g.name, g.value, g.met ? 'met' : `below the goal; bound by ${g.boundBy}`]),
    ),
    '## Redis round trips of one grab (in process; besides these, nothing)',
    table(
      ['outcome', 'round trips', 'commands'],
      ((summary.grabRoundTrips as GrabCost[] | undefined) ?? []).map((c) => [
        c.outcome,
        c.roundTrips,
        c.commands.join(' '),
      ]),
    ),
    '## Ratios (figures of this run)',
    table(
      ['ratio', 'value'],
      Object.entries(summary.ratios as Record<string, number>).map(([k, v]) => [k, `${v}x`]),
    ),
    '## Runs',
    table(
      [
        'target',
        'workload',
        'requests',
        's',
        'req/s',
        'p50 / p99 ms',
        'by kind: mean / p99 ms',
        'statuses',
        'vs ceiling',
        'CPU client / server / Redis',
        'µs/req',
        'bound by',
        'invariants',
      ],
      runs.map((r) => [
        r.target,
        r.workload,
        r.load.requests,
        r.load.seconds,
        r.load.rps,
        `${r.load.latency.p50Ms} / ${r.load.latency.p99Ms}`,
        Object.entries(r.load.byKind)
          .map(([k, v]) => `${k} ${v?.meanMs} / ${v?.p99Ms}`)
          .join(', '),
        Object.entries(r.load.statuses)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
        r.grabsVsCeiling === undefined ? undefined : `${round(100 * r.grabsVsCeiling, 1)}%`,
        `${r.cpu.client} / ${r.cpu.server ?? '-'} / ${r.cpu.redis ?? '-'}`,
        r.handlerUsPerRequest,
        r.boundBy,
        r.failures.length ? `${r.failures.length} failed: ${r.failures.slice(0, 3).join('; ')}` : 'ok',
      ]),
    ),
    '## Ceiling (redis-benchmark, grab script, 50 connections)',
    table(
      ['measurement', 'path', 'calls/s', 'p50 / p99 ms', 'Redis CPU', 'Redis µs per call'],
      ceilings.flatMap((c, i) =>
        (['grant', 'soldOut'] as const).map((p) => [
          i + 1,
          p,
          c[p].opsPerSec,
          `${c[p].p50Ms} / ${c[p].p99Ms}`,
          `${c[p].redisCpuPct}%`,
          c[p].redisUsPerCall,
        ]),
      ),
    ),
    '',
  ].join('\n\n');
}

interface Goal {
  name: string;
  value: string;
  met: boolean;
  boundBy: string;
}

function goalsOf(runs: Run[]): Goal[] {
  const goals: Goal[] = [];
  const soldout = runs.find((r) => r.target === 'inprocess' && r.workload === 'soldout');
  if (soldout?.grabsVsCeiling !== undefined) {
    goals.push({
      name: 'in-process failed grabs >= 50% of the ceiling (sold out)',
      value: `${round(100 * soldout.grabsVsCeiling, 1)}% (${Math.round((soldout.load.byKind.grab?.count ?? 0) / soldout.load.seconds)} grabs/s)`,
      met: soldout.grabsVsCeiling >= 0.5,
      boundBy: soldout.boundBy,
    });
  }
  for (const r of runs.filter((x) => x.workload === 'classic')) {
    goals.push({
      name: `${r.target}: classic workload >= 5,000 req/s`,
      value: `${r.load.rps} req/s, p99 ${r.load.latency.p99Ms} ms`,
      met: r.load.rps >= 5000,
      boundBy: r.boundBy,
    });
  }
  return goals;
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  const root = process.cwd();
  const outDir = resolve(root, o.out);
  const logDir = join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const startedAt = Date.now();
  progress(
    `phases ${o.only.join(', ')}; workloads ${o.workloads.join(', ')}${o.quick ? ' (quick)' : ''}; logs in ${logDir}`,
  );
  const stack = await startStack(o, root, logDir);
  useRestorer(rebuildHere);
  const ceilings: Ceiling[] = [];
  // The higher figure of each path over the run: the conservative reference for the ratios.
  const best = (): Ceiling | undefined =>
    ceilings.reduce<Ceiling | undefined>(
      (b, c) =>
        b && {
          command: c.command,
          grant: c.grant.opsPerSec > b.grant.opsPerSec ? c.grant : b.grant,
          soldOut: c.soldOut.opsPerSec > b.soldOut.opsPerSec ? c.soldOut : b.soldOut,
        },
      ceilings[0],
    );
  const runs: Run[] = [];
  const failures: string[] = [];
  let grabRoundTrips: GrabCost[] = [];
  const startup: Record<string, number | undefined> = {};
  const phase = async (name: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    progress(`--- ${name}`);
    await fn().catch((e: unknown) => {
      progress(`${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    });
    progress(`--- ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  try {
    if (o.only.includes('ceiling'))
      await phase('ceiling', async () => void ceilings.push(await measureCeiling(stack, o.ceilingN)));
    if (o.only.includes('inprocess')) {
      await phase('round trips', async () => {
        grabRoundTrips = await grabCosts(String(Date.now()));
        for (const c of grabRoundTrips)
          progress(`grab ${c.outcome}: ${c.roundTrips} round trip(s): ${c.commands.join(' ')}`);
      });
    }
    for (const target of ['inprocess', 'start', 'offline'] as const) {
      if (!o.only.includes(target)) continue;
      await phase(target, async () => {
        const r = await runTarget(o, stack, target);
        runs.push(...r.runs);
        startup[target] = r.startupSeconds;
      });
    }
    // Once more at the end: the machine's other load changes over a run.
    if (o.only.includes('ceiling') && !o.quick && runs.length > 0) {
      await phase('ceiling (again)', async () => void ceilings.push(await measureCeiling(stack, o.ceilingN)));
    }
  } finally {
    await stack.admin.flushdb().catch(() => {});
    stack.admin.disconnect();
    stack.sqs.destroy();
    await closeServices().catch(() => {});
    killChildren();
    killLocalServers();
  }

  // Ratios of this run only: each target against the in-process handlers, per workload.
  const ratios: Record<string, number> = {};
  for (const r of runs.filter((x) => x.target !== 'inprocess')) {
    const base = runs.find((x) => x.target === 'inprocess' && x.workload === r.workload);
    if (base) ratios[`${r.target} / in process, ${r.workload} req/s`] = round(r.load.rps / base.load.rps, 2);
  }
  for (const r of runs) {
    const ceiling = ceilingFor(best(), r.grantShare);
    r.grabsVsCeiling = ceiling && r.grabsPerSec ? round(r.grabsPerSec / ceiling) : undefined;
  }
  for (const r of runs) for (const f of r.failures) failures.push(`${r.target}/${r.workload}: ${f}`);
  const summary = {
    ok: failures.length === 0,
    failures,
    meta: {
      date: new Date(startedAt).toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      quick: o.quick,
      phases: o.only,
      workloads: o.workloads,
      sizes: o.sizes,
      passwordHash: config().auth.passwordHash,
      node: process.version,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model,
      loadavgAtStart: loadavg().map((l) => round(l, 2)),
      stores: { redis: stack.redisUrl, mysqlDatabase: stack.database },
      serverStartupSeconds: startup,
    },
    ceiling: best(),
    ceilings,
    grabRoundTrips,
    ratios,
    goals: goalsOf(runs),
    runs,
  };
  const json = JSON.stringify(summary, null, 2);
  writeFileSync(join(outDir, 'summary.json'), `${json}\n`);
  writeFileSync(join(outDir, 'report.md'), report(summary, runs, summary.goals, ceilings));
  process.stdout.write(`${json}\n`);
  progress(`wrote ${join(outDir, 'summary.json')} and report.md in ${summary.meta.durationSeconds} s`);
  if (failures.length) progress(`FAILED: ${failures.length} problem(s):\n  ${failures.join('\n  ')}`);
  return failures.length === 0 ? 0 : 1;
}

process.on('exit', () => {
  killChildren();
  killLocalServers();
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    process.exit(130);
  });
}
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
