/**
 * The metrics recorder: keeps the account's high-water mark, drawdown and worst drawdown current on
 * every observation, and says when a row is worth writing (only when the account changed).
 * Pure: snapshots in, rows out; the engine writes them.
 */
import type { EpochMs } from '../core/types.js';
import { DrawdownSpells } from './performance.js';
import type { AccountSnapshot } from './portfolio.js';

export interface RecordedEquity extends AccountSnapshot {
  /** highest equity so far, the initial cash included */
  highWaterMark: number;
  /** equity / highWaterMark - 1: a non-positive fraction */
  drawdown: number;
}

export interface RecorderState {
  highWaterMark: number;
  maxDrawdown: number;
  /** when the current drawdown began: the time of its peak (the last row at or above the high-water mark), null at a high */
  drawdownSince: EpochMs | null;
  /** the longest drawdown, from a peak to the first row back at or above it (the one under way counted until now) */
  longestDrawdownMs: number;
  /** the time of the last row at or above the high-water mark (absent in older checkpoints) */
  peakTime?: EpochMs;
}

/**
 * Drawdown spells follow the statistics module's definition ({@link DrawdownSpells}, docs/statistics.md) over the
 * rows this recorder says to write, which are the stored equity curve: `drawdownSince` and `longestDrawdownMs`
 * equal what `performance()` gives for that curve from the same start (GET /metrics `overall.maxDrawdownDurationMs`).
 */
export class MetricsRecorder {
  private readonly spells: DrawdownSpells;
  private worst = 0;
  private last: { cash: number; equity: number; gross: number } | null = null;
  private current: RecordedEquity | null = null;

  /** `start`: when the session began (the initial cash is the first peak, at that time); default the first observation's time */
  constructor(initialCash: number, start?: EpochMs) {
    this.spells = new DrawdownSpells(initialCash, start ?? Number.NaN);
  }

  private get hwm(): number {
    return this.spells.peak;
  }

  /** Updates the marks; returns the row to write when cash, equity or exposure changed since the last row (or `force`). */
  observe(s: AccountSnapshot, force = false): RecordedEquity | null {
    if (Number.isNaN(this.spells.peakTime)) this.spells.peakTime = s.time;
    const l = this.last;
    const write = force || !l || l.cash !== s.cash || l.equity !== s.equity || l.gross !== s.grossExposure;
    // spells over the written rows only (a new high always changes the equity, so it is always written)
    if (write) this.spells.observe(s.time, s.equity);
    const hwm = Math.max(this.hwm, s.equity);
    const drawdown = hwm > 0 ? Math.min(0, s.equity / hwm - 1) : 0;
    if (drawdown < this.worst) this.worst = drawdown;
    this.current = { ...s, highWaterMark: hwm, drawdown };
    if (!write) return null;
    this.last = { cash: s.cash, equity: s.equity, gross: s.grossExposure };
    return this.current;
  }

  /** The latest observation with its marks (null before the first). */
  latest(): RecordedEquity | null {
    return this.current;
  }

  state(now: EpochMs): RecorderState {
    const sp = this.spells;
    const state: RecorderState = { highWaterMark: this.hwm, maxDrawdown: this.worst, drawdownSince: sp.since, longestDrawdownMs: sp.longestUntil(now) };
    if (!Number.isNaN(sp.peakTime)) state.peakTime = sp.peakTime;
    return state;
  }

  /** Continues after a restart from the stored curve's marks. */
  restore(s: Partial<RecorderState>): void {
    const sp = this.spells;
    if (typeof s.highWaterMark === 'number' && s.highWaterMark > sp.peak) sp.peak = s.highWaterMark;
    if (typeof s.maxDrawdown === 'number' && s.maxDrawdown < this.worst) this.worst = s.maxDrawdown;
    if (typeof s.drawdownSince === 'number') {
      sp.under = true;
      sp.peakTime = s.drawdownSince;
    } else if (s.drawdownSince === null) {
      sp.under = false;
      if (typeof s.peakTime === 'number') sp.peakTime = s.peakTime;
    }
    // (a spell under way was counted until the checkpoint; it goes on from the same peak, so never less)
    if (typeof s.longestDrawdownMs === 'number') sp.longest = Math.max(sp.longest, s.longestDrawdownMs);
  }
}
