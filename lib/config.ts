/**
 * The only place that reads `process.env`. Every variable is validated once, on first use, and a
 * missing or malformed value fails with a message that names the variable.
 * The README's configuration table lists the same variables.
 */

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { GrabLimits } from './stores/types';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Config {
  stage: string;
  /** In a Lambda container on AWS: one invocation at a time (serverless-offline sets IS_OFFLINE). */
  onLambda: boolean;
  logLevel: LogLevel;
  redis: {
    /** One URL, or comma-separated seed nodes of a cluster (lib/clients/redis.ts parses them). */
    url: string;
    cluster: boolean;
    /** PEM file of the CA that signed the nodes' certificates (private CA); Node's CAs otherwise. */
    tlsCaFile: string | undefined;
    /** Per-command timeout: a stalled Redis costs a request this much, not its whole budget. */
    commandTimeoutMs: number;
    /** Replicas that must acknowledge a grab's writes before it is answered 201 (WAIT); 0 = none. */
    waitReplicas: number;
    waitTimeoutMs: number;
  };
  mysql: {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
    /** Pool size per process; 2 on Lambda (one invocation at a time), 10 elsewhere. */
    connectionLimit: number;
    /** TLS to MySQL (RDS Proxy), certificates checked against Node's CA store. */
    tls: boolean;
  };
  sqs: {
    region: string;
    /** Custom endpoint (LocalStack, emulator); undefined on AWS. */
    endpoint: string | undefined;
    queueUrl: string;
    queueName: string;
    dlqName: string;
    /** The dead-letter queue: the consumer moves messages that can never succeed there at once. */
    dlqUrl: string;
    /** Per-attempt timeout of a send; a grab answers 503 rather than hang. */
    sendTimeoutMs: number;
    /** Attempts of one send (the SDK retries once). */
    sendAttempts: number;
    /** Placeholder keys for local endpoints when none are set; the default chain on AWS. */
    credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  };
  /**
   * SSM parameters (SecureString) holding secrets, read at container start by lib/secrets.ts, which
   * fills in `auth.jwtSecret` / `mysql.password`. Unset locally, where the plain values are used.
   */
  secrets: {
    jwtSecretParameter: string | undefined;
    mysqlPasswordParameter: string | undefined;
  };
  auth: {
    /** Throws a ConfigError naming the settings when neither JWT_SECRET nor JWT_SECRET_PARAMETER is set. */
    jwtSecret: Uint8Array;
    tokenTtlSeconds: number;
    scryptLogN: number;
    /** The slow hash new passwords get; a stored hash of another kind or a lower cost is replaced at the next login. */
    passwordHash: PasswordHashSetting;
    /** Hash computations one process runs at once (the rest wait in a short queue, then get 503 busy). */
    hashConcurrency: number;
    /** Most hash computations waiting for a lane; past it, 503 busy at once. */
    hashQueue: number;
    /** Longest wait for a lane; a computation that cannot start by then gets 503 busy. */
    hashMaxWaitMs: number;
    /** How long a verified username and password are remembered in Redis; 0 turns the login cache off. */
    loginCacheTtlSeconds: number;
    /** Key material of the login cache's MACs; undefined: derived from the JWT secret. */
    loginCacheKey: Uint8Array | undefined;
  };
  outbox: {
    /** An outbox entry older than this is re-sent by the sweeper. Must exceed the grab's longest send. */
    resendAfterMs: number;
  };
  /** Where the hot handlers get a cold cache rebuilt (lib/restore-cache.ts). */
  restore: {
    /** The `restoreCache` Lambda function; set by serverless.yml. */
    functionName: string | undefined;
    /** serverless-offline's Lambda endpoint in local runs; undefined on AWS. */
    lambdaEndpoint: string | undefined;
  };
  /** Settings of local runs (`npm run dev`, `npm start`, tests); unused on AWS. */
  local: {
    httpPort: number;
    lambdaPort: number;
    /** Port of the embedded SQS emulator. */
    queuePort: number;
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    consumerBatchSize: number;
    consumerBatchWindowMs: number;
    /** HTTP worker processes of `npm start`. */
    serverWorkers: number;
    /** `npm start`: one log line per request. */
    accessLog: boolean;
    /** `npm start`: a client must send all its headers within this time (slow clients). */
    headersTimeoutMs: number;
    /** `npm start`: a client must send its whole request within this time. */
    requestTimeoutMs: number;
  };
  /**
   * The time limit of an HTTP handler (the Lambda timeout of the HTTP functions). Every dependency
   * timeout is validated to fit inside it, so a handler always answers before the platform kills it.
   */
  handlerTimeoutMs: number;
  /** Operating a sale (api.md, "Fair access"; docs/ARCHITECTURE.md, "Operating a sale"). */
  sale: {
    /** How long a container answers `204 sold-out` from memory after seeing a coupon sold out; 0 = never. */
    soldOutMemoryMs: number;
    /** Grab rate limits; a rate of 0 means no limit (the default). */
    grabLimits: GrabLimits;
  };
  loginThrottle: {
    windowMs: number;
    /** Failed logins of one username within the window before its logins get 429. */
    perUsername: number;
    /** Failed logins from one (non-loopback) client address within the window before its logins get 429. */
    perAddress: number;
  };
  warmup: {
    /** How long a rebuild waits for in-flight grabs before it trusts the queue's counters. */
    graceMs: number;
    /** How long a rebuild may wait for the queue to drain. */
    drainTimeoutMs: number;
    lockTtlMs: number;
  };
}

