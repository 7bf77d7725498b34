import { hashPassword, spendVerificationTime, verifyPassword } from '../../lib/auth/passwords';

// The cheapest cost the configuration allows, to keep the suite fast.
const LOG_N = 10;
const B64 = '[A-Za-z0-9+/]+={0,2}';

describe('hashPassword', () => {
  test('stores scheme, cost, salt and hash as scrypt$logN$r$p$salt$hash', async () => {
    const stored = await hashPassword('secret123', LOG_N);
    expect(stored).toMatch(new RegExp(`^scrypt\\$10\\$8\\$1\\$${B64}\\$${B64}$`));
    const [, , , , salt, hash] = stored.split('$');
    expect(Buffer.from(salt ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(hash ?? '', 'base64')).toHaveLength(32);
  });

  test('never contains the password', async () => {
    const stored = await hashPassword('secret123', LOG_N);
    expect(stored).not.toContain('secret123');
    expect(stored).not.toContain(Buffer.from('secret123').toString('base64'));
  });

  test('the same password hashed twice gets distinct salts and hashes', async () => {
    const a = await hashPassword('secret123', LOG_N);
    const b = await hashPassword('secret123', LOG_N);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(a.split('$')[5]).not.toBe(b.split('$')[5]);
  });

  test('records the cost it was given', async () => {
    expect((await hashPassword('secret123', 11)).split('$')[1]).toBe('11');
  });
});

describe('verifyPassword', () => {
  test('accepts the right password', async () => {
    expect(await verifyPassword('secret123', await hashPassword('secret123', LOG_N))).toBe(true);
  });

  test('refuses a wrong one, including near misses', async () => {
    const stored = await hashPassword('secret123', LOG_N);
    for (const wrong of ['secret124', 'Secret123', 'secret123 ', 'secret12', '']) {
      expect(await verifyPassword(wrong, stored)).toBe(false);
    }
  });

  test('handles non-ASCII passwords exactly', async () => {
    const stored = await hashPassword('p\u00e4ss\u{1F600}w\u00f6rd', LOG_N);
    expect(await verifyPassword('p\u00e4ss\u{1F600}w\u00f6rd', stored)).toBe(true);
    expect(await verifyPassword('pass\u{1F600}word', stored)).toBe(false);
  });

  test('verifies a hash made at another cost (the cost is read from the hash)', async () => {
    expect(await verifyPassword('secret123', await hashPassword('secret123', 11))).toBe(true);
  });

  test('refuses a hash whose stored key was altered', async () => {
    const stored = await hashPassword('secret123', LOG_N);
    const parts = stored.split('$');
    const key = Buffer.from(parts[5] ?? '', 'base64');
    key[0] = (key[0] ?? 0) ^ 1;
    parts[5] = key.toString('base64');
    expect(await verifyPassword('secret123', parts.join('$'))).toBe(false);
  });

  test.each([
    ['empty', ''],
    ['another scheme', 'md5$10$8$1$c2FsdA==$aGFzaA=='],
    ['a bare MD5 hex digest', '5ebe2294ecd0e0f08eab7690d2a6ee69'],
    ['missing the hash', 'scrypt$10$8$1$c2FsdA=='],
    ['missing the salt', 'scrypt$10$8$1$$aGFzaA=='],
  ])('refuses a stored value that is %s', async (_label, stored) => {
    expect(await verifyPassword('secret123', stored)).toBe(false);
  });
});

test('spendVerificationTime completes a full verification and resolves', async () => {
  await expect(spendVerificationTime('whatever', LOG_N)).resolves.toBeUndefined();
});
