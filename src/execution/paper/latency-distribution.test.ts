import { build } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { FEED_LATENCY_BUCKETS_MS, FeedLatency } from './latency.js';

/** Deterministic samples in ms: a spread from tens of microseconds to seconds. */
function samples(n: number): number[] {
  const out: number[] = [];
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const u = x / 2 ** 31;
    out.push(Math.round(0.02 * Math.exp(u * 12) * 1000) / 1000);
  }
  return out;
}

describe('FeedLatency.distribution', () => {
  it('is empty, with zero counts in every bucket, before any sample', () => {
    const d = new FeedLatency().distribution();
    expect(d).toMatchObject({ count: 0, negative: 0, sumMs: 0, maxMs: null, percentiles: [] });
    expect(d.buckets.le).toEqual([...FEED_LATENCY_BUCKETS_MS]);
    expect(d.buckets.counts).toEqual(new Array(FEED_LATENCY_BUCKETS_MS.length + 1).fill(0));
  });

  it('gives the same 101 percentiles as HdrHistogram.getValueAtPercentile, and summary() agrees', () => {
    const f = new FeedLatency();
    const ref = build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
    const xs = samples(5000);
    for (const ms of xs) {
      f.observe(1_000, 1_000 + ms);
      ref.recordValue(Math.round(ms * 1000));
    }
    const d = f.distribution();
    expect(d.percentiles).toHaveLength(101);
    for (let p = 0; p <= 100; p++) expect(d.percentiles[p]).toBe(ref.getValueAtPercentile(p) / 1000);
    const s = f.summary();
    expect(d.percentiles[50]).toBe(s.p50);
    expect(d.percentiles[90]).toBe(s.p90);
    expect(d.percentiles[99]).toBe(s.p99);
    expect(d.maxMs).toBe(s.max);
    expect(d.count).toBe(5000);
    expect(d.sumMs).toBeCloseTo(xs.reduce((a, b) => a + b, 0), 6);
    // non-decreasing
    for (let p = 1; p <= 100; p++) expect(d.percentiles[p]!).toBeGreaterThanOrEqual(d.percentiles[p - 1]!);
  });

  it('counts every sample once, in the bucket whose bounds hold it (exact below 2 ms)', () => {
    const f = new FeedLatency();
    // 0.01 is on the first bound (inclusive), 0.011 just above it, 1 on a bound, 1.001 above, 70 s beyond the last bound
    for (const ms of [0.005, 0.01, 0.011, 0.3, 1, 1.001, 1.999, 70_000]) f.observe(0, ms);
    f.observe(10, 5); // negative: counted apart, never in a bucket
    const d = f.distribution();
    const at = (le: number) => d.buckets.counts[d.buckets.le.indexOf(le)];
    expect(at(0.01)).toBe(2);
    expect(at(0.02)).toBe(1);
    expect(at(0.5)).toBe(1);
    expect(at(1)).toBe(1);
    expect(at(2)).toBe(2);
    expect(d.buckets.counts.at(-1)).toBe(1);
    expect(d.buckets.counts.reduce((a, b) => a + b, 0)).toBe(8);
    expect(d.count).toBe(8);
    expect(d.negative).toBe(1);
  });

  it('matches a direct count of the samples per bucket within the histogram precision', () => {
    const f = new FeedLatency();
    const xs = samples(3000);
    for (const ms of xs) f.observe(0, ms);
    const d = f.distribution();
    const le = d.buckets.le;
    const direct = new Array(le.length + 1).fill(0);
    for (const ms of xs) {
      const i = le.findIndex((b) => ms <= b);
      direct[i === -1 ? le.length : i]++;
    }
    // a sample within 0.1% of a bound may land on either side of it
    const nearBound = xs.filter((ms) => le.some((b) => Math.abs(ms - b) <= b * 0.001 && ms > 2)).length;
    let moved = 0;
    for (let i = 0; i < direct.length; i++) moved += Math.abs(direct[i] - d.buckets.counts[i]!);
    expect(moved).toBeLessThanOrEqual(2 * nearBound);
    expect(d.buckets.counts.reduce((a, b) => a + b, 0)).toBe(3000);
  });
});
