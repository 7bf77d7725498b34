/**
 * The three stores the rules work against. Rules take these interfaces as parameters; the Redis,
 * MySQL and SQS implementations sit beside this file, and `lib/services.ts` wires them.
 */
import type { Kind, NewCoupon } from '../validation';

export interface Coupon extends NewCoupon {
  id: number;
  seller: string;
  left: number;
  /** The seller paused the coupon: grabs get `204 paused` (absent: not paused). */
  paused?: boolean;
}

/** A seller's control of a running sale, as recorded in `coupon_changes`. */
export type CouponChange = { action: 'pause' } | { action: 'resume' } | { action: 'amount'; add: number };

/** Answers to grabs by outcome (api.md, stats). */
export const STAT_OUTCOMES = [
  'granted',
  'sold-out',
  'already-owned',
  'not-started',
  'ended',
  'paused',
  'rate-limited',
] as const;
export type StatOutcome = (typeof STAT_OUTCOMES)[number];

/** A coupon's live state and counters, read in one step. */
export interface CouponStats {
  amount: number;
  left: number;
  paused: boolean;
  startsAt: number | null;
  endsAt: number | null;
  outcomes: Record<StatOutcome, number>;
  /** The last 120 seconds, oldest first: [second (epoch seconds), granted, rejected]. */
  perSecond: [number, number, number][];
}

/** Grab rate limits (api.md, "Fair access"): 0 requests per second means no limit. */
export interface GrabLimits {
  perCustomer: { rate: number; burst: number };
  perAddress: { rate: number; burst: number };
}

/** What a customer's list shows of a coupon they hold; fixed at grab time. */
export interface Holding {
  name: string;
  seller: string;
  stock: number;
  description: string;
}

/** The SQS message of one confirmed grab. */
export interface PurchaseMessage {
  couponId: number;
  seller: string;
  name: string;
  username: string;
  /** ISO 8601 */
  grabbedAt: string;
  /** The grab's request id: a release leaves a tombstone under it (lua/release-grab.lua). */
  requestId: string;
}

export type GrabResult =
  | { outcome: 'granted'; couponId: number; holding: Holding }
  | { outcome: 'not-found' | 'sold-out' | 'already-owned' | 'paused' | 'not-started' | 'ended' }
  | { outcome: 'rate-limited'; retryAfterSeconds: number };

/** The grab's own session check refused it (`grab` with a session): nothing was taken or counted. */
export type SessionRefusal = { outcome: 'revoked' } | { outcome: 'cold' };

export type ReleaseResult = 'released' | 'stands' | 'gone';

/**
 * What the consumer may do with one message: `held` and `repaired` (put back into Redis, `left` is
 * the new count; negative means the coupon was resold) are persisted; `released` is dropped;
 * `unknown` (Redis does not know the coupon) is left to MySQL; `mismatch` is poison.
 */
export type Claim =
  | { status: 'held' | 'released' | 'unknown' | 'mismatch' }
  | { status: 'repaired'; left: number; holding: Holding };

/** A grab the queue has not confirmed yet. */
export interface PendingGrab {
  couponId: number;
  holding: Holding;
  username: string;
  grabbedAtMs: number;
  requestId: string;
  /** The consumer has the message: only the listing may be missing. */
  claimed: boolean;
}

/**
 * Redis as each of its users sees it. One class implements them all (RedisSaleCache); a caller
 * takes only the part it uses, so what each rule may do to the live state is in its signature.
 */

/** Who is calling: sessions, users' kinds, failed-login counters. */
export interface SessionCache {
  /** One round trip: is this token revoked, and does the cache hold a complete copy? */
  session(jti: string): Promise<{ revoked: boolean; warm: boolean }>;
  revokeToken(jti: string, ttlSeconds: number): Promise<void>;
  userKind(username: string): Promise<Kind | undefined>;
  putUser(username: string, kind: Kind): Promise<void>;
  /**
   * Failed logins under one key within a sliding window (lua/login-throttle.lua): 'check' answers the
   * seconds to wait (0: not throttled), 'fail' counts one failure (answers 0).
   */
  loginThrottle(key: string, mode: 'check' | 'fail', windowMs: number, limit: number): Promise<number>;
}

/** The grab and what completes or undoes it. */
export interface GrabCache {
  /**
   * The grab script: rate limits, window, pause, stock and holders checked, and the outcome counted,
   * in one round trip (lua/grab-coupon.lua). `address` is the client's address ('' when unknown).
   */
  grab(
    seller: string,
    name: string,
    username: string,
    requestId: string,
    grabbedAtMs: number,
    address?: string,
    limits?: GrabLimits,
    /**
     * The caller's token id: the grab then checks the session too (a revoked token, a cold cache:
     * `SessionRefusal`), within its own round trip where the store can.
     */
    session?: string,
  ): Promise<GrabResult | SessionRefusal>;
  /** Adds counts of answers given without Redis (the sold-out memory) to the coupon's counters. */
  addStats(seller: string, name: string, outcome: StatOutcome, perSecond: [number, number][]): Promise<void>;
  /**
   * Undoes the grab of that request while it is pending and leaves a tombstone for its id:
   * `released`; `stands` when the consumer already claimed it (the queue had its message);
   * `gone` when Redis no longer holds it (data lost; the tombstone is written all the same).
   */
  release(seller: string, name: string, username: string, requestId: string): Promise<ReleaseResult>;
  /**
   * Waits until `replicas` replicas of the coupon's node acknowledged every write made so far on
   * this connection (Redis WAIT). True when they did, or when fewer replicas are connected at all
   * and each of those did (a lone primary has no replica that could be promoted without the write).
   */
  waitForReplicas(seller: string, name: string, replicas: number, timeoutMs: number): Promise<boolean>;
  /** The queue accepted the grab's message. */
  confirm(seller: string, name: string, username: string): Promise<void>;
  addHolding(username: string, holding: Holding, grabbedAtMs: number): Promise<void>;
  removeHolding(username: string, holding: Holding): Promise<void>;
  /** Whether the customer holds the coupon. */
  holds(seller: string, name: string, username: string): Promise<boolean>;
}

