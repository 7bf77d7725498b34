import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../clients/redis';
import { couponKeys, couponRef, keys, parseCouponRef, SLOT_COUNT } from '../keys';
import { type Kind, MAX_AMOUNT } from '../validation';
import {
  type Claim,
  type Coupon,
  type CouponChange,
  type CouponStats,
  type GrabLimits,
  type GrabResult,
  type Holding,
  type PendingGrab,
  type PurchaseMessage,
  type ReleaseResult,
  type SaleCache,
  type SessionRefusal,
  type Snapshot,
  STAT_OUTCOMES,
  type StatOutcome,
} from './types';

const OUTCOMES = {
  0: 'not-found',
  [-1]: 'sold-out',
  [-2]: 'already-owned',
  [-3]: 'paused',
  [-4]: 'not-started',
  [-5]: 'ended',
} as const;
const NO_LIMITS: GrabLimits = { perCustomer: { rate: 0, burst: 1 }, perAddress: { rate: 0, burst: 1 } };
/** How many seconds the stats report (api.md: the last 120). */
const STATS_SECONDS = 120;
const RELEASES: Record<number, ReleaseResult> = { 1: 'released', 2: 'stands', 0: 'gone' };
const CLAIMS = { 1: 'held', 0: 'released', [-1]: 'unknown', [-2]: 'mismatch' } as const;
/** Tombstones outlive any message: SQS keeps one at most 14 days. */
const TOMBSTONE_SECONDS = 15 * 24 * 3600;

/** The member a holding is stored as: derived from immutable fields, so re-adding it is a no-op. */
function holdingMember(h: Holding): string {
  return JSON.stringify([h.seller, h.name, h.stock, h.description]);
}

function parseHolding(member: string): Holding {
  const [seller, name, stock, description] = JSON.parse(member) as [string, string, number, string];
  return { seller, name, stock, description };
}

/** `<grabbedAtMs>|<requestId>`, with `|c` appended once the consumer claimed the grab. */
function parseOutboxEntry(value: string): { grabbedAtMs: number; requestId: string; claimed: boolean } {
  const [grabbedAtMs = '', requestId = '', flag] = value.split('|');
  return { grabbedAtMs: Number(grabbedAtMs), requestId, claimed: flag === 'c' };
}

const WRITE_CHUNK = 500;

export class RedisSaleCache implements SaleCache {
  constructor(private readonly redis: RedisClient) {}

  async session(jti: string) {
    // Issued together: one auto-pipelined round trip on a single node; on a cluster, one command
    // per shard, all in flight at once.
    const markers = await this.warmMarkers();
    const [revoked, ...warm] = await Promise.allSettled([
      this.redis.exists(keys.revokedToken(jti)),
      ...markers.map((key) => this.redis.exists(key)),
    ]);
    if (revoked?.status !== 'fulfilled') throw revoked?.reason;
    // A shard that does not answer (failing over) is not judged now: this request's own reads of it
    // fail by themselves, and once it answers again its markers tell whether it kept its data. So a
    // failover of one shard does not refuse the requests that never touch it.
    return { revoked: revoked.value === 1, warm: warm.every((w) => w.status === 'rejected' || w.value === 1) };
  }

  private markers: { keys: string[]; at: number } | undefined;

