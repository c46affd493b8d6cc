import type { EpochMs } from '../core/types.js';

export interface RateWindow {
  readonly windowMs: number;
  readonly limit: number;
  readonly label: string;
}

/** Ring size a limiter starts with; it doubles when an order still inside a window would be overwritten. */
const INITIAL_CAPACITY = 64;

/**
 * Sliding-window order rate limiter over several windows at once (e.g. 5/s, 60/min, 500/h). Keeps the
 * times of recent accepted orders in a ring buffer: no allocation per order. The ring holds at most
 * `max(limit)` times but starts small and grows only while the orders inside a window outnumber it, so a
 * generous limit (10,000,000 an hour) costs memory in proportion to the orders actually sent, not to the
 * limit (it used to preallocate the whole limit: 76 MB for that one).
 */
export class SlidingRateLimiter {
  private times: Float64Array;
  private head = 0; // next write
  private count = 0;
  private readonly maxCapacity: number;

  constructor(
    readonly windows: readonly RateWindow[],
    opts: { initialCapacity?: number } = {},
  ) {
    this.maxCapacity = Math.max(1, ...windows.map((w) => w.limit));
    this.times = new Float64Array(Math.max(1, Math.min(this.maxCapacity, opts.initialCapacity ?? INITIAL_CAPACITY)));
  }

  /** Slots in the ring now (grows on demand up to the largest limit). */
  get capacity(): number {
    return this.times.length;
  }

  /** Number of recorded orders at or after `since`. */
  private countSince(since: EpochMs): number {
    const cap = this.times.length;
    let n = 0;
    for (let i = 1; i <= this.count; i++) {
      const t = this.times[(this.head - i + cap) % cap]!;
      if (t < since) break;
      n++;
    }
    return n;
  }

  /**
   * The first window that one more order at `now` would exceed, or null. Constant time per window: times
   * are recorded in order, so a window holds `limit` orders exactly when the limit-th most recent one is
   * inside it (the walk over every order in the hour used to dominate the risk check's time). A window
   * whose limit is above the ring's size cannot be full: `record` never drops an order still inside such
   * a window (it grows the ring instead), so all of that window's orders fit in the ring.
   */
  wouldExceed(now: EpochMs): RateWindow | null {
    const cap = this.times.length;
    for (const w of this.windows) {
      if (this.count < w.limit || w.limit > cap) continue;
      if (this.times[(this.head - w.limit + cap) % cap]! >= now - w.windowMs + 1e-9) return w;
    }
    return null;
  }

  record(now: EpochMs): void {
    if (this.count === this.times.length && this.times.length < this.maxCapacity && this.oldestStillNeeded(now)) this.grow();
    this.times[this.head] = now;
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  usage(now: EpochMs): { label: string; used: number; limit: number }[] {
    return this.windows.map((w) => ({ label: w.label, used: this.countSince(now - w.windowMs + 1e-9), limit: w.limit }));
  }

  /** Whether the oldest time in a full ring is inside a window whose limit the ring cannot yet hold. */
  private oldestStillNeeded(now: EpochMs): boolean {
    const oldest = this.times[this.head]!;
    const cap = this.times.length;
    for (const w of this.windows) if (w.limit > cap && oldest >= now - w.windowMs + 1e-9) return true;
    return false;
  }

  /** Doubles the ring (up to the largest limit), oldest first. Only called when the ring is full. */
  private grow(): void {
    const cap = this.times.length;
    const next = new Float64Array(Math.min(this.maxCapacity, cap * 2));
    for (let i = 0; i < cap; i++) next[i] = this.times[(this.head + i) % cap]!;
    this.times = next;
    this.head = cap;
  }
}
