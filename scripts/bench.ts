/**
 * `npm run bench`: the reference workloads against the grab handler in this process, through
 * `npm start` and through `npm run dev` (serverless offline), next to the ceiling (redis-benchmark
 * running the grab script) measured in the same run; plus the consumer's persist rate, Redis round
 * trips per grab outcome, and the size and start-up time of the deployed grab bundle.
 * The JSON summary goes to stdout, progress to stderr; bench-results/ gets summary.json and
 * report.html. Any broken invariant makes the exit status non-zero. See docs/PERFORMANCE.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { mysql } from '../lib/clients/mysql';
import { useRestorer } from '../lib/restore-cache';
import { closeServices } from '../lib/services';
import { rebuildHere } from '../lib/warm-up';
import { type BundleResult, measureBundle } from './bench/bundle';
import { type Ceiling, measureCeiling } from './bench/ceiling';
import { type CostLine, costPerMillion, PRICES, serverlessSettings } from './bench/cost';
import { type BenchOptions, parseOptions } from './bench/options';
import { measurePersist, type PersistResult } from './bench/persist';
import { killAllSync, pidFromFile, progress, stopAll } from './bench/procs';
import {
  type CpuReport,
  type CpuSources,
  type LatencyStats,
  latencyHistogram,
  latencyStats,
  statusCounts,
  throughputSeries,
  watchCpu,
} from './bench/recorder';
import { type Bar, barsSvg, type RunPlot, renderReport } from './bench/report';
import { measureRoundTrips, type OutcomeCost } from './bench/roundtrips';
import { type ServerTarget, startServer } from './bench/servers';
import { closeStack, drain, resetData, type Stack, startConsumer, startStack } from './bench/stack';
import { httpTransport, inProcessTransport, type Transport } from './bench/transport';
import {
  type Ledger,
  type LoadRun,
  runClassic,
  runGrant,
  runHot,
  runSoldOut,
  setupClassic,
  setupHot,
  verify,
} from './bench/workloads';

const TARGET_RPS = 5000;
const BUCKET_MS = 100;

interface RunSummary {
  target: string;
  workload: string;
  requests: number;
  durationMs: number;
  throughput: number;
  latencyMs: LatencyStats;
  statusCounts: Record<string, number>;
  grabs: {
    requests: number;
    perSec: number;
    /** Share of the grabs answered 201. */
    grantShare: number;
    latencyMs: LatencyStats;
    statusCounts: Record<string, number>;
    reasons: Record<string, number>;
  };
  lists?: { requests: number; latencyMs: LatencyStats; statusCounts: Record<string, number> };
  clientCpuPct: number;
  cpu: CpuReport;
  /**
   * CPU microseconds per request of the process that runs the handlers (in process: this one;
   * HTTP: the server's processes): a figure the machine's other load does not change much.
   */
  cpuUsPerRequest: number | undefined;
  ratios: {
    /** Requests per second / 5,000. */
    vsTarget: number;
    /** Grabs per second / the ceiling for this run's mix of grants and failures. */
    grabsVsCeiling?: number;
    /** Ceiling ops/s for the run's grant share (harmonic blend of the two measured paths). */
    ceilingForMix?: number;
  };
  setupSeconds: number;
  drainMs: number;
  invariants: { ok: boolean; failures: string[] };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function blendedCeiling(c: Ceiling | undefined, grantShare: number): number | undefined {
  if (!c) return undefined;
  return 1 / (grantShare / c.grant.opsPerSec + (1 - grantShare) / c.soldOut.opsPerSec);
}

/** The higher of the measurements, path by path: the conservative reference for the ratios. */
function bestCeiling(measurements: Ceiling[]): Ceiling | undefined {
  const [first, ...rest] = measurements;
  if (!first) return undefined;
  const best = { ...first };
  for (const c of rest) {
    if (c.grant.opsPerSec > best.grant.opsPerSec) best.grant = c.grant;
    if (c.soldOut.opsPerSec > best.soldOut.opsPerSec) best.soldOut = c.soldOut;
  }
  return best;
}

