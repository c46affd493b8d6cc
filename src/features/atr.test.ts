import { describe, expect, it } from 'vitest';
import { Atr, TradeBars } from './atr.js';

describe('TradeBars', () => {
  it('aggregates trades of one interval and hands back the bar when the next interval starts', () => {
    const bars = new TradeBars(1000);
    expect(bars.onTrade(100, 1, 10_000)).toBeNull();
    expect(bars.onTrade(103, 2, 10_400)).toBeNull();
    expect(bars.onTrade(99, 1, 10_999)).toBeNull();
    expect(bars.onTrade(101, 1, 10_500)).toBeNull(); // same bar, close is the last trade seen
    const b = bars.onTrade(102, 5, 12_300); // skips the empty 11 s interval
    expect(b).toEqual({ start: 10_000, open: 100, high: 103, low: 99, close: 101, volume: 5 });
    expect(bars.onTrade(104, 1, 12_999)).toBeNull();
  });

  it('ignores a late trade of an earlier interval', () => {
    const bars = new TradeBars(1000);
    bars.onTrade(100, 1, 5_000);
    expect(bars.onTrade(90, 1, 4_999)).toBeNull();
    expect(bars.onTrade(100, 1, 6_000)).toMatchObject({ low: 100, high: 100 });
  });
});

describe('Atr (Wilder)', () => {
  it('is NaN until the period is complete, then the mean TR, then Wilder-smoothed', () => {
    const atr = new Atr(3);
    // bars: (h, l, c)
    expect(atr.update(10, 8, 9)).toBeNaN(); // TR 2 (no previous close)
    expect(atr.update(11, 9, 10)).toBeNaN(); // TR max(2, |11-9|=2, |9-9|=0) = 2
    expect(atr.update(14, 10, 13)).toBeCloseTo((2 + 2 + 4) / 3, 12); // TR max(4, 4, 0) = 4
    // gap down: TR = max(1, |9-13|=4, |8-13|=5) = 5
    expect(atr.update(9, 8, 8.5)).toBeCloseTo(((8 / 3) * 2 + 5) / 3, 12);
  });

  it('rejects a bad period', () => {
    expect(() => new Atr(0)).toThrow(/period/);
  });
});

describe('bars and ATR state', () => {
  it('continue identically after a JSON round trip, also before the first trade', () => {
    const trades: [number, number][] = [[100, 0], [104, 400], [99, 1200], [101, 1900], [108, 2100], [103, 3300], [96, 4100], [97, 5200]];
    for (const cut of [0, 3, 5]) {
      const a = { bars: new TradeBars(1000), atr: new Atr(2) };
      const feed = (x: typeof a, [p, t]: [number, number]) => {
        const b = x.bars.onTrade(p, 1, t);
        if (b) x.atr.update(b.high, b.low, b.close);
      };
      trades.slice(0, cut).forEach((t) => feed(a, t));
      const b = { bars: new TradeBars(1000), atr: new Atr(2) };
      b.bars.loadState(JSON.parse(JSON.stringify(a.bars.saveState())));
      b.atr.loadState(JSON.parse(JSON.stringify(a.atr.saveState())));
      for (const t of trades.slice(cut)) {
        feed(a, t);
        feed(b, t);
        expect(b.atr.value).toEqual(a.atr.value);
      }
      expect(a.atr.value).toBeGreaterThan(0);
    }
  });
});
