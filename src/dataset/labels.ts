import { FEATURE_COUNT } from '../features/schema.js';

/** How far ahead a label looks: a span of event time (ms), or a number of book updates of the instrument. */
export type Horizon = { kind: 'time'; ms: number; text: string } | { kind: 'events'; count: number; text: string };
/**
 * The flat band around no move: basis points of the mid, or ticks. `auto`: basis points, chosen after the
 * split as the one-third quantile of |move| over the training samples (about a third of them flat).
 */
export interface DeadBand {
  value: number;
  unit: 'bp' | 'ticks';
  auto?: boolean;
}

export const LABEL_NAMES = ['down', 'flat', 'up'] as const;
export const DOWN = 0;
export const FLAT = 1;
export const UP = 2;

/** `5s`, `500ms`, `2m`, `1.5s` (event time), or `50e` (book updates). */
export function parseHorizon(text: string): Horizon {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|e)$/.exec(text.trim());
  if (!m) throw new Error(`--horizon ${text}: expected a time like 5s, 500ms, 1m, or a number of book updates like 50e`);
  const v = Number(m[1]);
  if (m[2] === 'e') {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--horizon ${text}: the number of book updates must be a whole number >= 1`);
    return { kind: 'events', count: v, text: text.trim() };
  }
  const ms = v * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (!(ms > 0)) throw new Error(`--horizon ${text}: must be > 0`);
  return { kind: 'time', ms, text: text.trim() };
}

/** `0.5` or `0.5bp` (basis points of the mid), `2t` / `2ticks` (ticks), or `auto`. */
export function parseDeadBand(text: string): DeadBand {
  if (text.trim() === 'auto') return { value: NaN, unit: 'bp', auto: true };
  const m = /^(\d+(?:\.\d+)?)(bp|t|ticks?)?$/.exec(text.trim());
  if (!m) throw new Error(`--dead-band ${text}: expected basis points like 0.5 or 0.5bp, ticks like 2t, or auto`);
  return { value: Number(m[1]), unit: m[2] === undefined || m[2] === 'bp' ? 'bp' : 'ticks' };
}

/** Label of a mid move from m0 to m1 (price units): up / down when it leaves the dead band, flat inside it (edges included). */
export function labelOf(m0: number, m1: number, band: DeadBand, tickUnits: number): number {
  const move = band.unit === 'bp' ? Math.log(m1 / m0) * 1e4 : (m1 - m0) / tickUnits;
  return move > band.value ? UP : move < -band.value ? DOWN : FLAT;
}

export interface SamplingOptions {
  /** sample every n-th book update (1 = every update); ignored when intervalMs is set */
  every: number;
  /** sample at the first book update at or after each multiple of this many ms of event time */
  intervalMs?: number;
  /** no samples until the book has been synced this long (the feature windows fill) */
  warmupMs: number;
}

/** why a sample left the dataset before labeling */
export interface DropCounts {
  /** its horizon ran past the end of the data */
  end: number;
  /** the book lost sync before its horizon */
  resync: number;
}

const PENDING = 0;
const LABELED = 1;
const DROPPED = 2;

/**
 * Collects samples and their labels in one pass over the book updates of one instrument, in time order.
 * Synchronous and pure: the caller feeds the feature engine first and then calls `onBook` with the same
 * update; a sample's features are the engine's vector at that update, its label the mid's move over the
 * horizon that follows.
 *
 * - time horizon H: the mid as of t + H is the mid after the last update at or before t + H; a sample is
 *   labeled at the first update after t + H (so a sample whose t + H is not followed by an update before the
 *   data ends is dropped);
 * - event horizon N: the mid after the N-th following update.
 * A sync loss drops every sample whose horizon was not over yet.
 */
export class SampleCollector {
  readonly featureCount = FEATURE_COUNT;
  private x = new Float64Array(1024 * FEATURE_COUNT);
  private t = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private mid0 = new Float64Array(1024);
  private mid1 = new Float64Array(1024);
  private status = new Uint8Array(1024);
  private labels = new Int8Array(1024);
  /** samples taken */
  n = 0;
  /** the oldest sample that may still be pending */
  private pendingFrom = 0;
  /** book updates seen (synced) */
  bookUpdates = 0;
  private lastMid = NaN;
  private syncedSince = NaN;
  private nextSampleAt = -Infinity;
  private sinceSync = 0;
  readonly dropped: DropCounts = { end: 0, resync: 0 };

  constructor(
    readonly horizon: Horizon,
    readonly band: DeadBand,
    readonly tickUnits: number,
    readonly sampling: SamplingOptions,
  ) {
    if (sampling.intervalMs === undefined && !(Number.isInteger(sampling.every) && sampling.every >= 1)) throw new RangeError('every must be a whole number >= 1');
    if (sampling.intervalMs !== undefined && !(sampling.intervalMs > 0)) throw new RangeError('intervalMs must be > 0');
  }

  /**
   * A book update of the instrument at time t, with the mid after it (price units) and the features as of
   * it (`write` fills FEATURE_COUNT values at an offset). Returns true when a sample was taken.
   */
  onBook(t: number, mid: number, write: (out: Float64Array, offset: number) => void): boolean {
    const seq = ++this.bookUpdates;
    // time horizon: every pending sample whose t + H is before this update sees the mid before it
    if (this.horizon.kind === 'time') this.resolveBefore(t);
    this.lastMid = mid;
    if (this.horizon.kind === 'events') {
      const target = seq - this.horizon.count;
      while (this.pendingFrom < this.n && this.status[this.pendingFrom] !== PENDING) this.pendingFrom++;
      while (this.pendingFrom < this.n && this.seqs[this.pendingFrom]! <= target) {
        if (this.status[this.pendingFrom] === PENDING) this.label(this.pendingFrom, mid);
        this.pendingFrom++;
      }
    }
    if (this.syncedSince !== this.syncedSince) this.syncedSince = t;
    this.sinceSync++;
    if (!(mid > 0) || t - this.syncedSince < this.sampling.warmupMs) return false;
    const s = this.sampling;
    if (s.intervalMs !== undefined) {
      if (t < this.nextSampleAt) return false;
      this.nextSampleAt = (Math.floor(t / s.intervalMs) + 1) * s.intervalMs;
    } else if ((this.sinceSync - 1) % s.every !== 0) return false;
    if (this.n === this.t.length) this.grow();
    const i = this.n++;
    write(this.x, i * FEATURE_COUNT);
    this.t[i] = t;
    this.seqs[i] = seq;
    this.mid0[i] = mid;
    this.status[i] = PENDING;
    return true;
  }

  /** The book lost sync at time t: samples whose horizon ended before t are labeled, the others dropped. */
  onUnsynced(t: number): void {
    if (this.horizon.kind === 'time') this.resolveBefore(t);
    for (let i = this.pendingFrom; i < this.n; i++) {
      if (this.status[i] === PENDING) {
        this.status[i] = DROPPED;
        this.dropped.resync++;
      }
    }
    this.pendingFrom = this.n;
    this.lastMid = NaN;
    this.syncedSince = NaN;
    this.sinceSync = 0;
  }

  /**
   * The data ended (or one file of several, each its own session): samples still waiting for their horizon
   * are dropped, and the next book update starts a new synced stretch.
   */
  finish(): void {
    for (let i = this.pendingFrom; i < this.n; i++) {
      if (this.status[i] === PENDING) {
        this.status[i] = DROPPED;
        this.dropped.end++;
      }
    }
    this.pendingFrom = this.n;
    this.lastMid = NaN;
    this.syncedSince = NaN;
    this.sinceSync = 0;
  }

  private resolveBefore(t: number): void {
    const h = (this.horizon as { ms: number }).ms;
    while (this.pendingFrom < this.n) {
      const i = this.pendingFrom;
      if (this.status[i] === PENDING) {
        if (!(this.t[i]! + h < t)) break;
        this.label(i, this.lastMid);
      }
      this.pendingFrom++;
    }
  }

  private label(i: number, mid: number): void {
    this.mid1[i] = mid;
    this.labels[i] = labelOf(this.mid0[i]!, mid, this.band, this.tickUnits);
    this.status[i] = LABELED;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const g = <T extends Float64Array | Uint8Array | Int8Array>(a: T, n: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      return b;
    };
    this.x = g(this.x, cap * FEATURE_COUNT);
    this.t = g(this.t, cap);
    this.seqs = g(this.seqs, cap);
    this.mid0 = g(this.mid0, cap);
    this.mid1 = g(this.mid1, cap);
    this.status = g(this.status, cap);
    this.labels = g(this.labels, cap);
  }

  /** The labeled samples, in time order. */
  labeled(): LabeledSamples {
    let m = 0;
    for (let i = 0; i < this.n; i++) if (this.status[i] === LABELED) m++;
    const out: LabeledSamples = {
      n: m,
      x: new Float64Array(m * FEATURE_COUNT),
      t: new Float64Array(m),
      seq: new Float64Array(m),
      y: new Int8Array(m),
      ret: new Float64Array(m),
      ticks: new Float64Array(m),
    };
    let j = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.status[i] !== LABELED) continue;
      out.x.set(this.x.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT), j * FEATURE_COUNT);
      out.t[j] = this.t[i]!;
      out.seq[j] = this.seqs[i]!;
      out.y[j] = this.labels[i]!;
      out.ret[j] = Math.log(this.mid1[i]! / this.mid0[i]!) * 1e4;
      out.ticks[j] = (this.mid1[i]! - this.mid0[i]!) / this.tickUnits;
      j++;
    }
    return out;
  }
}

export interface LabeledSamples {
  n: number;
  /** n × FEATURE_COUNT, row-major */
  x: Float64Array;
  /** sample times (ms) */
  t: Float64Array;
  /** ordinal of the sample's book update (for event horizons) */
  seq: Float64Array;
  /** 0 down, 1 flat, 2 up */
  y: Int8Array;
  /** the mid's log return over the horizon, bp */
  ret: Float64Array;
  /** the mid's move over the horizon, ticks */
  ticks: Float64Array;
}

/** Labels every sample again with another dead band (from the stored moves: same rule as labelOf). */
export function relabel(s: LabeledSamples, band: DeadBand): void {
  const moves = band.unit === 'bp' ? s.ret : s.ticks;
  for (let i = 0; i < s.n; i++) {
    const m = moves[i]!;
    s.y[i] = m > band.value ? UP : m < -band.value ? DOWN : FLAT;
  }
}

/**
 * The `auto` dead band: the smallest |move| (bp) such that at least a third of the samples in [from, to)
 * move no more than it (nearest rank), so about a third are flat. 0 without samples.
 */
export function autoDeadBand(s: LabeledSamples, from: number, to: number): number {
  const a = Array.from(s.ret.subarray(from, to), Math.abs).sort((x, y) => x - y);
  return a.length === 0 ? 0 : a[Math.max(0, Math.ceil(a.length / 3) - 1)]!;
}

export const SPLIT_NAMES = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

export interface SplitRange {
  /** [from, to) indices into the labeled samples */
  from: number;
  to: number;
}

export interface Splits {
  ranges: Record<SplitName, SplitRange>;
  /** samples left out between splits so no two label windows of different splits overlap */
  embargoed: number;
}

/** `0.7,0.15,0.15`: three non-negative fractions summing to 1. */
export function parseSplit(text: string): [number, number, number] {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || parts.some((p) => !Number.isFinite(p) || p < 0) || Math.abs(parts[0]! + parts[1]! + parts[2]! - 1) > 1e-9) {
    throw new Error(`--split ${text}: expected three fractions summing to 1, like 0.7,0.15,0.15`);
  }
  return parts as [number, number, number];
}

/**
 * Splits time-ordered samples into train, validation and test, in that order (never shuffled across time):
 * the nominal boundaries are at the fractions of the sample count, and each split after the first starts
 * only once the horizon of the previous split's last sample is over (an embargo of H: for a time horizon its
 * first sample is at least H after that one, for an event horizon at least H book updates after it). The
 * samples in a gap are left out and counted.
 */
export function splitByTime(s: Pick<LabeledSamples, 'n' | 't' | 'seq'>, fractions: readonly [number, number, number], horizon: Horizon): Splits {
  const n = s.n;
  const b1 = Math.round(fractions[0] * n);
  const b2 = Math.max(b1, Math.round((fractions[0] + fractions[1]) * n));
  const clear = (last: number, i: number): boolean =>
    horizon.kind === 'time' ? s.t[i]! >= s.t[last]! + horizon.ms : s.seq[i]! >= s.seq[last]! + horizon.count;
  /** first index >= from whose label window cannot overlap the one of sample `last` (-1: none before) */
  const startAfter = (last: number, from: number): number => {
    let i = from;
    if (last >= 0) while (i < n && !clear(last, i)) i++;
    return i;
  };
  const train = { from: 0, to: b1 };
  const valFrom = startAfter(b1 - 1, b1);
  const val = { from: valFrom, to: Math.max(valFrom, b2) };
  const lastBeforeTest = val.to > val.from ? val.to - 1 : train.to - 1;
  const testFrom = startAfter(lastBeforeTest, val.to);
  const test = { from: testFrom, to: Math.max(testFrom, n) };
  const embargoed = valFrom - b1 + (testFrom - val.to);
  return { ranges: { train, val, test }, embargoed };
}
