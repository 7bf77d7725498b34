/**
 * A login or registration flood must not slow other requests down: password hashing (scrypt) runs
 * on libuv's thread pool, and token verification must not queue behind it. A customer keeps
 * grabbing and listing, each request with a token this process has never verified, while 100
 * registrations or 100 logins are in flight; its p95 latency must stay under FLOOD_P95_BOUND_MS.
 */
import { issueToken } from '../../lib/auth/tokens';
import { config } from '../../lib/config';
import { client, inProcessApi } from '../helpers/api';
import { type Stack, startStack } from '../helpers/stack';

// A production-like hashing cost, so that the flood really occupies the thread pool (read lazily
// by config(), before the first call below).
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

/**
 * Runs `flood` while the customer grabs and lists one request after another, each with a fresh
 * token; returns the customer's latencies and how long the flood took.
 */
async function underFlood(
  customer: string,
  seller: string,
  tokens: string[],
  flood: () => Promise<number[]>,
): Promise<{ latencies: number[]; floodMs: number; statuses: number[] }> {
  const latencies: number[] = [];
  let done = false;
  const started = Date.now();
  const flooding = flood().finally(() => {
    done = true;
  });
  let i = 0;
  while (!done && i < tokens.length) {
    const token = tokens[i] as string;
    const t0 = performance.now();
    const res = i % 2 === 0 ? await api.grab(token, seller, `c${i % 20}`) : await api.list(token, customer);
    latencies.push(performance.now() - t0);
    expect([200, 201, 204]).toContain(res.status);
    i++;
  }
  const statuses = await flooding;
  return { latencies, floodMs: Date.now() - started, statuses };
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

function report(label: string, latencies: number[], floodMs: number): void {
  process.stdout.write(
    `${label}: ${latencies.length} requests during a ${floodMs} ms flood; p50 ${percentile(latencies, 50).toFixed(1)} ms, p95 ${percentile(latencies, 95).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms\n`,
  );
}

test(`${FLOOD} concurrent registrations leave a customer's fresh-token requests under ${FLOOD_P95_BOUND_MS} ms (p95)`, async () => {
  const { seller, customer } = await setUp('regflood');
  const tokens = await freshTokens(customer, 4000);
  const { latencies, floodMs, statuses } = await underFlood(customer, seller, tokens, () =>
    Promise.all(
      Array.from({ length: FLOOD }, (_, i) =>
        api.register(`regflood_u${i}`, 'secret123', 'customer').then((r) => r.status),
      ),
    ),
  );
  report('registration flood', latencies, floodMs);
  expect(statuses.every((s) => s === 201)).toBe(true);
  // The flood really loaded the pool (else the bound proves nothing), and the customer kept going.
  expect(floodMs).toBeGreaterThan(1000);
  expect(latencies.length).toBeGreaterThanOrEqual(10);
  expect(percentile(latencies, 95)).toBeLessThan(FLOOD_P95_BOUND_MS);
}, 120_000);

test(`${FLOOD} concurrent logins (unknown users cost the same) leave a customer's fresh-token requests under ${FLOOD_P95_BOUND_MS} ms (p95)`, async () => {
  const { seller, customer } = await setUp('logflood');
  const tokens = await freshTokens(customer, 4000);
  const { latencies, floodMs, statuses } = await underFlood(customer, seller, tokens, () =>
    Promise.all(
      Array.from({ length: FLOOD }, (_, i) => api.login(`logflood_nobody${i}`, 'secret123').then((r) => r.status)),
    ),
  );
  report('login flood', latencies, floodMs);
  expect(statuses.every((s) => s === 401)).toBe(true);
  expect(floodMs).toBeGreaterThan(1000);
  expect(latencies.length).toBeGreaterThanOrEqual(10);
  expect(percentile(latencies, 95)).toBeLessThan(FLOOD_P95_BOUND_MS);
}, 120_000);
