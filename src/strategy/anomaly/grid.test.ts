import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asymptoticSize, Ema, gridCell, moveCell, sizeFraction, strengthForFraction } from './grid.js';

describe('range grid', () => {
  // cell width 0.001 (10 bp), 11 cells: -5..+5
  it.each([
    { r: 1, cell: 0, why: 'no change' },
    { r: 1.001, cell: 1, why: '(1.001 - 1) / 0.001 = 1' },
    { r: 0.997, cell: -3, why: '-0.003 / 0.001 = -3' },
    { r: 1.0004, cell: 0, why: '0.4 rounds to 0' },
    { r: 1.0016, cell: 2, why: '1.6 rounds to 2' },
    { r: 1.0005, cell: 1, why: 'a tie (0.5) goes away from zero' },
    { r: 0.9995, cell: -1, why: 'a tie (-0.5) goes away from zero: symmetric' },
    { r: 1.0025, cell: 3, why: '2.5 -> 3' },
    { r: 1.01, cell: 5, why: '10 clamped to +half = 5' },
    { r: 0.9, cell: -5, why: '-100 clamped to -5' },
    { r: 0, cell: 0, why: 'not a price ratio' },
    { r: NaN, cell: 0, why: 'not a price ratio' },
    { r: Infinity, cell: 0, why: 'not a price ratio' },
  ])('r = $r lies in cell $cell ($why)', ({ r, cell }) => {
    expect(gridCell(r, 0.001, 11)).toBe(cell);
  });

  it('never gives -0 (status and JSON would print it)', () => {
    expect(Object.is(gridCell(0.99999, 0.001, 11), 0)).toBe(true);
    expect(Object.is(moveCell(100_000, 99_999, 0.001, 11), 0)).toBe(true);
  });

  it('computes the same cell from two integer prices as from their ratio, exactly at decimal ties', () => {
    // 60000.00 -> 60030.00 is r = 1.0005: exactly half a cell of 0.001
    expect(moveCell(6_000_000, 6_003_000, 0.001, 11)).toBe(1);
    expect(moveCell(6_000_000, 5_997_000, 0.001, 11)).toBe(-1);
    expect(moveCell(6_000_000, 6_006_000, 0.001, 11)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 10_000_000 }), fc.integer({ min: -50_000, max: 50_000 }), (prev, move) => {
        const price = Math.max(1, prev + move);
        const a = moveCell(prev, price, 0.0005, 21);
        const b = gridCell(price / prev, 0.0005, 21);
        // the two may differ only when the ratio is within float noise of a cell boundary
        const v = (price - prev) / prev / 0.0005;
        if (Math.abs(Math.abs(v % 1) - 0.5) > 1e-6) expect(a).toBe(b);
        expect(Math.abs(a)).toBeLessThanOrEqual(10);
      }),
    );
  });

  it('is symmetric: a rise and a fall of the same size land in cells of the same magnitude', () => {
    for (let k = 0; k <= 40; k++) {
      const off = k * 0.00025;
      expect(gridCell(1 + off, 0.001, 21) + gridCell(1 - off, 0.001, 21)).toBe(0);
    }
  });
});

