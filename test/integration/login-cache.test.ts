/**
 * The login cache against real Redis and MySQL: which logins take the fast path (no MySQL read, no
 * slow hash), what invalidates it, and that nothing in Redis alone lets anyone log in.
 */
import { jwtVerify } from 'jose';
import { changePassword, login, register, removeUser } from '../../lib/accounts';
import { CREDENTIAL_MIN_TTL_SECONDS, loginCacheKeys, RedisLoginCache } from '../../lib/auth/login-cache';
import { computeHash, hashLane } from '../../lib/auth/passwords';
import { createRedis } from '../../lib/clients/redis';
import { config } from '../../lib/config';
import { HttpError, ServerBusy } from '../../lib/errors';
import { type Services, services } from '../../lib/services';
import type { Database } from '../../lib/stores/types';
import { client, inProcessApi } from '../helpers/api';
import { type Stack, startStack } from '../helpers/stack';

let stack: Stack;
/** The real services, with the MySQL store instrumented: how many password hashes were read. */
let s: Services;
let reads = 0;

beforeAll(async () => {
  stack = await startStack();
  const real = services();
  const db: Database = Object.create(real.db);
  Object.defineProperty(db, 'findUser', {
    value: (username: string) => {
      reads++;
      return real.db.findUser(username);
    },
  });
  s = { ...real, db };
});
beforeEach(async () => {
  await stack.reset();
  reads = 0;
});
afterAll(() => stack.close());

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e: unknown) {
    if (e instanceof HttpError) return e.status;
    throw e;
  }
}

const signUp = (username: string, password = 'secret123', kind = 'customer') =>
  register(s, { username, password, kind });

test('a repeated login is answered from the cache: no MySQL read, no slow hash, a valid token', async () => {
  await signUp('lc_fast', 'secret123', 'saler');
  expect((await login(s, { username: 'lc_fast', password: 'secret123' })).kind).toBe('saler');
  expect(reads).toBe(1);

  const completedBefore = hashLane().stats;
  const again = await login(s, { username: 'lc_fast', password: 'secret123' });
  expect(reads).toBe(1);
  expect(hashLane().stats).toEqual(completedBefore);
  expect(again.kind).toBe('saler');
  const { payload } = await jwtVerify(again.token, config().auth.jwtSecret);
  expect(payload).toMatchObject({ sub: 'lc_fast', kind: 'saler' });

  // Entry and fingerprint expire: the entry after LOGIN_CACHE_TTL_SECONDS (600 by default).
  const ttl = await stack.redis.ttl(loginCacheKeys.login('lc_fast'));
  expect(ttl).toBeGreaterThan(590);
  expect(ttl).toBeLessThanOrEqual(600);
  expect(await stack.redis.ttl(loginCacheKeys.credential('lc_fast'))).toBeGreaterThanOrEqual(ttl);
});

test('a wrong password never takes the fast path: it pays the full verification and gets 401', async () => {
  await signUp('lc_wrong');
  await login(s, { username: 'lc_wrong', password: 'secret123' });
  reads = 0;
  for (const wrong of ['secret124', 'Secret123', 'secret123 ', '']) {
    expect(await status(login(s, { username: 'lc_wrong', password: wrong }))).toBe(401);
  }
  expect(reads).toBe(4);
  // The right password is still cached.
  await login(s, { username: 'lc_wrong', password: 'secret123' });
  expect(reads).toBe(4);
});

test('concurrent logins of one account share one slow verification; another password gets its own', async () => {
  await signUp('lc_herd');
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () => status(login(s, { username: 'lc_herd', password: 'secret123' }))),
    status(login(s, { username: 'lc_herd', password: 'secret124' })),
    status(login(s, { username: 'lc_herd', password: 'secret124' })),
  ]);
  expect(results).toEqual([...Array(20).fill(200), 401, 401]);
  expect(reads).toBe(2); // one verification per distinct password
  // Nothing stays shared once it is over: a wrong password later is verified again.
  expect(await status(login(s, { username: 'lc_herd', password: 'secret124' }))).toBe(401);
  expect(reads).toBe(3);
});

