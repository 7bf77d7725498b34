/**
 * Host names of Redis nodes are resolved without libuv's thread pool: with the pool busy hashing
 * passwords, a connection to a node named in DNS still opens at once (before, each node's
 * `dns.lookup` queued behind scrypt and reconnects timed out). A tiny DNS server on loopback
 * answers for the test's name.
 */

import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { promises as dnsPromises, getServers, lookup, setServers } from 'node:dns';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedis, resolveHost } from '../../lib/clients/redis';
import { config } from '../../lib/config';

let server: Socket;
let queries = 0;
const original = getServers();

/** Answers every A query with 127.0.0.1, and AAAA queries with no address. */
function answer(query: Buffer): Buffer {
  let offset = 12;
  while ((query[offset] ?? 0) !== 0) offset += (query[offset] ?? 0) + 1;
  const questionEnd = offset + 5;
  const type = query.readUInt16BE(offset + 1);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(type === 1 ? 1 : 0, 6);
  const question = query.subarray(12, questionEnd);
  if (type !== 1) return Buffer.concat([header, question]);
  const record = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
  return Buffer.concat([header, question, record]);
}

beforeAll(async () => {
  server = createSocket('udp4');
  server.on('message', (msg, rinfo) => {
    queries++;
    server.send(answer(msg), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const servers = [`127.0.0.1:${server.address().port}`];
  setServers(servers);
  dnsPromises.setServers(servers);
});

afterAll(() => {
  setServers(original);
  dnsPromises.setServers(original);
  server.close();
});

/**
 * Occupies all 4 threads of libuv's pool, as a burst of password hashing does, without using the
 * CPU (which would starve Redis itself on a small machine): each thread blocks opening a FIFO
 * until `release` opens its other end.
 */
function blockedPool(): { release: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'seckill-pool-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const readers = Array.from({ length: 4 }, () => open(fifo, 'r'));
  return {
    release: async () => {
      const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      for (const r of await Promise.all(readers)) await r.close();
      closeSync(writer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('resolveHost answers from DNS while the thread pool is busy; dns.lookup waits behind it', async () => {
  const pool = blockedPool();
  let looked = false;
  lookup('localhost', () => {
    looked = true;
  });
  const started = Date.now();
  const address = await new Promise<string>((resolve, reject) =>
    resolveHost('cache.seckill.test', {}, (e, a) => (e ? reject(e) : resolve(String(a)))),
  );
  const resolvedMs = Date.now() - started;
  // dns.lookup is still queued behind the blocked threads.
  expect(looked).toBe(false);
  await pool.release();
  expect(address).toBe('127.0.0.1');
  expect(queries).toBeGreaterThan(0);
  expect(resolvedMs).toBeLessThan(200);
});

test('a Redis client given a host name connects while the thread pool is busy', async () => {
  const port = new URL(config().redis.url).port || '6379';
  const r = createRedis(`redis://cache.seckill.test:${port}`, false, { ...config().redis, commandTimeoutMs: 2000 });
  const pool = blockedPool();
  try {
    // The client connects (and reconnects) with the pool blocked.
    expect(await r.ping()).toBe('PONG');
    r.disconnect(true);
    expect(await r.ping()).toBe('PONG');
  } finally {
    await pool.release();
    r.disconnect();
  }
});
