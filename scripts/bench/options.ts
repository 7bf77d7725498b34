/** Command-line flags of `npm run bench` (`npm run bench -- --quick --only=inprocess,start`). */

export const PHASES = ['ceiling', 'inprocess', 'roundtrips', 'persist', 'start', 'offline', 'package'] as const;
export type Phase = (typeof PHASES)[number];

export interface BenchOptions {
  only: Set<Phase>;
  quick: boolean;
  /** Requests in flight (virtual users) of every load run. */
  inflight: number;
  sellers: number;
  couponsPerSeller: number;
  /** Amount of each classic coupon. */
  amount: number;
  customers: number;
  hotCustomers: number;
  hotAmount: number;
  /** Rounds of the sustained sold-out grab run (every hot customer grabs the sold-out coupon again). */
  soldOutRounds: number;
  /** The same for the in-process target, which is fast enough to need more for a stable figure. */
  inProcessSoldOutRounds: number;
  /** How many times the in-process sold-out run is repeated (the best counts). */
  repeats: number;
  ceilingRequests: number;
  persistMessages: number;
  /** Parallel receive loops of the poller in the consumer run (npm start and npm run dev use 2). */
  persistLoops: number;
  redisDb: number;
  database: string;
  out: string;
  /** HTTP worker processes of `npm start` (SERVER_WORKERS); default: the server's own default (cores). */
  workers: number | undefined;
  /** Upper bound of one load run, ms. */
  runTimeoutMs: number;
}

const USAGE = `usage: npm run bench -- [flags]
  --only=a,b        phases to run, of: ${PHASES.join(', ')} (default: all; --quick: all but package)
  --quick           a short smoke run (small workloads)
  --inflight=N      requests in flight (default 200)
  --customers=N     classic customers (default 200)    --sellers=N (5)  --coupons=N per seller (10)
  --hot-customers=N hot coupon customers (default 2000) --hot-amount=N (100)
  --soldout-rounds=N sustained sold-out rounds over HTTP (default 5)
  --inprocess-soldout-rounds=N the same in process (default 20)
  --repeats=N       repetitions of the in-process sold-out run, the best counts (default 3)
  --ceiling-n=N     redis-benchmark requests per path (default 200000)
  --persist=N       purchase messages for the consumer run (default 20000)
  --persist-loops=N receive loops of the poller in that run (default 2, as npm start)
  --redis-db=N      Redis database (default 14)       --database=NAME MySQL database (seckill_bench)
  --workers=N       npm start worker processes         --out=DIR  results folder (bench-results)`;

function intFlag(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new Error(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m?.[1]) throw new Error(`unknown argument "${arg}"\n${USAGE}`);
    flags.set(m[1], m[2] ?? 'true');
  }
  if (flags.has('help')) {
    console.error(USAGE);
    process.exit(0);
  }
  const quick = flags.get('quick') === 'true';
  const o: BenchOptions = {
    only: new Set(PHASES.filter((p) => !quick || p !== 'package')),
    quick,
    inflight: 200,
    sellers: 5,
    couponsPerSeller: quick ? 2 : 10,
    amount: 20,
    customers: quick ? 100 : 200,
    hotCustomers: quick ? 500 : 2000,
    hotAmount: 100,
    soldOutRounds: quick ? 2 : 5,
    inProcessSoldOutRounds: quick ? 4 : 20,
    repeats: quick ? 1 : 3,
    ceilingRequests: quick ? 20_000 : 200_000,
    persistMessages: quick ? 2_000 : 20_000,
    persistLoops: 2,
    redisDb: 14,
    database: 'seckill_bench',
    out: 'bench-results',
    workers: undefined,
    runTimeoutMs: 180_000,
  };
  for (const [name, value] of flags) {
    switch (name) {
      case 'quick':
        break;
      case 'only': {
        const wanted = value.split(',').filter(Boolean);
        for (const p of wanted) {
          if (!(PHASES as readonly string[]).includes(p)) throw new Error(`--only: unknown phase "${p}"\n${USAGE}`);
        }
        o.only = new Set(wanted as Phase[]);
        break;
      }
      case 'inflight':
        o.inflight = intFlag(value, name, 1, 5000);
        break;
      case 'customers':
        o.customers = intFlag(value, name, 1, 100_000);
        break;
      case 'sellers':
        o.sellers = intFlag(value, name, 1, 100);
        break;
      case 'coupons':
        o.couponsPerSeller = intFlag(value, name, 1, 1000);
        break;
      case 'hot-customers':
        o.hotCustomers = intFlag(value, name, 1, 100_000);
        break;
      case 'hot-amount':
        o.hotAmount = intFlag(value, name, 1, 1_000_000);
        break;
      case 'soldout-rounds':
        o.soldOutRounds = intFlag(value, name, 0, 100);
        break;
      case 'repeats':
        o.repeats = intFlag(value, name, 1, 20);
        break;
      case 'inprocess-soldout-rounds':
        o.inProcessSoldOutRounds = intFlag(value, name, 0, 1000);
        break;
      case 'ceiling-n':
        o.ceilingRequests = intFlag(value, name, 1000, 10_000_000);
        break;
      case 'persist':
        o.persistMessages = intFlag(value, name, 10, 1_000_000);
        break;
      case 'persist-loops':
        o.persistLoops = intFlag(value, name, 1, 64);
        break;
      case 'redis-db':
        o.redisDb = intFlag(value, name, 0, 15);
        break;
      case 'database':
        if (!/^[A-Za-z0-9_]{1,64}$/.test(value)) throw new Error('--database must be a plain identifier');
        o.database = value;
        break;
      case 'out':
        o.out = value;
        break;
      case 'workers':
        o.workers = intFlag(value, name, 1, 64);
        break;
      default:
        throw new Error(`unknown flag --${name}\n${USAGE}`);
    }
  }
  return o;
}
