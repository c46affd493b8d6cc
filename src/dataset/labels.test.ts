import { describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from '../features/schema.js';
import { autoDeadBand, DOWN, FLAT, labelOf, parseDeadBand, parseHorizon, parseSplit, relabel, SampleCollector, splitByTime, UP, type DeadBand, type Horizon, type SamplingOptions } from './labels.js';

const EVERY: SamplingOptions = { every: 1, warmupMs: 0 };
const BP0: DeadBand = { value: 0, unit: 'bp' };

/** features = [t, mid, 0, ...] so a sample's row tells which update it came from */
function run(horizon: Horizon, steps: ([number, number] | 'resync')[], sampling = EVERY, band = BP0): SampleCollector {
  const c = new SampleCollector(horizon, band, 1, sampling);
  let t = 0;
  for (const s of steps) {
    if (s === 'resync') c.onUnsynced(t);
    else {
      t = s[0];
      const mid = s[1];
      c.onBook(t, mid, (out, off) => {
        out.fill(0, off, off + FEATURE_COUNT);
        out[off] = t;
        out[off + 1] = mid;
      });
    }
  }
  c.finish();
  return c;
}

const rows = (c: SampleCollector) => {
  const s = c.labeled();
  return Array.from({ length: s.n }, (_, i) => ({ t: s.t[i], x0: s.x[i * FEATURE_COUNT], y: s.y[i], ret: s.ret[i] }));
};

describe('labels over a time horizon', () => {
  it('compare the mid as of t + H (the last update at or before it) with the mid at t; samples whose horizon outlasts the data are dropped', () => {
    const c = run(parseHorizon('5s'), [[0, 100], [1000, 101], [5000, 102], [5001, 103], [7000, 99]]);
    expect(rows(c)).toEqual([
      // t = 0: mid as of 5000 is 102 (the update at 5000 counts)
      { t: 0, x0: 0, y: UP, ret: Math.log(102 / 100) * 1e4 },
      // t = 1000: as of 6000 the mid is 103
      { t: 1000, x0: 1000, y: UP, ret: Math.log(103 / 101) * 1e4 },
    ]);
    expect(c.dropped).toEqual({ end: 3, resync: 0 });
    expect(c.n).toBe(5);
    expect(c.bookUpdates).toBe(5);
  });

  it('wait for an update after t + H: an update exactly at t + H may be followed by others at the same time', () => {
    const c = run(parseHorizon('1s'), [[0, 100], [1000, 99], [1000, 101], [1500, 101]]);
    expect(rows(c).map((r) => r.y)).toEqual([UP]);
  });

  it('a resync drops the samples whose horizon was not over, and keeps those that were', () => {
    const c = run(parseHorizon('1s'), [[0, 100], [500, 101], [1200, 99], 'resync', [3000, 98], [4500, 97], [4600, 97]]);
    // 0: horizon over at 1000 (mid 101) before the resync at 1200; 500 and 1200 dropped; 3000 labeled at 4500 by 98
    expect(rows(c).map((r) => [r.t, r.y])).toEqual([[0, UP], [3000, FLAT]]);
    expect(c.dropped).toEqual({ end: 2, resync: 2 });
  });
});

describe('labels over an event horizon', () => {
  it('compare with the mid after the n-th following book update', () => {
    const c = run(parseHorizon('2e'), [[0, 100], [10, 101], [20, 100], [30, 99], [40, 99]]);
    expect(rows(c).map((r) => [r.t, r.y])).toEqual([[0, FLAT], [10, DOWN], [20, DOWN]]);
    expect(c.dropped.end).toBe(2);
  });

  it('a resync drops every pending sample', () => {
    const c = run(parseHorizon('1e'), [[0, 100], [10, 101], 'resync', [20, 100], [30, 102]]);
    expect(rows(c).map((r) => [r.t, r.y])).toEqual([[0, UP], [20, UP]]);
    expect(c.dropped).toEqual({ end: 1, resync: 1 });
  });
});

describe('sampling', () => {
  const mids: [number, number][] = Array.from({ length: 20 }, (_, i) => [i * 100, 100 + (i % 3)]);
  it('every n-th update after the warm-up', () => {
    const c = run(parseHorizon('1e'), mids, { every: 3, warmupMs: 500 });
    expect(rows(c).map((r) => r.t)).toEqual([600, 900, 1200, 1500, 1800]);
  });

  it('the first update at or after each multiple of the interval', () => {
    const c = run(parseHorizon('1e'), [[0, 1], [240, 1], [260, 1], [499, 1], [500, 1], [1700, 1], [1750, 1]], { every: 1, intervalMs: 250, warmupMs: 0 });
    expect(rows(c).map((r) => r.t)).toEqual([0, 260, 500, 1700]);
    expect(c.n).toBe(5); // and 1750 (the next multiple), dropped at the end
  });

  it('the warm-up starts over after a resync', () => {
    const c = run(parseHorizon('1e'), [[0, 1], [100, 1], 'resync', [200, 1], [250, 1], [300, 1], [400, 1]], { every: 1, warmupMs: 100 });
    // sampled: 100 (dropped by the resync), 300 and 400 (200 and 250 are inside the new warm-up)
    expect(c.n).toBe(3);
    expect(rows(c).map((r) => r.t)).toEqual([300]);
    expect(c.dropped).toEqual({ end: 1, resync: 1 });
  });
});

describe('label rule and dead band', () => {
  it.each([
    [100, 100.004, { value: 0.5, unit: 'bp' }, FLAT],
    [100, 100.005, { value: 0.5, unit: 'bp' }, FLAT], // 0.49999 bp (log return)
    [100, 100.006, { value: 0.5, unit: 'bp' }, UP],
    [100, 99.99, { value: 0.5, unit: 'bp' }, DOWN],
    [100, 102, { value: 2, unit: 'ticks' }, FLAT], // edges are flat
    [100, 103, { value: 2, unit: 'ticks' }, UP],
    [100, 97, { value: 2, unit: 'ticks' }, DOWN],
    [100, 100, { value: 0, unit: 'bp' }, FLAT],
  ] as [number, number, DeadBand, number][])('%f -> %f with %o', (m0, m1, band, label) => {
    expect(labelOf(m0, m1, band, 1)).toBe(label);
  });

  it('auto: the one-third quantile of |move| over the given samples, then relabeled', () => {
    const c = run(parseHorizon('1e'), [[0, 100], [1, 100.01], [2, 100.03], [3, 99.99], [4, 100.05], [5, 100.04], [6, 100.07]]);
    const s = c.labeled();
    // |moves| bp: 0.99995, 2, 4, 6, 0.9995, 3: the 2nd smallest (ceil(6/3)) is the first sample's
    const band = autoDeadBand(s, 0, s.n);
    expect(band).toBe(Math.log(100.01 / 100) * 1e4);
    relabel(s, { value: band, unit: 'bp' });
    expect(Array.from(s.y)).toEqual([FLAT, UP, DOWN, UP, FLAT, UP]);
    expect(autoDeadBand(s, 0, 0)).toBe(0);
  });
});

describe('split by time with an embargo', () => {
  const samples = (n: number) => ({ n, t: Float64Array.from({ length: n }, (_, i) => i * 1000), seq: Float64Array.from({ length: n }, (_, i) => 10 * i) });

  it('train, validation, test in time order; each later split starts once the previous split’s last label window is over', () => {
    const s = splitByTime(samples(100), [0.7, 0.15, 0.15], parseHorizon('5s'));
    // train 0..69; validation from the first t >= 69 000 + 5 000 (74) to 85; test from t >= 84 000 + 5 000 (89)
    expect(s.ranges).toEqual({ train: { from: 0, to: 70 }, val: { from: 74, to: 85 }, test: { from: 89, to: 100 } });
    expect(s.embargoed).toBe(8);
  });

  it('counts book updates for an event horizon', () => {
    const s = splitByTime(samples(100), [0.7, 0.15, 0.15], parseHorizon('25e'));
    // seq = 10 i: 25 updates after sample 69 is seq 715 -> sample 72 (seq 720); after 84: 865 -> 87
    expect(s.ranges.val).toEqual({ from: 72, to: 85 });
    expect(s.ranges.test.from).toBe(87);
    expect(s.embargoed).toBe(2 + 2);
  });

  it('a validation split shorter than the embargo is empty, and the test split still waits for the horizon', () => {
    const s = splitByTime(samples(100), [0.9, 0.02, 0.08], parseHorizon('5s'));
    expect(s.ranges.train).toEqual({ from: 0, to: 90 });
    expect(s.ranges.val.to - s.ranges.val.from).toBe(0);
    expect(s.ranges.test.from).toBe(94);
    expect(s.embargoed).toBe(4);
  });

  it('a zero horizon-free split keeps every sample', () => {
    const s = splitByTime(samples(10), [1, 0, 0], parseHorizon('5s'));
    expect(s.ranges.train).toEqual({ from: 0, to: 10 });
    expect(s.embargoed).toBe(0);
  });
});

describe('option parsing', () => {
  it.each([
    ['5s', { kind: 'time', ms: 5000, text: '5s' }],
    ['500ms', { kind: 'time', ms: 500, text: '500ms' }],
    ['1.5s', { kind: 'time', ms: 1500, text: '1.5s' }],
    ['2m', { kind: 'time', ms: 120_000, text: '2m' }],
    ['50e', { kind: 'events', count: 50, text: '50e' }],
  ])('horizon %s', (text, h) => {
    expect(parseHorizon(text)).toEqual(h);
  });
  it.each(['5', '5x', '0s', '1.5e', '0e', '-1s'])('rejects horizon %s', (text) => {
    expect(() => parseHorizon(text)).toThrow(/--horizon/);
  });
  it.each([
    ['0.5', { value: 0.5, unit: 'bp' }],
    ['0.5bp', { value: 0.5, unit: 'bp' }],
    ['2t', { value: 2, unit: 'ticks' }],
    ['2ticks', { value: 2, unit: 'ticks' }],
    ['auto', { value: NaN, unit: 'bp', auto: true }],
  ])('dead band %s', (text, b) => {
    expect(parseDeadBand(text)).toEqual(b);
  });
  it.each(['-1', 'x', '1%'])('rejects dead band %s', (text) => {
    expect(() => parseDeadBand(text)).toThrow(/--dead-band/);
  });
  it('split fractions', () => {
    expect(parseSplit('0.7,0.15,0.15')).toEqual([0.7, 0.15, 0.15]);
    for (const bad of ['0.7,0.3', '0.5,0.5,0.5', 'a,b,c', '-0.1,0.6,0.5']) expect(() => parseSplit(bad)).toThrow(/--split/);
  });
});
