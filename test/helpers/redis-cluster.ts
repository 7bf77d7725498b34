/**
 * A Redis Cluster of its own for a test: Debian's redis-server as 3 primaries and 3 replicas on
 * loopback, optionally as ElastiCache runs it: TLS only (certificates made here with openssl, valid
 * for the host name `localhost` only), nodes announced by host name, the default user disabled and
 * an ACL user `app`. The nodes are `ServerProcess`es (test/helpers/faults.ts): `stopAll()` stops them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { freePort } from '../../scripts/lib/ports';
import { EPHEMERAL_REDIS, portOpen, ServerProcess, waitFor } from './faults';

export const CLUSTER_USER = 'app';
export const CLUSTER_PASSWORD = 'cluster-test-pw';

export interface ClusterNode {
  server: ServerProcess;
  port: number;
  busPort: number;
  id: string;
}

export interface LocalCluster {
  tls: boolean;
  nodes: ClusterNode[];
  /** CA certificate (PEM file) of a TLS cluster. */
  caFile: string | undefined;
  /** `REDIS_URL` for the application: two seed nodes, comma-separated. */
  url: string;
  /** A single-node admin connection (closed by `close()`). */
  admin(node: ClusterNode): Redis;
  /** The node serving `slot` as primary now (asks the given node, or the first live one). */
  primaryOf(slot: number): Promise<ClusterNode>;
  /** The replica following `primary`. */
  replicaOf(primary: ClusterNode): Promise<ClusterNode>;
  /** Waits until every live node reports `cluster_state:ok` and agrees on the slots' owners. */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A CA and one node certificate for `localhost` (no IP address in it: host names are checked). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  const cert = join(dir, 'node.crt');
  const key = join(dir, 'node.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=seckill test CA']);
  run(['req', '-new', ...ec, '-keyout', key, '-out', join(dir, 'node.csr'), '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    join(dir, 'node.csr'),
    '-CA',
    ca,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    join(dir, 'san.ext'),
  ]);
  return { ca, cert, key };
}

const SHARDS = 3;

