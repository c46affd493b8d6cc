/**
 * CSV readers for the simulator's replay data (read from ../shared/data at runtime):
 * - us-equities-1min-2019/<SYM>_1min.csv: `datetime,open,high,low,close,volume`, NEWEST FIRST,
 *   US/Eastern wall-clock without offset. The rows run 09:31 … 16:00, so a row's time is taken as the
 *   bar's END; the bar start (Alpaca's `t`) is one minute earlier (09:30 … 15:59).
 * - doge-1m-bybit/DOGEUSDT_1m.csv: `timestamp,open,high,low,close,volume`, oldest first, ISO with
 *   `+00:00`; the time is the bar start (Bybit kline convention). Served as `DOGE/USD`.
 * Both become `Bar[]` sorted by start time ascending, `t` in epoch ms UTC.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Bar {
  /** bar start, epoch ms UTC */
  t: number;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
}

export const EQUITIES_DIR = 'us-equities-1min-2019';
export const DOGE_FILE = 'doge-1m-bybit/DOGEUSDT_1m.csv';

/** Minutes east of UTC of US/Eastern at a UTC instant (−300 EST, −240 EDT; rules since 2007). */
export function easternOffsetMinutes(utcMs: number): number {
  const y = new Date(utcMs).getUTCFullYear();
  // DST: second Sunday of March 02:00 EST (= 07:00 UTC) to first Sunday of November 02:00 EDT (= 06:00 UTC)
  const mar1 = new Date(Date.UTC(y, 2, 1)).getUTCDay();
  const startDay = 1 + ((7 - mar1) % 7) + 7;
  const nov1 = new Date(Date.UTC(y, 10, 1)).getUTCDay();
  const endDay = 1 + ((7 - nov1) % 7);
  const start = Date.UTC(y, 2, startDay, 7);
  const end = Date.UTC(y, 10, endDay, 6);
  return utcMs >= start && utcMs < end ? -240 : -300;
}

/** "2019-02-15 16:00:00" (Eastern wall clock) -> epoch ms UTC. */
export function easternToUtc(wall: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall.trim());
  if (!m) throw new Error(`bad Eastern time ${wall}`);
  const asUtc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  const guess = asUtc + 300 * 60_000; // as EST
  const off = easternOffsetMinutes(guess);
  return asUtc - off * 60_000;
}

/** Epoch ms -> RFC 3339 in US/Eastern with offset, e.g. "2019-02-15T09:30:00-05:00". */
export function formatEastern(utcMs: number): string {
  const off = easternOffsetMinutes(utcMs);
  const local = new Date(utcMs + off * 60_000).toISOString().slice(0, 19);
  const a = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

function parseRows(text: string, file: string, time: (s: string) => number): Bar[] {
  const lines = text.split(/\r?\n/);
  const bars: Bar[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    const f = line.split(',');
    const nums = f.slice(1, 6).map(Number);
    if (f.length < 6 || nums.some((n) => !Number.isFinite(n))) throw new Error(`${file}:${i + 1}: bad row ${line}`);
    bars.push({ t: time(f[0]!), o: nums[0]!, h: nums[1]!, l: nums[2]!, c: nums[3]!, v: nums[4]! });
  }
  bars.sort((a, b) => a.t - b.t);
  return bars;
}

/** Reads `<dataDir>/us-equities-1min-2019/<SYMBOL>_1min.csv`. */
export function readEquityBars(dataDir: string, symbol: string): Bar[] {
  const file = join(dataDir, EQUITIES_DIR, `${symbol}_1min.csv`);
  return parseRows(readFileSync(file, 'utf8'), file, (s) => easternToUtc(s) - 60_000);
}

/** Reads a Bybit 1m kline CSV (`timestamp` ISO with offset = bar start). */
export function readBybitBars(file: string): Bar[] {
  return parseRows(readFileSync(file, 'utf8'), file, (s) => {
    const t = Date.parse(s.trim().replace(' ', 'T'));
    if (!Number.isFinite(t)) throw new Error(`${file}: bad time ${s}`);
    return t;
  });
}

export type AssetClass = 'us_equity' | 'crypto';

export interface SymbolData {
  /** Alpaca symbol: `TSLA`, `DOGE/USD` */
  symbol: string;
  assetClass: AssetClass;
  /** price increment used to synthesize quotes */
  tick: number;
  bars: Bar[];
}

/** Loads an Alpaca symbol from the shared data: crypto pairs `DOGE/USD` from Bybit DOGEUSDT, stocks from the 2019 equities. */
export function loadSymbol(dataDir: string, symbol: string): SymbolData {
  if (symbol.includes('/')) {
    if (symbol !== 'DOGE/USD') throw new Error(`no data for crypto pair ${symbol} (only DOGE/USD)`);
    return { symbol, assetClass: 'crypto', tick: 0.00001, bars: readBybitBars(join(dataDir, DOGE_FILE)) };
  }
  return { symbol, assetClass: 'us_equity', tick: 0.01, bars: readEquityBars(dataDir, symbol) };
}
