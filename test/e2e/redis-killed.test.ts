/**
 * Fault, through the bundled, minified handlers (`npm run dev`: serverless-offline with the esbuild
 * bundles a deployment ships): the Redis server dies mid-sale with 100 grabs in flight, SIGKILLed
 * or shut down without saving, and comes back empty. Every answer must be in the contract (never a
 * 500), every 503 must carry Retry-After, every 201 must end as exactly one purchase row and no row
 * may exist without a 201 (no phantom), and once the cache is rebuilt every coupon sells out with
 * MySQL's `left` equal to Redis's.
 */
import Redis from 'ioredis';
import { couponKeys } from '../../lib/keys';
import { type ApiResponse, type Client, client, httpApi, untilAnswered } from '../helpers/api';
import {
  inParallel,
  observe,
  privateRedis,
  purchasers,
  type ServerProcess,
  sleep,
  statusCounts,
  stopAll,
  waitFor,
} from '../helpers/faults';
import { type RunningServer, startServer } from '../helpers/offline';
import { type Stack, startStack } from '../helpers/stack';

const COUPONS = 10;
const AMOUNT = 20;
const CUSTOMERS = 300;
const IN_FLIGHT = 100;

let redis: ServerProcess;
let server: RunningServer;
let stack: Stack;
let api: Client;
let sellerToken: string;
let tokens: string[];

beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  process.env.REDIS_URL = `redis://127.0.0.1:${redis.port}/0`;
  stack = await startStack({ visibilityTimeoutSeconds: 2, maxReceiveCount: 5 });
  server = await startServer('scripts/dev.ts', { QUEUE_URL: stack.queueUrl, REDIS_URL: process.env.REDIS_URL });
  api = client(httpApi(server.baseUrl));
  sellerToken = await api.user('rk_seller', 'saler');
  tokens = await inParallel(
    20,
    Array.from({ length: CUSTOMERS }, (_, i) => () => api.user(`rk_c${i}`, 'customer')),
  );
}, 240_000);

afterAll(async () => {
  await server?.stop();
  await stack?.close();
  await stopAll();
});

interface Answer {
  customer: number;
  coupon: string;
  res: ApiResponse;
}

async function sale(round: string, fault: () => Promise<void>) {
  const names = Array.from({ length: COUPONS }, (_, j) => `${round}_${j}`);
  for (const name of names) {
    expect((await api.createCoupon(sellerToken, 'rk_seller', { name, amount: AMOUNT, stock: 1 })).status).toBe(201);
  }
  // Every customer tries every coupon once, 100 requests in flight; Redis dies early in the sale,
  // while most of the stock is still there.
  const tasks = names.flatMap((coupon) =>
    tokens.map((token, customer) => async (): Promise<Answer> => {
      const res = await api.grab(token, 'rk_seller', coupon);
      return { customer, coupon, res };
    }),
  );
  tasks.sort(() => Math.random() - 0.5);
  let done = 0;
  let answers201 = 0;
  const faultAt = Math.floor(tasks.length / 50);
  let faulted: Promise<void> | undefined;
  let grantedBeforeFault = 0;
  const answers = await inParallel(
    IN_FLIGHT,
    tasks.map((task) => async () => {
      const answer = await task();
      if (++done === faultAt) {
        grantedBeforeFault = answers201;
        faulted = fault();
      }
      if (answer.res.status === 201) answers201++;
      return answer;
    }),
  );
  await faulted;
  // The fault struck mid-sale: stock was left, and was sold after Redis came back.
  expect(grantedBeforeFault).toBeLessThan((COUPONS * AMOUNT) / 2);

  // Afterwards the cache comes back (rebuilt from MySQL once the queue drained): everyone who does
  // not hold a coupon yet tries again, retrying 503s as Retry-After says, until it is sold out.
  const won = new Map(names.map((n) => [n, new Set<number>()]));
  for (const a of answers) if (a.res.status === 201) won.get(a.coupon)?.add(a.customer);
  const retries: Answer[] = [];
  for (const coupon of names) {
    const holders = won.get(coupon) ?? new Set<number>();
    const others = tokens.map((_, i) => i).filter((i) => !holders.has(i));
    const again = await inParallel(
      IN_FLIGHT,
      others.map((customer) => async () => {
        const res = await untilAnswered(() => api.grab(tokens[customer] ?? '', 'rk_seller', coupon));
        return { customer, coupon, res };
      }),
    );
    for (const a of again) if (a.res.status === 201) holders.add(a.customer);
    retries.push(...again);
  }
  await stack.drain(60_000);

  const all = [...answers, ...retries];
  const statuses = all.map((a) => a.res.status);
  expect(statuses.filter((s) => ![201, 204, 503].includes(s))).toEqual([]);
  for (const a of all.filter((x) => x.res.status === 503)) {
    expect(Number(a.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(a.res.body.errMsg).toMatch(/\S/);
  }
  const check = new Redis(process.env.REDIS_URL ?? '');
  try {
    for (const coupon of names) {
      const rows = await purchasers(stack.db, 'rk_seller', coupon);
      const granted = [...(won.get(coupon) ?? [])].map((i) => `rk_c${i}`).sort();
      // No phantom (a row without a 201) and nothing lost (a 201 without a row).
      expect(rows).toEqual(granted);
      // Every coupon sold out, and no more than its amount.
      expect(rows).toHaveLength(AMOUNT);
      const [mysqlLeft] = (await stack.db.query('SELECT `left` FROM coupons WHERE seller = ? AND name = ?', [
        'rk_seller',
        coupon,
      ])) as unknown as [{ left: number }[]];
      expect(Number(mysqlLeft[0]?.left)).toBe(0);
      expect(Number(await check.hget(couponKeys('rk_seller', coupon).info, 'left'))).toBe(0);
    }
  } finally {
    check.disconnect();
  }
  const counts = statusCounts(answers.map((a) => a.res.status));
  observe(`redis-killed (${round})`, {
    grabsDuringFault: answers.length,
    grantedBeforeFault,
    statuses: counts,
    retriesAfterwards: retries.length,
    retryStatuses: statusCounts(retries.map((a) => a.res.status)),
    http500: statuses.filter((s) => s === 500).length,
    phantoms: 0,
    lost: 0,
  });
  return counts;
}

/** Waits until the handlers see Redis again (a grab of an unknown coupon answers 204, not 503). */
async function whenBack() {
  await waitFor(
    'the API to reach Redis again',
    async () => (await api.grab(tokens[0], 'rk_seller', 'no-such-coupon')).status === 204,
    60_000,
    250,
  );
}

test('redis-server SIGKILLed with 100 grabs in flight, restarted empty: no 500, no phantom, nothing lost, sold out after', async () => {
  const counts = await sale('kill', async () => {
    await redis.kill();
    await sleep(1000);
    await redis.start();
  });
  expect(counts[503]).toBeGreaterThan(0);
  expect(counts[500]).toBeUndefined();
  await whenBack();
}, 240_000);

test('redis-server SHUTDOWN NOSAVE with 100 grabs in flight, restarted empty: the same', async () => {
  const counts = await sale('nosave', async () => {
    const admin = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on('error', () => {});
    await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {});
    admin.disconnect();
    await redis.exited();
    await sleep(1000);
    await redis.start();
  });
  expect(counts[500]).toBeUndefined();
}, 240_000);
