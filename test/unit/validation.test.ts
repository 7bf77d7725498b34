import { BadRequest } from '../../lib/errors';
import * as v from '../../lib/validation';

/** Runs `fn` and returns the `BadRequest` it threw (fails the test if it threw nothing else). */
function refusal(fn: () => unknown): BadRequest {
  try {
    fn();
  } catch (e: unknown) {
    if (e instanceof BadRequest) return e;
    throw e;
  }
  throw new Error('expected a BadRequest, but the value was accepted');
}

function expectRefused(fn: () => unknown, errMsg: string): void {
  const e = refusal(fn);
  expect(e.status).toBe(400);
  expect(e.errMsg).toBe(errMsg);
}

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units
const LONE_HIGH = '\uD800';
const LONE_LOW = '\uDC00';

describe('username', () => {
  test.each(['a', 'A', '0', '_', '-', '.a', 'a..', '-.', 'Alice_01.x-y', 'a'.repeat(32)])('accepts %j', (name) => {
    expect(v.username(name)).toBe(name);
    expect(v.isValidUsername(name)).toBe(true);
  });

  test.each([undefined, null, ''])('refuses %j as too short', (value) => {
    expectRefused(() => v.username(value), 'User name too short.');
  });

  test.each([
    'a'.repeat(33),
    '.',
    '..',
    '.'.repeat(32),
    'has space',
    ' lead',
    'trail ',
    'a/b',
    'a{b}',
    'a:b',
    "' OR 1=1 --",
    'caf\u00e9',
    `e${EMOJI}`,
    'tab\t',
    'nl\n',
    'a\u0000',
    123,
    true,
    {},
    ['a'],
  ])('refuses %j as invalid', (value) => {
    expectRefused(() => v.username(value), 'Invalid user name.');
    expect(v.isValidUsername(value)).toBe(false);
  });
});

describe('password', () => {
  test.each([
    ['6 ASCII characters', 'abcdef'],
    ['128 ASCII characters', 'p'.repeat(128)],
    ['6 astral code points (12 UTF-16 units)', EMOJI.repeat(6)],
    ['128 astral code points (256 UTF-16 units)', EMOJI.repeat(128)],
    ['spaces and symbols', " '; DROP --"],
  ])('accepts %s', (_label, value) => {
    expect(v.password(value)).toBe(value);
  });

  test.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['5 characters', 'abcde'],
    ['5 astral code points (10 UTF-16 units)', EMOJI.repeat(5)],
    ['a number', 12345678],
    ['an object', { p: 'abcdefgh' }],
    ['an array', ['abcdefgh']],
  ])('refuses %s as too short', (_label, value) => {
    expectRefused(() => v.password(value), 'Password too short.');
  });

  test.each([
    ['129 ASCII characters', 'p'.repeat(129)],
    ['129 astral code points', EMOJI.repeat(129)],
  ])('refuses %s as too long', (_label, value) => {
    expectRefused(() => v.password(value), 'Password too long.');
  });

  test.each([
    ['a lone high surrogate', `abcdef${LONE_HIGH}`],
    ['a lone low surrogate', `${LONE_LOW}abcdef`],
  ])('refuses %s', (_label, value) => {
    expect(refusal(() => v.password(value)).status).toBe(400);
  });
});

describe('kind', () => {
  test('customer and saler are kept', () => {
    expect(v.kind('customer')).toBe('customer');
    expect(v.kind('saler')).toBe('saler');
  });

  test('seller is an alias stored as saler', () => {
    expect(v.kind('seller')).toBe('saler');
  });

  test.each([undefined, null, ''])('refuses %j as empty', (value) => {
    expectRefused(() => v.kind(value), 'Empty field of kind.');
  });

  test.each([
    ['admin', 'Unexpected value of kind, admin'],
    ['Customer', 'Unexpected value of kind, Customer'],
    ['SALER', 'Unexpected value of kind, SALER'],
    [' saler', 'Unexpected value of kind,  saler'],
    [42, 'Unexpected value of kind, 42'],
    [true, 'Unexpected value of kind, true'],
    [['saler'], 'Unexpected value of kind, ["saler"]'],
    [{ k: 1 }, 'Unexpected value of kind, {"k":1}'],
  ])('refuses %j naming the value', (value, errMsg) => {
    expectRefused(() => v.kind(value), errMsg);
  });
});

