import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { BinanceVenue, EpochMs, Venue } from '../core/types.js';
import { FeatureEngine, type BookView, type FuturesInput, type TradeInput } from '../features/engine.js';
import { FEATURE_COUNT, FEATURE_SCHEMA, FUTURES_FEATURES } from '../features/schema.js';
import { LOBSTER_INSTRUMENT, lobsterFiles, readLobster, type LobsterStats } from '../marketdata/lobster/reader.js';
import { VERSION } from '../version.js';
import { encodeNpy } from './npy.js';
import {
  autoDeadBand,
  LABEL_NAMES,
  relabel,
  SampleCollector,
  SPLIT_NAMES,
  splitByTime,
  type DeadBand,
  type DropCounts,
  type Horizon,
  type LabeledSamples,
  type SamplingOptions,
  type SplitName,
} from './labels.js';
import { describeBinance, replayBinance, type BinanceReplayStats, type InstrumentHandler, type SourceDescription } from './sources.js';

/** default sampling: every book update (what a model sees live: strategies run on every book update) */
export const DEFAULT_EVERY = 1;
/** default warm-up: the longest feature window (rv_60s), so window features are defined */
export const DEFAULT_WARMUP_MS = 60_000;
export const DEFAULT_SPLIT: [number, number, number] = [0.7, 0.15, 0.15];

export interface DatasetOptions {
  files: readonly string[];
  format: 'binance' | 'lobster';
  horizon: Horizon;
  deadBand: DeadBand;
  outDir: string;
  /** binance: which venue and symbol to sample (default: spot if recorded, else usdm; the only symbol) */
  venue?: BinanceVenue;
  symbol?: string;
  sampling: SamplingOptions;
  split: [number, number, number];
  /** dtype of X: float32 (default) or float64 */
  dtype: 'float32' | 'float64';
  /** lobster, message-only files: an orderbook CSV whose first row is the book after the first message */
  initialBook?: string;
  logger: Logger;
}

export interface SplitMeta {
  samples: number;
  classes: Record<(typeof LABEL_NAMES)[number], number>;
  /** first and last sample time, epoch ms and ISO 8601 (UTC); null when empty */
  from: { ms: EpochMs; iso: string } | null;
  to: { ms: EpochMs; iso: string } | null;
  files: { X: string; y: string; t: string; ret: string };
}

export interface DatasetMeta {
  format: 'papertape-dataset';
  formatVersion: 1;
  createdBy: string;
  featureSchema: { version: string; names: readonly string[] };
  /** the features that are NaN without USD-M futures data */
  futuresFeatures: readonly string[];
  arrays: { X: string; y: string; t: string; ret: string };
  labels: { names: readonly string[]; values: number[]; rule: string };
  horizon: Horizon & { rule: string };
  deadBand: DeadBand;
  sampling: SamplingOptions & { rule: string };
  split: { fractions: [number, number, number]; embargo: string; embargoed: number };
  source: SourceDescription & { files: { name: string; bytes: number; sha256: string }[] };
  counts: {
    bookUpdates: number;
    sampled: number;
    labeled: number;
    dropped: DropCounts;
    embargoed: number;
    /** samples with at least one NaN feature (the futures features not counted) */
    withNaN: number;
  };
  splits: Record<SplitName, SplitMeta>;
  /** what the replay saw */
  input: Record<string, unknown>;
}

