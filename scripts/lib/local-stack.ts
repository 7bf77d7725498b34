/**
 * What a local run (`npm run dev`, `npm start`) needs besides the handlers and the stores of
 * stack.ts: Redis and MySQL reachable (started with docker compose when they are not and Docker is
 * there), its messages, and the exit code of a start that cannot go on.
 */
import { spawnSync } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { createRedis, type RedisClient } from '../../lib/clients/redis';
import { type Config, ConfigError, readConfig } from '../../lib/config';
import { logger } from '../../lib/logger';
import { type Env, prepareStores, primaries, type Stores } from './stack';

/** The runners' own lines go through the one logger, as JSON lines like everything else the process writes. */
export const log = (line: string) => logger.info(line);

function configOrExit(env: Env): Config {
  try {
    return readConfig(env);
  } catch (e: unknown) {
    if (e instanceof ConfigError) {
      logger.error(`configuration error: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * Whether Redis answers the client the handlers use (lib/clients/redis.ts): the same TLS,
 * credentials and, in cluster mode, every node the cluster client discovers, not just a seed.
 */
export async function redisReachable(settings: Config['redis']): Promise<boolean> {
  let r: RedisClient | undefined;
  try {
    r = createRedis(settings.url, settings.cluster, { ...settings, commandTimeoutMs: 1500 });
    const client = r;
    // On a cluster, every primary must answer (each is reached with the client's own options).
    const nodes = await primaries(client);
    await Promise.all(nodes.map((n) => n.ping()));
    return true;
  } catch {
    return false;
  } finally {
    r?.disconnect();
  }
}

async function mysqlReachable(c: Config['mysql']): Promise<boolean> {
  try {
    const conn = await createConnection({
      host: c.host,
      port: c.port,
      user: c.user,
      password: c.password,
      connectTimeout: 1500,
    });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

function dockerEngineRunning(): boolean {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** Makes sure Redis and MySQL answer; brings them up with docker compose if it can; else exits. */
async function requireServices(env: Env): Promise<Config> {
  let cfg = configOrExit(env);
  const missing = async () => {
    const out: string[] = [];
    if (!(await redisReachable(cfg.redis))) out.push(`Redis at ${cfg.redis.url}`);
    if (!(await mysqlReachable(cfg.mysql))) out.push(`MySQL at ${cfg.mysql.host}:${cfg.mysql.port}`);
    return out;
  };
  let down = await missing();
  if (down.length === 0) return cfg;

  if (dockerEngineRunning()) {
    log(`not reachable: ${down.join(', ')}; starting them with docker compose`);
    const up = spawnSync('docker', ['compose', 'up', '-d', '--wait', 'redis', 'mysql', 'localstack'], {
      stdio: 'inherit',
    });
    if (up.status === 0) {
      // The compose file's MySQL has a password and LocalStack serves SQS on 4566.
      env.MYSQL_PASSWORD ??= 'seckill';
      env.SQS_ENDPOINT ??= 'http://127.0.0.1:4566';
      cfg = configOrExit(env);
      down = await missing();
      if (down.length === 0) return cfg;
    }
  }
  logger.error(`cannot reach ${down.join(' and ')}: start them, then run this command again`, {
    withDocker: 'docker compose up -d (Redis 7, MySQL 8 and LocalStack, see docker-compose.yml)',
    withoutDocker:
      'redis-server --daemonize yes --port 6379 --save "" --appendonly no, and a MySQL 8 or MariaDB server on 127.0.0.1:3306',
    settings: 'REDIS_URL, MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD',
  });
  process.exit(1);
}

/**
 * The environment of a local run: the stage defaults to `local`. Secrets are not filled in here:
 * lib/config.ts gives `local` and `test` their development values, and any other stage must set them.
 */
function localEnv(env: Env): Env {
  return { ...env, STAGE: env.STAGE ?? 'local' };
}

/**
 * Everything a local run needs before it serves: Redis and MySQL reachable, then the stores
 * prepared (stack.ts): the queue ready (LocalStack's, a configured one, or the embedded emulator),
 * the schema migrated. The run's environment is this process's too, so that its own consumer and
 * sweeper read the same settings as the handlers; the stores' `env` is what child processes get.
 */
export async function prepareLocalRun(): Promise<Stores> {
  const env = localEnv({ ...process.env });
  await requireServices(env);
  const embedded = !env.SQS_ENDPOINT && !env.QUEUE_URL;
  if (!embedded) log(`SQS ${env.QUEUE_URL ?? env.SQS_ENDPOINT}`);
  try {
    const stores = await prepareStores(env, { embeddedQueue: true, configuredQueue: true, log });
    if (embedded && !['local', 'test'].includes(stores.cfg.stage)) {
      log('warning: the embedded emulator keeps messages in memory; set SQS_ENDPOINT or QUEUE_URL for a durable queue');
    }
    Object.assign(process.env, stores.env);
    return stores;
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    if (e instanceof ConfigError) logger.error(`configuration error: ${message}`);
    else logger.error(message);
    process.exit(e instanceof ConfigError ? 2 : 1);
  }
}
