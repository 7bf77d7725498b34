/**
 * `npm run reset`: empties this project's local data so a run starts from nothing. It flushes the
 * configured Redis database (`REDIS_URL`) and drops and recreates the MySQL database
 * (`MYSQL_DATABASE`) with the current schema. Both together: dropping MySQL alone while Redis stays
 * warm would list a seller's coupon twice once it is created again. Refuses any stage but
 * `local` and `test`. Stop `npm run dev` / `npm start` first (the embedded queue lives in their memory).
 */
import { createConnection } from 'mysql2/promise';
import { createRedis } from '../lib/clients/redis';
import { config, configuredStage } from '../lib/config';
import { migrate } from '../lib/db/migrations';
import { primaries } from './lib/stack';

async function reset(): Promise<void> {
  const stage = configuredStage();
  if (stage !== 'local' && stage !== 'test') {
    console.error(`[seckill] npm run reset refuses stage "${stage}": it only empties local and test data`);
    process.exit(2);
  }
  const cfg = config();
  const { host, port, user, password, database } = cfg.mysql;
  const client = createRedis();
  try {
    for (const node of await primaries(client)) await node.flushdb();
  } finally {
    client.disconnect();
  }
  console.log(`[seckill] flushed Redis ${cfg.redis.url}`);
  const conn = await createConnection({ host, port, user, password });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${database.replace(/`/g, '``')}\``);
  } finally {
    await conn.end();
  }
  await migrate(cfg.mysql);
  console.log(`[seckill] recreated MySQL database ${database} on ${host}:${port}`);
}

reset().catch((e: unknown) => {
  console.error(`[seckill] reset failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
