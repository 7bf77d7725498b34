import calculateSlot from 'cluster-key-slot';

/**
 * Redis key names. Every key of one coupon shares the hash tag `{<seller>/<name>}`, so the grab
 * script touches a single hash slot and runs on Redis Cluster. Usernames never contain `/`, so the
 * tag names exactly one coupon.
 */

export interface CouponKeys {
  info: string;
  holders: string;
  outbox: string;
  /** set of `<username>|<requestId>` of released grabs (tombstones): their messages never become purchases. */
  released: string;
  /** hash: outcome -> answers to grabs counted since the coupon was created. */
  stats: string;
  /** hash: a ring of the last 128 seconds' answers (lua/grab-coupon.lua). */
  seconds: string;
  /** string with expiry: a customer's grab rate limit state, in the coupon's slot. */
  customerRate: (username: string) => string;
  /** string with expiry: a client address's grab rate limit state, in the coupon's slot. */
  addressRate: (address: string) => string;
}

export function couponKeys(seller: string, name: string): CouponKeys {
  const tag = `coupon:{${seller}/${name}}`;
  return {
    info: `${tag}:info`,
    holders: `${tag}:holders`,
    outbox: `${tag}:outbox`,
    released: `${tag}:released`,
    stats: `${tag}:stats`,
    seconds: `${tag}:seconds`,
    customerRate: (username) => `${tag}:rate:c:${username}`,
    addressRate: (address) => `${tag}:rate:a:${address}`,
  };
}

/** `<seller>/<name>`, the member of the coupon registry. */
export function couponRef(seller: string, name: string): string {
  return `${seller}/${name}`;
}

export function parseCouponRef(ref: string): { seller: string; name: string } {
  const slash = ref.indexOf('/');
  return { seller: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

export const keys = {
  /** string: the user's kind (`customer` or `saler`). */
  userKind: (username: string) => `user:{${username}}:kind`,
  /** list: names of the seller's coupons, in creation order. */
  sellerCoupons: (seller: string) => `user:{${seller}}:coupons`,
  /** sorted set: the customer's coupons (JSON snapshots), scored by grab time. */
  customerHoldings: (customer: string) => `user:{${customer}}:held`,
  /** sorted set with expiry: failed logins of a username (folded) within the window. */
  loginFailuresOfUser: (folded: string) => `login:fail:u:{${folded}}`,
  /** sorted set with expiry: failed logins from a client address within the window. */
  loginFailuresOfAddress: (address: string) => `login:fail:a:{${address}}`,
  /** string with TTL: present while the token id is revoked. */
  revokedToken: (jti: string) => `revoked:${jti}`,
  /** set of every coupon's `<seller>/<name>`: the sweeper walks it to find pending outboxes. */
  couponRegistry: 'coupons:all',
  /** present while the cache holds a complete copy of MySQL; a flush or restart removes it. */
  warm: 'cache:warm',
  /**
   * On a cluster, one warm marker per hash slot, so that each shard holds the markers of the slots
   * it serves (they move with their slot) and losing one shard's data removes its markers.
   */
  warmSlot: (slot: number) => `cache:warm:{${slotTags()[slot]}}`,
  warmupLock: 'cache:warmup-lock',
  /** present for a few seconds after a handler asked for a rebuild, so that one asks at a time. */
  rebuildRequested: 'cache:rebuild-requested',
} as const;

/** Hash slots of Redis Cluster. */
export const SLOT_COUNT = 16384;

let tags: string[] | undefined;

/**
 * For each hash slot, a short hash tag that maps to it (found once by trying integers in order:
 * about 170,000 CRC16 computations, a few milliseconds, and the same table in every process).
 */
export function slotTags(): string[] {
  if (tags) return tags;
  const table = new Array<string>(SLOT_COUNT);
  let found = 0;
  for (let n = 0; found < SLOT_COUNT; n++) {
    const tag = n.toString(36);
    const slot = calculateSlot(tag);
    if (table[slot] === undefined) {
      table[slot] = tag;
      found++;
    }
  }
  tags = table;
  return table;
}
