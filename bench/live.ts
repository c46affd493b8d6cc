import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { runBacktest } from '../src/engine/offline.js';
import type { BenchResult } from './harness.js';
import type { StageBreakdown } from '../src/engine/tick-to-decision.js';
import { waitFor } from '../src/core/wait.js';
import { replayRunEnv } from '../src/marketdata/replay/env.js';
import { ROOT, run, type Proc } from '../scripts/procs.js';
import { benchEnginePaced, TRADE_OFTEN } from './engine-paced.js';
import { machineCacheFloor, machineJitter, pacedDecodeApply, type PacedResult } from './paced.js';

/**
 * The live process, measured from outside as a user runs it: `papertape serve-replay` plays the Binance
 * recordings of ../shared/data as a local exchange at a chosen speed, `papertape run` trades them (OBI,
 * tuned to trade often), and we read what the engine reports (GET /latency, /status, /metrics/prometheus)
 * and its resident memory (/proc/<pid>/status).
 *
 *  - tick-to-decision latency (WebSocket frame received -> order intent approved by the risk gateway):
 *    p50, p99, p99.9, max at 10x and 100x the recorded pace;
 *  - memory: RSS and heap of the engine after N seconds live on 2 symbols (BENCH_LIVE_MEMORY_SECONDS=600
 *    for the 10-minute run; at 1x: the recordings last 650 s spot, 345 s USD-M, so this run loops them with
 *    serve-replay --loop and the engine reconnects and resyncs at each seam);
 *  - capacity: the highest input rate (frames/s) one engine sustains with p99 tick-to-decision < 1 ms,
 *    with serve-replay at rising speeds;
 *  - replay memory: peak RSS of `papertape backtest` (recordings replayed offline) over a small and a large input.
 *
 * Environment: BENCH_LIVE_SECONDS (default 60) bounds each timed run (the data may end sooner: the
 * recordings are ~11 min spot and ~6 min USD-M, so 10x plays them in ~65 s);
 * BENCH_LIVE_MEMORY_SECONDS (default = BENCH_LIVE_SECONDS) the memory run at 1x; BENCH_LIVE_SPEEDS
 * (default "1,3,10,30,100,300,max") the capacity ladder.
 */

// the repository: this file runs as dist/bench/live.js (or bench/live.ts)
const DATA = resolve(ROOT, '../shared/data/binance');
const SPOT = [join(DATA, 'spot/btcusdt_20240808.gz'), join(DATA, 'spot/btcusdt_20240809.gz')];
const USDM = [join(DATA, 'usdm/btcusdt_20240808.gz'), join(DATA, 'usdm/ethusdt_20240808.gz')];
/**
 * 2 symbols, BTCUSDT and ETHUSDT, traded on USD-M (TRADE_VENUE=usdm): the USD-M recordings of both (345 s
 * each). There is no spot ETHUSDT recording, so the engine's spot feed (which subscribes every symbol on
 * spot too) cannot start against serve-replay and stays down: the spot files are not served.
 */
const FILES = [...USDM];
/** How long the USD-M recordings last at 1x, s: the memory run loops them (serve-replay --loop) to keep data flowing. */
const USDM_SPAN_S = 345;


export interface LiveBenchOptions {
  /** longest timed run, s (the data may end sooner) */
  seconds?: number;
  /** the memory run at 1x, s */
  memorySeconds?: number;
  /** the capacity ladder (0 or Infinity = as fast as possible) */
  speeds?: number[];
  /** which parts to run (default all) */
  parts?: ('latency' | 'memory' | 'capacity' | 'replay')[];
  log?: (line: string) => void;
}

