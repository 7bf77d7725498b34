import { createHmac, scrypt } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { issueToken, TokenVerifier, tokenFromHeader, verifyToken, verifyTokenSync } from '../../lib/auth/tokens';
import { Unauthorized } from '../../lib/errors';

const secret = new TextEncoder().encode('unit-test-secret-of-at-least-32-characters!');
const otherSecret = new TextEncoder().encode('another-secret-of-at-least-32-characters!!!');
const alice = { username: 'alice', kind: 'customer' as const };

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** A token signed with HMAC-SHA256 over arbitrary header and payload, to build malformed tokens. */
function hs256(header: object, payload: object, key: Uint8Array = secret): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', key).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

const now = () => Math.floor(Date.now() / 1000);

async function expectRefused(token: string | undefined, key: Uint8Array = secret): Promise<void> {
  const refused = await verifyToken(token, key).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(Unauthorized);
  expect((refused as Unauthorized).status).toBe(401);
  expect((refused as Unauthorized).errMsg).toBe('Not Authorized.');
}

describe('issue and verify', () => {
  test('round trip: the caller comes back with username, kind, jti and expiry', async () => {
    const before = now();
    const token = await issueToken(alice, secret, 3600);
    const caller = await verifyToken(token, secret);
    expect(caller.username).toBe('alice');
    expect(caller.kind).toBe('customer');
    expect(caller.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(caller.exp).toBeGreaterThanOrEqual(before + 3600);
    expect(caller.exp).toBeLessThanOrEqual(now() + 3600);
  });

  test('a seller keeps the kind saler', async () => {
    const caller = await verifyToken(await issueToken({ username: 'bob', kind: 'saler' }, secret, 60), secret);
    expect(caller).toMatchObject({ username: 'bob', kind: 'saler' });
  });

  test('HS256, and each token has its own id', async () => {
    const a = await issueToken(alice, secret, 60);
    const b = await issueToken(alice, secret, 60);
    expect(decodeProtectedHeader(a).alg).toBe('HS256');
    expect(decodeJwt(a).jti).not.toBe(decodeJwt(b).jti);
  });

  test('the payload carries exactly sub, kind, jti, iat and exp: no password, no hash', async () => {
    const token = await issueToken(alice, secret, 60);
    const payload = decodeJwt(token);
    expect(Object.keys(payload).sort()).toEqual(['exp', 'iat', 'jti', 'kind', 'sub']);
    expect(payload.exp).toBe((payload.iat ?? 0) + 60);
    const raw = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString();
    expect(raw).not.toMatch(/pass|hash|scrypt/i);
  });
});

describe('refused tokens', () => {
  afterEach(() => jest.useRealTimers());

  test('missing or empty', async () => {
    await expectRefused(undefined);
    await expectRefused('');
  });

  test('expired: a valid token is refused once its lifetime has passed', async () => {
    const token = await issueToken(alice, secret, 60);
    await expect(verifyToken(token, secret)).resolves.toMatchObject({ username: 'alice' });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'setTimeout', 'setInterval'] });
    jest.setSystemTime(Date.now() + 61_000);
    await expectRefused(token);
  });

  test('expired: a token whose exp is in the past', async () => {
    const token = await new SignJWT({ kind: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setJti('j1')
      .setIssuedAt(now() - 120)
      .setExpirationTime(now() - 60)
      .sign(secret);
    await expectRefused(token);
  });

  test('signed with another secret', async () => {
    await expectRefused(await issueToken(alice, otherSecret, 60));
    await expectRefused(await issueToken(alice, secret, 60), otherSecret);
  });

  test('alg none (unsigned)', async () => {
    const payload = { sub: 'alice', kind: 'saler', jti: 'j1', iat: now(), exp: now() + 60 };
    const unsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}.`;
    await expectRefused(unsigned);
  });

  test('another HMAC algorithm with the right secret', async () => {
    const token = await new SignJWT({ kind: 'customer' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject('alice')
      .setJti('j1')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(secret);
    await expectRefused(token);
  });

  test('tampered payload (customer turned into saler) keeps the old signature', async () => {
    const token = await issueToken(alice, secret, 60);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const forged = `${header}.${b64url(JSON.stringify({ ...claims, kind: 'saler' }))}.${signature}`;
    await expectRefused(forged);
  });

  test('tampered signature', async () => {
    const token = await issueToken(alice, secret, 60);
    const [header, payload, signature = ''] = token.split('.');
    // The first character carries six significant bits (the last one may carry padding only).
    const flipped = `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await expectRefused(`${header}.${payload}.${flipped}`);
  });

  test('garbage', async () => {
    await expectRefused('not-a-jwt');
    await expectRefused('a.b.c');
    await expectRefused('Bearer x');
  });

  test.each([
    ['no subject', { kind: 'customer', jti: 'j1' }],
    ['a numeric subject', { sub: 42, kind: 'customer', jti: 'j1' }],
    ['no kind', { sub: 'alice', jti: 'j1' }],
    ['an unknown kind', { sub: 'alice', kind: 'admin', jti: 'j1' }],
    ['no jti', { sub: 'alice', kind: 'customer' }],
  ])('correctly signed but with %s', async (_label, claims) => {
    await expectRefused(hs256({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now(), exp: now() + 60 }));
  });

  test('correctly signed but without expiry', async () => {
    await expectRefused(hs256({ alg: 'HS256' }, { sub: 'alice', kind: 'customer', jti: 'j1', iat: now() }));
  });

  test('the hand-built signer makes tokens the verifier accepts (so the cases above test their flaw)', async () => {
    const token = hs256({ alg: 'HS256' }, { sub: 'alice', kind: 'customer', jti: 'j1', iat: now(), exp: now() + 60 });
    await expect(verifyToken(token, secret)).resolves.toMatchObject({ username: 'alice', jti: 'j1' });
  });
});

