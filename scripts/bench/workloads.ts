/**
 * The reference workloads (docs/PERFORMANCE.md, "Method") and their checks.
 *
 * Setup (registration, login, coupon creation) always goes through the handlers in this process:
 * it is not measured, and every target shares the same Redis, MySQL and queue. The measured part
 * goes through the target's transport with a fixed number of requests in flight.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { mysql } from '../../lib/clients/mysql';
import type { BenchOptions } from './options';
import { type Kind, Recorder } from './recorder';
import { queueDepth, type Stack } from './stack';
import type { Reply, RequestOptions, Transport } from './transport';

const PASSWORD = '123456';
const PAGE_SIZE = 20;

export interface CouponSpec {
  seller: string;
  name: string;
  amount: number;
}

/** What the stores must hold: every coupon created and every 201 since the last reset. */
export interface Ledger {
  coupons: Map<string, CouponSpec>;
  /** customer -> `<seller>/<name>` of each coupon answered 201. */
  grants: Map<string, Set<string>>;
  granted: number;
  tokens: Map<string, string>;
  customers: string[];
  sellers: string[];
  /** Problems seen while recording (a second 201 for the same pair...). */
  problems: string[];
}

export function newLedger(): Ledger {
  return {
    coupons: new Map(),
    grants: new Map(),
    granted: 0,
    tokens: new Map(),
    customers: [],
    sellers: [],
    problems: [],
  };
}

const ref = (seller: string, name: string) => `${seller}/${name}`;

function grant(ledger: Ledger, customer: string, seller: string, name: string): void {
  const held = ledger.grants.get(customer) ?? new Set<string>();
  const r = ref(seller, name);
  if (held.has(r)) {
    if (ledger.problems.length < 20) ledger.problems.push(`second 201 for ${customer} on ${r}`);
    return;
  }
  held.add(r);
  ledger.grants.set(customer, held);
  ledger.granted++;
}

/** Runs `count` tasks with at most `inflight` at once; stops starting new ones after the deadline. */
export async function pool(
  count: number,
  inflight: number,
  deadline: number,
  task: (i: number) => Promise<void>,
): Promise<boolean> {
  let next = 0;
  let late = false;
  const worker = async () => {
    while (next < count) {
      if (Date.now() > deadline) {
        late = true;
        return;
      }
      await task(next++);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, count) }, worker));
  return !late;
}

async function expectStatus(t: Transport, what: string, want: number, reply: Promise<Reply>): Promise<Reply> {
  const r = await reply;
  if (r.status !== want) throw new Error(`setup: ${what} on ${t.name} answered ${r.status}: ${r.body ?? ''}`);
  return r;
}

/** Registers and logs in users; resolves their tokens. */
export async function createUsers(
  t: Transport,
  names: string[],
  kind: 'customer' | 'saler',
  ledger: Ledger,
  deadline: number,
): Promise<void> {
  const done = await pool(names.length, 16, deadline, async (i) => {
    const username = names[i] as string;
    await expectStatus(
      t,
      `register ${username}`,
      201,
      t.request('POST', '/api/users', { body: { username, password: PASSWORD, kind } }),
    );
    const r = await expectStatus(
      t,
      `login ${username}`,
      200,
      t.request('POST', '/api/auth', { body: { username, password: PASSWORD } }),
    );
    if (!r.authorization) throw new Error(`setup: login of ${username} returned no token`);
    ledger.tokens.set(username, r.authorization);
  });
  if (!done) throw new Error('setup: registering users took longer than the deadline');
  if (kind === 'customer') ledger.customers.push(...names);
  else ledger.sellers.push(...names);
}

export async function createCoupon(
  t: Transport,
  ledger: Ledger,
  spec: CouponSpec & { stock: number; description: string },
): Promise<void> {
  const { seller, name, amount, stock, description } = spec;
  await expectStatus(
    t,
    `create coupon ${seller}/${name}`,
    201,
    t.request('POST', `/api/users/${encodeURIComponent(seller)}/coupons`, {
      token: ledger.tokens.get(seller),
      body: { name, amount, stock, description },
    }),
  );
  ledger.coupons.set(ref(seller, name), { seller, name, amount });
}

// ---------------------------------------------------------------- runs

export interface LoadRun {
  recorder: Recorder;
  /** First request sent to last answer. */
  durationMs: number;
  completed: boolean;
  /** 201s of this run. */
  created: number;
  expected201: number;
  /** A GET right after a 201 that did not list the coupon (classic). */
  readYourWritesMisses: number;
  /** Statuses outside the contract of the route for this workload, with a few samples. */
  unexpected: number;
  samples: string[];
}

