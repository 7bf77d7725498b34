/** Registration, login and logout. */
import { type LoginCache, loginCache } from './auth/login-cache';
import {
  hashLane,
  hashPassword,
  needsRehash,
  rehashIfIdle,
  spendVerificationTime,
  verifyPassword,
} from './auth/passwords';
import { SingleFlight } from './auth/single-flight';
import { type Caller, issueToken, tokenFromHeader, verifyToken } from './auth/tokens';
import { config } from './config';
import { BadRequest, describe, ServerBusy, Unauthorized } from './errors';
import { logger } from './logger';
import { checkLoginThrottle, recordFailedLogin } from './login-throttle';
import type { Services } from './services';
import type { Kind } from './validation';
import * as validate from './validation';

/** MySQL first (the record), then Redis; if Redis fails the row is removed and the error stands. */
export async function register(s: Services, body: Record<string, unknown>): Promise<void> {
  const user = validate.registration(body);
  const passwordHash = await hashPassword(user.password);
  if (!(await s.db.insertUser({ username: user.username, kind: user.kind, passwordHash }))) {
    throw new BadRequest('Insert user failed. Maybe user name duplicates.');
  }
  try {
    await s.cache.putUser(user.username, user.kind);
  } catch (e: unknown) {
    await s.db.deleteUser(user.username);
    throw e;
  }
}

const LOGIN_FAILED = () => new Unauthorized('Invalid username or password.', { kind: '' });

/**
 * Login throttling first (lib/login-throttle.ts: per username and per client address), then the
 * login itself; a 401 counts as a failed attempt.
 * @param address the client's address (API Gateway's sourceIp, the socket's peer locally).
 */
export async function login(
  s: Services,
  body: Record<string, unknown>,
  address = '',
  cache: LoginCache = loginCache(),
): Promise<{ token: string; kind: Kind }> {
  const { username, password } = body;
  // The login cache is read alongside the throttle check, in the same round trip; its answer is
  // used only once the throttle let the attempt through. (A cache that fails is a miss: no rejection.)
  const cached =
    typeof username === 'string' && typeof password === 'string' && validate.isValidUsername(username)
      ? cachedLogin(cache, username, password)
      : undefined;
  await checkLoginThrottle(s.cache, username, address);
  try {
    return await verifyLogin(s, body, cache, cached);
  } catch (e: unknown) {
    if (e instanceof Unauthorized) await recordFailedLogin(s.cache, body.username, address);
    throw e;
  }
}

/**
 * A login answered from the login cache when this exact username and password were verified
 * recently (one Redis round trip, no MySQL, no slow hash); otherwise verified against MySQL's slow
 * hash, which is then remembered (lib/auth/login-cache.ts) and upgraded if the setting moved on.
 * A wrong password never matches the cache, so every failure pays the full verification.
 */
async function verifyLogin(
  s: Services,
  body: Record<string, unknown>,
  cache: LoginCache,
  lookup: Promise<CachedLogin> | undefined,
): Promise<{ token: string; kind: Kind }> {
  const { auth } = config();
  const { username, password } = body;
  if (typeof username !== 'string' || typeof password !== 'string') throw LOGIN_FAILED();
  // Throttling (in login() above) comes before both paths, so a cached password is throttled like
  // any other; a 401 thrown below is counted there as a failure.
  const known = validate.isValidUsername(username);
  const cached = (await lookup) ?? { kind: undefined, reachable: true };
  const cachedKind = cached.kind;
  if (cachedKind) {
    return {
      token: await issueToken({ username, kind: cachedKind }, auth.jwtSecret, auth.tokenTtlSeconds),
      kind: cachedKind,
    };
  }
  let user: { username: string; kind: Kind } | undefined;
  try {
    // A cache that just failed to answer is not written to either: the login would wait for it twice.
    const remember = cached.reachable ? cache : undefined;
    user = await slowLogins.run(username, password, () => verifySlowly(s, remember, username, password, known));
  } catch (e: unknown) {
    // The login route keeps its `kind` key on every answer, 503 busy included.
    if (e instanceof ServerBusy) throw new ServerBusy({ kind: '' });
    throw e;
  }
  if (!user) throw LOGIN_FAILED();
  const token = await issueToken(user, auth.jwtSecret, auth.tokenTtlSeconds);
  return { token, kind: user.kind };
}