function ratiosFor(r: RunSummary, c: Ceiling | undefined): RunSummary['ratios'] {
  const seconds = r.durationMs / 1000;
  const mix = blendedCeiling(c, r.grabs.grantShare);
  const grabsPerSec = r.grabs.requests / seconds;
  return {
    vsTarget: round(r.requests / seconds / TARGET_RPS, 3),
    grabsVsCeiling: mix ? round(grabsPerSec / mix, 3) : undefined,
    ceilingForMix: mix ? Math.round(mix) : undefined,
  };
}

function summarise(
  target: string,
  workload: string,
  run: LoadRun,
  cpu: CpuReport,
  checked: { failures: string[]; drainMs: number },
  setupSeconds: number,
  ceiling: Ceiling | undefined,
  plots: RunPlot[],
): RunSummary {
  const rec = run.recorder;
  const all = rec.select();
  const grab = rec.select('grab');
  const list = rec.select('list');
  const seconds = run.durationMs / 1000;
  const grabsPerSec = grab.latency.length / seconds;
  const grantShare = grab.latency.length ? run.created / grab.latency.length : 0;
  const title = `${target} / ${workload}`;
  plots.push({
    title,
    histogram: latencyHistogram(all.latency),
    p50: latencyStats(all.latency).p50,
    p99: latencyStats(all.latency).p99,
    bucketMs: BUCKET_MS,
    series: throughputSeries(all.endAt, BUCKET_MS, run.durationMs),
    grabSeries: throughputSeries(grab.endAt, BUCKET_MS, run.durationMs),
  });
  const s: RunSummary = {
    target,
    workload,
    requests: all.latency.length,
    durationMs: Math.round(run.durationMs),
    throughput: Math.round(all.latency.length / seconds),
    latencyMs: latencyStats(all.latency),
    statusCounts: statusCounts(all.status),
    grabs: {
      requests: grab.latency.length,
      perSec: Math.round(grabsPerSec),
      grantShare: round(grantShare, 4),
      latencyMs: latencyStats(grab.latency),
      statusCounts: statusCounts(grab.status),
      reasons: Object.fromEntries(rec.reasons),
    },
    clientCpuPct: cpu.clientPct,
    cpu,
    cpuUsPerRequest: (() => {
      const pct = target === 'inprocess' ? cpu.clientPct : cpu.serverPct;
      return pct === undefined || all.latency.length === 0
        ? undefined
        : round(((pct / 100) * cpu.wallSeconds * 1e6) / all.latency.length);
    })(),
    ratios: { vsTarget: 0 },
    setupSeconds: round(setupSeconds),
    drainMs: checked.drainMs,
    invariants: { ok: checked.failures.length === 0, failures: checked.failures },
  };
  s.ratios = ratiosFor(s, ceiling);
  if (list.latency.length > 0) {
    s.lists = {
      requests: list.latency.length,
      latencyMs: latencyStats(list.latency),
      statusCounts: statusCounts(list.status),
    };
  }
  const line =
    `${title}: ${s.requests} requests in ${(seconds).toFixed(1)} s = ${s.throughput} req/s, ` +
    `p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, client CPU ${cpu.clientPct}%` +
    (s.cpuUsPerRequest !== undefined ? `, handler CPU ${s.cpuUsPerRequest} µs/request` : '') +
    (s.ratios.grabsVsCeiling !== undefined ? `, grabs ${Math.round(100 * s.ratios.grabsVsCeiling)}% of ceiling` : '') +
    (s.invariants.ok ? ', invariants ok' : `, INVARIANTS FAILED: ${s.invariants.failures.join('; ')}`);
  progress(line);
  return s;
}

interface Context {
  o: BenchOptions;
  stack: Stack;
  setup: Transport;
  /** The best ceiling measured so far (final ratios use every measurement). */
  ceiling: Ceiling | undefined;
  ceilings: Ceiling[];
  cpuSources: CpuSources;
  runs: RunSummary[];
  plots: RunPlot[];
}

/**
 * Runs every workload against one target. Each load run and each check gets a transport of its
 * own (for HTTP: a new keep-alive agent), so no run reuses sockets the server may have closed while
 * they idled. `ownConsumer`: the target drains the queue itself.
 */
