import { resolve } from 'node:path';
import { DepthSync } from '../src/book/sync.js';
import { BinanceDecoder, decodeSnapshot, type StreamKind } from '../src/marketdata/binance/decode.js';
import { referenceInstrument } from '../src/marketdata/binance/reference.js';
import { readRecordingLines, sharedData } from './data.js';

/**
 * The part of tick-to-decision no engine change removes: every decision follows the decode and apply of
 * its depth frame. This replays the frames the live benchmark's engine receives (USD-M BTCUSDT and
 * ETHUSDT: depth, book ticker, mark price, liquidations; in recorded order) through the decoder and the
 * books alone, in this process, waiting between frames as serve-replay paces them at `speed` (the recorded
 * gap / speed; gaps under 20 µs are not waited), and times decode + apply of each depth frame.
 *
 * At 10x a frame comes every ~270 µs, and the same code takes several times longer per frame than back to
 * back (caches and predictors have gone cold): docs/performance.md, "The floor under tick-to-decision".
 */
export interface PacedResult {
  speed: number;
  /** how the gaps were waited: sleeping (as an event loop waits for its socket) or spinning on the clock */
  wait: 'sleep' | 'spin';
  /**
   * what was timed: 'whole', decode + apply of every level; 'decision', decode + apply as the engine does
   * it (lazy: a large frame's best levels first) and the read of the best 10 levels a side that a decision
   * makes, with the rest of the frame decoded after the clock stops (as the engine does after its decision)
   */
  upTo: 'whole' | 'decision';
  /** depth frames timed */
  frames: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  /** wall time of the paced pass, s */
  seconds: number;
}

/** the recordings the live benchmark serves, and the streams its engine subscribes (in ../shared/data) */
export const PACED_FILES = ['binance/usdm/btcusdt_20240808.gz', 'binance/usdm/ethusdt_20240808.gz'];
const KINDS: [suffix: string, kind: StreamKind][] = [
  ['@depth@0ms', 'depth'],
  ['@bookTicker', 'bookTicker'],
  ['@markPrice@1s', 'markPrice'],
  ['@forceOrder', 'forceOrder'],
];
export const PACED_STREAMS = KINDS.map(([suffix]) => suffix);

/** The value at fraction `p` of sorted times (µs), to 0.1 µs. */
function quantile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10;
}

export interface PacedLine {
  recvMs: number;
  /** a stream message, or (`snapshot`) a REST depth snapshot of `symbol` */
  text: string;
  symbol: string;
  snapshot: boolean;
}

/**
 * The live benchmark's input, from the recordings of PACED_FILES: the stream messages its engine subscribes
 * and the REST snapshots where they were recorded, in recorded order (stable: a snapshot stays after the
 * diffs recorded before it).
 */
export async function loadPacedLines(): Promise<PacedLine[]> {
  const out: PacedLine[] = [];
  for (const f of PACED_FILES) {
    const symbol = /usdm\/(\w+)_/.exec(f)![1]!.toUpperCase();
    const lower = symbol.toLowerCase();
    for (const l of await readRecordingLines(resolve(sharedData(), f))) {
      const snapshot = l.text.startsWith('{"lastUpdateId"');
      if (!snapshot && !(l.text.startsWith('{"stream"') && PACED_STREAMS.some((x) => l.text.startsWith(`{"stream":"${lower}${x}"`)))) continue;
      // its own string, as the WebSocket client hands a frame over (not a slice of the file's text)
      out.push({ recvMs: Number(l.recvNs / 1000n) / 1000, text: Buffer.from(l.text).toString('utf8'), symbol, snapshot });
    }
  }
  return out.sort((a, b) => a.recvMs - b.recvMs);
}

type Frame = Omit<PacedLine, 'snapshot'>;