/** Concurrent logins of one account with one password share a single slow verification. */
const slowLogins = new SingleFlight<{ username: string; kind: Kind } | undefined>();

/**
 * The slow path: MySQL's hash, verified in the hash lane (a decoy verification for an unknown
 * user, so both cost the same), then remembered. Resolves undefined for a wrong login.
 */
async function verifySlowly(
  s: Services,
  cache: LoginCache | undefined,
  username: string,
  password: string,
  known: boolean,
): Promise<{ username: string; kind: Kind } | undefined> {
  // Past the hash lane's capacity the answer is 503 whatever MySQL says: spare it the query.
  if (!hashLane().wouldAdmit()) throw new ServerBusy();
  const user = known ? await s.db.findUser(username) : undefined;
  if (!user) {
    await spendVerificationTime(password);
    return undefined;
  }
  if (!(await verifyPassword(password, user.passwordHash))) return undefined;
  if (cache) await rememberLogin(s, cache, { username, password, kind: user.kind, passwordHash: user.passwordHash });
  return { username: user.username, kind: user.kind };
}

/** A cache that cannot answer is a miss: the slow path still works without Redis. */
type CachedLogin = { kind: Kind | undefined; reachable: boolean };

async function cachedLogin(cache: LoginCache, username: string, password: string): Promise<CachedLogin> {
  try {
    return { kind: await cache.lookup(username, password), reachable: true };
  } catch (e: unknown) {
    logger.warn('login cache unavailable', { error: describe(e) });
    return { kind: undefined, reachable: false };
  }
}

/**
 * After a successful slow verification: replace a hash older or cheaper than the setting (when a
 * hash lane is free; otherwise a later login does it), then remember the login. Neither step can
 * fail the login.
 */
async function rememberLogin(
  s: Services,
  cache: LoginCache,
  verified: { username: string; password: string; kind: Kind; passwordHash: string },
): Promise<void> {
  let replacedHash: string | undefined;
  let current = verified;
  try {
    if (needsRehash(verified.passwordHash)) {
      const newHash = await rehashIfIdle(verified.password);
      if (newHash && (await s.db.updatePasswordHash(verified.username, newHash, verified.passwordHash))) {
        replacedHash = verified.passwordHash;
        current = { ...verified, passwordHash: newHash };
      }
    }
  } catch (e: unknown) {
    logger.warn('password rehash failed', { username: verified.username, error: describe(e) });
  }
  try {
    await cache.remember(current, replacedHash);
  } catch (e: unknown) {
    logger.warn('login cache unavailable', { error: describe(e) });
  }
}

/**
 * Sets a user's password. The login cache is told first, so no cached login of the old password
 * works once this resolves (nor while it runs); if Redis cannot be told, nothing changes.
 */
export async function changePassword(
  s: Services,
  username: string,
  password: string,
  cache: LoginCache = loginCache(),
): Promise<boolean> {
  const newHash = await hashPassword(password);
  await cache.hashChanging(username, newHash);
  return s.db.updatePasswordHash(username, newHash);
}

/** Removes a user's account record; the login cache forgets them first (as in `changePassword`). */
export async function removeUser(s: Services, username: string, cache: LoginCache = loginCache()): Promise<void> {
  await cache.userRemoved(username);
  await s.db.deleteUser(username);
}

/** Revokes the token if it is valid; an invalid or missing token is simply ignored. */
export async function logout(s: Services, authorization: string | undefined): Promise<void> {
  let caller: Caller;
  try {
    caller = await verifyToken(tokenFromHeader(authorization), config().auth.jwtSecret);
  } catch {
    return;
  }
  const ttlSeconds = caller.exp - Math.floor(Date.now() / 1000);
  if (ttlSeconds <= 0) return;
  // MySQL keeps the revocation through a cache rebuild; Redis makes it cheap to check.
  await s.db.revokeToken(caller.jti, new Date(caller.exp * 1000));
  await s.cache.revokeToken(caller.jti, ttlSeconds);
}
