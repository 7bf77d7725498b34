import { setTimeout as sleep } from 'node:timers/promises';
import { SingleFlight } from '../../lib/auth/single-flight';

test('the same name and secret share one run while it is in flight; afterwards it runs again', async () => {
  const flights = new SingleFlight<number>();
  let runs = 0;
  const task = async () => {
    runs++;
    await sleep(20);
    return runs;
  };
  const shared = await Promise.all(Array.from({ length: 10 }, () => flights.run('alice', 'pw', task)));
  expect(shared).toEqual(Array(10).fill(1));
  expect(flights.size).toBe(0);
  expect(await flights.run('alice', 'pw', task)).toBe(2);
});

test('another secret or another name never shares a result', async () => {
  const flights = new SingleFlight<string>();
  const task = (value: string) => async () => {
    await sleep(10);
    return value;
  };
  const [a, b, c] = await Promise.all([
    flights.run('alice', 'pw', task('alice/pw')),
    flights.run('alice', 'other', task('alice/other')),
    flights.run('bob', 'pw', task('bob/pw')),
  ]);
  expect([a, b, c]).toEqual(['alice/pw', 'alice/other', 'bob/pw']);
});

test('a failure reaches every caller that shared it, and is forgotten', async () => {
  const flights = new SingleFlight<void>();
  const failing = async () => {
    await sleep(5);
    throw new Error('busy');
  };
  const results = await Promise.allSettled([flights.run('a', 'pw', failing), flights.run('a', 'pw', failing)]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(flights.size).toBe(0);
});
