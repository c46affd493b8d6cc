import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RoundTrip } from './portfolio.js';
import { drawdownSeries, maxDrawdown, minuteSharpe, periodReturns, sharpe, summarize } from './stats.js';

describe('periodReturns', () => {
  it.each([
    { equity: [], returns: [] },
    { equity: [100], returns: [] },
    { equity: [100, 110, 99], returns: [0.1, -0.1] },
    { equity: [50, 50], returns: [0] },
  ])('$equity -> $returns', ({ equity, returns }) => {
    const got = periodReturns(equity);
    expect(got).toHaveLength(returns.length);
    got.forEach((r, i) => expect(r).toBeCloseTo(returns[i]!, 12));
  });
});

describe('sharpe', () => {
  // r = [0.01, -0.02, 0.015, 0.005]; mean = 0.01 / 4 = 0.0025
  // deviations 0.0075, -0.0225, 0.0125, 0.0025; squares sum = 5.625e-5 + 5.0625e-4 + 1.5625e-4 + 6.25e-6 = 7.25e-4
  // std (ddof 1) = sqrt(7.25e-4 / 3) = 0.0155456318; 0.0025 / 0.0155456318 * sqrt(252) = 2.55288883
  const r = [0.01, -0.02, 0.015, 0.005];
  it('annualizes mean / sample std (empyrical convention)', () => {
    expect(sharpe(r, 252)).toBeCloseTo(2.55288883, 7);
  });
  it('subtracts a per-period risk-free rate', () => {
    // (0.0025 - 0.001) / 0.0155456318 * sqrt(252) = 1.53173330
    expect(sharpe(r, 252, 0.001)).toBeCloseTo(1.5317333, 6);
  });
  it.each([
    ['no returns', []],
    ['one return', [0.01]],
    ['zero deviation', [0.01, 0.01, 0.01]],
  ])('is NaN with %s', (_name, returns) => {
    expect(sharpe(returns, 252)).toBeNaN();
  });
});

describe('drawdowns', () => {
  it.each([
    { equity: [], dd: [], max: 0 },
    { equity: [100, 101, 105], dd: [0, 0, 0], max: 0 },
    // peak 120 -> trough 90: 90/120 - 1 = -0.25; peak 130 -> 104: -0.2
    { equity: [100, 120, 90, 130, 104], dd: [0, 0, -0.25, 0, -0.2], max: -0.25 },
    { equity: [100, 80], dd: [0, -0.2], max: -0.2 },
  ])('$equity: max $max', ({ equity, dd, max }) => {
    const got = drawdownSeries(equity);
    expect(got).toHaveLength(dd.length);
    got.forEach((d, i) => expect(d).toBeCloseTo(dd[i]!, 12));
    expect(maxDrawdown(equity)).toBeCloseTo(max, 12);
  });

  it('is never positive and never below -1 for positive equity (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.01, max: 1e9, noNaN: true })), (equity) => {
        const m = maxDrawdown(equity);
        expect(m).toBeLessThanOrEqual(0);
        expect(m).toBeGreaterThan(-1);
        expect(Math.min(0, ...drawdownSeries(equity))).toBe(m);
      }),
    );
  });
});

describe('minuteSharpe', () => {
  it('takes the last value per minute and carries empty minutes forward as zero returns', () => {
    // minute 0: last 101; minute 1: last 103; minute 2: empty (103); minute 3: 103
    // returns r = 103/101 - 1, 0, 0 -> mean r/3, std r/sqrt(3) -> ratio 1/sqrt(3); * sqrt(525600) = sqrt(175200)
    const points = [
      { time: 0, equity: 100 },
      { time: 30_000, equity: 101 },
      { time: 60_000, equity: 102 },
      { time: 61_000, equity: 103 },
      { time: 180_000, equity: 103 },
    ];
    expect(minuteSharpe(points)).toBeCloseTo(Math.sqrt(175_200), 9);
    expect(minuteSharpe([...points].reverse())).toBeCloseTo(Math.sqrt(175_200), 9);
  });
  it('is NaN with fewer than three minutes', () => {
    expect(minuteSharpe([{ time: 0, equity: 1 }, { time: 60_000, equity: 2 }])).toBeNaN();
  });
});

function trip(id: string, status: RoundTrip['status'], realizedPnl: number, fees: number): RoundTrip {
  return {
    id, venue: 'spot', symbol: 'BTCUSDT', strategy: 's@1', direction: 'LONG', status, qty: 1, entryPrice: 100,
    exitPrice: status === 'CLOSED' ? 101 : null, openedAt: 0, closedAt: status === 'CLOSED' ? 1 : null,
    realizedPnl, fees, netPnl: realizedPnl - fees, fills: 2,
  };
}

describe('summarize', () => {
  it('counts closed trips by net P&L and measures the equity curve', () => {
    const trips = [
      trip('a', 'CLOSED', 10, 2), // net +8: win
      trip('b', 'CLOSED', -1, 1), // net -2: loss
      trip('c', 'CLOSED', 1, 1), // net 0: neither
      trip('d', 'OPEN', 5, 1), // not a trade yet, but its realized P&L and fees count
    ];
    const points = [
      { time: 0, equity: 10_000 },
      { time: 60_000, equity: 10_100 },
      { time: 120_000, equity: 9_595 },
      { time: 180_000, equity: 10_200 },
    ];
    const s = summarize(trips, points, 10_000);
    expect(s).toMatchObject({ totalTrades: 3, wins: 1, losses: 1, realizedPnl: 15, fees: 5, totalPnl: 200, highWaterMark: 10_200 });
    expect(s.winRate).toBeCloseTo(1 / 3, 12);
    // 9595 / 10100 - 1
    expect(s.maxDrawdown).toBeCloseTo(-0.05, 12);
    // returns 0.01, -0.05, 0.0630536738 -> mean / std(ddof 1) * sqrt(525600)
    expect(s.sharpe).toBeCloseTo(98.49604588, 6);
  });

  it('measures the drawdown from the initial cash', () => {
    const s = summarize([], [{ time: 0, equity: 900 }, { time: 60_000, equity: 950 }], 1_000);
    expect(s.maxDrawdown).toBeCloseTo(-0.1, 12);
    expect(s.highWaterMark).toBe(1_000);
    expect(s.totalPnl).toBe(-50);
  });

  it('is JSON-safe with nothing to measure: nulls, not NaN', () => {
    const s = summarize([], [], 1_000);
    expect(s).toEqual({
      totalTrades: 0, wins: 0, losses: 0, winRate: null, totalPnl: 0, realizedPnl: 0, fees: 0,
      sharpe: null, maxDrawdown: 0, highWaterMark: 1_000,
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('gives a null Sharpe for a flat curve', () => {
    const points = [0, 1, 2, 3].map((m) => ({ time: m * 60_000, equity: 1_000 }));
    expect(summarize([], points, 1_000).sharpe).toBeNull();
  });
});