export interface DatasetResult {
  meta: DatasetMeta;
  /** files written, in writing order */
  written: string[];
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Epoch ms (µs resolution) as int64 nanoseconds. */
function toNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

function iso(ms: number): string {
  return new Date(Math.floor(ms)).toISOString();
}

/**
 * `papertape dataset`: replays recordings through the live decode and book code (or reads LOBSTER files),
 * feeds the one FeatureEngine, samples feature vectors, labels each by the mid's move over the horizon, and
 * writes train / validation / test splits (by time, with an embargo) as .npy files plus meta.json. The same
 * inputs and options give byte-identical files.
 */
export async function buildDataset(o: DatasetOptions): Promise<DatasetResult> {
  const engine = new FeatureEngine();
  let collector: SampleCollector | null = null;
  let source: SourceDescription;
  let input: Record<string, unknown>;
  let fileList: string[];

  const handlerFor = (src: SourceDescription): InstrumentHandler => {
    const inst = src.instrument;
    const c = (collector = new SampleCollector(o.horizon, o.deadBand, inst.tickUnits, o.sampling));
    const write = (out: Float64Array, offset: number): void => engine.write(out, offset);
    return {
      onBook(book: BookView, t: EpochMs) {
        engine.onBook(book, inst, t);
        c.onBook(t, engine.lastMid, write);
      },
      onUnsynced(t: EpochMs) {
        engine.onResync(t);
        c.onUnsynced(t);
      },
      onTrade(trade: TradeInput, t: EpochMs) {
        engine.onTrade(trade, t);
      },
      onFutures(ev: FuturesInput, t: EpochMs) {
        engine.onFutures(ev, t);
      },
    };
  };

  if (o.format === 'binance') {
    if (o.initialBook !== undefined) throw new Error('--initial-book is for --format lobster');
    const d = await describeBinance(o.files, { venue: o.venue, symbol: o.symbol });
    source = d.source;
    fileList = d.infos.map((i) => i.file);
    const stats: BinanceReplayStats = await replayBinance(d.infos, source, handlerFor(source), o.logger);
    input = { ...stats };
  } else {
    if (o.venue !== undefined) throw new Error('--venue is for Binance recordings');
    if (o.files.length === 0) throw new Error('no LOBSTER message files given');
    // files in time order: by date, then start time (names TICKER_DATE_START_END_message_N.csv)
    const parsed = o.files.map((f) => ({ f, info: lobsterFiles(f), start: Number(/_(\d+)_\d+_message_/.exec(basename(f))?.[1] ?? 0) }));
    const tickers = [...new Set(parsed.map((p) => p.info.ticker))];
    if (tickers.length > 1) throw new Error(`the LOBSTER files hold several tickers (${tickers.join(', ')}): one dataset per ticker`);
    if (o.symbol !== undefined && o.symbol !== tickers[0]) throw new Error(`--symbol ${o.symbol}: the LOBSTER files are ${tickers[0]}`);
    parsed.sort((a, b) => (a.info.date < b.info.date ? -1 : a.info.date > b.info.date ? 1 : a.start - b.start));
    fileList = parsed.map((p) => p.f);
    source = {
      format: 'lobster',
      venue: 'nasdaq',
      symbol: tickers[0]!,
      instrument: { ...LOBSTER_INSTRUMENT },
      clock: 'exchange timestamp (LOBSTER seconds after midnight, America/New_York), ms since the epoch',
    };
    const h = handlerFor(source);
    const files: LobsterStats[] = [];
    let last = -Infinity;
    for (const p of parsed) {
      const s = await readLobster(p.f, { onBook: (b, t) => h.onBook(b, t), onTrade: (tr, t) => h.onTrade(tr, t), onUnsynced: (t) => h.onUnsynced(t) }, { initialBook: o.initialBook });
      if (s.firstTime < last) throw new Error(`${p.f}: starts before the previous file ends (overlapping LOBSTER files)`);
      last = s.lastTime;
      // the next file is another session: its pending samples ran past the end of this one's data
      collector!.finish();
      engine.reset();
      files.push(s);
    }
    input = { files };
  }
  const c = collector as SampleCollector | null;
  if (c === null) throw new Error('no instrument to sample');
  c.finish();
  const samples = c.labeled();
  const splits = splitByTime(samples, o.split, o.horizon);
  let deadBand = o.deadBand;
  if (deadBand.auto) {
    deadBand = { value: autoDeadBand(samples, splits.ranges.train.from, splits.ranges.train.to), unit: 'bp', auto: true };
    relabel(samples, deadBand);
  }

  mkdirSync(o.outDir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, buf: Buffer | string): void => {
    const p = join(o.outDir, name);
    writeFileSync(p, buf);
    written.push(p);
  };
  const splitMeta = {} as Record<SplitName, SplitMeta>;
  for (const name of SPLIT_NAMES) {
    const { from, to } = splits.ranges[name];
    splitMeta[name] = writeSplit(name, samples, from, to, o.dtype, put);
  }
  let withNaN = 0;
  const futures = new Set(FUTURES_FEATURES.map((n) => (FEATURE_SCHEMA.names as readonly string[]).indexOf(n)));
  for (let i = 0; i < samples.n; i++) {
    for (let k = 0; k < FEATURE_COUNT; k++) {
      if (!futures.has(k) && Number.isNaN(samples.x[i * FEATURE_COUNT + k]!)) {
        withNaN++;
        break;
      }
    }
  }
  const files = [];
  for (const f of fileList) files.push({ name: basename(f), bytes: statSync(f).size, sha256: await sha256(f) });
  const meta: DatasetMeta = {
    format: 'papertape-dataset',
    formatVersion: 1,
    createdBy: `papertape ${VERSION}`,
    featureSchema: { version: FEATURE_SCHEMA.version, names: FEATURE_SCHEMA.names },
    futuresFeatures: FUTURES_FEATURES,
    arrays: {
      X: `float features, shape (samples, ${FEATURE_COUNT}), columns in featureSchema.names order; NaN = not defined (see docs/features.md)`,
      y: 'int8 label: 0 down, 1 flat, 2 up',
      t: 'int64 sample time, ns since the epoch (UTC)',
      ret: 'float64 mid log return over the horizon, basis points (the move the label classifies)',
    },
    labels: {
      names: LABEL_NAMES,
      values: [0, 1, 2],
      rule:
        (deadBand.unit === 'bp'
          ? `move = 10^4 ln(mid(t+H) / mid(t)); up if move > ${deadBand.value}, down if move < -${deadBand.value}, else flat`
          : `move = (mid(t+H) - mid(t)) / tick; up if move > ${deadBand.value}, down if move < -${deadBand.value}, else flat`) +
        (deadBand.auto ? ' (dead band auto: the one-third quantile of |move| over the training samples)' : ''),
    },
    horizon: {
      ...o.horizon,
      rule:
        o.horizon.kind === 'time'
          ? 'mid(t+H) is the mid after the last book update at or before t+H; samples whose t+H is not followed by a book update before the data ends are dropped'
          : 'mid(t+H) is the mid after the H-th following book update of the instrument',
    },
    deadBand,
    sampling: {
      ...o.sampling,
      rule:
        o.sampling.intervalMs !== undefined
          ? `the first synced book update at or after each multiple of ${o.sampling.intervalMs} ms of data time, once the book has been synced for ${o.sampling.warmupMs} ms`
          : `every ${o.sampling.every === 1 ? '' : `${o.sampling.every}-th `}synced book update, once the book has been synced for ${o.sampling.warmupMs} ms`,
    },
    split: {
      fractions: o.split,
      embargo: `each split after the first starts at its first sample at least H (${o.horizon.text}) after the previous split's last sample`,
      embargoed: splits.embargoed,
    },
    source: { ...source, files },
    counts: { bookUpdates: c.bookUpdates, sampled: c.n, labeled: samples.n, dropped: { ...c.dropped }, embargoed: splits.embargoed, withNaN },
    splits: splitMeta,
    input,
  };
  put('meta.json', `${JSON.stringify(meta, null, 2)}\n`);
  return { meta, written };
}

function writeSplit(name: SplitName, s: LabeledSamples, from: number, to: number, dtype: 'float32' | 'float64', put: (name: string, buf: Buffer) => void): SplitMeta {
  const n = to - from;
  const xs = s.x.subarray(from * FEATURE_COUNT, to * FEATURE_COUNT);
  const X = dtype === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs);
  const y = s.y.slice(from, to);
  const t = new BigInt64Array(n);
  for (let i = 0; i < n; i++) t[i] = toNs(s.t[from + i]!);
  const ret = s.ret.slice(from, to);
  const files = { X: `X_${name}.npy`, y: `y_${name}.npy`, t: `t_${name}.npy`, ret: `ret_${name}.npy` };
  put(files.X, encodeNpy(X, [n, FEATURE_COUNT]));
  put(files.y, encodeNpy(y, [n]));
  put(files.t, encodeNpy(t, [n]));
  put(files.ret, encodeNpy(ret, [n]));
  const classes = { down: 0, flat: 0, up: 0 };
  for (let i = 0; i < n; i++) classes[LABEL_NAMES[y[i]!]!]++;
  return {
    samples: n,
    classes,
    from: n > 0 ? { ms: s.t[from]!, iso: iso(s.t[from]!) } : null,
    to: n > 0 ? { ms: s.t[to - 1]!, iso: iso(s.t[to - 1]!) } : null,
    files,
  };
}
