/**
 * `sls package --stage prod` builds the deployable artifact offline (dummy credentials, no AWS
 * access, nothing else in the environment) from the settings on the command line, refuses to build
 * without them, and the template carries what the design relies on: every route; the consumer's
 * SQS event with partial batch failures and a concurrency cap; the queue with its dead-letter queue;
 * every function in the VPC; secrets only as SSM parameter names, on the functions that read them;
 * one least-privilege role per function; API throttling; alarms and a dashboard; JSON logs with
 * retention; tracing behind a parameter; the Lua scripts inside a small grab bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import JSZip from 'jszip';
import { issueToken } from '../../lib/auth/tokens';
import { ROUTES } from '../../scripts/server/routes';
import { httpEvent, sqsEvent, sqsRecord } from '../helpers/events';
import { type SsmStandIn, startSsm } from '../helpers/ssm';

const ROOT = join(__dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'seckill-package-'));
const workFolder = `.esbuild-package-${process.pid}`;

type Resource = { Type: string; Properties: any; Condition?: string };
type Template = { Resources: Record<string, Resource> };
let template: Template;
let traced: Template;

/** The command of docs/DEPLOY.md with the example settings of the README. */
const SETTINGS = [
  '--param=subnetIds=subnet-aaa,subnet-bbb',
  '--param=securityGroupIds=sg-aaa',
  '--param=redisUrl=rediss://cache.example:6379',
  '--param=redisCluster=true',
  '--param=mysqlHost=proxy.example',
  '--param=mysqlUser=seckill',
];

function sls(args: string[], env: Record<string, string> = {}) {
  return promisify(execFile)(process.execPath, [join(ROOT, 'node_modules/osls/bin/serverless.js'), ...args], {
    cwd: ROOT,
    // A clean shell, as on a deploy machine: none of the test run's local settings leak in.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'x',
      ESBUILD_WORK_FOLDER: workFolder,
      SLS_TELEMETRY_DISABLED: '1',
      ...env,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
}

const read = (dir: string): Template =>
  JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));

/** What a developer's shell may hold: none of it may reach a deployed stage's template. */
const LAPTOP = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  MYSQL_HOST: '127.0.0.1',
  MYSQL_USER: 'root',
  JWT_SECRET: 'a-laptop-secret-of-at-least-32-characters',
  SQS_ENDPOINT: 'http://127.0.0.1:9324',
  QUEUE_URL: 'http://127.0.0.1:9324/000000000000/seckill-purchases',
  LAMBDA_ENDPOINT: 'http://127.0.0.1:3002',
};

beforeAll(async () => {
  await sls(['package', '--stage', 'prod', ...SETTINGS, '--package', join(out, 'prod')], LAPTOP);
  template = read(join(out, 'prod'));
  await sls(['package', '--stage', 'prod', ...SETTINGS, '--param=tracing=Active', '--package', join(out, 'traced')]);
  traced = read(join(out, 'traced'));
}, 300_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(join(ROOT, workFolder), { recursive: true, force: true });
});

const ofType = (type: string, t = template) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
/** Functions by their key in serverless.yml (`grabCoupon`), from the handler's file name. */
function functions(t = template): Record<string, Resource> {
  const camel = (file: string) => file.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
  return Object.fromEntries(
    ofType('AWS::Lambda::Function', t).map(([, f]) => [
      camel(/^functions\/(.+)\.handler$/.exec(f.Properties.Handler)?.[1] ?? ''),
      f,
    ]),
  );
}
const env = (name: string): Record<string, unknown> => functions()[name]?.Properties.Environment.Variables;
/** The statements of a function's role, other than CloudWatch Logs. */
function statements(name: string, t = template): { Action: string[]; Resource: unknown }[] {
  const roleId = functions(t)[name]?.Properties.Role['Fn::GetAtt'][0];
  const role = t.Resources[roleId];
  return role?.Properties.Policies[0].PolicyDocument.Statement.filter(
    (s: { Action: string[] }) => !s.Action.every((a) => a.startsWith('logs:')),
  );
}
const ssmArn = (parameter: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':ssm:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':parameter',
      parameter,
    ],
  ],
});

