/**
 * `npm run reset` empties this run's Redis database and recreates its MySQL database with the
 * schema, and refuses any stage but local and test without touching anything.
 */
import Redis from 'ioredis';
import { createConnection, type RowDataPacket } from 'mysql2/promise';
import { closeMysql, mysql } from '../../lib/clients/mysql';
import { config } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { runToExit } from '../helpers/faults';

const reset = (env: Record<string, string> = {}) => runToExit('scripts/reset.ts', env, 60_000);

const admin = new Redis(config().redis.url);

async function seed(): Promise<void> {
  await migrate(config().mysql);
  await mysql().query("INSERT INTO users (username, kind, password_hash) VALUES ('reset_probe', 'customer', 'x')");
  await admin.set('reset:probe', '1');
}

async function users(): Promise<number> {
  const [rows] = await mysql().query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM users');
  return Number(rows[0]?.n);
}

afterAll(async () => {
  admin.disconnect();
  await closeMysql();
});

test('flushes Redis and recreates the MySQL database with the schema', async () => {
  await seed();
  const { code, output } = await reset();
  expect(output).toContain(`recreated MySQL database ${config().mysql.database}`);
  expect(code).toBe(0);
  expect(await admin.dbsize()).toBe(0);
  expect(await users()).toBe(0);
  // The schema is in place (the last migration recorded), ready for npm run dev.
  const { host, port, user, password, database } = config().mysql;
  const conn = await createConnection({ host, port, user, password, database });
  const [versions] = await conn.query<RowDataPacket[]>('SELECT MAX(version) AS v FROM schema_migrations');
  await conn.end();
  expect(Number(versions[0]?.v)).toBeGreaterThan(0);
}, 90_000);

test('refuses another stage and changes nothing', async () => {
  await seed();
  const before = await users();
  const { code, output } = await reset({
    STAGE: 'prod',
    JWT_SECRET: 'a-production-secret-of-at-least-32-characters',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/seckill-purchases',
  });
  expect(code).not.toBe(0);
  expect(output).toContain('refuses stage "prod"');
  expect(await admin.get('reset:probe')).toBe('1');
  expect(await users()).toBe(before);
}, 90_000);
