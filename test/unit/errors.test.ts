import {
  BadRequest,
  describe as describeError,
  failedDependency,
  HttpError,
  PayloadTooLarge,
  Unauthorized,
  Unavailable,
} from '../../lib/errors';

/** An Error with extra own properties, as the client libraries throw them. */
function errorWith(fields: Record<string, unknown>, message = 'boom'): Error {
  return Object.assign(new Error(message), fields);
}

describe('failedDependency', () => {
  test.each([
    ['an AWS SDK error ($metadata)', errorWith({ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } })],
    ['an SDK timeout', errorWith({ name: 'TimeoutError' })],
    ['a request timeout', errorWith({ name: 'RequestTimeout' })],
  ])('the queue, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('queue');
  });

  test.each([
    ['a MySQL server error (sqlMessage)', errorWith({ code: 'ER_LOCK_DEADLOCK', sqlMessage: 'Deadlock found' })],
    ['a lost MySQL connection', errorWith({ code: 'PROTOCOL_CONNECTION_LOST' })],
    ['a MySQL protocol sequence error', errorWith({ code: 'PROTOCOL_SEQUENCE_TIMEOUT' })],
    ['a refused connection', errorWith({ code: 'ECONNREFUSED' })],
    ['a reset connection', errorWith({ code: 'ECONNRESET' })],
    ['a connect timeout', errorWith({ code: 'ETIMEDOUT' })],
    ['an unknown host', errorWith({ code: 'ENOTFOUND' })],
  ])('the database, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('database');
  });

  test.each([
    ['ioredis giving up retries', errorWith({ name: 'MaxRetriesPerRequestError' })],
    ['a closed connection', new Error('Connection is closed.')],
    ['a command timeout', new Error('Command timed out')],
    ['an unwriteable stream', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a missing script', new Error('NOSCRIPT No matching script. Please use EVAL.')],
    ['a loading replica', new Error('LOADING Redis is loading the dataset in memory')],
    ['a cluster outage', new Error('CLUSTERDOWN The cluster is down')],
  ])('the cache, for %s', (_label, e) => {
    expect(failedDependency(e)).toBe('cache');
  });

  test.each([
    ['a plain Error', new Error('bug')],
    ['a TypeError', new TypeError('x is undefined')],
    ['an HttpError', new BadRequest('Invalid user name.')],
    ['an unknown code', errorWith({ code: 'ERR_SOMETHING' })],
    ['a numeric code', errorWith({ code: 503 })],
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
    expect(describeError(new TypeError('bad'))).toBe('TypeError: bad');
    expect(describeError('text')).toBe('text');
    expect(describeError(7)).toBe('7');
  });
});
