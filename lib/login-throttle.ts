/**
 * Login throttling (api.md, "Fair access"), always on: failed logins are counted per username and
 * per client address in Redis (sorted sets of failure times with expiry, lua/login-throttle.lua,
 * by Redis's clock), and a login is refused with 429 while either has reached its threshold within
 * the window, even with the right password. Unknown usernames are counted like known ones, so a 429
 * reveals nothing. Loopback addresses are not counted per address: locally every client has one.
 *
 * If Redis cannot be reached the login goes on unthrottled (logged): logins do not otherwise need
 * Redis, and an outage of the cache must not lock every user out.
 */
import { createHash } from 'node:crypto';
import { config } from './config';
import { describe, TooManyRequests } from './errors';
import { isLoopback } from './http/request';
import { keys } from './keys';
import { logger } from './logger';
import type { SessionCache } from './stores/types';
import { foldUsername, isValidUsername } from './validation';

/** The throttled keys of a login attempt: its username (folded; any string) and its address. */
function throttleKeys(username: unknown, address: string): string[] {
  const out: string[] = [];
  if (typeof username === 'string') {
    // A string that cannot be a username is still counted, under a bounded key.
    const folded = isValidUsername(username)
      ? foldUsername(username)
      : `#${createHash('sha256').update(username).digest('hex')}`;
    out.push(keys.loginFailuresOfUser(folded));
  }
  if (address && !isLoopback(address)) out.push(keys.loginFailuresOfAddress(address));
  return out;
}

function limitOf(key: string): number {
  const { perUsername, perAddress } = config().loginThrottle;
  return key.startsWith('login:fail:u:') ? perUsername : perAddress;
}

/** Throws 429 "Too many login attempts." while the username or the address is throttled. */
export async function checkLoginThrottle(cache: SessionCache, username: unknown, address: string): Promise<void> {
  const { windowMs } = config().loginThrottle;
  let waits: number[];
  try {
    // One script per key (a username and an address live in different slots), in one pipelined trip.
    waits = await Promise.all(
      throttleKeys(username, address).map((k) => cache.loginThrottle(k, 'check', windowMs, limitOf(k))),
    );
  } catch (e: unknown) {
    logger.warn('login throttling skipped: the cache did not answer', { error: describe(e) });
    return;
  }
  const wait = Math.max(0, ...waits);
  if (wait > 0) throw new TooManyRequests('Too many login attempts.', wait, { kind: '' });
}

/** Counts one failed login (a 401) for the username and the address. */
export async function recordFailedLogin(cache: SessionCache, username: unknown, address: string): Promise<void> {
  const { windowMs } = config().loginThrottle;
  await Promise.all(
    throttleKeys(username, address).map((k) => cache.loginThrottle(k, 'fail', windowMs, limitOf(k))),
  ).catch((e: unknown) => logger.warn('failed login not counted: the cache did not answer', { error: describe(e) }));
}
