import { describe, expect, it } from 'vitest';
import type { AccountSnapshot } from './portfolio.js';
import { MetricsRecorder } from './recorder.js';

const snap = (time: number, equity: number, cash = equity, grossExposure = 0): AccountSnapshot => ({
  time, cash, equity, realizedPnl: 0, unrealizedPnl: equity - cash, fees: 0, initialCash: 100, grossExposure,
});

describe('MetricsRecorder', () => {
  it('writes a row only when cash, equity or exposure changed', () => {
    const r = new MetricsRecorder(100);
    expect(r.observe(snap(1, 100))).not.toBeNull();
    expect(r.observe(snap(2, 100))).toBeNull();
    expect(r.observe(snap(3, 100, 100, 5))).not.toBeNull(); // exposure changed
    expect(r.observe(snap(4, 100, 90, 5))).not.toBeNull(); // cash changed, equity did not
    expect(r.observe(snap(5, 100, 90, 5))).toBeNull();
    expect(r.observe(snap(6, 100, 90, 5), true)).not.toBeNull(); // forced (a fill, shutdown)
  });

  it('keeps the high-water mark, the drawdown and its worst and longest spell current', () => {
    const r = new MetricsRecorder(100);
    expect(r.observe(snap(0, 110))).toMatchObject({ highWaterMark: 110, drawdown: 0 });
    expect(r.observe(snap(1_000, 99))).toMatchObject({ highWaterMark: 110, drawdown: 99 / 110 - 1 });
    expect(r.observe(snap(2_000, 104.5))!.drawdown).toBeCloseTo(-0.05, 12);
    expect(r.state(3_000)).toEqual({ highWaterMark: 110, maxDrawdown: 99 / 110 - 1, drawdownSince: 1_000, longestDrawdownMs: 2_000 });
    r.observe(snap(5_000, 120)); // a new high ends the 4 s spell
    expect(r.state(9_000)).toEqual({ highWaterMark: 120, maxDrawdown: 99 / 110 - 1, drawdownSince: null, longestDrawdownMs: 4_000 });
  });

  it('starts its high-water mark at the initial cash, so a first loss is a drawdown', () => {
    const r = new MetricsRecorder(100);
    expect(r.observe(snap(0, 90))).toMatchObject({ highWaterMark: 100, drawdown: 90 / 100 - 1 });
  });

  it('continues from restored marks, never lowering them', () => {
    const r = new MetricsRecorder(100);
    r.restore({ highWaterMark: 130, maxDrawdown: -0.2, drawdownSince: 50, longestDrawdownMs: 10 });
    expect(r.observe(snap(100, 117))).toMatchObject({ highWaterMark: 130, drawdown: 117 / 130 - 1 });
    expect(r.state(100)).toMatchObject({ maxDrawdown: -0.2, drawdownSince: 50, longestDrawdownMs: 50 });
  });
});
