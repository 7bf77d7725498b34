/**
 * The reference workloads (docs/PERFORMANCE.md, "Method") as autocannon request
 * sequences, their setup, and the invariants checked after every run.
 *
 * A workload is what autocannon runs: `connections` virtual users sharing `total` requests, each
 * going through `requests` in order (the context starts over with each pass). The in-process
 * target runs the very same sequences through the handlers (load.ts). Setup and checks always go
 * through the handlers of this process: they are not measured, and every target shares the stores.
 */
import type { Request } from 'autocannon';
import type { RowDataPacket } from 'mysql2/promise';
import { mysql } from '../../lib/clients/mysql';
import { invoke, type Reply } from './load';
import { drain, queueDepth, type Stack } from './stack';

const PASSWORD = '123456';
const PAGE = 20;

export type Kind = 'login' | 'list' | 'grab';
const ALLOWED: Record<Kind, number[]> = { login: [200], list: [200, 204], grab: [201, 204] };

export interface Coupon {
  seller: string;
  name: string;
  amount: number;
}

/** What the stores must hold afterwards: every coupon created and every 201 answered. */
export class Ledger {
  coupons: Coupon[] = [];
  customers: string[] = [];
  tokens = new Map<string, string>();
  grants = new Map<string, Set<string>>();
  granted = 0;
  /** 201s of the current run (`granted` counts since setup). */
  created = 0;
  problems: string[] = [];
  unexpected = 0;
  readYourWritesMisses = 0;

  grant(customer: string, c: Coupon): void {
    const held = this.grants.get(customer) ?? new Set<string>();
    if (held.has(`${c.seller}/${c.name}`)) this.problems.push(`second 201 for ${customer} on ${c.seller}/${c.name}`);
    held.add(`${c.seller}/${c.name}`);
    this.grants.set(customer, held);
    this.granted++;
    this.created++;
  }

  /** Checks a status against the contract of its route; keeps a few samples of the others. */
  check(kind: Kind, status: number, body: string): void {
    if (ALLOWED[kind].includes(status)) return;
    if (this.unexpected++ < 5) this.problems.push(`${kind} answered ${status} ${body.slice(0, 200)}`);
  }
}

/** An autocannon request whose setup and response functions are in this process. */
export interface Step extends Request {
  setupRequest: (req: Request, context: object) => Request;
  onResponse: (status: number, body: string, context: object, headers: Request['headers']) => void;
}

export interface Workload {
  name: string;
  connections: number;
  /** Requests in all, shared out between the connections (autocannon's `amount`). */
  total: number;
  requests: Step[];
  expected201: number;
  ledger: Ledger;
}

type Context = Record<string, unknown> & { customer?: string; token?: string; held?: number };

export const header = (headers: Record<string, unknown> | undefined, name: string): string | undefined => {
  for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return String(v);
  return undefined;
};

/** `lastKind` is read by the load runners right after onResponse, for latency by kind. */
export const lastResponse: { kind: Kind } = { kind: 'grab' };

function step(
  kind: Kind,
  l: Ledger,
  build: (ctx: Context) => Request,
  after?: (s: number, body: string, ctx: Context, h: Record<string, unknown>) => void,
): Step {
  return {
    setupRequest: (req: Request, ctx: object) => ({ ...req, ...build(ctx as Context) }),
    onResponse: (status: number, body: string, ctx: object, headers: Request['headers']) => {
      lastResponse.kind = kind;
      l.check(kind, status, body);
      after?.(status, body, ctx as Context, headers ?? {});
    },
  };
}

const auth = (token: string | undefined) => (token === undefined ? {} : { authorization: token });
const listOwn = (l: Ledger, after?: Parameters<typeof step>[3]) =>
  step(
    'list',
    l,
    (ctx) => ({ method: 'GET', path: `/api/users/${ctx.customer}/coupons?page=1`, headers: auth(ctx.token) }),
    after,
  );
