/**
 * Access tokens: HS256 JWTs carrying the username (`sub`), kind, an id (`jti`), `iat` and `exp`.
 * Verification is local (no I/O); revocation is checked separately against the token store.
 *
 * Signing and verifying are a synchronous HMAC-SHA256 (node:crypto, a few microseconds) rather than
 * jose's WebCrypto path: WebCrypto runs on libuv's four-thread pool, the one scrypt uses, so during
 * a login flood every request with a token not yet verified waited behind the password hashes
 * (seconds). HS256 is one algorithm with one key; the tests keep jose as the interoperability oracle
 * (tokens of either verify with the other).
 */
import { createHmac, createSecretKey, KeyObject, randomUUID, timingSafeEqual, type webcrypto } from 'node:crypto';
import { Unauthorized } from '../errors';
import { isValidUsername, type Kind } from '../validation';

export interface Caller {
  username: string;
  kind: Kind;
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

type Secret = Uint8Array | KeyObject;

/** Far longer than any token this service signs; a longer one is refused before any work. */
const MAX_TOKEN_LENGTH = 2048;
/** Token ids are stored in `revoked_tokens.jti VARCHAR(64)`. */
const MAX_JTI_LENGTH = 64;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const hmac = (secret: Secret, signingInput: string) => createHmac('sha256', secret).update(signingInput).digest();

export async function issueToken(
  user: { username: string; kind: Kind },
  secret: Uint8Array,
  ttlSeconds: number,
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const payload = encode({ kind: user.kind, sub: user.username, jti: randomUUID(), iat, exp: iat + ttlSeconds });
  const signingInput = `${HEADER}.${payload}`;
  return `${signingInput}.${hmac(secret, signingInput).toString('base64url')}`;
}

/** The raw token of an `Authorization` header: raw or `Bearer <token>`, whitespace ignored. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const match = /^bearer\s+(.+)$/i.exec(trimmed);
  const token = (match ? match[1] : trimmed)?.trim();
  return token ? token : undefined;
}

/** A base64url segment as a JSON object, or undefined. */
function jsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * The caller of a token whose signature, header, expiry and claims are all valid, else undefined.
 * Synchronous: a few microseconds of CPU, never the thread pool.
 */
export function verifyTokenSync(token: string | undefined, secret: Secret, nowMs = Date.now()): Caller | undefined {
  if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header = '', payload = '', signature = ''] = parts;
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return undefined;

  // The header first: only HS256, and nothing this verifier does not understand (`crit`, `b64`).
  const h = jsonSegment(header);
  if (h === undefined || h.alg !== 'HS256') return undefined;
  if ((h.typ !== undefined && h.typ !== 'JWT') || 'crit' in h || 'b64' in h) return undefined;
  const expected = hmac(secret, `${header}.${payload}`);
  const given = Buffer.from(signature, 'base64url');
  // Non-canonical base64url (stray trailing bits) would decode to the same bytes: refuse it.
  if (given.length !== expected.length || given.toString('base64url') !== signature) return undefined;
  if (!timingSafeEqual(given, expected)) return undefined;

  const claims = jsonSegment(payload);
  if (!claims) return undefined;
  const { sub, kind, jti, exp, iat, nbf } = claims;
  const now = Math.floor(nowMs / 1000);
  if (!isNumericDate(exp) || exp <= now) return undefined;
  if (iat !== undefined && !isNumericDate(iat)) return undefined;
  if (nbf !== undefined && (!isNumericDate(nbf) || nbf > now)) return undefined;
  // Claims as registration would accept them (api.md), whatever key signed the token.
  if (!isValidUsername(sub) || (kind !== 'customer' && kind !== 'saler')) return undefined;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return undefined;
  return { username: sub, kind, jti, exp };
}

/** Verifies signature, expiry and claims; throws `Unauthorized` for anything that is not a valid token. */
export async function verifyToken(
  token: string | undefined,
  secret: Uint8Array | webcrypto.CryptoKey,
): Promise<Caller> {
  const key = secret instanceof Uint8Array ? secret : KeyObject.from(secret);
  const caller = verifyTokenSync(token, key);
  if (!caller) throw new Unauthorized();
  return caller;
}

/**
 * Verifies tokens with one key object, and remembers tokens already verified until they expire
 * (bounded, oldest first out): a client sends the same token on every request of a sale, and a hit
 * costs a map lookup instead of an HMAC. Revocation is not cached: it is checked on every request.
 */
export class TokenVerifier {
  private readonly key: KeyObject;
  private readonly verified = new Map<string, Caller>();

  constructor(
    secret: Uint8Array,
    private readonly maxEntries = 10_000,
  ) {
    this.key = createSecretKey(secret);
  }

  async verify(token: string | undefined): Promise<Caller> {
    if (!token) throw new Unauthorized();
    const known = this.verified.get(token);
    if (known && known.exp * 1000 > Date.now()) return known;
    this.verified.delete(token);
    const caller = verifyTokenSync(token, this.key);
    if (!caller) throw new Unauthorized();
    if (this.verified.size >= this.maxEntries) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, caller);
    return caller;
  }
}