export interface LiveRun {
  speed: number;
  seconds: number;
  /** frames received (all feeds) and engine events over the active part of the run */
  messages: number;
  events: number;
  /** frames per second while the replay was playing */
  rate: number;
  intents: number;
  orders: number;
  /** denials by risk check */
  denials: Record<string, number>;
  /** book state per instrument at the end */
  books: Record<string, string>;
  tickToDecision: { count: number; p50Us: number | null; p90Us: number | null; p99Us: number | null; p999Us: number | null; maxUs: number | null };
  /** GET /latency decisionStages: percentiles per stage of the frame path, and the slowest decisions stage by stage */
  decisionStages: StageBreakdown;
  rssMB: number;
  peakRssMB: number;
  heapUsedMB: number | null;
  /** V8 heap reserved, and memory outside the V8 heap (Buffers, ArrayBuffers, native), MB */
  heapTotalMB: number | null;
  externalMB: number | null;
  /** RSS when the API first answered (before market data), MB */
  startRssMB: number;
  feedLatencyP99Ms: Record<string, number | null>;
  load: number[];
  /** RSS samples (s since start, MB) for the memory run */
  rssSeries?: [number, number][];
}

/** SIGTERM, and SIGKILL if it has not exited 15 s later. */
async function kill(p: Proc): Promise<number | null> {
  const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  const code = await p.stop();
  clearTimeout(t);
  return code;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  return res.json();
}

/** VmRSS and VmHWM (peak) of a process, MB */
function procRss(pid: number): { rss: number; peak: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return null;
  }
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const load = (): number[] => loadavg().map((x) => round(x, 2));

/**
 * serve-replay at `speed` and `papertape run` against it for at most `seconds` (less when the replay ends
 * first and the engine has caught up). `nodeArgs` go to the engine's node (e.g. --cpu-prof). `loop` > 1
 * plays the recordings that many times back to back (serve-replay --loop: the engine is disconnected and
 * resyncs between passes).
 */
