/**
 * One Redis client per container, created on first use and reused across invocations. The Lua
 * scripts are registered here with `defineCommand` (EVALSHA, falling back to EVAL after NOSCRIPT).
 *
 * `REDIS_URL` holds one URL, or (cluster mode) several comma-separated seed nodes. `rediss://` means
 * TLS and `user:password@` an ACL user; both apply to every node a cluster client discovers, not
 * only to the seeds (ioredis's `Cluster` carries neither from a URL by itself).
 */
import { promises as dns, type LookupAddress, type LookupOptions, lookup as threadPoolLookup } from 'node:dns';
import { readFileSync } from 'node:fs';
import { createConnection, isIP } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import Redis, { AbstractConnector, Cluster, type ClusterOptions, type RedisOptions, type Result } from 'ioredis';
import addStats from '../../lua/add-stats.lua';
import claimGrab from '../../lua/claim-grab.lua';
import compareAndDelete from '../../lua/compare-and-delete.lua';
import compareAndExpire from '../../lua/compare-and-expire.lua';
import controlCoupon from '../../lua/control-coupon.lua';
import couponStats from '../../lua/coupon-stats.lua';
import grabCoupon from '../../lua/grab-coupon.lua';
import loadCoupon from '../../lua/load-coupon.lua';
import loginThrottle from '../../lua/login-throttle.lua';
import releaseGrab from '../../lua/release-grab.lua';
import sessionCheck from '../../lua/session-check.lua';
import { type Config, config } from '../config';

export const SCRIPTS = {
  grabCoupon: { numberOfKeys: 7, lua: grabCoupon },
  // Single node only: the grab and the caller's session check in one round trip.
  grabInSession: { numberOfKeys: 9, lua: `${sessionCheck}\n${grabCoupon}` },
  releaseGrab: { numberOfKeys: 5, lua: releaseGrab },
  loadCoupon: { numberOfKeys: 4, lua: loadCoupon },
  controlCoupon: { numberOfKeys: 1, lua: controlCoupon },
  couponStats: { numberOfKeys: 3, lua: couponStats },
  addStats: { numberOfKeys: 2, lua: addStats },
  loginThrottle: { numberOfKeys: 1, lua: loginThrottle },
  claimGrab: { numberOfKeys: 4, lua: claimGrab },
  compareAndDelete: { numberOfKeys: 1, lua: compareAndDelete },
  compareAndExpire: { numberOfKeys: 1, lua: compareAndExpire },
} as const;

/** The grab script's keys (one hash slot) and arguments: lua/grab-coupon.lua. */
type GrabKeys = [
  info: string,
  holders: string,
  outbox: string,
  stats: string,
  seconds: string,
  customerRate: string,
  addressRate: string,
];
type GrabArgv = [
  username: string,
  grabbedAt: number,
  requestId: string,
  customerPerSecond: number,
  customerBurst: number,
  addressPerSecond: number,
  addressBurst: number,
];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    grabCoupon(...args: [...GrabKeys, ...GrabArgv]): Result<[number, ...(string | number)[]], Context>;
    grabInSession(
      ...args: [...GrabKeys, warm: string, revoked: string, ...GrabArgv]
    ): Result<[number, ...(string | number)[]], Context>;
    releaseGrab(
      info: string,
      holders: string,
      outbox: string,
      released: string,
      stats: string,
      username: string,
      requestId: string,
      tombstoneSeconds: number,
    ): Result<number, Context>;
    loadCoupon(
      info: string,
      holders: string,
      outbox: string,
      stats: string,
      ...args: (string | number)[]
    ): Result<number, Context>;
    controlCoupon(
      info: string,
      action: string,
      add: number,
      force: string,
      maxAmount: number,
    ): Result<number[], Context>;
    couponStats(
      info: string,
      stats: string,
      seconds: string,
    ): Result<[] | [number, (string | null)[], string[], string[]], Context>;
    addStats(stats: string, seconds: string, outcome: string, ...pairs: number[]): Result<number, Context>;
    loginThrottle(key: string, mode: 'check' | 'fail', windowMs: number, limit: number): Result<number, Context>;
    claimGrab(
      info: string,
      holders: string,
      outbox: string,
      released: string,
      username: string,
      requestId: string,
      couponId: number,
    ): Result<[number, ...(string | number)[]], Context>;
    compareAndDelete(key: string, token: string): Result<number, Context>;
    compareAndExpire(key: string, token: string, ttlMs: number): Result<number, Context>;
  }
}

export type RedisClient = Redis | Cluster;

/** What `createRedis` needs besides the address (a `Config['redis']` will do). */
export type RedisSettings = Pick<Config['redis'], 'commandTimeoutMs' | 'tlsCaFile'>;

export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  db: number;
}

/**
 * The nodes of `REDIS_URL`: one URL, or several separated by commas (seed nodes of a cluster).
 * All of them must agree on TLS and credentials, which then apply to every node.
 */
