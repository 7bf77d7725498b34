import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Kind, NewCoupon } from '../validation';
import type { Coupon, CouponChange, Database, PurchaseMessage, Snapshot, UserRecord } from './types';

const DUPLICATE_KEY = 'ER_DUP_ENTRY';
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

function errorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

interface CouponRow extends RowDataPacket {
  id: number;
  seller: string;
  name: string;
  amount: number;
  left: number;
  stock: number;
  description: string;
  starts_at: Date | null;
  ends_at: Date | null;
  paused: number;
}

const COUPON_COLUMNS = 'id, seller, name, amount, `left`, stock, description, starts_at, ends_at, paused';

function toCoupon(r: CouponRow): Coupon {
  return {
    id: Number(r.id),
    seller: r.seller,
    name: r.name,
    amount: r.amount,
    left: r.left,
    stock: r.stock,
    description: r.description,
    startsAt: r.starts_at ? r.starts_at.getTime() : null,
    endsAt: r.ends_at ? r.ends_at.getTime() : null,
    paused: Number(r.paused) === 1,
  };
}

const toDate = (ms: number | null | undefined) => (ms == null ? null : new Date(ms));

const purchaseKey = (couponId: number, username: string) => `${couponId}/${username}`;

/** The purchases not in `seen`, each (coupon, customer) once. */
function unique(purchases: PurchaseMessage[], seen: Set<string>): PurchaseMessage[] {
  return purchases.filter((p) => {
    const key = purchaseKey(p.couponId, p.username);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function insertPurchases(conn: PoolConnection, purchases: PurchaseMessage[]): Promise<number> {
  const [result] = await conn.query<ResultSetHeader>(
    'INSERT IGNORE INTO purchases (coupon_id, username, grabbed_at) VALUES ?',
    [purchases.map((p) => [p.couponId, p.username, new Date(p.grabbedAt)])],
  );
  return result.affectedRows;
}

export class MysqlDatabase implements Database {
  constructor(private readonly pool: Pool) {}

  async insertUser(user: UserRecord) {
    try {
      await this.pool.query('INSERT INTO users (username, kind, password_hash) VALUES (?, ?, ?)', [
        user.username,
        user.kind,
        user.passwordHash,
      ]);
      return true;
    } catch (e: unknown) {
      if (errorCode(e) === DUPLICATE_KEY) return false;
      throw e;
    }
  }

  async deleteUser(username: string) {
    await this.pool.query('DELETE FROM users WHERE username = ?', [username]);
  }

  async findUser(username: string) {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT username, kind, password_hash FROM users WHERE username = ?',
      [username],
    );
    const row = rows[0];
    return row
      ? { username: row.username as string, kind: row.kind as Kind, passwordHash: row.password_hash as string }
      : undefined;
  }

  async updatePasswordHash(username: string, newHash: string, expectedHash?: string) {
    const [result] =
      expectedHash === undefined
        ? await this.pool.query<ResultSetHeader>('UPDATE users SET password_hash = ? WHERE username = ?', [
            newHash,
            username,
          ])
        : await this.pool.query<ResultSetHeader>(
            'UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?',
            [newHash, username, expectedHash],
          );
    return result.affectedRows === 1;
  }

  async insertCoupon(seller: string, c: NewCoupon) {
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        'INSERT INTO coupons (seller, name, amount, `left`, stock, description, starts_at, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [seller, c.name, c.amount, c.amount, c.stock, c.description, toDate(c.startsAt), toDate(c.endsAt)],
      );
      return { ...c, id: result.insertId, seller, left: c.amount, paused: false };
    } catch (e: unknown) {
      if (errorCode(e) === DUPLICATE_KEY) return undefined;
      throw e;
    }
  }

  async changeCoupon<T>(
    seller: string,
    name: string,
    actor: string,
    change: CouponChange,
    live: { apply: () => Promise<T>; undo: (applied: T) => Promise<void> },
  ): Promise<T | undefined> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      // The row lock orders this change against the consumer's batches and other changes.
      const [rows] = await conn.query<CouponRow[]>('SELECT id FROM coupons WHERE seller = ? AND name = ? FOR UPDATE', [
        seller,
        name,
      ]);
      const id = rows[0]?.id;
      if (id === undefined) {
        await conn.rollback();
        return undefined;
      }
      if (change.action === 'amount') {
        // An amount cannot go below 0 (it is unsigned): such a change takes back more than is left,
        // which the live state refuses too; it then changes nothing here either.
        await conn.query(
          'UPDATE coupons SET amount = amount + ?, `left` = `left` + ? WHERE id = ? AND CAST(amount AS SIGNED) + ? >= 0',
          [change.add, change.add, id, change.add],
        );
      } else {
        await conn.query('UPDATE coupons SET paused = ? WHERE id = ?', [change.action === 'pause' ? 1 : 0, id]);
      }
      await conn.query('INSERT INTO coupon_changes (coupon_id, actor, action, amount_delta) VALUES (?, ?, ?, ?)', [
        id,
        actor,
        change.action,
        change.action === 'amount' ? change.add : null,
      ]);
      const applied = await live.apply();
      try {
        await conn.commit();
      } catch (e: unknown) {
        await live.undo(applied);
        throw e;
      }
      return applied;
    } catch (e: unknown) {
      await conn.rollback().catch(() => {});
      throw e;
    } finally {
      conn.release();
    }
  }

  async deleteCoupon(id: number) {
    await this.pool.query('DELETE FROM coupons WHERE id = ?', [id]);
  }

  async revokeToken(jti: string, expiresAt: Date) {
    await this.pool.query('INSERT IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)', [jti, expiresAt]);
  }

  async persistPurchases(purchases: PurchaseMessage[]) {
    // `IN ()` is a syntax error: a batch whose every message was dropped has nothing to write.
    if (purchases.length === 0) return { inserted: 0, rejected: [] };
    for (let attempt = 1; ; attempt++) {
      const conn = await this.pool.getConnection();
      try {
        return await this.persistOnce(conn, purchases);
      } catch (e: unknown) {
        await conn.rollback().catch(() => {});
        // Two batches locking the same coupons in one order cannot deadlock, but a lock wait can time out.
        if (!RETRYABLE.has(errorCode(e) ?? '') || attempt === 3) throw e;
      } finally {
        conn.release();
      }
    }
  }

  /**
   * Three statements whatever the batch holds: lock its coupons, insert every purchase in one
   * statement, lower every coupon's `left` in one statement. When some purchases already existed (a
   * redelivery) the insert is undone and redone with only the new ones, so each `left` drops by
   * exactly the rows added. The coupon row locks make that exact: every purchase of a coupon is
   * written under its lock.
   */
  private async persistOnce(conn: PoolConnection, purchases: PurchaseMessage[]) {
    await conn.beginTransaction();
    const ids = [...new Set(purchases.map((p) => p.couponId))];
    // Locking the coupon rows in id order serialises concurrent batches of the same coupons.
    const [rows] = await conn.query<CouponRow[]>(
      'SELECT id, seller, name FROM coupons WHERE id IN (?) ORDER BY id FOR UPDATE',
      [ids],
    );
    const known = new Map(rows.map((r) => [Number(r.id), r]));
    const rejected: PurchaseMessage[] = [];
    const valid = purchases.filter((p) => {
      const row = known.get(p.couponId);
      const ok = row !== undefined && row.seller === p.seller && row.name === p.name;
      if (!ok) rejected.push(p);
      return ok;
    });
    let fresh = unique(valid, new Set());
    if (fresh.length > 0) {
      await conn.query('SAVEPOINT batch');
      const inserted = await insertPurchases(conn, fresh);
      if (inserted < fresh.length) {
        await conn.query('ROLLBACK TO SAVEPOINT batch');
        const [existing] = await conn.query<RowDataPacket[]>(
          'SELECT coupon_id, username FROM purchases WHERE coupon_id IN (?) AND username IN (?)',
          [[...new Set(fresh.map((p) => p.couponId))], [...new Set(fresh.map((p) => p.username))]],
        );
        fresh = unique(fresh, new Set(existing.map((r) => purchaseKey(Number(r.coupon_id), r.username as string))));
        if (fresh.length > 0) await insertPurchases(conn, fresh);
      }
    }
    if (fresh.length > 0) {
      const perCoupon = new Map<number, number>();
      for (const p of fresh) perCoupon.set(p.couponId, (perCoupon.get(p.couponId) ?? 0) + 1);
      const cases = [...perCoupon].map(() => 'WHEN ? THEN ?').join(' ');
      await conn.query(`UPDATE coupons SET \`left\` = \`left\` - CASE id ${cases} END WHERE id IN (?)`, [
        ...[...perCoupon].flat(),
        [...perCoupon.keys()],
      ]);
    }
    await conn.commit();
    return { inserted: fresh.length, rejected };
  }

  async countCoupons() {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM coupons');
    return Number(rows[0]?.n ?? 0);
  }

  async snapshot(): Promise<Snapshot> {
    const [users] = await this.pool.query<RowDataPacket[]>('SELECT username, kind FROM users ORDER BY id');
    const [coupons] = await this.pool.query<CouponRow[]>(`SELECT ${COUPON_COLUMNS} FROM coupons ORDER BY id`);
    const [purchases] = await this.pool.query<RowDataPacket[]>(
      'SELECT coupon_id, username, grabbed_at FROM purchases ORDER BY grabbed_at, id',
    );
    const [revoked] = await this.pool.query<RowDataPacket[]>(
      'SELECT jti, expires_at FROM revoked_tokens WHERE expires_at > ?',
      [new Date()],
    );
    return {
      users: users.map((u) => ({ username: u.username as string, kind: u.kind as Kind })),
      coupons: coupons.map(toCoupon),
      purchases: purchases.map((p) => ({
        couponId: Number(p.coupon_id),
        username: p.username as string,
        grabbedAt: p.grabbed_at as Date,
      })),
      revoked: revoked.map((t) => ({ jti: t.jti as string, expiresAt: t.expires_at as Date })),
    };
  }

  async ping() {
    await this.pool.query('SELECT 1');
  }
}
