/**
 * The metrics recorder: keeps the account's high-water mark, drawdown and worst drawdown current on
 * every observation, and says when a row is worth writing (only when the account changed).
 * Pure: snapshots in, rows out; the engine writes them.
 */
import type { EpochMs } from '../core/types.js';
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
  /** when the current drawdown began (the last new high), null at a high */
  drawdownSince: EpochMs | null;
  longestDrawdownMs: number;
}

export class MetricsRecorder {
  private hwm: number;
  private worst = 0;
  private since: EpochMs | null = null;
  private longest = 0;
  private last: { cash: number; equity: number; gross: number } | null = null;
  private current: RecordedEquity | null = null;

  constructor(initialCash: number) {
    this.hwm = initialCash;
  }

  /** Updates the marks; returns the row to write when cash, equity or exposure changed since the last row (or `force`). */
  observe(s: AccountSnapshot, force = false): RecordedEquity | null {
    if (s.equity > this.hwm) {
      this.hwm = s.equity;
      if (this.since !== null) this.longest = Math.max(this.longest, s.time - this.since);
      this.since = null;
    }
    const drawdown = this.hwm > 0 ? Math.min(0, s.equity / this.hwm - 1) : 0;
    if (drawdown < 0 && this.since === null) this.since = s.time;
    if (drawdown < this.worst) this.worst = drawdown;
    this.current = { ...s, highWaterMark: this.hwm, drawdown };
    const l = this.last;
    if (!force && l && l.cash === s.cash && l.equity === s.equity && l.gross === s.grossExposure) return null;
    this.last = { cash: s.cash, equity: s.equity, gross: s.grossExposure };
    return this.current;
  }

  /** The latest observation with its marks (null before the first). */
  latest(): RecordedEquity | null {
    return this.current;
  }

  state(now: EpochMs): RecorderState {
    const open = this.since === null ? 0 : now - this.since;
    return { highWaterMark: this.hwm, maxDrawdown: this.worst, drawdownSince: this.since, longestDrawdownMs: Math.max(this.longest, open) };
  }

  /** Continues after a restart from the stored curve's marks. */
  restore(s: Partial<RecorderState>): void {
    if (typeof s.highWaterMark === 'number' && s.highWaterMark > this.hwm) this.hwm = s.highWaterMark;
    if (typeof s.maxDrawdown === 'number' && s.maxDrawdown < this.worst) this.worst = s.maxDrawdown;
    if (s.drawdownSince !== undefined) this.since = s.drawdownSince;
    if (typeof s.longestDrawdownMs === 'number') this.longest = Math.max(this.longest, s.longestDrawdownMs);
  }
}
