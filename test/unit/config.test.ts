import { ConfigError, DEV_JWT_SECRET, readConfig } from '../../lib/config';

const PROD = {
  STAGE: 'prod',
  JWT_SECRET: 'x'.repeat(32),
  MYSQL_PASSWORD: 'pw',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/q',
};

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    readConfig(env);
  } catch (e: unknown) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError, but the environment was accepted');
}

describe('defaults', () => {
  test('an empty environment gives the local configuration', () => {
    const c = readConfig({});
    expect(c.stage).toBe('local');
    expect(c.logLevel).toBe('info');
    expect(c.redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      cluster: false,
      commandTimeoutMs: 1000,
      waitReplicas: 0,
      waitTimeoutMs: 200,
    });
    expect(c.mysql).toEqual({
      host: '127.0.0.1',
      port: 3306,
      user: 'root',
      password: '',
      database: 'seckill',
      connectionLimit: 10,
      tls: false,
    });
    expect(c.sqs).toEqual({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9324',
      queueUrl: 'http://127.0.0.1:9324/000000000000/seckill-purchases',
      queueName: 'seckill-purchases',
      dlqName: 'seckill-purchases-dlq',
      dlqUrl: 'http://127.0.0.1:9324/000000000000/seckill-purchases-dlq',
      sendTimeoutMs: 1500,
      sendAttempts: 2,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    expect(new TextDecoder().decode(c.auth.jwtSecret)).toBe(DEV_JWT_SECRET);
    expect(c.auth.tokenTtlSeconds).toBe(3600);
    expect(c.auth.scryptLogN).toBe(15);
    expect(c.outbox.resendAfterMs).toBe(60_000);
    expect(c.handlerTimeoutMs).toBe(8000);
    // The grace covers a grab still sending when Redis lost its data: 2 x 1.5 s + 1 s.
    expect(c.warmup).toEqual({ graceMs: 4000, drainTimeoutMs: 20_000, lockTtlMs: 60_000 });
  });

  test('empty strings count as unset', () => {
    expect(readConfig({ MYSQL_PORT: '', LOG_LEVEL: '', REDIS_CLUSTER: '' })).toMatchObject({
      logLevel: 'info',
      mysql: { port: 3306 },
      redis: { cluster: false },
    });
  });

  test('the test stage also gets local defaults', () => {
    expect(readConfig({ STAGE: 'test' }).sqs.endpoint).toBe('http://127.0.0.1:9324');
  });

  test('explicit values are read and typed', () => {
    const c = readConfig({
      STAGE: 'test',
      LOG_LEVEL: 'debug',
      REDIS_URL: 'redis://cache:6380/2',
      REDIS_CLUSTER: 'true',
      MYSQL_HOST: 'db',
      MYSQL_PORT: '3307',
      MYSQL_USER: 'app',
      MYSQL_PASSWORD: 'pw',
      MYSQL_DATABASE: 'sale',
      MYSQL_CONNECTION_LIMIT: '50',
      MYSQL_TLS: 'true',
      QUEUE_PORT: '4566',
      QUEUE_NAME: 'q',
      DLQ_NAME: 'dead',
      AWS_ACCESS_KEY_ID: 'AKIA',
      SQS_SEND_TIMEOUT_MS: '500',
      REDIS_COMMAND_TIMEOUT_MS: '250',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '50',
      HANDLER_TIMEOUT_MS: '3000',
      OUTBOX_RESEND_AFTER_MS: '5000',
      TOKEN_TTL_SECONDS: '60',
      SCRYPT_LOG_N: '12',
      WARMUP_GRACE_MS: '1250',
      WARMUP_DRAIN_TIMEOUT_MS: '1000',
      WARMUP_LOCK_TTL_MS: '2000',
    });
    expect(c.logLevel).toBe('debug');
    expect(c.redis).toEqual({
      url: 'redis://cache:6380/2',
      cluster: true,
      commandTimeoutMs: 250,
      waitReplicas: 1,
      waitTimeoutMs: 50,
    });
    expect(c.mysql).toEqual({
      host: 'db',
      port: 3307,
      user: 'app',
      password: 'pw',
      database: 'sale',
      connectionLimit: 50,
      tls: true,
    });
    expect(c.sqs.endpoint).toBe('http://127.0.0.1:4566');
    expect(c.sqs.queueUrl).toBe('http://127.0.0.1:4566/000000000000/q');
    expect(c.sqs.dlqName).toBe('dead');
    expect(c.sqs.credentials).toBeUndefined();
    expect(c.sqs.sendTimeoutMs).toBe(500);
    expect(c.outbox.resendAfterMs).toBe(5000);
    expect(c.auth).toMatchObject({ tokenTtlSeconds: 60, scryptLogN: 12 });
    expect(c.handlerTimeoutMs).toBe(3000);
    expect(c.warmup).toEqual({ graceMs: 1250, drainTimeoutMs: 1000, lockTtlMs: 2000 });
  });

  test('REDIS_CLUSTER accepts 1 and 0', () => {
    expect(readConfig({ REDIS_CLUSTER: '1' }).redis.cluster).toBe(true);
    expect(readConfig({ REDIS_CLUSTER: '0' }).redis.cluster).toBe(false);
  });

  test('SQS_ENDPOINT builds the queue URL, without a double slash', () => {
    expect(readConfig({ SQS_ENDPOINT: 'http://localstack:4566/', QUEUE_NAME: 'q' }).sqs.queueUrl).toBe(
      'http://localstack:4566/000000000000/q',
    );
  });

  test('a deployed stage has no endpoint and uses the default credential chain', () => {
    const c = readConfig(PROD);
    expect(c.sqs.endpoint).toBeUndefined();
    expect(c.sqs.credentials).toBeUndefined();
    expect(c.sqs.queueUrl).toBe(PROD.QUEUE_URL);
  });
});

describe('every malformed variable names itself', () => {
  test.each([
    ['MYSQL_PORT', { MYSQL_PORT: 'abc' }],
    ['MYSQL_PORT', { MYSQL_PORT: '3306.5' }],
    ['MYSQL_PORT', { MYSQL_PORT: '0' }],
    ['MYSQL_PORT', { MYSQL_PORT: '65536' }],
    ['MYSQL_PORT', { MYSQL_PORT: ' 3306' }],
    ['MYSQL_CONNECTION_LIMIT', { MYSQL_CONNECTION_LIMIT: '0' }],
    ['MYSQL_CONNECTION_LIMIT', { MYSQL_CONNECTION_LIMIT: 'ten' }],
    ['QUEUE_PORT', { QUEUE_PORT: 'x' }],
    ['QUEUE_PORT', { QUEUE_PORT: '70000' }],
    ['REDIS_URL', { REDIS_URL: 'not a url' }],
    ['REDIS_CLUSTER', { REDIS_CLUSTER: 'yes' }],
    ['SQS_ENDPOINT', { SQS_ENDPOINT: 'localhost 4566' }],
    ['QUEUE_URL', { QUEUE_URL: 'queue' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['JWT_SECRET', { JWT_SECRET: 'too-short' }],
    ['TOKEN_TTL_SECONDS', { TOKEN_TTL_SECONDS: '0' }],
    ['TOKEN_TTL_SECONDS', { TOKEN_TTL_SECONDS: '1h' }],
    ['SCRYPT_LOG_N', { SCRYPT_LOG_N: '9' }],
    ['SCRYPT_LOG_N', { SCRYPT_LOG_N: '21' }],
    ['SQS_SEND_TIMEOUT_MS', { SQS_SEND_TIMEOUT_MS: '99' }],
    ['SQS_SEND_TIMEOUT_MS', { SQS_SEND_TIMEOUT_MS: '1e3' }],
    ['OUTBOX_RESEND_AFTER_MS', { OUTBOX_RESEND_AFTER_MS: '999' }],
    ['OUTBOX_RESEND_AFTER_MS', { OUTBOX_RESEND_AFTER_MS: '8000' }], // not above the 8 s handler time limit
    ['WARMUP_GRACE_MS', { WARMUP_GRACE_MS: '-1' }],
    // The grace must cover a grab still sending: 2 x 1.5 s + 1 s.
    ['WARMUP_GRACE_MS', { WARMUP_GRACE_MS: '3999' }],
    ['REDIS_COMMAND_TIMEOUT_MS', { REDIS_COMMAND_TIMEOUT_MS: '49' }],
    ['REDIS_WAIT_REPLICAS', { REDIS_WAIT_REPLICAS: '-1' }],
    // A grab's worst case (4 x 1 s + 2 x 1.5 s + 0.3 s) does not fit in 7 s.
    ['HANDLER_TIMEOUT_MS', { HANDLER_TIMEOUT_MS: '7000' }],
    ['HANDLER_TIMEOUT_MS', { HANDLER_TIMEOUT_MS: '8000', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '800' }],
    ['WARMUP_DRAIN_TIMEOUT_MS', { WARMUP_DRAIN_TIMEOUT_MS: 'soon' }],
    ['WARMUP_LOCK_TTL_MS', { WARMUP_LOCK_TTL_MS: '10' }],
  ])('%s (%j)', (name, env) => {
    const e = configError(env);
    expect(e.name).toBe('ConfigError');
    expect(e.message).toContain(name);
  });

  test('the value that was refused is shown', () => {
    expect(configError({ MYSQL_PORT: 'abc' }).message).toContain('"abc"');
    expect(configError({ LOG_LEVEL: 'verbose' }).message).toContain('verbose');
  });

  test('a deployed stage requires JWT_SECRET at start, outside Lambda (npm start, npm run dev)', () => {
    expect(configError({ ...PROD, JWT_SECRET: undefined }).message).toContain(
      'JWT_SECRET is required when STAGE is "prod"',
    );
  });

  test('a deployed Lambda function without the key (it handles no token) fails only where the key is used', () => {
    const c = readConfig({ ...PROD, JWT_SECRET: undefined, AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-register' });
    expect(() => c.auth.jwtSecret).toThrow(ConfigError);
    expect(() => c.auth.jwtSecret).toThrow('JWT_SECRET or JWT_SECRET_PARAMETER is required but not set');
  });

  test('on AWS the secrets may come from SSM parameters instead, filled in once read', () => {
    const c = readConfig({
      ...PROD,
      JWT_SECRET: undefined,
      MYSQL_PASSWORD: undefined,
      JWT_SECRET_PARAMETER: '/seckill/prod/jwt-secret',
      MYSQL_PASSWORD_PARAMETER: '/seckill/prod/mysql-password',
    });
    expect(c.secrets).toEqual({
      jwtSecretParameter: '/seckill/prod/jwt-secret',
      mysqlPasswordParameter: '/seckill/prod/mysql-password',
    });
    expect(() => c.auth.jwtSecret).toThrow('JWT_SECRET_PARAMETER (/seckill/prod/jwt-secret) has not been loaded');
    c.auth.jwtSecret = new TextEncoder().encode('k'.repeat(32));
    expect(new TextDecoder().decode(c.auth.jwtSecret)).toBe('k'.repeat(32));
    expect(readConfig({}).secrets).toEqual({ jwtSecretParameter: undefined, mysqlPasswordParameter: undefined });
  });

  test('a Lambda container pools 2 MySQL connections unless told otherwise', () => {
    expect(readConfig({ ...PROD, AWS_LAMBDA_FUNCTION_NAME: 'f' }).mysql.connectionLimit).toBe(2);
    expect(readConfig({ ...PROD }).mysql.connectionLimit).toBe(10);
    expect(
      readConfig({ ...PROD, AWS_LAMBDA_FUNCTION_NAME: 'f', MYSQL_CONNECTION_LIMIT: '1' }).mysql.connectionLimit,
    ).toBe(1);
    expect(configError({ MYSQL_TLS: 'yes' }).message).toContain('MYSQL_TLS');
  });

  test('a deployed stage requires MYSQL_PASSWORD, set and not empty; local stages default to empty', () => {
    expect(configError({ ...PROD, MYSQL_PASSWORD: undefined }).message).toMatch(/^MYSQL_PASSWORD is required/);
    expect(configError({ ...PROD, MYSQL_PASSWORD: '' }).message).toMatch(/^MYSQL_PASSWORD is required/);
    expect(configError({ ...PROD, JWT_SECRET: '' }).message).toMatch(/^JWT_SECRET is required/);
    expect(readConfig({ STAGE: 'test' }).mysql.password).toBe('');
    expect(readConfig({ STAGE: 'local', MYSQL_PASSWORD: '' }).mysql.password).toBe('');
  });

  test('an unresolved CloudFormation reference is not a secret', () => {
    const ref = '{{resolve:ssm:/seckill/prod/jwt-secret}}';
    expect(configError({ ...PROD, JWT_SECRET: ref }).message).toBe(`JWT_SECRET is an unresolved reference: ${ref}`);
    expect(configError({ STAGE: 'local', MYSQL_PASSWORD: '{{resolve:ssm:/x}}' }).message).toMatch(/^MYSQL_PASSWORD/);
  });

  test('a deployed stage requires QUEUE_URL', () => {
    expect(configError({ ...PROD, QUEUE_URL: undefined }).message).toContain('QUEUE_URL');
  });
});

describe('onLambda', () => {
  test('true in a Lambda container, false under serverless-offline and elsewhere', () => {
    expect(readConfig({ AWS_LAMBDA_FUNCTION_NAME: 'seckill-dev-grabCoupon' }).onLambda).toBe(true);
    expect(readConfig({ AWS_LAMBDA_FUNCTION_NAME: 'seckill-dev-grabCoupon', IS_OFFLINE: 'true' }).onLambda).toBe(false);
    expect(readConfig({}).onLambda).toBe(false);
  });
});