test('a failed login stores nothing', async () => {
  await signUp('lc_failed');
  expect(await status(login(s, { username: 'lc_failed', password: 'nope-nope' }))).toBe(401);
  expect(await status(login(s, { username: 'lc_ghost', password: 'secret123' }))).toBe(401);
  expect(await stack.redis.keys('user:*:login')).toEqual([]);
});

test('a cached login stops working when the password changes; the new one works', async () => {
  await signUp('lc_change');
  await login(s, { username: 'lc_change', password: 'secret123' });
  expect(await changePassword(s, 'lc_change', 'another-secret')).toBe(true);
  reads = 0;
  expect(await status(login(s, { username: 'lc_change', password: 'secret123' }))).toBe(401);
  expect(reads).toBe(1);
  expect(await status(login(s, { username: 'lc_change', password: 'another-secret' }))).toBe(200);
  expect(await status(login(s, { username: 'lc_change', password: 'another-secret' }))).toBe(200);
  expect(reads).toBe(2); // the second login of the new password was cached
});

test('a login that verified the old hash cannot cache it after the change, even if it stores late', async () => {
  await signUp('lc_race');
  const before = await s.db.findUser('lc_race');
  if (!before) throw new Error('user missing');
  // A slow login read the hash, then the password changed before it stored its entry.
  await changePassword(s, 'lc_race', 'another-secret');
  const cache = new RedisLoginCache(stack.redis, config().auth.jwtSecret, 600);
  expect(
    await cache.remember({
      username: 'lc_race',
      password: 'secret123',
      kind: 'customer',
      passwordHash: before.passwordHash,
    }),
  ).toBe(false);
  expect(await cache.lookup('lc_race', 'secret123')).toBeUndefined();
  expect(await status(login(s, { username: 'lc_race', password: 'secret123' }))).toBe(401);
});

test('the marker of a change outlives any login that read the old hash, however short the cache TTL', async () => {
  await signUp('lc_marker');
  const brief = new RedisLoginCache(stack.redis, config().auth.jwtSecret, 1);
  await changePassword(s, 'lc_marker', 'another-secret', brief);
  const ttl = await stack.redis.ttl(loginCacheKeys.credential('lc_marker'));
  expect(ttl).toBeGreaterThan(CREDENTIAL_MIN_TTL_SECONDS - 5);
  expect(ttl).toBeLessThanOrEqual(CREDENTIAL_MIN_TTL_SECONDS);
});

test('a cached login stops working when the user is removed', async () => {
  await signUp('lc_removed');
  await login(s, { username: 'lc_removed', password: 'secret123' });
  await removeUser(s, 'lc_removed');
  expect(await status(login(s, { username: 'lc_removed', password: 'secret123' }))).toBe(401);
  // Registered again with the same password: a new account, which the old entry does not open.
  const cache = new RedisLoginCache(stack.redis, config().auth.jwtSecret, 600);
  expect(await cache.lookup('lc_removed', 'secret123')).toBeUndefined();
});

test('when Redis cannot be told of a change, the change is refused and the old password stays the only one', async () => {
  await signUp('lc_noredis');
  const down = createRedis('redis://127.0.0.1:1');
  try {
    const cache = new RedisLoginCache(down, config().auth.jwtSecret, 600);
    await expect(changePassword(s, 'lc_noredis', 'another-secret', cache)).rejects.toThrow();
    expect(await status(login(s, { username: 'lc_noredis', password: 'secret123' }))).toBe(200);
    expect(await status(login(s, { username: 'lc_noredis', password: 'another-secret' }))).toBe(401);
  } finally {
    down.disconnect();
  }
});

test('without Redis, logins still work through the slow path', async () => {
  await signUp('lc_slow');
  const down = createRedis('redis://127.0.0.1:1');
  try {
    const cache = new RedisLoginCache(down, config().auth.jwtSecret, 600);
    let writes = 0;
    const remember = cache.remember.bind(cache);
    cache.remember = (...args) => {
      writes++;
      return remember(...args);
    };
    expect(await status(login(s, { username: 'lc_slow', password: 'secret123' }, '', cache))).toBe(200);
    // It waited for Redis once (the lookup), not a second time to store the entry.
    expect(writes).toBe(0);
    expect(await status(login(s, { username: 'lc_slow', password: 'nope-nope' }, '', cache))).toBe(401);
  } finally {
    down.disconnect();
  }
});