/** What the consumer and the outbox sweeper need besides the grab's own operations. */
export interface PurchaseCache {
  pendingGrabs(olderThanMs: number): Promise<PendingGrab[]>;
  /**
   * The consumer's claim on each message's grab (lua/claim-grab.lua): only a tombstone makes a
   * message droppable; a grab missing from Redis without one is put back (repaired).
   */
  claimGrabs(grabs: PurchaseMessage[]): Promise<Claim[]>;
}

/** Coupons as sellers and customers list and run them. */
export interface CatalogCache {
  /** Makes a new coupon grabbable and lists it under its seller. */
  addCoupon(coupon: Coupon): Promise<void>;
  removeCoupon(coupon: Coupon): Promise<void>;
  sellerCoupons(seller: string, offset: number, count: number): Promise<Coupon[]>;
  holdings(customer: string, offset: number, count: number): Promise<Holding[]>;
  /**
   * Applies a seller's control to the live coupon (lua/control-coupon.lua): its new amount and left
   * and whether it was paused before;
   * 'too-many' when an amount change would take back more than is left, 'too-big' when it would
   * raise the amount past 1,000,000 (nothing changed), or 'not-found'. `force` applies an amount
   * change whatever it leaves (undoing an earlier change).
   */
  controlCoupon(
    seller: string,
    name: string,
    change: CouponChange,
    force?: boolean,
  ): Promise<{ amount: number; left: number; wasPaused: boolean } | 'too-many' | 'too-big' | 'not-found'>;
  /** The coupon's live state and counters, or undefined when Redis does not know it. */
  couponStats(seller: string, name: string): Promise<CouponStats | undefined>;
}

/** The cache's life: the rebuild request, its lock, the warm marker, the rebuild itself. */
export interface RebuildCache {
  /** True for the first caller in `ttlMs`: only it asks for a rebuild. */
  claimRebuildRequest(ttlMs: number): Promise<boolean>;
  tryLockWarmup(token: string, ttlMs: number): Promise<boolean>;
  /** Extends the lock while this token holds it; false when it was lost. */
  renewWarmupLock(token: string, ttlMs: number): Promise<boolean>;
  /** Releases the lock only if this token still holds it. */
  unlockWarmup(token: string): Promise<void>;
  isWarm(): Promise<boolean>;
  /** Replaces the cache's content with a snapshot of MySQL, then marks the cache warm. */
  restore(snapshot: Snapshot): Promise<void>;
  ping(): Promise<void>;
}

export interface SaleCache extends SessionCache, GrabCache, PurchaseCache, CatalogCache, RebuildCache {}

export interface UserRecord {
  username: string;
  kind: Kind;
  passwordHash: string;
}

export interface PurchaseRecord {
  couponId: number;
  username: string;
  grabbedAt: Date;
}

export interface Snapshot {
  users: { username: string; kind: Kind }[];
  /** In creation order. */
  coupons: Coupon[];
  /** In grab order. */
  purchases: PurchaseRecord[];
  revoked: { jti: string; expiresAt: Date }[];
}

export interface Database {
  /** Resolves false when the username is taken. */
  insertUser(user: UserRecord): Promise<boolean>;
  deleteUser(username: string): Promise<void>;
  findUser(username: string): Promise<UserRecord | undefined>;
  /**
   * Replaces a user's password hash; with `expectedHash`, only if the stored hash is still that one
   * (a rehash must not overwrite a password changed meanwhile). Resolves whether a row changed.
   */
  updatePasswordHash(username: string, newHash: string, expectedHash?: string): Promise<boolean>;
  /** Resolves undefined when the seller already has a coupon of that name. */
  insertCoupon(seller: string, coupon: NewCoupon): Promise<Coupon | undefined>;
  /**
   * Records a seller's control in one transaction: the coupon row is locked and changed and the
   * change is recorded with who and when; `apply` then applies it to the live state (Redis), and only
   * if it succeeds is the transaction committed (when the commit fails, `undo` reverts the live
   * state). Resolves undefined when the seller has no such coupon.
   */
  changeCoupon<T>(
    seller: string,
    name: string,
    actor: string,
    change: CouponChange,
    live: { apply: () => Promise<T>; undo: (applied: T) => Promise<void> },
  ): Promise<T | undefined>;
  deleteCoupon(id: number): Promise<void>;
  revokeToken(jti: string, expiresAt: Date): Promise<void>;
  /**
   * Persists purchases in one transaction: unknown coupons are returned as rejected, duplicates
   * are ignored, and each coupon's `left` drops by the rows actually inserted.
   */
  persistPurchases(purchases: PurchaseMessage[]): Promise<{ inserted: number; rejected: PurchaseMessage[] }>;
  countCoupons(): Promise<number>;
  snapshot(): Promise<Snapshot>;
  ping(): Promise<void>;
}

export interface PurchaseQueue {
  send(message: PurchaseMessage): Promise<void>;
  /**
   * Moves messages that can never succeed straight to the dead-letter queue (rather than letting
   * them be retried until the redrive count); resolves the ids it could not move.
   */
  deadLetter(records: { messageId: string; body: string }[]): Promise<string[]>;
  /** The bodies of the messages in the dead-letter queue (read, left in place). */
  deadLetters(): Promise<string[]>;
  /** Messages waiting, in flight or delayed (approximate, as SQS reports them). */
  backlog(): Promise<number>;
  ping(): Promise<void>;
}
