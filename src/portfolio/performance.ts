/**
 * Performance statistics that follow empyrical's definitions (quantopian/empyrical `empyrical/stats.py`, 0.5.x,
 * and its maintained continuation empyrical-reloaded), plus session statistics over an equity curve and round
 * trips. Pure functions; docs/statistics.md defines every field and says where we differ from empyrical and why.
 *
 * Return series conventions (empyrical's):
 * - `returns` are periodic simple returns (0.01 = +1 %). `null` or NaN is a missing period.
 * - A missing period counts in the LENGTH of the series (empyrical uses `len(returns)`, which counts NaN) but
 *   not in means and standard deviations (empyrical's `nanmean` / `nanstd(ddof=1)`); cumulative returns treat
 *   it as a 0 % return (`cum_returns` replaces NaN by 0, `cum_returns_final` uses `nanprod`).
 * - Where empyrical divides by zero the result is ±Infinity or NaN, as numpy's division gives; callers that
 *   print JSON pass the result through {@link jsonSafe}.
 */
import type { EquityPoint } from './stats.js';

export type { EquityPoint } from './stats.js';

/** A return series: periodic simple returns, `null` (or NaN) for a missing period. */
export type Returns = readonly (number | null)[];

const ANNUALIZATION_LIMIT = 1e12;

function isMissing(x: number | null): x is null {
  return x === null || Number.isNaN(x);
}

/** Sum with Neumaier's compensation (close to numpy's pairwise summation on the sizes we see). */
function compensatedSum(xs: readonly number[]): number {
  let sum = 0;
  let c = 0;
  for (const x of xs) {
    const t = sum + x;
    c += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum;
    sum = t;
  }
  return sum + c;
}

function present(returns: Returns): number[] {
  const out: number[] = [];
  for (const r of returns) if (!isMissing(r)) out.push(r);
  return out;
}

/**
 * numpy's `nanmean`: mean of the values that are not missing; NaN when there are none. The mean is taken as
 * `x0 + mean(x - x0)` (x0 the first value), so a constant series has exactly its value as mean and exactly 0
 * as standard deviation, as numpy gives for empyrical's own flat-line fixtures.
 */
export function nanMean(values: Returns): number {
  const xs = present(values);
  if (xs.length === 0) return Number.NaN;
  const x0 = Number.isFinite(xs[0]!) ? xs[0]! : 0;
  return x0 + compensatedSum(xs.map((x) => x - x0)) / xs.length;
}

/** numpy's `nanstd(x, ddof)`: sqrt(Σ(x - mean)² / (count - ddof)) over the values that are not missing; NaN when count <= ddof. */
export function nanStd(values: Returns, ddof = 1): number {
  const xs = present(values);
  if (xs.length - ddof <= 0) return Number.NaN;
  const mean = nanMean(xs);
  return Math.sqrt(compensatedSum(xs.map((x) => (x - mean) * (x - mean))) / (xs.length - ddof));
}

function checkAnnualization(periodsPerYear: number): void {
  if (!(periodsPerYear > 0) || !(periodsPerYear <= ANNUALIZATION_LIMIT)) {
    throw new RangeError(`periodsPerYear must be a positive number (got ${periodsPerYear})`);
  }
}

/**
 * Total compounded return, empyrical `cum_returns_final(returns)`: Π(1 + r) - 1 over the periods that are not
 * missing (a missing period is a 0 % return). NaN for an empty series.
 */
export function cumulativeReturn(returns: Returns): number {
  if (returns.length === 0) return Number.NaN;
  return growth(returns) - 1;
}

/** Π(1 + r) over the periods that are not missing (numpy's `nanprod(returns + 1)`). */
function growth(returns: Returns): number {
  let g = 1;
  for (const r of returns) if (!isMissing(r)) g *= 1 + r;
  return g;
}

/**
 * Compound annual growth rate, empyrical `annual_return`: (1 + cumulative return) ** (1 / years) - 1 with
 * years = returns.length / periodsPerYear. The length counts missing periods. NaN for an empty series.
 */
export function annualReturn(returns: Returns, periodsPerYear: number): number {
  checkAnnualization(periodsPerYear);
  if (returns.length < 1) return Number.NaN;
  const years = returns.length / periodsPerYear;
  return growth(returns) ** (1 / years) - 1;
}