const ALL = [
  'register',
  'login',
  'logout',
  'createCoupon',
  'listCoupons',
  'grabCoupon',
  'controlCoupon',
  'couponStats',
  'salePage',
  'health',
  'openapi',
  'persistPurchases',
  'sweepOutbox',
  'restoreCache',
  'migrate',
];
const USE_JWT = ['login', 'logout', 'createCoupon', 'listCoupons', 'grabCoupon', 'controlCoupon', 'couponStats'];
const USE_MYSQL = [
  'register',
  'login',
  'logout',
  'createCoupon',
  'controlCoupon',
  'health',
  'persistPurchases',
  'restoreCache',
  'migrate',
];

describe('settings', () => {
  test('a deployed stage refuses to package without its settings, naming each one, whatever the shell holds', async () => {
    const failure = await sls(['package', '--stage', 'prod', '--package', join(out, 'refused')], LAPTOP).then(
      () => undefined,
      (e: { code?: number; stdout?: string; stderr?: string }) => e,
    );
    expect(failure?.code).toBe(1);
    const output = `${failure?.stdout}${failure?.stderr}`;
    expect(output).toContain('Stage "prod" is missing required settings');
    for (const name of ['subnetIds', 'securityGroupIds', 'redisUrl', 'redisCluster', 'mysqlHost', 'mysqlUser']) {
      expect(output).toContain(`--param="${name}=..."`);
    }
  });

  test('the endpoints come from the command line, not from laptop defaults or the shell', () => {
    for (const name of ALL) {
      expect(env(name)).toMatchObject({
        STAGE: 'prod',
        REDIS_URL: 'rediss://cache.example:6379',
        REDIS_CLUSTER: 'true',
        MYSQL_HOST: 'proxy.example',
        MYSQL_USER: 'seckill',
        MYSQL_TLS: 'true',
        MYSQL_CONNECTION_LIMIT: '2',
        QUEUE_URL: { Ref: 'PurchaseQueue' },
        SQS_ENDPOINT: '',
        LAMBDA_ENDPOINT: '',
        RESTORE_FUNCTION_NAME: 'seckill-prod-restoreCache',
      });
    }
    const text = JSON.stringify(template);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(LAPTOP.JWT_SECRET);
  });
});

test('every route of the contract is an HTTP API route, throttled by default', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route')
    .map(([, r]) => r.Properties.RouteKey)
    .sort();
  // One route table: API Gateway's (serverless.yml) is the local servers' (scripts/server/routes.ts).
  expect(routes).toEqual(ROUTES.map((r) => r.key).sort());
  expect(routes).toEqual(
    expect.arrayContaining([
      'GET /api/health',
      'GET /api/openapi.json',
      'GET /api/users/{username}/coupons',
      'PATCH /api/users/{username}/coupons/{name}',
      'POST /api/users/{username}/coupons/{name}/pause',
      'POST /api/users/{username}/coupons/{name}/resume',
      'POST /api/users/{username}/coupons/{name}/amount',
      'GET /api/users/{username}/coupons/{name}/stats',
      'GET /sale',
      'GET /sale/{file}',
      'POST /api/auth',
      'POST /api/auth/logout',
      'POST /api/users',
      'POST /api/users/{username}/coupons',
    ]),
  );
  expect(template.Resources.HttpApiStage?.Properties.DefaultRouteSettings).toEqual({
    ThrottlingRateLimit: 5000,
    ThrottlingBurstLimit: 2500,
  });
});

test('the consumer reads the queue in batches, reports partial failures, and runs at most 5 at a time', () => {
  const [[, mapping] = []] = ofType('AWS::Lambda::EventSourceMapping');
  expect(mapping?.Properties).toMatchObject({
    BatchSize: 100,
    MaximumBatchingWindowInSeconds: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
    ScalingConfig: { MaximumConcurrency: 5 },
  });
});

test('the queue redrives to a dead-letter queue and hides messages for 6 x the consumer timeout', () => {
  const queue = template.Resources.PurchaseQueue?.Properties;
  expect(queue.RedrivePolicy).toEqual({
    deadLetterTargetArn: { 'Fn::GetAtt': ['PurchaseDeadLetterQueue', 'Arn'] },
    maxReceiveCount: 20,
  });
  expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * functions().persistPurchases?.Properties.Timeout);
});