test('LOGIN_CACHE_TTL_SECONDS=0 turns the cache off: nothing stored, every login slow', async () => {
  await signUp('lc_off');
  const off = new RedisLoginCache(stack.redis, config().auth.jwtSecret, 0);
  await login(s, { username: 'lc_off', password: 'secret123' }, '', off);
  await login(s, { username: 'lc_off', password: 'secret123' }, '', off);
  expect(reads).toBe(2);
  expect(await stack.redis.keys('user:*:login')).toEqual([]);
});

describe('nothing in Redis alone lets anyone log in', () => {
  const users = ['lc_a', 'lc_b', 'lc_c'];

  /** Every string stored anywhere in Redis, with its parts split on the separators used. */
  async function everythingInRedis(): Promise<string[]> {
    const values = new Set<string>();
    for (const key of await stack.redis.keys('*')) {
      values.add(key);
      const type = await stack.redis.type(key);
      const found =
        type === 'string'
          ? [(await stack.redis.get(key)) ?? '']
          : type === 'hash'
            ? Object.entries(await stack.redis.hgetall(key)).flat()
            : type === 'set'
              ? await stack.redis.smembers(key)
              : type === 'zset'
                ? await stack.redis.zrange(key, 0, -1)
                : type === 'list'
                  ? await stack.redis.lrange(key, 0, -1)
                  : [];
      for (const v of found) {
        values.add(v);
        for (const part of v.split(/[$:|]/)) if (part) values.add(part);
      }
    }
    return [...values].filter((v) => v.length >= 6 && v.length <= 128);
  }

  beforeEach(async () => {
    for (const u of users) await signUp(u, `${u}-password`);
    for (const u of users) await login(s, { username: u, password: `${u}-password` });
  });

  test('no value copied from Redis works as a password, for any user', async () => {
    const values = await everythingInRedis();
    expect(values.some((v) => v.startsWith('customer$') || v.length >= 43)).toBe(true); // the entries are there
    for (const u of users) {
      for (const v of values) {
        // Each try is a failed login: forget them, or throttling (429) would hide the answer.
        const failures = await stack.redis.keys('login:fail:*');
        if (failures.length > 0) await stack.redis.del(...failures);
        expect(await status(login(s, { username: u, password: v }))).toBe(401);
      }
    }
  }, 120_000);

  test("one user's entry copied onto another does not open the other's account", async () => {
    const [fingerprint, entry] = await stack.redis.mget(
      loginCacheKeys.credential('lc_a'),
      loginCacheKeys.login('lc_a'),
    );
    await stack.redis.set(loginCacheKeys.credential('lc_b'), fingerprint ?? '');
    await stack.redis.set(loginCacheKeys.login('lc_b'), entry ?? '');
    expect(await status(login(s, { username: 'lc_b', password: 'lc_a-password' }))).toBe(401);
  });

  test('entries forged without the key are refused, and the kind in an entry cannot be changed', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const fingerprint = (await stack.redis.get(loginCacheKeys.credential('lc_c'))) ?? '';
    const guess = 'forged-password';
    for (const mac of [
      createHash('sha256').update(guess).digest('base64url'),
      createHmac('sha256', 'wrong key')
        .update(JSON.stringify(['lc_c', guess, fingerprint, 'customer']))
        .digest('base64url'),
      createHmac('sha256', fingerprint)
        .update(JSON.stringify(['lc_c', guess, fingerprint, 'customer']))
        .digest('base64url'),
    ]) {
      await stack.redis.set(loginCacheKeys.login('lc_c'), `customer$${mac}`);
      expect(await status(login(s, { username: 'lc_c', password: guess }))).toBe(401);
    }
    // The genuine entry with its kind switched to seller: refused; the slow path still says customer.
    await stack.redis.del(loginCacheKeys.login('lc_c'));
    await login(s, { username: 'lc_c', password: 'lc_c-password' });
    const genuine = (await stack.redis.get(loginCacheKeys.login('lc_c'))) ?? '';
    await stack.redis.set(loginCacheKeys.login('lc_c'), genuine.replace(/^customer\$/, 'saler$'));
    expect((await login(s, { username: 'lc_c', password: 'lc_c-password' })).kind).toBe('customer');
  });

  test('a cache keyed from another secret recognises none of the entries', async () => {
    const other = new RedisLoginCache(stack.redis, new TextEncoder().encode('x'.repeat(32)), 600);
    for (const u of users) expect(await other.lookup(u, `${u}-password`)).toBeUndefined();
  });
});

