/** Registration, login and logout. */
import { hashPassword, spendVerificationTime, verifyPassword } from './auth/passwords';
import { type Caller, issueToken, tokenFromHeader, verifyToken } from './auth/tokens';
import { config } from './config';
import { BadRequest, Unauthorized } from './errors';
import { checkLoginThrottle, recordFailedLogin } from './login-throttle';
import type { Services } from './services';
import type { Kind } from './validation';
import * as validate from './validation';

/** MySQL first (the record), then Redis; if Redis fails the row is removed and the error stands. */
export async function register(s: Services, body: Record<string, unknown>): Promise<void> {
  const user = validate.registration(body);
  const passwordHash = await hashPassword(user.password, config().auth.scryptLogN);
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

/** @param address the client's address, for login throttling (lib/login-throttle.ts). */
export async function login(
  s: Services,
  body: Record<string, unknown>,
  address = '',
): Promise<{ token: string; kind: Kind }> {
  await checkLoginThrottle(s.cache, body.username, address);
  try {
    return await verifyLogin(s, body);
  } catch (e: unknown) {
    if (e instanceof Unauthorized) await recordFailedLogin(s.cache, body.username, address);
    throw e;
  }
}

async function verifyLogin(s: Services, body: Record<string, unknown>): Promise<{ token: string; kind: Kind }> {
  const { auth } = config();
  const { username, password } = body;
  if (typeof username !== 'string' || typeof password !== 'string') throw LOGIN_FAILED();
  const user = validate.isValidUsername(username) ? await s.db.findUser(username) : undefined;
  if (!user) {
    await spendVerificationTime(password, auth.scryptLogN);
    throw LOGIN_FAILED();
  }
  if (!(await verifyPassword(password, user.passwordHash))) throw LOGIN_FAILED();
  const token = await issueToken(user, auth.jwtSecret, auth.tokenTtlSeconds);
  return { token, kind: user.kind };
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
