/**
 * Redis Cluster as ElastiCache runs it: 3 primaries + 3 replicas (Debian's redis-server), TLS only
 * with certificates for a host name, nodes announced by that name, no default user and an ACL user.
 * `REDIS_URL` names two seed nodes as `rediss://app:<password>@localhost:<port>`; the client must
 * carry TLS and the credentials to every node it discovers. The API contract and a concurrent sale
 * then run through the handlers in process.
 */
import { Cluster } from 'ioredis';
import { createRedis, type RedisClient } from '../../lib/clients/redis';
import { config } from '../../lib/config';
import { isCacheFailure } from '../../lib/errors';
import { errorResponse } from '../../lib/http/handler';
import { couponKeys } from '../../lib/keys';
import { redisReachable } from '../../scripts/lib/local-stack';
import { type ContractTarget, describeContract } from '../contract/contract-suite';
import { client, inProcessApi } from '../helpers/api';
import {
  inParallel,
  observe,
  purchasers,
  registeredCustomers,
  saleState,
  statusCounts,
  stopAll,
} from '../helpers/faults';
import { CLUSTER_PASSWORD, CLUSTER_USER, couponSlot, type LocalCluster, startCluster } from '../helpers/redis-cluster';
import { type Stack, startStack } from '../helpers/stack';

let cluster: LocalCluster;
let stack: Stack;
const api = client(inProcessApi());

beforeAll(async () => {
  const started = Date.now();
  cluster = await startCluster({ tls: true });
  process.env.REDIS_URL = cluster.url;
  process.env.REDIS_CLUSTER = 'true';
  process.env.REDIS_TLS_CA_FILE = cluster.caFile;
  stack = await startStack();
  stack.startConsumer();
  observe('cluster-tls: start', { clusterStartMs: Date.now() - started });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await cluster?.close();
  await stopAll();
});

describe('connecting', () => {
  test('the handlers client reaches every primary over TLS as the ACL user, from a list of seeds', async () => {
    const r = stack.redis as unknown as RedisClient;
    expect(r).toBeInstanceOf(Cluster);
    const primaries = (r as Cluster).nodes('master');
    expect(primaries).toHaveLength(3);
    for (const node of primaries) {
      expect(await node.call('ACL', 'WHOAMI')).toBe(CLUSTER_USER);
      // Discovered by name, as the cluster announces its nodes: the certificate names `localhost`.
      expect(node.options.host).toBe('localhost');
      expect(node.options.tls).toBeDefined();
    }
  });

  test('the start-up check uses that client: it passes here, and fails with a wrong password', async () => {
    const settings = config().redis;
    expect(await redisReachable(settings)).toBe(true);
    const wrong = settings.url.replaceAll(`:${CLUSTER_PASSWORD}@`, ':wrong-password@');
    expect(await redisReachable({ ...settings, url: wrong })).toBe(false);
    // Without the CA the certificates are not trusted: no silent fallback to an unchecked connection.
    expect(await redisReachable({ ...settings, tlsCaFile: undefined })).toBe(false);
  });

  test('a seed node down: the client starts from the next seed', async () => {
    const [, second] = settingsUrls();
    const r = createRedis(`${settingsUrls()[0]?.replace(/:\d+$/, ':1')},${second}`, true, config().redis);
    try {
      expect(await r.ping()).toBe('PONG');
    } finally {
      r.disconnect();
    }
  });
});

test('no seed node reachable: a cache failure, answered 503 with Retry-After, never 500', async () => {
  const r = createRedis('redis://127.0.0.1:1,redis://127.0.0.1:2', true, config().redis);
  try {
    const e: unknown = await r.ping().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(Error);
    expect(isCacheFailure(e)).toBe(true);
    const res = errorResponse(e);
    expect(res.statusCode).toBe(503);
    expect(res.headers?.['Retry-After']).toBe('1');
  } finally {
    r.disconnect();
  }
});

function settingsUrls(): string[] {
  return config().redis.url.split(',');
}

const target = (): ContractTarget => ({ client: () => api, stack: () => stack, transport: 'in-process' });
describeContract('on a TLS cluster', target);

test('concurrency on the cluster: 300 customers x 6 coupons of 20 (on every shard), 100 in flight: exactly 120 grabs, all persisted', async () => {
  const SELLER = 'cl_seller';
  const sellerToken = await api.user(SELLER, 'saler');
  const names = Array.from({ length: 6 }, (_, j) => `cl-${j}`);
  const shards = new Set<number>();
  for (const name of names) {
    expect((await api.createCoupon(sellerToken, SELLER, { name, amount: 20, stock: 5 })).status).toBe(201);
    shards.add((await cluster.primaryOf(couponSlot(SELLER, name))).port);
  }
  expect(shards.size).toBeGreaterThanOrEqual(2);
  const usernames = Array.from({ length: 300 }, (_, i) => `cl_c${i}`);
  const tokens = await registeredCustomers(usernames, 50);
  const jobs = usernames.flatMap((_, i) => names.map((name) => ({ i, name })));
  jobs.sort((a, b) => ((a.i * 7919 + a.name.length * 31) % 101) - ((b.i * 7919 + b.name.length * 31) % 101));
  const started = Date.now();
  const results = await inParallel(
    100,
    jobs.map(({ i, name }) => async () => ({ i, name, status: (await api.grab(tokens[i], SELLER, name)).status })),
  );
  const grabMs = Date.now() - started;
  expect(statusCounts(results.map((r) => r.status))).toEqual({ 201: 120, 204: jobs.length - 120 });
  await stack.drain(60_000);
  for (const name of names) {
    const winners = results
      .filter((r) => r.name === name && r.status === 201)
      .map((r) => usernames[r.i] ?? '')
      .sort();
    expect(winners).toHaveLength(20);
    expect(await purchasers(stack.db, SELLER, name)).toEqual(winners);
    expect(await saleState(stack.db, stack.redis, SELLER, name)).toMatchObject({
      rows: 20,
      mysqlLeft: 0,
      redisLeft: 0,
      holders: winners,
      pending: [],
    });
  }
  expect(await stack.redis.exists(couponKeys(SELLER, 'cl-0').info)).toBe(1);
  observe('cluster-tls: concurrency', {
    requests: jobs.length,
    shards: shards.size,
    grabMs,
    grabsPerSecond: Math.round(jobs.length / (grabMs / 1000)),
  });
}, 120_000);