const ALLOWED: Record<Kind, Set<number>> = { grab: new Set([201, 204]), list: new Set([200, 204]) };

class Driver {
  readonly recorder: Recorder;
  created = 0;
  unexpected = 0;
  samples: string[] = [];
  constructor(
    readonly t: Transport,
    capacity: number,
  ) {
    this.recorder = new Recorder(capacity);
  }

  async call(kind: Kind, method: string, path: string, options: RequestOptions): Promise<Reply> {
    const start = performance.now();
    const r = await this.t.request(method, path, options);
    this.recorder.record(kind, r.status, start, performance.now(), r.status === 204 ? r.reason : undefined);
    if (!ALLOWED[kind].has(r.status)) {
      this.unexpected++;
      if (this.samples.length < 5)
        this.samples.push(`${method} ${path} -> ${r.status} ${(r.body ?? '').slice(0, 200)}`);
    }
    if (kind === 'grab' && r.status === 201) this.created++;
    return r;
  }

  finish(startedAt: number, completed: boolean, expected201: number, readYourWritesMisses = 0): LoadRun {
    return {
      recorder: this.recorder,
      durationMs: performance.now() - startedAt,
      completed,
      created: this.created,
      expected201,
      readYourWritesMisses,
      unexpected: this.unexpected,
      samples: this.samples,
    };
  }
}

const grabPath = (seller: string, name: string) =>
  `/api/users/${encodeURIComponent(seller)}/coupons/${encodeURIComponent(name)}`;
const listPath = (owner: string, page = 1) => `/api/users/${encodeURIComponent(owner)}/coupons?page=${page}`;

function listed(body: string | undefined, seller: string, name: string): boolean {
  try {
    const data = (JSON.parse(body ?? '{}') as { data?: { seller?: string; name?: string }[] }).data ?? [];
    return data.some((c) => c.seller === seller && c.name === name);
  } catch {
    return false;
  }
}

/** Classic setup: sellers `saler_<i>` with coupons `saler_<i>_<j>`, customers `customer_<k>`. */
export async function setupClassic(o: BenchOptions, t: Transport, deadline: number): Promise<Ledger> {
  const ledger = newLedger();
  const sellers = Array.from({ length: o.sellers }, (_, i) => `saler_${i}`);
  const customers = Array.from({ length: o.customers }, (_, i) => `customer_${i}`);
  await createUsers(t, sellers, 'saler', ledger, deadline);
  await createUsers(t, customers, 'customer', ledger, deadline);
  // One seller at a time: the first creation also marks the flushed cache warm.
  for (const seller of sellers) {
    for (let j = 0; j < o.couponsPerSeller; j++) {
      await createCoupon(t, ledger, {
        seller,
        name: `${seller}_${j}`,
        amount: o.amount,
        stock: 5,
        description: 'fsdfd',
      });
    }
  }
  return ledger;
}

/**
 * Every customer, for every coupon in the same order: GET own list, PATCH grab, GET own list. One
 * virtual user per customer, `inflight` of them at once (the JMeter plan's thread groups).
 */
export async function runClassic(o: BenchOptions, t: Transport, ledger: Ledger, deadline: number): Promise<LoadRun> {
  const coupons = [...ledger.coupons.values()];
  const d = new Driver(t, ledger.customers.length * coupons.length * 3);
  let misses = 0;
  const startedAt = performance.now();
  const completed = await pool(ledger.customers.length, o.inflight, deadline, async (i) => {
    const customer = ledger.customers[i] as string;
    const token = ledger.tokens.get(customer);
    let held = 0;
    for (const c of coupons) {
      if (Date.now() > deadline) return;
      await d.call('list', 'GET', listPath(customer), { token });
      const g = await d.call('grab', 'PATCH', grabPath(c.seller, c.name), { token });
      const won = g.status === 201;
      if (won) {
        grant(ledger, customer, c.seller, c.name);
        held++;
      }
      // Read-your-writes: the very next listing shows a coupon just granted (page 1 holds 20).
      const check = won && held <= PAGE_SIZE;
      const l = await d.call('list', 'GET', listPath(customer), { token, wantBody: check });
      if (check && !listed(l.body, c.seller, c.name)) misses++;
    }
  });
  return d.finish(
    startedAt,
    completed,
    coupons.reduce((n, c) => n + Math.min(c.amount, ledger.customers.length), 0),
    misses,
  );
}

export const HOT_SELLER = 'hot_saler';

