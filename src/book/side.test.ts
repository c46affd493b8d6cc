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

  /** Every accessor against a sorted map, after every operation (so a stale rank cursor would show). */
  const checkAgainst = (side: BookSide, model: Map<number, number>, dir: 1 | -1): void => {
    const expected = [...model.entries()].sort((a, b) => (b[0] - a[0]) * dir);
    expect(side.size).toBe(expected.length);
    const actual: [number, number][] = [];
    for (let i = 0; i < side.size; i++) actual.push([side.price(i), side.qty(i)]);
    expect(actual).toEqual(expected);
    // out of order reads too: the best level after reading deeper ones
    if (expected.length > 0) {
      expect(side.price(0)).toBe(expected[0]![0]);
      expect(side.qty(expected.length - 1)).toBe(expected[expected.length - 1]![1]);
    }
    expect(side.price(expected.length)).toBeNaN();
    expect(side.qty(-1)).toBe(0);
    expect(side.volume(3)).toBe(expected.slice(0, 3).reduce((a, [, q]) => a + q, 0));
  };

  it('matches a sorted map when levels move in and out of a small window (recentring, far levels on both sides)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<1 | -1>(1, -1),
        fc.integer({ min: 1, max: 500 }),
        fc.array(
          fc.tuple(
            // mostly near a drifting centre, sometimes far away on either side
            fc.oneof({ weight: 6, arbitrary: fc.integer({ min: -40, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: -5000, max: 5000 }) }),
            fc.integer({ min: 0, max: 3 }),
            fc.integer({ min: -3, max: 3 }),
          ),
          { maxLength: 400 },
        ),
        (dir, start, ops) => {
          const side = new BookSide(dir, 1, 5); // a 32-key window
          const model = new Map<number, number>();
          let centre = 10_000 + start;
          for (const [off, q, drift] of ops) {
            centre += drift;
            const p = centre + off;
            side.set(p, q);
            if (q === 0) model.delete(p);
            else model.set(p, q);
            expect(side.qtyAt(p)).toBe(q);
          }
          checkAgainst(side, model, dir);
          for (const p of model.keys()) expect(side.qtyAt(p)).toBe(model.get(p));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads the same after every update, and after clear starts over', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<1 | -1>(1, -1),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 2 })), { maxLength: 120 }),
        (dir, ops) => {
          const side = new BookSide(dir, 1, 5);
          const model = new Map<number, number>();
          for (const [p, q] of ops) {
            side.set(p * 7, q);
            if (q === 0) model.delete(p * 7);
            else model.set(p * 7, q);
            checkAgainst(side, model, dir);
          }
          side.clear();
          model.clear();
          checkAgainst(side, model, dir);
          expect(side.qtyAt(7)).toBe(0);
          side.set(1_000_000, 5);
          model.set(1_000_000, 5);
          checkAgainst(side, model, dir);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a book whose best level moves far from where the window started', () => {
    const bids = new BookSide(1, 1, 6);
    const model = new Map<number, number>();
    // a falling market: new best bids below, the old ones removed, levels far below kept
    for (let t = 0; t < 2_000; t++) {
      const best = 100_000 - t * 3;
      bids.set(best, 1 + (t % 5));
      model.set(best, 1 + (t % 5));
      if (t % 4 === 0) {
        bids.set(best - 10_000, 2);
        model.set(best - 10_000, 2);
      }
      const old = best + 30;
      if (model.has(old)) {
        bids.set(old, 0);
        model.delete(old);
      }
    }
    checkAgainst(bids, model, 1);
    // and a rising one on the ask side
    const asks = new BookSide(-1, 1, 6);
    const am = new Map<number, number>();
    for (let t = 0; t < 2_000; t++) {
      const best = 50_000 + t * 5;
      asks.set(best, 3);
      am.set(best, 3);
      if (am.has(best - 40)) {
        asks.set(best - 40, 0);
        am.delete(best - 40);
      }
    }
    checkAgainst(asks, am, -1);
  });

  it('refuses a window size outside 2^5..2^24', () => {
    expect(() => new BookSide(1, 1, 4)).toThrow(RangeError);
    expect(() => new BookSide(1, 1, 25)).toThrow(RangeError);
  });
});


describe('BookSide with pending levels (a depth message half applied)', () => {
  // bids 100, 99, 98, 97, 96; the message still has to set 97 -> 0 and 95 -> 4: its frontier is 97
  function pendingSide(): { side: BookSide; settles: () => number } {
    const side = new BookSide(1, 16, 5);
    for (const p of [100, 99, 98, 97, 96]) side.set(p, p);
    let n = 0;
    const owner = {
      settle(): void {
        n++;
        side.settled();
        side.set(97, 0);
        side.set(95, 4);
      },
    };
    side.pend(97, owner);
    return { side, settles: () => n };
  }

  it('answers reads above the frontier without settling, and settles at the first read that reaches it', () => {
    const { side, settles } = pendingSide();
    expect([side.price(0), side.qty(1), side.price(2), side.qtyAt(98), side.empty, side.has(2)]).toEqual([100, 99, 98, 98, false, true]);
    expect(settles()).toBe(0);
    // rank 3 is 97 now, 96 once the message is applied
    expect(side.price(3)).toBe(96);
    expect(settles()).toBe(1);
    expect([side.price(4), side.qtyAt(95), side.size]).toEqual([95, 4, 5]);
    expect(settles()).toBe(1);
  });

  it.each([
    ['a price at the frontier', (s: BookSide) => s.qtyAt(97), 0],
    ['a price below it', (s: BookSide) => s.qtyAt(95), 4],
    ['the size', (s: BookSide) => s.size, 5],
    ['a rank past the levels there are', (s: BookSide) => s.price(9), NaN],
    ['the volume of every level', (s: BookSide) => s.volume(100), 100 + 99 + 98 + 96 + 4],
  ] as const)('settles first for %s', (_n, read, expected) => {
    const { side, settles } = pendingSide();
    expect(read(side)).toBe(expected);
    expect(settles()).toBe(1);
  });
});