async function runWorkloads(
  ctx: Context,
  target: string,
  transport: () => Transport,
  ownConsumer: boolean,
): Promise<void> {
  const { o, stack, setup } = ctx;
  const drainQueue = async (expected: number) => {
    if (ownConsumer) return drain(stack, expected, 90_000);
    // In this process the consumer runs after the load, as another Lambda would: it does not
    // compete with the grab handler for this one thread while the load is measured.
    const consumer = startConsumer(stack);
    try {
      return await drain(stack, expected, 90_000);
    } finally {
      await consumer.stop();
    }
  };
  const measured = async (
    workload: string,
    ledger: Ledger,
    setupSeconds: number,
    go: (t: Transport, deadline: number) => Promise<LoadRun>,
  ) => {
    const load = transport();
    const cpu = watchCpu(ctx.cpuSources);
    let run: LoadRun;
    try {
      run = await go(load, Date.now() + o.runTimeoutMs);
    } finally {
      load.close();
    }
    const usage = cpu.stop();
    const check = transport();
    try {
      const checked = await verify(stack, check, ledger, run, drainQueue, 120_000);
      ctx.runs.push(summarise(target, workload, run, usage, checked, setupSeconds, ctx.ceiling, ctx.plots));
    } finally {
      check.close();
    }
  };

  await resetData(stack);
  let t0 = performance.now();
  const classic = await setupClassic(o, setup, Date.now() + 120_000);
  await measured('classic', classic, (performance.now() - t0) / 1000, (t, d) => runClassic(o, t, classic, d));

  await resetData(stack);
  t0 = performance.now();
  const hot = await setupHot(o, setup, Date.now() + 180_000);
  await measured('hot', hot, (performance.now() - t0) / 1000, (t, d) => runHot(o, t, hot, d));
  // In process, the sold-out run is the grab path's headline figure: repeated, the best one counts
  // (the other load on a shared machine can only slow a run down).
  const rounds = ownConsumer ? o.soldOutRounds : o.inProcessSoldOutRounds;
  const repeats = ownConsumer ? 1 : o.repeats;
  for (let i = 1; rounds > 0 && i <= repeats; i++) {
    await measured(i === 1 ? 'soldout' : `soldout (${i})`, hot, 0, (t, d) => runSoldOut(o, t, hot, rounds, d));
  }
  await measured('grant', hot, 0, (t, d) => runGrant(o, setup, t, hot, d));
}