  /**
   * The warm markers that say every shard holds its data: the single `cache:warm` on one node; on a
   * cluster, the marker of one slot of each primary (restore writes one per slot, and they move
   * with their slots), so a shard that lost its data is noticed wherever the next request reads.
   * The choice is kept a second: only a shard gaining or losing all its slots changes it.
   */
  private async warmMarkers(): Promise<string[]> {
    const cluster = this.redis;
    if (!(cluster instanceof Cluster)) return [keys.warm];
    if (this.markers && Date.now() - this.markers.at < 1000) return this.markers.keys;
    // Before the first command the client does not know the slots yet: this one waits for them.
    if (cluster.slots.length === 0) await cluster.exists(keys.warmSlot(0));
    const firstSlot = new Map<string, number>();
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const owner = cluster.slots[slot]?.[0];
      if (owner !== undefined && !firstSlot.has(owner)) firstSlot.set(owner, slot);
    }
    const markers = firstSlot.size === 0 ? [keys.warmSlot(0)] : [...firstSlot.values()].map(keys.warmSlot);
    this.markers = { keys: markers, at: Date.now() };
    return markers;
  }

  async revokeToken(jti: string, ttlSeconds: number) {
    await this.redis.set(keys.revokedToken(jti), '1', 'EX', Math.max(1, ttlSeconds));
  }

  async userKind(username: string): Promise<Kind | undefined> {
    const kind = await this.redis.get(keys.userKind(username));
    return kind === 'customer' || kind === 'saler' ? kind : undefined;
  }

  async putUser(username: string, kind: Kind) {
    await this.redis.set(keys.userKind(username), kind);
  }

  async grab(
    seller: string,
    name: string,
    username: string,
    requestId: string,
    grabbedAtMs: number,
    address = '',
    limits: GrabLimits = NO_LIMITS,
    session?: string,
  ): Promise<GrabResult | SessionRefusal> {
    const k = couponKeys(seller, name);
    const { perCustomer, perAddress } = limits;
    const argv = [
      username,
      grabbedAtMs,
      requestId,
      perCustomer.rate,
      perCustomer.burst,
      address ? perAddress.rate : 0,
      perAddress.burst,
    ] as const;
    const couponKeyList = [
      k.info,
      k.holders,
      k.outbox,
      k.stats,
      k.seconds,
      k.customerRate(username),
      k.addressRate(address),
    ] as const;
    let reply: [number, ...(string | number)[]];
    if (session === undefined) {
      reply = await this.redis.grabCoupon(...couponKeyList, ...argv);
    } else if (this.redis instanceof Cluster) {
      // The session's keys live in other slots: checked first, in a round trip of its own.
      const { revoked, warm } = await this.session(session);
      if (!warm) return { outcome: 'cold' };
      if (revoked) return { outcome: 'revoked' };
      reply = await this.redis.grabCoupon(...couponKeyList, ...argv);
      // The coupon's shard may have lost its data since: "not found" only from a warm cache (one
      // more round trip, on this rare outcome only; a single node checks it in the same script).
      if (reply[0] === 0 && !(await this.isWarm())) return { outcome: 'cold' };
    } else {
      reply = await this.redis.grabInSession(...couponKeyList, keys.warm, keys.revokedToken(session), ...argv);
    }
    const [code, id, stock, description] = reply;
    if (code === 1) {
      return {
        outcome: 'granted',
        couponId: Number(id),
        holding: { seller, name, stock: Number(stock), description: String(description ?? '') },
      };
    }
    if (code === -6) return { outcome: 'rate-limited', retryAfterSeconds: Math.max(1, Number(id)) };
    if (code === -7) return { outcome: 'revoked' };
    if (code === -8) return { outcome: 'cold' };
    return { outcome: OUTCOMES[code as 0 | -1 | -2 | -3 | -4 | -5] ?? 'not-found' };
  }

  async addStats(seller: string, name: string, outcome: StatOutcome, perSecond: [number, number][]) {
    const k = couponKeys(seller, name);
    await this.redis.addStats(k.stats, k.seconds, outcome, ...perSecond.flat());
  }

  async controlCoupon(seller: string, name: string, change: CouponChange, force = false) {
    const add = change.action === 'amount' ? change.add : 0;
    const [code, amount, left, wasPaused] = await this.redis.controlCoupon(
      couponKeys(seller, name).info,
      change.action,
      add,
      force ? '1' : '0',
      MAX_AMOUNT,
    );
    if (code === 0) return 'not-found' as const;
    if (code === -1) return 'too-many' as const;
    if (code === -2) return 'too-big' as const;
    return { amount: Number(amount), left: Number(left), wasPaused: wasPaused === 1 };
  }

  async couponStats(seller: string, name: string): Promise<CouponStats | undefined> {
    const k = couponKeys(seller, name);
    const reply = await this.redis.couponStats(k.info, k.stats, k.seconds);
    if (reply.length === 0) return undefined;
    const [now, info, counts, ring] = reply;
    const [amount, left, paused, startsAt, endsAt] = info;
    const totals = pairs(counts);
    const outcomes = Object.fromEntries(STAT_OUTCOMES.map((o) => [o, Number(totals.get(o) ?? 0)])) as Record<
      StatOutcome,
      number
    >;
    const seconds = pairs(ring);
    const perSecond: [number, number, number][] = [];
    for (let t = now - STATS_SECONDS + 1; t <= now; t++) {
      const slot = t % 128;
      const held = seconds.get(`t${slot}`) === String(t);
      perSecond.push([
        t,
        held ? Number(seconds.get(`g${slot}`) ?? 0) : 0,
        held ? Number(seconds.get(`r${slot}`) ?? 0) : 0,
      ]);
    }
    return {
      amount: Number(amount),
      left: Number(left),
      paused: paused === '1',
      startsAt: startsAt ? Number(startsAt) : null,
      endsAt: endsAt ? Number(endsAt) : null,
      outcomes,
      perSecond,
    };
  }

  async release(seller: string, name: string, username: string, requestId: string) {
    const k = couponKeys(seller, name);
    const code = await this.redis.releaseGrab(
      k.info,
      k.holders,
      k.outbox,
      k.released,
      k.stats,
      username,
      requestId,
      TOMBSTONE_SECONDS,
    );
    return RELEASES[code] ?? 'gone';
  }

  async waitForReplicas(seller: string, name: string, replicas: number, timeoutMs: number) {
    // WAIT covers the writes of the connection it is sent on: on a cluster, the coupon's node.
    const node =
      this.redis instanceof Cluster ? this.nodeOf(couponKeys(seller, name).info) : (this.redis as RedisClient);
    const key = nodeKey(node);
    const known = this.replicasSeen.get(key);
    // A primary known to have no replica at all (just promoted, say) has none that could miss the
    // write and be promoted in its place: do not wait for one. Looked at again after a second, with
    // ROLE, which unlike a WAIT does not hold up the other commands on the connection.
    if (known && known.connected === 0) {
      if (Date.now() - known.at < 1000) return true;
      const connected = await connectedReplicas(node);
      this.replicasSeen.set(key, { connected, at: Date.now() });
      if (connected === 0) return true;
    }
    const acked = await this.sharedWait(node, key, replicas, timeoutMs);
    if (acked >= replicas) return true;
    const connected = await connectedReplicas(node);
    this.replicasSeen.set(key, { connected, at: Date.now() });
    return acked >= Math.min(replicas, connected);
  }

  private readonly replicasSeen = new Map<string, { connected: number; at: number }>();
  private readonly waits = new Map<string, { running?: Promise<number>; queued?: Promise<number> }>();

  /**
   * WAIT blocks the connection it is sent on (one per node) until it returns: concurrent grabs each
   * sending their own would queue every command of that node behind one another's timeouts. So at
   * most one WAIT is in flight per node, and the grabs arriving meanwhile share the next one, sent
   * once it returns: it covers their writes too (WAIT counts every write made before it on the
   * connection).
   */
  private sharedWait(node: RedisClient, key: string, replicas: number, timeoutMs: number): Promise<number> {
    let waits = this.waits.get(key);
    if (!waits) {
      waits = {};
      this.waits.set(key, waits);
    }
    const w = waits;
    const start = (): Promise<number> => {
      const running = node.call('WAIT', replicas, timeoutMs).then(Number);
      w.running = running;
      const done = () => {
        if (w.running === running) w.running = undefined;
      };
      running.then(done, done);
      return running;
    };
    if (!w.running) return start();
    w.queued ??= w.running
      .then(
        () => {},
        () => {},
      )
      .then(() => {
        w.queued = undefined;
        return start();
      });
    return w.queued;
  }

  private nodeOf(key: string): RedisClient {
    const cluster = this.redis as Cluster;
    const owner = cluster.slots[calculateSlot(key)]?.[0];
    const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === owner);
    if (!node) throw new Error('Failed to refresh slots cache: no node serves the coupon');
    return node;
  }

  async confirm(seller: string, name: string, username: string) {
    await this.redis.hdel(couponKeys(seller, name).outbox, username);
  }

  async addHolding(username: string, holding: Holding, grabbedAtMs: number) {
    await this.redis.zadd(keys.customerHoldings(username), 'NX', grabbedAtMs, holdingMember(holding));
  }

  async removeHolding(username: string, holding: Holding) {
    await this.redis.zrem(keys.customerHoldings(username), holdingMember(holding));
  }

  async pendingGrabs(olderThanMs: number): Promise<PendingGrab[]> {
    const pending: PendingGrab[] = [];
    let cursor = '0';
    do {
      const [next, refs] = await this.redis.sscan(keys.couponRegistry, cursor, 'COUNT', 1000);
      cursor = next;
      const coupons = refs.map(parseCouponRef);
      const outboxes = await Promise.all(coupons.map((c) => this.redis.hgetall(couponKeys(c.seller, c.name).outbox)));
      for (const [i, c] of coupons.entries()) {
        const due = Object.entries(outboxes[i] ?? {})
          .map(([username, value]) => ({ username, ...parseOutboxEntry(value) }))
          .filter((e) => e.grabbedAtMs <= olderThanMs);
        if (due.length === 0) continue;
        const [id, stock, description] = await this.redis.hmget(
          couponKeys(c.seller, c.name).info,
          'id',
          'stock',
          'description',
        );
        if (id == null) continue;
        const holding = { seller: c.seller, name: c.name, stock: Number(stock), description: description ?? '' };
        for (const e of due) pending.push({ couponId: Number(id), holding, ...e });
      }
    } while (cursor !== '0');
    return pending;
  }

  async claimGrabs(grabs: PurchaseMessage[]): Promise<Claim[]> {
    return Promise.all(
      grabs.map(async (g): Promise<Claim> => {
        const k = couponKeys(g.seller, g.name);
        const [code, left, stock, description] = await this.redis.claimGrab(
          k.info,
          k.holders,
          k.outbox,
          k.released,
          g.username,
          g.requestId,
          g.couponId,
        );
        if (code === 2) {
          const holding = {
            seller: g.seller,
            name: g.name,
            stock: Number(stock),
            description: String(description ?? ''),
          };
          return { status: 'repaired', left: Number(left), holding };
        }
        return { status: CLAIMS[code as 1 | 0 | -1 | -2] ?? 'unknown' };
      }),
    );
  }

  async holds(seller: string, name: string, username: string) {
    return (await this.redis.sismember(couponKeys(seller, name).holders, username)) === 1;
  }

  private loadCoupon(c: Coupon, holders: string[]) {
    const k = couponKeys(c.seller, c.name);
    return this.redis.loadCoupon(
      k.info,
      k.holders,
      k.outbox,
      k.stats,
      c.id,
      c.amount,
      c.left,
      c.stock,
      c.description,
      c.paused ? '1' : '0',
      c.startsAt ?? '',
      c.endsAt ?? '',
      ...holders,
    );
  }

  async addCoupon(c: Coupon) {
    await this.loadCoupon(c, []);
    await Promise.all([
      this.redis.rpush(keys.sellerCoupons(c.seller), c.name),
      this.redis.sadd(keys.couponRegistry, couponRef(c.seller, c.name)),
    ]);
  }

  async removeCoupon(c: Coupon) {
    const k = couponKeys(c.seller, c.name);
    await Promise.all([
      this.redis.del(k.info, k.holders, k.outbox, k.stats, k.seconds),
      this.redis.lrem(keys.sellerCoupons(c.seller), 0, c.name),
      this.redis.srem(keys.couponRegistry, couponRef(c.seller, c.name)),
    ]);
  }

  async sellerCoupons(seller: string, offset: number, count: number): Promise<Coupon[]> {
    const names = await this.redis.lrange(keys.sellerCoupons(seller), offset, offset + count - 1);
    const rows = await Promise.all(
      names.map((name) =>
        this.redis.hmget(
          couponKeys(seller, name).info,
          'id',
          'amount',
          'left',
          'stock',
          'description',
          'paused',
          'startsAt',
          'endsAt',
        ),
      ),
    );
    const coupons: Coupon[] = [];
    names.forEach((name, i) => {
      const [id, amount, left, stock, description, paused, startsAt, endsAt] = rows[i] ?? [];
      if (id == null) return;
      coupons.push({
        id: Number(id),
        seller,
        name,
        amount: Number(amount),
        left: Number(left),
        stock: Number(stock),
        description: description ?? '',
        paused: paused === '1',
        startsAt: startsAt ? Number(startsAt) : null,
        endsAt: endsAt ? Number(endsAt) : null,
      });
    });
    return coupons;
  }

  async holdings(customer: string, offset: number, count: number) {
    const members = await this.redis.zrange(keys.customerHoldings(customer), offset, offset + count - 1);
    return members.map(parseHolding);
  }

  async loginThrottle(key: string, mode: 'check' | 'fail', windowMs: number, limit: number) {
    return Number(await this.redis.loginThrottle(key, mode, windowMs, limit));
  }

  async claimRebuildRequest(ttlMs: number) {
    return (await this.redis.set(keys.rebuildRequested, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async tryLockWarmup(token: string, ttlMs: number) {
    return (await this.redis.set(keys.warmupLock, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async renewWarmupLock(token: string, ttlMs: number) {
    return (await this.redis.compareAndExpire(keys.warmupLock, token, ttlMs)) === 1;
  }

  async unlockWarmup(token: string) {
    await this.redis.compareAndDelete(keys.warmupLock, token);
  }

  async isWarm() {
    const markers = await this.warmMarkers();
    const found = await Promise.all(markers.map((key) => this.redis.exists(key)));
    return found.every((f) => f === 1);
  }

  async restore(snapshot: Snapshot) {
    const r = this.redis;
    const nowMs = Date.now();
    const holders = new Map<number, string[]>();
    const couponById = new Map(snapshot.coupons.map((c) => [c.id, c]));
    for (const p of snapshot.purchases) {
      const list = holders.get(p.couponId) ?? [];
      list.push(p.username);
      holders.set(p.couponId, list);
    }

    // Per-user keys are rebuilt from scratch, so stale lists cannot survive a partial flush.
    const sellers = new Set(snapshot.coupons.map((c) => c.seller));
    const customers = new Set(snapshot.purchases.map((p) => p.username));
    await inChunks([...sellers], (s) => r.del(keys.sellerCoupons(s)));
    await inChunks([...customers], (c) => r.del(keys.customerHoldings(c)));

    await inChunks(snapshot.users, (u) => r.set(keys.userKind(u.username), u.kind));
    await inChunks(snapshot.coupons, (c) =>
      Promise.all([
        this.loadCoupon(c, holders.get(c.id) ?? []),
        r.rpush(keys.sellerCoupons(c.seller), c.name),
        r.sadd(keys.couponRegistry, couponRef(c.seller, c.name)),
      ]),
    );
    await inChunks(snapshot.purchases, (p) => {
      const c = couponById.get(p.couponId);
      if (!c) return Promise.resolve();
      const holding = { seller: c.seller, name: c.name, stock: c.stock, description: c.description };
      return this.addHolding(p.username, holding, p.grabbedAt.getTime());
    });
    await inChunks(snapshot.revoked, (t) => {
      const ttl = Math.ceil((t.expiresAt.getTime() - nowMs) / 1000);
      return ttl > 0 ? this.revokeToken(t.jti, ttl) : Promise.resolve();
    });
    // Last, once everything else is written: the marker of each slot (cluster) or the single one.
    if (r instanceof Cluster) {
      const slots = Array.from({ length: SLOT_COUNT }, (_, slot) => slot);
      await inChunks(slots, (slot) => r.set(keys.warmSlot(slot), String(nowMs)));
    } else {
      await r.set(keys.warm, String(nowMs));
    }
  }

  async ping() {
    await this.redis.ping();
  }
}

/** A flattened HGETALL reply as a map. */
function pairs(flat: string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i] as string, flat[i + 1] as string);
  return map;
}

function nodeKey(node: RedisClient): string {
  const { host, port } = (node as { options: { host?: string; port?: number } }).options;
  return `${host}:${port}`;
}

/** How many replicas the node's primary has connected (ROLE), whatever their lag. */
async function connectedReplicas(node: RedisClient): Promise<number> {
  const role = (await node.call('ROLE')) as unknown[];
  return role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
}

/** Runs writes a chunk at a time: auto-pipelining batches each chunk into few round trips. */
async function inChunks<T>(items: T[], write: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += WRITE_CHUNK) {
    await Promise.all(items.slice(i, i + WRITE_CHUNK).map(write));
  }
}
