/**
 * Migrations 3 and 4 on a database that already holds names the new rules forbid. Users: `Alice`
 * beside `alice`, and `..`: the oldest of a case-insensitive group keeps its name, the others are
 * renamed everywhere (users, coupons, purchases) and recorded; afterwards MySQL itself refuses a new
 * spelling of a taken name. Coupons: NFD spellings, format characters, dots alone.
 */
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import { config } from '../../lib/config';
import { migrate } from '../../lib/db/migrations';

const database = `${config().mysql.database}_names`;
const cfg = { ...config().mysql, database };
let current: Connection | undefined;

/** This file's database, emptied and migrated up to `version`. */
async function freshDatabase(version: number): Promise<Connection> {
  await current?.end();
  const { host, port, user, password } = cfg;
  const server = await createConnection({ host, port, user, password });
  await server.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await server.end();
  await migrate(cfg, () => {}, version);
  current = await createConnection({ host, port, user, password, database });
  return current;
}

afterAll(async () => {
  await current?.query(`DROP DATABASE IF EXISTS \`${database}\``);
  await current?.end();
});

test('colliding and dot-only usernames are renamed everywhere, then MySQL refuses other spellings', async () => {
  const db = await freshDatabase(2);
  const user = async (username: string, kind: string) => {
    const [r] = await db.query<any>('INSERT INTO users (username, kind, password_hash) VALUES (?, ?, ?)', [
      username,
      kind,
      'x',
    ]);
    return Number(r.insertId);
  };
  const alice = await user('alice', 'saler');
  const upper = await user('ALICE', 'saler');
  const dots = await user('..', 'customer');
  const mixed = await user('Alice', 'customer');
  const bob = await user('bob', 'customer');
  const long = await user('x'.repeat(32), 'customer');
  const longUpper = await user('X'.repeat(32), 'customer');
  const [c] = await db.query<any>(
    "INSERT INTO coupons (seller, name, amount, `left`, stock) VALUES ('ALICE', 'c1', 5, 4, 1), ('alice', 'c1', 5, 5, 1)",
  );
  const coupon = Number(c.insertId);
  await db.query(
    "INSERT INTO purchases (coupon_id, username, grabbed_at) VALUES (?, 'Alice', NOW()), (?, '..', NOW()), (?, 'bob', NOW())",
    [coupon, coupon, coupon],
  );

  const lines: string[] = [];
  expect(await migrate(cfg, (line) => lines.push(line), 3)).toEqual([3]);
  expect(lines.join('\n')).toMatch(/renamed 4 users/);

  const [users] = await db.query<RowDataPacket[]>('SELECT id, username FROM users ORDER BY id');
  expect(users.map((u) => [u.id, u.username])).toEqual([
    [alice, 'alice'],
    [upper, `ALICE-${upper}`],
    [dots, `user-${dots}`],
    [mixed, `Alice-${mixed}`],
    [bob, 'bob'],
    [long, 'x'.repeat(32)],
    // Cut so that the suffix fits in 32 characters.
    [longUpper, `${'X'.repeat(31 - String(longUpper).length)}-${longUpper}`],
  ]);
  const [coupons] = await db.query<RowDataPacket[]>('SELECT seller FROM coupons ORDER BY id');
  expect(coupons.map((r) => r.seller)).toEqual([`ALICE-${upper}`, 'alice']);
  const [purchases] = await db.query<RowDataPacket[]>('SELECT username FROM purchases ORDER BY id');
  expect(purchases.map((r) => r.username)).toEqual([`Alice-${mixed}`, `user-${dots}`, 'bob']);
  const [renames] = await db.query<RowDataPacket[]>(
    'SELECT user_id, old_username, new_username FROM username_renames ORDER BY user_id',
  );
  expect(renames.map((r) => [r.user_id, r.old_username, r.new_username])).toEqual([
    [upper, 'ALICE', `ALICE-${upper}`],
    [dots, '..', `user-${dots}`],
    [mixed, 'Alice', `Alice-${mixed}`],
    [longUpper, 'X'.repeat(32), `${'X'.repeat(31 - String(longUpper).length)}-${longUpper}`],
  ]);

  await expect(user('BOB', 'customer')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
  await expect(user('bOb', 'customer')).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
  expect(await migrate(cfg, () => {}, 3)).toEqual([]);
});

test('coupon names are brought to NFC without format characters; look-alikes of a name kept get the id appended', async () => {
  const db = await freshDatabase(3);
  const coupon = async (seller: string, name: string) => {
    const [r] = await db.query<any>(
      'INSERT INTO coupons (seller, name, amount, `left`, stock) VALUES (?, ?, 1, 1, 1)',
      [seller, name],
    );
    return Number(r.insertId);
  };
  const nfc = await coupon('s1', 'caf\u00e9');
  const nfd = await coupon('s1', 'cafe\u0301');
  const zw = await coupon('s1', 'caf\u00e9\u200b');
  const alone = await coupon('s2', 'cafe\u0301');
  const dots = await coupon('s2', '..');
  const bidi = await coupon('s2', '\u202eevil');
  const format = await coupon('s2', '\u200b');
  const plain = await coupon('s2', 'plain');
  await db.query('INSERT INTO purchases (coupon_id, username, grabbed_at) VALUES (?, ?, NOW())', [nfd, 'bob']);

  const lines: string[] = [];
  expect(await migrate(cfg, (line) => lines.push(line), 4)).toEqual([4]);
  expect(lines.join('\n')).toMatch(/renamed 6 coupons/);

  const [rows] = await db.query<RowDataPacket[]>('SELECT id, seller, name FROM coupons ORDER BY id');
  expect(rows.map((r) => [r.id, r.seller, r.name])).toEqual([
    [nfc, 's1', 'caf\u00e9'],
    [nfd, 's1', `caf\u00e9-${nfd}`],
    [zw, 's1', `caf\u00e9-${zw}`],
    [alone, 's2', 'caf\u00e9'],
    [dots, 's2', `coupon-${dots}`],
    [bidi, 's2', 'evil'],
    [format, 's2', `coupon-${format}`],
    [plain, 's2', 'plain'],
  ]);
  const [purchases] = await db.query<RowDataPacket[]>('SELECT coupon_id FROM purchases');
  expect(purchases.map((r) => Number(r.coupon_id))).toEqual([nfd]);
  const [renames] = await db.query<RowDataPacket[]>('SELECT coupon_id, old_name, new_name FROM coupon_renames');
  expect(renames).toHaveLength(6);
});
