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
 * The steps between a frame's receive time and the approval of the intent it led to, in order. Their
 * durations add up to the decision's tick-to-decision latency exactly.
 *  - receive: the frame's `message` event to the processor's first call into the engine (frame to text,
 *    the frame's store scope, its event-log line)
 *  - due: timed actions due by the frame's receive time (arrivals, fills and reports of earlier orders)
 *  - decode: decoding the frame and applying it to its book (sequence checks included)
 *  - market: what the engine does with the new market state before the strategy (marks, stops, feed lag,
 *    resting orders on the paper exchange)
 *  - strategy: the strategy's handler, ML gate included, up to the intent it returns
 *  - submit: the engine's work before the gateway (open orders, portfolio snapshot)
 *  - risk: the risk gateway's checks
 */
export const DECISION_STAGES = ['receive', 'due', 'decode', 'market', 'strategy', 'submit', 'risk'] as const;
export type DecisionStage = (typeof DECISION_STAGES)[number];
const STAGES = DECISION_STAGES.length;

/** Percentiles of one stage, µs. */
export interface StageSummary {
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
  maxUs: number | null;
}

/** One of the slowest decisions, stage by stage (µs). */
export interface SlowDecision {
  /** receive time of the frame, epoch ms */
  at: number;
  totalUs: number;
  stages: Record<DecisionStage, number>;
}

/** The mean stage times of the slowest decisions among the recent ones (what the tail is made of). */
export interface TailComposition {
  /** recent decisions at or above the quantile */
  count: number;
  /** their mean latency, µs */
  totalUs: number | null;
  /** their mean time in each stage, µs (adds up to totalUs, to rounding) */
  stages: Record<DecisionStage, number | null>;
}

export interface StageBreakdown {
  /** decisions with a full stage record (those made on a market-data frame) */
  count: number;
  stages: Record<DecisionStage, StageSummary>;
  /** over the last RECENT decisions with a stage record: the slowest 10% and 1%, stage by stage */
  tail: { p90: TailComposition; p99: TailComposition };
  /** the slowest decisions with a stage record, slowest first */
  slowest: SlowDecision[];
}

/** How many of the slowest decisions are kept stage by stage. */
const SLOWEST = 16;
/** How many recent decisions are kept stage by stage for the tail composition (µs as float32: 128 KiB). */
const RECENT = 4096;

const histogram = (): Histogram =>
  build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, highestTrackableValue: MAX_NS, autoResize: false });

const toNs = (ms: number): number => {
  const ns = ms * 1e6;
  return ns >= MAX_NS ? MAX_NS : ns > 1 ? Math.round(ns) : 1;
};
const us = (ns: number): number => Math.round(ns) / 1000;

/**
 * Tick-to-decision latency of a live engine: from the receive time of the input (a WebSocket frame,
 * stamped by `receiveTime()` when it arrives) to the risk gateway's approval of the order intent it led
 * to. An HdrHistogram of nanoseconds (3 significant digits, fixed range: recording allocates nothing).
 *
 * Stages: the engine marks the clock at each step of a frame's path (`begin`, `mark`); a decision made on
 * that frame records each step's duration too, into a histogram per stage, and keeps the stage record of
 * the slowest decisions. Marking writes into a typed array; nothing is allocated unless a decision is
 * among the slowest so far.
 */
export class TickToDecision {
  private readonly h: Histogram = histogram();
  private readonly stageH: Histogram[] = DECISION_STAGES.map(() => histogram());
  private maxNs = 0;
  private sumNs = 0;
  count = 0;
  /** decisions recorded with their stages */
  staged = 0;
  /** [receive time, end of each stage...] of the frame being handled (ms) */
  private readonly marks = new Float64Array(STAGES + 1);
  /** how many marks the current frame has (0 = none: no stage record) */
  private marked = 0;
  /** the slowest decisions so far, unordered; `floorNs` is the fastest of them once full */
  private readonly slow: SlowDecision[] = [];
  private floorNs = 0;
  /** the last RECENT staged decisions: per decision its stage times, µs (a ring) */
  private readonly recent = new Float32Array(RECENT * STAGES);

  /** one decision `ms` milliseconds after its input was received (clock resolution: 1 µs) */
  record(ms: number): void {
    const v = toNs(ms);
    this.h.recordValue(v);
    this.count++;
    this.sumNs += v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** A frame received at `recvTime` starts its path; `now` is the clock as the engine first hears of it. */
  begin(recvTime: number, now: number): void {
    this.marks[0] = recvTime;
    this.marks[1] = now;
    this.marked = 2;
  }

  /** The frame's path reached the end of stage `stage` (its index in DECISION_STAGES) at `now`. */
  mark(stage: number, now: number): void {
    // a stage out of order (an input without begin, or a second decision on the same frame) voids the record
    this.marked = this.marked === stage + 1 ? stage + 2 : 0;
    this.marks[stage + 1] = now;
  }

