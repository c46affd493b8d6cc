import { FeatureEngine, type BookView, type FeatureInstrument, type FuturesInput, type TradeInput } from '../features/engine.js';
import { FEATURE_COUNT } from '../features/schema.js';
import { DOWN, UP, type Model } from './model.js';

/** book features are the first 14 of the vector (FEATURE_SCHEMA): NaN there means no valid book */
const BOOK_FEATURES = 14;

/**
 * The decision latency of model-gated entries, charged to the simulated clock: the strategy `charge`s it
 * when it sends an entry that the model let through, and the paper exchange's latency model (wrapped in
 * src/engine/presets.ts) adds it to that order's entry latency. The amount is a recorded figure, not a clock
 * reading: by default the model's p50 as `papertape model-latency` measured it (model.json `latency`), or
 * ML_DECISION_LATENCY_US; so a backtest takes the same decisions at the same times on every run. A charge is for the decision at `now` only: one not taken by then (the risk gateway denied the
 * order) is dropped at the strategy's next event.
 */
export class DecisionLatency {
  private at = NaN;
  private ms = 0;
  charge(now: number, ms: number): void {
    this.at = now;
    this.ms = ms;
  }
  /** the charge for a decision at `now` (ms), once; 0 without one */
  take(now: number): number {
    if (now !== this.at) return 0;
    const ms = this.ms;
    this.at = NaN;
    this.ms = 0;
    return ms;
  }
  clear(): void {
    this.at = NaN;
    this.ms = 0;
  }
}

/** What the gate said about one entry. */
export interface GateVerdict {
  pass: boolean;
  /** the model's probability of the signal's direction (NaN when the model was not asked) */
  probability: number;
  /** why it did not pass, or null */
  reason: string | null;
}

/** The streaming features of one instrument and, for sequence models, the ring of its last K vectors. */
class InstrumentFeatures {
  readonly fe = new FeatureEngine();
  /** one vector, as FeatureEngine writes it */
  private readonly f64 = new Float64Array(FEATURE_COUNT);
  /** ring of the last K vectors (float32, the model's input type) */
  private readonly ring: Float32Array;
  private head = 0;
  /** vectors in the ring since the last break (resync, gap) */
  filled = 0;
  private lastPushAt = -Infinity;
  /** when the current stretch of valid books began (warm-up) */
  validSince = NaN;
  /** the model's input, oldest vector first */
  readonly input: Float32Array;
  readonly probs = new Float64Array(3).fill(NaN);
  passes = 0;
  blocks = 0;
  lastProbability = NaN;
  lastReason: string | null = null;

  constructor(readonly k: number) {
    this.ring = new Float32Array(k * FEATURE_COUNT);
    this.input = new Float32Array(k * FEATURE_COUNT);
  }

  onBook(book: BookView, inst: FeatureInstrument, t: number, maxGapMs: number): void {
    this.fe.onBook(book, inst, t);
    if (book.bids.empty || book.asks.empty) {
      this.breakStretch();
      return;
    }
    if (this.validSince !== this.validSince) this.validSince = t;
    if (this.k > 1) {
      if (t - this.lastPushAt > maxGapMs) this.filled = 0;
      this.fe.write(this.f64, 0);
      this.ring.set(this.f64, this.head * FEATURE_COUNT);
      this.head = (this.head + 1) % this.k;
      if (this.filled < this.k) this.filled++;
      this.lastPushAt = t;
    }
  }

  breakStretch(): void {
    this.validSince = NaN;
    this.filled = 0;
    this.lastPushAt = -Infinity;
  }

  /** Fills `input` with the current vector (trees) or the last K, oldest first (sequences). */
  prepare(): void {
    if (this.k === 1) {
      this.fe.write(this.f64, 0);
      this.input.set(this.f64);
      return;
    }
    const first = this.head * FEATURE_COUNT; // the oldest vector sits at head
    const n = this.ring.length;
    this.input.set(this.ring.subarray(first, n), 0);
    this.input.set(this.ring.subarray(0, first), n - first);
  }
}

/**
 * The ML gate of a strategy: runs a FeatureEngine per instrument on the events the strategy is given
 * (every book update and trade of the traded venue, and the USD-M futures events of its symbol, at the same
 * times `papertape dataset` feeds them: serving and training compute the same vectors) and, when the
 * strategy wants to enter, asks the model for the probability of the signal's direction: up for a buy,
 * down for a sell. The entry passes when it is at least `minConfidence`.
 *
 * It does not ask the model (and the entry waits) while the vector is not one the model was trained on:
 * no valid book, less than the model's warm-up of valid books (the dataset skipped those), fewer than K
 * vectors for a sequence model, or a feature the model uses undefined (NaN).
 *
 * Allocation: one FeatureEngine, one float64 and two float32 vectors (K of them for sequence models) per
 * instrument, made when the instrument is first seen; nothing per event.
 */
export class MlGate {
  private readonly symbols = new Map<string, InstrumentFeatures>();
  /** a sequence's vectors must follow each other within this much data time (the dataset's windows did) */
  readonly maxGapMs = 1000;
  /** decision latency per gated entry, ms */
  readonly decisionLatencyMs: number;
  /** where the decision latency comes from (for /status) */
  decisionLatencySource = 'ML_DECISION_LATENCY_US';
  /** problems found at start that do not stop it (a traded symbol the model was not trained on), for /status */
  readonly warnings: string[] = [];

