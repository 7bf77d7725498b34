/**
 * The simulation behind docs/SCALE.md's design for a coupon hotter than one shard: under random
 * interleavings of concurrent grabs and transfers, stock split over stripes never oversells, never
 * gives a customer two, loses no unit (interrupted transfers included), and with borrowing sells out
 * completely when demand exceeds stock.
 */
import { simulate } from '../../scripts/simulate-hot-coupon';

const base = { stock: 500, customers: 1000, stripes: 8, inFlight: 50, crashRate: 0, seed: 1 };

test.each([1, 2, 3, 4, 5, 6, 7, 8])(
  'seed %i: the invariants hold with and without borrowing, crashes included',
  (seed) => {
    for (const borrow of [false, true]) {
      for (const crashRate of [0, 0.3]) {
        const r = simulate({ ...base, seed, borrow, crashRate });
        expect(r.granted + r.unsold).toBe(base.stock);
        expect(r.granted).toBeLessThanOrEqual(base.stock);
      }
    }
  },
);

test('with borrowing and no interrupted transfer, twice the demand sells every unit', () => {
  for (let seed = 1; seed <= 8; seed++) expect(simulate({ ...base, seed, borrow: true }).unsold).toBe(0);
});

test('without borrowing, demand equal to stock leaves units unsold in some stripes', () => {
  const unsold = [1, 2, 3, 4].map((seed) => simulate({ ...base, customers: base.stock, seed, borrow: false }).unsold);
  expect(Math.max(...unsold)).toBeGreaterThan(0);
});

test('one stripe is the old design: everything sold, nobody turned away before the end', () => {
  const r = simulate({ ...base, stripes: 1, seed: 3, borrow: true });
  expect(r).toMatchObject({ granted: base.stock, unsold: 0, transfers: 0, refusedEarly: 0 });
});