describe('EMA', () => {
  it('is seeded by the first value, then uses alpha = 2 / (period + 1)', () => {
    const e = new Ema(3); // alpha = 0.5
    expect(e.alpha).toBe(0.5);
    expect(e.value).toBeNaN();
    // 1 (seed) -> 1; 0 -> 1 + 0.5 (0 - 1) = 0.5; 1 -> 0.75; -3 -> 0.75 + 0.5 (-3.75) = -1.125
    expect([1, 0, 1, -3].map((x) => e.update(x))).toEqual([1, 0.5, 0.75, -1.125]);
    expect(e.count).toBe(4);
    const f = new Ema(19); // alpha = 0.1: 10 -> 10; 0 -> 9; 0 -> 8.1
    expect([10, 0, 0].map((x) => f.update(x))).toEqual([10, 9, 8.1]);
  });

  it('with period 1 is the last value', () => {
    const e = new Ema(1);
    expect([3, -2, 7].map((x) => e.update(x))).toEqual([3, -2, 7]);
  });

  it('saves and restores its state, and ignores a malformed one', () => {
    const e = new Ema(5);
    e.update(2);
    e.update(-1);
    const copy = new Ema(5);
    copy.loadState(JSON.parse(JSON.stringify(e.saveState())));
    expect(copy.update(4)).toBe(e.update(4));
    const fresh = new Ema(5);
    expect(fresh.saveState()).toEqual({ value: null, count: 0 });
    fresh.loadState({ value: 'x', count: 2 });
    expect(fresh.count).toBe(0);
    expect(() => new Ema(0.5)).toThrow(RangeError);
  });
});

describe('asymptotic sizing f(x) = 1 - (1 - x^level)^(1/level)', () => {
  const levels = [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 4, 8, 20];

  it.each(levels)('level %s: f(0) = 0 and f(1) = 1 exactly; x is clamped to [0, 1]', (level) => {
    expect(sizeFraction(0, level)).toBe(0);
    expect(sizeFraction(1, level)).toBe(1);
    expect(sizeFraction(-0.3, level)).toBe(0);
    expect(sizeFraction(1.7, level)).toBe(1);
    expect(sizeFraction(NaN, level)).toBe(0);
  });

  it('level 1 is linear: f(x) = x', () => {
    for (let i = 0; i <= 100; i++) expect(sizeFraction(i / 100, 1)).toBeCloseTo(i / 100, 14);
  });

  // closed forms: level 2: 1 - sqrt(1 - x^2); level 0.5: 1 - (1 - sqrt x)^2; level 4: 1 - (1 - x^4)^(1/4);
  // level 0.25: 1 - (1 - x^(1/4))^4
  it.each([
    { level: 0.25, x: 0.25, f: 1 - (1 - Math.SQRT1_2) ** 4, approx: 0.9926 },
    { level: 0.25, x: 0.5, f: 1 - (1 - 0.5 ** 0.25) ** 4, approx: 0.9994 },
    { level: 0.25, x: 0.75, f: 1 - (1 - 0.75 ** 0.25) ** 4, approx: 1.0 },
    { level: 0.5, x: 0.25, f: 0.75, approx: 0.75 },
    { level: 0.5, x: 0.5, f: 1 - (1 - Math.SQRT1_2) ** 2, approx: 0.9142 },
    { level: 0.5, x: 0.75, f: 1 - (1 - Math.sqrt(0.75)) ** 2, approx: 0.9821 },
    { level: 1, x: 0.25, f: 0.25, approx: 0.25 },
    { level: 1, x: 0.5, f: 0.5, approx: 0.5 },
    { level: 1, x: 0.75, f: 0.75, approx: 0.75 },
    { level: 2, x: 0.25, f: 1 - Math.sqrt(0.9375), approx: 0.0318 },
    { level: 2, x: 0.5, f: 1 - Math.sqrt(0.75), approx: 0.134 },
    { level: 2, x: 0.75, f: 1 - Math.sqrt(0.4375), approx: 0.3386 },
    { level: 4, x: 0.25, f: 1 - (1 - 0.25 ** 4) ** 0.25, approx: 0.001 },
    { level: 4, x: 0.5, f: 1 - 0.9375 ** 0.25, approx: 0.016 },
    { level: 4, x: 0.75, f: 1 - (1 - 0.75 ** 4) ** 0.25, approx: 0.0907 },
  ])('level $level: f($x) = $approx', ({ level, x, f, approx }) => {
    expect(sizeFraction(x, level)).toBeCloseTo(f, 12);
    expect(sizeFraction(x, level)).toBeCloseTo(approx, 4);
  });

  it('is aggressive below level 1 (f(x) > x), sniper above (f(x) < x), and decreases with the level', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.double({ min: 0.05, max: 20, noNaN: true }), (x, level) => {
        const f = sizeFraction(x, level);
        if (level < 0.999) expect(f).toBeGreaterThan(x);
        if (level > 1.001) expect(f).toBeLessThan(x);
        expect(sizeFraction(x, level * 1.1)).toBeLessThanOrEqual(f + 1e-15);
        expect(sizeFraction(Math.min(1, x + 0.001), level)).toBeGreaterThanOrEqual(f);
      }),
    );
  });

  it('near x = 0 behaves as x^level / level (slope infinite below level 1, zero above)', () => {
    for (const level of [0.5, 2, 4]) {
      const x = 1e-6 ** (1 / level); // x^level = 1e-6
      expect(sizeFraction(x, level) / (x ** level / level)).toBeCloseTo(1, 3);
    }
  });

  it('strengthForFraction inverts f (where the answer is representable: for level 20, x for 90% is 1 - 5e-22)', () => {
    for (const level of levels.filter((l) => l <= 8)) {
      for (const y of [0.1, 0.5, 0.9]) expect(sizeFraction(strengthForFraction(y, level), level)).toBeCloseTo(y, 9);
      expect(strengthForFraction(0.5, level)).toBeCloseTo(1 - sizeFraction(0.5, level), 9);
    }
    // level 2: half the budget at x = sqrt(1 - 0.25) = 0.866
    expect(strengthForFraction(0.5, 2)).toBeCloseTo(Math.sqrt(0.75), 12);
  });

  it('rejects a level that is not positive', () => {
    expect(() => sizeFraction(0.5, 0)).toThrow(RangeError);
    expect(() => sizeFraction(0.5, -1)).toThrow(RangeError);
  });
});

