import { ReplyError } from 'ioredis';
import MaxRetriesPerRequestError from 'ioredis/built/errors/MaxRetriesPerRequestError';
import {
  BadRequest,
  DependencyError,
  describe as describeError,
  failedDependency,
  HttpError,
  isCacheFailure,
  isDatabaseFailure,
  PayloadTooLarge,
  Unauthorized,
  Unavailable,
} from '../../lib/errors';
import { guard } from '../../lib/stores/guard';

/** An Error with extra own properties, as the client libraries throw them. */
function errorWith(fields: Record<string, unknown>, message = 'boom'): Error {
  return Object.assign(new Error(message), fields);
}

describe('failedDependency', () => {
  test.each([
    ['cache', new DependencyError('cache', new Error('x'))],
    ['database', new DependencyError('database', new Error('x'))],
    ['queue', new DependencyError('queue', new Error('x'))],
  ])('a DependencyError names its dependency (%s) by instanceof, whatever the class is called', (name, e) => {
    expect(failedDependency(e)).toBe(name);
  });

  test.each([
    ['an AWS SDK error ($metadata)', errorWith({ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } })],
  ])('the queue, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('queue');
  });

  test.each([
    ['a MySQL server error (sqlMessage)', errorWith({ code: 'ER_LOCK_DEADLOCK', sqlMessage: 'Deadlock found' })],
    ['a lost MySQL connection', errorWith({ code: 'PROTOCOL_CONNECTION_LOST' })],
    ['a fatal MySQL error', errorWith({ code: 'ECONNREFUSED', fatal: true })],
  ])('the database, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('database');
  });

  test.each([
    ['ioredis giving up retries', new MaxRetriesPerRequestError(1)],
    ['a closed connection', new Error('Connection is closed.')],
    ['a command timeout', new Error('Command timed out')],
    ['an unwriteable stream', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a loading replica', new ReplyError('LOADING Redis is loading the dataset in memory')],
    ['a cluster outage', new ReplyError('CLUSTERDOWN The cluster is down')],
    ['a redirection', new ReplyError('MOVED 3999 127.0.0.1:6381')],
  ])('the cache, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('cache');
  });

  test.each([
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is undefined')],
    ['an HttpError', new BadRequest('Invalid user name.')],
    ['an unknown code', errorWith({ code: 'ERR_SOMETHING' })],
    ['a numeric code', errorWith({ code: 503 })],
    // Classes are renamed by minification: a name is never a signal.
    ['an error merely named like a timeout', errorWith({ name: 'TimeoutError' })],
    ['an error merely named like ioredis giving up', errorWith({ name: 'MaxRetriesPerRequestError' })],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'ECONNREFUSED'],
    ['a number', 42],
  ])('nothing, for %s (a bug stays a 500)', (_label, e) => {
    expect(failedDependency(e)).toBeUndefined();
  });

  test('works on plain objects too, not only Error instances', () => {
    expect(failedDependency({ sqlMessage: 'x' })).toBe('database');
    expect(failedDependency({ $metadata: {} })).toBe('queue');
    expect(failedDependency({ message: 'Connection is closed.' })).toBe('cache');
  });
});

describe('what the stores count as an outage of their dependency', () => {
  test.each([
    [new MaxRetriesPerRequestError(1), true],
    [new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'), true],
    [new ReplyError('ASK 3999 127.0.0.1:6381'), true],
    [new ReplyError('READONLY You cannot write against a read only replica.'), true],
    [errorWith({ code: 'ECONNREFUSED' }, 'connect ECONNREFUSED 127.0.0.1:6379'), true],
    [new Error('None of startup nodes is available'), true],
    [new ReplyError('ERR Error running script (call to f_1234): bad argument'), false],
    [new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'), false],
    [new TypeError('x is undefined'), false],
  ])('cache: %s -> %s', (e, expected) => {
    expect(isCacheFailure(e)).toBe(expected);
  });

  test.each([
    [errorWith({ code: 'ECONNREFUSED', fatal: true }), true],
    [errorWith({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), true],
    [errorWith({ code: 'ETIMEDOUT' }), true],
    [errorWith({ code: 'ER_LOCK_WAIT_TIMEOUT', sqlMessage: 'Lock wait timeout exceeded' }), true],
    [errorWith({ code: 'ER_CON_COUNT_ERROR', sqlMessage: 'Too many connections' }), true],
    [errorWith({ code: 'ER_PARSE_ERROR', sqlMessage: 'You have an error in your SQL syntax' }), false],
    [errorWith({ code: 'ER_NO_SUCH_TABLE', sqlMessage: "Table 'x' doesn't exist" }), false],
    [new TypeError('x is undefined'), false],
  ])('database: %s -> %s', (e, expected) => {
    expect(isDatabaseFailure(e)).toBe(expected);
  });

  test('a guarded store wraps outages in DependencyError and lets bugs through', async () => {
    const store = {
      down: async () => {
        throw new MaxRetriesPerRequestError(1);
      },
      bug: async () => {
        throw new TypeError('x is undefined');
      },
      fine: async () => 7,
    };
    const guarded = guard(store, 'cache', isCacheFailure);
    await expect(guarded.fine()).resolves.toBe(7);
    const down = await guarded.down().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DependencyError);
    expect((down as DependencyError).dependency).toBe('cache');
    expect((down as DependencyError).cause).toBeInstanceOf(MaxRetriesPerRequestError);
    await expect(guarded.bug()).rejects.toBeInstanceOf(TypeError);
  });
});

describe('typed errors', () => {
  test('carry the status and errMsg of the contract', () => {
    const cases: [HttpError, number, string][] = [
      [new BadRequest('Invalid user name.'), 400, 'Invalid user name.'],
      [new Unauthorized(), 401, 'Not Authorized.'],
      [new Unauthorized('Only sellers can create coupons.'), 401, 'Only sellers can create coupons.'],
      [new PayloadTooLarge(), 413, 'Request body too large.'],
      [new Unavailable('down'), 503, 'down'],
    ];
    for (const [e, status, errMsg] of cases) {
      expect(e).toBeInstanceOf(HttpError);
      expect(e).toBeInstanceOf(Error);
      expect(e.status).toBe(status);
      expect(e.errMsg).toBe(errMsg);
      expect(e.message).toBe(errMsg);
    }
  });

  test('extra body keys and headers travel with the error', () => {
    expect(new Unauthorized('Cannot check other customer.', { data: [] }).extra).toEqual({ data: [] });
    expect(new BadRequest('x').extra).toEqual({});
    expect(new Unavailable('down').headers).toEqual({ 'Retry-After': '1' });
  });

  test('describe names an error for logs and stringifies anything else', () => {
    expect(describeError(new TypeError('bad'))).toBe('bad');
    expect(describeError(errorWith({ code: 'ECONNREFUSED' }, 'connect refused'))).toBe('ECONNREFUSED: connect refused');
    expect(describeError('text')).toBe('text');
    expect(describeError(7)).toBe('7');
  });
});
