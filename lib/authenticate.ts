/**
 * Who is calling: the token is verified locally, then one Redis round trip tells whether it was
 * revoked and whether the cache is warm. A cold cache is rebuilt in the background
 * (lib/restore-cache.ts); the request waits for it only within its budget.
 */
import { type Caller, TokenVerifier, tokenFromHeader } from './auth/tokens';
import { config } from './config';
import { Unauthorized } from './errors';
import { awaitWarmCache } from './restore-cache';
import type { RebuildCache, SessionCache } from './stores/types';

let verifier: TokenVerifier | undefined;

type Sessions = { cache: SessionCache & RebuildCache };

export async function authenticate(
  s: Sessions,
  authorization: string | undefined,
  deadline = Date.now() + config().handlerTimeoutMs,
): Promise<Caller> {
  const caller = await verify(authorization);
  await checkSession(s, caller, deadline);
  return caller;
}

/**
 * `authenticate`, with a read the request needs anyway issued alongside the session check, in the
 * same round trip. Its result is used only once the session is known good, and the read is made
 * again if the cache was cold (it may have found nothing before the rebuild); its failure, if the
 * session is refused, is never seen.
 */
export async function authenticateWith<T>(
  s: Sessions,
  authorization: string | undefined,
  read: (caller: Caller) => Promise<T>,
  deadline = Date.now() + config().handlerTimeoutMs,
): Promise<{ caller: Caller; value: T }> {
  const caller = await verify(authorization);
  const early = read(caller).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (!(await checkSession(s, caller, deadline))) return { caller, value: await read(caller) };
  const r = await early;
  if (!r.ok) throw r.error;
  return { caller, value: r.value };
}

/** The token's claims, verified locally; the session (revocation, warm cache) is not checked yet. */
export function verify(authorization: string | undefined): Promise<Caller> {
  verifier ??= new TokenVerifier(config().auth.jwtSecret);
  return verifier.verify(tokenFromHeader(authorization));
}

/** Refuses a revoked token; resolves false when it had to wait for a cold cache to be rebuilt. */
export async function checkSession(s: Sessions, caller: Caller, deadline: number): Promise<boolean> {
  const { revoked, warm } = await s.cache.session(caller.jti);
  if (!warm) {
    await awaitWarmCache(s.cache, deadline);
    // Revocations are restored from MySQL by the rebuild: ask again.
    if ((await s.cache.session(caller.jti)).revoked) throw new Unauthorized();
    return false;
  }
  if (revoked) throw new Unauthorized();
  return true;
}