/** The stream messages in order, and the first recorded snapshot of each symbol. */
async function loadFrames(): Promise<{ frames: Frame[]; snapshots: Map<string, string> }> {
  const frames: Frame[] = [];
  const snapshots = new Map<string, string>();
  for (const l of await loadPacedLines()) {
    if (!l.snapshot) frames.push(l);
    else if (!snapshots.has(l.symbol)) snapshots.set(l.symbol, l.text);
  }
  return { frames, snapshots };
}

function pass(frames: Frame[], snapshots: Map<string, string>, speed: number, maxSeconds: number, spin = false, upTo: PacedResult['upTo'] = 'whole'): { times: number[]; seconds: number } {
  const decoder = new BinanceDecoder('usdm');
  decoder.lazyDepth = upTo === 'decision';
  let sink = 0;
  const syncs = new Map<string, DepthSync>();
  for (const [symbol, snap] of snapshots) {
    const inst = referenceInstrument('usdm', symbol);
    for (const [suffix, kind] of KINDS) decoder.register(`${symbol.toLowerCase()}${suffix}`, kind, inst);
    const sync = new DepthSync('usdm', symbol);
    const s = decodeSnapshot('usdm', inst, JSON.parse(snap), 0);
    if (typeof s === 'string' || sync.onSnapshot(s, 0) !== 'synced') throw new Error(`paced: the ${symbol} snapshot did not sync`);
    syncs.set(symbol, sync);
  }
  const paced = Number.isFinite(speed);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const times: number[] = [];
  const start = performance.now();
  let prev = frames[0]?.recvMs ?? 0;
  for (const f of frames) {
    if (paced) {
      const gapMs = (f.recvMs - prev) / speed;
      prev = f.recvMs;
      if (spin) {
        const until = performance.now() + gapMs;
        while (performance.now() < until);
      } else if (gapMs >= 0.02) Atomics.wait(sleeper, 0, 0, gapMs);
      if (performance.now() - start > maxSeconds * 1000) break;
    }
    const t0 = performance.now();
    const r = decoder.decode(f.text, 0);
    if (r.ok && r.event.kind === 'depth') {
      // the recordings' first diffs precede their snapshot (stale): timed only once they apply
      const sync = syncs.get(f.symbol)!;
      const rest = r.event.rest ?? null;
      const outcome = sync.onDiff(r.event);
      if (outcome === 'gap') throw new Error(`paced: a ${f.symbol} diff left a gap`);
      if (upTo === 'decision' && outcome === 'applied') {
        const { bids, asks } = sync.book;
        for (let i = 0; i < 10; i++) sink += bids.qty(i) - asks.qty(i);
      }
      if (outcome === 'applied') times.push((performance.now() - t0) * 1000);
      if (rest !== null && !rest.finish()) throw new Error(`paced: a ${f.symbol} diff was malformed`);
    }
  }
  if (sink !== sink) throw new Error('paced: a level read NaN');
  return { times, seconds: (performance.now() - start) / 1000 };
}

/**
 * decode + apply of the depth frames, paced as serve-replay at `speed` (Infinity: back to back). `wait`:
 * sleep through the gaps (as the live engine's event loop does, waiting on its socket) or spin on the clock
 * (the thread never gives its core up): the difference is what the machine charges for waking up.
 */
export async function pacedDecodeApply(speeds: number[], maxSeconds = 20, wait: 'sleep' | 'spin' = 'sleep', upTo: PacedResult['upTo'] = 'whole'): Promise<PacedResult[]> {
  const { frames, snapshots } = await loadFrames();
  // warm-up: two passes back to back (the code compiled, the books' memory touched)
  for (let i = 0; i < 2; i++) pass(frames, snapshots, Infinity, Infinity, false, upTo);
  return speeds.map((speed) => {
    const { times, seconds } = pass(frames, snapshots, speed, maxSeconds, wait === 'spin', upTo);
    times.sort((a, b) => a - b);
    const q = (p: number): number => quantile(times, p);
    return { speed, wait, upTo, frames: times.length, p50Us: q(0.5), p90Us: q(0.9), p99Us: q(0.99), p999Us: q(0.999), seconds: Math.round(seconds * 10) / 10 };
  });
}

