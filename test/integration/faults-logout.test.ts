/**
 * Logout under a fault: a revoked token is refused on every authenticated route, and the
 * revocation survives Redis losing its data (FLUSHDB), because it is kept in MySQL too and the
 * cache rebuild restores it.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { type ApiResponse, client, inProcessApi } from '../helpers/api';
import { observe } from '../helpers/faults';
import { type Stack, startStack } from '../helpers/stack';

const c = client(inProcessApi());
const SELLER = 'logout_seller';
const CUSTOMER = 'logout_customer';
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  stack.startConsumer();
});

afterAll(() => stack?.close());

/** Every authenticated route, called with `token`. */
function everyRoute(token: string): Promise<ApiResponse>[] {
  return [
    c.createCoupon(token, SELLER, { name: `late-${Date.now()}`, amount: 1, stock: 1 }),
    c.list(token, SELLER),
    c.list(token, CUSTOMER),
    c.grab(token, SELLER, 'c1'),
    c.grab(`Bearer ${token}`, SELLER, 'c1'),
  ];
}

function expectRefused(responses: ApiResponse[]) {
  for (const r of responses) {
    expect(r.status).toBe(401);
    expect(r.body.errMsg).toBe('Not Authorized.');
  }
}

test('revoked tokens are refused on every authenticated route, before and after a Redis flush', async () => {
  const sellerToken = await c.user(SELLER, 'saler');
  const customerToken = await c.user(CUSTOMER, 'customer');
  const otherToken = await c.user('logout_other', 'customer');
  expect((await c.createCoupon(sellerToken, SELLER, { name: 'c1', amount: 5, stock: 1 })).status).toBe(201);

  for (const token of [customerToken, sellerToken]) {
    const out = await c.logout(token);
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ errMsg: 'log out.' });
  }
  // Logging out twice is still a 200.
  expect((await c.logout(customerToken)).status).toBe(200);
  const before = await Promise.all([...everyRoute(customerToken), ...everyRoute(sellerToken)]);
  expectRefused(before);
  // Other sessions are untouched.
  expect((await c.grab(otherToken, SELLER, 'c1')).status).toBe(201);

  const [revokedRows] = await stack.db.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM revoked_tokens');
  expect(Number(revokedRows[0]?.n)).toBe(2);

  await stack.redis.flushdb();
  const flushedAt = Date.now();
  // The first request after the flush rebuilds the cache, revocations included.
  const after = await Promise.all([...everyRoute(customerToken), ...everyRoute(sellerToken)]);
  const refusedAfterFlushInMs = Date.now() - flushedAt;
  expectRefused(after);
  expect(await stack.redis.keys('revoked:*')).toHaveLength(2);

  // A fresh login works, and the grab made before the flush is still held.
  const again = await c.login(CUSTOMER, 'secret123');
  const fresh = again.headers.authorization ?? '';
  expect((await c.grab(fresh, SELLER, 'c1')).status).toBe(201);
  expect((await c.grab(otherToken, SELLER, 'c1')).headers['x-seckill-reason']).toBe('already-owned');
  await stack.drain();
  observe('faults-logout', {
    revokedTokens: 2,
    routesChecked: 5,
    refusedBeforeFlush: before.filter((r) => r.status === 401).length,
    refusedAfterFlush: after.filter((r) => r.status === 401).length,
    requests: before.length + after.length,
    refusedAfterFlushInMs,
    revokedKeysRestored: 2,
  });
});
