import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { createEngine } from '../src/engine/presets.js';
import type { StageBreakdown, TickToDecisionSummary } from '../src/engine/tick-to-decision.js';
import { preciseTime } from '../src/marketdata/binance/connection.js';
import { VenueProcessor } from '../src/marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../src/marketdata/binance/reference.js';
import { DeferredWrites } from '../src/store/deferred.js';
import { Store } from '../src/store/db.js';
import { loadPacedLines, type PacedLine } from './paced.js';

/**
 * Tick-to-decision of the engine alone: the live engine's code path (the same `createEngine`, the same
 * `VenueProcessor`, `decisionClock` and deferred writes per frame, a real SQLite file) fed the frames the
 * live benchmark's engine receives (USD-M BTCUSDT and ETHUSDT, in recorded order), in this process: no
 * WebSocket, no serve-replay process, no event log, no API. Paced as serve-replay paces them at `speed`
 * (the recorded gap / speed), sleeping through the gaps as the live event loop does; the engine's timed
 * actions (order arrivals, fills) run in the gaps when they fall due, as `DueWake` runs them live.
 *
 * What live adds on top of this (the socket, the frame event, the event-log line, other work of the event
 * loop) is the difference to `live tick-to-decision`; what this costs above the back-to-back figure is what
 * pacing costs the same code (docs/performance.md, "The floor under tick-to-decision").
 */
export type EngineWait = 'sleep' | 'spin' | 'none';

export interface EnginePacedResult {
  /** the recorded pace times this */
  speed: number;
  /**
   * how the gaps between frames passed: 'sleep' (asleep, as the live event loop waits on its socket),
   * 'spin' (on the clock, the thread never giving its core up), or 'none' (back to back: engine time is
   * still the recorded time at `speed`, so the engine makes the same decisions, only with no wait between)
   */
  wait: EngineWait;
  frames: number;
  /** timed actions run in the gaps between frames */
  gapTicks: number;
  seconds: number;
  tickToDecision: TickToDecisionSummary;
  decisionStages: StageBreakdown;
}

/**
 * OBI tuned to decide often: low threshold, one observation, no cooldown or momentum filter, loose risk
 * limits, and no ML gate (the shipped model lets ~3% of entries through: too few decisions for a p99.9;
 * the gate's own inference time is the `ml` benchmark).
 */
export const TRADE_OFTEN: Record<string, string> = {
  STRATEGY: 'obi',
  MODEL_PATH: '',
  IMBALANCE_THRESHOLD: '0.05',
  OBI_PERSISTENCE: '1',
  OBI_COOLDOWN_MS: '0',
  OBI_MOMENTUM_MS: '0',
  OBI_MAX_SPREAD_TICKS: '1000000',
  OBI_LIQ_MAX: '0',
  ORDER_NOTIONAL: '100',
  INITIAL_BALANCE: '100000000',
  WARMUP_POINTS: '0',
  RISK_MAX_POSITION: '10',
  RISK_MAX_ORDER_NOTIONAL: '1000000',
  RISK_MAX_TOTAL_NOTIONAL: '1000000000',
  RISK_MAX_DRAWDOWN: '0.99',
  RISK_ORDERS_PER_SECOND: '1000000',
  RISK_ORDERS_PER_MINUTE: '1000000',
  RISK_ORDERS_PER_HOUR: '10000000',
};

/** The live benchmark's engine settings, in-process: 2 symbols on USD-M, no warm-up, no Shabbat pause. */
export const ENGINE_ENV: Record<string, string> = {
  SYMBOLS: 'BTCUSDT,ETHUSDT',
  TRADE_VENUE: 'usdm',
  WARMUP_SECONDS: '0',
  SHABBAT_PAUSE: 'false',
  RISK_LOSS_STREAK: '0',
  ...TRADE_OFTEN,
};

const silent = { info() {}, warn() {}, error() {}, debug() {}, child() { return silent; } };