export type PasswordHashSetting =
  | { algorithm: 'argon2id'; memoryKiB: number; timeCost: number; parallelism: number }
  | { algorithm: 'scrypt'; logN: number };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export const DEV_JWT_SECRET = 'seckill-local-development-secret-not-for-production';

function str(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`${name} is required but not set`);
}

/**
 * A secret: `local` and `test` fall back to its development value (MySQL: the empty password of a
 * local root), any other stage must set it, non-empty. No other code fills in a secret.
 */
function required(env: Env, name: string, stage: string, developmentValue: string): string {
  const value = env[name];
  // serverless.yml's `{{resolve:ssm:...}}` reaches a process unresolved outside CloudFormation
  // (serverless-offline): a string anyone can read in the source, never a secret.
  if (value?.startsWith('{{resolve:')) throw new ConfigError(`${name} is an unresolved reference: ${value}`);
  if (value !== undefined && value !== '') return value;
  if (stage === 'local' || stage === 'test') return developmentValue;
  throw new ConfigError(`${name} is required when STAGE is "${stage}" (only local and test have a development value)`);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback?: string): string {
  const value = str(env, name, fallback);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${value}"`);
  }
  return value;
}

/** The path of a file that must exist, or undefined when the variable is unset. */
function readableFile(env: Env, name: string): string | undefined {
  const path = env[name];
  if (path === undefined || path === '') return undefined;
  if (!existsSync(path)) throw new ConfigError(`${name} names a file that does not exist: "${path}"`);
  return path;
}

/** REDIS_URL: one `redis://` or `rediss://` URL, or (cluster mode) several separated by commas. */
function redisUrls(env: Env, cluster: boolean): string {
  const value = str(env, 'REDIS_URL', 'redis://127.0.0.1:6379');
  const parts = value.split(',').map((part) => part.trim());
  for (const part of parts) {
    let protocol = '';
    try {
      protocol = new URL(part).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new ConfigError(`REDIS_URL must be redis:// or rediss:// URLs separated by commas, got "${part}"`);
    }
  }
  if (parts.length > 1 && !cluster) {
    throw new ConfigError('REDIS_URL lists several nodes: that needs REDIS_CLUSTER=true');
  }
  return value;
}

