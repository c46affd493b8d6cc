import { build, type Histogram } from 'hdr-histogram-js';

/** The largest latency kept as is (60 s, in ns); longer ones are recorded as this. */
const MAX_NS = 60e9;

export interface TickToDecisionSummary {
  count: number;
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  maxUs: number | null;
}

/**
 * Tick-to-decision latency of a live engine: from the receive time of the input (a WebSocket frame,
 * stamped by `receiveTime()` when it arrives) to the risk gateway's approval of the order intent it led
 * to. An HdrHistogram of nanoseconds (3 significant digits, fixed range: recording allocates nothing).
 */
export class TickToDecision {
  private readonly h: Histogram = build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: MAX_NS, autoResize: false });
  private maxNs = 0;
  private sumNs = 0;
  count = 0;

  /** one decision `ms` milliseconds after its input was received (clock resolution: 1 µs) */
  record(ms: number): void {
    const ns = ms * 1e6;
    const v = ns >= MAX_NS ? MAX_NS : ns > 1 ? Math.round(ns) : 1;
    this.h.recordValue(v);
    this.count++;
    this.sumNs += v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** percentiles in µs (HdrHistogram's convention: the highest value equivalent to the bucket) */
  summary(): TickToDecisionSummary {
    if (this.count === 0) return { count: 0, p50Us: null, p90Us: null, p99Us: null, p999Us: null, maxUs: null };
    const us = (ns: number): number => Math.round(ns) / 1000;
    return {
      count: this.count,
      p50Us: us(this.h.getValueAtPercentile(50)),
      p90Us: us(this.h.getValueAtPercentile(90)),
      p99Us: us(this.h.getValueAtPercentile(99)),
      p999Us: us(this.h.getValueAtPercentile(99.9)),
      maxUs: us(this.maxNs),
    };
  }

  /** sum of the recorded latencies in seconds (Prometheus' summary _sum) */
  sumSeconds(): number {
    return this.sumNs / 1e9;
  }
}
