/**
 * One Redis client per container, created on first use and reused across invocations. The Lua
 * scripts are registered here with `defineCommand` (EVALSHA, falling back to EVAL after NOSCRIPT).
 */
import Redis, { Cluster, type Result } from 'ioredis';
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
import { config } from '../config';

export const SCRIPTS = {
  grabCoupon: { numberOfKeys: 7, lua: grabCoupon },
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

declare module 'ioredis' {
  interface RedisCommander<Context> {
    grabCoupon(
      info: string,
      holders: string,
      outbox: string,
      stats: string,
      seconds: string,
      customerRate: string,
      addressRate: string,
      username: string,
      grabbedAt: number,
      requestId: string,
      customerPerSecond: number,
      customerBurst: number,
      addressPerSecond: number,
      addressBurst: number,
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

let client: RedisClient | undefined;

export function createRedis(url = config().redis.url, cluster = config().redis.cluster): RedisClient {
  const { commandTimeoutMs } = config().redis;
  const options = {
    // Fail fast when Redis is away: a grab answers 503 instead of waiting for a reconnect. The
    // command timeout is part of every handler's time budget (lib/config.ts).
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(commandTimeoutMs, 500),
    commandTimeout: commandTimeoutMs,
    enableAutoPipelining: true,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
  };
  const redis = cluster
    ? new Cluster([url], { redisOptions: options, enableAutoPipelining: true })
    : new Redis(url, options);
  // Connection errors surface on the commands that need Redis; keep the process alive meanwhile.
  redis.on('error', () => {});
  for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, script);
  return redis;
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
