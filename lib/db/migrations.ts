/**
 * The schema, as ordered migrations. `migrate()` applies the ones not yet recorded in
 * `schema_migrations`; running it again changes nothing. Names and usernames use a binary collation
 * so MySQL compares them exactly as Redis keys do (`C1` and `c1` are different coupons); usernames
 * are also unique regardless of case, through a unique key on their lower-case form (migration 3).
 */
import { type Connection, createConnection } from 'mysql2/promise';
import { mysqlTls } from '../clients/mysql';
import type { Config } from '../config';
import { isValidCouponName } from '../validation';

type Log = (line: string) => void;

interface Migration {
  version: number;
  name: string;
  sql: string[];
  /** A step SQL cannot express (Unicode normalization), run after `sql`. */
  run?: (db: Connection, log: Log) => Promise<void>;
}

/**
 * Coupon names that break the rules of api.md (not NFC, format characters, dots alone) are renamed:
 * format characters removed and NFC applied; when that leaves nothing addressable, `coupon-<id>`;
 * when the seller already has that name, the name cut to fit plus `-<id>`. Recorded in
 * `coupon_renames`. Purchases refer to coupons by id, so only the coupon row changes.
 */
/** After migration 3's statements: says how many users it renamed. */
async function reportUsernameRenames(db: Connection, log: Log): Promise<void> {
  const [renamed] = await db.query('SELECT COUNT(*) AS n FROM username_renames');
  const n = Number((renamed as { n: number }[])[0]?.n ?? 0);
  // Redis still holds the old spellings until it is rebuilt from MySQL.
  if (n > 0) log(`renamed ${n} users (see username_renames): flush Redis so the cache is rebuilt`);
}

async function renameCouponNames(db: Connection, log: Log): Promise<void> {
  const [rows] = await db.query('SELECT id, seller, name FROM coupons ORDER BY id');
  const coupons = rows as { id: number; seller: string; name: string }[];
  const taken = new Set(coupons.map((c) => `${c.seller}/${c.name}`));
  let renamed = 0;
  for (const c of coupons) {
    if (isValidCouponName(c.name as unknown)) continue;
    const id = String(c.id);
    const cleaned = [...c.name.replace(/\p{Cf}/gu, '').normalize('NFC')].slice(0, 60).join('');
    let name = isValidCouponName(cleaned) ? cleaned : `coupon-${id}`;
    if (taken.has(`${c.seller}/${name}`)) name = `${[...name].slice(0, 59 - id.length).join('')}-${id}`;
    taken.add(`${c.seller}/${name}`);
    await db.query('INSERT IGNORE INTO coupon_renames (coupon_id, old_name, new_name) VALUES (?, ?, ?)', [
      c.id,
      c.name,
      name,
    ]);
    await db.query('UPDATE coupons SET name = ? WHERE id = ? AND name = ?', [name, c.id, c.name]);
    renamed++;
  }
  // Redis still holds the old names until it is rebuilt from MySQL.
  if (renamed > 0) log(`renamed ${renamed} coupons (see coupon_renames): flush Redis so the cache is rebuilt`);
}

export const MIGRATIONS: Migration[] = [
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
  {
    version: 3,
    // api.md: usernames are unique regardless of case, and a name of dots alone cannot be addressed.
    // Existing users that would break either rule are renamed (docs/ARCHITECTURE.md, "Names"): the
    // oldest of a case-insensitive group keeps its name; each later one, and each dot-only name,
    // becomes `<name cut to fit>-<id>` (`user-<id>` for dots), across users, coupons and
    // purchases, and is recorded in `username_renames`.
    name: 'usernames unique regardless of case; no usernames of dots alone',
    sql: [
      `CREATE TABLE IF NOT EXISTS username_renames (
        user_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        old_username VARCHAR(32) NOT NULL,
        new_username VARCHAR(32) NOT NULL,
        renamed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `INSERT IGNORE INTO username_renames (user_id, old_username, new_username)
        SELECT u.id, u.username,
          IF(u.username REGEXP '^[.]+$', CONCAT('user-', u.id),
             CONCAT(LEFT(u.username, 31 - CHAR_LENGTH(u.id)), '-', u.id))
        FROM users u
        WHERE u.username REGEXP '^[.]+$'
           OR EXISTS (SELECT 1 FROM users o WHERE LOWER(o.username) = LOWER(u.username) AND o.id < u.id)`,
      `UPDATE coupons c JOIN username_renames r ON c.seller = r.old_username
        JOIN users u ON u.id = r.user_id AND u.username = r.old_username
        SET c.seller = r.new_username`,
      `UPDATE purchases p JOIN username_renames r ON p.username = r.old_username
        JOIN users u ON u.id = r.user_id AND u.username = r.old_username
        SET p.username = r.new_username`,
      `UPDATE users u JOIN username_renames r ON u.id = r.user_id AND u.username = r.old_username
        SET u.username = r.new_username`,
      `ALTER TABLE users
        ADD COLUMN username_folded VARCHAR(32) AS (LOWER(username)) STORED,
        ADD UNIQUE KEY uq_users_username_folded (username_folded)`,
    ],
    run: reportUsernameRenames,
  },
  {
    version: 4,
    name: 'coupon names in NFC, without format characters, not of dots alone',
    sql: [
      `CREATE TABLE IF NOT EXISTS coupon_renames (
        coupon_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
        old_name VARCHAR(60) NOT NULL,
        new_name VARCHAR(60) NOT NULL,
        renamed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
    run: renameCouponNames,
  },
  {
    version: 5,
    // Operating a sale (docs/ARCHITECTURE.md): the sale window, the pause flag, and every seller
    // control with who made it and when, so a cache rebuild restores them.
    name: 'sale windows, pause flag, audit of seller controls',
    sql: [
      `ALTER TABLE coupons
        ADD COLUMN starts_at DATETIME(3) NULL DEFAULT NULL,
        ADD COLUMN ends_at DATETIME(3) NULL DEFAULT NULL,
        ADD COLUMN paused TINYINT(1) NOT NULL DEFAULT 0`,
      `CREATE TABLE IF NOT EXISTS coupon_changes (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        coupon_id BIGINT UNSIGNED NOT NULL,
        actor VARCHAR(32) NOT NULL,
        action ENUM('pause', 'resume', 'amount') NOT NULL,
        amount_delta INT NULL,
        changed_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        KEY ix_coupon_changes_coupon (coupon_id, id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
];

/** Applies the pending migrations, up to `upTo` (every one by default); returns those applied. */
export async function migrate(
  cfg: Config['mysql'],
  log: Log = () => {},
  upTo = Number.POSITIVE_INFINITY,
): Promise<number[]> {
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
    return await applyPending(db, log, upTo);
  } finally {
    await db.end();
  }
}

async function applyPending(db: Connection, log: Log, upTo: number): Promise<number[]> {
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
      if (done.has(m.version) || m.version > upTo) continue;
      for (const statement of m.sql) await db.query(statement);
      await m.run?.(db, log);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [m.version, m.name]);
      log(`applied migration ${m.version}: ${m.name}`);
      applied.push(m.version);
    }
    return applied;
  } finally {
    await db.query("SELECT RELEASE_LOCK('seckill_migrate')");
  }
}
