/**
 * Access tokens: HS256 JWTs carrying the username (`sub`), kind, an id (`jti`), `iat` and `exp`.
 * Verification is local (no I/O); revocation is checked separately against the token store.
 */
import { randomUUID, webcrypto } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { Unauthorized } from '../errors';
import type { Kind } from '../validation';

export interface Caller {
  username: string;
  kind: Kind;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export async function issueToken(
  user: { username: string; kind: Kind },
  secret: Uint8Array,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ kind: user.kind })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.username)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(secret);
}

/** The raw token of an `Authorization` header: raw or `Bearer <token>`, whitespace ignored. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  const token = (match ? match[1] : trimmed)?.trim();
  return token ? token : undefined;
}

/** Verifies signature and expiry; throws `Unauthorized` for anything that is not a valid token. */
export async function verifyToken(
  token: string | undefined,
  secret: Uint8Array | webcrypto.CryptoKey,
): Promise<Caller> {
  if (!token) throw new Unauthorized();
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    const { sub, kind, jti, exp } = payload;
    if (
      typeof sub !== 'string' ||
      (kind !== 'customer' && kind !== 'saler') ||
      typeof jti !== 'string' ||
      typeof exp !== 'number'
    ) {
      throw new Unauthorized();
    }
    return { username: sub, kind, jti, exp };
  } catch {
    throw new Unauthorized();
  }
}

/**
 * Verifies tokens with the key imported once, and remembers tokens already verified until they
 * expire (bounded, oldest first out). A client sends the same token on every request of a sale,
 * and an HMAC verification through WebCrypto costs about 0.1 ms of CPU; a hit costs a map lookup.
 * Revocation is not cached: it is checked on every request.
 */
export class TokenVerifier {
  private readonly key: Promise<webcrypto.CryptoKey>;
  private readonly verified = new Map<string, Caller>();

  constructor(
    secret: Uint8Array,
    private readonly maxEntries = 10_000,
  ) {
    this.key = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  }

  async verify(token: string | undefined): Promise<Caller> {
    if (!token) throw new Unauthorized();
    const known = this.verified.get(token);
    if (known && known.exp * 1000 > Date.now()) return known;
    this.verified.delete(token);
    const caller = await verifyToken(token, await this.key);
    if (this.verified.size >= this.maxEntries) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, caller);
    return caller;
  }
}
