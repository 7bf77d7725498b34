/**
 * `npm run dev`: the API on http://localhost:3000 through serverless-offline, with the consumer
 * live. Queue messages are delivered to the consumer by a poller that invokes it through
 * serverless-offline's Lambda API, honouring `batchItemFailures` as the AWS event source does;
 * serverless-offline itself runs the outbox sweeper on its schedule.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from '../lib/config';
import { log, prepareLocalRun } from './lib/local-stack';
import { portOpen } from './lib/ports';
import { startConsumer } from './lib/stack';
import { waitFor } from './lib/wait-for';
import type { Poller } from './queue/poller';

const SERVICE = 'seckill';

/** serverless.yml's parameters for a deployed stage run locally: this machine's, no SSM. */
function localParams(cfg: Config, jwtSecret: string, lambdaPort: number): string[] {
  const params: Record<string, string> = {
    jwtSecret,
    mysqlPassword: cfg.mysql.password,
    redisUrl: cfg.redis.url,
    redisCluster: String(cfg.redis.cluster),
    mysqlHost: cfg.mysql.host,
    mysqlPort: String(cfg.mysql.port),
    mysqlUser: cfg.mysql.user,
    mysqlDatabase: cfg.mysql.database,
    mysqlTls: String(cfg.mysql.tls),
    queueUrl: cfg.sqs.queueUrl,
    dlqUrl: cfg.sqs.dlqUrl,
    sqsEndpoint: cfg.sqs.endpoint ?? '',
    lambdaEndpoint: `http://127.0.0.1:${lambdaPort}`,
  };
  // An empty value is not a parameter osls accepts: the stage's default stands for it. The secrets'
  // SSM names stay too, but a value given explicitly wins over a parameter (lib/config.ts).
  return Object.entries(params)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `--param=${name}=${value}`);
}

async function main() {
  const queue = await prepareLocalRun();
  const cfg = queue.cfg;

  const { httpPort, lambdaPort } = cfg.local;
  const stage = cfg.stage;
  const offline: ChildProcess = spawn(
    process.execPath,
    [
      require.resolve('osls/bin/serverless.js'),
      'offline',
      'start',
      '--stage',
      stage,
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
      // One module instance per handler, shared by concurrent requests, as a warm Lambda container
      // reuses its clients; worker threads would cold-start a copy per concurrent request.
      '--useInProcess',
      // A deployed stage's settings come from command-line parameters and SSM, which
      // serverless-offline does not read: hand it the ones this run's configuration checked instead.
      ...(['local', 'test'].includes(stage) ? [] : localParams(cfg, queue.env.JWT_SECRET ?? '', lambdaPort)),
      ...process.argv.slice(2),
    ],
    // The hot handlers reach restoreCache through serverless-offline's Lambda endpoint.
    { stdio: 'inherit', env: { ...queue.env, LAMBDA_ENDPOINT: `http://127.0.0.1:${lambdaPort}` } },
  );

  const lambda = new LambdaClient({
    region: cfg.sqs.region,
    endpoint: `http://127.0.0.1:${lambdaPort}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  async function invoke(fn: string, payload: unknown): Promise<unknown> {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: `${SERVICE}-${stage}-${fn}`, Payload: Buffer.from(JSON.stringify(payload)) }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : 'null';
    if (out.FunctionError) throw new Error(`${fn} failed: ${text}`);
    return JSON.parse(text);
  }

  let poller: Poller | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    offline.kill('SIGTERM');
    await poller?.stop();
    await queue.close();
    process.exit(code);
  };
  offline.once('exit', (code) => void shutdown(code ?? 1));
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  await waitFor(`something listening on port ${lambdaPort}`, () => portOpen(lambdaPort), 120_000, 200);
  // The consumer runs where the other functions do: in serverless-offline, invoked through its Lambda API.
  poller = startConsumer(queue, {
    deliver: async (records) => {
      const result = (await invoke('persistPurchases', { Records: records })) as {
        batchItemFailures?: { itemIdentifier: string }[];
      };
      return (result.batchItemFailures ?? []).map((f) => f.itemIdentifier);
    },
    onError: (e) =>
      log(`consumer delivery failed, batch left in the queue: ${e instanceof Error ? e.message : String(e)}`),
  });
  log(`consumer polling ${cfg.sqs.queueUrl}; API on http://localhost:${httpPort}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
