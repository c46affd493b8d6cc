import { build, JsHistogram, type Histogram } from 'hdr-histogram-js';
import type { Rng } from '../../core/rng.js';
import type { EpochMs } from '../../core/types.js';
import type { LatencyModel } from './models.js';

/**
 * Order-path latency models for the paper exchange (entry: strategy -> exchange; response:
 * exchange -> strategy), and a meter of the market-data feed's own latency.
 *
 * All models are deterministic: jitter is drawn from the seeded Rng they are given, one draw per
 * `entry()` / `response()` call, so the same seed and the same call sequence give the same latencies.
 */

function checkNonNegative(what: string, v: number, problems: string[]): void {
  if (!Number.isFinite(v) || v < 0) problems.push(`${what} must be a finite number >= 0 (got ${v})`);
}

function throwIfAny(model: string, problems: string[]): void {
  if (problems.length > 0) throw new Error(`invalid ${model} latency model: ${problems.join('; ')}`);
}

// ---------------------------------------------------------------- constant

/**
 * Fixed latencies, optionally plus a uniform jitter: `entry = entryMs + U·jitterMs`,
 * `response = responseMs + U·jitterMs`, U uniform in [0, 1) from `rng` (required when jitterMs > 0).
 */
export class ConstantLatency implements LatencyModel {
  readonly name = 'constant';

  constructor(
    readonly entryMs: number,
    readonly responseMs: number,
    readonly jitterMs = 0,
    private readonly rng?: Rng,
  ) {
    const problems: string[] = [];
    checkNonNegative('entryMs', entryMs, problems);
    checkNonNegative('responseMs', responseMs, problems);
    checkNonNegative('jitterMs', jitterMs, problems);
    if (jitterMs > 0 && rng === undefined) problems.push('jitterMs > 0 needs a seeded Rng');
    throwIfAny('constant', problems);
  }

  entry(_now: EpochMs): number {
    return this.jitterMs > 0 ? this.entryMs + this.rng!.next() * this.jitterMs : this.entryMs;
  }

  response(_now: EpochMs): number {
    return this.jitterMs > 0 ? this.responseMs + this.rng!.next() * this.jitterMs : this.responseMs;
  }

  observeMid(_now: EpochMs, _mid: number): void {}
}

// ---------------------------------------------------------------- volatility

export interface VolatilityLatencyOptions {
  /** base entry latency, ms */
  entryMs: number;
  /** base response latency, ms */
  responseMs: number;
  /** half-life of the volatility memory, ms of engine time (> 0) */
  halfLifeMs: number;
  /** multiplier added per bp/√s of volatility (>= 0) */
  sensitivity: number;
  /** cap on the multiplier (>= 1) */
  maxMultiplier: number;
  /** uniform jitter added to the base before scaling, ms (default 0; needs `rng` when > 0) */
  jitterMs?: number;
  rng?: Rng;
  /**
   * a move between two consecutive mids of one stream larger than this (in bp of log return) is
   * treated as a discontinuity, not volatility: a feed gap, a resync, or mids of two different
   * instruments arriving on the same stream (default 1000 bp = 10%)
   */
  maxJumpBps?: number;
  /** how many separate mid streams `observeMid` accepts (its optional third argument, default 64) */
  streams?: number;
}

/**
 * Latency that grows with recent mid-price volatility, as venues and networks slow down when
 * markets move fast.
 *
 * Volatility estimate (all in engine time, H = halfLifeMs):
 * - each mid change of a stream adds its squared log return in basis points,
 *   `r = 1e4 · ln(mid / previousMid)`, to a time-decayed sum `S`:
 *   `S(t) = S(t0) · 2^(-(t - t0) / H) + r²` (no additions while the mid does not move);
 * - over a stationary stream with variance rate σ² (bp² per second) the sum settles at
 *   `E[S] = σ² · H_s / ln 2` (H_s = H / 1000, the effective window length in seconds), so
 *   `vol(t) = sqrt(S(t) · ln 2 / H_s)` estimates the volatility in bp per √second.
 *   With no mid changes, `vol` halves every 2·H (S halves every H).
 *
 * Latency: `m(t) = min(maxMultiplier, 1 + sensitivity · vol(t))`, `entry = (entryMs + U·jitterMs) · m(t)`,
 * `response = (responseMs + U·jitterMs) · m(t)`, U uniform in [0, 1) from `rng`.
 *
 * `observeMid(now, mid, stream?)`: the LatencyModel interface passes no instrument, so every call
 * lands on stream 0; consecutive mids from different instruments would read as huge returns. Those
 * (beyond maxJumpBps) are ignored, and an engine that knows the instrument may pass a small integer
 * stream id (0 .. streams-1) so that each instrument's returns are computed against its own previous mid.
 * Non-positive or non-finite mids are ignored.
 */
