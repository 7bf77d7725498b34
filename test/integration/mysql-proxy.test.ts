/**
 * What RDS Proxy needs from the MySQL client, on the real MariaDB: the store never uses
 * server-side prepared statements (they pin a proxy connection), values are still escaped, and
 * MYSQL_TLS really asks the server for TLS (this MariaDB has none, so the handshake is refused).
 */
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { closeMysql, createMysqlPool, mysql, mysqlTls } from '../../lib/clients/mysql';
import { config } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';
import { MysqlDatabase } from '../../lib/stores/mysql-database';

let pool: Pool;

beforeAll(async () => {
  await migrate(config().mysql);
  // The stores' own pool options, with one connection, so its session counters see every statement.
  pool = createMysqlPool({ ...config().mysql, connectionLimit: 1 });
  for (const table of ['purchases', 'coupons', 'users', 'revoked_tokens']) await pool.query(`DELETE FROM ${table}`);
});

afterAll(async () => {
  await pool.end();
  await closeMysql();
});

async function sessionStatus(name: string): Promise<number> {
  const [rows] = await pool.query<RowDataPacket[]>('SHOW SESSION STATUS LIKE ?', [name]);
  return Number(rows[0]?.Value);
}

test('the store sends plain queries: no statement is prepared on the server', async () => {
  const db = new MysqlDatabase(pool);
  const prepared = await sessionStatus('Com_stmt_prepare');
  const queries = await sessionStatus('Questions');
  const tricky = 'o\'brien\\\\ "x" ; DROP TABLE users; --';
  expect(await db.insertUser({ username: 'proxy-user', kind: 'customer', passwordHash: tricky })).toBe(true);
  expect(await db.insertUser({ username: 'proxy-user', kind: 'customer', passwordHash: 'x' })).toBe(false);
  expect(await db.findUser('proxy-user')).toEqual({ username: 'proxy-user', kind: 'customer', passwordHash: tricky });
  const coupon = await db.insertCoupon('proxy-user', { name: 'c1', amount: 3, stock: 5, description: tricky });
  expect(coupon).toMatchObject({ name: 'c1', amount: 3, left: 3, description: tricky });
  await db.revokeToken('jti-1', new Date(Date.now() + 60_000));
  expect(
    await db.persistPurchases([
      {
        couponId: coupon?.id ?? 0,
        seller: 'proxy-user',
        name: 'c1',
        username: 'bob',
        grabbedAt: new Date().toISOString(),
        requestId: 'r-1',
      },
    ]),
  ).toEqual({ inserted: 1, rejected: [] });
  expect((await db.snapshot()).purchases).toHaveLength(1);
  await db.deleteCoupon(coupon?.id ?? 0);
  await db.deleteUser('proxy-user');
  expect(await db.findUser('proxy-user')).toBeUndefined();
  expect(await sessionStatus('Questions')).toBeGreaterThan(queries + 10);
  expect(await sessionStatus('Com_stmt_prepare')).toBe(prepared);
});

test('MYSQL_TLS asks the server for TLS, in the pool and in the migration', async () => {
  expect(mysqlTls(false)).toBeUndefined();
  expect(mysqlTls(true)).toEqual({ rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  const cfg = config().mysql;
  await closeMysql();
  cfg.tls = true;
  try {
    await expect(mysql().query('SELECT 1')).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' });
    await expect(migrate(cfg)).rejects.toMatchObject({ code: 'HANDSHAKE_NO_SSL_SUPPORT' });
  } finally {
    cfg.tls = false;
    await closeMysql();
  }
  const [rows] = await mysql().query<RowDataPacket[]>('SELECT 1 AS one');
  expect(rows[0]?.one).toBe(1);
});
