import { clusterOptions, parseRedisUrls } from '../../lib/clients/redis';
import { readConfig } from '../../lib/config';

describe('REDIS_URL', () => {
  test('one URL: TLS from rediss://, credentials (URL-decoded), database, default port', () => {
    expect(parseRedisUrls('rediss://app:p%40ss@cache.example')).toEqual([
      { host: 'cache.example', port: 6379, tls: true, username: 'app', password: 'p@ss', db: 0 },
    ]);
    expect(parseRedisUrls('redis://127.0.0.1:6380/4')).toEqual([
      { host: '127.0.0.1', port: 6380, tls: false, username: undefined, password: undefined, db: 4 },
    ]);
    expect(parseRedisUrls('redis://:only-password@[::1]:7000')[0]).toMatchObject({
      host: '::1',
      port: 7000,
      username: undefined,
      password: 'only-password',
    });
  });

  test('several seed nodes, comma-separated, sharing scheme and credentials', () => {
    const nodes = parseRedisUrls('rediss://app:pw@a.example:6379, rediss://app:pw@b.example:6380');
    expect(nodes.map((n) => `${n.host}:${n.port}`)).toEqual(['a.example:6379', 'b.example:6380']);
    expect(() => parseRedisUrls('rediss://app:pw@a.example,redis://app:pw@b.example')).toThrow(/share/);
    expect(() => parseRedisUrls('rediss://app:pw@a.example,rediss://app:other@b.example')).toThrow(/share/);
  });

  test('REDIS_TLS_CA_FILE must name a file that exists', () => {
    expect(() => readConfig({ REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/REDIS_TLS_CA_FILE/);
    expect(readConfig({ REDIS_TLS_CA_FILE: __filename }).redis.tlsCaFile).toBe(__filename);
  });

  test('config refuses other schemes, and several nodes without cluster mode', () => {
    expect(() => readConfig({ REDIS_URL: 'http://cache.example' })).toThrow(/REDIS_URL/);
    expect(() => readConfig({ REDIS_URL: 'redis://a:1,redis://b:2' })).toThrow(/REDIS_CLUSTER=true/);
    expect(readConfig({ REDIS_URL: 'redis://a:1,redis://b:2', REDIS_CLUSTER: 'true' }).redis.url).toBe(
      'redis://a:1,redis://b:2',
    );
  });
});

describe('cluster retries fit the command timeout', () => {
  test.each([50, 500, 1000, 10_000])(
    'REDIS_COMMAND_TIMEOUT_MS %i: retries last the whole timeout, not longer',
    (ms) => {
      const o = clusterOptions({}, ms);
      const delay = Number(o.retryDelayOnFailover);
      expect(delay).toBeGreaterThan(0);
      expect(delay).toBeLessThanOrEqual(ms / 5 + 10);
      // A lost node costs up to two redirections per retry: the count never runs out before the timeout.
      expect(Number(o.maxRedirections)).toBeGreaterThanOrEqual((2 * ms) / delay);
      expect(o.enableAutoPipelining).toBe(false);
      expect(Number(o.slotsRefreshTimeout)).toBeLessThanOrEqual(ms);
      const lookup = o.dnsLookup as (a: string, cb: (e: Error | null, address: string) => void) => void;
      lookup('node.cache.example', (_e, address) => expect(address).toBe('node.cache.example'));
    },
  );
});
