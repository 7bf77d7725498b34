/**
 * A login or registration flood must not slow other requests down: password hashing (scrypt) runs
 * on libuv's thread pool, and token verification must not queue behind it. A customer keeps
 * grabbing and listing (a request every 20 ms), each request with a token this process has never
 * verified, while 100 registrations or 100 logins are in flight; its p95 latency must stay under
 * FLOOD_P95_BOUND_MS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { issueToken } from '../../lib/auth/tokens';
import { config } from '../../lib/config';
import { client, inProcessApi } from '../helpers/api';
import { type Stack, startStack } from '../helpers/stack';

// A production-like hashing cost, so that the flood really occupies the thread pool (read lazily
// by config(), before the first call below).
process.env.PASSWORD_HASH = 'scrypt';
process.env.SCRYPT_LOG_N = '14';

const FLOOD = 100;
const FLOOD_P95_BOUND_MS = 500;

let stack: Stack;
const api = client(inProcessApi());

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
}, 60_000);
afterAll(() => stack.close());

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Tokens of the customer this process has never seen, minted before the clock starts. */
async function freshTokens(username: string, n: number): Promise<string[]> {
  const { auth } = config();
  return Promise.all(
    Array.from({ length: n }, () => issueToken({ username, kind: 'customer' }, auth.jwtSecret, auth.tokenTtlSeconds)),
  );
}

const INTERVAL_MS = 20;

/**
 * The customer's requests, one every INTERVAL_MS whether or not the previous one has answered
 * (an open loop: a stalled server cannot hide its stall by slowing the client down), each with a
 * fresh token, grabs and listings in turn, for as long as `running()` is true.
 */
async function customerLoad(
  customer: string,
  seller: string,
  tokens: string[],
  running: () => boolean,
): Promise<number[]> {
  const pending: Promise<number>[] = [];
  for (let i = 0; running() && i < tokens.length; i++) {
    const token = tokens[i] as string;
    pending.push(
      (async () => {
        const t0 = performance.now();
        const res = i % 2 === 0 ? await api.grab(token, seller, `c${i % 20}`) : await api.list(token, customer);
        expect([200, 201, 204]).toContain(res.status);
        return performance.now() - t0;
      })(),
    );
    await sleep(INTERVAL_MS);
  }
  return Promise.all(pending);
}

/** Waves of `FLOOD` concurrent calls for at least FLOOD_MS: the hash lanes stay full the whole time. */
const FLOOD_MS = 1500;
async function waves(call: (i: number) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  const started = Date.now();
  for (let wave = 0; Date.now() - started < FLOOD_MS; wave++) {
    statuses.push(...(await Promise.all(Array.from({ length: FLOOD }, (_, i) => call(wave * FLOOD + i)))));
  }
  return statuses;
}

/** The customer's latencies without a flood (where they were), then during `flood`. */
async function underFlood(
  customer: string,
  seller: string,
  tokens: string[],
  flood: () => Promise<number[]>,
): Promise<{ baseline: number[]; latencies: number[]; floodMs: number; statuses: number[] }> {
  const baselineUntil = Date.now() + 1000;
  const baseline = await customerLoad(customer, seller, tokens.slice(0, 200), () => Date.now() < baselineUntil);
  let done = false;
  const started = Date.now();
  const flooding = flood().finally(() => {
    done = true;
  });
  const latencies = await customerLoad(customer, seller, tokens.slice(200), () => !done);
  const statuses = await flooding;
  return { baseline, latencies, floodMs: Date.now() - started, statuses };
}

async function setUp(prefix: string) {
  const sellerToken = await api.user(`${prefix}_seller`, 'saler');
  for (let c = 0; c < 20; c++) {
    const res = await api.createCoupon(sellerToken, `${prefix}_seller`, { name: `c${c}`, amount: 1000, stock: 1 });
    expect(res.status).toBe(201);
  }
  expect((await api.register(`${prefix}_cust`, 'secret123', 'customer')).status).toBe(201);
  return { seller: `${prefix}_seller`, customer: `${prefix}_cust` };
}

function report(label: string, baseline: number[], latencies: number[], floodMs: number): void {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  process.stdout.write(
    `${label}: without a flood p50 ${ms(percentile(baseline, 50))}, p95 ${ms(percentile(baseline, 95))}; ` +
      `${latencies.length} requests during a ${floodMs} ms flood: p50 ${ms(percentile(latencies, 50))}, ` +
      `p95 ${ms(percentile(latencies, 95))}, max ${ms(Math.max(...latencies))}\n`,
  );
}

test(`${FLOOD} concurrent registrations leave a customer's fresh-token requests under ${FLOOD_P95_BOUND_MS} ms (p95)`, async () => {
  const { seller, customer } = await setUp('regflood');
  const tokens = await freshTokens(customer, 5000);
  const { baseline, latencies, floodMs, statuses } = await underFlood(customer, seller, tokens, () =>
    waves((i) => api.register(`regflood_u${i}`, 'secret123', 'customer').then((r) => r.status)),
  );
  report('registration flood', baseline, latencies, floodMs);
  // Past the hash lanes, 503 busy at once; the lanes still register users meanwhile.
  expect(statuses.every((s) => s === 201 || s === 503)).toBe(true);
  expect(statuses).toContain(201);
  expect(statuses).toContain(503);
  // The flood really loaded the pool (else the bound proves nothing), and the customer kept going.
  expect(floodMs).toBeGreaterThan(1000);
  expect(latencies.length).toBeGreaterThanOrEqual(25);
  expect(percentile(latencies, 95)).toBeLessThan(FLOOD_P95_BOUND_MS);
}, 120_000);

test(`${FLOOD} concurrent logins (unknown users cost the same) leave a customer's fresh-token requests under ${FLOOD_P95_BOUND_MS} ms (p95)`, async () => {
  const { seller, customer } = await setUp('logflood');
  const tokens = await freshTokens(customer, 5000);
  const { baseline, latencies, floodMs, statuses } = await underFlood(customer, seller, tokens, () =>
    waves((i) => api.login(`logflood_nobody${i}`, 'secret123').then((r) => r.status)),
  );
  report('login flood', baseline, latencies, floodMs);
  expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
  expect(statuses).toContain(401);
  expect(statuses).toContain(503);
  expect(floodMs).toBeGreaterThan(1000);
  expect(latencies.length).toBeGreaterThanOrEqual(25);
  expect(percentile(latencies, 95)).toBeLessThan(FLOOD_P95_BOUND_MS);
}, 120_000);
