/**
 * The login cache: after a slow password verification succeeds, Redis remembers for a short time
 * (`LOGIN_CACHE_TTL_SECONDS`) that this username and password are valid, as Apache's
 * mod_authn_socache does for its password back ends. A repeated login then costs one Redis round
 * trip and an HMAC instead of a slow hash and a MySQL query, in every container alike.
 *
 * Redis holds, per user, in the user's hash slot:
 * - `user:{u}:credential`: a keyed fingerprint of the user's current password hash (HMAC), or a
 *   marker while that hash is being replaced or after the user was removed;
 * - `user:{u}:login`: `<kind>$<HMAC-SHA256 of (username, password, fingerprint, kind)>`.
 * A cached login is valid only if the MAC recomputed from the password typed and the current
 * fingerprint matches. The MAC keys are derived (HKDF) from `LOGIN_CACHE_KEY`, or from the JWT
 * secret when that is not set, and never reach Redis: a copy of Redis alone lets nobody log in,
 * and reveals neither passwords nor hashes (threat model: docs/ARCHITECTURE.md, "The login cache").
 *
 * Invalidation: whatever changes a password hash or removes a user first writes the new
 * fingerprint (or a removal marker) with a TTL longer than any login can last, then changes MySQL.
 * A login that verified the old hash can no longer store its entry (lua/remember-login.lua compares
 * fingerprints), and an entry stored earlier no longer matches the fingerprint.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Result } from 'ioredis';
import rememberLoginLua from '../../lua/remember-login.lua';
import { type RedisClient, redis } from '../clients/redis';
import { config } from '../config';
import { isCacheFailure } from '../errors';
import { guard } from '../stores/guard';
import type { Kind } from '../validation';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    rememberLogin(
      credential: string,
      login: string,
      verifiedFingerprint: string,
      fingerprint: string,
      entry: string,
      entryTtlSeconds: number,
      credentialTtlSeconds: number,
    ): Result<number, Context>;
  }
}

/**
 * How long a fingerprint written by a hash change or a removal stays, at least: longer than any
 * login that read the old hash can still be running (the Lambda timeout, the lane's wait).
 */
export const CREDENTIAL_MIN_TTL_SECONDS = 300;
const REMOVED = 'removed';

export const loginCacheKeys = {
  /** string, TTL: keyed fingerprint of the current password hash, or `removed`. */
  credential: (username: string) => `user:{${username}}:credential`,
  /** string, TTL: `<kind>$<MAC>` of the last verified login. */
  login: (username: string) => `user:{${username}}:login`,
};

export interface VerifiedLogin {
  username: string;
  password: string;
  kind: Kind;
  /** The stored hash the password was verified against (or that a rehash just wrote). */
  passwordHash: string;
}

export interface LoginCache {
  /** Whether logins are remembered at all (`LOGIN_CACHE_TTL_SECONDS` > 0). */
  readonly enabled: boolean;
  /** One round trip: the user's kind if this exact username and password were verified recently. */
  lookup(username: string, password: string): Promise<Kind | undefined>;
  /**
   * Remembers a verified login, unless the hash changed since it was read. `replacedHash`: the hash
   * a rehash just replaced (the fingerprint moves from it to `login.passwordHash`).
   */
  remember(login: VerifiedLogin, replacedHash?: string): Promise<boolean>;
  /** Before a user's password hash changes: no cached login of the old hash works from now on. */
  hashChanging(username: string, newHash: string): Promise<void>;
  /** Before a user is removed: no cached login of theirs works from now on. */
  userRemoved(username: string): Promise<void>;
}

const registered = new WeakSet<RedisClient>();

export class RedisLoginCache implements LoginCache {
  readonly enabled: boolean;
  private readonly macKey: Buffer;
  private readonly fingerprintKey: Buffer;
  private readonly credentialTtlSeconds: number;

