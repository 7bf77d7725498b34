/**
 * The rows of api.md on operating a sale, as a jest suite that runs against any `Api` (in process
 * and over HTTP, like contract-suite.ts): the sale window on creation, in the listing and on the
 * grab; the grab reasons and their order; the seller controls and their audit; the stats; the live
 * page; login throttling per username. Rows that need a setting other than the default (grab rate
 * limits) or a client address other than loopback are in test/integration/fair-access.test.ts.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { inParallel } from '../helpers/faults';
import { sleep } from '../helpers/stack';
import {
  type ContractTarget,
  dataSnapshot,
  eventually,
  expectExactAfterSoldOutMemory,
  expectJson,
  expectNoContent,
  type TestUser,
  usernames,
} from './contract-suite';

const PASSWORD = 'secret123';
const OUTCOMES = ['granted', 'sold-out', 'already-owned', 'not-started', 'ended', 'paused', 'rate-limited'];

export function describeSaleContract(label: string, setup: () => ContractTarget): void {
  describe(`operating a sale (${label})`, () => {
    const target = setup();
    const c = () => target.client();
    const stack = () => target.stack();
    const nextName = usernames('sale');

    async function newUser(kind: 'customer' | 'saler'): Promise<TestUser> {
      const username = nextName();
      return { username, token: await c().user(username, kind, PASSWORD) };
    }

    async function createOk(seller: TestUser, coupon: Record<string, unknown>): Promise<void> {
      expectJson(await c().createCoupon(seller.token, seller.username, coupon), 201, { errMsg: '' });
    }

    const path = (seller: string, name: string) =>
      `/api/users/${encodeURIComponent(seller)}/coupons/${encodeURIComponent(name)}`;
    const control = (token: string | undefined, seller: string, name: string, what: string, body?: unknown) =>
      c().api.request('POST', `${path(seller, name)}/${what}`, {
        headers: token === undefined ? {} : { authorization: token },
        body,
      });
    const stats = (token: string | undefined, seller: string, name: string) =>
      c().api.request('GET', `${path(seller, name)}/stats`, {
        headers: token === undefined ? {} : { authorization: token },
      });
    const listed = async (seller: TestUser) => (await c().list(seller.token, seller.username)).body.data;
    const iso = (ms: number) => new Date(ms).toISOString();

    describe('the sale window', () => {
      test('201 with startsAt/endsAt in each allowed form; listed in UTC with milliseconds, only when set', async () => {
        const seller = await newUser('saler');
        await createOk(seller, {
          name: 'both',
          amount: 1,
          stock: 1,
          startsAt: '2026-12-24T18:00:00.5+08:00',
          endsAt: '2026-12-24T12:00:00Z',
        });
        await createOk(seller, { name: 'start', amount: 1, stock: 1, startsAt: '2030-01-02T03:04:05.123456-05:30' });
        await createOk(seller, { name: 'end', amount: 1, stock: 1, endsAt: '2030-01-01T00:00:00+00:00' });
        await createOk(seller, { name: 'nulls', amount: 1, stock: 1, startsAt: null, endsAt: null });
        expect(await listed(seller)).toEqual([
          {
            name: 'both',
            amount: 1,
            left: 1,
            stock: 1,
            description: '',
            startsAt: '2026-12-24T10:00:00.500Z',
            endsAt: '2026-12-24T12:00:00.000Z',
          },
          { name: 'start', amount: 1, left: 1, stock: 1, description: '', startsAt: '2030-01-02T08:34:05.123Z' },
          { name: 'end', amount: 1, left: 1, stock: 1, description: '', endsAt: '2030-01-01T00:00:00.000Z' },
          { name: 'nulls', amount: 1, left: 1, stock: 1, description: '' },
        ]);
      });

      test('endsAt must be later than startsAt, whatever the offsets say', async () => {
        const seller = await newUser('saler');
        // 18:00 at +08:00 is 10:00Z: the same instant, so not later.
        const same = { startsAt: '2026-12-24T18:00:00+08:00', endsAt: '2026-12-24T10:00:00Z' };
        expectJson(
          await c().createCoupon(seller.token, seller.username, { name: 'w', amount: 1, stock: 1, ...same }),
          400,
          { errMsg: 'Sale window wrong format.' },
        );
        await createOk(seller, {
          name: 'w',
          amount: 1,
          stock: 1,
          startsAt: '2026-12-24T18:00:00+08:00',
          endsAt: '2026-12-24T10:00:00.001Z',
        });
        expect((await listed(seller))[0]).toMatchObject({
          startsAt: '2026-12-24T10:00:00.000Z',
          endsAt: '2026-12-24T10:00:00.001Z',
        });
      });

      const BAD_WINDOWS: [string, Record<string, unknown>][] = [
        ['startsAt a number', { startsAt: 1766570400000 }],
        ['endsAt true', { endsAt: true }],
        ['startsAt an object', { startsAt: { at: '2026-12-24T10:00:00Z' } }],
        ['no zone', { startsAt: '2026-12-24T10:00:00' }],
        ['a space for T', { startsAt: '2026-12-24 10:00:00Z' }],
        ['lower-case t', { startsAt: '2026-12-24t10:00:00Z' }],
        ['date only', { endsAt: '2026-12-24' }],
        ['no seconds', { endsAt: '2026-12-24T10:00Z' }],
        ['30 February', { startsAt: '2027-02-30T10:00:00Z' }],
        ['29 February of a common year', { startsAt: '2027-02-29T10:00:00Z' }],
        ['month 13', { startsAt: '2026-13-01T10:00:00Z' }],
        ['hour 24', { startsAt: '2026-12-24T24:00:00Z' }],
        ['a leap second', { endsAt: '2016-12-31T23:59:60Z' }],
        ['offset +24:00', { startsAt: '2026-12-24T10:00:00+24:00' }],
        ['offset without colon', { startsAt: '2026-12-24T10:00:00+0800' }],
        ['empty fraction', { startsAt: '2026-12-24T10:00:00.Z' }],
        ['empty string', { startsAt: '' }],
        ['surrounding space', { startsAt: ' 2026-12-24T10:00:00Z' }],
        ['end before start', { startsAt: '2026-12-24T10:00:00Z', endsAt: '2026-12-24T09:59:59.999Z' }],
        ['end equal to start', { startsAt: '2026-12-24T10:00:00Z', endsAt: '2026-12-24T10:00:00.000Z' }],
      ];
      test.each(BAD_WINDOWS)('400 "Sale window wrong format." for %s; nothing created', async (_, window) => {
        const seller = await newUser('saler');
        const before = await dataSnapshot(stack());
        const res = await c().createCoupon(seller.token, seller.username, {
          name: 'bad',
          amount: 1,
          stock: 1,
          ...window,
        });
        expectJson(res, 400, { errMsg: 'Sale window wrong format.' });
        expect(await dataSnapshot(stack())).toEqual(before);
      });

      test('grabs before startsAt get 204 not-started, from endsAt on 204 ended; a window already over is allowed', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        const now = Date.now();
        await createOk(seller, { name: 'later', amount: 5, stock: 1, startsAt: iso(now + 3_600_000) });
        await createOk(seller, { name: 'over', amount: 5, stock: 1, endsAt: iso(now - 1000) });
        await createOk(seller, {
          name: 'long-over',
          amount: 5,
          stock: 1,
          startsAt: '2001-01-01T00:00:00Z',
          endsAt: '2001-01-02T00:00:00Z',
        });
        expectNoContent(await c().grab(customer.token, seller.username, 'later'), 'not-started');
        expectNoContent(await c().grab(customer.token, seller.username, 'over'), 'ended');
        expectNoContent(await c().grab(customer.token, seller.username, 'long-over'), 'ended');
        expect((await listed(seller)).map((x: { left: number }) => x.left)).toEqual([5, 5, 5]);
        expectNoContent(await c().list(customer.token, customer.username));
      });

      test('a window that opens and closes: not-started, then 201, then ended', async () => {
        const seller = await newUser('saler');
        const [a, b] = [await newUser('customer'), await newUser('customer')];
        const start = Date.now() + 1500;
        await createOk(seller, { name: 'soon', amount: 5, stock: 1, startsAt: iso(start), endsAt: iso(start + 1500) });
        expectNoContent(await c().grab(a.token, seller.username, 'soon'), 'not-started');
        await sleep(start - Date.now() + 100);
        expectJson(await c().grab(a.token, seller.username, 'soon'), 201, { errMsg: '' });
        await sleep(start + 1500 - Date.now() + 100);
        expectNoContent(await c().grab(b.token, seller.username, 'soon'), 'ended');
        // An owner still owns it after the end: already-owned comes before ended.
        expectNoContent(await c().grab(a.token, seller.username, 'soon'), 'already-owned');
      });
    });

    describe('grab reasons, first in api.md order wins', () => {
      test('already-owned before paused; paused before not-started; not-started before sold-out; ended before sold-out', async () => {
        const seller = await newUser('saler');
        const [owner, other] = [await newUser('customer'), await newUser('customer')];
        const now = Date.now();
        // Held, then paused: already-owned for the holder, paused for anyone else.
        await createOk(seller, { name: 'p', amount: 2, stock: 1 });
        expectJson(await c().grab(owner.token, seller.username, 'p'), 201, { errMsg: '' });
        expectJson(await control(seller.token, seller.username, 'p', 'pause'), 200, { errMsg: '' });
        expectNoContent(await c().grab(owner.token, seller.username, 'p'), 'already-owned');
        expectNoContent(await c().grab(other.token, seller.username, 'p'), 'paused');
        // Paused and not started: paused.
        await createOk(seller, { name: 'ps', amount: 1, stock: 1, startsAt: iso(now + 3_600_000) });
        expectJson(await control(seller.token, seller.username, 'ps', 'pause'), 200, { errMsg: '' });
        expectNoContent(await c().grab(other.token, seller.username, 'ps'), 'paused');
        // Not started with nothing left (all taken back): not-started.
        await createOk(seller, { name: 'ns', amount: 1, stock: 1, startsAt: iso(now + 3_600_000) });
        expectJson(await control(seller.token, seller.username, 'ns', 'amount', { add: -1 }), 200, {
          errMsg: '',
          amount: 0,
          left: 0,
        });
        expectNoContent(await c().grab(other.token, seller.username, 'ns'), 'not-started');
        // Ended with nothing left: ended.
        await createOk(seller, { name: 'es', amount: 1, stock: 1, endsAt: iso(now + 1200) });
        expectJson(await c().grab(owner.token, seller.username, 'es'), 201, { errMsg: '' });
        await sleep(now + 1300 - Date.now());
        expectNoContent(await c().grab(other.token, seller.username, 'es'), 'ended');
      });
    });

    describe('seller controls', () => {
      test('pause: 200, grabs get 204 paused, listed "paused": true, a 201 already given stands; twice is 200', async () => {
        const seller = await newUser('saler');
        const [a, b] = [await newUser('customer'), await newUser('customer')];
        await createOk(seller, { name: 'c1', amount: 5, stock: 1 });
        expectJson(await c().grab(a.token, seller.username, 'c1'), 201, { errMsg: '' });
        expectJson(await control(seller.token, seller.username, 'c1', 'pause'), 200, { errMsg: '' });
        expectNoContent(await c().grab(b.token, seller.username, 'c1'), 'paused');
        expect(await listed(seller)).toEqual([
          { name: 'c1', amount: 5, left: 4, stock: 1, description: '', paused: true },
        ]);
        expectJson(await control(seller.token, seller.username, 'c1', 'pause'), 200, { errMsg: '' });
        expect((await c().list(a.token, a.username)).body.data).toHaveLength(1);
        await stack().drain();
        const [rows] = await stack().db.query<RowDataPacket[]>(
          'SELECT p.username FROM purchases p JOIN coupons c ON c.id = p.coupon_id WHERE c.seller = ?',
          [seller.username],
        );
        expect(rows.map((r) => r.username)).toEqual([a.username]);
      });

      test('resume: 200, grabs sell again, the key "paused" is gone; resuming a coupon not paused is 200', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'c1', amount: 5, stock: 1 });
        expectJson(await control(seller.token, seller.username, 'c1', 'resume'), 200, { errMsg: '' });
        expectJson(await control(seller.token, seller.username, 'c1', 'pause'), 200, { errMsg: '' });
        expectJson(await control(seller.token, seller.username, 'c1', 'resume'), 200, { errMsg: '' });
        expect(await listed(seller)).toEqual([{ name: 'c1', amount: 5, left: 5, stock: 1, description: '' }]);
        expectJson(await c().grab(customer.token, seller.username, 'c1'), 201, { errMsg: '' });
      });

      test('amount: {"add": N} moves amount and left together; 200 with the new values; N as number or string', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'c1', amount: 5, stock: 1 });
        expectJson(await c().grab(customer.token, seller.username, 'c1'), 201, { errMsg: '' });
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', { add: 10 }), 200, {
          errMsg: '',
          amount: 15,
          left: 14,
        });
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', { add: '-4' }), 200, {
          errMsg: '',
          amount: 11,
          left: 10,
        });
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', { add: '3' }), 200, {
          errMsg: '',
          amount: 14,
          left: 13,
        });
        // Taking back everything unsold: amount reaches the number sold.
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', { add: -13 }), 200, {
          errMsg: '',
          amount: 1,
          left: 0,
        });
        expect(await listed(seller)).toEqual([{ name: 'c1', amount: 1, left: 0, stock: 1, description: '' }]);
        expectNoContent(await c().grab((await newUser('customer')).token, seller.username, 'c1'), 'sold-out');
        await stack().drain();
        const [rows] = await stack().db.query<RowDataPacket[]>(
          'SELECT amount, `left` FROM coupons WHERE seller = ? AND name = ?',
          [seller.username, 'c1'],
        );
        expect(rows.map((r) => [r.amount, r.left])).toEqual([[1, 0]]);
      });

      test('amount: taking every unsold coupon back from a fresh coupon leaves amount 0', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'c1', amount: 3, stock: 1 });
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', { add: -3 }), 200, {
          errMsg: '',
          amount: 0,
          left: 0,
        });
        expectNoContent(await c().grab((await newUser('customer')).token, seller.username, 'c1'), 'sold-out');
      });

      const BAD_ADDS: [string, unknown, string][] = [
        ['missing', {}, 'Amount field wrong format.'],
        ['zero', { add: 0 }, 'Amount field wrong format.'],
        ['"0"', { add: '0' }, 'Amount field wrong format.'],
        ['"-0"', { add: '-0' }, 'Amount field wrong format.'],
        ['a float', { add: 1.5 }, 'Amount field wrong format.'],
        ['a float string', { add: '1.5' }, 'Amount field wrong format.'],
        ['"+3"', { add: '+3' }, 'Amount field wrong format.'],
        ['" 3"', { add: ' 3' }, 'Amount field wrong format.'],
        ['true', { add: true }, 'Amount field wrong format.'],
        ['null', { add: null }, 'Amount field wrong format.'],
        ['an array', { add: [1] }, 'Amount field wrong format.'],
        ['letters', { add: 'ten' }, 'Amount field wrong format.'],
        ['past 1,000,000 in all', { add: 999_996 }, 'Amount field wrong format.'],
        ['a huge number', { add: 1e300 }, 'Amount field wrong format.'],
        ['more than is left', { add: -5 }, 'Cannot take back more than is left.'],
        ['far more than is left', { add: '-2000000' }, 'Cannot take back more than is left.'],
        ['not JSON', 'add=3', 'Only receive JSON format.'],
        ['a JSON array', '[{"add": 3}]', 'Only receive JSON format.'],
        ['a JSON number', '3', 'Only receive JSON format.'],
        ['empty', '', 'Only receive JSON format.'],
      ];
      test.each(BAD_ADDS)('amount with add %s: 400, nothing changed', async (_, body, errMsg) => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'c1', amount: 5, stock: 1 });
        expectJson(await c().grab((await newUser('customer')).token, seller.username, 'c1'), 201, { errMsg: '' });
        await stack().drain();
        const before = await dataSnapshot(stack());
        expectJson(await control(seller.token, seller.username, 'c1', 'amount', body), 400, { errMsg });
        expect(await dataSnapshot(stack())).toEqual(before);
      });

      const ROUTES: [string, string, unknown][] = [
        ['pause', 'POST', undefined],
        ['resume', 'POST', undefined],
        ['amount', 'POST', { add: 1 }],
        ['stats', 'GET', undefined],
      ];
      test.each(ROUTES)('%s: the 401s and 400 of api.md, in order; nothing changed', async (what, method, body) => {
        const seller = await newUser('saler');
        const other = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'mine', amount: 5, stock: 1 });
        const send = (token: string | undefined, owner: string, name: string, b = body) =>
          c().api.request(method, `${path(owner, name)}/${what}`, {
            headers: token === undefined ? {} : { authorization: token },
            body: b,
          });
        const before = await dataSnapshot(stack());
        const notAuthorized = { errMsg: 'Not Authorized.' };
        expectJson(await send(undefined, seller.username, 'mine'), 401, notAuthorized);
        expectJson(await send('garbage', seller.username, 'mine'), 401, notAuthorized);
        // Token checks come before anything else, the body included.
        if (method === 'POST')
          expectJson(await send(undefined, seller.username, 'nope', 'not json'), 401, notAuthorized);
        const onlySellers = { errMsg: 'Only sellers can manage coupons.' };
        expectJson(await send(customer.token, seller.username, 'mine'), 401, onlySellers);
        expectJson(await send(customer.token, customer.username, 'nope'), 401, onlySellers);
        const others = { errMsg: 'Cannot manage coupons of other users.' };
        expectJson(await send(other.token, seller.username, 'mine'), 401, others);
        expectJson(await send(other.token, seller.username, 'nope'), 401, others);
        expectJson(await send(other.token, 'nobody_at_all', 'mine'), 401, others);
        const notFound = { errMsg: 'Record not found.' };
        expectJson(await send(seller.token, seller.username, 'nope'), 400, notFound);
        expectJson(await send(seller.token, seller.username, 'Mine'), 400, notFound);
        expectJson(await send(seller.token, seller.username, "' OR 1=1 --"), 400, notFound);
        // Record not found comes before the body's own errors.
        if (what === 'amount') expectJson(await send(seller.token, seller.username, 'nope', 'not json'), 400, notFound);
        expect(await dataSnapshot(stack())).toEqual(before);
      });

      test('every change is recorded in MySQL with who and when', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'audited', amount: 5, stock: 1 });
        const from = Date.now() - 1000;
        await control(seller.token, seller.username, 'audited', 'pause');
        await control(seller.token, seller.username, 'audited', 'amount', { add: -2 });
        await control(seller.token, seller.username, 'audited', 'resume');
        await control(seller.token, seller.username, 'audited', 'amount', { add: -9 });
        const [rows] = await stack().db.query<RowDataPacket[]>(
          `SELECT x.actor, x.action, x.amount_delta, x.changed_at FROM coupon_changes x
            JOIN coupons c ON c.id = x.coupon_id WHERE c.seller = ? AND c.name = ? ORDER BY x.id`,
          [seller.username, 'audited'],
        );
        expect(rows.map((r) => [r.actor, r.action, r.amount_delta])).toEqual([
          [seller.username, 'pause', null],
          [seller.username, 'amount', -2],
          [seller.username, 'resume', null],
        ]);
        for (const r of rows) {
          expect((r.changed_at as Date).getTime()).toBeGreaterThanOrEqual(from);
          expect((r.changed_at as Date).getTime()).toBeLessThanOrEqual(Date.now() + 1000);
        }
      });

      test('controls and windows survive a cache rebuild', async () => {
        const seller = await newUser('saler');
        const [a, b] = [await newUser('customer'), await newUser('customer')];
        await createOk(seller, { name: 'kept', amount: 5, stock: 1 });
        await createOk(seller, { name: 'windowed', amount: 5, stock: 1, startsAt: iso(Date.now() + 3_600_000) });
        expectJson(await c().grab(a.token, seller.username, 'kept'), 201, { errMsg: '' });
        await control(seller.token, seller.username, 'kept', 'amount', { add: 3 });
        await control(seller.token, seller.username, 'kept', 'pause');
        await stack().drain();
        await stack().redis.flushdb();
        const res = await eventually(async () => {
          const r = await c().list(seller.token, seller.username);
          return r.status === 200 ? r : undefined;
        }, 30_000);
        expect(res.body.data).toEqual([
          { name: 'kept', amount: 8, left: 7, stock: 1, description: '', paused: true },
          expect.objectContaining({ name: 'windowed', startsAt: expect.any(String) }),
        ]);
        expectNoContent(await c().grab(b.token, seller.username, 'kept'), 'paused');
        expectNoContent(await c().grab(b.token, seller.username, 'windowed'), 'not-started');
        const s = await stats(seller.token, seller.username, 'kept');
        expect(s.body.outcomes.granted).toBe(1);
      }, 60_000);

      test('taking stock back while 200 customers grab: no oversell, and MySQL left = Redis left = amount - purchases', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'hot', amount: 150, stock: 1 });
        const customers = await inParallel(
          10,
          Array.from({ length: 200 }, () => () => newUser('customer')),
        );
        const grabs = inParallel(
          40,
          customers.map((cu) => () => c().grab(cu.token, seller.username, 'hot')),
        );
        const takes: number[] = [];
        for (let i = 0; i < 10; i++) {
          const res = await control(seller.token, seller.username, 'hot', 'amount', { add: -10 });
          if (res.status === 200) takes.push(res.body.amount);
          else expectJson(res, 400, { errMsg: 'Cannot take back more than is left.' });
        }
        const answers = await grabs;
        const granted = answers.filter((r) => r.status === 201).length;
        for (const r of answers) expect([201, 204]).toContain(r.status);
        const taken = takes.length * 10;
        const amount = 150 - taken;
        expect(granted).toBeLessThanOrEqual(amount);
        await stack().drain(60_000);
        const [rows] = await stack().db.query<RowDataPacket[]>(
          `SELECT c.amount, c.\`left\`, (SELECT COUNT(*) FROM purchases p WHERE p.coupon_id = c.id) AS bought
            FROM coupons c WHERE c.seller = ? AND c.name = ?`,
          [seller.username, 'hot'],
        );
        const row = rows[0] as RowDataPacket;
        expect(Number(row.bought)).toBe(granted);
        expect(row.amount).toBe(amount);
        expect(row.left).toBe(amount - granted);
        const listing = (await listed(seller))[0];
        expect(listing).toMatchObject({ amount, left: amount - granted });
      }, 120_000);
    });

    describe('GET .../stats', () => {
      test('exactly the keys of api.md; outcomes counted by the grab; perSecond the last 120 seconds, oldest first', async () => {
        const seller = await newUser('saler');
        const [a, b, late] = [await newUser('customer'), await newUser('customer'), await newUser('customer')];
        await createOk(seller, { name: 's1', amount: 2, stock: 1, endsAt: '2099-01-01T00:00:00+01:00' });
        expectJson(await c().grab(a.token, seller.username, 's1'), 201, { errMsg: '' });
        expectNoContent(await c().grab(a.token, seller.username, 's1'), 'already-owned');
        expectJson(await c().grab(b.token, seller.username, 's1'), 201, { errMsg: '' });
        expectNoContent(await c().grab(late.token, seller.username, 's1'), 'sold-out');
        await control(seller.token, seller.username, 's1', 'pause');
        await expectExactAfterSoldOutMemory(() => c().grab(late.token, seller.username, 's1'), 'paused');
        const res = await stats(seller.token, seller.username, 's1');
        expect(res.status).toBe(200);
        const body = res.body;
        expect(Object.keys(body).sort()).toEqual(
          ['errMsg', 'name', 'amount', 'left', 'paused', 'startsAt', 'endsAt', 'outcomes', 'perSecond'].sort(),
        );
        expect(body).toMatchObject({
          errMsg: '',
          name: 's1',
          amount: 2,
          left: 0,
          paused: true,
          startsAt: null,
          endsAt: '2098-12-31T23:00:00.000Z',
        });
        expect(Object.keys(body.outcomes).sort()).toEqual([...OUTCOMES].sort());
        expect(body.outcomes.granted).toBe(2);
        expect(body.outcomes['already-owned']).toBe(1);
        expect(body.outcomes.paused).toBe(1);
        // The sold-out answers (one, or two if the first paused probe was answered from memory).
        expect(body.outcomes['sold-out']).toBeGreaterThanOrEqual(1);
        expect(body.outcomes['not-started'] + body.outcomes.ended + body.outcomes['rate-limited']).toBe(0);
        const seconds = body.perSecond as { t: string; granted: number; rejected: number }[];
        expect(seconds).toHaveLength(120);
        for (const [i, s] of seconds.entries()) {
          expect(Object.keys(s).sort()).toEqual(['granted', 'rejected', 't']);
          expect(s.t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
          if (i > 0) expect(Date.parse(s.t) - Date.parse(seconds[i - 1]?.t ?? '')).toBe(1000);
        }
        expect(Math.abs(Date.parse(seconds[119]?.t ?? '') - Date.now())).toBeLessThan(3000);
        expect(seconds.reduce((n, s) => n + s.granted, 0)).toBe(2);
        const rejected = seconds.reduce((n, s) => n + s.rejected, 0);
        expect(rejected).toBe(body.outcomes['sold-out'] + body.outcomes['already-owned'] + body.outcomes.paused);
      });

      test('a fresh coupon: zeros everywhere, paused false, its window', async () => {
        const seller = await newUser('saler');
        await createOk(seller, { name: 'new', amount: 7, stock: 1, startsAt: '2099-01-01T00:00:00Z' });
        const res = await stats(seller.token, seller.username, 'new');
        expectJson(res, 200, {
          errMsg: '',
          name: 'new',
          amount: 7,
          left: 7,
          paused: false,
          startsAt: '2099-01-01T00:00:00.000Z',
          endsAt: null,
          outcomes: Object.fromEntries(OUTCOMES.map((o) => [o, 0])),
          perSecond: res.body.perSecond,
        });
        expect(
          res.body.perSecond.every((s: { granted: number; rejected: number }) => s.granted + s.rejected === 0),
        ).toBe(true);
      });

      test('answers given from the sold-out memory are counted too, within 5 seconds', async () => {
        const seller = await newUser('saler');
        const [winner, ...others] = await Promise.all(Array.from({ length: 21 }, () => newUser('customer')));
        await createOk(seller, { name: 'gone', amount: 1, stock: 1 });
        expectJson(await c().grab(winner?.token ?? '', seller.username, 'gone'), 201, { errMsg: '' });
        for (const o of others) expectNoContent(await c().grab(o.token, seller.username, 'gone'), 'sold-out');
        const counted = await eventually(async () => {
          const s = (await stats(seller.token, seller.username, 'gone')).body;
          return s.outcomes['sold-out'] === 20 ? s : undefined;
        }, 5000);
        expect(counted.outcomes.granted).toBe(counted.amount - counted.left);
        const rejected = counted.perSecond.reduce((n: number, s: { rejected: number }) => n + s.rejected, 0);
        expect(rejected).toBe(20);
      });
    });

    describe('GET /sale', () => {
      test('an HTML page, no token needed, whose scripts and styles the API serves itself', async () => {
        const page = await c().api.request('GET', '/sale');
        expect(page.status).toBe(200);
        expect(page.headers['content-type']).toMatch(/^text\/html/);
        expect(page.text).toContain('<script src="sale/uplot.js"></script>');
        // Nothing from a CDN: every src and href is relative.
        const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
        expect(refs.length).toBeGreaterThanOrEqual(4);
        for (const ref of refs) expect(ref).toMatch(/^sale\//);
        for (const [file, type, marker] of [
          ['uplot.js', /javascript/, 'uPlot'],
          ['uplot.css', /text\/css/, '.uplot'],
          ['app.js', /javascript/, 'api/auth'],
          ['app.css', /text\/css/, '.coupon'],
        ] as const) {
          const res = await c().api.request('GET', `/sale/${file}`);
          expect(res.status).toBe(200);
          expect(res.headers['content-type']).toMatch(type);
          expect(res.text).toContain(marker);
        }
      });

      test('an unknown file is a 404 with errMsg', async () => {
        for (const file of ['nope.js', '..%2Fpackage.json', 'constructor', '__proto__']) {
          const res = await c().api.request('GET', `/sale/${file}`);
          expect(res.status).toBe(404);
          expect(typeof res.body?.errMsg).toBe('string');
        }
      });
    });

    describe('login throttling (per username; loopback addresses are not counted per address)', () => {
      test('after 5 failed logins for a username, 429 with Retry-After even with the right password; any spelling of it', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'customer'), 201, { errMsg: '' });
        // 400s do not count.
        for (let i = 0; i < 3; i++) {
          expectJson(await c().api.request('POST', '/api/auth', { body: 'not json' }), 400, {
            kind: '',
            errMsg: 'Only receive JSON format.',
          });
        }
        expectJson(await c().login(username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
        for (let i = 0; i < 5; i++) {
          const spelling = i % 2 ? username.toUpperCase() : username;
          expectJson(await c().login(spelling, 'wrong-password'), 401, {
            kind: '',
            errMsg: 'Invalid username or password.',
          });
        }
        const refused = await c().login(username, PASSWORD);
        expectJson(refused, 429, { kind: '', errMsg: 'Too many login attempts.' });
        const retryAfter = Number(refused.headers['retry-after']);
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(900);
        expect(refused.headers.authorization).toBeUndefined();
        expectJson(await c().login(username.toUpperCase(), PASSWORD), 429, {
          kind: '',
          errMsg: 'Too many login attempts.',
        });
        // Other users are not affected.
        const other = await newUser('customer');
        expectJson(await c().login(other.username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
      });

      test('an unknown username is throttled exactly like a known one', async () => {
        const unknown = nextName();
        for (let i = 0; i < 5; i++) expect((await c().login(unknown, 'wrong-password')).status).toBe(401);
        const res = await c().login(unknown, 'wrong-password');
        expectJson(res, 429, { kind: '', errMsg: 'Too many login attempts.' });
        expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      });

      test('a successful login does not clear earlier failures', async () => {
        const username = nextName();
        expectJson(await c().register(username, PASSWORD, 'customer'), 201, { errMsg: '' });
        for (let i = 0; i < 4; i++) expect((await c().login(username, 'wrong-password')).status).toBe(401);
        expectJson(await c().login(username, PASSWORD), 200, { kind: 'customer', errMsg: '' });
        expect((await c().login(username, 'wrong-password')).status).toBe(401);
        expect((await c().login(username, PASSWORD)).status).toBe(429);
      });

      test('no 429 on grabs unless a limit is configured: 30 quick grabs by one customer', async () => {
        const seller = await newUser('saler');
        const customer = await newUser('customer');
        await createOk(seller, { name: 'many', amount: 1, stock: 1 });
        const answers = await Promise.all(
          Array.from({ length: 30 }, () => c().grab(customer.token, seller.username, 'many')),
        );
        expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
        for (const r of answers) expect([201, 204]).toContain(r.status);
      });
    });
  });
}
