import { describe, expect, it } from 'vitest';
import type { AccountSnapshot } from './portfolio.js';
import { performance, sessionPerformance } from './performance.js';
import { MetricsRecorder, type RecordedEquity } from './recorder.js';

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
    // the spell is measured from its peak (110 at 0), as docs/statistics.md defines it
    expect(r.state(3_000)).toEqual({ highWaterMark: 110, maxDrawdown: 99 / 110 - 1, drawdownSince: 0, longestDrawdownMs: 3_000, peakTime: 0 });
    r.observe(snap(5_000, 120)); // a new high ends the 5 s spell
    expect(r.state(9_000)).toEqual({ highWaterMark: 120, maxDrawdown: 99 / 110 - 1, drawdownSince: null, longestDrawdownMs: 5_000, peakTime: 5_000 });
  });

  it('starts its high-water mark at the initial cash, so a first loss is a drawdown', () => {
    const r = new MetricsRecorder(100);
    expect(r.observe(snap(0, 90))).toMatchObject({ highWaterMark: 100, drawdown: 90 / 100 - 1 });
  });

  it('measures drawdown spells as the statistics module does: an exact recovery ends a spell (performance() and sessionPerformance agree)', () => {
    const START = 0;
    // equity 100 -> 90 -> 100 (back at the peak, not above) -> 100 again (unchanged: no row) -> 95 -> 97 -> 100 -> 98
    const series: [number, number][] = [
      [0, 100], [1_000, 90], [3_000, 100], [3_500, 100], [4_000, 95], [4_500, 97], [6_500, 100], [7_000, 98],
    ];
    const r = new MetricsRecorder(100, START);
    const rows: RecordedEquity[] = [];
    const perfAt = (end: number) => performance({ initialCash: 100, equity: rows, trips: [], fills: [], start: START, end });
    for (const [t, e] of series) {
      const row = r.observe(snap(t, e));
      if (row) rows.push(row);
      // after every observation, at its time and later
      for (const now of [t, t + 250]) {
        const p = perfAt(now);
        const st = r.state(now);
        expect(st.longestDrawdownMs, `at ${now}`).toBe(p.maxDrawdownDurationMs);
        expect(st.highWaterMark).toBe(p.highWaterMark);
        expect(st.maxDrawdown).toBe(p.maxDrawdown);
        // the spell under way began at its peak: counted until far in the future it is the longest one
        const far = now + 1e9;
        expect(st.drawdownSince, `at ${now}`).toBe(p.currentDrawdown < 0 ? far - perfAt(far).maxDrawdownDurationMs : null);
      }
    }
    expect(rows.map((x) => x.time)).toEqual([0, 1_000, 3_000, 4_000, 4_500, 6_500, 7_000]); // 3 500 changed nothing
    // the spells: 0 -> 3 000 (recovered exactly), 3 000 -> 6 500 (its peak is the row at 3 000), 6 500 -> open
    expect(r.state(7_000)).toMatchObject({ drawdownSince: 6_500, longestDrawdownMs: 3_500 });
    expect(r.state(20_000)).toMatchObject({ drawdownSince: 6_500, longestDrawdownMs: 13_500 });
    const overall = sessionPerformance({ initialCash: 100, equity: rows, trips: [], fills: [], start: START, end: 20_000 }).overall;
    expect(overall.maxDrawdownDurationMs).toBe(r.state(20_000).longestDrawdownMs);
    expect(overall.maxDrawdown).toBe(r.state(20_000).maxDrawdown);
  });

  it('measures a first loss from the session start, as performance() does', () => {
    const r = new MetricsRecorder(100, 1_000);
    const row = r.observe(snap(4_000, 90))!;
    const p = performance({ initialCash: 100, equity: [row], trips: [], fills: [], start: 1_000, end: 10_000 });
    expect(r.state(10_000)).toMatchObject({ drawdownSince: 1_000, longestDrawdownMs: 9_000 });
    expect(p.maxDrawdownDurationMs).toBe(9_000);
  });

  it('continues from restored marks, never lowering them', () => {
    const r = new MetricsRecorder(100);
    r.restore({ highWaterMark: 130, maxDrawdown: -0.2, drawdownSince: 50, longestDrawdownMs: 10 });
    expect(r.observe(snap(100, 117))).toMatchObject({ highWaterMark: 130, drawdown: 117 / 130 - 1 });
    expect(r.state(100)).toMatchObject({ maxDrawdown: -0.2, drawdownSince: 50, longestDrawdownMs: 50 });
  });

  it('restores the peak time at a high, so the next spell starts there', () => {
    const r = new MetricsRecorder(100, 0);
    r.restore({ highWaterMark: 130, maxDrawdown: -0.2, drawdownSince: null, longestDrawdownMs: 10, peakTime: 40 });
    r.observe(snap(100, 120));
    expect(r.state(200)).toMatchObject({ drawdownSince: 40, longestDrawdownMs: 160 });
  });
});
