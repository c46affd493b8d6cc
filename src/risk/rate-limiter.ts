import type { EpochMs } from '../core/types.js';

export interface RateWindow {
  readonly windowMs: number;
  readonly limit: number;
  readonly label: string;
}

/**
 * Sliding-window order rate limiter over several windows at once (e.g. 5/s, 60/min, 500/h). Keeps the
 * times of the last `max(limit)` accepted orders in a ring buffer: no allocation per order.
 */
export class SlidingRateLimiter {
  private readonly times: Float64Array;
  private head = 0; // next write
  private count = 0;

  constructor(readonly windows: readonly RateWindow[]) {
    const cap = Math.max(1, ...windows.map((w) => w.limit));
    this.times = new Float64Array(cap);
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
   * inside it (the walk over every order in the hour used to dominate the risk check's time).
   */
  wouldExceed(now: EpochMs): RateWindow | null {
    const cap = this.times.length;
    for (const w of this.windows) {
      if (this.count < w.limit) continue;
      if (this.times[(this.head - w.limit + cap) % cap]! >= now - w.windowMs + 1e-9) return w;
    }
    return null;
  }

  record(now: EpochMs): void {
    this.times[this.head] = now;
    this.head = (this.head + 1) % this.times.length;
    if (this.count < this.times.length) this.count++;
  }

  usage(now: EpochMs): { label: string; used: number; limit: number }[] {
    return this.windows.map((w) => ({ label: w.label, used: this.countSince(now - w.windowMs + 1e-9), limit: w.limit }));
  }
}
