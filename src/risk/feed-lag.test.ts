import { describe, expect, it } from 'vitest';
import { FeedLagTracker } from './feed-lag.js';

describe('feed lag tracker', () => {
  it('ignores a steady clock offset (either sign) and sees a late message', () => {
    for (const offset of [-1270, 0, 350]) {
      const t = new FeedLagTracker();
      for (let r = 1_000_000; r < 1_010_000; r += 100) t.observe(r - offset - (r % 7), r);
      expect(t.lastLag()).toBeLessThan(10);
      // a message 1.5 s late
      t.observe(1_010_000 - offset - 1500, 1_010_000);
      expect(t.lastLag()).toBeCloseTo(1500, -1);
      expect(t.lagOf(1_010_000 - offset, 1_010_000)).toBeLessThan(10);
    }
  });

  it('with a time scale, an exchange clock running X times faster is not lag, a delay still is', () => {
    const speed = 12;
    const scaled = new FeedLagTracker(speed);
    const plain = new FeedLagTracker(1);
    const ex = (r: number) => 1.7e12 + (r - 1_000_000) * speed; // the exchange time of a message sent on time at r
    for (let r = 1_000_000; r < 1_005_000; r += 10) {
      scaled.observe(ex(r), r);
      plain.observe(ex(r), r);
    }
    expect(scaled.lastLag()).toBeLessThan(1);
    // from now on every message arrives 1500 ms late (a slow link)
    for (let r = 1_005_000; r < 1_008_000; r += 10) {
      scaled.observe(ex(r - 1500), r);
      plain.observe(ex(r - 1500), r);
    }
    expect(scaled.lastLag()).toBeCloseTo(1500, 0);
    // unscaled, the exchange clock's 12x pace hides the delay: that is why the scale is configured
    expect(plain.lastLag()).toBe(0);
  });

  it('forgets samples older than the window', () => {
    const t = new FeedLagTracker(1, 10_000, 10);
    t.observe(1000, 1000); // difference 0
    for (let r = 2000; r <= 30_000; r += 500) t.observe(r - 800, r); // difference 800 from now on
    expect(t.baseline()).toBe(800);
    expect(t.lastLag()).toBe(0);
    expect(t.status()).toMatchObject({ lagMs: 0, baselineMs: 800, timeScale: 1 });
  });

  it('reports no lag before any sample and ignores non-finite times', () => {
    const t = new FeedLagTracker();
    expect(t.lastLag()).toBe(0);
    expect(t.lagOf(0, 1000)).toBe(0);
    t.observe(NaN, 1000);
    expect(t.status().samples).toBe(0);
    expect(() => new FeedLagTracker(0)).toThrow();
  });
});