describe('tokenFromHeader', () => {
  test.each([
    ['raw', 'abc.def.ghi', 'abc.def.ghi'],
    ['raw with surrounding whitespace', '  abc.def.ghi \t', 'abc.def.ghi'],
    ['Bearer', 'Bearer abc.def.ghi', 'abc.def.ghi'],
    ['lower-case bearer', 'bearer abc.def.ghi', 'abc.def.ghi'],
    ['upper-case BEARER', 'BEARER abc.def.ghi', 'abc.def.ghi'],
    ['Bearer with a leading space', ' Bearer abc.def.ghi', 'abc.def.ghi'],
    ['Bearer with several spaces and a tab', 'Bearer \t  abc.def.ghi  ', 'abc.def.ghi'],
  ])('%s', (_label, header, expected) => {
    expect(tokenFromHeader(header)).toBe(expected);
  });

  test.each([undefined, '', '   ', '\t\n'])('%j gives no token', (header) => {
    expect(tokenFromHeader(header)).toBeUndefined();
  });

  test('every accepted form verifies end to end', async () => {
    const token = await issueToken(alice, secret, 60);
    for (const header of [token, ` ${token}`, `Bearer ${token}`, `  bearer   ${token}  `]) {
      await expect(verifyToken(tokenFromHeader(header), secret)).resolves.toMatchObject({ username: 'alice' });
    }
  });

  test('a bare "Bearer" is not a token that verifies', async () => {
    await expectRefused(tokenFromHeader('Bearer'));
    await expectRefused(tokenFromHeader('Bearer   '));
  });
});