  /** The frame being handled, if it began at `recvTime` (another input voids its marks). */
  current(recvTime: number): boolean {
    return this.marked > 0 && this.marks[0] === recvTime;
  }

  /**
   * A decision on the input received at `recvTime`, approved at `now`: records the latency and, when the
   * frame's path was marked through every stage, each stage's duration.
   */
  decide(recvTime: number, now: number): void {
    this.record(now - recvTime);
    if (this.marked !== STAGES || this.marks[0] !== recvTime) {
      this.marked = 0;
      return;
    }
    const m = this.marks;
    m[STAGES] = now;
    this.marked = 0;
    const row = (this.staged % RECENT) * STAGES;
    this.staged++;
    for (let i = 0; i < STAGES; i++) {
      const ns = toNs(m[i + 1]! - m[i]!);
      this.stageH[i]!.recordValue(ns);
      this.recent[row + i] = ns / 1000;
    }
    const total = toNs(now - recvTime);
    if (this.slow.length >= SLOWEST && total <= this.floorNs) return;
    const stages = {} as Record<DecisionStage, number>;
    for (let i = 0; i < STAGES; i++) stages[DECISION_STAGES[i]!] = us(toNs(m[i + 1]! - m[i]!));
    const entry: SlowDecision = { at: recvTime, totalUs: us(total), stages };
    if (this.slow.length < SLOWEST) this.slow.push(entry);
    else {
      let min = 0;
      for (let i = 1; i < this.slow.length; i++) if (this.slow[i]!.totalUs < this.slow[min]!.totalUs) min = i;
      this.slow[min] = entry;
    }
    if (this.slow.length >= SLOWEST) {
      let floor = Infinity;
      for (const s of this.slow) floor = Math.min(floor, s.totalUs);
      this.floorNs = floor * 1000;
    }
  }

  /** percentiles in µs (HdrHistogram's convention: the highest value equivalent to the bucket) */
  summary(): TickToDecisionSummary {
    if (this.count === 0) return { count: 0, p50Us: null, p90Us: null, p99Us: null, p999Us: null, maxUs: null };
    return {
      count: this.count,
      p50Us: us(this.h.getValueAtPercentile(50)),
      p90Us: us(this.h.getValueAtPercentile(90)),
      p99Us: us(this.h.getValueAtPercentile(99)),
      p999Us: us(this.h.getValueAtPercentile(99.9)),
      maxUs: us(this.maxNs),
    };
  }

  /** Where the time of the decisions went, stage by stage. */
  stages(): StageBreakdown {
    const stages = {} as Record<DecisionStage, StageSummary>;
    for (let i = 0; i < STAGES; i++) {
      const h = this.stageH[i]!;
      stages[DECISION_STAGES[i]!] = this.staged === 0
        ? { p50Us: null, p90Us: null, p99Us: null, maxUs: null }
        : { p50Us: us(h.getValueAtPercentile(50)), p90Us: us(h.getValueAtPercentile(90)), p99Us: us(h.getValueAtPercentile(99)), maxUs: us(h.maxValue) };
    }
    return { count: this.staged, stages, tail: { p90: this.tail(0.9), p99: this.tail(0.99) }, slowest: [...this.slow].sort((a, b) => b.totalUs - a.totalUs) };
  }

  /** the mean stages of the recent decisions at or above quantile `q` of their totals */
  private tail(q: number): TailComposition {
    const n = Math.min(this.staged, RECENT);
    const stages = {} as Record<DecisionStage, number | null>;
    if (n === 0) {
      for (const s of DECISION_STAGES) stages[s] = null;
      return { count: 0, totalUs: null, stages };
    }
    const totals = new Float64Array(n);
    for (let d = 0; d < n; d++) {
      let t = 0;
      for (let i = 0; i < STAGES; i++) t += this.recent[d * STAGES + i]!;
      totals[d] = t;
    }
    const threshold = Float64Array.from(totals).sort()[Math.min(n - 1, Math.floor(q * n))]!;
    const sums = new Float64Array(STAGES);
    let count = 0;
    let total = 0;
    for (let d = 0; d < n; d++) {
      if (totals[d]! < threshold) continue;
      count++;
      total += totals[d]!;
      for (let i = 0; i < STAGES; i++) sums[i] = sums[i]! + this.recent[d * STAGES + i]!;
    }
    for (let i = 0; i < STAGES; i++) stages[DECISION_STAGES[i]!] = Math.round((sums[i]! / count) * 1000) / 1000;
    return { count, totalUs: Math.round((total / count) * 1000) / 1000, stages };
  }

  /** sum of the recorded latencies in seconds (Prometheus' summary _sum) */
  sumSeconds(): number {
    return this.sumNs / 1e9;
  }
}