describe('coupon name', () => {
  test.each([
    'c',
    'c'.repeat(60),
    EMOJI.repeat(60),
    "' OR 1=1 --",
    '{tag}',
    'a:b:c',
    '}{',
    ']]--',
    '%s %d',
    '..a',
    '. .',
    'caf\u00e9',
    'nbsp\u00a0ok',
    'a\\b',
    ' spaced ',
  ])('accepts %j', (name) => {
    expect(v.couponName(name)).toBe(name);
    expect(v.isValidCouponName(name)).toBe(true);
  });

  test.each([undefined, null, ''])('refuses %j as empty', (value) => {
    expectRefused(() => v.couponName(value), 'Coupon name should not be empty.');
  });

  test.each([
    ['61 characters', 'c'.repeat(61)],
    ['61 astral code points', EMOJI.repeat(61)],
    ['a slash', 'a/b'],
    ['only a slash', '/'],
    ['path traversal', '../etc'],
    ['NUL (U+0000)', 'a\u0000'],
    ['tab (C0)', 'a\tb'],
    ['newline (C0)', 'a\nb'],
    ['U+001F (last C0)', 'a\u001f'],
    ['DEL (U+007F)', 'a\u007f'],
    ['U+0080 (first C1)', 'a\u0080'],
    ['U+009F (last C1)', 'a\u009f'],
    ['a lone high surrogate', `a${LONE_HIGH}`],
    ['a lone low surrogate', `${LONE_LOW}a`],
    ['a dot', '.'],
    ['two dots', '..'],
    ['dots only', '.'.repeat(60)],
    ['right-to-left override', '\u202eevil\u202c'],
    ['zero-width space', 'zero\u200bwidth'],
    ['zero-width joiner', 'a\u200db'],
    ['byte order mark', '\ufeffbom'],
    ['soft hyphen', 'soft\u00adhyphen'],
    ['a number', 5],
    ['an object', { name: 'c1' }],
    ['an array', ['c1']],
    ['a boolean', true],
  ])('refuses %s as invalid', (_label, value) => {
    expectRefused(() => v.couponName(value), 'Invalid coupon name.');
    expect(v.isValidCouponName(value)).toBe(false);
  });
});

describe('amount', () => {
  test.each([
    [1, 1],
    [20, 20],
    [1_000_000, 1_000_000],
    ['1', 1],
    ['0001', 1],
    ['1000000', 1_000_000],
  ])('accepts %j as %d', (value, expected) => {
    expect(v.amount(value)).toBe(expected);
  });

  test.each([
    0,
    -1,
    1_000_001,
    1.5,
    0.5,
    1e21,
    2 ** 53,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '0',
    '-1',
    '+1',
    '1000001',
    '99999999999',
    '1.5',
    '1.0',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '',
    '\u0661', // ARABIC-INDIC DIGIT ONE: not an ASCII digit
    null,
    undefined,
    true,
    {},
    [1],
  ])('refuses %j', (value) => {
    expectRefused(() => v.amount(value), 'Amount field wrong format.');
  });
});

describe('stock', () => {
  test.each([
    [0, 0],
    [5, 5],
    [1_000_000_000, 1_000_000_000],
    ['0', 0],
    ['1000000000', 1_000_000_000],
  ])('accepts %j as %d', (value, expected) => {
    expect(v.stock(value)).toBe(expected);
  });

  test.each([
    -1,
    1_000_000_001,
    2.5,
    1e21,
    Number.NaN,
    '-1',
    '1000000001',
    '10000000000',
    '2.5',
    '1e9',
    '',
    null,
    undefined,
    false,
    { stock: 1 },
  ])('refuses %j', (value) => {
    expectRefused(() => v.stock(value), 'Stock field wrong format.');
  });
});

