/** Performance statistics. Pure functions over equity series and round trips. */
import type { EpochMs } from '../core/types.js';
import type { RoundTrip } from './portfolio.js';

export interface EquityPoint {
  time: EpochMs;
  equity: number;
}

export interface Summary {
  /** closed round trips */
  totalTrades: number;
  /** closed trips with netPnl > 0 */
  wins: number;
  /** closed trips with netPnl < 0 (breakeven trips count in neither) */
  losses: number;
  /** wins / totalTrades, null without closed trips */
  winRate: number | null;
  /** last equity - initial cash (0 without equity points) */
  totalPnl: number;
  /** gross realized P&L of all trips, open ones included */
  realizedPnl: number;
  /** fees of all trips, open ones included */
  fees: number;
  /** annualized Sharpe of 1-minute returns, null if not computable */
  sharpe: number | null;
  /** non-positive fraction, measured from the initial cash onwards */
  maxDrawdown: number;
  /** highest equity, the initial cash included */
  highWaterMark: number;
}

export const MINUTE_MS = 60_000;
export const MINUTES_PER_YEAR = 525_600;

/** Simple returns e[i] / e[i-1] - 1. */
export function periodReturns(equity: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < equity.length; i++) out.push(equity[i]! / equity[i - 1]! - 1);
  return out;
}

/**
 * Mean and sample standard deviation (ddof = 1) of `values` followed by `zeros` extra zero
 * values, without materializing them.
 */
function meanStd(values: readonly number[], zeros = 0): { n: number; mean: number; std: number } {
  const n = values.length + zeros;
  if (n === 0) return { n, mean: Number.NaN, std: Number.NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = zeros * mean * mean;
  for (const v of values) ss += (v - mean) * (v - mean);
  return { n, mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : Number.NaN };
}

function sharpeOf(excess: readonly number[], zeros: number, periodsPerYear: number): number {
  const { n, mean, std } = meanStd(excess, zeros);
  if (n < 2 || !(std > 0) || !Number.isFinite(std)) return Number.NaN;
  return (mean / std) * Math.sqrt(periodsPerYear);
}

/**
 * Annualized Sharpe ratio (empyrical convention): mean(r - rf) / std(r - rf, ddof = 1) * sqrt(periodsPerYear).
 * `riskFree` is per period. NaN with fewer than 2 returns or a zero standard deviation.
 */
export function sharpe(returns: readonly number[], periodsPerYear: number, riskFree = 0): number {
  return sharpeOf(riskFree === 0 ? returns : returns.map((r) => r - riskFree), 0, periodsPerYear);
}

/** Drawdown at each point: equity / running peak - 1 (0 at a new high; 0 while the peak is not positive). */
export function drawdownSeries(equity: readonly number[]): number[] {
  const out: number[] = [];
  let peak = Number.NEGATIVE_INFINITY;
  for (const e of equity) {
    if (e > peak) peak = e;
    out.push(peak > 0 ? e / peak - 1 : 0);
  }
  return out;
}

/** Largest peak-to-trough fall as a non-positive fraction (-0.12 = 12 % down); 0 for a monotone rise or no data. */
export function maxDrawdown(equity: readonly number[]): number {
  let worst = 0;
  for (const d of drawdownSeries(equity)) if (d < worst) worst = d;
  return worst;
}

/**
 * Annualized Sharpe of an irregular equity series resampled to 1-minute buckets (last value per
 * minute, empty minutes carry the previous value forward, i.e. a zero return).
 */
export function minuteSharpe(points: readonly EquityPoint[]): number {
  const sorted = isSorted(points) ? points : [...points].sort((a, b) => a.time - b.time);
  const returns: number[] = [];
  let zeros = 0;
  let prevBucket: number | null = null;
  let prevValue = Number.NaN;
  let bucket: number | null = null;
  let value = Number.NaN;
  const flush = (): void => {
    if (bucket === null) return;
    if (prevBucket !== null) {
      zeros += bucket - prevBucket - 1;
      returns.push(value / prevValue - 1);
    }
    prevBucket = bucket;
    prevValue = value;
  };
  for (const p of sorted) {
    const b = Math.floor(p.time / MINUTE_MS);
    if (b !== bucket) {
      flush();
      bucket = b;
    }
    value = p.equity;
  }
  flush();
  return sharpeOf(returns, zeros, MINUTES_PER_YEAR);
}

function isSorted(points: readonly EquityPoint[]): boolean {
  for (let i = 1; i < points.length; i++) if (points[i]!.time < points[i - 1]!.time) return false;
  return true;
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Session summary. JSON-safe: every number is finite, or null where it cannot be computed. */
export function summarize(trips: readonly RoundTrip[], equityPoints: readonly EquityPoint[], initialCash: number): Summary {
  let totalTrades = 0;
  let wins = 0;
  let losses = 0;
  let realizedPnl = 0;
  let fees = 0;
  for (const t of trips) {
    realizedPnl += t.realizedPnl;
    fees += t.fees;
    if (t.status !== 'CLOSED') continue;
    totalTrades += 1;
    if (t.netPnl > 0) wins += 1;
    else if (t.netPnl < 0) losses += 1;
  }
  const sorted = isSorted(equityPoints) ? equityPoints : [...equityPoints].sort((a, b) => a.time - b.time);
  const last = sorted.length > 0 ? sorted[sorted.length - 1]!.equity : initialCash;
  const curve = [initialCash, ...sorted.map((p) => p.equity)];
  let hwm = Number.NEGATIVE_INFINITY;
  for (const e of curve) if (e > hwm) hwm = e;
  return {
    totalTrades,
    wins,
    losses,
    winRate: totalTrades > 0 ? wins / totalTrades : null,
    totalPnl: last - initialCash,
    realizedPnl,
    fees,
    sharpe: finiteOrNull(minuteSharpe(sorted)),
    maxDrawdown: maxDrawdown(curve),
    highWaterMark: hwm,
  };
}