/** Builds a config from an environment; exported for tests of the validation itself. */
export function readConfig(env: Env): Config {
  const stage = str(env, 'STAGE', 'local');
  const local = stage === 'local' || stage === 'test';
  const region = str(env, 'AWS_REGION', 'us-east-1');
  // Local stages default to the embedded emulator's address (see scripts/lib/stack.ts).
  const endpoint = env.SQS_ENDPOINT
    ? url(env, 'SQS_ENDPOINT')
    : local
      ? `http://127.0.0.1:${int(env, 'QUEUE_PORT', 9324, 1, 65535)}`
      : undefined;
  const queueName = str(env, 'QUEUE_NAME', 'seckill-purchases');
  const dlqName = str(env, 'DLQ_NAME', `${queueName}-dlq`);
  const queueUrl = env.QUEUE_URL
    ? url(env, 'QUEUE_URL')
    : endpoint
      ? `${endpoint.replace(/\/$/, '')}/000000000000/${queueName}`
      : '';
  if (!queueUrl) throw new ConfigError('QUEUE_URL is required when SQS_ENDPOINT is not set');

  const onLambda = Boolean(env.AWS_LAMBDA_FUNCTION_NAME) && !env.IS_OFFLINE;
  // A value given explicitly wins over an SSM parameter (a deployed stage run locally).
  const jwtSecretParameter = (!env.JWT_SECRET && env.JWT_SECRET_PARAMETER) || undefined;
  const mysqlPasswordParameter = (!env.MYSQL_PASSWORD && env.MYSQL_PASSWORD_PARAMETER) || undefined;
  // A deployed Lambda function reads its secrets from SSM at container start (the *_PARAMETER
  // settings), or does not use them at all: there a secret is required where it is first used.
  // Every other process (npm start, npm run dev, scripts) needs them at start, outside local/test.
  const deferred = (parameter: string | undefined) => parameter !== undefined || (onLambda && !local);
  const secret = deferred(jwtSecretParameter)
    ? required(env, 'JWT_SECRET', 'local', '')
    : required(env, 'JWT_SECRET', stage, DEV_JWT_SECRET);
  if (secret !== '' && secret.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters');
  let jwtSecret: Uint8Array | undefined = secret === '' ? undefined : new TextEncoder().encode(secret);
  // An empty password is a local database's; a deployed stage must say what it is.
  const mysqlPassword = deferred(mysqlPasswordParameter)
    ? required(env, 'MYSQL_PASSWORD', 'local', '')
    : required(env, 'MYSQL_PASSWORD', stage, '');

  const budget = timeBudget(env);
  const { sendTimeoutMs } = budget;
  const resendAfterMs = int(env, 'OUTBOX_RESEND_AFTER_MS', 60_000, 1000, 3_600_000);
  if (resendAfterMs <= budget.handlerTimeoutMs) {
    throw new ConfigError(
      `OUTBOX_RESEND_AFTER_MS (${resendAfterMs}) must exceed HANDLER_TIMEOUT_MS (${budget.handlerTimeoutMs}): ` +
        'an entry younger than that may belong to a request still running',
    );
  }

  const cluster = bool(env, 'REDIS_CLUSTER', false);
  const scryptLogN = int(env, 'SCRYPT_LOG_N', 15, 10, 20);
  const algorithm = str(env, 'PASSWORD_HASH', 'argon2id');
  if (algorithm !== 'argon2id' && algorithm !== 'scrypt') {
    throw new ConfigError(`PASSWORD_HASH must be argon2id or scrypt, got "${algorithm}"`);
  }
  const passwordHash: PasswordHashSetting =
    algorithm === 'scrypt'
      ? { algorithm, logN: scryptLogN }
      : {
          algorithm,
          memoryKiB: int(env, 'ARGON2_MEMORY_KIB', 19_456, 1024, 4_194_304),
          timeCost: int(env, 'ARGON2_TIME_COST', 2, 1, 100),
          parallelism: 1,
        };
  // Hashing runs on libuv's thread pool (node:crypto scrypt and @node-rs/argon2 alike): leave one of
  // its threads to DNS lookups, file reads and WebCrypto, and leave the cores that the processes of
  // `npm start` share enough room for their event loops (a starved loop answers even 503s late).
  const serverWorkers = int(env, 'SERVER_WORKERS', availableParallelism(), 1, 256);
  const threadPool = int(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024);
  const coresPerProcess = Math.floor(availableParallelism() / serverWorkers);
  const defaultLanes = Math.max(1, Math.min(threadPool - 1, coresPerProcess));
  const hashConcurrency = int(env, 'PASSWORD_HASH_CONCURRENCY', defaultLanes, 1, 1024);
  // A login waits for a lane, then makes at most two Redis round trips (look up, remember) besides
  // its hash and its MySQL query: the wait may not eat the handler's time.
  const hashMaxWaitMs = int(env, 'PASSWORD_HASH_MAX_WAIT_MS', 250, 1, 60_000);
  if (hashMaxWaitMs + 2 * budget.commandTimeoutMs + HANDLER_MARGIN_MS > budget.handlerTimeoutMs / 2) {
    throw new ConfigError(
      `PASSWORD_HASH_MAX_WAIT_MS (${hashMaxWaitMs}) + 2 x REDIS_COMMAND_TIMEOUT_MS + ${HANDLER_MARGIN_MS} ms must ` +
        `stay within half of HANDLER_TIMEOUT_MS (${budget.handlerTimeoutMs}), leaving the rest to the hash and MySQL`,
    );
  }
  const loginCacheKey = env.LOGIN_CACHE_KEY ? env.LOGIN_CACHE_KEY : undefined;
  if (loginCacheKey !== undefined && loginCacheKey.length < 32) {
    throw new ConfigError('LOGIN_CACHE_KEY must be at least 32 characters');
  }

  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be debug, info, warn or error, got "${logLevel}"`);
  }

  return {
    stage,
    onLambda,
    logLevel: logLevel as LogLevel,
    redis: {
      url: redisUrls(env, cluster),
      cluster,
      tlsCaFile: readableFile(env, 'REDIS_TLS_CA_FILE'),
      commandTimeoutMs: budget.commandTimeoutMs,
      waitReplicas: budget.waitReplicas,
      waitTimeoutMs: budget.waitTimeoutMs,
    },
    mysql: {
      host: str(env, 'MYSQL_HOST', '127.0.0.1'),
      port: int(env, 'MYSQL_PORT', 3306, 1, 65535),
      user: str(env, 'MYSQL_USER', 'root'),
      password: mysqlPassword,
      database: str(env, 'MYSQL_DATABASE', 'seckill'),
      connectionLimit: int(env, 'MYSQL_CONNECTION_LIMIT', onLambda ? 2 : 10, 1, 1000),
      tls: bool(env, 'MYSQL_TLS', false),
    },
    sqs: {
      region,
      endpoint,
      queueUrl,
      queueName,
      dlqName,
      dlqUrl: env.DLQ_URL
        ? url(env, 'DLQ_URL')
        : endpoint
          ? `${endpoint.replace(/\/$/, '')}/000000000000/${dlqName}`
          : '',
      sendTimeoutMs,
      sendAttempts: SEND_ATTEMPTS,
      credentials: endpoint && !env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'test', secretAccessKey: 'test' } : undefined,
    },
    secrets: {
      jwtSecretParameter,
      mysqlPasswordParameter,
    },
    auth: {
      get jwtSecret(): Uint8Array {
        if (jwtSecret) return jwtSecret;
        throw new ConfigError(
          jwtSecretParameter
            ? `JWT_SECRET_PARAMETER (${jwtSecretParameter}) has not been loaded`
            : 'JWT_SECRET or JWT_SECRET_PARAMETER is required but not set',
        );
      },
      set jwtSecret(value: Uint8Array) {
        jwtSecret = value;
      },
      tokenTtlSeconds: int(env, 'TOKEN_TTL_SECONDS', 3600, 1, 30 * 24 * 3600),
      scryptLogN,
      passwordHash,
      hashConcurrency,
      hashQueue: int(env, 'PASSWORD_HASH_QUEUE', 100, 0, 100_000),
      hashMaxWaitMs,
      loginCacheTtlSeconds: int(env, 'LOGIN_CACHE_TTL_SECONDS', 600, 0, 86_400),
      loginCacheKey: loginCacheKey === undefined ? undefined : new TextEncoder().encode(loginCacheKey),
    },
    outbox: { resendAfterMs },
    restore: {
      functionName: env.RESTORE_FUNCTION_NAME || undefined,
      lambdaEndpoint: env.LAMBDA_ENDPOINT ? url(env, 'LAMBDA_ENDPOINT') : undefined,
    },
    local: {
      httpPort: int(env, 'HTTP_PORT', 3000, 1, 65535),
      lambdaPort: int(env, 'LAMBDA_PORT', 3002, 1, 65535),
      queuePort: int(env, 'QUEUE_PORT', 9324, 1, 65535),
      visibilityTimeoutSeconds: int(env, 'QUEUE_VISIBILITY_TIMEOUT', 30, 0, 43_200),
      maxReceiveCount: int(env, 'QUEUE_MAX_RECEIVE_COUNT', 5, 1, 1000),
      consumerBatchSize: int(env, 'CONSUMER_BATCH_SIZE', 100, 1, 10_000),
      consumerBatchWindowMs: int(env, 'CONSUMER_BATCH_WINDOW_MS', 200, 0, 300_000),
      serverWorkers,
      accessLog: bool(env, 'ACCESS_LOG', true),
      headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 600_000),
    },
    handlerTimeoutMs: budget.handlerTimeoutMs,
    sale: {
      soldOutMemoryMs: int(env, 'SOLD_OUT_MEMORY_MS', 1000, 0, 1000),
      grabLimits: {
        perCustomer: rateLimit(int(env, 'GRAB_RATE_PER_CUSTOMER', 0, 0, 1_000_000), (fallback) =>
          int(env, 'GRAB_BURST_PER_CUSTOMER', fallback, 1, 1_000_000),
        ),
        perAddress: rateLimit(int(env, 'GRAB_RATE_PER_ADDRESS', 0, 0, 1_000_000), (fallback) =>
          int(env, 'GRAB_BURST_PER_ADDRESS', fallback, 1, 1_000_000),
        ),
      },
    },
    loginThrottle: {
      windowMs: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', 900, 1, 86_400) * 1000,
      perUsername: int(env, 'LOGIN_FAILURES_PER_USERNAME', 5, 1, 1_000_000),
      perAddress: int(env, 'LOGIN_FAILURES_PER_ADDRESS', 100, 1, 1_000_000),
    },
    warmup: {
      graceMs: budget.graceMs,
      drainTimeoutMs: int(env, 'WARMUP_DRAIN_TIMEOUT_MS', 20_000, 0, 600_000),
      lockTtlMs: int(env, 'WARMUP_LOCK_TTL_MS', 60_000, 1000, 600_000),
    },
  };
}

/** A grab rate limit: requests per second (0 = none) and a burst (requests at once, by default the rate). */
function rateLimit(rate: number, burst: (fallback: number) => number): { rate: number; burst: number } {
  return { rate, burst: burst(Math.max(1, rate)) };
}

const SEND_ATTEMPTS = 2;
/** What a handler keeps for itself at the end of its time: answering, logging. */
export const HANDLER_MARGIN_MS = 300;

/**
 * The timeouts of one grab, validated together. Its slowest path: the session check and the grab
 * script (2 Redis commands), WAIT for replicas, a send that fails after every attempt, then the
 * release and the listing undo (2 more commands): 4 x Redis + WAIT + attempts x send, plus a margin,
 * must fit in the handler's time limit.
 */
function timeBudget(env: Env) {
  const handlerTimeoutMs = int(env, 'HANDLER_TIMEOUT_MS', 8000, 1000, 29_000);
  const commandTimeoutMs = int(env, 'REDIS_COMMAND_TIMEOUT_MS', 1000, 50, 10_000);
  const sendTimeoutMs = int(env, 'SQS_SEND_TIMEOUT_MS', 1500, 100, 20_000);
  const waitReplicas = int(env, 'REDIS_WAIT_REPLICAS', 0, 0, 5);
  const waitTimeoutMs = int(env, 'REDIS_WAIT_TIMEOUT_MS', 200, 1, 5000);
  const worstGrabMs =
    4 * commandTimeoutMs + (waitReplicas > 0 ? waitTimeoutMs : 0) + SEND_ATTEMPTS * sendTimeoutMs + HANDLER_MARGIN_MS;
  if (worstGrabMs > handlerTimeoutMs) {
    throw new ConfigError(
      `HANDLER_TIMEOUT_MS (${handlerTimeoutMs}) is shorter than a grab's worst case (${worstGrabMs} ms = ` +
        `4 x REDIS_COMMAND_TIMEOUT_MS + REDIS_WAIT_TIMEOUT_MS + ${SEND_ATTEMPTS} x SQS_SEND_TIMEOUT_MS + ` +
        `${HANDLER_MARGIN_MS} ms): lower those timeouts or raise HANDLER_TIMEOUT_MS`,
    );
  }
  // A grab that passed the script just before Redis lost its data may still be sending: the rebuild
  // waits for it before it trusts the queue's counters.
  const minGraceMs = SEND_ATTEMPTS * sendTimeoutMs + commandTimeoutMs;
  const graceMs = int(env, 'WARMUP_GRACE_MS', minGraceMs, 0, 600_000);
  if (graceMs < minGraceMs) {
    throw new ConfigError(
      `WARMUP_GRACE_MS (${graceMs}) must be at least ${minGraceMs} ms ` +
        `(${SEND_ATTEMPTS} x SQS_SEND_TIMEOUT_MS + REDIS_COMMAND_TIMEOUT_MS): a grab may still be sending that long`,
    );
  }
  return { handlerTimeoutMs, commandTimeoutMs, sendTimeoutMs, waitReplicas, waitTimeoutMs, graceMs };
}

let cached: Config | undefined;

/** The stage alone, read before the rest is validated (a command that refuses some stages). */
export function configuredStage(): string {
  return str(process.env, 'STAGE', 'local');
}

export function config(): Config {
  cached ??= readConfig(process.env);
  return cached;
}
