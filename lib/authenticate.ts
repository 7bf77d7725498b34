/**
 * Who is calling: the token is verified locally, then one Redis round trip tells whether it was
 * revoked and whether the cache is warm. A cold cache is rebuilt before the request goes on.
 */
import { type Caller, TokenVerifier, tokenFromHeader } from './auth/tokens';
import { config } from './config';
import { Unauthorized } from './errors';
import type { Services } from './services';
import { ensureWarm } from './warm-up';

let verifier: TokenVerifier | undefined;

export async function authenticate(s: Services, authorization: string | undefined): Promise<Caller> {
  const { auth, warmup } = config();
  verifier ??= new TokenVerifier(auth.jwtSecret);
  const caller = await verifier.verify(tokenFromHeader(authorization));
  const { revoked, warm } = await s.cache.session(caller.jti);
  if (!warm) {
    await ensureWarm(s, warmup);
    // Revocations are restored from MySQL by the rebuild: ask again.
    if ((await s.cache.session(caller.jti)).revoked) throw new Unauthorized();
  } else if (revoked) {
    throw new Unauthorized();
  }
  return caller;
}
