/**
 * One MySQL pool per container, created on first use; closable for tests and scripts.
 * Built for RDS Proxy: the stores use plain `query` (values escaped by the client), never `execute`,
 * whose server-side prepared statements pin a proxy connection to the client; a Lambda container
 * holds 2 connections by default (MYSQL_CONNECTION_LIMIT); MYSQL_TLS turns on TLS.
 */
import { createPool, type Pool, type SslOptions } from 'mysql2/promise';
import { type Config, config } from '../config';

let pool: Pool | undefined;

/** TLS options of MYSQL_TLS: certificates checked against Node's CA store (Amazon's roots for RDS Proxy). */
export function mysqlTls(tls: boolean): SslOptions | undefined {
  return tls ? { rejectUnauthorized: true, minVersion: 'TLSv1.2' } : undefined;
}

/** The pool the stores use, from these settings (a test may build one of its own with the same options). */
export function createMysqlPool(settings: Config['mysql']): Pool {
  const { host, port, user, password, database, connectionLimit, tls } = settings;
  return createPool({
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
    ssl: mysqlTls(tls),
  });
}

export function mysql(): Pool {
  pool ??= createMysqlPool(config().mysql);
  return pool;
}

export async function closeMysql(): Promise<void> {
  const current = pool;
  pool = undefined;
  if (current) await current.end();
}
