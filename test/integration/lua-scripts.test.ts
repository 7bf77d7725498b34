/**
 * The Lua scripts on a real Redis, through the cache store that production uses (EVALSHA via
 * ioredis `defineCommand`). Each test uses its own seller, so tests do not depend on each other.
 */
import { randomUUID } from 'node:crypto';
import { couponKeys, keys } from '../../lib/keys';
import { RedisSaleCache } from '../../lib/stores/redis-sale-cache';
import type { Coupon } from '../../lib/stores/types';
import { type Stack, startStack } from '../helpers/stack';

let stack: Stack;
let cache: RedisSaleCache;
let nextId = 1;

beforeAll(async () => {
  stack = await startStack();
  cache = new RedisSaleCache(stack.redis);
});
afterAll(() => stack.close());

/** A coupon of a fresh seller, loaded into Redis as coupon creation does. */
async function coupon(fields: Partial<Coupon> = {}): Promise<Coupon> {
  const amount = fields.amount ?? 5;
  const c: Coupon = {
    id: nextId++,
    seller: `s${randomUUID().slice(0, 8)}`,
    name: 'c1',
    amount,
    left: amount,
    stock: 30,
    description: 'ten off',
    ...fields,
  };
  await cache.addCoupon(c);
  return c;
}

async function state(c: { seller: string; name: string }) {
  const k = couponKeys(c.seller, c.name);
  const [info, holders, outbox] = await Promise.all([
    stack.redis.hgetall(k.info),
    stack.redis.smembers(k.holders),
    stack.redis.hgetall(k.outbox),
  ]);
  return { info, holders: holders.sort(), outbox };
}

const grab = (c: Coupon, username: string, requestId: string = randomUUID(), at = Date.now()) =>
  cache.grab(c.seller, c.name, username, requestId, at);

describe('grab-coupon', () => {
  test('granted: takes one, adds the holder, writes the outbox entry, returns the holding', async () => {
    const c = await coupon({ amount: 2 });
    const result = await grab(c, 'bob', 'req-1', 1_700_000_000_123);
    expect(result).toEqual({
      outcome: 'granted',
      couponId: c.id,
      holding: { seller: c.seller, name: 'c1', stock: 30, description: 'ten off' },
    });
    const s = await state(c);
    expect(s.info.left).toBe('1');
    expect(s.info.amount).toBe('2');
    expect(s.holders).toEqual(['bob']);
    expect(s.outbox).toEqual({ bob: '1700000000123|req-1' });
  });

  test('not-found: no such coupon, and nothing is written', async () => {
    const seller = `s${randomUUID().slice(0, 8)}`;
    expect(await cache.grab(seller, 'nope', 'bob', 'r', Date.now())).toEqual({ outcome: 'not-found' });
    const k = couponKeys(seller, 'nope');
    expect(await stack.redis.exists(k.info, k.holders, k.outbox)).toBe(0);
  });

  test('not-found: another seller with the same coupon name is another coupon', async () => {
    const c = await coupon();
    expect(await cache.grab(`${c.seller}x`, c.name, 'bob', 'r', Date.now())).toEqual({ outcome: 'not-found' });
    expect(await cache.grab(c.seller, 'C1', 'bob', 'r', Date.now())).toEqual({ outcome: 'not-found' });
    expect((await state(c)).info.left).toBe('5');
  });

  test('sold-out: none left, nothing changes', async () => {
    const c = await coupon({ amount: 1 });
    expect((await grab(c, 'bob')).outcome).toBe('granted');
    expect(await grab(c, 'carol')).toEqual({ outcome: 'sold-out' });
    const s = await state(c);
    expect(s.info.left).toBe('0');
    expect(s.holders).toEqual(['bob']);
    expect(Object.keys(s.outbox)).toEqual(['bob']);
  });

  test('sold-out for a coupon loaded with nothing left', async () => {
    const c = await coupon({ amount: 3, left: 0 });
    expect(await grab(c, 'bob')).toEqual({ outcome: 'sold-out' });
    expect((await state(c)).holders).toEqual([]);
  });

  test('already-owned: a second grab by another request takes nothing', async () => {
    const c = await coupon({ amount: 5 });
    expect((await grab(c, 'bob', 'first')).outcome).toBe('granted');
    expect(await grab(c, 'bob', 'second')).toEqual({ outcome: 'already-owned' });
    const s = await state(c);
    expect(s.info.left).toBe('4');
    expect(s.outbox.bob).toMatch(/\|first$/);
  });

  test('already-owned wins over sold-out for the customer who took the last one', async () => {
    const c = await coupon({ amount: 1 });
    expect((await grab(c, 'bob', 'first')).outcome).toBe('granted');
    expect(await grab(c, 'bob', 'second')).toEqual({ outcome: 'already-owned' });
  });

  test('already-owned once the grab is confirmed (its outbox entry cleared)', async () => {
    const c = await coupon();
    expect((await grab(c, 'bob', 'req')).outcome).toBe('granted');
    await cache.confirm(c.seller, c.name, 'bob');
    expect((await state(c)).outbox).toEqual({});
    expect(await grab(c, 'bob', 'other')).toEqual({ outcome: 'already-owned' });
  });

  test('no oversell and one each under concurrent grabs', async () => {
    const c = await coupon({ amount: 10 });
    const customers = Array.from({ length: 60 }, (_, i) => `u${i}`);
    // Every customer tries twice, with different requests, all at once.
    const results = await Promise.all([...customers, ...customers].map((u) => grab(c, u)));
    const granted = results.filter((r) => r.outcome === 'granted');
    expect(granted).toHaveLength(10);
    const s = await state(c);
    expect(s.info.left).toBe('0');
    expect(s.holders).toHaveLength(10);
    expect(Object.keys(s.outbox).sort()).toEqual(s.holders);
    expect(results.filter((r) => r.outcome === 'sold-out').length).toBeGreaterThan(0);
  });

  test('names made of Lua, SQL and key metacharacters are ordinary coupons', async () => {
    const seller = `s${randomUUID().slice(0, 8)}`;
    const names = ["' OR 1=1 --", ']]--[[', '%s%d', '{c1}', 'c1}', 'a:b', '\u{1F600}', 'c1'];
    for (const [i, name] of names.entries()) await coupon({ seller, name, amount: 1, id: 1000 + i });
    for (const name of names) {
      const r = await cache.grab(seller, name, 'bob', randomUUID(), Date.now());
      expect(r).toMatchObject({ outcome: 'granted', holding: { seller, name } });
    }
    for (const name of names) expect((await state({ seller, name })).info.left).toBe('0');
  });

  test('falls back to EVAL after the script cache is flushed (a Redis restart)', async () => {
    const c = await coupon();
    await stack.redis.script('FLUSH');
    expect((await grab(c, 'bob')).outcome).toBe('granted');
  });
});

