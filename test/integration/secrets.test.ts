/**
 * lib/secrets.ts through the real SDK and Powertools Parameters, against an SSM stand-in on
 * loopback: both secrets in one GetParameters call with decryption, written into the config, read
 * once per container, a failure answered 503 and retried by the next invocation.
 */
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { config } from '../../lib/config';
import { HttpError } from '../../lib/errors';
import { loadSecrets, resetSecrets } from '../../lib/secrets';
import { type SsmStandIn, startSsm } from '../helpers/ssm';

const JWT = '/seckill/prod/jwt-secret';
const PASSWORD = '/seckill/prod/mysql-password';
const KEY = 'a-key-from-ssm-that-is-long-enough-0123456789';

let ssm: SsmStandIn;
const saved = { ...config().secrets, jwtSecret: config().auth.jwtSecret, password: config().mysql.password };
const provider = () =>
  new SSMProvider({
    clientConfig: {
      endpoint: ssm.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    },
  });

beforeAll(async () => {
  ssm = await startSsm({ [JWT]: KEY, [PASSWORD]: 'p@ss word', '/short': 'too-short' });
});

afterAll(async () => {
  await ssm.close();
});

beforeEach(() => {
  resetSecrets();
  ssm.requests.length = 0;
  ssm.failWith = undefined;
  config().secrets.jwtSecretParameter = JWT;
  config().secrets.mysqlPasswordParameter = PASSWORD;
});

afterEach(() => {
  resetSecrets();
  Object.assign(config().secrets, {
    jwtSecretParameter: saved.jwtSecretParameter,
    mysqlPasswordParameter: saved.mysqlPasswordParameter,
  });
  config().auth.jwtSecret = saved.jwtSecret;
  config().mysql.password = saved.password;
});

async function refusal(p: Promise<unknown>): Promise<HttpError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof HttpError)) throw new Error(`expected an HttpError, got ${String(e)}`);
  return e;
}

test('both secrets come in one GetParameters call with decryption and land in the config', async () => {
  await loadSecrets(provider());
  expect(new TextDecoder().decode(config().auth.jwtSecret)).toBe(KEY);
  expect(config().mysql.password).toBe('p@ss word');
  expect(ssm.requests).toEqual([
    { target: 'AmazonSSM.GetParameters', body: { Names: [JWT, PASSWORD], WithDecryption: true } },
  ]);
});

test('a container reads them once', async () => {
  const p = provider();
  await loadSecrets(p);
  await loadSecrets(p);
  await loadSecrets(provider());
  expect(ssm.requests).toHaveLength(1);
});

test('a function told only one parameter reads only that one', async () => {
  config().secrets.jwtSecretParameter = undefined;
  await loadSecrets(provider());
  expect(ssm.requests.map((r) => r.body.Names)).toEqual([[PASSWORD]]);
  expect(config().auth.jwtSecret).toBe(saved.jwtSecret);
});

test('without parameters (local stages) nothing is read', async () => {
  config().secrets.jwtSecretParameter = undefined;
  config().secrets.mysqlPasswordParameter = undefined;
  await loadSecrets(provider());
  expect(ssm.requests).toHaveLength(0);
});

test('SSM failing answers 503 with Retry-After, and the next invocation tries again', async () => {
  ssm.failWith = 500;
  const e = await refusal(loadSecrets(provider()));
  expect(e.status).toBe(503);
  expect(e.errMsg).toBe('Secrets unavailable. Nothing was changed; retry shortly.');
  expect(e.headers).toEqual({ 'Retry-After': '1' });
  expect(config().mysql.password).toBe(saved.password);
  ssm.failWith = undefined;
  await loadSecrets(provider());
  expect(config().mysql.password).toBe('p@ss word');
});

test('a missing parameter or a key shorter than 32 characters is refused', async () => {
  config().secrets.jwtSecretParameter = '/absent';
  expect((await refusal(loadSecrets(provider()))).status).toBe(503);
  config().secrets.jwtSecretParameter = '/short';
  expect((await refusal(loadSecrets(provider()))).status).toBe(503);
  expect(config().auth.jwtSecret).toBe(saved.jwtSecret);
});