describe('rehash on the next successful login', () => {
  test("a scrypt hash is replaced by argon2id at the setting (here the tests' cheap one), and the login is cached under the new hash", async () => {
    const old = await computeHash('secret123', { algorithm: 'scrypt', logN: 10 });
    expect(await s.db.insertUser({ username: 'lc_old', kind: 'customer', passwordHash: old })).toBe(true);
    await s.cache.putUser('lc_old', 'customer');
    expect(await status(login(s, { username: 'lc_old', password: 'secret123' }))).toBe(200);
    const upgraded = (await s.db.findUser('lc_old'))?.passwordHash ?? '';
    const { memoryKiB, timeCost } = config().auth.passwordHash as { memoryKiB: number; timeCost: number };
    expect(upgraded).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${memoryKiB},t=${timeCost},p=1\\$`));

    reads = 0;
    expect(await status(login(s, { username: 'lc_old', password: 'secret123' }))).toBe(200);
    expect(reads).toBe(0); // cached, bound to the new hash
    await stack.redis.flushdb();
    expect(await status(login(s, { username: 'lc_old', password: 'secret123' }))).toBe(200);
    expect(await status(login(s, { username: 'lc_old', password: 'wrong-one' }))).toBe(401);
    expect((await s.db.findUser('lc_old'))?.passwordHash).toBe(upgraded); // not rehashed again
  });

  test('a hash at the setting is left alone', async () => {
    await signUp('lc_current');
    const stored = (await s.db.findUser('lc_current'))?.passwordHash;
    await login(s, { username: 'lc_current', password: 'secret123' });
    expect((await s.db.findUser('lc_current'))?.passwordHash).toBe(stored);
  });

  test('updatePasswordHash with an expected hash changes nothing once the hash moved on', async () => {
    await signUp('lc_cas');
    const stored = (await s.db.findUser('lc_cas'))?.passwordHash ?? '';
    expect(await s.db.updatePasswordHash('lc_cas', 'changed-meanwhile')).toBe(true);
    expect(await s.db.updatePasswordHash('lc_cas', 'rehash-result', stored)).toBe(false);
    expect((await s.db.findUser('lc_cas'))?.passwordHash).toBe('changed-meanwhile');
    expect(await s.db.updatePasswordHash('lc_cas', 'rehash-result', 'changed-meanwhile')).toBe(true);
    expect(await s.db.updatePasswordHash('lc_nobody', 'x')).toBe(false);
  });
});

test('past the hash lane, a login gets 503 busy with its kind key and Retry-After, at once', async () => {
  await signUp('lc_busy');
  const lane = hashLane();
  const { hashConcurrency, hashQueue } = config().auth;
  let open!: () => void;
  const gate = new Promise<void>((r) => {
    open = r;
  });
  const held = Array.from({ length: hashConcurrency + hashQueue }, () => lane.run(() => gate).catch(() => {}));
  try {
    const started = performance.now();
    const res = await client(inProcessApi()).login('lc_busy', 'secret123');
    expect(performance.now() - started).toBeLessThan(200);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ kind: '', errMsg: 'Server busy. Retry shortly.' });
    expect(res.headers['retry-after']).toBe('1');
    await expect(login(s, { username: 'lc_unknown', password: 'secret123' })).rejects.toBeInstanceOf(ServerBusy);
  } finally {
    open();
    await Promise.all(held);
  }
  expect(await status(login(s, { username: 'lc_busy', password: 'secret123' }))).toBe(200);
});
