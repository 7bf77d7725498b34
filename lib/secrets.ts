/**
 * Secrets on AWS: the JWT key and the MySQL password are SSM SecureString parameters, named by
 * JWT_SECRET_PARAMETER / MYSQL_PASSWORD_PARAMETER in the environment of only the functions that use
 * them. The first invocation of a container reads them (Powertools Parameters, one GetParameters
 * call with decryption) and fills in `config().auth.jwtSecret` / `config().mysql.password`, which
 * every later reader of the cached config sees. Locally no parameter is set and nothing is read.
 *
 * A container keeps what it read: to rotate a secret, change the parameter, then redeploy (new
 * containers), as docs/DEPLOY.md says.
 */
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { MiddlewareObj } from '@middy/core';
import { config } from './config';
import { describe, Unavailable } from './errors';
import { logger } from './logger';

let loaded: Promise<void> | undefined;

async function read(provider: SSMProvider | undefined): Promise<void> {
  const { secrets, sqs } = config();
  const names = [secrets.jwtSecretParameter, secrets.mysqlPasswordParameter].filter((n) => n !== undefined);
  // Loaded on first use only: the SDK client costs start-up time where no parameter is set.
  const ssm =
    provider ??
    new (await import('@aws-lambda-powertools/parameters/ssm')).SSMProvider({ clientConfig: { region: sqs.region } });
  const values = await ssm.getParametersByName<string>(Object.fromEntries(names.map((name) => [name, {}])), {
    decrypt: true,
    throwOnError: true,
    // One read per container; the provider's own cache is not consulted again.
    maxAge: 365 * 24 * 3600,
  });
  const value = (name: string): string => {
    const v = values[name];
    if (typeof v !== 'string') throw new Error(`SSM parameter ${name} has no value`);
    return v;
  };
  if (secrets.jwtSecretParameter) {
    const key = value(secrets.jwtSecretParameter);
    if (key.length < 32) throw new Error(`SSM parameter ${secrets.jwtSecretParameter} must be at least 32 characters`);
    config().auth.jwtSecret = new TextEncoder().encode(key);
  }
  if (secrets.mysqlPasswordParameter) config().mysql.password = value(secrets.mysqlPasswordParameter);
}

/**
 * Reads this function's secrets once per container; a failure is retried by the next invocation.
 * `provider` is for tests (an SSM endpoint of their own).
 */
export async function loadSecrets(provider?: SSMProvider): Promise<void> {
  const { jwtSecretParameter, mysqlPasswordParameter } = config().secrets;
  if (!jwtSecretParameter && !mysqlPasswordParameter) return;
  loaded ??= read(provider).catch((e: unknown) => {
    loaded = undefined;
    throw e;
  });
  try {
    await loaded;
  } catch (e: unknown) {
    logger.error('secrets unavailable', { error: describe(e) });
    throw new Unavailable('Secrets unavailable. Nothing was changed; retry shortly.');
  }
}

/** Forgets what was read (tests). */
export function resetSecrets(): void {
  loaded = undefined;
}

/** Middleware: the secrets are in the config before the handler runs. */
export function secrets<TEvent = unknown, TResult = unknown>(): MiddlewareObj<TEvent, TResult> {
  return {
    before: async () => {
      await loadSecrets();
    },
  };
}
