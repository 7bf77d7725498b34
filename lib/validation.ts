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

// RFC 3339 as api.md narrows it: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

/**
 * A sale-window timestamp in epoch milliseconds (a fraction finer than milliseconds is cut, as
 * MySQL's DATETIME(3) keeps it), or undefined when it is not of that form or not a real date and
 * time (no 30 February, no leap second, offsets up to 23:59).
 */
export function parseTimestamp(value: string): number | undefined {
  const m = TIMESTAMP.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = m[8] ? 0 : Number(m[10]);
  const offsetMinutes = m[8] ? 0 : Number(m[11]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (offsetHours > 23 || offsetMinutes > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  // Date.UTC maps years 0-99 to 1900-1999: set the year exactly.
  const date = new Date(local);
  date.setUTCFullYear(year);
  const sign = m[9] === '-' ? -1 : 1;
  const utc = date.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  // Outside what toISOString() writes as YYYY-MM-DD (and DATETIME stores): refused.
  return utc >= Date.UTC(1000, 0, 1) && utc <= Date.UTC(9999, 11, 31, 23, 59, 59, 999) ? utc : undefined;
}

export interface SaleWindow {
  /** Epoch milliseconds, or null when the coupon has no start (it sells from its creation). */
  startsAt: number | null;
  /** Epoch milliseconds, or null when the coupon has no end. */
  endsAt: number | null;
}

const WINDOW_WRONG = 'Sale window wrong format.';

function windowEdge(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const ms = typeof value === 'string' ? parseTimestamp(value) : undefined;
  if (ms === undefined) throw new BadRequest(WINDOW_WRONG);
  return ms;
}

export function saleWindow(body: Record<string, unknown>): SaleWindow {
  const startsAt = windowEdge(body.startsAt);
  const endsAt = windowEdge(body.endsAt);
  if (startsAt !== null && endsAt !== null && endsAt <= startsAt) throw new BadRequest(WINDOW_WRONG);
  return { startsAt, endsAt };
}

/** The window is optional here: a coupon without one is on sale from its creation, for good. */
export interface NewCoupon extends Partial<SaleWindow> {
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
    ...saleWindow(body),
  };
}

export const MAX_AMOUNT = 1_000_000;

/**
 * The `add` of an amount change: a non-zero integer, as a JSON number or a string of digits with an
 * optional leading `-`. Whether it fits (amount at most 1,000,000, no more taken back than is left)
 * depends on the coupon's live state, checked where it is applied.
 */
export function amountChange(value: unknown): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^-?\d{1,16}$/.test(value)) n = Number(value);
  else throw new BadRequest('Amount field wrong format.');
  if (!Number.isSafeInteger(n) || n === 0 || n > MAX_AMOUNT) throw new BadRequest('Amount field wrong format.');
  return n;
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
