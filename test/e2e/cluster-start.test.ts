/**
 * `npm start` against a plain (no TLS) Redis Cluster of 3 primaries + 3 replicas with
 * `REDIS_CLUSTER=true` and two seed nodes in `REDIS_URL`: its start-up check, then the API contract
 * over real HTTP.
 */
import { type ContractTarget, describeContract } from '../contract/contract-suite';
import { type Client, client, httpApi } from '../helpers/api';
import { stopAll } from '../helpers/faults';
import { type RunningServer, startServer } from '../helpers/offline';
import { type LocalCluster, startCluster } from '../helpers/redis-cluster';
import { type Stack, startStack } from '../helpers/stack';

let cluster: LocalCluster;
let server: RunningServer;
let stack: Stack;
let api: Client;

beforeAll(async () => {
  cluster = await startCluster({ tls: false });
  process.env.REDIS_URL = cluster.url;
  process.env.REDIS_CLUSTER = 'true';
  stack = await startStack();
  // The server runs its own consumer on this worker's queue, with the environment above.
  server = await startServer('scripts/start.ts', { QUEUE_URL: stack.queueUrl });
  api = client(httpApi(server.baseUrl));
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await stack?.close();
  await cluster?.close();
  await stopAll();
});

test('npm start checked the cluster with the handlers client and serves from it', async () => {
  expect(server.output()).not.toMatch(/cannot reach/);
  expect((await api.health()).body).toMatchObject({ redis: 'ok' });
});

const target = (): ContractTarget => ({ client: () => api, stack: () => stack, transport: 'http' });
describeContract('npm start on a Redis Cluster', target);
