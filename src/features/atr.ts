import type { EpochMs } from '../core/types.js';

/** One time bar built from trades. */
export interface Bar {
  start: EpochMs;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/**
 * Time bars from trades: a bar covers [start, start + intervalMs), aligned to multiples of the interval.
 * An interval without trades makes no bar. `onTrade` returns the bar that a trade of a later interval
 * completed (the same object is reused: copy what you keep), or null.
 */
export class TradeBars {
  private readonly cur: Bar = { start: NaN, open: NaN, high: NaN, low: NaN, close: NaN, volume: 0 };
  private readonly done: Bar = { start: NaN, open: NaN, high: NaN, low: NaN, close: NaN, volume: 0 };

  constructor(readonly intervalMs: number) {
    if (!(intervalMs > 0)) throw new RangeError(`bar interval must be > 0, got ${intervalMs}`);
  }

  /** the bar in progress, JSON-safe (NaN as null) */
  saveState(): { cur: Record<keyof Bar, number | null> } {
    const c = this.cur;
    const n = (x: number): number | null => (Number.isNaN(x) ? null : x);
    return { cur: { start: n(c.start), open: n(c.open), high: n(c.high), low: n(c.low), close: n(c.close), volume: c.volume } };
  }
  loadState(s: { cur: Record<keyof Bar, number | null> }): void {
    for (const k of ['start', 'open', 'high', 'low', 'close', 'volume'] as const) this.cur[k] = s.cur[k] ?? NaN;
  }

  onTrade(price: number, qty: number, time: EpochMs): Bar | null {
    const start = time - (time % this.intervalMs);
    const c = this.cur;
    if (c.start === start) {
      if (price > c.high) c.high = price;
      if (price < c.low) c.low = price;
      c.close = price;
      c.volume += qty;
      return null;
    }
    let completed: Bar | null = null;
    if (c.start === c.start && start > c.start) {
      Object.assign(this.done, c);
      completed = this.done;
    } else if (c.start === c.start && start < c.start) return null; // late trade of an earlier bar: ignored
    c.start = start;
    c.open = c.high = c.low = c.close = price;
    c.volume = qty;
    return completed;
  }
}

/**
 * Average true range with Wilder's smoothing: TR = max(high − low, |high − prev close|, |low − prev close|);
 * the first ATR is the mean of the first `period` TRs, then ATR = (ATR × (period − 1) + TR) / period.
 * NaN until `period` bars have been seen.
 */
export class Atr {
  private prevClose = NaN;
  private n = 0;
  private sum = 0;
  value = NaN;

  constructor(readonly period: number) {
    if (!Number.isInteger(period) || period < 1) throw new RangeError(`ATR period must be a positive integer, got ${period}`);
  }

  saveState(): { prevClose: number | null; n: number; sum: number; value: number | null } {
    return { prevClose: Number.isNaN(this.prevClose) ? null : this.prevClose, n: this.n, sum: this.sum, value: Number.isNaN(this.value) ? null : this.value };
  }
  loadState(s: { prevClose: number | null; n: number; sum: number; value: number | null }): void {
    this.prevClose = s.prevClose ?? NaN;
    this.n = s.n;
    this.sum = s.sum;
    this.value = s.value ?? NaN;
  }

  update(high: number, low: number, close: number): number {
    const pc = this.prevClose;
    const tr = pc === pc ? Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc)) : high - low;
    this.prevClose = close;
    this.n++;
    if (this.n < this.period) this.sum += tr;
    else if (this.n === this.period) this.value = (this.sum + tr) / this.period;
    else this.value = (this.value * (this.period - 1) + tr) / this.period;
    return this.value;
  }
}