function git(args: string[]): string {
  const r = spawnSync('git', args, { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const root = process.cwd();
  if (!existsSync(join(root, 'serverless.yml'))) throw new Error('run the bench from the project root (npm run bench)');
  const outDir = resolve(root, o.out);
  const logDir = join(outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const startedAt = Date.now();
  const failures: string[] = [];
  progress(`phases: ${[...o.only].join(', ')}${o.quick ? ' (quick)' : ''}; logs in ${logDir}`);

  const stack = await startStack(o, root, logDir);
  // The in-process handlers rebuild a cold cache here, as `npm start` does.
  useRestorer(rebuildHere);
  const setup = inProcessTransport();
  const redisInfo = await stack.admin.info('server');
  const [mysqlRows] = await mysql().query<RowDataPacket[]>('SELECT VERSION() AS v, @@pid_file AS pidFile');
  const cpuSources: CpuSources = {
    emulatorPid: stack.emulator.pid,
    redisPid: Number(/process_id:(\d+)/.exec(redisInfo)?.[1]) || undefined,
    mysqlPid: pidFromFile(mysqlRows[0]?.pidFile as string | undefined),
  };
  const ctx: Context = { o, stack, setup, ceiling: undefined, ceilings: [], cpuSources, runs: [], plots: [] };
  let roundTrips: Record<string, OutcomeCost> | undefined;
  const persist: PersistResult[] = [];
  let bundle: BundleResult | undefined;
  const startup: Record<string, number> = {};

  const phase = async (name: string, fn: () => Promise<void>) => {
    const t0 = performance.now();
    progress(`--- ${name}`);
    try {
      await fn();
    } catch (e: unknown) {
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      progress(`${name} failed: ${message}`);
      failures.push(`${name}: ${(e instanceof Error ? e.message : String(e)).slice(0, 2000)}`);
    }
    progress(`--- ${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  try {
    const ceiling = async () => {
      ctx.ceilings.push(await measureCeiling(stack, o.ceilingRequests));
      ctx.ceiling = bestCeiling(ctx.ceilings);
    };
    if (o.only.has('ceiling')) await phase('ceiling', ceiling);
    if (o.only.has('inprocess')) await phase('inprocess', () => runWorkloads(ctx, 'inprocess', () => setup, false));
    if (o.only.has('roundtrips')) {
      await phase('roundtrips', async () => {
        roundTrips = await measureRoundTrips(stack, setup, 100);
        for (const [k, v] of Object.entries(roundTrips)) {
          progress(
            `round trips ${k}: ${v.roundTrips} round trips, ${v.clientCommands} commands sent, ` +
              `${v.serverCommands} run by Redis, ${v.durationMs.p50} ms p50`,
          );
        }
      });
    }
    if (o.only.has('persist')) {
      await phase('persist', async () => {
        for (const order of ['grouped', 'interleaved'] as const) {
          const p = await measurePersist(stack, o.persistMessages, o.persistLoops, cpuSources, order);
          progress(
            `persist (${order}): ${p.persistPerSec} purchases/s (${p.messages} in ${p.drainSeconds} s), ` +
              `consumer alone ${p.consumerOnlyPerSec}/s`,
          );
          failures.push(...p.failures);
          persist.push(p);
        }
      });
    }
    for (const target of ['start', 'offline'] as ServerTarget[]) {
      if (!o.only.has(target)) continue;
      await phase(target, async () => {
        const extra: Record<string, string> = o.workers ? { SERVER_WORKERS: String(o.workers) } : {};
        const server = await startServer(target, stack, logDir, extra);
        startup[target] = server.startupSeconds;
        try {
          await runWorkloads(
            { ...ctx, cpuSources: { ...cpuSources, serverRoot: server.child.pid } },
            target,
            () => httpTransport(target, server.baseUrl, o.inflight),
            true,
          );
        } finally {
          await server.stop();
        }
      });
    }
    if (o.only.has('package')) {
      await phase('package', async () => {
        bundle = await measureBundle(root);
      });
    }
    // Once more at the end: the machine's other load changes over the run; the ratios use the best.
    if (o.only.has('ceiling') && !o.quick && ctx.runs.length > 0) await phase('ceiling (again)', ceiling);
  } finally {
    // Leave the bench's Redis database and queue empty (MySQL keeps the last run for inspection).
    await stack.admin.flushdb().catch(() => {});
    await closeServices().catch(() => {});
    await closeStack(stack).catch(() => {});
    await stopAll();
  }

  // ------------------------------------------------------------ summary
  for (const r of ctx.runs) r.ratios = ratiosFor(r, ctx.ceiling);
  for (const r of ctx.runs) for (const f of r.invariants.failures) failures.push(`${r.target}/${r.workload}: ${f}`);
  const find = (target: string, workload: string) =>
    ctx.runs.find((r) => r.target === target && r.workload === workload);
  const sls = serverlessSettings(root);
  const cost: CostLine[] = [];
  if (roundTrips?.granted && roundTrips['sold-out']) {
    const inputs = {
      memoryMb: sls.memoryMb,
      consumerBatchSize: sls.batchSize,
      grantMs: roundTrips.granted.durationMs.p50,
      failedMs: roundTrips['sold-out'].durationMs.p50,
      consumerBatchMs: persist.length ? Math.max(...persist.map((p) => p.batchMs.mean)) : 50,
    };
    const classic = find('inprocess', 'classic');
    const classicShare = classic?.grabs.requests
      ? (classic.grabs.statusCounts['201'] ?? 0) / classic.grabs.requests
      : 0.1;
    cost.push(
      costPerMillion(`classic mix (${round(100 * classicShare)}% granted), measured durations`, classicShare, inputs),
    );
    cost.push(costPerMillion('hot coupon mix (5% granted), measured durations', 0.05, inputs));
    cost.push(costPerMillion('every grab granted, measured durations', 1, inputs));
    // On AWS the Redis and SQS round trips cross the network (ElastiCache ~0.3-0.5 ms, SQS ~5-10 ms).
    cost.push(
      costPerMillion('classic mix, assumed AWS durations (failed 3 ms, granted 15 ms)', classicShare, {
        ...inputs,
        grantMs: 15,
        failedMs: 3,
      }),
    );
  }

  const targets: { name: string; target: string; value: number | string | undefined; met: boolean | undefined }[] = [];
  const soldout = ctx.runs
    .filter((r) => r.target === 'inprocess' && r.workload.startsWith('soldout'))
    .sort((a, b) => (b.ratios.grabsVsCeiling ?? 0) - (a.ratios.grabsVsCeiling ?? 0))[0];
  const hot = find('inprocess', 'hot');
  targets.push({
    name: `in-process grab throughput vs ceiling (sustained sold-out grabs, best of ${o.repeats})`,
    target: '>= 50%',
    value: soldout?.ratios.grabsVsCeiling,
    met: soldout?.ratios.grabsVsCeiling === undefined ? undefined : soldout.ratios.grabsVsCeiling >= 0.5,
  });
  targets.push({
    name: 'in-process grab throughput vs ceiling (hot coupon)',
    target: '>= 50%',
    value: hot?.ratios.grabsVsCeiling,
    met: hot?.ratios.grabsVsCeiling === undefined ? undefined : hot.ratios.grabsVsCeiling >= 0.5,
  });
  for (const t of ['inprocess', 'start', 'offline']) {
    const c = find(t, 'classic');
    if (c) {
      targets.push({
        name: `${t} classic workload throughput`,
        target: `>= ${TARGET_RPS} req/s`,
        value: c.throughput,
        met: c.throughput >= TARGET_RPS,
      });
    }
  }
  for (const p of persist) {
    targets.push({
      name: `consumer persist rate (${p.order} queue, poller + consumer)`,
      target: '>= 5000 purchases/s',
      value: p.persistPerSec,
      met: p.persistPerSec >= 5000,
    });
  }
  if (bundle) {
    targets.push({
      name: 'grab bundle size (minified)',
      target: '< 300 KB',
      value: `${round(bundle.jsBytes / 1024)} KB`,
      met: bundle.jsBytes < 300 * 1024,
    });
    targets.push({
      name: 'grab bundle init (median of 5, --enable-source-maps as deployed)',
      target: '< 200 ms',
      value: bundle.initMsWithSourceMaps.median,
      met: bundle.initMsWithSourceMaps.median < 200,
    });
  }
  if (roundTrips?.['sold-out']) {
    targets.push({
      name: 'Redis round trips of a failed (sold-out) grab',
      target: '<= 2',
      value: roundTrips['sold-out'].roundTrips,
      met: roundTrips['sold-out'].roundTrips <= 2,
    });
  }

  const dirty = git(['status', '--porcelain', '--', 'lib', 'functions', 'lua']);
  const summary = {
    ok: failures.length === 0,
    failures,
    meta: {
      date: new Date(startedAt).toISOString(),
      durationSeconds: Math.round((Date.now() - startedAt) / 1000),
      quick: o.quick,
      phases: [...o.only],
      inflight: o.inflight,
      node: process.version,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model,
      loadavgAtStart: loadavg().map((l) => round(l, 2)),
      redis: /redis_version:(\S+)/.exec(redisInfo)?.[1],
      mysql: mysqlRows[0]?.v,
      commit: git(['rev-parse', '--short', 'HEAD']),
      uncommittedChangesIn: dirty ? dirty.split('\n').map((l) => l.slice(3)) : [],
      workloads: {
        classic: { sellers: o.sellers, couponsPerSeller: o.couponsPerSeller, amount: o.amount, customers: o.customers },
        hot: {
          customers: o.hotCustomers,
          amount: o.hotAmount,
          soldOutRounds: o.soldOutRounds,
          inProcessSoldOutRounds: o.inProcessSoldOutRounds,
        },
      },
      serverStartupSeconds: startup,
      scryptLogNForSetup: 10,
    },
    ceiling: ctx.ceiling
      ? {
          command: ctx.ceiling.command,
          grantOpsPerSec: ctx.ceiling.grant.opsPerSec,
          soldOutOpsPerSec: ctx.ceiling.soldOut.opsPerSec,
          measurements: ctx.ceilings.map(({ grant, soldOut }) => ({ grant, soldOut })),
        }
      : undefined,
    runs: ctx.runs,
    consumer: persist.length ? persist : undefined,
    bundle,
    roundTrips,
    cost: cost.length ? { prices: PRICES, memoryMb: sls.memoryMb, perMillionGrabs: cost } : undefined,
    targets,
  };

  const json = JSON.stringify(summary, null, 2);
  writeFileSync(join(outDir, 'summary.json'), `${json}\n`);
  const overview: string[] = [];
  if (ctx.runs.length) {
    const refs: Bar[] = [{ label: 'target', value: TARGET_RPS }];
    if (ctx.ceiling) refs.push({ label: 'ceiling (sold out)', value: ctx.ceiling.soldOut.opsPerSec });
    overview.push(
      barsSvg(
        'requests per second by target and workload',
        ctx.runs.map((r) => ({ label: `${r.target} / ${r.workload}`, value: r.throughput })),
        refs,
      ),
    );
    overview.push(
      barsSvg(
        'p99 latency (ms) by target and workload',
        ctx.runs.map((r) => ({ label: `${r.target} / ${r.workload}`, value: r.latencyMs.p99 })),
        [],
      ),
    );
  }
  const sections = [
    {
      title: 'Targets',
      rows: targets.map((t) => ({ ...t, met: t.met === undefined ? 'n/a' : t.met ? 'met' : 'MISSED' })),
    },
    {
      title: 'Runs',
      rows: ctx.runs.map((r) => ({
        target: r.target,
        workload: r.workload,
        requests: r.requests,
        s: round(r.durationMs / 1000, 2),
        'req/s': r.throughput,
        'grabs/s': r.grabs.perSec,
        'p50 ms': r.latencyMs.p50,
        'p90 ms': r.latencyMs.p90,
        'p99 ms': r.latencyMs.p99,
        'max ms': r.latencyMs.max,
        statuses: r.statusCounts,
        'vs ceiling': r.ratios.grabsVsCeiling,
        'vs 5000': r.ratios.vsTarget,
        'handler CPU µs/req': r.cpuUsPerRequest,
        cpu: r.cpu,
        invariants: r.invariants.ok ? 'ok' : r.invariants.failures.join('; '),
      })),
    },
    {
      title: 'Ceiling (redis-benchmark, grab script)',
      rows: ctx.ceilings.flatMap((c, i) => [
        { measurement: i + 1, path: 'grant', ...c.grant },
        { measurement: i + 1, path: 'sold out', ...c.soldOut },
      ]),
    },
    {
      title: 'Redis cost per grab outcome (sequential, in-process)',
      rows: Object.entries(roundTrips ?? {}).map(([k, v]) => ({ outcome: k, ...v })),
    },
    { title: 'Consumer', rows: persist.map((p) => ({ ...p })) },
    { title: 'Grab bundle', rows: bundle ? [{ ...bundle }] : [] },
    { title: 'AWS cost per million grabs (USD)', rows: cost.map((c) => ({ scenario: c.scenario, ...c.usd })) },
  ];
  writeFileSync(join(outDir, 'report.html'), renderReport(summary, sections, overview, ctx.plots, TARGET_RPS));
  process.stdout.write(`${json}\n`);
  progress(`wrote ${join(outDir, 'summary.json')} and report.html in ${summary.meta.durationSeconds} s`);
  if (failures.length) progress(`FAILED: ${failures.length} problem(s):\n  ${failures.join('\n  ')}`);
  return failures.length === 0 ? 0 : 1;
}

process.on('exit', killAllSync);
// A last bound on the whole run, whatever hangs: stop everything and fail.
const WATCHDOG_MS = 20 * 60_000;
setTimeout(() => {
  progress(`the bench ran for over ${WATCHDOG_MS / 60_000} minutes: stopping`);
  void stopAll().finally(() => process.exit(1));
}, WATCHDOG_MS).unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping the children`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    void stopAll().finally(() => process.exit(1));
  },
);