describe('description', () => {
  test.each([undefined, null])('defaults %j to empty', (value) => {
    expect(v.description(value)).toBe('');
  });

  test.each(['', 'd', 'd'.repeat(255), EMOJI.repeat(255), "' OR 1=1 --"])('accepts %j', (value) => {
    expect(v.description(value)).toBe(value);
  });

  test.each([
    ['256 characters', 'd'.repeat(256)],
    ['256 astral code points', EMOJI.repeat(256)],
    ['a lone surrogate', `d${LONE_HIGH}`],
    ['a number', 42],
    ['an object', { text: 'x' }],
    ['an array', ['x']],
    ['a boolean', false],
  ])('refuses %s', (_label, value) => {
    expectRefused(() => v.description(value), 'Description too long.');
  });
});

describe('page', () => {
  test.each([
    [undefined, 1],
    ['', 1],
    ['1', 1],
    ['2', 2],
    ['007', 7],
    ['0', 1],
    ['-0', 1],
    ['-1', 1],
    ['-99999999999999999999', 1],
    ['999999999', 999_999_999],
    ['99999999999999999999999', 1_000_000_000],
  ])('parses %j as %d', (value, expected) => {
    expect(v.page(value)).toBe(expected);
  });

  test('a huge page stays a finite, exact offset', () => {
    const p = v.page('9'.repeat(400));
    expect(Number.isSafeInteger((p - 1) * v.PAGE_SIZE)).toBe(true);
  });

  test.each(['1.5', '1.0', 'abc', '1e3', '0x1', ' 1', '1 ', '+1', '--1', '-', 'NaN', 'Infinity', '\u0661'])(
    'refuses %j',
    (value) => {
      expectRefused(() => v.page(value), 'Wrong format of page.');
    },
  );
});

describe('whole bodies', () => {
  test('newCoupon cleans a full body and defaults the description and the sale window', () => {
    expect(v.newCoupon({ name: 'c1', amount: '20', stock: 5 })).toEqual({
      name: 'c1',
      amount: 20,
      stock: 5,
      description: '',
      startsAt: null,
      endsAt: null,
    });
  });

  test('parseTimestamp: RFC 3339 as api.md narrows it, to epoch milliseconds', () => {
    expect(v.parseTimestamp('2026-12-24T10:00:00Z')).toBe(Date.UTC(2026, 11, 24, 10));
    expect(v.parseTimestamp('2026-12-24T18:00:00.5+08:00')).toBe(Date.UTC(2026, 11, 24, 10, 0, 0, 500));
    expect(v.parseTimestamp('2026-12-24T04:30:00.123999-05:30')).toBe(Date.UTC(2026, 11, 24, 10, 0, 0, 123));
    expect(v.parseTimestamp('2028-02-29T00:00:00Z')).toBe(Date.UTC(2028, 1, 29));
    expect(v.parseTimestamp('0099-01-01T00:00:00Z')).toBeUndefined();
    expect(v.parseTimestamp('2026-12-31T23:59:59.999+23:59')).toBe(Date.UTC(2026, 11, 31, 0, 0, 59, 999));
    for (const bad of [
      '2027-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-12-24T23:60:00Z',
      '2026-12-24T23:59:60Z',
      '2026-12-24T10:00:00+00:60',
      '2026-12-24T10:00:00-24:00',
      '2026-12-24T10:00:00z',
      '+2026-12-24T10:00:00Z',
      '2026-12-24T10:00:00Z\n',
      '２０２６-12-24T10:00:00Z',
    ]) {
      expect([bad, v.parseTimestamp(bad)]).toEqual([bad, undefined]);
    }
  });

  test('saleWindow: absent or null edges are none; the end must be later than the start', () => {
    expect(v.saleWindow({})).toEqual({ startsAt: null, endsAt: null });
    expect(v.saleWindow({ startsAt: null, endsAt: '2026-12-24T10:00:00Z' })).toEqual({
      startsAt: null,
      endsAt: Date.UTC(2026, 11, 24, 10),
    });
    expectRefused(
      () => v.saleWindow({ startsAt: '2026-12-24T10:00:00Z', endsAt: '2026-12-24T11:00:00+01:00' }),
      'Sale window wrong format.',
    );
    expectRefused(() => v.saleWindow({ endsAt: 0 }), 'Sale window wrong format.');
  });

  test('amountChange: a non-zero integer, number or string with an optional minus; never past 1,000,000', () => {
    expect(v.amountChange(5)).toBe(5);
    expect(v.amountChange('-7')).toBe(-7);
    expect(v.amountChange(-2_000_000)).toBe(-2_000_000);
    expect(v.amountChange(1_000_000)).toBe(1_000_000);
    for (const bad of [0, '0', '-0', 1.5, '1.5', '+1', ' 1', '', null, true, [1], {}, 1_000_001, Number.NaN, 1e300]) {
      expectRefused(() => v.amountChange(bad), 'Amount field wrong format.');
    }
  });

  test('newCoupon requires stock', () => {
    expectRefused(() => v.newCoupon({ name: 'c1', amount: 1 }), 'Stock field wrong format.');
  });

  test('newCoupon checks the name first', () => {
    expectRefused(() => v.newCoupon({ amount: 'x', stock: 'y' }), 'Coupon name should not be empty.');
  });

  test('registration maps seller to saler', () => {
    expect(v.registration({ username: 'bob', password: 'secret123', kind: 'seller' })).toEqual({
      username: 'bob',
      password: 'secret123',
      kind: 'saler',
    });
  });

  test('registration refuses a password of the wrong JSON type', () => {
    expectRefused(
      () => v.registration({ username: 'bob', password: 12345678, kind: 'customer' }),
      'Password too short.',
    );
  });
});

