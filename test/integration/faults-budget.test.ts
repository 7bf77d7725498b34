/**
 * The time budget: with Redis frozen (SIGSTOP: connections accepted, nothing answered) a handler
 * still answers its contract 503, naming the cache, with Retry-After, before its time limit, never
 * the platform's own timeout error. This file's stack runs on a private redis-server.
 */
import { handler as grabHandler } from '../../functions/grab-coupon';
import { handler as listHandler } from '../../functions/list-coupons';
import { config } from '../../lib/config';
import { client, inProcessApi } from '../helpers/api';
import { httpEvent, lambdaContext } from '../helpers/events';
import { observe, privateRedis, quietLogs, type ServerProcess, stopAll } from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
let redis: ServerProcess;
let stack: Stack;
const logs = quietLogs();

beforeAll(async () => {
  redis = await privateRedis();
  await redis.start();
  process.env.REDIS_URL = `redis://127.0.0.1:${redis.port}/0`;
  stack = await startStack();
}, 60_000);

afterAll(async () => {
  redis?.thaw();
  await stack?.close();
  await stopAll();
  logs.restore();
});

test('Redis frozen: grab and listing answer 503 "cache" with Retry-After inside the time limit', async () => {
  const seller = await c.user('bud_seller', 'saler');
  const token = await c.user('bud_c', 'customer');
  expect((await c.createCoupon(seller, 'bud_seller', { name: 'b', amount: 5, stock: 1 })).status).toBe(201);
  redis.freeze();
  try {
    const limit = config().handlerTimeoutMs;
    const grab = httpEvent({
      method: 'PATCH',
      path: '/api/users/bud_seller/coupons/b',
      pathParameters: { username: 'bud_seller', name: 'b' },
      headers: { authorization: token },
    });
    const list = httpEvent({
      method: 'GET',
      path: '/api/users/bud_c/coupons',
      pathParameters: { username: 'bud_c' },
      headers: { authorization: token },
    });
    for (const [name, run] of [
      ['grab', () => grabHandler(grab, lambdaContext('grabCoupon', limit))],
      ['list', () => listHandler(list, lambdaContext('listCoupons', limit))],
    ] as const) {
      const started = Date.now();
      const res = await run();
      const ms = Date.now() - started;
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(res.body ?? '{}').errMsg).toMatch(/^Cache unavailable/);
      expect(res.headers?.['Retry-After']).toBe('1');
      expect(ms).toBeLessThan(limit);
      observe('faults-budget: redis frozen', { handler: name, answeredInMs: ms, limitMs: limit });
    }

    // With less time left than a Redis command may take, the handler still answers, itself.
    const started = Date.now();
    const res = await grabHandler(grab, lambdaContext('grabCoupon', 400));
    const ms = Date.now() - started;
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '{}').errMsg).toBe('Server busy. Retry shortly.');
    expect(res.headers?.['Retry-After']).toBe('1');
    expect(ms).toBeLessThan(400);
    observe('faults-budget: 400 ms left', { answeredInMs: ms });
  } finally {
    redis.thaw();
  }
});