export async function startCluster(options: { tls: boolean; nodeTimeoutMs?: number }): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'seckill-cluster-'));
  const certs = options.tls ? makeCertificates(dir) : undefined;
  const admins: Redis[] = [];
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < 2 * SHARDS; i++) {
    const port = await freePort();
    const busPort = await freePort();
    const listen = certs
      ? [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          certs.cert,
          '--tls-key-file',
          certs.key,
          '--tls-ca-cert-file',
          certs.ca,
          '--tls-auth-clients',
          'no',
          '--tls-cluster',
          'yes',
          '--tls-replication',
          'yes',
          // As ElastiCache with TLS: nodes are announced by a name the certificate holds.
          '--cluster-announce-hostname',
          'localhost',
          '--cluster-preferred-endpoint-type',
          'hostname',
          // As ElastiCache with an ACL: no default user; replicas authenticate as the app user.
          '--user',
          'default',
          'off',
          '--user',
          CLUSTER_USER,
          'on',
          `>${CLUSTER_PASSWORD}`,
          '~*',
          '&*',
          '+@all',
          '--masteruser',
          CLUSTER_USER,
          '--masterauth',
          CLUSTER_PASSWORD,
        ]
      : ['--port', String(port)];
    const server = new ServerProcess(
      `redis-server ${port}`,
      port,
      'redis-server',
      [
        ...listen,
        ...EPHEMERAL_REDIS,
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-port',
        String(busPort),
        '--repl-diskless-sync-delay',
        '0',
        '--cluster-node-timeout',
        String(options.nodeTimeoutMs ?? 1000),
      ],
      () => portOpen(port),
      {},
      i === 0 ? () => rmSync(dir, { recursive: true, force: true }) : () => {},
    );
    nodes.push({ server, port, busPort, id: '' });
  }
  await Promise.all(nodes.map((n) => n.server.start()));

  const ca = certs ? readFileSync(certs.ca) : undefined;
  const connect = (node: ClusterNode): Redis => {
    const r = new Redis({
      host: '127.0.0.1',
      port: node.port,
      tls: ca ? { ca, servername: 'localhost' } : undefined,
      username: certs ? CLUSTER_USER : undefined,
      password: certs ? CLUSTER_PASSWORD : undefined,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      lazyConnect: false,
    });
    r.on('error', () => {});
    return r;
  };
  const admin = (node: ClusterNode): Redis => {
    const r = connect(node);
    admins.push(r);
    return r;
  };
  const call = async (node: ClusterNode, ...args: (string | number)[]) => {
    const r = connect(node);
    try {
      return await r.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      r.disconnect();
    }
  };

  for (const n of nodes) n.id = String(await call(n, 'CLUSTER', 'MYID'));
  const per = Math.ceil(16384 / SHARDS);
  for (let s = 0; s < SHARDS; s++) {
    const node = nodes[s] as ClusterNode;
    await call(node, 'CLUSTER', 'ADDSLOTSRANGE', s * per, Math.min(16383, (s + 1) * per - 1));
  }
  const first = nodes[0] as ClusterNode;
  for (const n of nodes.slice(1)) await call(first, 'CLUSTER', 'MEET', '127.0.0.1', n.port, n.busPort);
  await waitFor(
    'every node to know the others',
    async () => {
      for (const n of nodes) {
        const known = String(await call(n, 'CLUSTER', 'NODES'))
          .trim()
          .split('\n');
        if (known.length < nodes.length) return false;
      }
      return true;
    },
    20_000,
    100,
  );
  for (let s = 0; s < SHARDS; s++) {
    await call(nodes[SHARDS + s] as ClusterNode, 'CLUSTER', 'REPLICATE', (nodes[s] as ClusterNode).id);
  }

  const cluster: LocalCluster = {
    tls: options.tls,
    nodes,
    caFile: certs?.ca,
    url: nodes
      .slice(0, 2)
      .map((n) =>
        certs ? `rediss://${CLUSTER_USER}:${CLUSTER_PASSWORD}@localhost:${n.port}` : `redis://127.0.0.1:${n.port}`,
      )
      .join(','),
    admin,
    async primaryOf(slot: number) {
      for (const n of nodes) {
        try {
          const slots = (await call(n, 'CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
          const range = slots.find(([from, to]) => slot >= from && slot <= to);
          const id = range?.[2][2];
          const node = nodes.find((x) => x.id === id);
          if (node) return node;
        } catch {
          // a dead node: ask the next one
        }
      }
      throw new Error(`no node serves slot ${slot}`);
    },
    async replicaOf(primary: ClusterNode) {
      const lines = String(await call(primary, 'CLUSTER', 'NODES'))
        .trim()
        .split('\n');
      const line = lines.find((l) => l.split(' ')[3] === primary.id && /slave|replica/.test(l.split(' ')[2] ?? ''));
      const node = nodes.find((x) => x.id === line?.split(' ')[0]);
      if (!node) throw new Error(`no replica of ${primary.port}`);
      return node;
    },
    async settled(timeoutMs = 20_000) {
      await waitFor(
        'the cluster to settle',
        async () => {
          const views: string[] = [];
          for (const n of nodes) {
            let info: string;
            try {
              info = String(await call(n, 'CLUSTER', 'INFO'));
            } catch {
              continue; // a node that is down
            }
            if (!/cluster_state:ok/.test(info)) return false;
            const slots = (await call(n, 'CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
            views.push(
              JSON.stringify(
                slots.map(([from, to, owner]) => [from, to, owner[2]]).sort((a, b) => Number(a[0]) - Number(b[0])),
              ),
            );
          }
          return views.length > 0 && views.every((v) => v === views[0]);
        },
        timeoutMs,
        100,
      );
    },
    async close() {
      // Only the open ones: disconnecting a closed client arms a timer nothing clears.
      for (const r of admins) if (r.status !== 'end') r.disconnect();
      await Promise.all(nodes.slice(1).map((n) => n.server.close()));
      await first.server.close();
    },
  };
  await cluster.settled();
  await waitFor(
    'every replica to sync',
    async () => {
      for (const n of nodes.slice(SHARDS)) {
        if (!/master_link_status:up/.test(String(await call(n, 'INFO', 'replication')))) return false;
      }
      return true;
    },
    20_000,
    100,
  );
  return cluster;
}

/** The hash slot of a coupon's keys. */
export function couponSlot(seller: string, name: string): number {
  return calculateSlot(`{${seller}/${name}}`);
}
