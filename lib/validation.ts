/**
 * Input rules of the API contract, as pure functions. Each returns the clean value or throws the
 * `BadRequest` whose `errMsg` the contract gives. Wrong JSON types are refused, never coerced.
 */
import { BadRequest } from './errors';

export type Kind = 'customer' | 'saler';

export const MAX_BODY_BYTES = 64 * 1024;
export const PAGE_SIZE = 20;

const USERNAME = /^[A-Za-z0-9_.-]{1,32}$/;
// `.` and `..` (any name of dots alone) cannot be addressed in a URL path.
const DOTS_ONLY = /^\.+$/;
// C0, DEL and C1 control characters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Unicode format characters: zero-width, bidirectional controls, BOM, soft hyphen...
const FORMAT = /\p{Cf}/u;
const DIGITS = /^\d{1,10}$/;

/** Length in characters (code points), as MySQL's utf8mb4 VARCHAR counts them. */
function chars(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

export function isValidUsername(value: unknown): value is string {
  return typeof value === 'string' && USERNAME.test(value) && !DOTS_ONLY.test(value);
}

/**
 * The spelling under which usernames are unique (api.md: regardless of case). Usernames are ASCII,
 * so lower case is exact; MySQL enforces it with a unique key on the same folding.
 */
export function foldUsername(value: string): string {
  return value.toLowerCase();
}

export function username(value: unknown): string {
  if (value === undefined || value === null || value === '') throw new BadRequest('User name too short.');
  if (!isValidUsername(value)) throw new BadRequest('Invalid user name.');
  return value;
}

export function password(value: unknown): string {
  if (typeof value !== 'string' || chars(value) < 6) throw new BadRequest('Password too short.');
  if (chars(value) > 128) throw new BadRequest('Password too long.');
  if (!value.isWellFormed()) throw new BadRequest('Password too short.');
  return value;
}

export function kind(value: unknown): Kind {
  if (value === undefined || value === null || value === '') throw new BadRequest('Empty field of kind.');
  if (value === 'customer') return 'customer';
  if (value === 'saler' || value === 'seller') return 'saler';
  throw new BadRequest(`Unexpected value of kind, ${shown(value)}`);
}

const SHOWN_MAX_DEPTH = 8;
const SHOWN_MAX_NODES = 200;

/**
 * Whether a parsed JSON value is small and shallow enough to echo: checked with an explicit stack,
 * since `JSON.stringify` recurses and a body of thousands of nested arrays overflows the call stack.
 */
function small(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (++nodes > SHOWN_MAX_NODES || depth > SHOWN_MAX_DEPTH) return false;
    if (typeof v === 'object' && v !== null) {
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
    }
  }
  return true;
}

/** A value of the body as the message shows it: strings as they are, small JSON as JSON. */
function shown(value: unknown): string {
  if (typeof value === 'string') return value;
  if (small(value)) return JSON.stringify(value);
  return Array.isArray(value) ? '[...]' : '{...}';
}

/** A coupon name as stored: valid and already in Unicode NFC. */
export function isValidCouponName(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.isWellFormed() &&
    chars(value) <= 60 &&
    !value.includes('/') &&
    !CONTROL.test(value) &&
    !FORMAT.test(value) &&
    !DOTS_ONLY.test(value) &&
    value === value.normalize('NFC')
  );
}

/**
 * A coupon name as it comes in (body, path), in NFC, or undefined when it cannot be a valid name:
 * `é` typed as one or as two code points names the same coupon.
 */
export function normalizeCouponName(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value.isWellFormed()) return undefined;
  const nfc = value.normalize('NFC');
  return isValidCouponName(nfc) ? nfc : undefined;
}

export function couponName(value: unknown): string {
  if (value === undefined || value === null || value === '') {
    throw new BadRequest('Coupon name should not be empty.');
  }
  const name = normalizeCouponName(value);
  if (name === undefined) throw new BadRequest('Invalid coupon name.');
  return name;
}

function boundedInt(value: unknown, min: number, max: number, errMsg: string): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && DIGITS.test(value)) n = Number(value);
  else throw new BadRequest(errMsg);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new BadRequest(errMsg);
  return n;
}

export function amount(value: unknown): number {
  return boundedInt(value, 1, 1_000_000, 'Amount field wrong format.');
}

export function stock(value: unknown): number {
  return boundedInt(value, 0, 1_000_000_000, 'Stock field wrong format.');
}

export function description(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string' || chars(value) > 255 || !value.isWellFormed()) {
    throw new BadRequest('Description too long.');
  }
  return value;
}

/** `page` is 1-based; missing, zero or negative means 1; anything but an integer is refused. */
export function page(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  if (!/^-?\d+$/.test(value)) throw new BadRequest('Wrong format of page.');
  if (value.startsWith('-')) return 1;
  // Past any reachable page: keep it finite so offsets stay exact.
  const n = value.replace(/^0+/, '').length > 9 ? 1_000_000_000 : Number(value);
  return Math.max(1, n);
}

export interface NewCoupon {
  name: string;
  amount: number;
  stock: number;
  description: string;
}

export function newCoupon(body: Record<string, unknown>): NewCoupon {
  return {
    name: couponName(body.name),
    amount: amount(body.amount),
    description: description(body.description),
    stock: stock(body.stock),
  };
}

export interface Credentials {
  username: string;
  password: string;
}

export function registration(body: Record<string, unknown>): Credentials & { kind: Kind } {
  return {
    username: username(body.username),
    password: password(body.password),
    kind: kind(body.kind),
  };
}
