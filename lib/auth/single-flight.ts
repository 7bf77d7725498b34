/**
 * Coalesces identical slow work in one process: while a verification of (username, password) is
 * in flight, the same username with the same password waits for its result instead of starting
 * another. A sale's clients log in again and again, often many at once for one account (the original
 * load plan does exactly that), and before the login cache holds the account each of those would
 * cost a full slow hash. A request with a different password never shares a result: it runs its own.
 *
 * Requests are matched by a keyed hash of the password (a key held only in this process's memory).
 */
import { createHmac, randomBytes } from 'node:crypto';

export class SingleFlight<T> {
  private readonly key = randomBytes(32);
  private readonly inFlight = new Map<string, Promise<T>>();

  run(name: string, secret: string, task: () => Promise<T>): Promise<T> {
    // The map key carries a keyed hash of the secret, never the secret itself.
    const id = `${name}\u0000${createHmac('sha256', this.key).update(secret).digest('base64url')}`;
    const current = this.inFlight.get(id);
    if (current) return current;
    const result = task();
    this.inFlight.set(id, result);
    const forget = () => {
      if (this.inFlight.get(id) === result) this.inFlight.delete(id);
    };
    result.then(forget, forget);
    return result;
  }

  /** Verifications in flight (for tests and measurements). */
  get size(): number {
    return this.inFlight.size;
  }
}