test('functions run on nodejs22.x in the VPC, the sweeper on a schedule, the rebuild one at a time', () => {
  const all = functions();
  expect(Object.keys(all).sort()).toEqual([...ALL].sort());
  for (const f of Object.values(all)) {
    expect(f.Properties.Runtime).toBe('nodejs22.x');
    // Every function reaches Redis or MySQL.
    expect(f.Properties.VpcConfig).toEqual({
      SubnetIds: { 'Fn::Split': [',', 'subnet-aaa,subnet-bbb'] },
      SecurityGroupIds: { 'Fn::Split': [',', 'sg-aaa'] },
    });
  }
  expect(ofType('AWS::Events::Rule')[0]?.[1].Properties.ScheduleExpression).toBe('rate(1 minute)');
  expect(all.restoreCache?.Properties.ReservedConcurrentExecutions).toBe(1);
});

describe('secrets', () => {
  test('no secret value and no SSM dynamic reference in any environment', () => {
    for (const name of ALL) {
      const variables = env(name);
      expect(variables.JWT_SECRET).toBe('');
      expect(variables.MYSQL_PASSWORD).toBe('');
    }
    const text = JSON.stringify(template);
    expect(text).not.toContain('resolve:ssm');
    expect(text).not.toContain('seckill-local-development-secret');
  });

  test('only the functions that use a secret are told its SSM parameter, and only they may read it', () => {
    for (const name of ALL) {
      const variables = env(name);
      const reads = statements(name).filter((s) => s.Action.some((a) => a.startsWith('ssm:')));
      const expected = [
        ...(USE_JWT.includes(name) ? ['/seckill/prod/jwt-secret'] : []),
        ...(USE_MYSQL.includes(name) ? ['/seckill/prod/mysql-password'] : []),
      ];
      expect(variables.JWT_SECRET_PARAMETER).toBe(USE_JWT.includes(name) ? '/seckill/prod/jwt-secret' : undefined);
      expect(variables.MYSQL_PASSWORD_PARAMETER).toBe(
        USE_MYSQL.includes(name) ? '/seckill/prod/mysql-password' : undefined,
      );
      expect(reads).toEqual(
        expected.map((p) => ({ Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: ssmArn(p) })),
      );
    }
  });
});

