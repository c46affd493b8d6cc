import { describe, expect, it } from 'vitest';
import { Rng } from '../../core/rng.js';
import { ConstantLatency, createLatencyModel, FeedLatency, VolatilityLatency, type VolatilityLatencyOptions } from './latency.js';

const T0 = 1_700_000_000_000;

describe('ConstantLatency', () => {
  it.each([
    [0, 0],
    [10, 5],
    [2.5, 0.75],
  ])('entry %d ms and response %d ms whatever the time and the market', (entryMs, responseMs) => {
    const m = new ConstantLatency(entryMs, responseMs);
    expect(m.name).toBe('constant');
    for (const now of [0, T0, T0 + 123_456]) {
      m.observeMid(now, 60_000 + now % 7);
      expect(m.entry(now)).toBe(entryMs);
      expect(m.response(now)).toBe(responseMs);
    }
  });

  it('adds a jitter in [0, jitter) to each latency', () => {
    const m = new ConstantLatency(10, 5, 2, new Rng(1));
    let sum = 0;
    for (let i = 0; i < 2000; i++) {
      const e = m.entry(T0 + i);
      const r = m.response(T0 + i);
      expect(e).toBeGreaterThanOrEqual(10);
      expect(e).toBeLessThan(12);
      expect(r).toBeGreaterThanOrEqual(5);
      expect(r).toBeLessThan(7);
      sum += e - 10 + (r - 5);
    }
    expect(sum / 4000).toBeCloseTo(1, 1); // the uniform draw averages jitter / 2
  });

  it('draws the same jitter sequence from the same seed, and another from another seed', () => {
    const seq = (seed: number) => {
      const m = new ConstantLatency(10, 5, 2, new Rng(seed));
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push(m.entry(T0), m.response(T0));
      return out;
    };
    expect(seq(42)).toEqual(seq(42));
    expect(seq(42)).not.toEqual(seq(43));
  });

  it('the jitter is the Rng draw scaled', () => {
    const a = new Rng(9);
    const u1 = a.next();
    const u2 = a.next();
    const m = new ConstantLatency(10, 5, 4, new Rng(9));
    expect(m.entry(T0)).toBe(10 + u1 * 4);
    expect(m.response(T0)).toBe(5 + u2 * 4);
  });

  it.each([
    ['a jitter without an Rng', () => new ConstantLatency(10, 5, 1), /jitterMs > 0 needs a seeded Rng/],
    ['a negative latency', () => new ConstantLatency(-1, 5), /entryMs must be a finite number >= 0/],
    ['a NaN latency', () => new ConstantLatency(1, NaN), /responseMs must be a finite number >= 0/],
  ])('rejects %s', (_n, make, msg) => {
    expect(make).toThrowError(msg);
  });
});

