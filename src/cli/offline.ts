import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { parse as parseDotenv } from 'dotenv';
import { pino } from 'pino';
import { environmentWithDotenv, loadConfig } from '../config/config.js';
import { compareSessions, replayEventLog, runBacktest, type OfflineSummary } from '../engine/offline.js';

/** Variables from a --config file: a JSON object, or KEY=VALUE lines (.env syntax). */
export function readConfigFile(file: string): Record<string, string> {
  if (!existsSync(file)) throw new Error(`--config ${file}: no such file`);
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    const obj = JSON.parse(text) as unknown;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`--config ${file}: expected a JSON object of variables`);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]));
  }
  return parseDotenv(text);
}

function progressBar(enabled: boolean): { update(fraction: number, events: number): void; stop(): void } {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new SingleBar({ format: ' {bar} {percentage}% | {events} events | {duration_formatted}', stream: process.stderr, hideCursor: true, clearOnComplete: true });
  bar.start(1000, 0, { events: 0 });
  return {
    update(fraction, events) {
      bar.update(Math.round(fraction * 1000), { events });
    },
    stop() {
      bar.stop();
    },
  };
}

function printSummary(title: string, s: OfflineSummary): void {
  const f = (n: number | null, d = 2): string => (n === null ? '-' : n.toFixed(d));
  const lines = [
    title,
    `  session        ${s.sessionId}`,
    `  database       ${s.database}`,
    `  market time    ${new Date(s.startTime).toISOString()} -> ${new Date(s.endTime).toISOString()} (${(s.spanMs / 1000).toFixed(1)} s)`,
    `  events         ${s.events}  (${s.malformed} malformed, skipped)`,
    `  orders         ${s.orders}  (fills ${s.fills}, rejected ${s.rejected}, denied by risk ${s.denials}, still open ${s.openOrders})`,
    `  round trips    ${s.trades}  (win rate ${s.winRate === null ? '-' : `${(s.winRate * 100).toFixed(1)}%`})`,
    `  P&L            ${f(s.pnl)}  (fees ${f(s.fees)})`,
    `  final equity   ${f(s.finalEquity)}  (from ${f(s.initialBalance)})`,
    `  max drawdown   ${s.maxDrawdown === null ? '-' : `${(s.maxDrawdown * 100).toFixed(2)}%`}   Sharpe ${f(s.sharpe)}`,
    `  elapsed        ${s.elapsedMs.toFixed(0)} ms  (${s.speed === Infinity ? '∞' : s.speed.toFixed(0)}x real time)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

export interface BacktestCliOptions {
  config?: string;
  seed?: number;
  json: boolean;
  db?: string;
  logLevel: string;
  progress: boolean;
}

export async function runBacktestCli(files: string[], opts: BacktestCliOptions): Promise<void> {
  const vars = { ...environmentWithDotenv(process.env), ...(opts.config ? readConfigFile(opts.config) : {}) };
  const config = loadConfig(vars);
  const logger = pino({ level: opts.logLevel }, pino.destination(2));
  const seed = opts.seed ?? config.SEED ?? 1;
  const bar = progressBar(opts.progress && process.stderr.isTTY === true);
  const summary = await runBacktest(files, {
    config,
    tradeVenueSet: vars['TRADE_VENUE'] !== undefined && vars['TRADE_VENUE'].trim() !== '',
    seed,
    database: opts.db ? resolve(opts.db) : (id) => join(resolve(config.DATA_DIR), 'backtests', `${id}.db`),
    logger,
    onProgress: (fr, ev) => bar.update(fr, ev),
  });
  bar.stop();
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, seed })}\n`);
  else printSummary(`backtest (seed ${seed})`, summary);
}

export interface ReplayCliOptions {
  db?: string;
  json: boolean;
  /** a database path, false (--no-compare), or unset: the live database named in session.json */
  compare?: string | boolean;
  logLevel: string;
  /** go on past a corrupt event file / skip unreadable lines (each reported) */
  skipCorrupt?: boolean;
  lenient?: boolean;
}

/** Replays an event log; exits 1 when a comparison with the live session finds differences. */
export async function runReplayLogCli(dir: string, opts: ReplayCliOptions): Promise<void> {
  const logger = pino({ level: opts.logLevel }, pino.destination(2));
  const database = opts.db ? resolve(opts.db) : join(resolve(dir), 'replay.db');
  const { header, summary } = await replayEventLog(resolve(dir), {
    database,
    logger,
    read: { skipCorrupt: opts.skipCorrupt ?? false, lines: opts.lenient ? 'lenient' : 'strict', onProblem: (p) => logger.warn(p, p.message) },
  });
  const compare = opts.compare ?? true;
  const liveDb = typeof compare === 'string' ? resolve(compare) : compare ? header.database : null;
  let comparison = null;
  if (liveDb !== null) {
    if (existsSync(liveDb)) comparison = compareSessions(liveDb, database, header.sessionId, 20, header.startedAt);
    else if (typeof compare === 'string') throw new Error(`--compare ${liveDb}: no such file`);
  }
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, seed: header.seed, comparison: comparison && { liveDatabase: liveDb, ...comparison } })}\n`);
  else {
    printSummary(`replay of ${header.sessionId} (seed ${header.seed})`, summary);
    if (comparison) {
      const same = comparison.differences.length === 0;
      process.stdout.write(
        `  live session   ${liveDb}: orders ${comparison.orders.live} live / ${comparison.orders.replay} replayed, fills ${comparison.fills.live} / ${comparison.fills.replay} — ${same ? 'identical' : 'DIFFERENT'}\n`,
      );
      for (const d of comparison.differences) process.stdout.write(`    ${d}\n`);
    }
  }
  if (comparison && comparison.differences.length > 0) process.exitCode = 1;
}