  constructor(
    readonly model: Model,
    readonly minConfidence: number,
    decisionLatencyUs: number,
    private readonly latency: DecisionLatency | null,
  ) {
    if (!(minConfidence >= 0 && minConfidence <= 1)) throw new RangeError(`minConfidence ${minConfidence} is not in [0, 1]`);
    this.decisionLatencyMs = decisionLatencyUs / 1000;
  }

  private of(symbol: string): InstrumentFeatures {
    let s = this.symbols.get(symbol);
    if (!s) this.symbols.set(symbol, (s = new InstrumentFeatures(this.model.sequenceLength)));
    return s;
  }

  /** A new event reached the strategy: a decision latency not taken by now belongs to no order. */
  beginEvent(): void {
    this.latency?.clear();
  }

  onBook(symbol: string, book: BookView, inst: FeatureInstrument, t: number): void {
    this.of(symbol).onBook(book, inst, t, this.maxGapMs);
  }

  onTrade(symbol: string, trade: TradeInput, t: number): void {
    this.of(symbol).fe.onTrade(trade, t);
  }

  /** USD-M futures context of `symbol` at time t (the receive time, as the dataset export feeds it). */
  onFutures(symbol: string, ev: FuturesInput, t: number): void {
    this.of(symbol).fe.onFutures(ev, t);
  }

  /** The book lost sync: no returns or order flow across the gap, and the warm-up starts again. */
  onResync(symbol: string, t: number): void {
    const s = this.of(symbol);
    s.fe.onResync(t);
    s.breakStretch();
  }

  /** Asks the model about an entry in direction `dir` (1 buy, -1 sell) at time t. */
  check(symbol: string, dir: 1 | -1, t: number): GateVerdict {
    const s = this.of(symbol);
    const v = this.verdict(s, dir, t);
    if (v.pass) s.passes++;
    else s.blocks++;
    s.lastProbability = v.probability;
    s.lastReason = v.reason;
    return v;
  }

  private verdict(s: InstrumentFeatures, dir: 1 | -1, t: number): GateVerdict {
    const m = this.model;
    if (s.validSince !== s.validSince) return { pass: false, probability: NaN, reason: 'model: no valid book' };
    const warm = t - s.validSince;
    if (warm < m.warmupMs) return { pass: false, probability: NaN, reason: `model: warming up (${Math.floor(warm / 1000)} of ${m.warmupMs / 1000} s of book)` };
    if (m.sequenceLength > 1 && s.filled < m.sequenceLength) return { pass: false, probability: NaN, reason: `model: ${s.filled} of ${m.sequenceLength} vectors` };
    s.prepare();
    const x = s.input;
    const used = m.used;
    const k = m.sequenceLength;
    for (let step = 0; step < k; step++) {
      const o = step * FEATURE_COUNT;
      for (let i = 0; i < BOOK_FEATURES; i++) if (x[o + i] !== x[o + i]) return { pass: false, probability: NaN, reason: 'model: no valid book' };
      // trees take NaN as missing; networks never saw one in training
      if (k > 1) for (let j = 0; j < used.length; j++) if (x[o + used[j]!] !== x[o + used[j]!]) return { pass: false, probability: NaN, reason: `model: feature ${m.sidecar.features.used[j]} undefined` };
    }
    m.predict(x, s.probs);
    const p = dir > 0 ? s.probs[UP]! : s.probs[DOWN]!;
    if (p >= this.minConfidence) return { pass: true, probability: p, reason: null };
    return { pass: false, probability: p, reason: `model: p(${dir > 0 ? 'up' : 'down'}) ${p.toFixed(3)} < ${this.minConfidence}` };
  }

  /** The probability of the last check on a symbol (NaN when the model was not asked). */
  lastProbability(symbol: string): number {
    return this.symbols.get(symbol)?.lastProbability ?? NaN;
  }

  /** An entry the gate let through is being sent at `now`: charge the decision latency to it. */
  charge(now: number): void {
    if (this.latency && this.decisionLatencyMs > 0) this.latency.charge(now, this.decisionLatencyMs);
  }

  /** For GET /status (under strategy.state): the model, the gate's counts and the inference time. */
  status(): Record<string, unknown> {
    const m = this.model;
    const symbols: Record<string, unknown> = {};
    for (const [sym, s] of this.symbols) {
      symbols[sym] = {
        passes: s.passes,
        blocks: s.blocks,
        lastProbability: Number.isNaN(s.lastProbability) ? null : s.lastProbability,
        lastProbabilities: Number.isNaN(s.probs[0]!) ? null : Array.from(s.probs),
        lastReason: s.lastReason,
      };
    }
    return {
      model: m.id,
      kind: m.kind,
      engine: m.engine,
      horizon: m.sidecar.horizon.text,
      trainedOn: `${m.sidecar.trainedOn.venue}:${m.sidecar.trainedOn.symbol}`,
      features: m.used.length,
      sequenceLength: m.sequenceLength,
      minConfidence: this.minConfidence,
      decisionLatencyUs: Math.round(this.decisionLatencyMs * 1e6) / 1000,
      decisionLatencySource: this.decisionLatencySource,
      warnings: this.warnings,
      inference: m.timer.summary(),
      symbols,
    };
  }
}