describe('permissions', () => {
  test('one role per function', () => {
    const roles = ofType('AWS::IAM::Role').map(([id]) => id);
    const used = Object.values(functions()).map((f) => f.Properties.Role['Fn::GetAtt'][0]);
    expect(new Set(used).size).toBe(ALL.length);
    expect([...used].sort()).toEqual([...roles].sort());
  });

  test('each role allows only what its function uses', () => {
    const queue = { 'Fn::GetAtt': ['PurchaseQueue', 'Arn'] };
    const deadLetters = { 'Fn::GetAtt': ['PurchaseDeadLetterQueue', 'Arn'] };
    const restore = { 'Fn::GetAtt': ['RestoreCacheLambdaFunction', 'Arn'] };
    const beyondSecrets = (name: string) =>
      statements(name)
        .filter((s) => !s.Action.some((a) => a.startsWith('ssm:')))
        .map((s) => ({ Action: s.Action, Resource: s.Resource }));
    const expected: Record<string, { Action: string[]; Resource: unknown }[]> = {
      register: [],
      login: [],
      logout: [],
      createCoupon: [{ Action: ['lambda:InvokeFunction'], Resource: restore }],
      listCoupons: [{ Action: ['lambda:InvokeFunction'], Resource: restore }],
      grabCoupon: [
        { Action: ['sqs:SendMessage'], Resource: queue },
        { Action: ['lambda:InvokeFunction'], Resource: restore },
      ],
      controlCoupon: [{ Action: ['lambda:InvokeFunction'], Resource: restore }],
      couponStats: [{ Action: ['lambda:InvokeFunction'], Resource: restore }],
      salePage: [],
      health: [{ Action: ['sqs:GetQueueAttributes'], Resource: queue }],
      openapi: [],
      persistPurchases: [
        { Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'], Resource: [queue] },
        // Poison goes to the dead-letter queue at once.
        { Action: ['sqs:SendMessage'], Resource: deadLetters },
      ],
      sweepOutbox: [{ Action: ['sqs:SendMessage'], Resource: queue }],
      // A rebuild counts the grabs waiting in the dead-letter queue.
      restoreCache: [
        { Action: ['sqs:GetQueueAttributes'], Resource: queue },
        { Action: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility'], Resource: deadLetters },
      ],
      migrate: [],
    };
    for (const name of ALL)
      expect({ name, statements: beyondSecrets(name) }).toEqual({ name, statements: expected[name] });
    // Logs of its own log group only, and the VPC's network interfaces.
    const grabRole = template.Resources[functions().grabCoupon?.Properties.Role['Fn::GetAtt'][0]];
    expect(JSON.stringify(grabRole?.Properties.Policies[0].PolicyDocument.Statement[0].Resource)).toContain(
      'log-group:/aws/lambda/seckill-prod-grabCoupon:',
    );
    expect(JSON.stringify(grabRole?.Properties.ManagedPolicyArns)).toContain('AWSLambdaVPCAccessExecutionRole');
  });
});

describe('observability', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const metricsOf = (a: any): string[] =>
    a.MetricName
      ? [a.MetricName]
      : a.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric.MetricName);

  test('alarms: dead letters, age of the oldest purchase, consumer errors, throttles of every function, API 5xx rate', () => {
    const all = alarms();
    for (const a of all) expect(a.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    const byName = Object.fromEntries(all.map((a) => [a.AlarmName, a]));
    expect(byName['seckill-prod-dead-letters']).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['PurchaseDeadLetterQueue', 'QueueName'] } }],
      Threshold: 1,
    });
    expect(byName['seckill-prod-purchase-age']).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['PurchaseQueue', 'QueueName'] } }],
      Threshold: 300,
    });
    expect(metricsOf(byName['seckill-prod-consumer-errors'])).toEqual(['Errors', 'PurchaseFailures']);
    expect(metricsOf(byName['seckill-prod-api-5xx'])).toEqual(['5xx', 'Count']);
    expect(byName['seckill-prod-api-5xx']?.Threshold).toBe(0.01);
    for (const name of ALL) {
      expect(byName[`seckill-prod-${name}-throttles`]).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
      });
    }
    expect(template.Resources.AlarmEmailSubscription?.Condition).toBe('HasAlarmEmail');
  });

  test('a dashboard of the sale: grabs by outcome, queue depth and age, consumer batches, errors', () => {
    const [[, dashboard] = []] = ofType('AWS::CloudWatch::Dashboard');
    const body = JSON.parse(dashboard?.Properties.DashboardBody['Fn::Sub']);
    const metrics = body.widgets.flatMap((w: any) =>
      w.properties.metrics.map((m: unknown[]) => m.filter((x) => typeof x === 'string').join(' ')),
    );
    for (const expected of [
      'Seckill Grabs service seckill-prod outcome granted',
      'Seckill Grabs service seckill-prod outcome sold-out',
      'Seckill SendsFailed service seckill-prod',
      'Seckill GrabsReleased service seckill-prod',
      'AWS/SQS ApproximateNumberOfMessagesVisible QueueName seckill-prod-purchases',
      'AWS/SQS ApproximateAgeOfOldestMessage QueueName seckill-prod-purchases',
      'Seckill BatchSize service seckill-prod',
      'Seckill PurchasesPersisted service seckill-prod',
      'AWS/Lambda Duration FunctionName seckill-prod-persistPurchases',
      'AWS/Lambda Errors FunctionName seckill-prod-grabCoupon',
      `AWS/ApiGateway 5xx ApiId \${HttpApi}`,
      'Seckill Rebuilds service seckill-prod',
    ]) {
      expect(metrics).toContain(expected);
    }
  });

  test('JSON logs kept 14 days; tracing off unless the tracing parameter turns it on', () => {
    for (const f of Object.values(functions())) {
      expect(f.Properties.LoggingConfig).toEqual({ LogFormat: 'JSON' });
      expect(f.Properties.TracingConfig).toEqual({ Mode: 'PassThrough' });
    }
    for (const [, group] of ofType('AWS::Logs::LogGroup')) expect(group.Properties.RetentionInDays).toBe(14);
    expect(JSON.stringify(template)).not.toContain('xray:');
    for (const f of Object.values(functions(traced))) expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    for (const name of ALL) {
      expect(statements(name, traced)).toContainEqual({
        Effect: 'Allow',
        Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        Resource: '*',
      });
    }
  });
});

/** The function packages, read with JSZip: no `unzip` program needed on the machine. */
async function packageOf(zip: string): Promise<JSZip> {
  return JSZip.loadAsync(await readFile(join(out, 'prod', `${zip}.zip`)));
}

async function bundle(zip: string, file: string): Promise<string> {
  const entry = (await packageOf(zip)).file(file);
  if (!entry) throw new Error(`${file} is not in ${zip}.zip`);
  return entry.async('string');
}

test('the grab bundle ships the Lua scripts', async () => {
  const js = await bundle('grabCoupon', 'functions/grab-coupon.js');
  expect(js).toContain("redis.call('HINCRBY', KEYS[1], 'left', -1)");
  expect(js).toContain('release-grab');
});

