/**
 * Running a sale (api.md, "Running a sale: seller controls" and "stats"): pause, resume and amount
 * changes, each written to MySQL with who and when (the `coupon_changes` audit table) and applied
 * to the live coupon by a Lua script in its slot inside the same transaction, so a cache rebuild
 * restores them and an amount change orders exactly against concurrent grabs.
 */
import type { Caller } from './auth/tokens';
import { BadRequest, HttpError, Unauthorized, Unavailable } from './errors';
import type { Services } from './services';
import { forgetSoldOut } from './sold-out-memory';
import type { CatalogCache, CouponChange, CouponStats } from './stores/types';
import { amountChange, isValidUsername, normalizeCouponName } from './validation';

export type Control = 'pause' | 'resume' | 'amount';

const NOT_FOUND = () => new BadRequest('Record not found.');

/** The common checks of every seller control, in api.md's order; the coupon's NFC name. */
function ownCoupon(caller: Caller, seller: string | undefined, rawName: string | undefined): string {
  if (caller.kind !== 'saler') throw new Unauthorized('Only sellers can manage coupons.');
  if (seller !== caller.username || !isValidUsername(seller))
    throw new Unauthorized('Cannot manage coupons of other users.');
  const name = normalizeCouponName(rawName);
  if (name === undefined) throw NOT_FOUND();
  return name;
}

/**
 * Applies one control. `body` is the parsed request body of an amount change, or the error that
 * parsing it raised: reported only once the coupon is known to exist (api.md's order of checks).
 */
export async function controlCoupon(
  s: Services,
  caller: Caller,
  seller: string | undefined,
  rawName: string | undefined,
  control: Control,
  body?: Record<string, unknown> | HttpError,
): Promise<{ amount: number; left: number } | undefined> {
  const name = ownCoupon(caller, seller, rawName);
  const owner = caller.username;
  let bodyError: HttpError | undefined;
  let change: CouponChange;
  if (control === 'amount') {
    let add = 0;
    try {
      if (body instanceof HttpError || body === undefined) throw body ?? new BadRequest('Only receive JSON format.');
      add = amountChange(body.add);
    } catch (e: unknown) {
      if (!(e instanceof HttpError)) throw e;
      bodyError = e;
    }
    change = { action: 'amount', add };
  } else {
    change = { action: control };
  }

  const applied = await s.db.changeCoupon(owner, name, owner, change, {
    apply: async () => {
      if (bodyError) throw bodyError;
      const live = await s.cache.controlCoupon(owner, name, change);
      if (live === 'too-many') throw new BadRequest('Cannot take back more than is left.');
      if (live === 'too-big') throw new BadRequest('Amount field wrong format.');
      // MySQL knows the coupon but the cache does not: it is being rebuilt.
      if (live === 'not-found') throw new Unavailable('The sale is being restored. Retry shortly.');
      return live;
    },
    // The commit failed: put the live state back as it was.
    undo: async (live) => {
      if (change.action === 'amount') {
        await s.cache.controlCoupon(owner, name, { action: 'amount', add: -change.add }, true);
      } else {
        await s.cache.controlCoupon(owner, name, { action: live.wasPaused ? 'pause' : 'resume' });
      }
    },
  });
  if (applied === undefined) throw NOT_FOUND();
  // Stock may have come back: this container stops answering sold-out from memory at once.
  if (change.action === 'amount' && change.add > 0) forgetSoldOut(owner, name);
  return control === 'amount' ? { amount: applied.amount, left: applied.left } : undefined;
}

export interface StatsAnswer {
  name: string;
  amount: number;
  left: number;
  paused: boolean;
  startsAt: string | null;
  endsAt: string | null;
  outcomes: CouponStats['outcomes'];
  perSecond: { t: string; granted: number; rejected: number }[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** How the sale of one coupon is going, for its seller only. */
export async function couponStats(
  s: { cache: CatalogCache },
  caller: Caller,
  seller: string | undefined,
  rawName: string | undefined,
): Promise<StatsAnswer> {
  const name = ownCoupon(caller, seller, rawName);
  const stats = await s.cache.couponStats(caller.username, name);
  if (!stats) throw NOT_FOUND();
  return {
    name,
    amount: stats.amount,
    left: stats.left,
    paused: stats.paused,
    startsAt: iso(stats.startsAt),
    endsAt: iso(stats.endsAt),
    outcomes: stats.outcomes,
    perSecond: stats.perSecond.map(([t, granted, rejected]) => ({
      t: new Date(t * 1000).toISOString(),
      granted,
      rejected,
    })),
  };
}