describe('interoperability: jose is the oracle', () => {
  test('a token signed by jose verifies here', async () => {
    const token = await new SignJWT({ kind: 'saler' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('Bob_2.x-y')
      .setJti('jti-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret);
    await expect(verifyToken(token, secret)).resolves.toMatchObject({
      username: 'Bob_2.x-y',
      kind: 'saler',
      jti: 'jti-1',
    });
    // No `typ` is fine too (it is optional).
    const bare = await new SignJWT({ kind: 'customer' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setJti('jti-2')
      .setExpirationTime('5m')
      .sign(secret);
    await expect(verifyToken(bare, secret)).resolves.toMatchObject({ username: 'alice', jti: 'jti-2' });
  });

  test('a token signed here verifies with jose, with the same claims', async () => {
    const token = await issueToken(alice, secret, 300);
    const { payload, protectedHeader } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: 'alice', kind: 'customer' });
    await expect(jwtVerify(token, otherSecret, { algorithms: ['HS256'] })).rejects.toThrow();
  });

  test('a CryptoKey is accepted as the secret', async () => {
    const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    await expect(verifyToken(await issueToken(alice, secret, 60), key)).resolves.toMatchObject({ username: 'alice' });
  });
});

describe('claims as registration would accept them (api.md), whatever key signed the token', () => {
  const claims = (over: Record<string, unknown>) => ({
    sub: 'alice',
    kind: 'customer',
    jti: 'j1',
    iat: now(),
    exp: now() + 60,
    ...over,
  });

  test.each([
    ['a sub of 40 characters', { sub: 'u'.repeat(40) }],
    ['a sub with a space', { sub: 'has space' }],
    ['a sub in odd unicode', { sub: '\u00dcn\u00efcode' }],
    ['an empty sub', { sub: '' }],
    ['a sub of dots', { sub: '..' }],
    ['a sub with a slash', { sub: 'a/b' }],
    ['kind admin', { kind: 'admin' }],
    ['kind seller (an alias on registration only)', { kind: 'seller' }],
    ['an empty jti', { jti: '' }],
    ['a jti longer than 64', { jti: 'j'.repeat(65) }],
    ['a string exp', { exp: String(now() + 60) }],
    ['a string iat', { iat: String(now()) }],
    ['an nbf in the future', { nbf: now() + 60 }],
  ])('refused: %s', async (_label, over) => {
    await expectRefused(hs256({ alg: 'HS256', typ: 'JWT' }, claims(over)));
  });

  test('the same claims with a valid sub and kind are accepted (so each case above fails for its flaw)', async () => {
    await expect(verifyToken(hs256({ alg: 'HS256', typ: 'JWT' }, claims({ nbf: now() })), secret)).resolves.toEqual({
      username: 'alice',
      kind: 'customer',
      jti: 'j1',
      exp: now() + 60,
    });
  });
});

describe('strict header and encoding', () => {
  const payload = () => ({ sub: 'alice', kind: 'customer', jti: 'j1', iat: now(), exp: now() + 60 });

  test.each([
    ['alg HS256 in lower case', { alg: 'hs256' }],
    ['alg as an array', { alg: ['HS256'] }],
    ['typ other than JWT', { alg: 'HS256', typ: 'at+jwt' }],
    ['a crit header', { alg: 'HS256', crit: ['b64'], b64: false }],
    ['no alg', { typ: 'JWT' }],
  ])('refused: %s', async (_label, header) => {
    await expectRefused(hs256(header, payload()));
  });

  test('four segments, padding or a non-canonical signature are refused', async () => {
    const token = await issueToken(alice, secret, 60);
    await expectRefused(`${token}.x`);
    await expectRefused(`${token}=`);
    const [h, p, sig = ''] = token.split('.');
    // 32 bytes in base64url: 43 characters, the last carrying 2 unused bits; set one of them.
    const last = sig.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const tweaked = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
    expect(Buffer.from(`${sig.slice(0, -1)}${tweaked}`, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    await expectRefused(`${h}.${p}.${sig.slice(0, -1)}${tweaked}`);
  });

  test('a payload that is not a JSON object is refused', async () => {
    const input = `${b64url(JSON.stringify({ alg: 'HS256' }))}.${b64url('[1,2]')}`;
    const sig = createHmac('sha256', secret).update(input).digest('base64url');
    await expectRefused(`${input}.${sig}`);
  });

  test('a token over 2 KB is refused before any work', async () => {
    await expectRefused(hs256({ alg: 'HS256' }, { ...payload(), pad: 'x'.repeat(2048) }));
  });

  test('exp exactly now is expired (as jose judges it)', () => {
    const exp = now() + 10;
    const token = hs256({ alg: 'HS256' }, { ...payload(), exp });
    expect(verifyTokenSync(token, secret, (exp - 1) * 1000)).toBeDefined();
    expect(verifyTokenSync(token, secret, exp * 1000)).toBeUndefined();
  });
});

describe('verification never waits for the thread pool', () => {
  test('tokens verify while scrypt occupies all four libuv threads', async () => {
    let hashed = 0;
    const hashes = Array.from(
      { length: 4 },
      () =>
        new Promise<void>((resolve, reject) =>
          scrypt('pw', 'salt', 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (err) => {
            hashed++;
            return err ? reject(err) : resolve();
          }),
        ),
    );
    const verifier = new TokenVerifier(secret);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issueToken(alice, secret, 60)));
    const callers = await Promise.all(tokens.map((t) => verifier.verify(t)));
    // Through WebCrypto these would have queued behind the hashes.
    expect(hashed).toBe(0);
    expect(callers.every((c) => c.username === 'alice')).toBe(true);
    await Promise.all(hashes);
    expect(hashed).toBe(4);
  });

  test('a verified token is remembered; a bad one is not', async () => {
    const verifier = new TokenVerifier(secret);
    const token = await issueToken(alice, secret, 60);
    const first = await verifier.verify(token);
    expect(await verifier.verify(token)).toBe(first);
    await expect(verifier.verify(`${token}x`)).rejects.toBeInstanceOf(Unauthorized);
    await expect(verifier.verify(undefined)).rejects.toBeInstanceOf(Unauthorized);
  });
});
