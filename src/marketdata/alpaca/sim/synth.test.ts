import { describe, expect, it } from 'vitest';
import { barTicks, barVwap } from './synth.js';

describe('barTicks', () => {
  const t = Date.UTC(2019, 1, 15, 14, 30);
  it('walks a bullish bar open, low, high, close with quotes one tick around', () => {
    const ticks = barTicks({ t, o: 10, h: 12, l: 9, c: 11, v: 400 }, 'us_equity', 0.01);
    expect(ticks.map((x) => x.price)).toEqual([10, 9, 12, 11]);
    expect(ticks.map((x) => x.t - t)).toEqual([0, 15000, 30000, 45000]);
    expect(ticks[1]).toMatchObject({ bid: 8.99, ask: 9.01, size: 100, bidSize: 10, askSize: 10 });
  });
  it('walks a bearish bar open, high, low, close; crypto sizes fractional', () => {
    const ticks = barTicks({ t, o: 0.2, h: 0.21, l: 0.19, c: 0.195, v: 10 }, 'crypto', 0.00001);
    expect(ticks.map((x) => x.price)).toEqual([0.2, 0.21, 0.19, 0.195]);
    expect(ticks[0]).toMatchObject({ bid: 0.19999, ask: 0.20001, size: 2.5, bidSize: 0.25 });
  });
  it('never emits zero-size stock trades', () => {
    expect(barTicks({ t, o: 1, h: 1, l: 1, c: 1, v: 0 }, 'us_equity', 0.01)[0]!.size).toBe(1);
    expect(barVwap({ t, o: 1, h: 2, l: 1, c: 2, v: 0 })).toBe(1.5);
  });
});
