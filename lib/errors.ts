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

/** A dependency (Redis, MySQL, the queue) failed; nothing was changed. */
export class Unavailable extends HttpError {
  constructor(errMsg: string) {
    super(503, errMsg, {}, { 'Retry-After': '1' });
  }
}

/** The process is at capacity (e.g. password hashing): a fast, honest refusal instead of a timeout. */
export class ServerBusy extends HttpError {
  constructor(extra?: ExtraBody) {
    super(503, 'Server busy. Retry shortly.', extra, { 'Retry-After': '1' });
  }
}

/** The message of an unknown error, for logs only: never sent to a client. */
export function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/**
 * Which dependency an unexpected error came from, if any: lets the error middleware answer a
 * clear 503 for an outage and keep 500 for bugs.
 */
export function failedDependency(e: unknown): 'cache' | 'database' | 'queue' | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const err = e as { name?: unknown; code?: unknown; message?: unknown; $metadata?: unknown; sqlMessage?: unknown };
  if (
    err.$metadata !== undefined ||
    err.name === 'TimeoutError' ||
    err.name === 'RequestTimeout' ||
    err.name === 'QueueSendError'
  ) {
    return 'queue';
  }
  if (err.sqlMessage !== undefined || (typeof err.code === 'string' && err.code.startsWith('PROTOCOL_'))) {
    return 'database';
  }
  const message = typeof err.message === 'string' ? err.message : '';
  if (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|Stream isn't writeable|NOSCRIPT|LOADING|CLUSTERDOWN/.test(message)
  ) {
    return 'cache';
  }
  if (typeof err.code === 'string' && NETWORK_CODES.has(err.code)) return 'database';
  return undefined;
}