export async function liveRun(speed: number, seconds: number, opts: { env?: Record<string, string>; nodeArgs?: string[]; sampleRss?: boolean; loop?: number; log?: (l: string) => void } = {}): Promise<LiveRun> {
  const dir = mkdtempSync(join(tmpdir(), 'papertape-bench-live-'));
  const loop = opts.loop !== undefined && opts.loop > 1 ? ['--loop', String(opts.loop)] : [];
  const replay = run(['serve-replay', ...FILES, '--port', '0', '--speed', speed === Infinity || speed === 0 ? 'max' : String(speed), '--start-delay', '1000', ...loop], {});
  let engine: Proc | null = null;
  try {
    const port = await waitFor('serve-replay to listen', () => /listening on http:\/\/[^:]+:(\d+)/.exec(replay.out())?.[1]);
    const exchange = `127.0.0.1:${port}`;
    engine = run(['run', '--fresh'], {
      SYMBOLS: 'BTCUSDT,ETHUSDT',
      FUTURES: 'true',
      TRADE_VENUE: 'usdm',
      PORT: '0',
      DATA_DIR: dir,
      // the default log level (info), as a user runs it: every order is logged
      ...replayRunEnv(exchange),
      ...TRADE_OFTEN,
      ...opts.env,
    }, opts.nodeArgs);
    const e = engine;
    const api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(e.out())?.[1], 60_000);
    const pid = e.child.pid!;
    const t0 = Date.now();
    const startRssMB = round(procRss(pid)?.rss ?? NaN);
    // frames received over time: the rate is taken while frames arrive
    const samples: { t: number; messages: number; events: number }[] = [];
    const rssSeries: [number, number][] = [];
    let peak = 0;
    let finishedAt: number | null = null;
    for (;;) {
      await sleep(1000);
      const st = await getJson(`${api}/status`);
      const now = Date.now();
      samples.push({ t: now, messages: st.counters.messages, events: st.counters.events });
      const r = procRss(pid);
      if (r && Number.isFinite(r.peak)) {
        peak = Math.max(peak, r.peak);
        if (opts.sampleRss) rssSeries.push([round((now - t0) / 1000, 0), round(r.rss)]);
      }
      const elapsed = (now - t0) / 1000;
      if (elapsed >= seconds) break;
      if (finishedAt === null) {
        const rs = await getJson(`http://${exchange}/replay/status`).catch(() => null);
        if (rs?.finished === true) finishedAt = samples.length - 1;
        // the recordings have all been sent: two more seconds for the engine to take the last frames
      } else if (samples.length - 1 - finishedAt >= 2 && !opts.sampleRss) break;
    }
    const [lat, st, prom] = await Promise.all([getJson(`${api}/latency`), getJson(`${api}/status`), fetch(`${api}/metrics/prometheus`).then((r) => r.text())]);
    const promMB = (name: string): number | null => {
      const v = new RegExp(`^${name} (\\S+)$`, 'm').exec(prom)?.[1];
      return v ? round(Number(v) / 2 ** 20) : null;
    };
    const heap = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(prom)?.[1];
    // the active window: from the first sample with frames to the first sample with them all
    const last = samples.at(-1)!;
    const first = samples.find((s) => s.messages > 0) ?? samples[0]!;
    // (after the end, serve-replay still sends its synthesized markPrice frames: not part of the rate)
    const full = finishedAt !== null ? samples[finishedAt]! : last;
    const activeS = Math.max(1, (full.t - first.t) / 1000);
    const rss = procRss(pid);
    const feedLatencyP99Ms: Record<string, number | null> = {};
    for (const [v, d] of Object.entries(lat.venues as Record<string, { count: number; percentiles?: Record<string, number> }>)) {
      feedLatencyP99Ms[v] = d.count > 0 ? (d as unknown as { percentiles: number[] }).percentiles[99] ?? null : null;
    }
    const out: LiveRun = {
      speed,
      seconds: round((Date.now() - t0) / 1000, 0),
      messages: last.messages,
      events: last.events,
      rate: round((full.messages - first.messages) / activeS, 0),
      intents: st.counters.intents,
      orders: st.counters.orders,
      denials: st.risk?.denials ?? {},
      books: Object.fromEntries(Object.entries(st.books as Record<string, { state: string }>).map(([k, b]) => [k, b.state])),
      tickToDecision: lat.tickToDecision,
      decisionStages: lat.decisionStages,
      rssMB: round(rss?.rss ?? NaN),
      peakRssMB: round(Math.max(peak, rss?.peak ?? 0)),
      heapUsedMB: heap ? round(Number(heap) / 2 ** 20) : null,
      heapTotalMB: promMB('nodejs_heap_size_total_bytes'),
      externalMB: promMB('nodejs_external_memory_bytes'),
      startRssMB,
      feedLatencyP99Ms,
      load: load(),
      ...(opts.sampleRss ? { rssSeries } : {}),
    };
    opts.log?.(`live ${speed}x: ${JSON.stringify({ ...out, rssSeries: undefined })}`);
    return out;
  } finally {
    if (engine) await kill(engine);
    await kill(replay);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The replay memory runs' settings (`replayPeakRss` as a child process, `replayLiveHeap` in this one). */
const REPLAY_ENV: Record<string, string> = { SYMBOLS: 'BTCUSDT,ETHUSDT', WARMUP_SECONDS: '0', SHABBAT_PAUSE: 'false', RISK_LOSS_STREAK: '0', ...TRADE_OFTEN };

/** Peak RSS (MB) of `papertape backtest` (the offline replay of recordings) over `files` (the child's VmHWM, read while it runs). */
export async function replayPeakRss(files: string[]): Promise<{ peakRssMB: number; seconds: number; load: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'papertape-bench-replay-'));
  const t0 = Date.now();
  const p = run(['backtest', ...files, '--no-progress', '--json', '--db', join(dir, 'bt.db')], { DATA_DIR: dir, ...REPLAY_ENV });
  let peak = 0;
  const pid = p.child.pid!;
  let done = false;
  void p.exited.then(() => (done = true));
  while (!done) {
    const r = procRss(pid);
    // a process that has exited (zombie) has no VmHWM any more
    if (r && Number.isFinite(r.peak)) peak = Math.max(peak, r.peak);
    await sleep(50);
  }
  rmSync(dir, { recursive: true, force: true });
  if ((await p.exited) !== 0) throw new Error(`backtest failed: ${p.out().slice(-2000)}`);
  return { peakRssMB: round(peak), seconds: round((Date.now() - t0) / 1000), load: load() };
}

/**
 * The live heap of a replay while it runs: `runBacktest` in this process over `files`, a full garbage
 * collection at each progress report (every 16,384 lines and at the end), and the heap in use after each. What the replay keeps (books,
 * strategy and model state, working orders, batches of lines being read) is the largest of these; the
 * peak RSS of `replayPeakRss` adds the heap's headroom and native memory (SQLite's cache, zlib).
 */