export function parseRedisUrls(value: string): RedisEndpoint[] {
  const endpoints = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part): RedisEndpoint => {
      const u = new URL(part);
      if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
        throw new Error(`a Redis URL starts with redis:// or rediss://, got "${u.protocol}//"`);
      }
      const path = u.pathname.replace(/^\//, '');
      if (path !== '' && !/^\d+$/.test(path))
        throw new Error(`a Redis URL's path is a database number, got "/${path}"`);
      return {
        // URL keeps the brackets of an IPv6 literal.
        host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
        port: u.port === '' ? 6379 : Number(u.port),
        tls: u.protocol === 'rediss:',
        username: u.username === '' ? undefined : decodeURIComponent(u.username),
        password: u.password === '' ? undefined : decodeURIComponent(u.password),
        db: path === '' ? 0 : Number(path),
      };
    });
  const [first, ...others] = endpoints;
  if (!first) throw new Error('no Redis URL given');
  for (const e of others) {
    if (e.tls !== first.tls || e.username !== first.username || e.password !== first.password || e.db !== first.db) {
      throw new Error('the URLs of REDIS_URL must share their scheme, user, password and database');
    }
  }
  return endpoints;
}

/**
 * Host names resolved with `dns.resolve*` (c-ares, its own sockets), never with `dns.lookup`, which
 * runs on libuv's 4-thread pool: there a connection's lookup would queue behind password hashing
 * (scrypt), and a registration burst made reconnects time out. IP
 * literals need no lookup; `localhost` and names only /etc/hosts knows fall back to `dns.lookup`.
 */
export function resolveHost(
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  const answer = (address: string, family: number) =>
    options.all ? callback(null, [{ address, family }]) : callback(null, address, family);
  const literal = isIP(hostname);
  if (literal) {
    answer(hostname, literal);
    return;
  }
  if (hostname === 'localhost') {
    answer('127.0.0.1', 4);
    return;
  }
  const resolve = (family: 4 | 6) =>
    (family === 4 ? dns.resolve4(hostname) : dns.resolve6(hostname)).then(
      (a) => a[0],
      () => undefined,
    );
  const families: (4 | 6)[] = options.family === 6 ? [6] : options.family === 4 ? [4] : [4, 6];
  (async () => {
    for (const family of families) {
      const address = await resolve(family);
      if (address) return address;
    }
    return undefined;
  })().then((address) => {
    if (address) answer(address, isIP(address));
    else threadPoolLookup(hostname, options, callback as never);
  });
}

type ConnectorOptions = RedisOptions & { host?: string; port?: number; tls?: ConnectionOptions };

/**
 * ioredis's standalone connector, with host names resolved by `resolveHost` (its own connector
 * cannot be given a `lookup`). TLS checks the certificate against the host name, not the address.
 */
class ResolvingConnector extends AbstractConnector {
  private readonly options: ConnectorOptions;

  constructor(options: unknown) {
    const o = options as ConnectorOptions;
    super(o.disconnectTimeout ?? 2000);
    this.options = o;
  }

  connect(): ReturnType<AbstractConnector['connect']> {
    const { host = '127.0.0.1', port = 6379, tls } = this.options;
    this.connecting = true;
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        if (!this.connecting) {
          reject(new Error('Connection is closed.'));
          return;
        }
        try {
          const target = { host, port, lookup: resolveHost };
          this.stream = tls
            ? tlsConnect({ ...target, servername: isIP(host) ? undefined : host, ...tls })
            : createConnection(target);
        } catch (e: unknown) {
          reject(e);
          return;
        }
        this.stream.once('error', (err: Error) => {
          this.firstError = err;
        });
        resolve(this.stream);
      });
    });
  }
}

/** Delay between a cluster command's retries (node gone, CLUSTERDOWN, TRYAGAIN). */
const RETRY_DELAY_MS = 100;

let client: RedisClient | undefined;