describe('VolatilityLatency', () => {
  const base: VolatilityLatencyOptions = { entryMs: 10, responseMs: 5, halfLifeMs: 1000, sensitivity: 0.1, maxMultiplier: 3 };
  // one move 10000 -> 10010: r = 1e4 * ln(1.001) = 9.995003 bp, S = r^2 = 99.90009 bp^2;
  // window H_s / ln 2 = 1 / 0.693147 s, so vol = sqrt(99.90009 * 0.693147) = sqrt(69.24526) = 8.321386 bp/sqrt(s)
  // and m = 1 + 0.1 * 8.321386 = 1.8321386
  const oneMove = (opts: Partial<VolatilityLatencyOptions> = {}) => {
    const m = new VolatilityLatency({ ...base, ...opts });
    m.observeMid(T0, 10_000);
    m.observeMid(T0, 10_010);
    return m;
  };

  it('returns the base latencies while the mid is flat', () => {
    const m = new VolatilityLatency(base);
    expect(m.name).toBe('volatility');
    expect(m.entry(T0)).toBe(10);
    for (let i = 0; i < 100; i++) m.observeMid(T0 + i * 10, 60_000);
    expect(m.volatilityBps(T0 + 1000)).toBe(0);
    expect(m.entry(T0 + 1000)).toBe(10);
    expect(m.response(T0 + 1000)).toBe(5);
  });

  it('scales the latencies by 1 + sensitivity * vol after a move', () => {
    const m = oneMove();
    expect(m.volatilityBps(T0)).toBeCloseTo(8.321386, 5);
    expect(m.multiplier(T0)).toBeCloseTo(1.8321386, 6);
    expect(m.entry(T0)).toBeCloseTo(18.321386, 5);
    expect(m.response(T0)).toBeCloseTo(9.160693, 5);
  });

  it.each([
    // elapsed, multiplier: S halves per half-life, so vol shrinks by sqrt(2) per half-life
    [0, 1.8321386],
    [1000, 1.5884109], // 1 + 0.8321386 / sqrt(2)
    [2000, 1.4160693], // 1 + 0.8321386 / 2
    [10_000, 1.0260043], // 1 + 0.8321386 / 32
  ])('decays back toward the base: %d ms after the move the multiplier is %d', (elapsed, want) => {
    const m = oneMove();
    expect(m.multiplier(T0 + elapsed)).toBeCloseTo(want, 6);
    expect(m.entry(T0 + elapsed)).toBeCloseTo(10 * want, 5);
  });

  it('is back at the base long after the last move', () => {
    const m = oneMove();
    expect(m.entry(T0 + 200_000)).toBeCloseTo(10, 9);
  });

  it('decays the old estimate before adding a new move', () => {
    // the same move twice, one half-life apart: S = 99.90009 / 2 + 99.90009 = 149.85014 -> vol = 10.191578
    const m = oneMove();
    m.observeMid(T0 + 1000, 10_000 * (10_010 / 10_000) ** 2);
    expect(m.volatilityBps(T0 + 1000)).toBeCloseTo(10.191578, 5);
  });

  it('rises further with a burst of mid changes and never exceeds maxMultiplier x base', () => {
    const m = new VolatilityLatency(base);
    let prev = m.multiplier(T0);
    for (let i = 0; i < 50; i++) {
      m.observeMid(T0 + i, i % 2 === 0 ? 10_000 : 10_010);
      const now = m.multiplier(T0 + i);
      expect(now).toBeGreaterThanOrEqual(prev); // each move adds more than 1 ms of decay takes away
      expect(m.entry(T0 + i)).toBeLessThanOrEqual(3 * 10);
      expect(m.response(T0 + i)).toBeLessThanOrEqual(3 * 5);
      prev = now;
    }
    // 49 moves of ~10 bp: vol = sqrt(49 * 99.9 * 0.693) = 58 bp/sqrt(s) -> 1 + 5.8, capped at 3
    expect(m.entry(T0 + 50)).toBe(30);
    expect(m.response(T0 + 50)).toBe(15);
  });

  it('ignores jumps beyond maxJumpBps (mids of two instruments on one stream)', () => {
    const m = new VolatilityLatency(base);
    for (let i = 0; i < 20; i++) m.observeMid(T0 + i, i % 2 === 0 ? 60_000 : 3_000); // BTC, ETH, BTC, ...
    expect(m.entry(T0 + 20)).toBe(10);
  });

  it('keeps a previous mid per stream', () => {
    const m = new VolatilityLatency(base);
    for (let i = 0; i < 20; i++) {
      m.observeMid(T0 + i, 60_000, 0);
      m.observeMid(T0 + i, 60_003, 1); // e.g. spot and the perpetual: flat each, 0.5 bp apart
    }
    expect(m.entry(T0 + 20)).toBe(10);
    expect(() => m.observeMid(T0, 1, 64)).toThrowError(/stream 64 out of range/);
  });

  it('ignores non-positive and non-finite mids', () => {
    const m = new VolatilityLatency(base);
    for (const mid of [10_000, 0, -5, NaN, Infinity, 10_000]) m.observeMid(T0, mid);
    expect(m.entry(T0)).toBe(10);
  });

  it('scales a jittered base and repeats it with the same seed', () => {
    const run = (seed: number) => {
      const m = oneMove({ jitterMs: 2, rng: new Rng(seed) });
      const out: number[] = [];
      for (let i = 0; i < 10; i++) out.push(m.entry(T0), m.response(T0));
      return out;
    };
    const a = run(5);
    expect(a).toEqual(run(5));
    const u = new Rng(5).next();
    expect(a[0]).toBeCloseTo((10 + 2 * u) * 1.8321386, 5);
    for (let i = 0; i < a.length; i += 2) {
      expect(a[i]).toBeGreaterThanOrEqual(10 * 1.83213);
      expect(a[i]).toBeLessThan(12 * 1.83214);
    }
  });

  it('rejects bad options, all at once', () => {
    expect(() => new VolatilityLatency({ ...base, halfLifeMs: 0, maxMultiplier: 0.5, sensitivity: -1 })).toThrowError(
      /sensitivity must be.*halfLifeMs must be > 0.*maxMultiplier must be >= 1/,
    );
    expect(() => new VolatilityLatency({ ...base, jitterMs: 1 })).toThrowError(/needs a seeded Rng/);
  });
});

