/**
 * The rows of api.md that need a setting other than the default or a client address other than
 * loopback ("Fair access": grab rate limits, login throttling per address), the cost of a refused
 * grab in Redis round trips, and the sold-out memory. The handlers run in process with API Gateway
 * events whose `requestContext.http.sourceIp` is set; settings are changed on the process's config.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Command } from 'ioredis';
import { handler as grabHandler } from '../../functions/grab-coupon';
import { handler as loginHandler } from '../../functions/login';
import { redis } from '../../lib/clients/redis';
import { config } from '../../lib/config';
import { couponKeys } from '../../lib/keys';
import { flushSoldOutCounts, resetSoldOutMemory } from '../../lib/sold-out-memory';
import { expectJson, expectNoContent, type TestUser, usernames } from '../contract/contract-suite';
import { type ApiResponse, client, inProcessApi } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/events';
import { type Stack, sleep, startStack } from '../helpers/stack';

let stack: Stack;
const api = client(inProcessApi());
const nextName = usernames('fair');
const PASSWORD = 'secret123';

// The settings as the environment gives them; tests change them on the process's config.
let defaults: Pick<ReturnType<typeof config>, 'sale' | 'loginThrottle'>;

beforeAll(async () => {
  // The stack sets this worker's queue before the config is first read.
  stack = await startStack();
  stack.startConsumer();
  defaults = structuredClone({ sale: config().sale, loginThrottle: config().loginThrottle });
});
afterAll(() => stack.close());
afterEach(() => {
  Object.assign(config().sale, structuredClone(defaults.sale));
  Object.assign(config().loginThrottle, structuredClone(defaults.loginThrottle));
  resetSoldOutMemory();
});

async function newUser(kind: 'customer' | 'saler'): Promise<TestUser> {
  const username = nextName();
  return { username, token: await api.user(username, kind, PASSWORD) };
}

async function coupon(seller: TestUser, name: string, amount: number): Promise<void> {
  expectJson(await api.createCoupon(seller.token, seller.username, { name, amount, stock: 1 }), 201, { errMsg: '' });
}

function withAddress(event: APIGatewayProxyEventV2, sourceIp: string): APIGatewayProxyEventV2 {
  return { ...event, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, sourceIp } } };
}

async function answer(result: Awaited<ReturnType<typeof grabHandler>>): Promise<ApiResponse> {
  const headers = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  const text = result.body ?? '';
  return { status: result.statusCode, headers, text, body: text ? JSON.parse(text) : undefined };
}

/** A grab from a given client address. */
async function grabFrom(sourceIp: string, token: string, seller: string, name: string): Promise<ApiResponse> {
  const event = httpEvent({
    method: 'PATCH',
    path: `/api/users/${seller}/coupons/${encodeURIComponent(name)}`,
    pathParameters: { username: seller, name },
    headers: { authorization: token },
  });
  return answer(await grabHandler(withAddress(event, sourceIp), lambdaContext('grabCoupon')));
}

/** A login from a given client address. */
async function loginFrom(sourceIp: string, username: string, password: string): Promise<ApiResponse> {
  const event = httpEvent({ method: 'POST', path: '/api/auth', body: { username, password } });
  return answer(await loginHandler(withAddress(event, sourceIp), lambdaContext('login')));
}

const stats = async (seller: TestUser, name: string) =>
  (
    await api.api.request('GET', `/api/users/${seller.username}/coupons/${encodeURIComponent(name)}/stats`, {
      headers: { authorization: seller.token },
    })
  ).body;