export interface JitterResult {
  /** the fixed work per slice, µs */
  workUs: number;
  /** the wait between slices, µs */
  gapUs: number;
  slices: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** slices that took over 100 µs and over 1 ms */
  over100Us: number;
  over1Ms: number;
}

/**
 * The machine's own limit: a fixed slice of work (spinning on the clock for `workUs`) after each wait of
 * `gapUs`, the pace of frames at 10x, timed from its start to its end. On an idle, dedicated core every
 * slice takes `workUs`; what it takes above that is the host's doing (interrupts, the hypervisor, other
 * tenants), and no code of ours can have a lower tail than this on the same machine.
 */
export function machineJitter(seconds = 10, workUs = 20, gapUs = 250): JitterResult {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  for (let now = performance.now(); now < end; now = performance.now()) {
    Atomics.wait(sleeper, 0, 0, gapUs / 1000);
    const t0 = performance.now();
    const until = t0 + workUs / 1000;
    while (performance.now() < until);
    times.push((performance.now() - t0) * 1000);
  }
  times.sort((a, b) => a - b);
  const q = (p: number): number => quantile(times, p);
  return {
    workUs,
    gapUs,
    slices: times.length,
    p50Us: q(0.5),
    p99Us: q(0.99),
    p999Us: q(0.999),
    maxUs: Math.round(times.at(-1)!),
    over100Us: times.filter((t) => t > 100).length,
    over1Ms: times.filter((t) => t > 1000).length,
  };
}

export interface CacheFloorResult {
  /** the memory the work reads at random, KiB (about the engine's hot data: books, strategy, histograms) */
  kib: number;
  /** random reads per slice, sized so that a slice takes about 20 µs back to back */
  reads: number;
  gapUs: number;
  backToBack: { slices: number; p50Us: number; p99Us: number; p999Us: number };
  paced: { slices: number; p50Us: number; p99Us: number; p999Us: number };
}

/**
 * The machine's limit for work that reads memory: a fixed slice of random reads over `kib` KiB, timed back
 * to back and after each sleep of `gapUs` (the pace of frames at 10x). `machineJitter` spins on the clock and
 * so sees only the time the host takes from the core; this sees also what it does to the caches while the
 * thread sleeps: a slice that needs only the core and its own data takes that much longer after a wait, in
 * any program on this machine.
 */
export function machineCacheFloor(seconds = 5, kib = 1024, gapUs = 250): CacheFloorResult {
  const data = new Int32Array(kib * 256);
  for (let i = 0; i < data.length; i++) data[i] = i;
  const lines = data.length / 16;
  let sink = 0;
  let x = 12345;
  const slice = (reads: number): number => {
    const t0 = performance.now();
    for (let r = 0; r < reads; r++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      sink += data[(x % lines) * 16]!;
    }
    return (performance.now() - t0) * 1000;
  };
  // calibrate: reads per µs, back to back, after a warm-up
  for (let i = 0; i < 2000; i++) slice(1000);
  const probe: number[] = [];
  for (let i = 0; i < 500; i++) probe.push(slice(1000));
  probe.sort((a, b) => a - b);
  const reads = Math.max(100, Math.round((20 / probe[probe.length >> 1]!) * 1000));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const measure = (paced: boolean): CacheFloorResult['paced'] => {
    const times: number[] = [];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      if (paced) Atomics.wait(sleeper, 0, 0, gapUs / 1000);
      times.push(slice(reads));
    }
    times.sort((a, b) => a - b);
    return { slices: times.length, p50Us: quantile(times, 0.5), p99Us: quantile(times, 0.99), p999Us: quantile(times, 0.999) };
  };
  const backToBack = measure(false);
  const paced = measure(true);
  if (sink !== sink) throw new Error('machineCacheFloor: NaN');
  return { kib, reads, gapUs, backToBack, paced };
}
