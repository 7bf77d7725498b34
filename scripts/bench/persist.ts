/**
 * The consumer's persist rate: purchase messages for existing coupons (held in Redis, as after
 * real grabs) are queued first, then the poller and lib/persist-purchases.ts drain them, as
 * `npm start` runs them (batch size, window and two receive loops from the configuration).
 */
import type { RowDataPacket } from 'mysql2/promise';
import { mysql } from '../../lib/clients/mysql';
import { config } from '../../lib/config';
import { couponKeys } from '../../lib/keys';
import { services } from '../../lib/services';
import type { PurchaseMessage } from '../../lib/stores/types';
import { progress, sleep } from './procs';
import { type CpuReport, type CpuSources, type LatencyStats, latencyStats, watchCpu } from './recorder';
import { purchaseCount, pushMessages, queueDepth, resetData, type Stack, startConsumer } from './stack';

export type PersistOrder = 'grouped' | 'interleaved';

export interface PersistResult {
  /**
   * grouped: the queue holds each coupon's purchases together (a hot coupon, or the classic
   * workload where every customer grabs the coupons in the same order): a batch touches 1-2 coupons.
   * interleaved: the coupons alternate (many coupons sold at once): a batch touches all of them.
   */
  order: PersistOrder;
  messages: number;
  coupons: number;
  batchSize: number;
  batchWindowMs: number;
  receiveLoops: number;
  pushSeconds: number;
  pushPerSec: number;
  drainSeconds: number;
  /** Purchases per second from the first receive to the last row (receive + persist + delete). */
  persistPerSec: number;
  batches: number;
  batchMs: LatencyStats;
  /** Share of the drain the receive loops spent inside the consumer (vs. receiving and deleting). */
  consumerBusyPct: number;
  /**
   * Records per second of the consumer alone (one batch at a time): what one Lambda invocation
   * stream does when the event source hands it full batches, without the local receive/delete.
   */
  consumerOnlyPerSec: number;
  /** CPU while draining: this process is the poller and the consumer. */
  cpu: CpuReport;
  failures: string[];
}

const COUPONS = 20;

export async function measurePersist(
  s: Stack,
  messages: number,
  receiveLoops: number,
  cpuSources: CpuSources,
  order: PersistOrder,
): Promise<PersistResult> {
  await resetData(s);
  const per = Math.ceil(messages / COUPONS);
  const count = Math.ceil(messages / per);
  const coupons: { id: number; seller: string; name: string }[] = [];
  const db = services().db;
  for (let c = 0; c < count; c++) {
    const amount = Math.min(per, messages - c * per);
    const coupon = await db.insertCoupon('persist_saler', { name: `p_${c}`, amount, stock: 5, description: 'fsdfd' });
    if (!coupon) throw new Error('persist: coupon insert failed');
    coupons.push({ id: coupon.id, seller: coupon.seller, name: coupon.name });
  }
  // The cache as after real grabs: coupons loaded, warm, each buyer in the coupon's holders.
  await services().cache.restore(await db.snapshot());
  const all: PurchaseMessage[] = [];
  const grabbedAt = new Date().toISOString();
  // Coupon by coupon, the buyers in the order they grabbed; then queued coupon after coupon, or
  // alternating between the coupons.
  const byCoupon = coupons.map((c, k) =>
    Array.from({ length: Math.min(per, messages - k * per) }, (_, u) => ({
      couponId: c.id,
      seller: c.seller,
      name: c.name,
      username: `p_${u}`,
      grabbedAt,
      requestId: `bench-${k}-${u}`,
    })),
  );
  if (order === 'grouped') for (const list of byCoupon) all.push(...list);
  else for (let u = 0; u < per; u++) for (const list of byCoupon) if (list[u]) all.push(list[u] as PurchaseMessage);
  for (let i = 0; i < all.length; i += 1000) {
    const p = s.admin.pipeline();
    for (const m of all.slice(i, i + 1000)) p.sadd(couponKeys(m.seller, m.name).holders, m.username);
    await p.exec();
  }

  const t0 = performance.now();
  await pushMessages(s, all);
  const pushSeconds = (performance.now() - t0) / 1000;
  progress(`persist (${order}): ${messages} messages queued in ${pushSeconds.toFixed(1)} s; draining`);

  const cfg = config().local;
  const started = performance.now();
  const cpu = watchCpu(cpuSources);
  const consumer = startConsumer(s, receiveLoops);
  const deadline = Date.now() + 180_000;
  let persisted = 0;
  while (Date.now() < deadline) {
    persisted = await purchaseCount();
    if (persisted >= messages) break;
    await sleep(50);
  }
  const drainSeconds = (performance.now() - started) / 1000;
  const usage = cpu.stop();
  // Let the last deletes finish before stopping, then check the queue is empty.
  let depth = -1;
  for (let i = 0; i < 100 && depth !== 0; i++) {
    depth = await queueDepth(s, s.queueUrl);
    if (depth !== 0) await sleep(100);
  }
  await consumer.stop();

  const failures: string[] = [];
  if (persisted !== messages) failures.push(`persist: ${persisted} purchases in MySQL, expected ${messages}`);
  if (depth !== 0) failures.push(`persist: ${depth} messages left in the queue`);
  const [lefts] = await mysql().query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM coupons WHERE `left` <> 0');
  if (Number(lefts[0]?.n) !== 0) failures.push(`persist: ${lefts[0]?.n} coupons with left <> 0 in MySQL`);
  const dead = await queueDepth(s, s.dlqUrl);
  if (dead !== 0) failures.push(`persist: ${dead} messages in the dead-letter queue`);
  const batchMs = [...consumer.batchMs].sort((a, b) => a - b);
  return {
    order,
    messages,
    coupons: count,
    batchSize: cfg.consumerBatchSize,
    batchWindowMs: cfg.consumerBatchWindowMs,
    receiveLoops,
    pushSeconds: Math.round(pushSeconds * 100) / 100,
    pushPerSec: Math.round(messages / pushSeconds),
    drainSeconds: Math.round(drainSeconds * 100) / 100,
    persistPerSec: Math.round(persisted / drainSeconds),
    batches: consumer.batches,
    batchMs: latencyStats(batchMs),
    consumerBusyPct: Math.round((100 * consumer.busyMs) / (drainSeconds * 1000 * receiveLoops)),
    consumerOnlyPerSec: consumer.busyMs > 0 ? Math.round(consumer.records / (consumer.busyMs / 1000)) : 0,
    cpu: usage,
    failures,
  };
}
