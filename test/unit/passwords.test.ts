import { hashLane, hashPassword, needsRehash, spendVerificationTime, verifyPassword } from '../../lib/auth/passwords';
import { config, type PasswordHashSetting, readConfig } from '../../lib/config';

// The cheapest costs the configuration allows, to keep the suite fast.
const SCRYPT: PasswordHashSetting = { algorithm: 'scrypt', logN: 10 };
const ARGON2ID: PasswordHashSetting = { algorithm: 'argon2id', memoryKiB: 1024, timeCost: 1, parallelism: 1 };
const B64 = '[A-Za-z0-9+/]+={0,2}';

describe.each([
  ['scrypt', SCRYPT, new RegExp(`^scrypt\\$10\\$8\\$1\\$${B64}\\$${B64}$`)],
  ['argon2id', ARGON2ID, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/],
] as const)('%s', (_name, setting, format) => {
  test('stores scheme, cost, salt and hash', async () => {
    expect(await hashPassword('secret123', setting)).toMatch(format);
  });

  test('never contains the password', async () => {
    const stored = await hashPassword('secret123', setting);
    expect(stored).not.toContain('secret123');
    expect(stored).not.toContain(Buffer.from('secret123').toString('base64').replace(/=+$/, ''));
  });

  test('the same password hashed twice gets distinct salts and hashes', async () => {
    const a = await hashPassword('secret123', setting);
    const b = await hashPassword('secret123', setting);
    expect(a).not.toBe(b);
    expect(a.split('$').at(-2)).not.toBe(b.split('$').at(-2));
    expect(a.split('$').at(-1)).not.toBe(b.split('$').at(-1));
  });

  test('accepts the right password', async () => {
    expect(await verifyPassword('secret123', await hashPassword('secret123', setting))).toBe(true);
  });

  test('refuses a wrong one, including near misses', async () => {
    const stored = await hashPassword('secret123', setting);
    for (const wrong of ['secret124', 'Secret123', 'secret123 ', 'secret12', '']) {
      expect(await verifyPassword(wrong, stored)).toBe(false);
    }
  });

  test('handles non-ASCII passwords exactly', async () => {
    const stored = await hashPassword('p\u00e4ss\u{1F600}w\u00f6rd', setting);
    expect(await verifyPassword('p\u00e4ss\u{1F600}w\u00f6rd', stored)).toBe(true);
    expect(await verifyPassword('pass\u{1F600}word', stored)).toBe(false);
  });

  test('refuses a hash whose stored key was altered', async () => {
    const stored = await hashPassword('secret123', setting);
    const parts = stored.split('$');
    const key = Buffer.from(parts.at(-1) ?? '', 'base64');
    key[0] = (key[0] ?? 0) ^ 1;
    parts[parts.length - 1] = key.toString('base64').replace(/=+$/, setting.algorithm === 'scrypt' ? '=' : '');
    expect(await verifyPassword('secret123', parts.join('$'))).toBe(false);
  });

  test('a hash made with this setting needs no rehash under it', async () => {
    expect(needsRehash(await hashPassword('secret123', setting), setting)).toBe(false);
  });
});

test('hashes with the configured setting by default', async () => {
  const setting = config().auth.passwordHash;
  if (setting.algorithm !== 'argon2id') throw new Error('the tests run with argon2id');
  expect(await hashPassword('secret123')).toMatch(
    new RegExp(`^\\$argon2id\\$v=19\\$m=${setting.memoryKiB},t=${setting.timeCost},p=1\\$`),
  );
});

test('OWASP parameters by default, at their real cost', async () => {
  const owasp = readConfig({}).auth.passwordHash;
  expect(owasp).toEqual({ algorithm: 'argon2id', memoryKiB: 19_456, timeCost: 2, parallelism: 1 });
  const stored = await hashPassword('secret123', owasp);
  expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(await verifyPassword('secret123', stored)).toBe(true);
  expect(needsRehash(stored, owasp)).toBe(false);
});

test('verifies a hash of either kind and any cost, whatever the setting (the cost is read from the hash)', async () => {
  for (const stored of [
    await hashPassword('secret123', { algorithm: 'scrypt', logN: 11 }),
    await hashPassword('secret123', { ...ARGON2ID, memoryKiB: 2048, timeCost: 2 }),
  ]) {
    expect(await verifyPassword('secret123', stored)).toBe(true);
  }
});

test.each([
  ['empty', ''],
  ['another scheme', 'md5$10$8$1$c2FsdA==$aGFzaA=='],
  ['a bare MD5 hex digest', '5ebe2294ecd0e0f08eab7690d2a6ee69'],
  ['missing the hash', 'scrypt$10$8$1$c2FsdA=='],
  ['missing the salt', 'scrypt$10$8$1$$aGFzaA=='],
  ['a truncated argon2id string', '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0'],
  ['argon2id with garbage parameters', '$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA'],
])('refuses a stored value that is %s', async (_label, stored) => {
  expect(await verifyPassword('secret123', stored)).toBe(false);
});

describe('needsRehash: a stored hash older or cheaper than the setting is replaced', () => {
  const current: PasswordHashSetting = { algorithm: 'argon2id', memoryKiB: 19_456, timeCost: 2, parallelism: 1 };
  test.each([
    ['scrypt, under an argon2id setting', 'scrypt$15$8$1$c2FsdA==$aGFzaA==', true],
    ['argon2id with less memory', '$argon2id$v=19$m=8192,t=2,p=1$c2FsdA$aGFzaA', true],
    ['argon2id with fewer passes', '$argon2id$v=19$m=19456,t=1,p=1$c2FsdA$aGFzaA', true],
    ['argon2i (not id)', '$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', true],
    ['argon2id at the setting', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', false],
    ['argon2id costlier than the setting', '$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA', false],
  ])('%s', (_label, stored, expected) => {
    expect(needsRehash(stored, current)).toBe(expected);
  });

  test('under a scrypt setting: a lower N or another kind', () => {
    const scrypt: PasswordHashSetting = { algorithm: 'scrypt', logN: 15 };
    expect(needsRehash('scrypt$14$8$1$c2FsdA==$aGFzaA==', scrypt)).toBe(true);
    expect(needsRehash('scrypt$15$8$1$c2FsdA==$aGFzaA==', scrypt)).toBe(false);
    expect(needsRehash('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', scrypt)).toBe(true);
  });
});

test('spendVerificationTime completes a full verification in the lane and resolves', async () => {
  const lane = hashLane();
  const running: number[] = [];
  const poll = setInterval(() => running.push(lane.stats.running), 0);
  await expect(spendVerificationTime('whatever', { algorithm: 'scrypt', logN: 14 })).resolves.toBeUndefined();
  clearInterval(poll);
  expect(Math.max(...running)).toBe(1);
});