describe('request-id idempotence', () => {
  test('the same request retried answers granted again and takes nothing more', async () => {
    const c = await coupon({ amount: 3 });
    const first = await grab(c, 'bob', 'req-A', 1000);
    const retry = await grab(c, 'bob', 'req-A', 2000);
    expect(retry).toEqual(first);
    const s = await state(c);
    expect(s.info.left).toBe('2');
    // The retry leaves the original outbox entry (and its grab time) alone.
    expect(s.outbox).toEqual({ bob: '1000|req-A' });
  });

  test('the same request retried after the last coupon went still answers granted', async () => {
    const c = await coupon({ amount: 1 });
    expect((await grab(c, 'bob', 'req-A')).outcome).toBe('granted');
    expect((await grab(c, 'bob', 'req-A')).outcome).toBe('granted');
    expect((await state(c)).info.left).toBe('0');
  });

  test('another request of the same customer answers already-owned', async () => {
    const c = await coupon();
    await grab(c, 'bob', 'req-A');
    expect((await grab(c, 'bob', 'req-B')).outcome).toBe('already-owned');
  });

  test('a request id that is a suffix of the granted one does not match it', async () => {
    const c = await coupon();
    await grab(c, 'bob', 'xreq');
    expect((await grab(c, 'bob', 'req')).outcome).toBe('already-owned');
    expect(await cache.release(c.seller, c.name, 'bob', 'req')).toBe('stands');
  });

  test("one customer's request id does not grant another customer", async () => {
    const c = await coupon({ amount: 1 });
    await grab(c, 'bob', 'req-A');
    expect(await grab(c, 'carol', 'req-A')).toEqual({ outcome: 'sold-out' });
  });
});