export class VolatilityLatency implements LatencyModel {
  readonly name = 'volatility';
  readonly entryMs: number;
  readonly responseMs: number;
  readonly halfLifeMs: number;
  readonly sensitivity: number;
  readonly maxMultiplier: number;
  readonly jitterMs: number;
  readonly maxJumpBps: number;
  private readonly rng: Rng | undefined;
  /** seconds of effective window: H_s / ln 2 */
  private readonly windowSec: number;
  /** decayed sum of squared log returns, bp² */
  private sum = 0;
  /** engine time `sum` refers to */
  private sumAt = -Infinity;
  private readonly lastMid: Float64Array;

  constructor(opts: VolatilityLatencyOptions) {
    this.entryMs = opts.entryMs;
    this.responseMs = opts.responseMs;
    this.halfLifeMs = opts.halfLifeMs;
    this.sensitivity = opts.sensitivity;
    this.maxMultiplier = opts.maxMultiplier;
    this.jitterMs = opts.jitterMs ?? 0;
    this.maxJumpBps = opts.maxJumpBps ?? 1000;
    this.rng = opts.rng;
    const streams = opts.streams ?? 64;
    const problems: string[] = [];
    checkNonNegative('entryMs', this.entryMs, problems);
    checkNonNegative('responseMs', this.responseMs, problems);
    checkNonNegative('jitterMs', this.jitterMs, problems);
    checkNonNegative('sensitivity', this.sensitivity, problems);
    if (!(Number.isFinite(this.halfLifeMs) && this.halfLifeMs > 0)) problems.push(`halfLifeMs must be > 0 (got ${this.halfLifeMs})`);
    if (!(Number.isFinite(this.maxMultiplier) && this.maxMultiplier >= 1)) problems.push(`maxMultiplier must be >= 1 (got ${this.maxMultiplier})`);
    if (!(this.maxJumpBps > 0)) problems.push(`maxJumpBps must be > 0 (got ${this.maxJumpBps})`);
    if (!(Number.isInteger(streams) && streams >= 1)) problems.push(`streams must be an integer >= 1 (got ${streams})`);
    if (this.jitterMs > 0 && this.rng === undefined) problems.push('jitterMs > 0 needs a seeded Rng');
    throwIfAny('volatility', problems);
    this.windowSec = this.halfLifeMs / 1000 / Math.LN2;
    this.lastMid = new Float64Array(streams).fill(NaN);
  }

  observeMid(now: EpochMs, mid: number, stream = 0): void {
    if (!(mid > 0) || mid === Infinity) return;
    if (!(stream >= 0 && stream < this.lastMid.length)) {
      throw new Error(`mid stream ${stream} out of range 0..${this.lastMid.length - 1}`);
    }
    const prev = this.lastMid[stream]!;
    this.lastMid[stream] = mid;
    if (!(prev > 0) || mid === prev) return;
    const r = 1e4 * Math.log(mid / prev);
    if (r > this.maxJumpBps || r < -this.maxJumpBps) return;
    this.sum = this.decayedSum(now) + r * r;
    if (now > this.sumAt) this.sumAt = now;
  }

  /** the volatility estimate at `now`, bp per √second */
  volatilityBps(now: EpochMs): number {
    return Math.sqrt(this.decayedSum(now) / this.windowSec);
  }

  /** the factor applied to the base latencies at `now`, in [1, maxMultiplier] */
  multiplier(now: EpochMs): number {
    const m = 1 + this.sensitivity * this.volatilityBps(now);
    return m < this.maxMultiplier ? m : this.maxMultiplier;
  }