/**
 * Annualized volatility, empyrical `annual_volatility` (alpha = 2): nanstd(returns, ddof = 1) * periodsPerYear ** (1/2).
 * NaN with fewer than 2 periods, or fewer than 2 periods that are not missing.
 */
export function annualVolatility(returns: Returns, periodsPerYear: number): number {
  checkAnnualization(periodsPerYear);
  if (returns.length < 2) return Number.NaN;
  return nanStd(returns, 1) * periodsPerYear ** (1.0 / 2.0);
}

/**
 * Annualized Sharpe ratio, empyrical `sharpe_ratio`: nanmean(r - rf) / nanstd(r - rf, ddof = 1) * sqrt(periodsPerYear),
 * `riskFree` per period. NaN with fewer than 2 periods; a zero standard deviation gives ±Infinity (NaN when the
 * mean is 0 too), as empyrical's numpy division does.
 */
export function sharpe(returns: Returns, periodsPerYear: number, riskFree = 0): number {
  checkAnnualization(periodsPerYear);
  if (returns.length < 2) return Number.NaN;
  const adjusted = returns.map((r) => (isMissing(r) ? null : r - riskFree));
  return (nanMean(adjusted) / nanStd(adjusted, 1)) * Math.sqrt(periodsPerYear);
}

/**
 * Annualized downside deviation below `requiredReturn` (per period), empyrical `downside_risk`:
 * sqrt(nanmean(min(r - required, 0)²)) * sqrt(periodsPerYear). The mean runs over every period that is not
 * missing (periods above the threshold count as 0). NaN for an empty series; 0 for one period.
 */
export function downsideRisk(returns: Returns, periodsPerYear: number, requiredReturn = 0): number {
  checkAnnualization(periodsPerYear);
  if (returns.length < 1) return Number.NaN;
  const squares = returns.map((r) => {
    if (isMissing(r)) return null;
    const d = Math.min(r - requiredReturn, 0);
    return d * d;
  });
  const xs = present(squares);
  const meanSquare = xs.length === 0 ? Number.NaN : compensatedSum(xs) / xs.length;
  return Math.sqrt(meanSquare) * Math.sqrt(periodsPerYear);
}

/**
 * Annualized Sortino ratio, empyrical `sortino_ratio`: nanmean(r - required) * periodsPerYear / downsideRisk.
 * NaN with fewer than 2 periods; +Infinity when no period is below the threshold and the mean excess is
 * positive (printed as null in JSON).
 */
export function sortino(returns: Returns, periodsPerYear: number, requiredReturn = 0): number {
  checkAnnualization(periodsPerYear);
  if (returns.length < 2) return Number.NaN;
  const adjusted = returns.map((r) => (isMissing(r) ? null : r - requiredReturn));
  const averageAnnual = nanMean(adjusted) * periodsPerYear;
  return averageAnnual / downsideRisk(returns, periodsPerYear, requiredReturn);
}

/**
 * Drawdown after each period, empyrical `drawdown_series`: a value of 100 before the first period, compounded by
 * each return (missing = 0 %), each value divided by its running maximum, minus 1. One entry per period.
 */
export function drawdowns(returns: Returns): number[] {
  const out: number[] = [];
  let growth = 1;
  let peak = 100;
  for (const r of returns) {
    if (!isMissing(r)) growth *= 1 + r;
    const value = growth * 100;
    if (value > peak) peak = value;
    out.push((value - peak) / peak);
  }
  return out;
}

/**
 * Maximum drawdown, empyrical `max_drawdown`: the lowest {@link drawdowns} value, a non-positive fraction. The
 * starting value counts as a peak, so a loss in the first period is a drawdown. NaN for an empty series.
 */
export function maxDrawdown(returns: Returns): number {
  if (returns.length < 1) return Number.NaN;
  let worst = 0;
  for (const d of drawdowns(returns)) if (d < worst) worst = d;
  return worst;
}

/**
 * Calmar ratio, empyrical `calmar_ratio`: annualReturn / |maxDrawdown|. NaN when the maximum drawdown is not
 * negative (no loss, or an empty series) and when the quotient is infinite.
 */
