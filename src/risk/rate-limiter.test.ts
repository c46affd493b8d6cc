import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingRateLimiter, type RateWindow } from './rate-limiter.js';

const WINDOWS: RateWindow[] = [
  { windowMs: 1000, limit: 3, label: '3/s' },
  { windowMs: 60_000, limit: 10, label: '10/min' },
  { windowMs: 3_600_000, limit: 25, label: '25/h' },
];

/** The definition: the first window in which the orders recorded within it already reach its limit. */
function reference(times: readonly number[], now: number): RateWindow | null {
  for (const w of WINDOWS) if (times.filter((t) => t >= now - w.windowMs + 1e-9).length >= w.limit) return w;
  return null;
}

describe('SlidingRateLimiter', () => {
  it('answers like counting every order in each window, for any order flow', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 400_000 }), fc.boolean()), { maxLength: 200 }), (steps) => {
        const l = new SlidingRateLimiter(WINDOWS);
        const recorded: number[] = [];
        let now = 1_700_000_000_000;
        for (const [dt, send] of steps) {
          now += dt;
          const expected = reference(recorded, now);
          expect(l.wouldExceed(now)).toBe(expected);
          if (send && expected === null) {
            l.record(now);
            recorded.push(now);
          }
        }
        expect(l.usage(now).map((u) => u.used)).toEqual(WINDOWS.map((w) => recorded.filter((t) => t >= now - w.windowMs + 1e-9).length));
      }),
      { numRuns: 500 },
    );
  });

  it('denies the fourth order within a second and allows it a second later', () => {
    const l = new SlidingRateLimiter(WINDOWS);
    for (const t of [0, 100, 200]) l.record(t);
    expect(l.wouldExceed(999)?.label).toBe('3/s');
    expect(l.wouldExceed(1000)).toBeNull();
  });
});