export function createRedis(
  url = config().redis.url,
  cluster = config().redis.cluster,
  settings: RedisSettings = config().redis,
): RedisClient {
  const { commandTimeoutMs, tlsCaFile } = settings;
  const endpoints = parseRedisUrls(url);
  const [first] = endpoints as [RedisEndpoint];
  const tls: ConnectionOptions | undefined = first.tls
    ? { ...(tlsCaFile ? { ca: readFileSync(tlsCaFile) } : {}) }
    : undefined;
  const options: RedisOptions = {
    username: first.username,
    password: first.password,
    tls,
    Connector: ResolvingConnector,
    // CLIENT SETINFO waits for ioredis to read its package.json with fs, on the thread pool: a
    // new connection would queue behind password hashing after all. The name is only cosmetic.
    disableClientInfo: true,
    // Fail fast when Redis is away: a grab answers 503 instead of waiting for a reconnect. The
    // command timeout is part of every handler's time budget (lib/config.ts).
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(commandTimeoutMs, 500),
    commandTimeout: commandTimeoutMs,
  };
  let redis: RedisClient;
  if (cluster) {
    if (first.db !== 0) throw new Error('Redis Cluster has only database 0: drop the /n of REDIS_URL');
    redis = new Cluster(
      endpoints.map(({ host, port }) => ({ host, port })),
      clusterOptions(options, commandTimeoutMs),
    );
  } else {
    if (endpoints.length > 1) throw new Error('several URLs in REDIS_URL need REDIS_CLUSTER=true');
    redis = new Redis({
      ...options,
      host: first.host,
      port: first.port,
      db: first.db,
      // One node answers everything: batching concurrent commands into one write is safe here.
      enableAutoPipelining: true,
      retryStrategy: (times: number) => Math.min(times * 100, 1000),
    });
  }
  guardCommands(redis, commandTimeoutMs);
  // Connection errors surface on the commands that need Redis; keep the process alive meanwhile.
  redis.on('error', () => {});
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  return redis;
}

/**
 * How the cluster client rides out a failover or a slot migration. A command is retried after
 * MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a lost node for as long as its command timeout allows, and no
 * longer (see `guardCommands`): every retry happens inside the time budget lib/config.ts checks,
 * and enough redirections are allowed that the timeout, never the redirection count, ends a
 * command. Retrying a command that may have run is safe: the grab and release scripts recognise
 * their request id, and the other writes are idempotent.
 */
export function clusterOptions(redisOptions: RedisOptions, commandTimeoutMs: number): ClusterOptions {
  const delay = Math.min(RETRY_DELAY_MS, Math.max(10, Math.floor(commandTimeoutMs / 5)));
  return {
    redisOptions,
    // Node addresses are used as given: TLS checks certificates against host names (ElastiCache
    // announces names), and ResolvingConnector resolves them when it connects.
    dnsLookup: (address, callback) => callback(null, address),
    // Auto-pipelining on a cluster passes MOVED errors through during a failover (ioredis #2075)
    // and fails batches that straddle a slot migration.
    enableAutoPipelining: false,
    enableOfflineQueue: true,
    scaleReads: 'master',
    retryDelayOnFailover: delay,
    retryDelayOnClusterDown: delay,
    retryDelayOnTryAgain: delay,
    // A migrated slot answers MOVED for good: retry at once (a short pause keeps two nodes that
    // disagree for a moment from bouncing a command back and forth).
    retryDelayOnMoved: 10,
    // Each retry after a lost node may take two redirections (MOVED to it, then its closed connection).
    maxRedirections: 2 * Math.ceil(commandTimeoutMs / delay) + 4,
    slotsRefreshTimeout: Math.min(commandTimeoutMs, 1000),
    slotsRefreshInterval: 5000,
    clusterRetryStrategy: (times: number) => Math.min(times * delay, 1000),
  };
}

type Sendable = { setTimeout(ms: number): void; promise: Promise<unknown> };
type SendCommand = (command: Sendable, ...rest: unknown[]) => unknown;

/**
 * Two guards on when commands reach Redis.
 * - ioredis starts a command's timeout when the command is written to a node. A cluster command can
 *   wait before that (offline queue while the cluster reconnects, delay queues between retries), so
 *   its timer starts when it is issued instead. Command#setTimeout arms once: the node's own
 *   `commandTimeout` does not extend it, and every retry stays within it.
 * - A command whose caller already had its answer (it timed out) is never written afterwards:
 *   ioredis would still send it from an offline or retry queue, and a grab script run after its
 *   request answered 503 (and released it) would take a coupon nobody gets.
 */
function guardCommands(client: RedisClient, commandTimeoutMs: number): void {
  const settled = new WeakSet<Sendable>();
  const guardNode = (node: Redis) => {
    const send = node.sendCommand.bind(node) as unknown as SendCommand;
    node.sendCommand = ((command: Sendable, ...rest: unknown[]) =>
      settled.has(command) ? command.promise : send(command, ...rest)) as unknown as Redis['sendCommand'];
  };
  const send = client.sendCommand.bind(client) as unknown as SendCommand;
  client.sendCommand = ((command: Sendable, ...rest: unknown[]) => {
    if (settled.has(command)) return command.promise;
    command.setTimeout(commandTimeoutMs);
    const done = () => settled.add(command);
    command.promise.then(done, done);
    return send(command, ...rest);
  }) as unknown as RedisClient['sendCommand'];
  if (client instanceof Cluster) client.on('+node', guardNode);
}

export function redis(): RedisClient {
  client ??= createRedis();
  return client;
}

export async function closeRedis(): Promise<void> {
  const current = client;
  client = undefined;
  if (current) await current.quit().catch(() => current.disconnect());
}