describe('coupon names in NFC', () => {
  const NFD = 'cafe\u0301';
  const NFC = 'caf\u00e9';

  test('a name typed in NFD is stored in NFC; both spellings name the same coupon', () => {
    expect(v.couponName(NFD)).toBe(NFC);
    expect(v.couponName(NFC)).toBe(NFC);
    expect(v.normalizeCouponName(NFD)).toBe(NFC);
    expect(v.normalizeCouponName(NFC)).toBe(NFC);
  });

  test('a stored name must already be NFC (queue messages, cache)', () => {
    expect(v.isValidCouponName(NFC)).toBe(true);
    expect(v.isValidCouponName(NFD)).toBe(false);
  });

  test('the 60-character limit counts the NFC form', () => {
    expect(v.couponName('e\u0301'.repeat(60))).toBe('\u00e9'.repeat(60));
    expectRefused(() => v.couponName('\u00e9'.repeat(61)), 'Invalid coupon name.');
  });

  test.each([undefined, 5, 'a/b', '..', 'a\u200b', '\ud800'])('%j has no normal form', (value) => {
    expect(v.normalizeCouponName(value)).toBeUndefined();
  });
});

describe('usernames fold to lower case for uniqueness', () => {
  test('Alice, ALICE and alice are one name', () => {
    expect(new Set(['Alice', 'ALICE', 'alice'].map(v.foldUsername))).toEqual(new Set(['alice']));
    expect(v.foldUsername('A_b.C-9')).toBe('a_b.c-9');
  });
});

describe('kind: deep or large values are refused without recursion', () => {
  const nested = (depth: number, open: string, close: string, leaf: string) =>
    JSON.parse(`${open.repeat(depth)}${leaf}${close.repeat(depth)}`);

  test.each([
    ['4,200 nested arrays', nested(4200, '[', ']', ''), 'Unexpected value of kind, [...]'],
    ['100,000 nested arrays', nested(100_000, '[', ']', ''), 'Unexpected value of kind, [...]'],
    ['4,200 nested objects', nested(4200, '{"k":', '}', '1'), 'Unexpected value of kind, {...}'],
    ['10,000 elements', Array.from({ length: 10_000 }, () => 1), 'Unexpected value of kind, [...]'],
  ])('%s', (_label, value, errMsg) => {
    expectRefused(() => v.kind(value), errMsg);
  });

  test('small values are still shown as JSON', () => {
    expectRefused(() => v.kind([[['x']]]), 'Unexpected value of kind, [[["x"]]]');
  });
});
