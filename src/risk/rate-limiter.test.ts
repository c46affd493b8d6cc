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
  it('answers like counting every order in each window, for any order flow and starting ring size', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 400_000 }), fc.boolean()), { maxLength: 200 }), fc.integer({ min: 1, max: 30 }), (steps, initialCapacity) => {
        const l = new SlidingRateLimiter(WINDOWS, { initialCapacity });
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

  it('sizes its ring by the orders inside the windows, not by the limit', () => {
    const l = new SlidingRateLimiter([{ windowMs: 3_600_000, limit: 10_000_000, label: 'hour' }]);
    expect(l.capacity).toBe(64);
    // one order a second for three hours: at most 3,600 inside the hour at any time
    for (let s = 0; s < 3 * 3600; s++) {
      expect(l.wouldExceed(s * 1000)).toBeNull();
      l.record(s * 1000);
    }
    expect(l.capacity).toBe(4096);
    expect(l.usage(3 * 3600 * 1000 - 1000)[0]!.used).toBe(3600);
  });

  it('still denies at a limit reached after growing', () => {
    const l = new SlidingRateLimiter([{ windowMs: 1000, limit: 200, label: '200/s' }], { initialCapacity: 2 });
    for (let i = 0; i < 200; i++) l.record(i);
    expect(l.capacity).toBe(200);
    expect(l.wouldExceed(500)?.label).toBe('200/s');
    expect(l.wouldExceed(1000)).toBeNull();
  });

  it('denies the fourth order within a second and allows it a second later', () => {
    const l = new SlidingRateLimiter(WINDOWS);
    for (const t of [0, 100, 200]) l.record(t);
    expect(l.wouldExceed(999)?.label).toBe('3/s');
    expect(l.wouldExceed(1000)).toBeNull();
  });
});
