/**
 * Feed lag: how much later than usual the market data arrives.
 *
 * Each sample is `receive time − exchange event time / timeScale` (ms). That difference holds the clock
 * offset between the exchange and us (the same quantity `FeedLatency`'s `clockBehind` measures when our
 * clock is behind) plus the network's delay. The baseline is the smallest difference seen over the last
 * `windowMs` of receive time (the clock offset plus the fastest delivery); the lag of a message is its
 * difference minus the baseline: how much later than the fastest recent message it came. A slow link, a
 * slowly read socket or a backed-up exchange raise it; a steady clock offset does not.
 *
 * `timeScale` is how many times faster the exchange's clock runs than ours: 1 live; the replay speed
 * against `papertape serve-replay --speed X` (there, exchange time advances X ms per ms).
 *
 * Limits: a lag lasting longer than the window becomes the baseline and is no longer seen; a forward step
 * of the local clock looks like lag until the window forgets the samples before it.
 *
 * Allocation-free: the window is a ring of `buckets` minima.
 */
export class FeedLagTracker {
  private readonly mins: Float64Array;
  private readonly bucketMs: number;
  private bucket = -1;
  private last = NaN;
  private samples = 0;

  constructor(
    private readonly timeScale = 1,
    readonly windowMs = 300_000,
    buckets = 60,
  ) {
    if (!(timeScale > 0)) throw new Error(`FeedLagTracker: timeScale must be > 0, got ${timeScale}`);
    this.mins = new Float64Array(buckets).fill(Infinity);
    this.bucketMs = windowMs / buckets;
  }

  /** One message: exchange event time and local receive time, ms. Non-finite times are ignored. */
  observe(eventTime: number, recvTime: number): void {
    const d = recvTime - eventTime / this.timeScale;
    if (!Number.isFinite(d)) return;
    const b = Math.floor(recvTime / this.bucketMs);
    const n = this.mins.length;
    if (b !== this.bucket) {
      // forget the buckets that left the window (all of them after a long silence or a clock step back)
      if (this.bucket < 0 || b < this.bucket || b - this.bucket >= n) this.mins.fill(Infinity);
      else for (let k = this.bucket + 1; k <= b; k++) this.mins[k % n] = Infinity;
      this.bucket = b;
    }
    const i = b % n;
    if (d < this.mins[i]!) this.mins[i] = d;
    this.last = d;
    this.samples++;
  }

  /** The smallest difference over the window (ms), NaN before any sample. */
  baseline(): number {
    let m = Infinity;
    for (let i = 0; i < this.mins.length; i++) if (this.mins[i]! < m) m = this.mins[i]!;
    return m === Infinity ? NaN : m;
  }

  /** Lag of a message (ms over the baseline, ≥ 0); 0 before any sample. */
  lagOf(eventTime: number, recvTime: number): number {
    const base = this.baseline();
    const d = recvTime - eventTime / this.timeScale;
    if (!Number.isFinite(base) || !Number.isFinite(d)) return 0;
    return Math.max(0, d - base);
  }

  /** Lag of the last message observed (ms), 0 before any. */
  lastLag(): number {
    const base = this.baseline();
    return Number.isFinite(base) && Number.isFinite(this.last) ? Math.max(0, this.last - base) : 0;
  }

  status(): { samples: number; lagMs: number; baselineMs: number | null; timeScale: number; windowMs: number } {
    const base = this.baseline();
    return { samples: this.samples, lagMs: Math.round(this.lastLag() * 10) / 10, baselineMs: Number.isFinite(base) ? Math.round(base * 10) / 10 : null, timeScale: this.timeScale, windowMs: this.windowMs };
  }
}
