/**
 * What a local run needs besides the handlers: Redis and MySQL reachable (started with docker
 * compose when they are not and Docker is there), a queue (LocalStack when SQS_ENDPOINT is set, else
 * the embedded emulator), the queues created, and the schema migrated.
 */
import { spawnSync } from 'node:child_process';
import { SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { type Config, ConfigError, readConfig } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { logger } from '../../lib/logger';
import { ensureQueues } from '../queue/setup';

export type Env = Record<string, string | undefined>;

/** The runners' own lines go through the one logger, as JSON lines like everything else the process writes. */
export const log = (line: string) => logger.info(line);

export function configOrExit(env: Env): Config {
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

async function redisReachable(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
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
export async function requireServices(env: Env): Promise<Config> {
  let cfg = configOrExit(env);
  const missing = async () => {
    const out: string[] = [];
    if (!(await redisReachable(cfg.redis.url))) out.push(`Redis at ${cfg.redis.url}`);
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
 * The embedded SQS emulator (fauxqs), on 127.0.0.1 only: it has no authentication, and anyone who
 * reaches it can read, delete and inject purchase messages. (`startFauxqs` always binds 0.0.0.0;
 * its `host` option only names the host in queue URLs, so the app is built and bound here.)
 */
export async function startEmbeddedQueue(port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the emulator has no address');
  return { url: `http://${address.address}:${address.port}`, stop: () => app.close() };
}

export interface LocalQueue {
  env: Env;
  cfg: Config;
  client: SQSClient;
  dlqUrl: string;
  stop(): Promise<void>;
}

/**
 * Uses the SQS endpoint of the configuration, or starts the embedded emulator; creates the queue
 * and its DLQ; returns the environment the handlers must run with.
 */
export async function startQueue(env: Env): Promise<LocalQueue> {
  let stop = async () => {};
  if (!env.SQS_ENDPOINT && !env.QUEUE_URL) {
    const port = configOrExit(env).local.queuePort;
    const emulator = await startEmbeddedQueue(port).catch((e: unknown) => {
      const inUse = e instanceof Error && 'code' in e && e.code === 'EADDRINUSE';
      logger.error(
        inUse
          ? `port ${port} for the embedded SQS emulator is in use (another npm run dev?). Stop it, or set QUEUE_PORT.`
          : `the embedded SQS emulator did not start: ${String(e)}`,
      );
      process.exit(1);
    });
    env.SQS_ENDPOINT = emulator.url;
    stop = emulator.stop;
    log(`embedded SQS emulator listening on ${emulator.url} (loopback only)`);
    if (!['local', 'test'].includes(env.STAGE ?? 'local')) {
      log('warning: the embedded emulator keeps messages in memory; set SQS_ENDPOINT or QUEUE_URL for a durable queue');
    }
  } else {
    log(`SQS ${env.QUEUE_URL ?? env.SQS_ENDPOINT}`);
  }
  // QUEUE_URL is derived from the endpoint until the real one is known.
  const { QUEUE_URL: given, ...withoutUrl } = env;
  const draft = configOrExit(withoutUrl);
  const client = new SQSClient({
    region: draft.sqs.region,
    endpoint: draft.sqs.endpoint,
    credentials: draft.sqs.credentials,
  });
  // A configured QUEUE_URL names a queue that exists already (LocalStack's init hook made it).
  const { queueUrl, dlqUrl } = given
    ? { queueUrl: given, dlqUrl: '' }
    : await ensureQueues(client, {
        queueName: draft.sqs.queueName,
        dlqName: draft.sqs.dlqName,
        visibilityTimeoutSeconds: draft.local.visibilityTimeoutSeconds,
        maxReceiveCount: draft.local.maxReceiveCount,
      });
  env.QUEUE_URL = queueUrl;
  if (dlqUrl) env.DLQ_URL ??= dlqUrl;
  return {
    env,
    cfg: configOrExit(env),
    client,
    dlqUrl,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}

export async function migrateOrExit(cfg: Config): Promise<void> {
  try {
    await migrate(cfg.mysql, (line) => log(line));
  } catch (e: unknown) {
    logger.error(`migration failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

/**
 * The environment of a local run: the stage defaults to `local`. Secrets are not filled in here:
 * lib/config.ts gives `local` and `test` their development values, and any other stage must set them.
 */
export function localEnv(env: Env): Env {
  return { ...env, STAGE: env.STAGE ?? 'local' };
}

/**
 * Everything a local run needs before it serves: Redis and MySQL reachable, the queue ready, the
 * schema migrated. Returns the queue, whose `env` the handlers must run with.
 */
export async function prepareLocalRun(): Promise<LocalQueue> {
  const env = localEnv({ ...process.env });
  await requireServices(env);
  const queue = await startQueue(env);
  await migrateOrExit(queue.cfg);
  return queue;
}