test('the live page ships its own files and uPlot, and nothing else: no store client', async () => {
  const js = await bundle('salePage', 'functions/sale-page.js');
  expect(js).toContain('sale/uplot.js');
  expect(js).toContain('https://github.com/leeoniya/uPlot');
  expect(js).not.toContain('mysql2');
  expect(js).not.toContain('ioredis');
});

test('the hot handlers carry no MySQL client: grab and list bundles stay under 300 KB', async () => {
  for (const [zip, file] of [
    ['grabCoupon', 'functions/grab-coupon.js'],
    ['listCoupons', 'functions/list-coupons.js'],
  ] as const) {
    const js = await bundle(zip, file);
    expect(Buffer.byteLength(js)).toBeLessThan(300 * 1024);
    expect(js).not.toContain('mysql2');
  }
});

describe('the bundles as deployed, run the way Lambda runs them', () => {
  const KEY = 'the-key-stored-in-ssm-0123456789-abcdefghij';
  let ssm: SsmStandIn;
  const dir = (zip: string) => join(out, `${zip}-unzipped`);

  beforeAll(async () => {
    ssm = await startSsm({ '/seckill/prod/jwt-secret': KEY, '/seckill/prod/mysql-password': 'pw' });
    for (const zip of ['grabCoupon', 'persistPurchases']) {
      const files = (await packageOf(zip)).files;
      for (const entry of Object.values(files)) {
        if (entry.dir) continue;
        await mkdir(dirname(join(dir(zip), entry.name)), { recursive: true });
        await writeFile(join(dir(zip), entry.name), await entry.async('nodebuffer'));
      }
    }
  });

  afterAll(async () => {
    await ssm.close();
  });

  /** A grab through the bundled handler in a fresh process: its answer and its metric lines. */
  function invoke(env: Record<string, string>, authorization?: string) {
    const event = httpEvent({
      method: 'PATCH',
      path: '/api/users/shop/coupons/black-friday',
      pathParameters: { username: 'shop', name: 'black-friday' },
      headers: authorization ? { authorization } : {},
    });
    return run('grabCoupon', 'functions/grab-coupon.js', event, env);
  }

  async function run(zip: string, file: string, event: unknown, env: Record<string, string>) {
    const script = `
      const { handler } = require(process.argv[1]);
      const context = { awsRequestId: 'r-1', functionName: 'seckill-prod-grabCoupon', getRemainingTimeInMillis: () => 6000 };
      handler(JSON.parse(process.argv[2]), context).then(
        (r) => { console.log('RESULT ' + JSON.stringify(r)); process.exit(0); },
        (e) => { console.log('THROWN ' + e); process.exit(1); },
      );`;
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['-e', script, join(dir(zip), file), JSON.stringify(event)],
      {
        env: {
          PATH: process.env.PATH ?? '',
          // The runtime provides the AWS SDK, which the bundle leaves out.
          NODE_PATH: join(ROOT, 'node_modules'),
          STAGE: 'prod',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'x',
          AWS_SECRET_ACCESS_KEY: 'x',
          QUEUE_URL: 'http://127.0.0.1:1/000000000000/none',
          // This worker's Redis database; the grab only reads it (the coupon does not exist).
          REDIS_URL: process.env.REDIS_URL ?? '',
          LOG_LEVEL: 'error',
          ...env,
        },
        timeout: 30_000,
      },
    ).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`the bundle failed: ${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
    const lines = stdout.split('\n');
    const result = JSON.parse(lines.find((l) => l.startsWith('RESULT '))?.slice(7) ?? 'null');
    const emf = lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((l) => l._aws);
    return { result, emf, stderr };
  }

  test('on Lambda it reads its key from SSM: a token signed with it gets past authentication, others are refused', async () => {
    const lambda = {
      AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-grabCoupon',
      JWT_SECRET_PARAMETER: '/seckill/prod/jwt-secret',
      AWS_ENDPOINT_URL_SSM: ssm.endpoint,
    };
    const good = await issueToken({ username: 'alice', kind: 'customer' }, new TextEncoder().encode(KEY), 60);
    const forged = await issueToken(
      { username: 'alice', kind: 'customer' },
      new TextEncoder().encode('k'.repeat(40)),
      60,
    );
    ssm.requests.length = 0;
    const accepted = await invoke(lambda, good);
    // Past authentication: 204 not-found on a warm cache, 503 "being restored" on a cold one (no
    // restore function here). A token the key does not verify is refused with 401.
    expect([204, 503]).toContain(accepted.result.statusCode);
    expect(accepted.stderr).not.toContain('"level":"error"');
    expect((await invoke(lambda, forged)).result.statusCode).toBe(401);
    expect(ssm.requests.map((r) => r.body)).toEqual([
      { Names: ['/seckill/prod/jwt-secret'], WithDecryption: true },
      { Names: ['/seckill/prod/jwt-secret'], WithDecryption: true },
    ]);
    ssm.failWith = 500;
    try {
      const unavailable = await invoke(lambda, good);
      expect(unavailable.result.statusCode).toBe(503);
      expect(unavailable.result.headers['Retry-After']).toBe('1');
      expect(JSON.parse(unavailable.result.body).errMsg).toBe(
        'Secrets unavailable. Nothing was changed; retry shortly.',
      );
    } finally {
      ssm.failWith = undefined;
    }
  }, 60_000);

  test('minified as deployed, an outage is still recognised: an unreachable Redis or queue is a 503 naming it', async () => {
    const key = 'j'.repeat(40);
    const token = await issueToken({ username: 'alice', kind: 'customer' }, new TextEncoder().encode(key), 60);
    // Nothing listens on port 1: ioredis gives up (its error classes are renamed by minification).
    const noRedis = await invoke(
      {
        AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-grabCoupon',
        JWT_SECRET: key,
        REDIS_URL: 'redis://127.0.0.1:1',
        REDIS_COMMAND_TIMEOUT_MS: '300',
      },
      token,
    );
    expect(noRedis.result.statusCode).toBe(503);
    expect(noRedis.result.headers['Retry-After']).toBe('1');
    expect(JSON.parse(noRedis.result.body).errMsg).toBe('Cache unavailable. Nothing was changed; retry shortly.');
  }, 30_000);

  test('on Lambda each grab is counted by outcome in embedded metric format, the coupon only as a property', async () => {
    const { result, emf } = await invoke({
      AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-grabCoupon',
      JWT_SECRET: 'j'.repeat(40),
    });
    expect(result.statusCode).toBe(401);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Namespace: 'Seckill', Dimensions: [['service', 'outcome']], Metrics: [{ Name: 'Grabs', Unit: 'Count' }] },
        ],
      },
      service: 'seckill-prod',
      outcome: 'refused',
      Grabs: 1,
      coupon: 'shop/black-friday',
    });
  }, 30_000);

  test('elsewhere (serverless-offline, npm start) no metric is written', async () => {
    const offline = await invoke({
      AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-grabCoupon',
      IS_OFFLINE: 'true',
      JWT_SECRET: 'j'.repeat(40),
      // Outside Lambda a deployed stage needs every secret at start.
      MYSQL_PASSWORD: 'x',
    });
    expect(offline.result.statusCode).toBe(401);
    expect(offline.emf).toEqual([]);
  }, 30_000);

  test('the consumer on Lambda reads its database password from SSM and counts each batch', async () => {
    ssm.requests.length = 0;
    // Malformed messages go to the dead-letter queue at once; unreachable here, so they are handed
    // back for retry (the redrive policy moves them), without touching Redis or MySQL.
    const { result, emf } = await run(
      'persistPurchases',
      'functions/persist-purchases.js',
      sqsEvent([sqsRecord('not json', { messageId: 'm-1' }), sqsRecord('{}', { messageId: 'm-2' })]),
      {
        AWS_LAMBDA_FUNCTION_NAME: 'seckill-prod-persistPurchases',
        MYSQL_PASSWORD_PARAMETER: '/seckill/prod/mysql-password',
        AWS_ENDPOINT_URL_SSM: ssm.endpoint,
        JWT_SECRET: 'j'.repeat(40),
      },
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-1' }, { itemIdentifier: 'm-2' }] });
    expect(ssm.requests.map((r) => r.body)).toEqual([
      { Names: ['/seckill/prod/mysql-password'], WithDecryption: true },
    ]);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({
      _aws: { CloudWatchMetrics: [{ Namespace: 'Seckill', Dimensions: [['service']] }] },
      service: 'seckill-prod',
      BatchSize: 2,
      PurchasesPersisted: 0,
      PurchaseFailures: 2,
      BatchFailures: 1,
    });
  }, 30_000);
});