describe('grab rate limits (configured)', () => {
  test('per customer: over the limit, 429 "Too many requests." with Retry-After, counted, nothing taken', async () => {
    config().sale.grabLimits.perCustomer = { rate: 1, burst: 2 };
    const seller = await newUser('saler');
    const [a, b] = [await newUser('customer'), await newUser('customer')];
    await coupon(seller, 'limited', 5);
    expectNoContent(await api.grab(a.token, seller.username, 'nope'), 'not-found');
    expectJson(await api.grab(a.token, seller.username, 'limited'), 201, { errMsg: '' });
    expectNoContent(await api.grab(a.token, seller.username, 'limited'), 'already-owned');
    const refused = await api.grab(a.token, seller.username, 'limited');
    expectJson(refused, 429, { errMsg: 'Too many requests.' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Another customer is not limited by a's requests.
    expectJson(await api.grab(b.token, seller.username, 'limited'), 201, { errMsg: '' });

    // A refused request takes nothing: c is refused before its first grab could be made.
    const c = await newUser('customer');
    await api.api.request('POST', `/api/users/${seller.username}/coupons/limited/pause`, {
      headers: { authorization: seller.token },
    });
    expectNoContent(await api.grab(c.token, seller.username, 'limited'), 'paused');
    expectNoContent(await api.grab(c.token, seller.username, 'limited'), 'paused');
    await api.api.request('POST', `/api/users/${seller.username}/coupons/limited/resume`, {
      headers: { authorization: seller.token },
    });
    const third = await api.grab(c.token, seller.username, 'limited');
    expectJson(third, 429, { errMsg: 'Too many requests.' });
    expect(await stack.redis.sismember(couponKeys(seller.username, 'limited').holders, c.username)).toBe(0);
    const s = await stats(seller, 'limited');
    expect(s.left).toBe(3);
    expect(s.outcomes['rate-limited']).toBe(2);
    // After Retry-After, c may grab again.
    await sleep(Number(third.headers['retry-after']) * 1000);
    expectJson(await api.grab(c.token, seller.username, 'limited'), 201, { errMsg: '' });
  });

  test('per client address: customers behind one address share its limit; other addresses are not limited', async () => {
    config().sale.grabLimits.perAddress = { rate: 1, burst: 1 };
    const seller = await newUser('saler');
    const [a, b, c] = [await newUser('customer'), await newUser('customer'), await newUser('customer')];
    await coupon(seller, 'shared', 5);
    expect((await grabFrom('203.0.113.9', a.token, seller.username, 'shared')).status).toBe(201);
    const refused = await grabFrom('203.0.113.9', b.token, seller.username, 'shared');
    expectJson(refused, 429, { errMsg: 'Too many requests.' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await grabFrom('203.0.113.10', c.token, seller.username, 'shared')).status).toBe(201);
    // A dual-stack socket's spelling of an IPv4 address is the same address.
    expect((await grabFrom('::ffff:203.0.113.10', b.token, seller.username, 'shared')).status).toBe(429);
    expect((await stats(seller, 'shared')).left).toBe(3);
  });
});

describe('login throttling per client address', () => {
  test('after the threshold of failed logins from one address, its logins get 429; other addresses and loopback do not', async () => {
    config().loginThrottle.perAddress = 3;
    config().loginThrottle.windowMs = 3000;
    const user = await newUser('customer');
    for (let i = 0; i < 3; i++) {
      expectJson(await loginFrom('198.51.100.7', nextName(), 'wrong-password'), 401, {
        kind: '',
        errMsg: 'Invalid username or password.',
      });
    }
    const refused = await loginFrom('198.51.100.7', user.username, PASSWORD);
    expectJson(refused, 429, { kind: '', errMsg: 'Too many login attempts.' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expectJson(await loginFrom('198.51.100.8', user.username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
    // Loopback is not counted per address.
    for (let i = 0; i < 5; i++) expect((await loginFrom('127.0.0.1', nextName(), 'wrong')).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await loginFrom('::1', nextName(), 'wrong')).status).toBe(401);
    expectJson(await loginFrom('127.0.0.1', user.username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
    // Once the oldest failure left the window, the address may log in again.
    await sleep(retryAfter * 1000);
    expectJson(await loginFrom('198.51.100.7', user.username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
  });

  test('the thresholds are those of api.md by default: 5 per username, 100 per address, 15 minutes', () => {
    expect(config().loginThrottle).toEqual({ windowMs: 900_000, perUsername: 5, perAddress: 100 });
    expect(config().sale.grabLimits).toEqual({ perCustomer: { rate: 0, burst: 1 }, perAddress: { rate: 0, burst: 1 } });
  });
});

describe('the cost of a grab in Redis', () => {
  // Only the requests' own commands are counted: the consumer (which claims grabs in Redis) is
  // stopped, and each test waits for a granted grab's tail (clearing its outbox entry) to finish.
  beforeEach(() => stack.stopConsumer());
  afterEach(() => stack.startConsumer());

  /** The commands the process sends to Redis while `run` runs. */
  async function commandsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const r = redis();
    const seen: string[] = [];
    const original = r.sendCommand;
    r.sendCommand = function (this: typeof r, command: Command, ...rest: unknown[]) {
      seen.push(command.name.toLowerCase());
      return (original as (...a: unknown[]) => unknown).call(this, command, ...rest);
    } as typeof r.sendCommand;
    try {
      await run();
    } finally {
      r.sendCommand = original;
    }
    return seen;
  }

  test('a refused grab (already owned, paused, sold out, rate limited) is one script call, the session check included', async () => {
    config().sale.soldOutMemoryMs = 0;
    config().sale.grabLimits.perCustomer = { rate: 1, burst: 2 };
    const seller = await newUser('saler');
    const [a, b] = [await newUser('customer'), await newUser('customer')];
    await coupon(seller, 'cost', 1);
    expectJson(await api.grab(a.token, seller.username, 'cost'), 201, { errMsg: '' });
    await sleep(200);
    // On a single node the grab script checks the session itself (session-check.lua): one command.
    const refusals: [() => Promise<ApiResponse>, number][] = [
      [() => api.grab(a.token, seller.username, 'cost'), 204],
      [() => api.grab(b.token, seller.username, 'cost'), 204],
      [() => api.grab(a.token, seller.username, 'cost'), 429],
    ];
    for (const [send, status] of refusals) {
      let res: ApiResponse | undefined;
      const commands = await commandsDuring(async () => {
        res = await send();
      });
      expect(res?.status).toBe(status);
      expect(commands).toEqual(['evalsha']);
    }
  });

  test('sold-out memory: within a second of a sold-out answer, grabs of that coupon do not reach the grab script; counted all the same', async () => {
    const seller = await newUser('saler');
    const customers = await Promise.all(Array.from({ length: 6 }, () => newUser('customer')));
    await coupon(seller, 'memo', 1);
    expectJson(await api.grab(customers[0]?.token, seller.username, 'memo'), 201, { errMsg: '' });
    expectNoContent(await api.grab(customers[1]?.token, seller.username, 'memo'), 'sold-out');
    await sleep(100);
    const commands = await commandsDuring(async () => {
      for (const c of customers.slice(2)) expectNoContent(await api.grab(c.token, seller.username, 'memo'), 'sold-out');
    });
    expect(commands.filter((c) => c !== 'exists')).toEqual([]);
    await flushSoldOutCounts();
    expect((await stats(seller, 'memo')).outcomes['sold-out']).toBe(5);
    // After the second, Redis answers again (and exactly: already-owned for the holder).
    await sleep(1050);
    expectNoContent(await api.grab(customers[0]?.token, seller.username, 'memo'), 'already-owned');
  });

  test('sold-out memory: a seller adding stock in this container ends it at once', async () => {
    const seller = await newUser('saler');
    const [a, b] = [await newUser('customer'), await newUser('customer')];
    await coupon(seller, 'refill', 1);
    expectJson(await api.grab(a.token, seller.username, 'refill'), 201, { errMsg: '' });
    expectNoContent(await api.grab(b.token, seller.username, 'refill'), 'sold-out');
    const res = await api.api.request('POST', `/api/users/${seller.username}/coupons/refill/amount`, {
      headers: { authorization: seller.token },
      body: { add: 1 },
    });
    expectJson(res, 200, { errMsg: '', amount: 2, left: 1 });
    expectJson(await api.grab(b.token, seller.username, 'refill'), 201, { errMsg: '' });
  });
});
