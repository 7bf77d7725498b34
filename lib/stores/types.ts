/**
 * The three stores the rules work against. Rules take these interfaces as parameters; the Redis,
 * MySQL and SQS implementations sit beside this file, and `lib/services.ts` wires them.
 */
import type { Kind, NewCoupon } from '../validation';

export interface Coupon extends NewCoupon {
  id: number;
  seller: string;
  left: number;
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
}

export type GrabResult =
  | { outcome: 'granted'; couponId: number; holding: Holding }
  | { outcome: 'not-found' | 'sold-out' | 'already-owned' };

/** A grab the queue has not confirmed yet. */
export interface PendingGrab {
  couponId: number;
  holding: Holding;
  username: string;
  grabbedAtMs: number;
  requestId: string;
}

export interface SaleCache {
  /** One round trip: is this token revoked, and does the cache hold a complete copy? */
  session(jti: string): Promise<{ revoked: boolean; warm: boolean }>;
  revokeToken(jti: string, ttlSeconds: number): Promise<void>;
  userKind(username: string): Promise<Kind | undefined>;
  putUser(username: string, kind: Kind): Promise<void>;

  grab(seller: string, name: string, username: string, requestId: string, grabbedAtMs: number): Promise<GrabResult>;
  /** Undoes the grab of that request while it is pending; false when there was nothing to undo. */
  release(seller: string, name: string, username: string, requestId: string): Promise<boolean>;
  /** The queue accepted the grab's message. */
  confirm(seller: string, name: string, username: string): Promise<void>;
  addHolding(username: string, holding: Holding, grabbedAtMs: number): Promise<void>;
  removeHolding(username: string, holding: Holding): Promise<void>;
  pendingGrabs(olderThanMs: number): Promise<PendingGrab[]>;
  /**
   * Whether each customer still holds the coupon (a released grab does not); true for a coupon the
   * cache does not know, and undefined while the cache is cold: Redis cannot tell, MySQL decides.
   * A grab found held is also claimed, atomically: its pending outbox entry is marked claimed, so
   * the request that made it can no longer release it (its send failed, yet the queue had the message).
   */
  claimGrabs(grabs: { seller: string; name: string; username: string }[]): Promise<boolean[] | undefined>;
  /** Whether the customer holds the coupon. */
  holds(seller: string, name: string, username: string): Promise<boolean>;

  /** Makes a new coupon grabbable and lists it under its seller. */
  addCoupon(coupon: Coupon): Promise<void>;
  removeCoupon(coupon: Coupon): Promise<void>;
  sellerCoupons(seller: string, offset: number, count: number): Promise<Coupon[]>;
  holdings(customer: string, offset: number, count: number): Promise<Holding[]>;

  tryLockWarmup(token: string, ttlMs: number): Promise<boolean>;
  unlockWarmup(token: string): Promise<void>;
  isWarm(): Promise<boolean>;
  /** Replaces the cache's content with a snapshot of MySQL, then marks the cache warm. */
  restore(snapshot: Snapshot): Promise<void>;
  ping(): Promise<void>;
}

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
  /** Messages waiting, in flight or delayed (approximate, as SQS reports them). */
  backlog(): Promise<number>;
  ping(): Promise<void>;
}
