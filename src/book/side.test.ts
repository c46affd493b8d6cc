import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BookSide } from './side.js';

describe('BookSide', () => {
  it('keeps bids best (highest) first and asks best (lowest) first', () => {
    const bids = new BookSide(1, 2);
    const asks = new BookSide(-1, 2);
    for (const p of [5, 9, 1, 7]) {
      bids.set(p, p * 10);
      asks.set(p, p * 10);
    }
    expect([0, 1, 2, 3].map((i) => bids.price(i))).toEqual([9, 7, 5, 1]);
    expect([0, 1, 2, 3].map((i) => asks.price(i))).toEqual([1, 5, 7, 9]);
    expect(bids.volume(2)).toBe(160);
    expect(asks.qtyAt(7)).toBe(70);
    expect(bids.price(4)).toBeNaN();
  });

  it('matches a map-based model under random updates', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<1 | -1>(1, -1),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }),
        (dir, ops) => {
          const side = new BookSide(dir, 1);
          const model = new Map<number, number>();
          for (const [p, q] of ops) {
            side.set(p, q);
            if (q === 0) model.delete(p);
            else model.set(p, q);
          }
          const expected = [...model.entries()].sort((a, b) => (b[0] - a[0]) * dir);
          const actual: [number, number][] = [];
          for (let i = 0; i < side.size; i++) actual.push([side.price(i), side.qty(i)]);
          expect(actual).toEqual(expected);
        },
      ),
    );
  });
});
