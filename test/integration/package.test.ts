/**
 * `sls package` builds the deployable artifact offline (dummy credentials, no AWS access), and the
 * template carries what the design relies on: every route, the consumer's SQS event with partial
 * batch failures, the queue with its dead-letter queue and a visibility timeout of at least 6 x the
 * consumer's timeout, the sweeper's schedule, and the Lua scripts inside the grab bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'seckill-package-'));
const workFolder = `.esbuild-package-${process.pid}`;
let template: { Resources: Record<string, { Type: string; Properties: any }> };

beforeAll(async () => {
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/osls/bin/serverless.js'), 'package', '--package', out],
    {
      cwd: ROOT,
      // A clean shell, as on a deploy machine: none of the test run's local settings leak in.
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ACCESS_KEY_ID: 'dummy',
        AWS_SECRET_ACCESS_KEY: 'dummy',
      },
    },
  );
  template = JSON.parse(readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 180_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(join(ROOT, workFolder), { recursive: true, force: true });
});

const ofType = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type);

test('every route of the contract is an HTTP API route', () => {
  const routes = ofType('AWS::ApiGatewayV2::Route')
    .map((r) => r.Properties.RouteKey)
    .sort();
  expect(routes).toEqual(
    [
      'GET /api/health',
      'GET /api/users/{username}/coupons',
      'PATCH /api/users/{username}/coupons/{name}',
      'POST /api/auth',
      'POST /api/auth/logout',
      'POST /api/users',
      'POST /api/users/{username}/coupons',
    ].sort(),
  );
});

test('the consumer reads the queue in batches and reports partial failures', () => {
  const [mapping] = ofType('AWS::Lambda::EventSourceMapping');
  expect(mapping?.Properties).toMatchObject({
    BatchSize: 100,
    MaximumBatchingWindowInSeconds: 1,
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
});

test('the queue redrives to a dead-letter queue and hides messages for 6 x the consumer timeout', () => {
  const queue = template.Resources.PurchaseQueue?.Properties;
  const consumer = ofType('AWS::Lambda::Function').find((f) => f.Properties.Handler.includes('persist-purchases'));
  expect(queue.RedrivePolicy).toEqual({
    deadLetterTargetArn: { 'Fn::GetAtt': ['PurchaseDeadLetterQueue', 'Arn'] },
    maxReceiveCount: 5,
  });
  expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * consumer?.Properties.Timeout);
});

test('functions run on nodejs22.x, the sweeper on a schedule, secrets from SSM', () => {
  const functions = ofType('AWS::Lambda::Function');
  expect(functions).toHaveLength(11);
  for (const f of functions) expect(f.Properties.Runtime).toBe('nodejs22.x');
  expect(ofType('AWS::Events::Rule')[0]?.Properties.ScheduleExpression).toBe('rate(1 minute)');
  const env = functions[0]?.Properties.Environment.Variables;
  expect(env.JWT_SECRET).toBe('{{resolve:ssm:/seckill/dev/jwt-secret}}');
  expect(env.QUEUE_URL).toEqual({ Ref: 'PurchaseQueue' });
});

test('the grab bundle ships the Lua scripts', async () => {
  const { stdout } = await promisify(execFile)(
    'unzip',
    ['-p', join(out, 'grabCoupon.zip'), 'functions/grab-coupon.js'],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  expect(stdout).toContain("redis.call('HINCRBY', KEYS[1], 'left', -1)");
  expect(stdout).toContain('release-grab');
});

test('the hot handlers carry no MySQL client: grab and list bundles stay under 300 KB', async () => {
  for (const fn of ['grabCoupon:functions/grab-coupon.js', 'listCoupons:functions/list-coupons.js']) {
    const [zip, file] = fn.split(':') as [string, string];
    const { stdout } = await promisify(execFile)('unzip', ['-p', join(out, `${zip}.zip`), file], {
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(Buffer.byteLength(stdout)).toBeLessThan(300 * 1024);
    expect(stdout).not.toContain('mysql2');
  }
  // They rebuild a cold cache through the restoreCache function, which they may invoke.
  const env = ofType('AWS::Lambda::Function')[0]?.Properties.Environment.Variables;
  expect(env.RESTORE_FUNCTION_NAME).toBe('seckill-dev-restoreCache');
  const role = ofType('AWS::IAM::Role')[0]?.Properties;
  expect(JSON.stringify(role)).toContain('lambda:InvokeFunction');
});