describe('createLatencyModel', () => {
  const opts = { entryMs: 10, responseMs: 5, jitterMs: 0, halfLifeMs: 1000, sensitivity: 0.1, maxMultiplier: 3 };

  it('builds the constant model', () => {
    const m = createLatencyModel({ ...opts, model: 'constant' }, new Rng(1));
    expect(m).toBeInstanceOf(ConstantLatency);
    expect(m.name).toBe('constant');
    expect([m.entry(T0), m.response(T0)]).toEqual([10, 5]);
  });

  it('builds the volatility model with its parameters', () => {
    const m = createLatencyModel({ ...opts, model: 'volatility' }, new Rng(1));
    expect(m).toBeInstanceOf(VolatilityLatency);
    expect(m.name).toBe('volatility');
    m.observeMid(T0, 10_000);
    m.observeMid(T0, 10_010);
    expect(m.entry(T0)).toBeCloseTo(18.321386, 5);
  });

  it('passes the Rng on for the jitter', () => {
    const m = createLatencyModel({ ...opts, model: 'constant', jitterMs: 3 }, new Rng(11));
    expect(m.entry(T0)).toBe(10 + 3 * new Rng(11).next());
  });

  it('rejects an unknown model name', () => {
    expect(() => createLatencyModel({ ...opts, model: 'fast' as 'constant' }, new Rng(1))).toThrowError(/unknown latency model "fast"/);
  });
});

describe('FeedLatency', () => {
  it('reports nulls before any sample', () => {
    expect(new FeedLatency().summary()).toEqual({ count: 0, negative: 0, p50: null, p90: null, p99: null, max: null, mean: null, clockBehind: null });
  });

  it('reports percentiles of 1..100 ms within the histogram precision, and the exact max and mean', () => {
    const f = new FeedLatency();
    // shuffled order must not matter: 37 is coprime to 100
    for (let i = 0; i < 100; i++) {
      const ms = ((i * 37) % 100) + 1;
      f.observe(T0 + i, T0 + i + ms);
    }
    const s = f.summary();
    expect(s.count).toBe(100);
    expect(s.negative).toBe(0);
    // 3 significant digits: within 0.1% of the 50th, 90th and 99th smallest samples
    expect(Math.abs(s.p50! - 50) / 50).toBeLessThanOrEqual(0.001);
    expect(Math.abs(s.p90! - 90) / 90).toBeLessThanOrEqual(0.001);
    expect(Math.abs(s.p99! - 99) / 99).toBeLessThanOrEqual(0.001);
    expect(s.max).toBe(100);
    expect(s.mean).toBeCloseTo(50.5, 9);
  });

  it('is exact to the microsecond below 2 ms', () => {
    const f = new FeedLatency();
    // 0.1, 0.2, ..., 1.0 ms (fractional receive times, as the recordings carry ns)
    for (let i = 1; i <= 10; i++) f.observe(T0, T0 + i * 0.1);
    const s = f.summary();
    expect(s.p50).toBe(0.5);
    expect(s.p90).toBe(0.9);
    expect(s.p99).toBe(1);
    expect(s.max).toBe(1);
    expect(s.mean).toBeCloseTo(0.55, 9);
  });

  it('counts negative differences (clock skew) apart from the latency, and reports how far behind', () => {
    const f = new FeedLatency();
    f.observe(T0 + 5, T0); // receive 5 ms before the exchange time
    f.observe(T0 + 1, T0 + 0.5);
    expect(f.summary()).toEqual({ count: 0, negative: 2, p50: null, p90: null, p99: null, max: null, mean: null, clockBehind: { p50: expect.closeTo(0.5, 2), p90: expect.closeTo(5, 2), p99: expect.closeTo(5, 2), max: expect.closeTo(5, 2) } });
    f.observe(T0, T0 + 3);
    f.observe(T0, T0); // zero is a valid sample
    const s = f.summary();
    expect(s.count).toBe(2);
    expect(s.negative).toBe(2);
    expect(s.max).toBe(3);
    expect(s.mean).toBe(1.5);
  });

  it('ignores non-finite times and keeps large lags', () => {
    const f = new FeedLatency();
    f.observe(NaN, T0);
    f.observe(T0, Infinity);
    f.observe(T0, T0 + 3_600_000); // an hour behind: a stale recording
    const s = f.summary();
    expect(s.count).toBe(1);
    expect(s.max).toBe(3_600_000);
    expect(Math.abs(s.p50! - 3_600_000) / 3_600_000).toBeLessThanOrEqual(0.001);
  });

  it('starts over after reset', () => {
    const f = new FeedLatency();
    f.observe(T0, T0 + 10);
    f.observe(T0, T0 - 1);
    f.reset();
    expect(f.summary().count).toBe(0);
    expect(f.summary().negative).toBe(0);
    f.observe(T0, T0 + 2);
    expect(f.summary()).toMatchObject({ count: 1, p50: 2, max: 2, mean: 2 });
  });
});