function pass(lines: PacedLine[], dir: string, name: string, speed: number, wait: EngineWait, maxSeconds: number): EnginePacedResult {
  const virtual = wait === 'none';
  const spin = wait === 'spin';
  const config = loadConfig(ENGINE_ENV);
  const store = Store.open(join(dir, `${name}.db`));
  const deferred = new DeferredWrites(store);
  const startedAt = preciseTime();
  // back to back: engine time is the recorded time at `speed`, the clock running on from each input's time
  let offset = 0;
  const clock = (): number => preciseTime() + offset;
  const first = lines[0]?.recvMs ?? 0;
  const engine = createEngine({
    config,
    sessionId: name,
    startedAt,
    seed: 1,
    store,
    logger: silent as never,
    tradeVenue: 'usdm',
    market: { traded: config.SYMBOLS.map((symbol) => ({ venue: 'usdm' as const, symbol })), futuresSymbols: config.SYMBOLS },
    decisionClock: clock,
    defer: (fn) => deferred.later(fn),
  });
  const p = new VenueProcessor({ venue: 'usdm', sink: engine, logger: silent as never, symbols: config.SYMBOLS });
  const err = p.onExchangeInfo({ symbols: config.SYMBOLS.map((s) => REFERENCE_EXCHANGE_INFO.usdm[s]) }, startedAt);
  if (err) throw new Error(`engine-paced: ${err}`);
  p.onReset(config.SYMBOLS, 'syncing', startedAt);
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  let prev = lines[0]?.recvMs ?? 0;
  let frames = 0;
  let gapTicks = 0;
  // a timed action due in a gap: its writes in one transaction, as DueWake's tick live
  const tick = (t: number): void => {
    deferred.begin();
    try {
      engine.tick(t);
    } finally {
      deferred.end();
    }
    gapTicks++;
  };
  for (const l of lines) {
    if (virtual) {
      const tv = startedAt + (l.recvMs - first) / speed;
      for (let due = engine.nextDue(); due <= tv; due = engine.nextDue()) {
        offset = due - preciseTime();
        tick(due);
      }
      offset = tv - preciseTime();
    } else {
      const until = preciseTime() + (l.recvMs - prev) / speed;
      prev = l.recvMs;
      // the gap: asleep, woken for the timed actions that fall due in it (as DueWake does live); one that
      // fell due while the thread was waking up still runs before the frame
      for (;;) {
        const now = preciseTime();
        const due = engine.nextDue();
        if (due <= now) {
          tick(now);
          continue;
        }
        if (now >= until) break;
        // the last 20 µs (or all of it, spinning) on the clock
        const gap = Math.min(until, due) - now;
        if (gap >= 0.02 && !spin) Atomics.wait(sleeper, 0, 0, gap);
      }
      if (performance.now() - start > maxSeconds * 1000) break;
    }
    const t = clock();
    deferred.begin();
    try {
      if (l.snapshot) p.onSnapshot(l.symbol, JSON.parse(l.text) as unknown, t);
      else p.onMessage(l.text, t);
    } finally {
      deferred.end();
    }
    frames++;
  }
  const seconds = (performance.now() - start) / 1000;
  const result: EnginePacedResult = {
    speed,
    wait,
    frames,
    gapTicks,
    seconds: Math.round(seconds * 10) / 10,
    tickToDecision: engine.tickToDecision.summary(),
    decisionStages: engine.tickToDecision.stages(),
  };
  store.close();
  return result;
}

/**
 * The engine in-process, one pass per entry of `runs`, after a warm-up pass back to back at the first
 * run's speed (the code compiled); each pass is a new engine and database over the same frames.
 */
export async function benchEnginePaced(runs: { speed: number; wait: EngineWait }[], maxSeconds = 60): Promise<EnginePacedResult[]> {
  const lines = await loadPacedLines();
  const dir = mkdtempSync(join(tmpdir(), 'papertape-engine-paced-'));
  try {
    pass(lines, dir, 'warmup', runs[0]?.speed ?? 10, 'none', Infinity);
    return runs.map((r, i) => pass(lines, dir, `run${i}`, r.speed, r.wait, maxSeconds));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node dist/bench/engine-paced.js [speed:wait ...]` (default 10:none 10:sleep): the figures alone, one JSON line a run
if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const runs = (args.length > 0 ? args : ['10:none', '10:sleep']).map((a) => {
    const [speed, wait] = a.split(':');
    if (!(Number(speed) > 0) || !['none', 'sleep', 'spin'].includes(wait ?? '')) throw new Error(`engine-paced: "${a}" is not speed:wait (wait: none, sleep or spin)`);
    return { speed: Number(speed), wait: wait as EngineWait };
  });
  for (const r of await benchEnginePaced(runs, Number(process.env['BENCH_LIVE_SECONDS'] ?? 60))) {
    const { slowest: _, ...stages } = r.decisionStages;
    process.stdout.write(`${JSON.stringify({ ...r, decisionStages: stages })}\n`);
  }
}