export function calmar(returns: Returns, periodsPerYear: number): number {
  const dd = maxDrawdown(returns);
  if (!(dd < 0)) return Number.NaN;
  const ratio = annualReturn(returns, periodsPerYear) / Math.abs(dd);
  return ratio === Infinity || ratio === -Infinity ? Number.NaN : ratio;
}

/**
 * Omega ratio, empyrical `omega_ratio(returns, risk_free, required_return, annualization)`: with
 * x = r - riskFree - threshold, Σ(x > 0) / -Σ(x < 0); NaN with fewer than 2 periods or nothing below the
 * threshold. The threshold is `requiredReturn` itself when `annualization` is 1 (our default: a per-period
 * threshold), else (1 + requiredReturn) ** (1 / annualization) - 1 (empyrical's default annualization is 252:
 * an annual required return); NaN when requiredReturn <= -1 then.
 */
export function omega(returns: Returns, riskFree = 0, requiredReturn = 0, annualization = 1): number {
  if (returns.length < 2) return Number.NaN;
  let threshold: number;
  if (annualization === 1) threshold = requiredReturn;
  else if (requiredReturn <= -1) return Number.NaN;
  else threshold = (1 + requiredReturn) ** (1.0 / annualization) - 1;
  let numerator = 0;
  let denominator = 0;
  for (const r of returns) {
    if (isMissing(r)) continue;
    const x = r - riskFree - threshold;
    if (x > 0) numerator += x;
    else if (x < 0) denominator -= x;
  }
  return denominator > 0 ? numerator / denominator : Number.NaN;
}

/** Ascending order with NaN last, as numpy sorts. */
function sortedWithNaNLast(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b));
}

/**
 * numpy's `percentile(values, q)` with its default 'linear' method: the value at index (n - 1) * q / 100 of
 * the sorted values, interpolated as numpy's `_lerp` does. NaN if any value is NaN or there are none.
 */