export async function setupHot(o: BenchOptions, t: Transport, deadline: number): Promise<Ledger> {
  const ledger = newLedger();
  await createUsers(t, [HOT_SELLER], 'saler', ledger, deadline);
  const customers = Array.from({ length: o.hotCustomers }, (_, i) => `hot_customer_${i}`);
  await createUsers(t, customers, 'customer', ledger, deadline);
  await createCoupon(t, ledger, {
    seller: HOT_SELLER,
    name: 'hot',
    amount: o.hotAmount,
    stock: 5,
    description: 'fsdfd',
  });
  return ledger;
}

/** Every customer grabs coupon `name` once (`rounds` times over), `inflight` at once. */
async function grabAll(
  o: BenchOptions,
  t: Transport,
  ledger: Ledger,
  name: string,
  rounds: number,
  expected201: number,
  deadline: number,
): Promise<LoadRun> {
  const n = ledger.customers.length;
  const d = new Driver(t, n * rounds);
  const path = grabPath(HOT_SELLER, name);
  const startedAt = performance.now();
  const completed = await pool(n * rounds, o.inflight, deadline, async (i) => {
    const customer = ledger.customers[i % n] as string;
    const g = await d.call('grab', 'PATCH', path, { token: ledger.tokens.get(customer) });
    if (g.status === 201) grant(ledger, customer, HOT_SELLER, name);
  });
  return d.finish(startedAt, completed, expected201);
}

/** The hot coupon: one coupon, every customer grabs it at once. */
export function runHot(o: BenchOptions, t: Transport, ledger: Ledger, deadline: number): Promise<LoadRun> {
  return grabAll(o, t, ledger, 'hot', 1, Math.min(o.hotAmount, ledger.customers.length), deadline);
}

/** Sustained failed grabs: the hot coupon is sold out; every customer grabs it again, `rounds` times. */
export function runSoldOut(
  o: BenchOptions,
  t: Transport,
  ledger: Ledger,
  rounds: number,
  deadline: number,
): Promise<LoadRun> {
  return grabAll(o, t, ledger, 'hot', rounds, 0, deadline);
}

/** The grant path: a coupon with one for everybody; every grab is a 201 (script, listing, SQS send). */
export async function runGrant(
  o: BenchOptions,
  setup: Transport,
  t: Transport,
  ledger: Ledger,
  deadline: number,
): Promise<LoadRun> {
  const n = ledger.customers.length;
  await createCoupon(setup, ledger, { seller: HOT_SELLER, name: 'wide', amount: n, stock: 1, description: 'fsdfd' });
  return grabAll(o, t, ledger, 'wide', 1, n, deadline);
}

// ---------------------------------------------------------------- checks

/**
 * The contract's promises after a run: exact number of 201s; every coupon listed with `left` 0;
 * every customer's list holds exactly the coupons they got 201 for; once the queue drained, MySQL
 * holds exactly those purchases and `left` 0; nothing in the dead-letter queue.
 * `drainQueue` runs the consumer where the target has none of its own. Returns the failures.
 */
