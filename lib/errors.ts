/**
 * Typed errors carry the status and `errMsg` of the API contract. Domain code throws them; the
 * `httpErrors` middleware (lib/http/middleware.ts) is the only place that turns them into responses.
 */

export type ExtraBody = Record<string, unknown>;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errMsg: string,
    /** Extra keys some routes carry even on errors (`kind` on login, `data` on listing). */
    readonly extra: ExtraBody = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(errMsg);
    this.name = 'HttpError';
  }
}

export class BadRequest extends HttpError {
  constructor(errMsg: string, extra?: ExtraBody) {
    super(400, errMsg, extra);
  }
}

export class Unauthorized extends HttpError {
  constructor(errMsg = 'Not Authorized.', extra?: ExtraBody) {
    super(401, errMsg, extra);
  }
}

export class PayloadTooLarge extends HttpError {
  constructor() {
    super(413, 'Request body too large.');
  }
}

/** A limit of "Fair access" (api.md) refused the request: 429 with Retry-After. */
export class TooManyRequests extends HttpError {
  constructor(errMsg: string, retryAfterSeconds: number, extra?: ExtraBody) {
    super(429, errMsg, extra, { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** A dependency (Redis, MySQL, the queue) failed; nothing was changed. */
export class Unavailable extends HttpError {
  constructor(errMsg: string, retryAfterSeconds = 1) {
    super(503, errMsg, {}, { 'Retry-After': String(Math.max(1, retryAfterSeconds)) });
  }
}

/** The process is at capacity (e.g. password hashing): a fast, honest refusal instead of a timeout. */
export class ServerBusy extends HttpError {
  constructor(extra?: ExtraBody) {
    super(503, 'Server busy. Retry shortly.', extra, { 'Retry-After': '1' });
  }
}

export type Dependency = 'cache' | 'database' | 'queue';

/**
 * A dependency failed (unreachable, timed out, refusing). Thrown by the stores (lib/stores/guard.ts)
 * around every call, so the error middleware recognises an outage by `instanceof`, which survives
 * minification, and names the dependency truthfully whatever the client library threw.
 */
export class DependencyError extends Error {
  constructor(
    readonly dependency: Dependency,
    override readonly cause: unknown,
  ) {
    super(`${dependency} unavailable: ${describe(cause)}`);
  }
}

/** The handler ran out of its time budget before it could answer. */
export class DeadlineExceeded extends Error {
  constructor() {
    super('the handler ran out of time');
  }
}

/** The message of an unknown error, for logs only: never sent to a client. */
export function describe(e: unknown): string {
  if (e instanceof DependencyError) return e.message;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${e.message}`;
  }
  return String(e);
}

/**
 * Which dependency an unexpected error came from, if any: lets the error middleware answer a clear
 * 503 for an outage and keep 500 for bugs. Stores wrap their failures in `DependencyError`; the
 * other signals (codes and messages, never class names) cover clients used outside a store.
 */
export function failedDependency(e: unknown): Dependency | undefined {
  if (e instanceof DependencyError) return e.dependency;
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; message?: unknown; $metadata?: unknown; sqlMessage?: unknown; fatal?: unknown };
  if (err.$metadata !== undefined) return 'queue';
  if (err.sqlMessage !== undefined || err.fatal === true) return 'database';
  if (typeof err.code === 'string' && err.code.startsWith('PROTOCOL_')) return 'database';
  const message = typeof err.message === 'string' ? err.message : '';
  if (REDIS_FAILURE.test(message)) return 'cache';
  return undefined;
}

/**
 * Messages of ioredis's connection-level failures (its cluster client's too: no seed node reachable,
 * slots unknown, redirections beyond `maxRedirections`, the client shut down) and of Redis's own
 * "not now" replies, redirections of a failover or a slot migration included.
 */
export const REDIS_FAILURE =
  /^(Reached the max retries per request limit|Connection is closed|Command timed out|Stream isn't writeable|None of startup nodes is available|Failed to refresh slots cache|All keys in the pipeline should belong to the same slot|Too many Cluster redirections|Cluster isn't ready|Cluster is ended)|^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|BUSY|MASTERDOWN|NOREPLICAS|READONLY|OOM|NOAUTH|WRONGPASS|NOPERM) /;

const MYSQL_TRANSIENT = new Set([
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_CONNECTION_KILLED',
  'ER_OPTION_PREVENTS_STATEMENT',
  'ER_CANT_LOCK',
  'ER_LOCK_TABLE_FULL',
  'ER_OUT_OF_RESOURCES',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

/** Whether an error from MySQL means the database failed (rather than a bug in a statement). */
export function isDatabaseFailure(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, fatal } = e as { code?: unknown; fatal?: unknown };
  if (fatal === true) return true;
  if (typeof code !== 'string') return false;
  return !code.startsWith('ER_') || MYSQL_TRANSIENT.has(code);
}

/** Whether an error from Redis means the cache failed, rather than a bug in a script or a call. */
export function isCacheFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (REDIS_FAILURE.test(e.message)) return true;
  const code = (e as { code?: unknown }).code;
  // Socket errors (ECONNREFUSED, ECONNRESET, ...); replies such as "ERR ..." are bugs.
  return typeof code === 'string' && /^E[A-Z]+$/.test(code) && !/^(ERR|WRONGTYPE) /.test(e.message);
}
