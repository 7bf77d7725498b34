import { couponKeys, couponRef, keys, parseCouponRef } from '../../lib/keys';

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for key slots. */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster slot of a key, hash tags included (cluster spec, "Hash tags"). */
function slot(key: string): number {
  const bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

describe('the slot helper itself', () => {
  test('matches the reference vectors of the cluster spec and redis-cli', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(slot('foo')).toBe(12182);
    expect(slot('bar')).toBe(5061);
    expect(slot('hello')).toBe(866);
  });

  test('follows the hash tag rules', () => {
    expect(slot('{user1000}.following')).toBe(slot('{user1000}.followers'));
    expect(slot('{user1000}.following')).toBe(slot('user1000'));
    // An empty tag hashes the whole key.
    expect(slot('foo{}{bar}')).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
    // Only the first tag counts.
    expect(slot('foo{{bar}}zap')).toBe(slot('{bar'));
    expect(slot('foo{bar}{zap}')).toBe(slot('bar'));
  });
});

const awkward: [string, string][] = [
  ['alice', 'c1'],
  ['alice', 'C1'],
  ['bob', 'c1'],
  ['alice', '{c1}'],
  ['alice', '{'],
  ['alice', '}'],
  ['alice', '}{'],
  ['alice', 'c1}'],
  ['alice', 'c1}:info'],
  ['alice', 'c1}:holders'],
  ['alice', 'x}y'],
  ['alice', 'x}z'],
  ['alice', ':'],
  ['alice', 'a:b'],
  ['alice', "' OR 1=1 --"],
  ['alice', '\u{1F600}'],
  ['a', 'b'],
  ['a.b', 'c'],
  ['a_b-c', 'd'],
];

/** Every key name of one coupon (the rate limit keys for one customer and one address). */
function couponKeyNames(seller: string, name: string): string[] {
  const k = couponKeys(seller, name);
  return [k.info, k.holders, k.outbox, k.released, k.stats, k.seconds, k.customerRate('u1'), k.addressRate('10.0.0.1')];
}

describe('couponKeys', () => {
  test('names the info, holders and outbox keys of the design, and the keys of operating a sale', () => {
    const k = couponKeys('alice', 'c1');
    expect(k).toMatchObject({
      info: 'coupon:{alice/c1}:info',
      holders: 'coupon:{alice/c1}:holders',
      outbox: 'coupon:{alice/c1}:outbox',
      released: 'coupon:{alice/c1}:released',
      stats: 'coupon:{alice/c1}:stats',
      seconds: 'coupon:{alice/c1}:seconds',
    });
    expect(k.customerRate('bob')).toBe('coupon:{alice/c1}:rate:c:bob');
    expect(k.addressRate('::1')).toBe('coupon:{alice/c1}:rate:a:::1');
  });

  test.each(awkward)('the rate limit keys of %s/%j share the coupon slot', (seller, name) => {
    const k = couponKeys(seller, name);
    expect(slot(k.customerRate('bob'))).toBe(slot(k.info));
    expect(slot(k.addressRate('2001:db8::1'))).toBe(slot(k.info));
    expect(slot(k.stats)).toBe(slot(k.seconds));
    expect(slot(k.stats)).toBe(slot(k.info));
  });

  test.each(awkward)('every key of %s/%j lands in one hash slot', (seller, name) => {
    const k = couponKeys(seller, name);
    const slots = new Set([slot(k.info), slot(k.holders), slot(k.outbox)]);
    expect(slots.size).toBe(1);
    // The slot is the one of the coupon's own `<seller>/<name>` tag, not of a stray brace inside the name.
    expect(slot(k.info)).toBe(slot(`{${seller}/${name.split('}')[0]}}`));
  });

  test('a coupon whose name holds braces still has one slot for its keys, distinct from the plain name', () => {
    const plain = couponKeys('alice', 'c1');
    const braced = couponKeys('alice', '{c1}');
    expect(slot(braced.info)).toBe(slot(braced.holders));
    expect(braced.info).not.toBe(plain.info);
  });

  test('distinct coupons never share a key, even across key kinds', () => {
    const all = awkward.flatMap(([seller, name]) => couponKeyNames(seller, name));
    expect(new Set(all).size).toBe(all.length);
    expect(all).toHaveLength(awkward.length * 8);
  });

  test('no coupon key collides with a per-user or global key', () => {
    const coupon = new Set(awkward.flatMap(([seller, name]) => couponKeyNames(seller, name)));
    const others = ['alice', 'bob', 'a'].flatMap((u) => [
      keys.userKind(u),
      keys.sellerCoupons(u),
      keys.customerHoldings(u),
    ]);
    others.push(keys.couponRegistry, keys.warm, keys.warmupLock, keys.revokedToken('j1'));
    for (const k of others) expect(coupon.has(k)).toBe(false);
  });
});

describe('per-user keys', () => {
  test('each user key is tagged by the username', () => {
    for (const k of [keys.userKind('bob'), keys.sellerCoupons('bob'), keys.customerHoldings('bob')]) {
      expect(slot(k)).toBe(slot('bob'));
    }
  });

  test('kind, seller list and holdings are different keys', () => {
    const k = [keys.userKind('bob'), keys.sellerCoupons('bob'), keys.customerHoldings('bob')];
    expect(new Set(k).size).toBe(3);
    expect(keys.userKind('bob')).not.toBe(keys.userKind('bob2'));
  });

  test('revoked tokens are keyed by token id', () => {
    expect(keys.revokedToken('a')).not.toBe(keys.revokedToken('b'));
    expect(keys.revokedToken('a')).toContain('a');
  });
});

describe('coupon refs', () => {
  test.each(awkward)('%s/%j round-trips', (seller, name) => {
    expect(parseCouponRef(couponRef(seller, name))).toEqual({ seller, name });
  });

  test('the seller ends at the first slash', () => {
    expect(couponRef('alice', 'c1')).toBe('alice/c1');
    expect(parseCouponRef('alice/x/y')).toEqual({ seller: 'alice', name: 'x/y' });
  });
});