export async function replayLiveHeap(files: string[]): Promise<{ maxMB: number; lastMB: number; samples: number; events: number; orders: number }> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = mkdtempSync(join(tmpdir(), 'papertape-bench-heap-'));
  const heap: number[] = [];
  try {
    const s = await runBacktest(files, {
      config: loadConfig(REPLAY_ENV),
      tradeVenueSet: false,
      seed: 1,
      database: join(dir, 'bt.db'),
      logger: pino({ level: 'silent' }),
      // every 16,384 input lines and at the end of the input
      onProgress: () => {
        gc();
        heap.push(process.memoryUsage().heapUsed / 2 ** 20);
      },
    });
    return { maxMB: round(Math.max(...heap)), lastMB: round(heap.at(-1) ?? NaN), samples: heap.length, events: s.events, orders: s.orders };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const TARGET_P99_US = 50;
const TARGET_RSS_MB = 150;
const CAPACITY_P99_US = 1000;

function result(name: string, value: number, unit: string, reference: { name: string; value: number } | null, detail?: Record<string, unknown>): BenchResult {
  // lower is better for every figure here except capacity
  const higherIsBetter = unit === 'msgs/s';
  const ratio = reference && value > 0 ? round(higherIsBetter ? value / reference.value : reference.value / value, 3) : null;
  return { name, value, unit, higherIsBetter, reference, ratio, ...(detail ? { detail } : {}) };
}

function latencyResults(r: LiveRun, floor: PacedResult | null): BenchResult[] {
  const t = r.tickToDecision;
  const detail = { speed: r.speed, decisions: t.count, intents: r.intents, messages: r.messages, rateMsgsPerS: r.rate, seconds: r.seconds, load: r.load, p90Us: t.p90Us, floor };
  // where the time went (GET /latency decisionStages), kept with the p99 only: the slowest five, stage by stage
  const stages = { stages: r.decisionStages.stages, tail: r.decisionStages.tail, slowest: r.decisionStages.slowest.slice(0, 5) };
  // targets are not references (the harness compares only with things measured in the same run): detail.target
  const target = { target: { p99Us: TARGET_P99_US, met: t.p99Us !== null && t.p99Us <= TARGET_P99_US } };
  // the reference: decode + apply alone of the same frames, paced the same (bench/paced.ts), measured just before
  const ref = (p: 'p50Us' | 'p99Us') => (floor ? { name: `decode+apply alone, paced at ${r.speed}x (${p.slice(0, -2)})`, value: floor[p] } : null);
  return [
    result(`live tick-to-decision p50 at ${r.speed}x`, t.p50Us ?? NaN, 'µs', ref('p50Us'), detail),
    result(`live tick-to-decision p99 at ${r.speed}x`, t.p99Us ?? NaN, 'µs', ref('p99Us'), { ...detail, ...target, ...stages }),
    result(`live tick-to-decision p99.9 at ${r.speed}x`, t.p999Us ?? NaN, 'µs', null, detail),
    result(`live tick-to-decision max at ${r.speed}x`, t.maxUs ?? NaN, 'µs', null, detail),
  ];
}

export async function benchLive(opts: LiveBenchOptions = {}): Promise<BenchResult[]> {
  const seconds = opts.seconds ?? Number(process.env['BENCH_LIVE_SECONDS'] ?? 60);
  const memorySeconds = opts.memorySeconds ?? Number(process.env['BENCH_LIVE_MEMORY_SECONDS'] ?? seconds);
  const speeds = opts.speeds ?? (process.env['BENCH_LIVE_SPEEDS'] ?? '1,3,10,30,100,300,max').split(',').map((s) => (s === 'max' ? Infinity : Number(s)));
  const parts = new Set(opts.parts ?? ['latency', 'memory', 'capacity', 'replay']);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const out: BenchResult[] = [];
  const runs = new Map<number, LiveRun>();

  if (parts.has('latency')) {
    // the machine's limit under any tick-to-decision figure: a fixed 20 µs of work, paced as frames at 10x
    const jitter = machineJitter();
    log(`machine jitter: ${jitter.workUs} µs of work every ${jitter.gapUs} µs took p50 ${jitter.p50Us}, p99 ${jitter.p99Us}, p99.9 ${jitter.p999Us} µs, max ${jitter.maxUs} µs`);
    out.push(result(`live floor: ${jitter.workUs} µs of work every ${jitter.gapUs} µs (the machine), p99`, jitter.p99Us, 'µs', { name: 'the work itself', value: jitter.workUs }, { ...jitter }));
    // what the host does to the caches while a thread sleeps: the same 20 µs of reads back to back and after
    // each 250 µs sleep, over a working set that fits the core's own cache (256 KiB) and one that does not (1 MiB)
    const small = machineCacheFloor(4, 256);
    const cache = machineCacheFloor(4, 1024);
    log(`machine cache floor: 20 µs of reads over 1 MiB every 250 µs took p50 ${cache.paced.p50Us}, p99 ${cache.paced.p99Us} µs (back to back p50 ${cache.backToBack.p50Us}, p99 ${cache.backToBack.p99Us}); over 256 KiB p50 ${small.paced.p50Us}, p99 ${small.paced.p99Us} µs`);
    out.push(result('live floor: 20 µs of reads over 1 MiB every 250 µs (the machine), p99', cache.paced.p99Us, 'µs', { name: 'the same reads back to back (p99)', value: cache.backToBack.p99Us }, { ...cache, kib256: small }));
    // the engine alone in this process (no socket, no event log): on the 10x timeline back to back, and paced
    // at 10x, its timed actions run in the gaps (bench/engine-paced.ts)
    const [b2b, sleeping] = await benchEnginePaced([{ speed: 10, wait: 'none' }, { speed: 10, wait: 'sleep' }], seconds);
    for (const [p, label] of [['p50Us', 'p50'], ['p99Us', 'p99']] as const) {
      const detail = (r: typeof b2b) => ({ speed: r!.speed, wait: r!.wait, frames: r!.frames, gapTicks: r!.gapTicks, seconds: r!.seconds, tickToDecision: r!.tickToDecision, stages: r!.decisionStages.stages, tail: r!.decisionStages.tail });
      out.push(result(`live floor: the engine alone paced at 10x (in-process), ${label}`, sleeping!.tickToDecision[p] ?? NaN, 'µs', { name: `the engine alone back to back on the 10x timeline (${label})`, value: b2b!.tickToDecision[p] ?? NaN }, { paced: detail(sleeping), backToBack: detail(b2b) }));
    }
    log(`the engine alone at 10x: paced p50 ${sleeping!.tickToDecision.p50Us}, p99 ${sleeping!.tickToDecision.p99Us} µs; back to back on the same timeline p50 ${b2b!.tickToDecision.p50Us}, p99 ${b2b!.tickToDecision.p99Us} µs`);
    // what waking up costs: decode + apply of the same frames at 10x, the thread spinning through the gaps
    // instead of sleeping (as an event loop with a core of its own could busy-poll its socket)
    const [spun] = await pacedDecodeApply([10], 20, 'spin');
    log(`decode+apply alone paced at 10x, spinning between frames: p50 ${spun!.p50Us} µs, p99 ${spun!.p99Us} µs over ${spun!.frames} depth frames`);
    out.push(result('live floor: decode+apply alone paced at 10x, spinning between frames, p99', spun!.p99Us, 'µs', null, { ...spun }));
    // what a decision waits for: decode + apply up to the levels it reads (a large frame's best levels first,
    // the rest after the decision: src/marketdata/binance/decode.ts, lazyDepth), beside the whole frame's
    const [whole] = await pacedDecodeApply([10]);
    const [upTo] = await pacedDecodeApply([10], 20, 'sleep', 'decision');
    log(`decode+apply up to a decision's reads, paced at 10x: p50 ${upTo!.p50Us} µs, p99 ${upTo!.p99Us} µs (the whole frame: p99 ${whole!.p99Us} µs)`);
    out.push(result('live floor: decode+apply up to what a decision reads, paced at 10x, p99', upTo!.p99Us, 'µs', { name: 'decode+apply of the whole frame, paced at 10x (p99)', value: whole!.p99Us }, { ...upTo, whole }));
    for (const speed of [10, 100]) {
      const [floor] = await pacedDecodeApply([speed]);
      log(`decode+apply alone paced at ${speed}x: p50 ${floor!.p50Us} µs, p99 ${floor!.p99Us} µs over ${floor!.frames} depth frames`);
      const r = await liveRun(speed, seconds, { log });
      runs.set(speed, r);
      out.push(...latencyResults(r, floor ?? null));
    }
  }
  if (parts.has('memory')) {
    // market data for the whole run: the recordings played back to back, with one pass to spare
    const loop = Math.ceil(memorySeconds / USDM_SPAN_S) + 1;
    const r = await liveRun(1, memorySeconds, { sampleRss: true, loop, log });
    const detail = { seconds: r.seconds, speed: 1, loop, messages: r.messages, peakRssMB: r.peakRssMB, startRssMB: r.startRssMB, heapTotalMB: r.heapTotalMB, externalMB: r.externalMB, load: r.load, rssSeries: r.rssSeries, tickToDecision: r.tickToDecision };
    // named by the requested duration (stable across runs); the measured one is in detail.seconds
    out.push(result(`live RSS after ${memorySeconds} s, 2 symbols`, r.rssMB, 'MB', null, { ...detail, target: { rssMB: TARGET_RSS_MB, met: r.rssMB <= TARGET_RSS_MB } }));
    out.push(result(`live heap used after ${memorySeconds} s, 2 symbols`, r.heapUsedMB ?? NaN, 'MB', null, detail));
  }
  if (parts.has('capacity')) {
    const ladder: Record<string, unknown>[] = [];
    let best: LiveRun | null = null;
    for (const speed of speeds) {
      const r = runs.get(speed) ?? (await liveRun(speed, seconds, { log }));
      ladder.push({ speed: String(speed), rate: r.rate, p99Us: r.tickToDecision.p99Us, p999Us: r.tickToDecision.p999Us, maxUs: r.tickToDecision.maxUs, decisions: r.tickToDecision.count, load: r.load });
      const p99 = r.tickToDecision.p99Us;
      if (p99 !== null && p99 < CAPACITY_P99_US && (!best || r.rate > best.rate)) best = r;
    }
    out.push(result('live capacity: msgs/s with p99 tick-to-decision < 1 ms', best?.rate ?? 0, 'msgs/s', null, { ladder, bestSpeed: best ? String(best.speed) : null }));
  }
  if (parts.has('replay')) {
    // the same instrument (spot BTCUSDT), one recording vs both days (2.4x the lines); and all four files
    const small = await replayPeakRss([SPOT[0]!]);
    const large = await replayPeakRss(SPOT);
    const all = await replayPeakRss([...SPOT, ...USDM]);
    out.push(result('replay peak RSS, small vs large input', large.peakRssMB, 'MB', { name: 'small input (spot BTCUSDT, 1 day: 41k lines)', value: small.peakRssMB }, { small, large, allFourFiles: all, smallFiles: [SPOT[0]], largeFiles: SPOT, lines: { small: 41_249, large: 99_574, all: 268_183 } }));
    const heapSmall = await replayLiveHeap([SPOT[0]!]);
    const heapLarge = await replayLiveHeap(SPOT);
    log(`replay live heap (after GC, largest while running): 1 day ${heapSmall.maxMB} MB, 2 days ${heapLarge.maxMB} MB`);
    out.push(result('replay live heap, small vs large input', heapLarge.maxMB, 'MB', { name: 'small input (spot BTCUSDT, 1 day: 41k lines)', value: heapSmall.maxMB }, { small: heapSmall, large: heapLarge }));
  }
  return out;
}

// `node dist/bench/live.js [seconds] [part...]`: runs this benchmark alone and prints its results
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [secs, ...parts] = process.argv.slice(2);
  const res = await benchLive({ ...(secs ? { seconds: Number(secs) } : {}), ...(parts.length ? { parts: parts as LiveBenchOptions['parts'] } : {}) });
  process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
}
