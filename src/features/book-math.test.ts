import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BookSide } from '../book/side.js';
import { depthSlope, levelOfi, microprice, weightedImbalance } from './book-math.js';

function side(dir: 1 | -1, levels: [number, number][]): BookSide {
  const s = new BookSide(dir);
  for (const [p, q] of levels) s.set(p, q);
  return s;
}

describe('weighted imbalance', () => {
  it.each([
    // levels, decay, expected: bids 4,2,1 asks 1,3
    [1, 1, (4 - 1) / 5],
    [3, 1, (7 - 4) / 11],
    [10, 1, (7 - 4) / 11],
    [3, 0.5, (4 + 1 + 0.25 - (1 + 1.5)) / (4 + 1 + 0.25 + 1 + 1.5)],
  ])('over %i levels with decay %f', (levels, decay, expected) => {
    const bids = side(1, [[10000, 4], [9999, 2], [9998, 1]]);
    const asks = side(-1, [[10002, 1], [10003, 3]]);
    expect(weightedImbalance(bids, asks, levels, decay)).toBeCloseTo(expected, 12);
  });

  it('is 0 for an empty book', () => {
    expect(weightedImbalance(side(1, []), side(-1, []), 5, 0.5)).toBe(0);
  });
});

describe('microprice', () => {
  it('leans toward the thinner side', () => {
    expect(microprice(100, 4, 102, 1)).toBeCloseTo(101.6, 12);
    expect(microprice(100, 1, 102, 4)).toBeCloseTo(100.4, 12);
    expect(microprice(100, 0, 102, 0)).toBe(101);
  });
});

describe('depth slope', () => {
  it('is the least-squares slope of cumulative quantity against distance from the mid, in bp', () => {
    const bids = side(1, [[10000, 4], [9999, 2], [9998, 1]]);
    const k = 1e4 / 10001;
    // d = 1k, 2k, 3k; Q = 4, 6, 7: Σ dQ / Σ d² = 37k / 14k²
    expect(depthSlope(bids, 10001, 10)).toBeCloseTo(37 / 14 / k, 10);
    // only the best two levels: (4 + 12) / 5
    expect(depthSlope(bids, 10001, 2)).toBeCloseTo(16 / 5 / k, 10);
  });

  it('is NaN for an empty side', () => {
    expect(depthSlope(side(-1, []), 100, 10)).toBeNaN();
  });
});

describe('order flow imbalance of one level', () => {
  it.each([
    // [b, qb, a, qa] now, [b', qb', a', qa'] before, e
    ['unchanged', [100, 5, 102, 3], [100, 5, 102, 3], 0],
    ['bid queue grows', [100, 7, 102, 3], [100, 5, 102, 3], 2],
    ['bid price improves: the whole new queue counts', [101, 2, 102, 3], [100, 5, 102, 3], 2],
    ['bid price falls: the old queue left', [99, 4, 102, 3], [100, 5, 102, 3], -5],
    ['ask queue grows (selling pressure)', [100, 5, 102, 6], [100, 5, 102, 3], -3],
    ['ask price improves', [100, 5, 101, 1], [100, 5, 102, 3], -1],
    ['ask price lifts: the old queue was taken', [100, 5, 103, 2], [100, 5, 102, 3], 3],
    ['a bid level disappears', [-Infinity, 0, 102, 3], [100, 5, 102, 3], -5],
    ['an ask level appears', [100, 5, 102, 3], [100, 5, Infinity, 0], -3],
    ['both levels missing', [-Infinity, 0, Infinity, 0], [-Infinity, 0, Infinity, 0], 0],
  ] as const)('%s', (_name, now, before, e) => {
    expect(levelOfi(now[0], now[1], now[2], now[3], before[0], before[1], before[2], before[3])).toBe(e);
  });
});
