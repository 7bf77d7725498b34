/**
 * What one login costs in process, against real Redis and MySQL: the slow path (MySQL read, one
 * password verification, the login cache written, a token signed) and the cached path (one Redis
 * round trip, an HMAC, a token signed), one login at a time and with 50 in flight.
 *
 *   node scripts/run.mjs scripts/bench/login-path.ts [--logins=300]
 *
 * It uses stores of its own on the configured servers, Redis database 14 and the MySQL database
 * `<MYSQL_DATABASE>_bench_login`, which it empties first (it refuses the configured ones, as the
 * bench does).
 */
import { cpus } from 'node:os';
import { login, register } from '../../lib/accounts';
import { RedisLoginCache } from '../../lib/auth/login-cache';
import { mysql } from '../../lib/clients/mysql';
import { redis } from '../../lib/clients/redis';
import { config } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { ServerBusy } from '../../lib/errors';
import { closeServices, services } from '../../lib/services';
import { benchStores } from './stack';

const logins = Number(/--logins=(\d+)/.exec(process.argv.join(' '))?.[1] ?? 300);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function measure(label: string, inFlight: number, once: (i: number) => Promise<unknown>) {
  const times: number[] = [];
  let busy = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < logins) {
        const i = next++;
        const started = performance.now();
        try {
          await once(i);
          times.push(performance.now() - started);
        } catch (e: unknown) {
          if (!(e instanceof ServerBusy)) throw e;
          busy++;
        }
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const row = {
    path: label,
    inFlight,
    perSecond: Math.round(((logins - busy) * 1000) / wall),
    busy503: busy,
    p50Ms: Number(percentile(times, 50).toFixed(2)),
    p99Ms: Number(percentile(times, 99).toFixed(2)),
    cpuMsEach: Number(((cpu.user + cpu.system) / 1000 / logins).toFixed(2)),
  };
  console.log(JSON.stringify(row));
  return row;
}

async function main() {
  const env = config();
  console.log(
    `${cpus()[0]?.model}, ${cpus().length} cores, Node ${process.version}; ${logins} logins per run; hash ${JSON.stringify(env.auth.passwordHash)}, ${env.auth.hashConcurrency} lane(s)`,
  );
  await migrate(config().mysql);
  await mysql().query('DELETE FROM users');
  await redis().flushdb();
  const s = services();
  const users = Array.from({ length: 50 }, (_, i) => `bench_login_${i}`);
  for (const username of users) await register(s, { username, password: 'secret123', kind: 'customer' });
  const { auth } = config();
  const off = new RedisLoginCache(redis(), auth.jwtSecret, 0);
  const on = new RedisLoginCache(redis(), auth.jwtSecret, 600);
  const as = (i: number) => ({ username: users[i % users.length] as string, password: 'secret123' });

  for (const inFlight of [1, 50]) {
    await measure('slow (cache off)', inFlight, (i) => login(s, as(i), '', off));
    for (const u of users) await login(s, { username: u, password: 'secret123' }, '', on); // fill the cache
    await measure('cached', inFlight, (i) => login(s, as(i), '', on));
  }
  await closeServices();
}

const stores = benchStores(14, undefined, 'bench_login');
process.env.REDIS_URL = stores.redisUrl;
process.env.MYSQL_DATABASE = stores.database;
main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
