import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WindowedSums } from './window.js';

describe('windowed sums', () => {
  it('sums each column over (now − w, now]', () => {
    const w = new WindowedSums([1000, 5000], 2);
    const put = (t: number, a: number, b: number): void => {
      w.advance(t);
      w.push(t);
      w.add(0, a);
      w.add(1, b);
    };
    put(0, 1, 10);
    put(500, 2, 20);
    put(1200, 4, 40);
    // window 1 s at 1200: (200, 1200] -> entries at 500 and 1200
    expect(w.sum(0, 0)).toBe(6);
    expect(w.sum(0, 1)).toBe(60);
    expect(w.sum(1, 0)).toBe(7);
    expect(w.countIn(0)).toBe(2);
    w.advance(1500); // (500, 1500]: the entry at 500 leaves (boundary excluded)
    expect(w.sum(0, 0)).toBe(4);
    w.advance(2200); // (1200, 2200]: empty
    expect(w.sum(0, 0)).toBe(0);
    expect(w.countIn(0)).toBe(0);
    expect(w.sum(1, 0)).toBe(7);
    w.advance(5000); // (0, 5000]: the entry at 0 leaves the 5 s window
    expect(w.sum(1, 0)).toBe(6);
  });

  it('gives the value as of the window start, NaN while the history is shorter', () => {
    const w = new WindowedSums([1000], 1);
    for (const [t, v] of [[0, 100], [400, 101], [900, 102]] as const) {
      w.advance(t);
      w.push(t);
      w.add(0, v);
    }
    expect(w.valueBefore(0, 0)).toBeNaN(); // nothing at or before -100
    w.advance(1400); // as of 400: 101
    expect(w.valueBefore(0, 0)).toBe(101);
    w.advance(1399.5); // earlier times do not move the windows back
    expect(w.valueBefore(0, 0)).toBe(101);
    w.advance(5000);
    expect(w.valueBefore(0, 0)).toBe(102);
    expect(w.last(0)).toBe(102);
  });

  it('matches a brute-force sum for any sequence, across growth of the ring', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -50, max: 50 })), { minLength: 1, maxLength: 600 }), (steps) => {
        const windows = [250, 1000, 4000];
        const w = new WindowedSums(windows, 1);
        const seen: [number, number][] = [];
        let t = 0;
        for (const [dt, v] of steps) {
          t += dt;
          w.advance(t);
          w.push(t);
          w.add(0, v);
          seen.push([t, v]);
          windows.forEach((len, i) => {
            const inside = seen.filter(([u]) => u > t - len);
            expect(w.sum(i, 0)).toBe(inside.reduce((s, [, x]) => s + x, 0));
            const before = seen.filter(([u]) => u <= t - len).at(-1);
            expect(w.valueBefore(i, 0)).toBe(before === undefined ? NaN : before[1]);
          });
        }
      }),
      { numRuns: 60 },
    );
  });

  it('keeps columns past `summed` without sums', () => {
    const w = new WindowedSums([1000], 2, 1);
    for (const [t, a, b] of [[0, 1, 100], [500, 2, 101], [1500, 3, 102]] as const) {
      w.advance(t);
      w.push(t);
      w.add(0, a);
      w.add(1, b);
    }
    expect(w.sum(0, 0)).toBe(3); // (500, 1500]
    expect(w.sum(0, 1)).toBe(0);
    expect(w.valueBefore(0, 1)).toBe(101);
    expect(w.last(1)).toBe(102);
  });

  it('refuses empty windows', () => {
    expect(() => new WindowedSums([0], 1)).toThrow(RangeError);
  });
});
