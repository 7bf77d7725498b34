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

export async function authenticate(
  s: { cache: SessionCache & RebuildCache },
  authorization: string | undefined,
  deadline = Date.now() + config().handlerTimeoutMs,
): Promise<Caller> {
  const { auth } = config();
  verifier ??= new TokenVerifier(auth.jwtSecret);
  const caller = await verifier.verify(tokenFromHeader(authorization));
  const { revoked, warm } = await s.cache.session(caller.jti);
  if (!warm) {
    await awaitWarmCache(s.cache, deadline);
    // Revocations are restored from MySQL by the rebuild: ask again.
    if ((await s.cache.session(caller.jti)).revoked) throw new Unauthorized();
  } else if (revoked) {
    throw new Unauthorized();
  }
  return caller;
}