describe('release-grab', () => {
  test('the request that made the grab releases it: holder, outbox entry and stock come back', async () => {
    const c = await coupon({ amount: 1 });
    await grab(c, 'bob', 'req-A');
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('released');
    const s = await state(c);
    expect(s.info.left).toBe('1');
    expect(s.holders).toEqual([]);
    expect(s.outbox).toEqual({});
    // The tombstone outlives any message of the grab (SQS keeps one 14 days at most).
    const k = couponKeys(c.seller, c.name);
    expect(await stack.redis.smembers(k.released)).toEqual(['bob|req-A']);
    expect(await stack.redis.ttl(k.released)).toBeGreaterThan(14 * 24 * 3600);
    // The coupon can be sold again.
    expect((await grab(c, 'carol')).outcome).toBe('granted');
  });

  test('another request id releases nothing', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    expect(await cache.release(c.seller, c.name, 'bob', 'req-B')).toBe('stands');
    const s = await state(c);
    expect(s.info.left).toBe('1');
    expect(s.holders).toEqual(['bob']);
    expect(s.outbox.bob).toMatch(/\|req-A$/);
  });

  test('releasing twice gives the coupon back once', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('released');
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('gone');
    expect((await state(c)).info.left).toBe('2');
  });

  test('a confirmed grab cannot be released', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    await cache.confirm(c.seller, c.name, 'bob');
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('stands');
    const s = await state(c);
    expect(s.info.left).toBe('1');
    expect(s.holders).toEqual(['bob']);
  });

  test("a request id releases only its own customer's grab", async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    expect(await cache.release(c.seller, c.name, 'carol', 'req-A')).toBe('gone');
    expect((await state(c)).holders).toEqual(['bob']);
    // Tombstones name the customer too: bob's grab of the same request id is not marked released.
    expect(await stack.redis.smembers(couponKeys(c.seller, c.name).released)).toEqual(['carol|req-A']);
  });

  test('releasing a grab Redis does not hold (data lost) changes no stock but leaves the tombstone', async () => {
    const c = await coupon({ amount: 2 });
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('gone');
    expect((await state(c)).info.left).toBe('2');
    const seller = `s${randomUUID().slice(0, 8)}`;
    expect(await cache.release(seller, 'nope', 'bob', 'req-A')).toBe('gone');
    const k = couponKeys(seller, 'nope');
    expect(await stack.redis.exists(k.info, k.holders, k.outbox)).toBe(0);
    expect(await stack.redis.smembers(k.released)).toEqual(['bob|req-A']);
  });

  test('after a release the same customer can grab again with a new request', async () => {
    const c = await coupon({ amount: 1 });
    await grab(c, 'bob', 'req-A');
    await cache.release(c.seller, c.name, 'bob', 'req-A');
    expect((await grab(c, 'bob', 'req-B')).outcome).toBe('granted');
    expect((await grab(c, 'bob', 'req-A')).outcome).toBe('already-owned');
  });
});

describe('load-coupon', () => {
  test('writes exactly the coupon fields, with no holders and no outbox', async () => {
    const c = await coupon({ amount: 4, stock: 0, description: '' });
    expect(await state(c)).toEqual({
      info: {
        id: String(c.id),
        amount: '4',
        left: '4',
        stock: '0',
        description: '',
        paused: '0',
        startsAt: '',
        endsAt: '',
      },
      holders: [],
      outbox: {},
    });
  });

  test('replaces whatever state the coupon had', async () => {
    const c = await coupon({ amount: 5 });
    await grab(c, 'bob');
    await grab(c, 'carol');
    const k = couponKeys(c.seller, c.name);
    await stack.redis.hset(k.info, 'stale', 'x');
    const result = await stack.redis.loadCoupon(
      k.info,
      k.holders,
      k.outbox,
      k.stats,
      c.id,
      9,
      7,
      11,
      "new ' desc",
      '0',
      '',
      '',
      'dave',
      'erin',
    );
    expect(result).toBe(1);
    expect(await state(c)).toEqual({
      info: {
        id: String(c.id),
        amount: '9',
        left: '7',
        stock: '11',
        description: "new ' desc",
        paused: '0',
        startsAt: '',
        endsAt: '',
      },
      holders: ['dave', 'erin'],
      outbox: {},
    });
    // The loaded state is what the next grab sees.
    expect(await grab(c, 'dave')).toEqual({ outcome: 'already-owned' });
    expect((await grab(c, 'bob')).outcome).toBe('granted');
    expect((await state(c)).info.left).toBe('6');
  });

  test('loads more holders than one SADD batch (1000)', async () => {
    const c = await coupon({ amount: 3000 });
    const k = couponKeys(c.seller, c.name);
    const holders = Array.from({ length: 2501 }, (_, i) => `h${i}`);
    await stack.redis.loadCoupon(k.info, k.holders, k.outbox, k.stats, c.id, 3000, 499, 1, '', '0', '', '', ...holders);
    expect(await stack.redis.scard(k.holders)).toBe(2501);
    expect(await stack.redis.sismember(k.holders, 'h2500')).toBe(1);
    expect(await grab(c, 'h0')).toEqual({ outcome: 'already-owned' });
  });

  test('the cache rebuild uses it: holders and left come from the snapshot', async () => {
    const c = await coupon({ amount: 3 });
    await grab(c, 'stale-holder');
    await cache.restore({
      users: [],
      coupons: [{ ...c, left: 1 }],
      purchases: [
        { couponId: c.id, username: 'bob', grabbedAt: new Date(1000) },
        { couponId: c.id, username: 'carol', grabbedAt: new Date(2000) },
      ],
      revoked: [],
    });
    const s = await state(c);
    expect(s.info.left).toBe('1');
    expect(s.holders).toEqual(['bob', 'carol']);
    expect(s.outbox).toEqual({});
    expect(await cache.isWarm()).toBe(true);
  });
});

