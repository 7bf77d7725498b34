import { setTimeout as sleep } from 'node:timers/promises';
import { HashLane } from '../../lib/auth/hash-lane';
import { ServerBusy } from '../../lib/errors';

/** A task that ends when told to, recording how many ran at once. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, task: () => opened };
}

test('runs at most `concurrency` tasks at once, the next ones in arrival order', async () => {
  const lane = new HashLane({ concurrency: 2, queue: 10, maxWaitMs: 10_000 });
  await lane.run(() => sleep(1)); // timed once: the lane admits waiters by their expected wait
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      lane.run(async () => {
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await sleep(5);
        active--;
        return i * 10;
      }),
    ),
  );
  expect(peak).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(results).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
  expect(lane.stats).toMatchObject({ running: 0, waiting: 0 });
});

test('past the queue, ServerBusy at once (503 with Retry-After)', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 2, maxWaitMs: 10_000 });
  await lane.run(() => sleep(1));
  const g = gate();
  const admitted = [lane.run(g.task), lane.run(g.task), lane.run(g.task)];
  const started = performance.now();
  const refused = await lane.run(g.task).catch((e: unknown) => e);
  expect(performance.now() - started).toBeLessThan(50);
  expect(refused).toBeInstanceOf(ServerBusy);
  expect(refused).toMatchObject({
    status: 503,
    errMsg: 'Server busy. Retry shortly.',
    headers: { 'Retry-After': '1' },
  });
  g.open();
  await Promise.all(admitted);
  expect(lane.stats).toMatchObject({ running: 0, waiting: 0 });
});

test('a waiter that gets no lane within maxWaitMs is refused then, and leaves the queue', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 10, maxWaitMs: 100 });
  const g = gate();
  const holder = lane.run(g.task);
  const started = performance.now();
  const refused = await lane.run(g.task).catch((e: unknown) => e);
  const waited = performance.now() - started;
  expect(refused).toBeInstanceOf(ServerBusy);
  expect(waited).toBeGreaterThanOrEqual(95);
  expect(waited).toBeLessThan(400);
  expect(lane.stats).toMatchObject({ running: 1, waiting: 0 });
  g.open();
  await holder;
  // The lane is free again.
  await expect(lane.run(async () => 'ok')).resolves.toBe('ok');
});

test('refuses at once when the expected wait (queue position x recent task time) exceeds maxWaitMs', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 100, maxWaitMs: 1000 });
  await lane.run(() => sleep(60)); // teaches the lane that a task takes about 60 ms (more on a busy machine)
  // With one lane, the n-th waiter expects n x the learned time: admitted while that is <= 1000 ms.
  const admitted = Math.floor(1000 / lane.stats.averageMs);
  expect(admitted).toBeGreaterThanOrEqual(2);
  const g = gate();
  const running = lane.run(g.task);
  const queued = Array.from({ length: admitted }, () => lane.run(g.task));
  expect(lane.stats.waiting).toBe(admitted);
  const started = performance.now();
  const refused = await lane.run(g.task).catch((e: unknown) => e); // one more round would exceed 1000 ms
  expect(refused).toBeInstanceOf(ServerBusy);
  // At once: not after waiting for a lane (up to maxWaitMs).
  expect(performance.now() - started).toBeLessThan(250);
  g.open();
  await Promise.all([running, ...queued]);
});

test('a failing task frees its lane and its error reaches the caller', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 1, maxWaitMs: 1000 });
  await expect(lane.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  await expect(lane.run(async () => 1)).resolves.toBe(1);
});

test('runIfIdle runs only when a lane is free now, and never waits', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 10, maxWaitMs: 1000 });
  await expect(lane.runIfIdle(async () => 'ran')).resolves.toBe('ran');
  const g = gate();
  const holder = lane.run(g.task);
  await expect(lane.runIfIdle(async () => 'ran')).resolves.toBeUndefined();
  g.open();
  await holder;
});

test('before any task was timed, a task is assumed to take 10 ms', async () => {
  const lane = new HashLane({ concurrency: 1, queue: 100, maxWaitMs: 50 });
  const g = gate();
  const admitted = Array.from({ length: 6 }, () => lane.run(g.task)); // 1 running, 5 waiting: 5 x 10 ms
  await expect(lane.run(g.task)).rejects.toBeInstanceOf(ServerBusy);
  g.open();
  await Promise.all(admitted);
});
