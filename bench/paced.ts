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

const FILES = ['binance/usdm/btcusdt_20240808.gz', 'binance/usdm/ethusdt_20240808.gz'];
const KINDS: [suffix: string, kind: StreamKind][] = [
  ['@depth@0ms', 'depth'],
  ['@bookTicker', 'bookTicker'],
  ['@markPrice@1s', 'markPrice'],
  ['@forceOrder', 'forceOrder'],
];

/** The value at fraction `p` of sorted times (µs), to 0.1 µs. */
function quantile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 10) / 10;
}

interface Frame {
  recvMs: number;
  text: string;
  symbol: string;
}

async function loadFrames(): Promise<{ frames: Frame[]; snapshots: Map<string, string> }> {
  const frames: Frame[] = [];
  const snapshots = new Map<string, string>();
  for (const f of FILES) {
    const symbol = /usdm\/(\w+)_/.exec(f)![1]!.toUpperCase();
    for (const l of await readRecordingLines(resolve(sharedData(), f))) {
      if (l.text.startsWith('{"lastUpdateId"')) {
        if (!snapshots.has(symbol)) snapshots.set(symbol, l.text);
      } else if (l.text.startsWith('{"stream"') && KINDS.some(([s]) => l.text.startsWith(`{"stream":"${symbol.toLowerCase()}${s}"`))) {
        // its own string, as the WebSocket client hands a frame over (not a slice of the file's text)
        frames.push({ recvMs: Number(l.recvNs / 1000n) / 1000, text: Buffer.from(l.text).toString('utf8'), symbol });
      }
    }
  }
  frames.sort((a, b) => a.recvMs - b.recvMs);
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