describe('pending grabs (the outbox the sweeper reads)', () => {
  test('lists unconfirmed grabs older than the threshold, not confirmed or recent ones', async () => {
    const c = await coupon({ amount: 3 });
    await grab(c, 'old', 'req-old', 1000);
    await grab(c, 'confirmed', 'req-c', 1000);
    await cache.confirm(c.seller, c.name, 'confirmed');
    await grab(c, 'recent', 'req-new', 5000);
    const mine = (await cache.pendingGrabs(2000)).filter((p) => p.holding.seller === c.seller);
    expect(mine).toEqual([
      {
        couponId: c.id,
        holding: { seller: c.seller, name: c.name, stock: 30, description: 'ten off' },
        username: 'old',
        grabbedAtMs: 1000,
        requestId: 'req-old',
        claimed: false,
      },
    ]);
  });

  test('a grab the consumer claimed is pending but marked claimed, with its request id', async () => {
    const c = await coupon({ amount: 3 });
    await grab(c, 'bob', 'req-b', 1000);
    await cache.claimGrabs([message(c, 'bob', 'req-b')]);
    const mine = (await cache.pendingGrabs(2000)).filter((p) => p.holding.seller === c.seller);
    expect(mine.map((p) => [p.username, p.requestId, p.claimed])).toEqual([['bob', 'req-b', true]]);
  });
});

const message = (c: Coupon, username: string, requestId: string) => ({
  couponId: c.id,
  seller: c.seller,
  name: c.name,
  username,
  grabbedAt: new Date().toISOString(),
  requestId,
});

describe('claim-grab (the consumer)', () => {
  test('a held grab is claimed: its request can no longer release it', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    expect(await cache.claimGrabs([message(c, 'bob', 'req-A')])).toEqual([{ status: 'held' }]);
    expect((await state(c)).outbox.bob).toMatch(/\|req-A\|c$/);
    expect(await cache.release(c.seller, c.name, 'bob', 'req-A')).toBe('stands');
    expect((await state(c)).info.left).toBe('1');
    // Claiming again (a redelivery) changes nothing.
    expect(await cache.claimGrabs([message(c, 'bob', 'req-A')])).toEqual([{ status: 'held' }]);
    expect((await state(c)).info.left).toBe('1');
  });

  test('a released grab is recognised by its tombstone only', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    await cache.release(c.seller, c.name, 'bob', 'req-A');
    expect(await cache.claimGrabs([message(c, 'bob', 'req-A')])).toEqual([{ status: 'released' }]);
    expect((await state(c)).info.left).toBe('2');
  });

  test('a grab missing from the holders without a tombstone is put back, and left counts it', async () => {
    const c = await coupon({ amount: 2 });
    await grab(c, 'bob', 'req-A');
    const k = couponKeys(c.seller, c.name);
    // Redis lost it (a replica that missed the write was promoted, a shard restored from a snapshot).
    await stack.redis.srem(k.holders, 'bob');
    await stack.redis.hset(k.info, 'left', 2);
    expect(await cache.claimGrabs([message(c, 'bob', 'req-A')])).toEqual([
      {
        status: 'repaired',
        left: 1,
        holding: { seller: c.seller, name: c.name, stock: 30, description: 'ten off' },
      },
    ]);
    const s = await state(c);
    expect(s.holders).toEqual(['bob']);
    expect(s.info.left).toBe('1');
  });

  test('a coupon Redis does not know is left to MySQL; one known under another id is poison', async () => {
    const c = await coupon({ amount: 2 });
    const seller = `s${randomUUID().slice(0, 8)}`;
    expect(await cache.claimGrabs([{ ...message(c, 'bob', 'r'), seller }])).toEqual([{ status: 'unknown' }]);
    expect(await cache.claimGrabs([{ ...message(c, 'bob', 'r'), couponId: c.id + 1000 }])).toEqual([
      { status: 'mismatch' },
    ]);
    expect((await state(c)).holders).toEqual([]);
  });
});

