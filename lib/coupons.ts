/** Creating and listing coupons. */
import type { Caller } from './auth/tokens';
import { BadRequest, Unauthorized } from './errors';
import type { Services } from './services';
import type { CatalogCache, Coupon, SessionCache } from './stores/types';
import * as validate from './validation';
import { PAGE_SIZE } from './validation';

export async function createCoupon(
  s: Services,
  caller: Caller,
  seller: string | undefined,
  body: Record<string, unknown>,
): Promise<void> {
  if (caller.kind !== 'saler') throw new Unauthorized('Only sellers can create coupons.');
  if (seller !== caller.username) throw new Unauthorized('Cannot create coupons for other users.');
  const coupon = await s.db.insertCoupon(seller, validate.newCoupon(body));
  if (!coupon) throw new BadRequest('Create failed. Maybe (username,coupon name) duplicates');
  // MySQL first, then Redis; a coupon Redis does not know cannot be sold, so remove the row.
  try {
    await s.cache.addCoupon(coupon);
  } catch (e: unknown) {
    await s.cache.removeCoupon(coupon).catch(() => {});
    await s.db.deleteCoupon(coupon.id);
    throw e;
  }
}

export type CouponListing =
  | {
      name: string;
      amount: number;
      left: number;
      stock: number;
      description: string;
      startsAt?: string;
      endsAt?: string;
      paused?: true;
    }
  | { name: string; seller: string; stock: number; description: string };

/** A seller's coupon as listed: the window and the pause flag only when they apply (api.md). */
function sellerListing(c: Coupon): CouponListing {
  const { name, amount, left, stock, description } = c;
  return {
    name,
    amount,
    left,
    stock,
    description,
    ...(c.startsAt != null && { startsAt: new Date(c.startsAt).toISOString() }),
    ...(c.endsAt != null && { endsAt: new Date(c.endsAt).toISOString() }),
    ...(c.paused && { paused: true as const }),
  };
}

/** One page of a seller's coupons (anyone logged in) or of a customer's holdings (only their own). */
export async function listCoupons(
  s: { cache: CatalogCache & SessionCache },
  caller: Caller,
  owner: string | undefined,
  pageParam: string | undefined,
): Promise<CouponListing[]> {
  const page = validate.page(pageParam);
  // One's own kind is in one's token: listing one's own coupons costs no lookup.
  const own = owner === caller.username;
  const kind = own ? caller.kind : validate.isValidUsername(owner) ? await s.cache.userKind(owner) : undefined;
  if (!owner || !kind) throw new BadRequest('Record not found.');
  const offset = (page - 1) * PAGE_SIZE;
  if (kind === 'saler') {
    const coupons = await s.cache.sellerCoupons(owner, offset, PAGE_SIZE);
    return coupons.map(sellerListing);
  }
  if (!own) throw new Unauthorized('Cannot check other customer.', { data: [] });
  const held = await s.cache.holdings(owner, offset, PAGE_SIZE);
  return held.map(({ name, seller, stock, description }) => ({ name, seller, stock, description }));
}