  entry(now: EpochMs): number {
    const base = this.jitterMs > 0 ? this.entryMs + this.rng!.next() * this.jitterMs : this.entryMs;
    return base * this.multiplier(now);
  }

  response(now: EpochMs): number {
    const base = this.jitterMs > 0 ? this.responseMs + this.rng!.next() * this.jitterMs : this.responseMs;
    return base * this.multiplier(now);
  }

  private decayedSum(now: EpochMs): number {
    if (this.sum === 0 || now <= this.sumAt) return this.sum;
    return this.sum * Math.pow(2, -(now - this.sumAt) / this.halfLifeMs);
  }
}

// ---------------------------------------------------------------- factory

export interface LatencyModelOptions {
  model: 'constant' | 'volatility';
  entryMs: number;
  responseMs: number;
  jitterMs: number;
  /** volatility model only */
  halfLifeMs: number;
  /** volatility model only */
  sensitivity: number;
  /** volatility model only */
  maxMultiplier: number;
}

/** Builds the configured latency model; `rng` supplies the jitter (used only when jitterMs > 0). */
export function createLatencyModel(opts: LatencyModelOptions, rng: Rng): LatencyModel {
  switch (opts.model) {
    case 'constant':
      return new ConstantLatency(opts.entryMs, opts.responseMs, opts.jitterMs, rng);
    case 'volatility':
      return new VolatilityLatency({
        entryMs: opts.entryMs,
        responseMs: opts.responseMs,
        jitterMs: opts.jitterMs,
        halfLifeMs: opts.halfLifeMs,
        sensitivity: opts.sensitivity,
        maxMultiplier: opts.maxMultiplier,
        rng,
      });
    default: {
      const never: never = opts.model;
      throw new Error(`unknown latency model ${JSON.stringify(never)}: expected constant or volatility`);
    }
  }
}

// ---------------------------------------------------------------- feed latency

export interface FeedLatencySummary {
  /** samples recorded (receive >= exchange time) */
  count: number;
  /** samples with receive < exchange time (clock skew), counted but not recorded */
  negative: number;
  /** percentiles, max and mean of the recorded samples in ms; null when nothing was recorded */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
  /**
   * The negative samples' size (ms by which receive time came before the exchange time: the local clock
   * runs behind the exchange's), p50/p90/p99/max; null when there were none. A steady value here is clock
   * skew, and its spread is still the feed's jitter.
   */
  clockBehind: { p50: number; p90: number; p99: number; max: number } | null;
}

/**
 * Upper bounds (ms) of the log-spaced buckets of `FeedLatency.distribution()`: 1-2-5 in each decade
 * from 0.01 ms to 50 s.
 */
export const FEED_LATENCY_BUCKETS_MS: readonly number[] = Object.freeze(
  [-2, -1, 0, 1, 2, 3, 4].flatMap((e) => [1, 2, 5].map((m) => Number((m * 10 ** e).toPrecision(1)))),
);

/** The whole distribution of the feed latency, compact enough to send to a browser or a scraper. */
export interface FeedLatencyDistribution {
  /** samples recorded (receive >= exchange time) */
  count: number;
  /** samples with receive < exchange time (clock skew), counted but not recorded */
  negative: number;
  /** sum of the recorded samples, ms (exact: from the raw samples) */
  sumMs: number;
  /** the largest sample, ms (exact); null when nothing was recorded */
  maxMs: number | null;
  /**
   * percentiles[i] is the i-th percentile in ms, i = 0..100 (101 values; empty when nothing was
   * recorded), by HdrHistogram's convention as in `summary()`: the highest value equivalent to the
   * bucket the percentile falls in, the lowest for percentile 0
   */
  percentiles: number[];
  /**
   * `counts[i]` samples fell at or below `le[i]` ms and above `le[i-1]` (not cumulative); the last
   * entry of `counts` (one more than `le`) holds the samples above the last bound. Bounds are
   * `FEED_LATENCY_BUCKETS_MS`; a sample is placed by the lowest value equivalent to its histogram
   * bucket, exact to the microsecond up to 2.047 ms and within 0.1% above.
   */
  buckets: { le: number[]; counts: number[] };
}

