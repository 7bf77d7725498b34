/** One MySQL pool per container, created on first use; closable for tests and scripts. */
import { createPool, type Pool } from 'mysql2/promise';
import { config } from '../config';

let pool: Pool | undefined;

export function mysql(): Pool {
  if (!pool) {
    const { host, port, user, password, database, connectionLimit } = config().mysql;
    pool = createPool({
      host,
      port,
      user,
      password,
      database,
      connectionLimit,
      charset: 'utf8mb4_bin',
      timezone: 'Z',
      connectTimeout: 3000,
      enableKeepAlive: true,
    });
  }
  return pool;
}

export async function closeMysql(): Promise<void> {
  const current = pool;
  pool = undefined;
  if (current) await current.end();
}