export async function verify(
  s: Stack,
  t: Transport,
  ledger: Ledger,
  run: LoadRun,
  drainQueue: (expected: number) => Promise<{ ms: number; ok: boolean }>,
  timeoutMs: number,
): Promise<{ failures: string[]; drainMs: number }> {
  const failures: string[] = [...ledger.problems];
  ledger.problems.length = 0;
  if (!run.completed) failures.push('the run hit its deadline before every request was sent');
  if (run.created !== run.expected201) failures.push(`201s: ${run.created}, expected exactly ${run.expected201}`);
  if (run.unexpected > 0) failures.push(`${run.unexpected} responses outside the contract: ${run.samples.join(' | ')}`);
  if (run.readYourWritesMisses > 0) {
    failures.push(`${run.readYourWritesMisses} listings right after a 201 did not show the coupon`);
  }
  const deadline = Date.now() + timeoutMs;
  const viewer = ledger.tokens.get(ledger.customers[0] ?? '') ?? '';
  // What is left of each coupon: its amount minus its 201s (0 once sold out).
  const sold = new Map<string, number>();
  for (const held of ledger.grants.values()) for (const r of held) sold.set(r, (sold.get(r) ?? 0) + 1);
  const expectedLeft = (c: CouponSpec) => c.amount - (sold.get(ref(c.seller, c.name)) ?? 0);

  // Redis, through the listings: every coupon of every seller sold out.
  const bySeller = new Map<string, CouponSpec[]>();
  for (const c of ledger.coupons.values()) bySeller.set(c.seller, [...(bySeller.get(c.seller) ?? []), c]);
  for (const [seller, coupons] of bySeller) {
    const seen = new Map<string, { amount: number; left: number }>();
    const pages = Math.ceil(coupons.length / PAGE_SIZE) + 1;
    for (let page = 1; page <= pages; page++) {
      const r = await t.request('GET', listPath(seller, page), { token: viewer, wantBody: true });
      if (r.status === 204) break;
      if (r.status !== 200) {
        failures.push(`listing seller ${seller} page ${page}: ${r.status}`);
        break;
      }
      const data = (JSON.parse(r.body ?? '{}') as { data?: { name: string; amount: number; left: number }[] }).data;
      for (const c of data ?? []) seen.set(c.name, c);
    }
    for (const c of coupons) {
      const l = seen.get(c.name);
      if (!l) failures.push(`coupon ${seller}/${c.name} missing from its seller's listing`);
      else if (l.left !== expectedLeft(c) || l.amount !== c.amount) {
        failures.push(
          `coupon ${seller}/${c.name}: listed left ${l.left} of ${l.amount}, expected ${expectedLeft(c)} of ${c.amount}`,
        );
      }
    }
  }

  // Every customer's own list: exactly the coupons answered 201.
  let listMismatches = 0;
  const listsChecked = await pool(ledger.customers.length, 50, deadline, async (i) => {
    const customer = ledger.customers[i] as string;
    const want = ledger.grants.get(customer) ?? new Set<string>();
    const got = new Set<string>();
    for (let page = 1; page <= Math.ceil(want.size / PAGE_SIZE) + 2; page++) {
      const r = await t.request('GET', listPath(customer, page), {
        token: ledger.tokens.get(customer),
        wantBody: true,
      });
      if (r.status !== 200) break;
      const data = (JSON.parse(r.body ?? '{}') as { data?: { name: string; seller: string }[] }).data;
      for (const c of data ?? []) got.add(ref(c.seller, c.name));
    }
    if (got.size !== want.size || [...want].some((w) => !got.has(w))) {
      if (listMismatches++ < 3) {
        failures.push(`${customer} lists [${[...got].join(', ')}] but got 201 for [${[...want].join(', ')}]`);
      }
    }
  });
  if (!listsChecked) failures.push("checking the customers' lists hit the deadline");
  if (listMismatches > 3) failures.push(`... ${listMismatches} customers' lists differ from their 201s in all`);

  // MySQL, once the queue drained: exactly the purchases answered 201, and left 0.
  const drained = await drainQueue(ledger.granted);
  if (!drained.ok) failures.push(`the queue did not drain to ${ledger.granted} purchases within the deadline`);
  const [rows] = await mysql().query<RowDataPacket[]>(
    'SELECT c.seller, c.name, p.username FROM purchases p JOIN coupons c ON c.id = p.coupon_id',
  );
  const [total] = await mysql().query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM purchases');
  if (Number(total[0]?.n) !== ledger.granted) {
    failures.push(`MySQL holds ${Number(total[0]?.n)} purchases, expected exactly ${ledger.granted}`);
  }
  let phantom = 0;
  for (const r of rows) {
    if (!ledger.grants.get(r.username as string)?.has(ref(r.seller as string, r.name as string))) phantom++;
  }
  if (phantom > 0) failures.push(`${phantom} purchases in MySQL were never answered 201`);
  const [lefts] = await mysql().query<RowDataPacket[]>(
    'SELECT c.seller, c.name, c.amount, c.`left`, COUNT(p.id) AS sold FROM coupons c LEFT JOIN purchases p ON p.coupon_id = c.id GROUP BY c.id',
  );
  for (const c of lefts) {
    const spec = ledger.coupons.get(ref(c.seller as string, c.name as string));
    const want = spec ? expectedLeft(spec) : -1;
    if (Number(c.left) !== want || Number(c.amount) - Number(c.sold) !== want) {
      failures.push(
        `MySQL coupon ${c.seller}/${c.name}: left ${c.left}, ${c.sold} sold of ${c.amount}; expected left ${want}`,
      );
    }
  }
  if (lefts.length !== ledger.coupons.size)
    failures.push(`MySQL has ${lefts.length} coupons, expected ${ledger.coupons.size}`);
  const dead = await queueDepth(s, s.dlqUrl);
  if (dead > 0) failures.push(`${dead} messages in the dead-letter queue`);
  return { failures, drainMs: drained.ms };
}
