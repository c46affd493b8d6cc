import { describe, expect, it } from 'vitest';
import { alignedMinuteReturns } from './compare.js';

const M = 60_000;

describe('aligned minute returns', () => {
  it('samples every curve at the end of each common minute, carrying the last value forward', () => {
    const a = [{ time: 0, equity: 100 }, { time: 30_000, equity: 101 }, { time: 2 * M + 5, equity: 99 }, { time: 3 * M, equity: 102 }];
    const b = [{ time: M + 1, equity: 50 }, { time: 3 * M + 10, equity: 55 }, { time: 4 * M, equity: 60 }];
    // common minutes 1..3: a ends them at 101, 99, 102; b at 50, 50, 55
    const [ra, rb] = alignedMinuteReturns([a, b]);
    expect(ra).toEqual([99 / 101 - 1, 102 / 99 - 1]);
    expect(rb).toEqual([0, 55 / 50 - 1]);
  });

  it('gives empty series when a curve is empty or the curves do not overlap', () => {
    expect(alignedMinuteReturns([[], [{ time: 0, equity: 1 }]])).toEqual([[], []]);
    expect(alignedMinuteReturns([[{ time: 0, equity: 1 }], [{ time: 10 * M, equity: 1 }]])).toEqual([[], []]);
  });
});
