/**
 * The schema, as ordered migrations. `migrate()` applies the ones not yet recorded in
 * `schema_migrations`; running it again changes nothing. Names and usernames use a binary collation
 * so MySQL compares them exactly as Redis keys do (`C1` and `c1` are different coupons).
 */
import { type Connection, createConnection } from 'mysql2/promise';
import { mysqlTls } from '../clients/mysql';
import type { Config } from '../config';

export const MIGRATIONS: { version: number; name: string; sql: string[] }[] = [
  {
    version: 1,
    name: 'users, coupons, purchases, revoked tokens',
    sql: [
      `CREATE TABLE IF NOT EXISTS users (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        username VARCHAR(32) NOT NULL,
        kind ENUM('customer', 'saler') NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE KEY uq_users_username (username)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS coupons (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        seller VARCHAR(32) NOT NULL,
        name VARCHAR(60) NOT NULL,
        amount INT UNSIGNED NOT NULL,
        \`left\` INT NOT NULL,
        stock INT UNSIGNED NOT NULL,
        description VARCHAR(255) NOT NULL DEFAULT '',
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE KEY uq_coupons_seller_name (seller, name)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS purchases (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        coupon_id BIGINT UNSIGNED NOT NULL,
        username VARCHAR(32) NOT NULL,
        grabbed_at DATETIME(3) NOT NULL,
        created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        UNIQUE KEY uq_purchases_coupon_user (coupon_id, username),
        KEY ix_purchases_user (username, grabbed_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS revoked_tokens (
        jti VARCHAR(64) NOT NULL PRIMARY KEY,
        expires_at DATETIME(3) NOT NULL,
        KEY ix_revoked_expires (expires_at)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 2,
    // utf8mb4_bin pads with spaces: 'c1 ' collided with 'c1'. The binary NO PAD collation is
    // utf8mb4_nopad_bin on MariaDB and utf8mb4_0900_bin on MySQL 8, hence the prepared statement.
    name: 'coupon names compared exactly, trailing spaces included',
    sql: [
      `SET @nopad = (SELECT COLLATION_NAME FROM information_schema.COLLATIONS
        WHERE COLLATION_NAME IN ('utf8mb4_0900_bin', 'utf8mb4_nopad_bin') ORDER BY COLLATION_NAME LIMIT 1)`,
      `SET @alter = CONCAT('ALTER TABLE coupons MODIFY name VARCHAR(60) CHARACTER SET utf8mb4 COLLATE ', @nopad, ' NOT NULL')`,
      'PREPARE alter_name FROM @alter',
      'EXECUTE alter_name',
      'DEALLOCATE PREPARE alter_name',
    ],
  },
];

export async function migrate(cfg: Config['mysql'], log: (line: string) => void = () => {}): Promise<number[]> {
  const { host, port, user, password, database } = cfg;
  const ssl = mysqlTls(cfg.tls);
  const server = await createConnection({ host, port, user, password, ssl, connectTimeout: 3000 });
  try {
    await server.query(
      `CREATE DATABASE IF NOT EXISTS \`${database.replace(/`/g, '``')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await server.end();
  }
  const db = await createConnection({ host, port, user, password, database, ssl, connectTimeout: 3000 });
  try {
    return await applyPending(db, log);
  } finally {
    await db.end();
  }
}

async function applyPending(db: Connection, log: (line: string) => void): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE=InnoDB`);
  // One migrator at a time (several test workers or containers may start together).
  await db.query("SELECT GET_LOCK('seckill_migrate', 30)");
  try {
    const [rows] = await db.query('SELECT version FROM schema_migrations');
    const done = new Set((rows as { version: number }[]).map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const statement of m.sql) await db.query(statement);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [m.version, m.name]);
      log(`applied migration ${m.version}: ${m.name}`);
      applied.push(m.version);
    }
    return applied;
  } finally {
    await db.query("SELECT RELEASE_LOCK('seckill_migrate')");
  }
}