/**
 * Measures the market-data feed's latency from the data itself: receive time (local clock) minus the
 * exchange's event time, per message.
 *
 * Samples are recorded in whole microseconds (rounded) in an HdrHistogram (32-bit counts: the packed form costs ~0.5 µs per sample on the hot path; 3
 * significant digits: values up to 2.047 ms are exact to the microsecond, larger ones within 0.1%).
 * `summary()` reports in ms: percentiles from the histogram (the highest value equivalent to the
 * bucket, HdrHistogram's convention), `max` and `mean` exactly from the raw samples. Negative
 * differences (the local clock behind the exchange's) are only counted; non-finite times are ignored.
 */
export class FeedLatency {
  private readonly histogram: Histogram;
  private readonly behind: Histogram;
  private negativeCount = 0;
  private sumUs = 0;
  private maxUs = 0;

  constructor() {
    const spec = { bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true } as const;
    this.histogram = build(spec);
    this.behind = build(spec);
  }

  observe(exchangeTimeMs: EpochMs, receiveTimeMs: EpochMs): void {
    const diff = receiveTimeMs - exchangeTimeMs;
    if (!Number.isFinite(diff)) return;
    if (diff < 0) {
      this.negativeCount++;
      this.behind.recordValue(Math.round(-diff * 1000));
      return;
    }
    const us = Math.round(diff * 1000);
    this.histogram.recordValue(us);
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  summary(): FeedLatencySummary {
    const count = this.histogram.totalCount;
    const b = this.behind;
    const clockBehind =
      b.totalCount === 0
        ? null
        : { p50: b.getValueAtPercentile(50) / 1000, p90: b.getValueAtPercentile(90) / 1000, p99: b.getValueAtPercentile(99) / 1000, max: b.maxValue / 1000 };
    if (count === 0) {
      return { count: 0, negative: this.negativeCount, p50: null, p90: null, p99: null, max: null, mean: null, clockBehind };
    }
    const h = this.histogram;
    return {
      count,
      negative: this.negativeCount,
      clockBehind,
      p50: h.getValueAtPercentile(50) / 1000,
      p90: h.getValueAtPercentile(90) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      max: this.maxUs / 1000,
      mean: this.sumUs / count / 1000,
    };
  }

  /**
   * The distribution in one pass over the histogram's recorded values: percentiles 0..100 and counts in
   * log-spaced buckets (see FeedLatencyDistribution). Not for the hot path: for the API and scrapes.
   */
  distribution(): FeedLatencyDistribution {
    const h = this.histogram;
    const count = h.totalCount;
    const le = [...FEED_LATENCY_BUCKETS_MS];
    const counts = new Array<number>(le.length + 1).fill(0);
    const percentiles: number[] = [];
    if (count > 0) {
      if (!(h instanceof JsHistogram)) throw new Error('FeedLatency: expected a JS HdrHistogram');
      const leUs = le.map((ms) => Math.round(ms * 1000));
      // the counts at which each percentile is reached, as getValueAtPercentile computes them
      const targets: number[] = [];
      for (let p = 0; p <= 100; p++) targets.push(Math.max(1, Math.floor((p / 100) * count + 0.5)));
      let p = 0;
      let b = 0;
      let total = 0;
      const it = h.recordedValuesIterator;
      it.reset();
      while (it.hasNext()) {
        const v = it.next();
        const n = v.countAtValueIteratedTo;
        if (n === 0) continue;
        const lowest = h.lowestEquivalentValue(v.valueIteratedTo);
        total += n;
        while (p <= 100 && total >= targets[p]!) {
          percentiles.push((p === 0 ? lowest : h.highestEquivalentValue(v.valueIteratedTo)) / 1000);
          p++;
        }
        while (b < leUs.length && lowest > leUs[b]!) b++;
        counts[b] = counts[b]! + n;
      }
    }
    return {
      count,
      negative: this.negativeCount,
      sumMs: this.sumUs / 1000,
      maxMs: count > 0 ? this.maxUs / 1000 : null,
      percentiles,
      buckets: { le, counts },
    };
  }

  reset(): void {
    this.histogram.reset();
    this.behind.reset();
    this.negativeCount = 0;
    this.sumUs = 0;
    this.maxUs = 0;
  }
}