describe('rebuild lock (compare-and-delete, compare-and-expire)', () => {
  test('only the holder of the token renews or releases the lock', async () => {
    await stack.redis.del('cache:warmup-lock');
    expect(await cache.tryLockWarmup('mine', 1000)).toBe(true);
    expect(await cache.tryLockWarmup('theirs', 1000)).toBe(false);
    expect(await cache.renewWarmupLock('theirs', 60_000)).toBe(false);
    await cache.unlockWarmup('theirs');
    expect(await stack.redis.get('cache:warmup-lock')).toBe('mine');
    expect(await cache.renewWarmupLock('mine', 60_000)).toBe(true);
    expect(await stack.redis.pttl('cache:warmup-lock')).toBeGreaterThan(50_000);
    await cache.unlockWarmup('mine');
    expect(await stack.redis.exists('cache:warmup-lock')).toBe(0);
  });
});

describe('grab-coupon: operating a sale', () => {
  const limits = (rate: number, burst: number) => ({
    perCustomer: { rate, burst },
    perAddress: { rate: 0, burst: 1 },
  });

  test('a retried call of a granted request is granted again and counted once', async () => {
    const c = await coupon({ amount: 2 });
    expect((await grab(c, 'bob', 'req-1')).outcome).toBe('granted');
    expect((await grab(c, 'bob', 'req-1')).outcome).toBe('granted');
    const s = await cache.couponStats(c.seller, c.name);
    expect(s?.outcomes.granted).toBe(1);
    expect(s?.left).toBe(1);
  });

  test('the rate limit (GCRA) admits a burst, then one request per interval, and names the wait', async () => {
    const c = await coupon({ amount: 100 });
    const at = (i: number) => cache.grab(c.seller, c.name, 'bob', `r${i}`, Date.now(), '10.0.0.1', limits(1, 3));
    const first = await Promise.all([at(1), at(2), at(3)]);
    expect(first.map((r) => r.outcome).sort()).toEqual(['already-owned', 'already-owned', 'granted']);
    expect(await at(4)).toEqual({ outcome: 'rate-limited', retryAfterSeconds: 1 });
    // The refused request spent nothing: after one interval exactly one more is admitted.
    await new Promise((r) => setTimeout(r, 1050));
    expect((await at(5)).outcome).toBe('already-owned');
    expect((await at(6)).outcome).toBe('rate-limited');
    const key = couponKeys(c.seller, c.name).customerRate('bob');
    const ttl = await stack.redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3001);
  });

  test('add-stats adds a batch to the totals and to the ring; seconds older than the ring reach only the totals', async () => {
    const c = await coupon();
    const now = Math.floor(Date.now() / 1000);
    await cache.addStats(c.seller, c.name, 'sold-out', [
      [now, 3],
      [now - 1, 2],
      [now - 500, 7],
    ]);
    const s = await cache.couponStats(c.seller, c.name);
    expect(s?.outcomes['sold-out']).toBe(12);
    const bySecond = new Map(s?.perSecond.map(([t, g, r]) => [t, [g, r]]));
    expect(bySecond.get(now)).toEqual([0, 3]);
    expect(bySecond.get(now - 1)).toEqual([0, 2]);
    expect(s?.perSecond.reduce((n, [, , r]) => n + r, 0)).toBe(5);
  });

  test('a ring slot holding an older second is reset before it counts the new one', async () => {
    const c = await coupon();
    const k = couponKeys(c.seller, c.name);
    const now = Math.floor(Date.now() / 1000);
    const slot = now % 128;
    await stack.redis.hset(k.seconds, `t${slot}`, now - 128, `g${slot}`, 40, `r${slot}`, 50);
    const s0 = await cache.couponStats(c.seller, c.name);
    expect(s0?.perSecond.at(-1)).toEqual([now, 0, 0]);
    expect((await grab(c, 'bob')).outcome).toBe('granted');
    const s1 = await cache.couponStats(c.seller, c.name);
    const last = s1?.perSecond.filter(([t]) => t >= now).reduce((n, [, g, r]) => n + g + r, 0);
    expect(last).toBe(1);
  });
});

