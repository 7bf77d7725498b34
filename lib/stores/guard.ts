/**
 * Wraps a store so that every failure of its dependency reaches the caller as a `DependencyError`
 * naming it. The error middleware then answers a truthful 503 by `instanceof`, which, unlike a
 * client library's class name, survives minification. Errors that are bugs (a malformed statement)
 * pass through unchanged and stay 500s.
 */
import { type Dependency, DependencyError } from '../errors';

export function guard<T extends object>(store: T, dependency: Dependency, isFailure: (e: unknown) => boolean): T {
  const wrap = (e: unknown): never => {
    throw e instanceof DependencyError || !isFailure(e) ? e : new DependencyError(dependency, e);
  };
  const guarded = Object.create(store) as T;
  let proto: object | null = store;
  while (proto && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const methods = store as Record<string, unknown>;
      if (key === 'constructor' || typeof methods[key] !== 'function' || Object.hasOwn(guarded, key)) continue;
      Object.defineProperty(guarded, key, {
        value: (...args: unknown[]) => {
          try {
            // Looked up at each call, so a method replaced later (a test's spy) is the one called.
            const out = (methods[key] as (...a: unknown[]) => unknown).apply(store, args);
            return out instanceof Promise ? out.catch(wrap) : out;
          } catch (e: unknown) {
            return wrap(e);
          }
        },
      });
    }
    proto = Object.getPrototypeOf(proto);
  }
  return guarded;
}