  constructor(
    private readonly redis: RedisClient,
    secret: Uint8Array,
    private readonly ttlSeconds: number,
  ) {
    this.enabled = ttlSeconds > 0;
    // Two keys, each bound to its purpose by its HKDF label.
    this.macKey = Buffer.from(hkdfSync('sha256', secret, 'seckill', 'login cache: entry MAC', 32));
    this.fingerprintKey = Buffer.from(hkdfSync('sha256', secret, 'seckill', 'login cache: hash fingerprint', 32));
    this.credentialTtlSeconds = Math.max(ttlSeconds, CREDENTIAL_MIN_TTL_SECONDS);
    if (!registered.has(redis)) {
      redis.defineCommand('rememberLogin', { numberOfKeys: 2, lua: rememberLoginLua });
      registered.add(redis);
    }
  }

  /** Keyed, so a copy of Redis cannot be matched against anything without the key. */
  fingerprint(passwordHash: string): string {
    return createHmac('sha256', this.fingerprintKey).update(passwordHash).digest('base64url');
  }

  private mac(username: string, password: string, fingerprint: string, kind: Kind): Buffer {
    // JSON keeps the fields apart: no two different tuples encode to the same bytes.
    return createHmac('sha256', this.macKey)
      .update(JSON.stringify([username, password, fingerprint, kind]))
      .digest();
  }

  async lookup(username: string, password: string): Promise<Kind | undefined> {
    if (!this.enabled) return undefined;
    const [fingerprint, entry] = await this.redis.mget(
      loginCacheKeys.credential(username),
      loginCacheKeys.login(username),
    );
    if (!fingerprint || fingerprint === REMOVED || !entry) return undefined;
    const dollar = entry.indexOf('$');
    const kind = entry.slice(0, dollar);
    if (kind !== 'customer' && kind !== 'saler') return undefined;
    const stored = Buffer.from(entry.slice(dollar + 1), 'base64url');
    const expected = this.mac(username, password, fingerprint, kind);
    return stored.length === expected.length && timingSafeEqual(stored, expected) ? kind : undefined;
  }

  async remember(login: VerifiedLogin, replacedHash?: string): Promise<boolean> {
    if (!this.enabled) return false;
    const fingerprint = this.fingerprint(login.passwordHash);
    const mac = this.mac(login.username, login.password, fingerprint, login.kind).toString('base64url');
    const stored = await this.redis.rememberLogin(
      loginCacheKeys.credential(login.username),
      loginCacheKeys.login(login.username),
      this.fingerprint(replacedHash ?? login.passwordHash),
      fingerprint,
      `${login.kind}$${mac}`,
      this.ttlSeconds,
      this.credentialTtlSeconds,
    );
    return stored === 1;
  }

  async hashChanging(username: string, newHash: string): Promise<void> {
    await this.mark(username, this.fingerprint(newHash));
  }

  async userRemoved(username: string): Promise<void> {
    await this.mark(username, REMOVED);
  }

  /** One transaction in the user's slot: the new fingerprint (or marker) in, the entry out. */
  private async mark(username: string, value: string): Promise<void> {
    const results = await this.redis
      .multi()
      .set(loginCacheKeys.credential(username), value, 'EX', this.credentialTtlSeconds)
      .del(loginCacheKeys.login(username))
      .exec();
    const failed = results?.find(([e]) => e !== null)?.[0];
    if (failed) throw failed;
  }
}

let current: { client: RedisClient; cache: LoginCache } | undefined;

/** The container's login cache, on the shared Redis client (which connects lazily). */
export function loginCache(): LoginCache {
  const client = redis();
  if (current?.client !== client) {
    const { auth } = config();
    const cache = new RedisLoginCache(client, auth.loginCacheKey ?? auth.jwtSecret, auth.loginCacheTtlSeconds);
    // Redis's failures reach callers as DependencyError('cache'), like every store's.
    current = { client, cache: guard(cache, 'cache', isCacheFailure) };
  }
  return current.cache;
}