describe('asymptoticSize', () => {
  it('rounds down to whole lots, in integer units', () => {
    // max 0.01 BTC = 1_000_000 units of 1e-8, lot 0.00001 = 1000 units
    // level 2, x = 0.9375: f = 1 - sqrt(1 - 0.87890625) = 1 - 0.34798527 = 0.65201473 -> 652014.73 units -> 652 lots
    expect(asymptoticSize(0.9375, 2, 1_000_000, 1000)).toBe(652_000);
    // level 1, x = 0.5: exactly 500 lots
    expect(asymptoticSize(0.5, 1, 1_000_000, 1000)).toBe(500_000);
    // shares: max 100, lot 1, level 0.5, x = 0.25 -> 75 shares
    expect(asymptoticSize(0.25, 0.5, 100, 1)).toBe(75);
  });

  it('is 0 at x = 0 and the whole budget (rounded down to the lot) at x = 1', () => {
    for (const level of [0.25, 1, 4]) {
      expect(asymptoticSize(0, level, 1_000_000, 1000)).toBe(0);
      expect(asymptoticSize(1, level, 1_000_000, 1000)).toBe(1_000_000);
      expect(asymptoticSize(1, level, 1_234_567, 1000)).toBe(1_234_000);
    }
  });

  it('does not lose a lot to floating point when the product is a whole number of lots', () => {
    // 0.3 × 10 = 3 lots, but 0.3 * 10 / 1 in binary is 2.9999999999999996
    expect(asymptoticSize(0.3, 1, 10, 1)).toBe(3);
    expect(asymptoticSize(0.7, 1, 0.01, 0.001)).toBeCloseTo(0.007, 15);
  });

  it('gives nothing below one lot and for a budget of zero', () => {
    expect(asymptoticSize(0.1, 4, 1_000_000, 1000)).toBe(0); // f(0.1) = 2.5e-5 -> 25 units < 1 lot
    expect(asymptoticSize(1, 1, 0, 1000)).toBe(0);
    expect(() => asymptoticSize(1, 1, 10, 0)).toThrow(RangeError);
  });
});