export function percentile(values: readonly number[], q: number): number {
  const n = values.length;
  if (n === 0 || values.some((v) => Number.isNaN(v))) return Number.NaN;
  const sorted = sortedWithNaNLast(values);
  const index = (n - 1) * (q / 100);
  const below = Math.floor(index);
  const above = Math.min(below + 1, n - 1);
  const t = index - below;
  const a = sorted[below]!;
  const b = sorted[above]!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Tail ratio, empyrical `tail_ratio`: |95th percentile| / |5th percentile| of the returns that are not missing.
 * NaN without any; +Infinity when the 5th percentile is 0.
 */
export function tailRatio(returns: Returns): number {
  const xs = present(returns);
  if (xs.length < 1) return Number.NaN;
  return Math.abs(percentile(xs, 95)) / Math.abs(percentile(xs, 5));
}

/**
 * Stability of the time series, empyrical `stability_of_timeseries`: R² of an ordinary least-squares line through
 * the cumulative log returns (missing periods dropped) against 0, 1, 2, ... NaN with fewer than 2 periods, when
 * none is left after dropping the missing ones (scipy raises there), and when the cumulative log return is
 * constant (current scipy's `linregress` gives r = NaN then; scipy before 1.11 gave 0).
 */
export function stability(returns: Returns): number {
  if (returns.length < 2) return Number.NaN;
  const xs = present(returns);
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const y: number[] = [];
  let cum = 0;
  for (const r of xs) {
    cum += Math.log1p(r);
    y.push(cum);
  }
  const xMean = (n - 1) / 2;
  const yMean = compensatedSum(y) / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = i - xMean;
    const dy = y[i]! - yMean;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  let r: number;
  if (sxx === 0 || syy === 0) r = sxy === 0 ? Number.NaN : 0;
  else r = Math.max(-1, Math.min(1, sxy / n / Math.sqrt((sxx / n) * (syy / n))));
  return r * r;
}

/**
 * Value at risk, empyrical `value_at_risk(returns, cutoff)`: the `cutoff` percentile (numpy 'linear') of the
 * returns. Unlike the other statistics empyrical does not skip missing periods here: NaN if any is missing.
 */
export function valueAtRisk(returns: Returns, cutoff = 0.05): number {
  if (returns.length === 0) return Number.NaN;
  return percentile(
    returns.map((r) => (r === null ? Number.NaN : r)),
    100 * cutoff,
  );
}

/**
 * Conditional value at risk, empyrical `conditional_value_at_risk(returns, cutoff)`: the mean of the
 * floor((n - 1) * cutoff) + 1 lowest returns (missing periods sort last, as numpy's partition puts NaN). NaN for
 * an empty series (numpy raises there).
 */
export function conditionalValueAtRisk(returns: Returns, cutoff = 0.05): number {
  if (returns.length === 0) return Number.NaN;
  const k = Math.trunc((returns.length - 1) * cutoff);
  const lowest = sortedWithNaNLast(returns.map((r) => (r === null ? Number.NaN : r))).slice(0, k + 1);
  return compensatedSum(lowest) / lowest.length;
}

export interface ReturnStatsOptions {
  /** periods per year for annualizing: 252 for trading days (empyrical's default), 365 for daily crypto, 525 600 for minutes */
  periodsPerYear: number;
  /** risk-free return per period, for the Sharpe ratio (default 0) */
  riskFree?: number;
  /** minimum acceptable return per period, for Sortino, downside risk and omega (default 0) */
  requiredReturn?: number;
}

/** Every statistic of a return series. NaN / ±Infinity where the statistic is undefined (see each function). */
export interface ReturnStats {
  /** length of the series, missing periods included */
  periods: number;
  cumulativeReturn: number;
  annualReturn: number;
  annualVolatility: number;
  sharpe: number;
  sortino: number;
  calmar: number;
  downsideRisk: number;
  maxDrawdown: number;
  omega: number;
  tailRatio: number;
  stability: number;
  /** 5 % value at risk (a return, usually negative) */
  valueAtRisk: number;
  /** mean of the worst 5 % of returns */
  conditionalValueAtRisk: number;
}

/** All statistics of `returns` at once (see docs/statistics.md). Throws a RangeError for bad options. */
export function returnStats(returns: Returns, o: ReturnStatsOptions): ReturnStats {
  checkAnnualization(o.periodsPerYear);
  const riskFree = o.riskFree ?? 0;
  const requiredReturn = o.requiredReturn ?? 0;
  if (!Number.isFinite(riskFree)) throw new RangeError(`riskFree must be a finite number (got ${riskFree})`);
  if (!Number.isFinite(requiredReturn)) throw new RangeError(`requiredReturn must be a finite number (got ${requiredReturn})`);
  const ppy = o.periodsPerYear;
  return {
    periods: returns.length,
    cumulativeReturn: cumulativeReturn(returns),
    annualReturn: annualReturn(returns, ppy),
    annualVolatility: annualVolatility(returns, ppy),
    sharpe: sharpe(returns, ppy, riskFree),
    sortino: sortino(returns, ppy, requiredReturn),
    calmar: calmar(returns, ppy),
    downsideRisk: downsideRisk(returns, ppy, requiredReturn),
    maxDrawdown: maxDrawdown(returns),
    omega: omega(returns, riskFree, requiredReturn, 1),
    tailRatio: tailRatio(returns),
    stability: stability(returns),
    valueAtRisk: valueAtRisk(returns),
    conditionalValueAtRisk: conditionalValueAtRisk(returns),
  };
}

/** Replaces NaN and ±Infinity by null, recursively over plain objects and arrays (for JSON output). */
export function jsonSafe<T>(x: T): unknown {
  if (typeof x === 'number') return Number.isFinite(x) ? x : null;
  if (Array.isArray(x)) return x.map((v: unknown) => jsonSafe(v));
  if (x !== null && typeof x === 'object') {
    const proto = Object.getPrototypeOf(x) as unknown;
    if (proto !== Object.prototype && proto !== null) return x;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) out[k] = jsonSafe(v);
    return out;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------------------------
// Session performance: an irregular equity curve, round trips and fills.

/** Structurally a RoundTrip of ./portfolio.ts. */
export interface TripLike {
  venue: string;
  symbol: string;
  strategy: string;
  status: 'OPEN' | 'CLOSED';
  qty: number;
  entryPrice: number;
  exitPrice: number | null;
  openedAt: number;
  closedAt: number | null;
  realizedPnl: number;
  fees: number;
  netPnl: number;
}

export interface FillLike {
  symbol: string;
  strategy: string;
  price: number;
  qty: number;
  fee: number;
  time: number;
}

export const DEFAULT_PERIOD_MS = 60_000;
export const YEAR_MS = 365 * 86_400_000;
/** Largest number of periods `performance` resamples to (a guard against a tiny periodMs over a long window). */
export const MAX_PERIODS = 10_000_000;

export interface PerformanceInput {
  initialCash: number;
  /** account equity, written whenever it changed (any order; points outside [start, end] are ignored) */
  equity: readonly EquityPoint[];
  trips: readonly TripLike[];
  fills: readonly FillLike[];
  /** epoch ms; the curve starts here at initialCash */
  start: number;
  /** epoch ms, >= start */
  end: number;
  /** length of one return period in ms (default 60 000: one minute); periodsPerYear = 365 days / periodMs (crypto trades 24/7) */
  periodMs?: number;
  /** risk-free return per period (default 0) */
  riskFree?: number;
  /** minimum acceptable return per period (default 0) */
  requiredReturn?: number;
}

export interface Performance {
  periodMs: number;
  periodsPerYear: number;
  start: number;
  end: number;
  /** statistics of the period returns of the resampled equity curve */
  returns: ReturnStats;
  /** finalEquity / initialCash - 1 */
  totalReturn: number;
  /** finalEquity - initialCash */
  netPnl: number;
  /** equity at `end`: the last point at or before it, else initialCash */
  finalEquity: number;
  /** highest equity recorded in [start, end], initialCash included */
  highWaterMark: number;
  /** worst equity / running peak - 1 over every recorded point (non-positive) */
  maxDrawdown: number;
  /** longest time from a peak until equity is back at or above it (or until `end`) */
  maxDrawdownDurationMs: number;
  /** finalEquity / highWaterMark - 1 */
  currentDrawdown: number;
  /** closed round trips (closed in [start, end]) */
  trades: number;
  wins: number;
  losses: number;
  winRate: number;
  profitFactor: number;
  averageWin: number;
  averageLoss: number;
  largestWin: number;
  largestLoss: number;
  averageHoldMs: number;
  expectancy: number;
  /** fraction of [start, end] with an open position */
  exposure: number;
  /** tradedNotional / averageEquity */
  turnover: number;
  /** mean of the resampled equity (one value per period end); initialCash without periods */
  averageEquity: number;
  /** fees of the fills in [start, end] */
  fees: number;
  /** Σ |price * qty| of the fills in [start, end] */
  tradedNotional: number;
}

function checkInput(input: PerformanceInput): number {
  const periodMs = input.periodMs ?? DEFAULT_PERIOD_MS;
  if (!(Number.isFinite(input.initialCash) && input.initialCash > 0)) throw new RangeError(`initialCash must be a positive number (got ${input.initialCash})`);
  if (!Number.isFinite(input.start) || !Number.isFinite(input.end) || input.end < input.start) {
    throw new RangeError(`start and end must be epoch ms with start <= end (got ${input.start}, ${input.end})`);
  }
  if (!(Number.isFinite(periodMs) && periodMs > 0)) throw new RangeError(`periodMs must be a positive number (got ${periodMs})`);
  if (Math.ceil((input.end - input.start) / periodMs) > MAX_PERIODS) {
    throw new RangeError(`[start, end] holds more than ${MAX_PERIODS} periods of ${periodMs} ms: choose a longer periodMs`);
  }
  return periodMs;
}

function sortedPoints(points: readonly EquityPoint[], start: number, end: number): EquityPoint[] {
  const inside = points.filter((p) => p.time >= start && p.time <= end);
  // Array.prototype.sort is stable: points written at the same time keep their order (the last one wins).
  return inside.sort((a, b) => a.time - b.time);
}

/**
 * Equity at the end of each period of `periodMs` from `start`: period k is [start + k·periodMs, start + (k+1)·periodMs),
 * the last one also takes a point at exactly `end`; its value is the last point in it, else the previous period's
 * value (initialCash before the first point). ceil((end - start) / periodMs) values.
 */
export function resampleEquity(points: readonly EquityPoint[], o: { initialCash: number; start: number; end: number; periodMs: number }): number[] {
  const n = Math.ceil((o.end - o.start) / o.periodMs);
  const out: number[] = [];
  let value = o.initialCash;
  let i = 0;
  const sorted = sortedPoints(points, o.start, o.end);
  for (let k = 0; k < n; k++) {
    const bucketEnd = o.start + (k + 1) * o.periodMs;
    while (i < sorted.length && (sorted[i]!.time < bucketEnd || k === n - 1)) value = sorted[i++]!.equity;
    out.push(value);
  }
  return out;
}

/** Simple returns of an equity curve that starts at `initial`: e[0] / initial - 1, e[k] / e[k-1] - 1. */
export function equityReturns(initial: number, equity: readonly number[]): number[] {
  const out: number[] = [];
  let prev = initial;
  for (const e of equity) {
    out.push(e / prev - 1);
    prev = e;
  }
  return out;
}

/** Total length of the union of [from, to] intervals clipped to [start, end]. */
function unionLength(intervals: [number, number][], start: number, end: number): number {
  const clipped = intervals
    .map(([a, b]): [number, number] => [Math.max(a, start), Math.min(b, end)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = Number.NaN;
  let curEnd = Number.NaN;
  for (const [a, b] of clipped) {
    if (Number.isNaN(curEnd) || a > curEnd) {
      if (!Number.isNaN(curEnd)) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else if (b > curEnd) curEnd = b;
  }
  if (!Number.isNaN(curEnd)) total += curEnd - curStart;
  return total;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? Number.NaN : compensatedSum(xs) / xs.length;
}

/**
 * Drawdown spells of an equity curve fed point by point in time order: the one definition of the drawdown's
 * duration, used by {@link performance} and by the live metrics recorder (./recorder.ts). The peak starts at the
 * initial cash at `start`; a point at or above the peak is the new peak (and ends the spell under way); a point
 * below it is under water. A spell lasts from the time of its peak to the first point back at or above it, or to
 * the end of the window if equity never gets back (docs/statistics.md, `maxDrawdownDurationMs`).
 */
export class DrawdownSpells {
  /** highest equity so far (the initial cash included) */
  peak: number;
  /** time of the last point at or above the peak (`start` before any) */
  peakTime: number;
  /** worst equity / peak - 1 over the points fed (non-positive) */
  worst = 0;
  /** longest finished spell (ms) */
  longest = 0;
  /** below the peak now */
  under = false;

  constructor(initial: number, start: number) {
    this.peak = initial;
    this.peakTime = start;
  }

  observe(time: number, equity: number): void {
    if (equity >= this.peak) {
      if (this.under) this.longest = Math.max(this.longest, time - this.peakTime);
      this.under = false;
      this.peak = equity;
      this.peakTime = time;
    } else {
      this.under = true;
      this.worst = Math.min(this.worst, equity / this.peak - 1);
    }
  }

  /** When the spell under way began (the time of its peak); null at a peak. */
  get since(): number | null {
    return this.under ? this.peakTime : null;
  }

  /** The longest spell, the one under way counted until `end`. */
  longestUntil(end: number): number {
    return this.under ? Math.max(this.longest, end - this.peakTime) : this.longest;
  }
}

/** Performance over [start, end] of one equity curve with its trips and fills (see docs/statistics.md). */
export function performance(input: PerformanceInput): Performance {
  const periodMs = checkInput(input);
  const { initialCash, start, end } = input;
  const periodsPerYear = YEAR_MS / periodMs;

  // Returns of the resampled curve.
  const resampled = resampleEquity(input.equity, { initialCash, start, end, periodMs });
  const returns = returnStats(equityReturns(initialCash, resampled), { periodsPerYear, riskFree: input.riskFree, requiredReturn: input.requiredReturn });

  // Drawdowns over every recorded point.
  const points = sortedPoints(input.equity, start, end);
  const spells = new DrawdownSpells(initialCash, start);
  for (const p of points) spells.observe(p.time, p.equity);
  const peak = spells.peak;
  const worst = spells.worst;
  const longest = spells.longestUntil(end);
  const finalEquity = points.length > 0 ? points[points.length - 1]!.equity : initialCash;

  // Round trips.
  const closed = input.trips.filter((t) => t.status === 'CLOSED' && t.closedAt !== null && t.closedAt >= start && t.closedAt <= end);
  const wins = closed.filter((t) => t.netPnl > 0).map((t) => t.netPnl);
  const losses = closed.filter((t) => t.netPnl < 0).map((t) => t.netPnl);
  const grossWin = compensatedSum(wins);
  const grossLoss = 0 - compensatedSum(losses);
  const exposureMs = unionLength(
    input.trips.map((t): [number, number] => [t.openedAt, t.closedAt ?? end]),
    start,
    end,
  );

  // Fills.
  const fills = input.fills.filter((f) => f.time >= start && f.time <= end);
  const tradedNotional = compensatedSum(fills.map((f) => Math.abs(f.price * f.qty)));
  const averageEquity = resampled.length > 0 ? mean(resampled) : initialCash;

  return {
    periodMs,
    periodsPerYear,
    start,
    end,
    returns,
    totalReturn: finalEquity / initialCash - 1,
    netPnl: finalEquity - initialCash,
    finalEquity,
    highWaterMark: peak,
    maxDrawdown: worst,
    maxDrawdownDurationMs: longest,
    currentDrawdown: finalEquity / peak - 1,
    trades: closed.length,
    wins: wins.length,
    losses: losses.length,
    winRate: closed.length > 0 ? wins.length / closed.length : Number.NaN,
    profitFactor: grossWin === 0 && grossLoss === 0 ? Number.NaN : grossWin / grossLoss,
    averageWin: mean(wins),
    averageLoss: mean(losses),
    largestWin: wins.length > 0 ? wins.reduce((a, b) => Math.max(a, b)) : Number.NaN,
    largestLoss: losses.length > 0 ? losses.reduce((a, b) => Math.min(a, b)) : Number.NaN,
    averageHoldMs: mean(closed.map((t) => t.closedAt! - t.openedAt)),
    expectancy: mean(closed.map((t) => t.netPnl)),
    exposure: end > start ? exposureMs / (end - start) : Number.NaN,
    turnover: tradedNotional / averageEquity,
    averageEquity,
    fees: compensatedSum(fills.map((f) => f.fee)),
    tradedNotional,
  };
}

/**
 * The equity curve of a slice of trips that has no curve of its own: initialCash plus the cumulative net P&L of
 * its trips closed in [start, end], one point at each closedAt.
 */
export function realizedEquity(trips: readonly TripLike[], initialCash: number, start: number, end: number): EquityPoint[] {
  const closed = trips
    .filter((t) => t.status === 'CLOSED' && t.closedAt !== null && t.closedAt >= start && t.closedAt <= end)
    .sort((a, b) => a.closedAt! - b.closedAt!);
  const out: EquityPoint[] = [];
  let pnl = 0;
  for (const t of closed) {
    pnl += t.netPnl;
    out.push({ time: t.closedAt!, equity: initialCash + pnl });
  }
  return out;
}

function slices(input: PerformanceInput, key: (x: { symbol: string; strategy: string }) => string): Record<string, Performance> {
  const keys = [...new Set([...input.trips.map(key), ...input.fills.map(key)])].sort();
  const out: Record<string, Performance> = {};
  for (const k of keys) {
    const trips = input.trips.filter((t) => key(t) === k);
    out[k] = performance({
      ...input,
      trips,
      fills: input.fills.filter((f) => key(f) === k),
      equity: realizedEquity(trips, input.initialCash, input.start, input.end),
    });
  }
  return out;
}

/**
 * The session's performance overall (from its equity curve) and per symbol and per strategy version (e.g.
 * `obi@1.2.0`), each slice's curve built from its closed trips by {@link realizedEquity}.
 */
export function sessionPerformance(input: PerformanceInput): { overall: Performance; bySymbol: Record<string, Performance>; byStrategy: Record<string, Performance> } {
  return {
    overall: performance(input),
    bySymbol: slices(input, (x) => x.symbol),
    byStrategy: slices(input, (x) => x.strategy),
  };
}