describe('control-coupon', () => {
  test('pause and resume report the flag they found; amount changes move amount and left together', async () => {
    const c = await coupon({ amount: 3 });
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'pause' })).toEqual({
      amount: 3,
      left: 3,
      wasPaused: false,
    });
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'pause' })).toMatchObject({ wasPaused: true });
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'resume' })).toMatchObject({ wasPaused: true });
    await grab(c, 'bob');
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'amount', add: -2 })).toMatchObject({
      amount: 1,
      left: 0,
    });
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'amount', add: -1 })).toBe('too-many');
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'amount', add: 1_000_000 })).toBe('too-big');
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'amount', add: 999_999 })).toMatchObject({
      amount: 1_000_000,
      left: 999_999,
    });
    // Forced (undoing a change): applied whatever is left.
    expect(await cache.controlCoupon(c.seller, c.name, { action: 'amount', add: -1_000_000 }, true)).toMatchObject({
      amount: 0,
      left: -1,
    });
    expect(await cache.controlCoupon(c.seller, 'nope', { action: 'pause' })).toBe('not-found');
  });
});

describe('login-throttle', () => {
  test('counts failures in a sliding window, keeps only the newest `limit`, and names the wait', async () => {
    const key = `login:fail:u:{t${randomUUID().slice(0, 8)}}`;
    for (let i = 0; i < 3; i++) expect(await cache.loginThrottle(key, 'check', 2000, 3)).toBe(0);
    for (let i = 0; i < 5; i++) expect(await cache.loginThrottle(key, 'fail', 2000, 3)).toBe(0);
    expect(await stack.redis.zcard(key)).toBe(3);
    expect(await cache.loginThrottle(key, 'check', 2000, 3)).toBe(2);
    expect(await stack.redis.pttl(key)).toBeGreaterThan(1000);
    await new Promise((r) => setTimeout(r, 2100));
    expect(await cache.loginThrottle(key, 'check', 2000, 3)).toBe(0);
  });
});

describe('grab with the session checked in the same round trip (single node: session-check + grab-coupon)', () => {
  const inSession = (c: Coupon, username: string, jti: string) =>
    cache.grab(c.seller, c.name, username, randomUUID(), Date.now(), '', undefined, jti);

  test('a warm cache and a live token: the grab itself', async () => {
    await stack.redis.set(keys.warm, '1');
    const c = await coupon({ amount: 1 });
    expect((await inSession(c, 'bob', randomUUID())).outcome).toBe('granted');
    expect((await inSession(c, 'eve', randomUUID())).outcome).toBe('sold-out');
  });

  test('a revoked token: refused, nothing taken, nothing counted', async () => {
    await stack.redis.set(keys.warm, '1');
    const c = await coupon({ amount: 1 });
    const jti = randomUUID();
    await cache.revokeToken(jti, 60);
    expect(await inSession(c, 'bob', jti)).toEqual({ outcome: 'revoked' });
    const s = await state(c);
    expect([s.info.left, s.holders, s.outbox]).toEqual(['1', [], {}]);
    expect(await stack.redis.hgetall(couponKeys(c.seller, c.name).stats)).toEqual({ granted: '0' });
  });

  test('a cold cache: refused before anything else, even for a revoked token', async () => {
    const c = await coupon({ amount: 1 });
    await stack.redis.del(keys.warm);
    const jti = randomUUID();
    expect(await inSession(c, 'bob', jti)).toEqual({ outcome: 'cold' });
    await cache.revokeToken(jti, 60);
    expect(await inSession(c, 'bob', jti)).toEqual({ outcome: 'cold' });
    expect((await state(c)).info.left).toBe('1');
    expect(await stack.redis.hgetall(couponKeys(c.seller, c.name).stats)).toEqual({ granted: '0' });
  });
});
