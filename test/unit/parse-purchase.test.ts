import { parsePurchase } from '../../lib/persist-purchases';

const good = {
  couponId: 7,
  seller: 'alice',
  name: "c1 ' OR 1=1 --",
  username: 'bob',
  grabbedAt: '2024-05-01T12:00:00.123Z',
  requestId: '0b6c1d8e-54a2-4b4e-9d7e-2f1c3a5b7d90',
};

const body = (overrides: Record<string, unknown>) => JSON.stringify({ ...good, ...overrides });

describe('parsePurchase', () => {
  test('parses the message the grab sends', () => {
    expect(parsePurchase(JSON.stringify(good))).toEqual(good);
  });

  test('keeps only the known fields', () => {
    expect(parsePurchase(body({ extra: 'x', password: 'secret123' }))).toEqual(good);
  });

  test('accepts the largest safe coupon id', () => {
    expect(parsePurchase(body({ couponId: Number.MAX_SAFE_INTEGER }))?.couponId).toBe(Number.MAX_SAFE_INTEGER);
  });

  test.each([
    ['empty', ''],
    ['truncated JSON', JSON.stringify(good).slice(0, -1)],
    ['not JSON', 'hello'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"text"'],
    ['an array', JSON.stringify([good])],
    ['an empty object', '{}'],
  ])('refuses a body that is %s', (_label, raw) => {
    expect(parsePurchase(raw)).toBeUndefined();
  });

  test.each([
    ['couponId missing', { couponId: undefined }],
    ['couponId as a string', { couponId: '7' }],
    ['couponId zero', { couponId: 0 }],
    ['couponId negative', { couponId: -7 }],
    ['couponId fractional', { couponId: 7.5 }],
    ['couponId beyond safe integers', { couponId: 2 ** 53 }],
    ['seller missing', { seller: undefined }],
    ['seller with a slash', { seller: 'ali/ce' }],
    ['seller too long', { seller: 'a'.repeat(33) }],
    ['name missing', { name: undefined }],
    ['name empty', { name: '' }],
    ['name with a slash', { name: 'a/b' }],
    ['name with a control character', { name: 'a\u0007' }],
    ['name too long', { name: 'n'.repeat(61) }],
    ['username missing', { username: undefined }],
    ['username invalid', { username: 'bob smith' }],
    ['username as a number', { username: 5 }],
    ['grabbedAt missing', { grabbedAt: undefined }],
    ['grabbedAt as a number', { grabbedAt: 1714564800123 }],
    ['grabbedAt not a date', { grabbedAt: 'yesterday' }],
    // The request id is what a tombstone names: without one a released grab could not be recognised.
    ['requestId missing', { requestId: undefined }],
    ['requestId empty', { requestId: '' }],
    ['requestId with a separator', { requestId: 'a|b' }],
    ['requestId too long', { requestId: 'r'.repeat(65) }],
  ])('refuses a message with %s', (_label, overrides) => {
    expect(parsePurchase(body(overrides))).toBeUndefined();
  });
});
