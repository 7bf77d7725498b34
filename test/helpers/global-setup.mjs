/**
 * Once per test run: an SQS endpoint for every worker. With SQS_ENDPOINT set (LocalStack) it is
 * used as is; otherwise the embedded emulator is started on a free port. Redis and MySQL must
 * already run: a missing one fails the run here, loudly, rather than skipping tests.
 * (Plain ES module: the emulator package ships only ES modules.)
 */
import { createServer } from 'node:net';
import { buildApp } from 'fauxqs';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export default async function globalSetup() {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch {
    throw new Error(`Redis is not reachable at ${redisUrl}: start it before running the tests (see README).`);
  } finally {
    redis.disconnect();
  }

  const host = process.env.MYSQL_HOST ?? '127.0.0.1';
  const port = Number(process.env.MYSQL_PORT ?? 3306);
  try {
    const conn = await mysql.createConnection({
      host,
      port,
      user: process.env.MYSQL_USER ?? 'root',
      password: process.env.MYSQL_PASSWORD ?? '',
      connectTimeout: 3000,
    });
    await conn.end();
  } catch (e) {
    throw new Error(
      `MySQL is not reachable at ${host}:${port} (${e}): start it before running the tests (see README).`,
    );
  }

  if (!process.env.SQS_ENDPOINT) {
    // On loopback only, as scripts/lib/stack.ts binds it (startFauxqs binds every interface).
    const app = buildApp({ logger: false });
    await app.listen({ port: await freePort(), host: '127.0.0.1' });
    process.env.SQS_ENDPOINT = `http://127.0.0.1:${app.server.address().port}`;
    globalThis.__fauxqs = { stop: () => app.close() };
  }
}
