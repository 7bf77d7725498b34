/** The password-hashing and login-cache settings of lib/config.ts. */
import { availableParallelism } from 'node:os';
import { ConfigError, readConfig } from '../../lib/config';

test('defaults: argon2id at OWASP parameters, lanes that fit the thread pool and the cores, a 10-minute login cache', () => {
  const { auth } = readConfig({});
  expect(auth.passwordHash).toEqual({ algorithm: 'argon2id', memoryKiB: 19_456, timeCost: 2, parallelism: 1 });
  // One process per core by default (npm start): one lane each; never more than the pool minus one.
  expect(auth.hashConcurrency).toBe(1);
  expect(auth.hashQueue).toBe(100);
  expect(auth.hashMaxWaitMs).toBe(250);
  expect(auth.loginCacheTtlSeconds).toBe(600);
  expect(auth.loginCacheKey).toBeUndefined();
});

test('the lanes leave one thread of the pool free and share the cores among the server processes', () => {
  expect(readConfig({ SERVER_WORKERS: '1', UV_THREADPOOL_SIZE: '2' }).auth.hashConcurrency).toBe(1);
  expect(readConfig({ SERVER_WORKERS: '1', UV_THREADPOOL_SIZE: '64' }).auth.hashConcurrency).toBe(
    Math.max(1, availableParallelism()),
  );
  expect(readConfig({ PASSWORD_HASH_CONCURRENCY: '7' }).auth.hashConcurrency).toBe(7);
});

test('explicit values are read and typed', () => {
  const { auth } = readConfig({
    PASSWORD_HASH: 'scrypt',
    SCRYPT_LOG_N: '16',
    PASSWORD_HASH_QUEUE: '5',
    PASSWORD_HASH_MAX_WAIT_MS: '250',
    LOGIN_CACHE_TTL_SECONDS: '0',
    LOGIN_CACHE_KEY: 'k'.repeat(32),
  });
  expect(auth.passwordHash).toEqual({ algorithm: 'scrypt', logN: 16 });
  expect(auth).toMatchObject({ hashQueue: 5, hashMaxWaitMs: 250, loginCacheTtlSeconds: 0 });
  expect(new TextDecoder().decode(auth.loginCacheKey)).toBe('k'.repeat(32));
  expect(readConfig({ ARGON2_MEMORY_KIB: '65536', ARGON2_TIME_COST: '3' }).auth.passwordHash).toEqual({
    algorithm: 'argon2id',
    memoryKiB: 65_536,
    timeCost: 3,
    parallelism: 1,
  });
});

test.each([
  ['PASSWORD_HASH', 'md5', /PASSWORD_HASH must be argon2id or scrypt/],
  ['LOGIN_CACHE_KEY', 'short', /LOGIN_CACHE_KEY must be at least 32 characters/],
  ['LOGIN_CACHE_TTL_SECONDS', '-1', /LOGIN_CACHE_TTL_SECONDS must be between/],
  ['PASSWORD_HASH_CONCURRENCY', '0', /PASSWORD_HASH_CONCURRENCY must be between/],
  ['PASSWORD_HASH_MAX_WAIT_MS', 'soon', /PASSWORD_HASH_MAX_WAIT_MS must be an integer/],
  ['ARGON2_MEMORY_KIB', '512', /ARGON2_MEMORY_KIB must be between/],
])('%s=%s is refused with a message naming it', (name, value, message) => {
  expect(() => readConfig({ [name]: value })).toThrow(ConfigError);
  expect(() => readConfig({ [name]: value })).toThrow(message);
});

test("the wait for a hash lane must fit in the login handler's time budget", () => {
  expect(() => readConfig({ PASSWORD_HASH_MAX_WAIT_MS: '3000' })).toThrow(
    /PASSWORD_HASH_MAX_WAIT_MS \(3000\) \+ 2 x REDIS_COMMAND_TIMEOUT_MS \+ 300 ms must stay within half of HANDLER_TIMEOUT_MS \(8000\)/,
  );
  expect(readConfig({ PASSWORD_HASH_MAX_WAIT_MS: '3000', HANDLER_TIMEOUT_MS: '12000' }).auth.hashMaxWaitMs).toBe(3000);
});
