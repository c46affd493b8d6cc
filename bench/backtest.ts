import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config/config.js';
import { runBacktest, type OfflineSummary } from '../src/engine/offline.js';
import { sharedData } from './data.js';

export interface BacktestBenchResult {
  name: string;
  file: string;
  config: Record<string, string>;
  /** runs discarded first (the process's first runs compile the code and size its heap) */
  warmup: number;
  rounds: number;
  events: number;
  orders: number;
  fills: number;
  marketSeconds: number;
  /** wall time of the whole run: reading and decompressing the file, decoding, books, strategy, risk, paper exchange, SQLite */
  elapsedMs: { best: number; median: number; firstWarmup: number };
  eventsPerSec: { best: number; median: number };
  realTimeMultiple: { best: number; median: number };
  aim: string;
}

const silent = { info() {}, warn() {}, error() {} };

/**
 * Full-fidelity backtest throughput: the engine in-process over the recorded USD-M BTCUSDT day, OBI with
 * passive (post-only) orders gated by the shipped gradient-boosted model (models/gbdt-xgb, compiled trees)
 * so the probabilistic queue model works on every resting order, latency,
 * impact, fees, and every order and fill written to SQLite. `warmup` runs first, discarded (the first runs
 * of a process compile the code and size its heap: the first took 3.4x the median on 2026-12-04), then
 * `rounds` runs; best and median of those.
 */
export async function benchBacktest(rounds = 7, warmup = 2): Promise<BacktestBenchResult> {
  const file = resolve(sharedData(), 'binance/usdm/btcusdt_20240808.gz');
  // the shipped gradient-boosted model (XGBoost, compiled trees) as the obi strategy's ML gate
  const model = resolve(import.meta.dirname, '..', '..', 'models', 'gbdt-xgb');
  const vars = { QUEUE_MODEL: 'prob-power:3', OBI_ORDER_TYPE: 'post-only', OBI_COOLDOWN_MS: '500', LATENCY_MODEL: 'volatility', WARMUP_SECONDS: '0', MODEL_PATH: model };
  const config = loadConfig(vars);
  const dir = mkdtempSync(join(tmpdir(), 'papertape-bench-'));
  const runs: OfflineSummary[] = [];
  try {
    for (let r = 0; r < warmup + rounds; r++) {
      runs.push(await runBacktest([file], { config, tradeVenueSet: false, seed: 1, database: join(dir, `r${r}.db`), logger: silent }));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const firstWarmup = runs[0]!.elapsedMs;
  const elapsed = runs.slice(warmup).map((s) => s.elapsedMs).sort((a, b) => a - b);
  const best = elapsed[0]!;
  const median = elapsed[Math.floor(elapsed.length / 2)]!;
  const s = runs[0]!;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    name: 'backtest: usdm BTCUSDT, OBI post-only + gbdt-xgb gate, prob-power:3 queue, volatility latency',
    file: 'binance/usdm/btcusdt_20240808.gz',
    config: { ...vars, MODEL_PATH: 'models/gbdt-xgb' },
    warmup,
    rounds,
    events: s.events,
    orders: s.orders,
    fills: s.fills,
    marketSeconds: round(s.spanMs / 1000),
    elapsedMs: { best: round(best), median: round(median), firstWarmup: round(firstWarmup) },
    eventsPerSec: { best: Math.round(s.events / (best / 1000)), median: Math.round(s.events / (median / 1000)) },
    realTimeMultiple: { best: Math.round(s.spanMs / best), median: Math.round(s.spanMs / median) },
    aim: '>= 1000x real time',
  };
}