const grab = (l: Ledger, c: Coupon, customer: (ctx: Context) => string, after?: Parameters<typeof step>[3]) =>
  step(
    'grab',
    l,
    (ctx) => ({
      method: 'PATCH',
      path: `/api/users/${c.seller}/coupons/${c.name}`,
      headers: auth(ctx.token ?? l.tokens.get(customer(ctx))),
    }),
    (status, body, ctx, h) => {
      if (status === 201) l.grant(customer(ctx), c);
      after?.(status, body, ctx, h);
    },
  );

// ---------------------------------------------------------------- setup

/** A setup request; a 503 (the hash lane full, a rebuild running) is sent again after a pause. */
export async function expect(status: number, what: string, send: () => Promise<Reply>) {
  let r = await send();
  for (let attempt = 0; r.status === 503 && attempt < 200; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    r = await send();
  }
  if (r.status !== status) throw new Error(`setup: ${what} answered ${r.status} ${r.body}`);
  return r;
}

async function inParallel(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

async function users(l: Ledger, names: string[], kind: 'customer' | 'saler', login: boolean): Promise<void> {
  await inParallel(names.length, 16, async (i) => {
    const username = names[i] as string;
    await expect(201, `register ${username}`, () =>
      invoke('POST', '/api/users', { body: { username, password: PASSWORD, kind } }),
    );
    if (!login) return;
    const body = { username, password: PASSWORD };
    const r = await expect(200, `login ${username}`, () => invoke('POST', '/api/auth', { body }));
    l.tokens.set(username, header(r.headers, 'authorization') ?? '');
  });
  if (kind === 'customer') l.customers.push(...names);
}

async function coupon(l: Ledger, c: Coupon): Promise<void> {
  const body = { name: c.name, amount: c.amount, stock: 5, description: 'fsdfd' };
  await expect(201, `create ${c.name}`, () =>
    invoke('POST', `/api/users/${c.seller}/coupons`, { token: l.tokens.get(c.seller), body }),
  );
  l.coupons.push(c);
}

export interface Sizes {
  sellers: number;
  couponsPerSeller: number;
  customers: number;
  hotCustomers: number;
  hotAmount: number;
  inflight: number;
  /** Customers of the plan (its rows: customers x coupons). */
  planCustomers: number;
}

/** 5 sellers x 10 coupons of 20, 200 customers (`customerLogin`: tokens made in setup). */
async function setupSale(o: Sizes, customers: number, customerLogin: boolean): Promise<Ledger> {
  const l = new Ledger();
  const sellers = Array.from({ length: o.sellers }, (_, i) => `saler_${i}`);
  await users(l, sellers, 'saler', true);
  await users(
    l,
    Array.from({ length: customers }, (_, i) => `customer_${i}`),
    'customer',
    customerLogin,
  );
  for (const seller of sellers) {
    for (let j = 0; j < o.couponsPerSeller; j++) await coupon(l, { seller, name: `${seller}_${j}`, amount: 20 });
  }
  return l;
}

const everyCouponSold = (l: Ledger) => l.coupons.reduce((n, c) => n + Math.min(c.amount, l.customers.length), 0);

// ---------------------------------------------------------------- workloads

/** Classic: one virtual user per customer; for every coupon in order, GET own list, grab, GET again. */
export async function classic(o: Sizes): Promise<Workload> {
  const l = await setupSale(o, o.customers, true);
  let next = 0;
  const who = (ctx: Context) => ctx.customer as string;
  const requests = l.coupons.flatMap((c, i) => [
    step('list', l, (ctx) => {
      if (i === 0) {
        ctx.customer = l.customers[next++];
        ctx.token = l.tokens.get(ctx.customer as string);
        ctx.held = 0;
      }
      return { method: 'GET', path: `/api/users/${ctx.customer}/coupons?page=1`, headers: auth(ctx.token) };
    }),
    grab(l, c, who, (status, _b, ctx) => {
      ctx.won = status === 201 ? `${c.seller}/${c.name}` : undefined;
      if (status === 201) ctx.held = (ctx.held ?? 0) + 1;
    }),
    // Read-your-writes: the listing right after a 201 shows the coupon (page 1 holds 20).
    listOwn(l, (_s, body, ctx) => {
      if (!ctx.won || (ctx.held ?? 0) > PAGE) return;
      const data = (JSON.parse(body || '{}') as { data?: { seller: string; name: string }[] }).data ?? [];
      if (!data.some((d) => `${d.seller}/${d.name}` === ctx.won)) l.readYourWritesMisses++;
    }),
  ]);
  const connections = l.customers.length;
  return {
    name: 'classic',
    connections,
    total: connections * requests.length,
    requests,
    expected201: everyCouponSold(l),
    ledger: l,
  };
}

/** The hot coupon: every customer grabs it once (`rounds` > 1: again, sold out), `inflight` at once. */
export async function hot(o: Sizes, rounds = 1, ledger?: Ledger): Promise<Workload> {
  const l = ledger ?? new Ledger();
  if (!ledger) {
    await users(l, ['hot_saler'], 'saler', true);
    await users(
      l,
      Array.from({ length: o.hotCustomers }, (_, i) => `hot_customer_${i}`),
      'customer',
      true,
    );
    await coupon(l, { seller: 'hot_saler', name: 'hot', amount: o.hotAmount });
  }
  let next = 0;
  const who = (ctx: Context) => {
    ctx.customer ??= l.customers[next++ % l.customers.length] as string;
    return ctx.customer;
  };
  const connections = Math.min(o.inflight, l.customers.length);
  const expected201 = ledger ? 0 : Math.min(o.hotAmount, l.customers.length);
  const requests = [grab(l, l.coupons[0] as Coupon, who)];
  const total = l.customers.length * rounds;
  return { name: ledger ? 'soldout' : 'hot', connections, total, requests, expected201, ledger: l };
}

/**
 * The original plan: 200 virtual users share the list of (customer, coupon) rows; each iteration
 * takes the next row, logs in (every time), lists, grabs, lists, sending the token back with a
 * leading space as the plan did. One pass over the rows at least (later rows repeat: 204s).
 */
export async function originalPlan(o: Sizes): Promise<Workload> {
  const l = await setupSale(o, o.planCustomers, false);
  // Row k: customer k / coupons, coupon k % coupons (the CSV's order: one customer after another).
  const rows = l.customers.length * l.coupons.length;
  const grabs = l.coupons.map((c) => grab(l, c, (ctx) => ctx.customer as string));
  let next = 0;
  const login = step(
    'login',
    l,
    (ctx) => {
      const row = next++ % rows;
      const username = l.customers[Math.floor(row / l.coupons.length)] as string;
      Object.assign(ctx, { customer: username, coupon: row % l.coupons.length, token: undefined });
      const body = JSON.stringify({ username, password: PASSWORD });
      return { method: 'POST', path: '/api/auth', headers: { 'content-type': 'application/json' }, body };
    },
    (status, _b, ctx, h) => {
      const token = header(h, 'authorization') ?? '';
      if (status === 200) l.tokens.set(ctx.customer as string, token);
      ctx.token = ` ${token}`;
    },
  );
  const grabOfRow = (ctx: object) => grabs[(ctx as Context).coupon as number] as Step;
  const rowGrab: Step = {
    setupRequest: (req, ctx) => grabOfRow(ctx).setupRequest(req, ctx),
    onResponse: (status, body, ctx, h) => grabOfRow(ctx).onResponse(status, body, ctx, h),
  };
  const requests = [login, listOwn(l), rowGrab, listOwn(l)];
  const connections = o.inflight;
  return {
    name: 'plan',
    connections,
    total: requests.length * connections * Math.ceil(rows / connections),
    requests,
    expected201: everyCouponSold(l),
    ledger: l,
  };
}

// ---------------------------------------------------------------- invariants

const listPath = (owner: string, page: number) => `/api/users/${owner}/coupons?page=${page}`;

async function listAll<T>(owner: string, token: string | undefined, max: number): Promise<T[] | string> {
  const out: T[] = [];
  for (let page = 1; page <= max; page++) {
    const r = await invoke('GET', listPath(owner, page), { token });
    if (r.status === 204) break;
    if (r.status !== 200) return `listing ${owner} page ${page}: ${r.status}`;
    out.push(...((JSON.parse(r.body) as { data?: T[] }).data ?? []));
  }
  return out;
}

/**
 * The contract's promises after a run: exactly the expected 201s, only the contract's statuses,
 * read-your-writes, every coupon listed with the `left` it should have, every customer's list equal
 * to their 201s, and once the queue drained, MySQL holding exactly those purchases, DLQ empty.
 */
export async function verify(
  s: Stack,
  w: Workload,
  consume: boolean,
): Promise<{ failures: string[]; drainMs: number }> {
  const l = w.ledger;
  const failures = [...l.problems];
  if (w.expected201 !== l.created) failures.push(`201s: ${l.created}, expected exactly ${w.expected201}`);
  if (l.unexpected > 0) failures.push(`${l.unexpected} answers outside the contract`);
  if (l.readYourWritesMisses > 0) failures.push(`${l.readYourWritesMisses} listings right after a 201 missed it`);
  Object.assign(l, { problems: [], created: 0, unexpected: 0, readYourWritesMisses: 0 });
  const sold = new Map<string, number>();
  for (const held of l.grants.values()) for (const r of held) sold.set(r, (sold.get(r) ?? 0) + 1);
  const left = (c: Coupon) => c.amount - (sold.get(`${c.seller}/${c.name}`) ?? 0);
  // Any logged-in user may list a seller: the sellers' own tokens (made in setup) serve.
  const viewer = l.tokens.get(l.coupons[0]?.seller ?? '');

  for (const seller of new Set(l.coupons.map((c) => c.seller))) {
    const listed = await listAll<{ name: string; left: number }>(seller, viewer, 100);
    if (typeof listed === 'string') failures.push(listed);
    else {
      for (const c of l.coupons.filter((x) => x.seller === seller)) {
        const got = listed.find((x) => x.name === c.name);
        if (got?.left !== left(c)) failures.push(`${seller}/${c.name}: listed left ${got?.left}, expected ${left(c)}`);
      }
    }
  }
  let mismatches = 0;
  await inParallel(l.customers.length, 20, async (i) => {
    const customer = l.customers[i] as string;
    const want = l.grants.get(customer) ?? new Set<string>();
    const got = await listAll<{ seller: string; name: string }>(
      customer,
      l.tokens.get(customer) ?? (await loginOf(customer)),
      100,
    );
    const names = typeof got === 'string' ? [got] : got.map((g) => `${g.seller}/${g.name}`);
    if (names.length !== want.size || names.some((n) => !want.has(n))) {
      if (mismatches++ < 3)
        failures.push(`${customer} lists [${names.join(', ')}], got 201 for [${[...want].join(', ')}]`);
    }
  });
  if (mismatches > 3) failures.push(`${mismatches} customers' lists differ from their 201s`);

  const drained = await drain(s, consume);
  if (!drained.ok) failures.push('the queue did not drain within 2 minutes');
  const [rows] = await mysql().query<RowDataPacket[]>(
    'SELECT c.seller, c.name, p.username FROM purchases p JOIN coupons c ON c.id = p.coupon_id',
  );
  if (rows.length !== l.granted) failures.push(`MySQL holds ${rows.length} purchases, expected exactly ${l.granted}`);
  const phantom = rows.filter((r) => !l.grants.get(r.username)?.has(`${r.seller}/${r.name}`)).length;
  if (phantom > 0) failures.push(`${phantom} purchases in MySQL were never answered 201`);
  const [coupons] = await mysql().query<RowDataPacket[]>('SELECT seller, name, `left` FROM coupons');
  for (const c of coupons) {
    const spec = l.coupons.find((x) => x.seller === c.seller && x.name === c.name);
    if (!spec || Number(c.left) !== left(spec)) failures.push(`MySQL ${c.seller}/${c.name}: left ${c.left}`);
  }
  const dead = await queueDepth(s, s.dlqUrl);
  if (dead > 0) failures.push(`${dead} messages in the dead-letter queue`);
  return { failures, drainMs: drained.ms };
}

/** A token for the checks when the workload made none in setup (the plan logs in as it goes). */
async function loginOf(username: string): Promise<string | undefined> {
  const r = await invoke('POST', '/api/auth', { body: { username, password: PASSWORD } });
  return header(r.headers, 'authorization');
}
