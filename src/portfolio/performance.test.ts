import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  annualReturn,
  annualVolatility,
  calmar,
  conditionalValueAtRisk,
  cumulativeReturn,
  downsideRisk,
  equityReturns,
  jsonSafe,
  maxDrawdown,
  omega,
  percentile,
  performance,
  realizedEquity,
  resampleEquity,
  returnStats,
  sessionPerformance,
  sharpe,
  sortino,
  stability,
  tailRatio,
  valueAtRisk,
  type FillLike,
  type PerformanceInput,
  type ReturnStats,
  type Returns,
  type TripLike,
} from './performance.js';

const BTC_4H = fileURLToPath(new URL('../../../shared/data/binance-usdm-rest/4h/BTCUSDT.csv', import.meta.url));

/** NaN must be NaN, ±Infinity exact, anything else equal to a relative 1e-9 (absolute near 0). */
function expectStat(got: number, want: number, what = ''): void {
  if (Number.isNaN(want)) expect(got, what).toBeNaN();
  else if (!Number.isFinite(want)) expect(got, what).toBe(want);
  else expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
}

function expectStats(got: ReturnStats, want: Partial<ReturnStats>): void {
  for (const [k, v] of Object.entries(want)) expectStat(got[k as keyof ReturnStats], v, k);
}

const N = Number.NaN;
const INF = Number.POSITIVE_INFINITY;

describe('returnStats: hand-checked cases (empyrical definitions)', () => {
  it.each<[string, Returns, number, Partial<ReturnStats>]>([
    [
      // cum: 1.1 * 0.9 - 1 = -0.01; years = 2 / 2 = 1 -> annual -0.01
      // mean 0, std(ddof 1) = sqrt((0.01 + 0.01) / 1) = sqrt(0.02); vol = sqrt(0.02) * sqrt(2) = 0.2
      // downside: min(r, 0)^2 = [0, 0.01], mean 0.005 -> sqrt(0.005) * sqrt(2) = 0.1; sortino = 0 * 2 / 0.1 = 0
      // curve 100 -> 110 -> 99: drawdown 99 / 110 - 1 = -0.1; calmar = -0.01 / 0.1 = -0.1
      // omega = 0.1 / 0.1 = 1; percentiles of [-0.1, 0.1]: p95 = -0.1 + 0.95 * 0.2 = 0.09, p5 = -0.09 -> tail 1
      // two points lie on a line: R^2 = 1; VaR = p5 = -0.09; CVaR: floor(1 * 0.05) + 1 = 1 lowest -> -0.1
      'one up, one down',
      [0.1, -0.1],
      2,
      { periods: 2, cumulativeReturn: -0.01, annualReturn: -0.01, annualVolatility: 0.2, sharpe: 0, downsideRisk: 0.1, sortino: 0, maxDrawdown: -0.1, calmar: -0.1, omega: 1, tailRatio: 1, stability: 1, valueAtRisk: -0.09, conditionalValueAtRisk: -0.1 },
    ],
    [
      // a missing period counts in the length (years = 3 / 3 = 1 -> annual -0.01) but not in means:
      // vol = sqrt(0.02) * sqrt(3) = sqrt(0.06); downside = sqrt(mean(0, 0.01) * 3) = sqrt(0.015)
      // VaR is NaN: empyrical's value_at_risk does not skip missing periods; CVaR: floor(2 * 0.05) + 1 = 1 lowest -> -0.1
      'a missing period',
      [null, 0.1, -0.1],
      3,
      { periods: 3, cumulativeReturn: -0.01, annualReturn: -0.01, annualVolatility: Math.sqrt(0.06), sharpe: 0, downsideRisk: Math.sqrt(0.015), sortino: 0, maxDrawdown: -0.1, calmar: -0.1, omega: 1, tailRatio: 1, stability: 1, valueAtRisk: N, conditionalValueAtRisk: -0.1 },
    ],
    [
      // the same two returns without the gap: years = 2 / 3, annual = 0.99 ** 1.5 - 1 = 0.99 * 0.994987437106620 - 1
      'the same without the gap',
      [0.1, -0.1],
      3,
      { annualReturn: -0.014962437264446, calmar: -0.14962437264446 },
    ],
    [
      // cum = 1.01 * 1.02 * 1.03 - 1 = 0.061106 = annual (years 1); mean 0.02, std sqrt((1e-4 + 0 + 1e-4) / 2) = 0.01
      // vol = 0.01 * sqrt(3); sharpe = 0.02 / 0.01 * sqrt(3) = 2 sqrt(3); no downside: sortino = 0.06 / 0 = +Infinity
      // no drawdown -> calmar NaN; nothing below 0 -> omega NaN
      // p95 at index 1.9: 0.02 + 0.9 * 0.01 = 0.029; p5 at 0.1: 0.011 -> tail 0.029 / 0.011; VaR 0.011; CVaR 0.01
      'steady gains: no downside',
      [0.01, 0.02, 0.03],
      3,
      { cumulativeReturn: 0.061106, annualReturn: 0.061106, annualVolatility: 0.01 * Math.sqrt(3), sharpe: 2 * Math.sqrt(3), downsideRisk: 0, sortino: INF, maxDrawdown: 0, calmar: N, omega: N, tailRatio: 0.029 / 0.011, valueAtRisk: 0.011, conditionalValueAtRisk: 0.01 },
    ],
    [
      // one period: years = 1 / 252 -> annual = 1.05 ** 252 - 1; volatility, Sharpe and Sortino need 2 periods;
      // downside risk needs 1 (0 here); tail = 0.05 / 0.05
      'one period',
      [0.05],
      252,
      { periods: 1, cumulativeReturn: 0.05, annualReturn: 1.05 ** 252 - 1, annualVolatility: N, sharpe: N, sortino: N, downsideRisk: 0, maxDrawdown: 0, calmar: N, omega: N, tailRatio: 1, stability: N, valueAtRisk: 0.05, conditionalValueAtRisk: 0.05 },
    ],
    [
      'empty',
      [],
      252,
      { periods: 0, cumulativeReturn: N, annualReturn: N, annualVolatility: N, sharpe: N, sortino: N, downsideRisk: N, maxDrawdown: N, calmar: N, omega: N, tailRatio: N, stability: N, valueAtRisk: N, conditionalValueAtRisk: N },
    ],
    [
      // nothing compounds (nanprod of nothing = 1): cumulative 0, annual 1 ** (252 / 3) - 1 = 0; curve flat at 100
      // means over no value are NaN
      'all missing',
      [null, null, null],
      252,
      { periods: 3, cumulativeReturn: 0, annualReturn: 0, annualVolatility: N, sharpe: N, sortino: N, downsideRisk: N, maxDrawdown: 0, calmar: N, omega: N, tailRatio: N, stability: N, valueAtRisk: N, conditionalValueAtRisk: N },
    ],
    [
      // zero standard deviation: Sharpe 0.01 / 0 = +Infinity (empyrical's numpy division; its own test expects inf)
      // cum = annual (years 1) = 1.01^4 - 1 = 0.04060401
      'constant returns',
      [0.01, 0.01, 0.01, 0.01],
      4,
      { cumulativeReturn: 0.04060401, annualReturn: 0.04060401, annualVolatility: 0, sharpe: INF, downsideRisk: 0, sortino: INF, maxDrawdown: 0, calmar: N, omega: N, tailRatio: 1, valueAtRisk: 0.01, conditionalValueAtRisk: 0.01 },
    ],
    [
      // 0 / 0 everywhere: Sharpe, Sortino and the tail ratio are NaN; a constant cumulative log return has no R^2
      'flat at zero',
      [0, 0, 0],
      252,
      { cumulativeReturn: 0, annualReturn: 0, annualVolatility: 0, sharpe: N, downsideRisk: 0, sortino: N, maxDrawdown: 0, calmar: N, omega: N, tailRatio: N, stability: N, valueAtRisk: 0, conditionalValueAtRisk: 0 },
    ],
    [
      // cum = 0.9 * 0.9 - 1 = -0.19 = annual (years 1); curve 100 -> 90 -> 81: drawdown -0.19; calmar = -0.19 / 0.19 = -1
      // std 0 -> Sharpe -Infinity; downside sqrt(0.01) * sqrt(2) = 0.1 sqrt(2); sortino = -0.1 * 2 / (0.1 sqrt(2)) = -sqrt(2)
      // omega = 0 / 0.2 = 0; two points on a line: R^2 = 1
      'steady losses',
      [-0.1, -0.1],
      2,
      { cumulativeReturn: -0.19, annualReturn: -0.19, annualVolatility: 0, sharpe: -INF, downsideRisk: 0.1 * Math.SQRT2, sortino: -Math.SQRT2, maxDrawdown: -0.19, calmar: -1, omega: 0, tailRatio: 1, stability: 1, valueAtRisk: -0.1, conditionalValueAtRisk: -0.1 },
    ],
    [
      // a total loss in the first period: the starting value is a peak, so the drawdown is -1 (empyrical prepends 100)
      'total loss first',
      [-1, 0.5],
      2,
      { cumulativeReturn: -1, annualReturn: -1, maxDrawdown: -1, calmar: -1 },
    ],
  ])('%s', (_name, returns, periodsPerYear, want) => {
    expectStats(returnStats(returns, { periodsPerYear }), want);
  });

  it('takes riskFree for Sharpe and omega, requiredReturn for Sortino, downside risk and omega (per period)', () => {
    // r = [0.02, 0, 0.04], rf = 0.01: excess [0.01, -0.01, 0.03], mean 0.01, std sqrt((0 + 4e-4 + 4e-4) / 2) = 0.02
    // -> Sharpe = 0.01 / 0.02 * sqrt(3) = 0.5 sqrt(3)
    // required 0.01: min(r - 0.01, 0)^2 = [0, 1e-4, 0] -> downside sqrt(1e-4 / 3) * sqrt(3) = 0.01;
    // sortino = mean(r - 0.01) * 3 / 0.01 = 0.01 * 3 / 0.01 = 3
    // omega with rf 0.01 and required 0.01: x = r - 0.02 = [0, -0.02, 0.02] -> 0.02 / 0.02 = 1
    const s = returnStats([0.02, 0, 0.04], { periodsPerYear: 3, riskFree: 0.01, requiredReturn: 0.01 });
    expectStats(s, { sharpe: 0.5 * Math.sqrt(3), downsideRisk: 0.01, sortino: 3, omega: 1 });
  });

  it('rejects bad options with a RangeError', () => {
    expect(() => returnStats([0.01], { periodsPerYear: 0 })).toThrow(RangeError);
    expect(() => returnStats([0.01], { periodsPerYear: Number.NaN })).toThrow(RangeError);
    expect(() => returnStats([0.01], { periodsPerYear: 252, riskFree: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});

/*
 * Expected values from empyrical's own regression tests (quantopian/empyrical empyrical/tests/test_stats.py; the
 * same fixtures and values in empyrical-reloaded tests/test_stats.py), i.e. computed by empyrical itself, 8 decimals.
 */
describe("returnStats agrees with empyrical's own test values", () => {
  const mixed = [null, 0.01, 0.1, -0.04, 0.02, 0.03, 0.02, 0.01, -0.1];
  const positive = [0.01, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01];
  const negative = [0, -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05];
  const allNegative = [-0.02, -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05];
  const benchmark = [0, 0.01, 0, 0.01, 0, 0.01, 0, 0.01, 0];
  const close = (got: number, want: number): void => {
    if (Number.isNaN(want)) expect(got).toBeNaN();
    else if (!Number.isFinite(want)) expect(got).toBe(want);
    else expect(got).toBeCloseTo(want, 8);
  };

  it.each<[string, () => number, number]>([
    ['annual_return(mixed)', () => annualReturn(mixed, 252), 1.9135925373194231],
    ['annual_volatility(mixed)', () => annualVolatility(mixed, 252), 0.9136465399704637],
    ['calmar_ratio(mixed)', () => calmar(mixed, 252), 19.135925373194233],
    ['calmar_ratio(one return)', () => calmar([0.01], 252), N],
    ['sharpe_ratio(mixed)', () => sharpe(mixed, 252), 1.7238613961706866],
    ['sharpe_ratio(positive)', () => sharpe(positive, 252), 52.915026221291804],
    ['sharpe_ratio(negative)', () => sharpe(negative, 252), -24.406808633910085],
    ['sharpe_ratio(flat line 0.01)', () => sharpe(Array(9).fill(0.01), 252), INF],
    ['sharpe_ratio(one return)', () => sharpe([0.01], 252), N],
    ['downside_risk(mixed, 0)', () => downsideRisk(mixed, 252, 0), 0.60448325038829653],
    ['downside_risk(mixed, 0.1)', () => downsideRisk(mixed, 252, 0.1), 1.7161730681956295],
    ['downside_risk(one return)', () => downsideRisk([0.01], 252), 0],
    ['sortino_ratio(mixed, 0)', () => sortino(mixed, 252, 0), 2.605531251673693],
    ['sortino_ratio(mixed, flat line 0.01)', () => sortino(mixed, 252, 0.01), -1.3934779588919977],
    ['sortino_ratio(positive)', () => sortino(positive, 252), INF],
    ['sortino_ratio(negative)', () => sortino(negative, 252), -13.532743075043401],
    ['sortino_ratio(simple benchmark)', () => sortino(benchmark, 252), INF],
    ['sortino_ratio(one return)', () => sortino([0.01], 252), N],
    ['max_drawdown(mixed)', () => maxDrawdown(mixed), -0.1],
    ['max_drawdown(positive)', () => maxDrawdown(positive), 0],
    ['max_drawdown(one return)', () => maxDrawdown([0.01]), 0],
    ['max_drawdown(negative) = cum_returns_final(negative)', () => maxDrawdown(negative) - cumulativeReturn(negative), 0],
    ['max_drawdown(all negative) = cum_returns_final(all negative)', () => maxDrawdown(allNegative) - cumulativeReturn(allNegative), 0],
    ['max_drawdown([0.1, -0.1, 0.1])', () => maxDrawdown([0.1, -0.1, 0.1]), -0.1],
    ['omega_ratio(mixed, rf 0, required 10 per year, annualization 252)', () => omega(mixed, 0, 10, 252), 0.83354263497557934],
    ['omega_ratio(mixed, required -10 per year)', () => omega(mixed, 0, -10, 252), N],
    ['omega_ratio(mixed, rf 0.01)', () => omega(mixed, 0.01, 0, 252), 0.8125],
    ['omega_ratio(positive, rf 0.01)', () => omega(positive, 0.01, 0, 252), N],
    ['omega_ratio(positive, rf 0.011)', () => omega(positive, 0.011, 0, 252), 1.125],
    ['omega_ratio(positive, rf 0.02)', () => omega(positive, 0.02, 0, 252), 0],
    ['omega_ratio(negative, rf 0.01)', () => omega(negative, 0.01, 0, 252), 0],
    ['stability_of_timeseries(mixed)', () => stability(mixed), 0.1529973665111273],
    ['stability_of_timeseries(one return)', () => stability([0.01]), N],
    ['stability_of_timeseries(flat line 0.01)', () => stability(Array(1000).fill(0.01)), 1],
    ['tail_ratio(one return)', () => tailRatio([0.01]), 1],
    ['cagr(one return)', () => annualReturn([0.01], 252), 11.274002099240244],
    ['cagr(flat line 0.01, 1000 days)', () => annualReturn(Array(1000).fill(0.01), 252), 11.274002099240256],
    ['cagr([0.03, 0.03, 0.03], yearly)', () => annualReturn([0.03, 0.03, 0.03], 1), 0.03],
  ])('%s', (_name, f, want) => close(f(), want));

  it('cum_returns_final(mixed) and (negative), 4 decimals as empyrical tests them', () => {
    expect(cumulativeReturn(mixed)).toBeCloseTo(0.03893, 4);
    expect(cumulativeReturn(negative)).toBeCloseTo(-0.3659, 4);
  });
});

/*
 * Reference values computed once with an independent Python one-off (numpy 2.4 / scipy 1.17, not this code): each
 * statistic written from empyrical's definitions with numpy's nanmean / nanstd(ddof=1) / nanprod / percentile /
 * partition and scipy.stats.linregress; omega with annualization 1 (a per-period threshold). That script also
 * reproduced empyrical's own test values above before these were taken.
 */
const N1: Returns = [0.012, -0.004, 0.0, 0.021, -0.017, null, 0.008, -0.031, 0.015, 0.002];
/** 200 periods with a missing one every 37, built the same way in the Python one-off. */
const N3: Returns = Array.from({ length: 200 }, (_, i) => (i % 37 === 5 ? null : 0.01 * Math.sin(1.7 * i) + 0.0005 * (i % 7) - 0.001));

/** Daily close-to-close returns of Binance USD-M BTCUSDT from the 4h klines (the candle closing at 00:00 UTC). */
function btcDailyReturns(): number[] {
  const lines = readFileSync(BTC_4H, 'utf8').trim().split('\n').slice(1);
  const closes: number[] = [];
  for (const line of lines) {
    const f = line.split(',');
    if ((Number(f[8]) + 1) % 86_400_000 === 0) closes.push(Number(f[4]));
  }
  return closes.slice(1).map((c, i) => c / closes[i]! - 1);
}

describe('returnStats agrees with an independent numpy computation', () => {
  it.each<[string, () => Returns, number, number, number, Partial<ReturnStats>]>([
    [
      'ten daily returns with a gap',
      () => N1,
      252,
      0,
      0,
      { cumulativeReturn: 0.004933175770305054, annualReturn: 0.13202764147156265, annualVolatility: 0.2596343582810257, sharpe: 0.6470638212611232, sortino: 0.8923051780672837, calmar: 3.3128837742317496, downsideRisk: 0.18827639257219692, maxDrawdown: -0.03985278399999999, omega: 1.1153846153846154, tailRatio: 0.732283464566929, stability: 0.13973986472249042, valueAtRisk: N, conditionalValueAtRisk: -0.031 },
    ],
    [
      'the same at 365 periods a year, rf 0.0001, required 0.0005',
      () => N1,
      365,
      0.0001,
      0.0005,
      { cumulativeReturn: 0.004933175770305054, annualReturn: 0.19676039446165472, annualVolatility: 0.31246999855986174, sharpe: 0.6619302150177758, sortino: 0.2630231888582818, calmar: 4.937180661247023, downsideRisk: 0.2312850574027163, maxDrawdown: -0.03985278399999999, omega: 1.0110294117647058, tailRatio: 0.732283464566929, stability: 0.13973986472249042 },
    ],
    [
      '200 weekly returns with gaps, rf 0.0002, required -0.001',
      () => N3,
      52,
      0.0002,
      -0.001,
      { cumulativeReturn: 0.04712882426782028, annualReturn: 0.012045480506787998, annualVolatility: 0.05157124066194362, sharpe: 0.06335883900760846, sortino: 2.177208842772068, calmar: 0.6884878734968317, downsideRisk: 0.030161320606668818, maxDrawdown: -0.0174955594288233, omega: 1.3995451759051842, tailRatio: 1.1196161948877779, stability: 0.9056651404418162, valueAtRisk: N, conditionalValueAtRisk: -0.01031322951680009 },
    ],
    [
      'BTCUSDT daily, 749 real returns (../shared/data), 365 a year',
      btcDailyReturns,
      365,
      0,
      0,
      { periods: 749, cumulativeReturn: 0.13946700081135566, annualReturn: 0.06569197427011164, annualVolatility: 0.4893503529962246, sharpe: 0.37357086330125105, sortino: 0.5535272309375731, calmar: 0.13256216305792404, downsideRisk: 0.3302584292301756, maxDrawdown: -0.49555599240944065, omega: 1.0567473801614613, tailRatio: 1.047282282594023, stability: 0.3595745600648547, valueAtRisk: -0.038927911362310705, conditionalValueAtRisk: -0.055252898027723256 },
    ],
    [
      'BTCUSDT daily at 252 a year, rf 0.0001, required 0.001',
      btcDailyReturns,
      252,
      0.0001,
      0.001,
      { cumulativeReturn: 0.13946700081135566, annualReturn: 0.04490600518588406, annualVolatility: 0.40660596364558826, sharpe: 0.2484271962276831, sortino: -0.44506343608645665, calmar: 0.09061741937080967, downsideRisk: 0.28262941927594376, maxDrawdown: -0.49555599240944065, omega: 0.9361853421242109, tailRatio: 1.047282282594023, stability: 0.3595745600648547 },
    ],
  ])('%s', (_name, series, periodsPerYear, riskFree, requiredReturn, want) => {
    expectStats(returnStats(series(), { periodsPerYear, riskFree, requiredReturn }), want);
  });

  it('the real series is the expected one (first and last daily return)', () => {
    const r = btcDailyReturns();
    // first: 2024-02-29 close over 2024-02-28 close; last: 2026-03-19 over 2026-03-18 (values from the Python one-off)
    expectStat(r[0]!, -0.020557579947477755);
    expectStat(r[r.length - 1]!, -0.036136635604095746);
  });
});

describe('percentile (numpy linear)', () => {
  it.each<[number[], number, number]>([
    // index (n - 1) * q / 100; [1, 2, 3, 4] at 50 %: index 1.5 -> 2.5
    [[4, 1, 3, 2], 50, 2.5],
    [[1, 2, 3, 4], 0, 1],
    [[1, 2, 3, 4], 100, 4],
    // index 3 * 0.1 = 0.3 -> 1 + 0.3 * 1 = 1.3
    [[1, 2, 3, 4], 10, 1.3],
    [[7], 95, 7],
    [[], 50, N],
    [[1, Number.NaN], 50, N],
  ])('percentile(%j, %d) = %d', (xs, q, want) => expectStat(percentile(xs, q), want));

  it('valueAtRisk and conditionalValueAtRisk take a cutoff', () => {
    const r = [0.03, -0.05, 0.01, 0.04, -0.02];
    // 25th percentile: index 4 * 0.25 = 1 of [-0.05, -0.02, 0.01, 0.03, 0.04] -> -0.02
    expectStat(valueAtRisk(r, 0.25), -0.02);
    // floor(4 * 0.25) + 1 = 2 lowest: (-0.05 - 0.02) / 2
    expectStat(conditionalValueAtRisk(r, 0.25), -0.035);
    // a missing period: VaR NaN (numpy's percentile of a NaN); CVaR sorts it last: floor(2 * 0.5) + 1 = 2 lowest of [-0.05, 0.01, NaN]
    expectStat(valueAtRisk([null, -0.05, 0.01], 0.5), N);
    expectStat(conditionalValueAtRisk([null, -0.05, 0.01], 0.5), -0.02);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const ret = fc.double({ min: -0.5, max: 0.5, noNaN: true, noDefaultInfinity: true });
const series = fc.array(fc.oneof({ weight: 5, arbitrary: ret }, { weight: 1, arbitrary: fc.constant(null) }), { minLength: 2, maxLength: 60 });

function near(a: number, b: number, tol = 1e-9): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
}

describe('returnStats properties', () => {
  it('maxDrawdown lies in [-1, 0]; calmar is NaN without a drawdown and has the sign of annualReturn otherwise', () => {
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 525_600 }), (r, ppy) => {
        const dd = maxDrawdown(r);
        expect(dd).toBeGreaterThanOrEqual(-1);
        expect(dd).toBeLessThanOrEqual(0);
        const c = calmar(r, ppy);
        const a = annualReturn(r, ppy);
        if (dd === 0) expect(c).toBeNaN();
        else if (Number.isFinite(a) && Number.isFinite(c) && a !== 0) expect(Math.sign(c)).toBe(Math.sign(a));
      }),
    );
  });

  it('a missing period is a 0 % return for compounding and the length, and is skipped by means and deviations', () => {
    fc.assert(
      fc.property(series, fc.nat(), (r, at) => {
        const i = at % (r.length + 1);
        const withNull = [...r.slice(0, i), null, ...r.slice(i)];
        const withZero = [...r.slice(0, i), 0, ...r.slice(i)];
        const ppy = 252;
        // compounding and length: exactly as a 0 % period
        expect(cumulativeReturn(withNull)).toBe(cumulativeReturn(withZero));
        expect(annualReturn(withNull, ppy)).toBe(annualReturn(withZero, ppy));
        expect(maxDrawdown(withNull)).toBe(maxDrawdown(withZero));
        // means and deviations: as if the period were not there (r has >= 2 periods, so no length gate changes)
        expect(Object.is(annualVolatility(withNull, ppy), annualVolatility(r, ppy))).toBe(true);
        expect(Object.is(sharpe(withNull, ppy, 0.001), sharpe(r, ppy, 0.001))).toBe(true);
        expect(Object.is(downsideRisk(withNull, ppy, 0.001), downsideRisk(r, ppy, 0.001))).toBe(true);
        expect(Object.is(sortino(withNull, ppy, 0.001), sortino(r, ppy, 0.001))).toBe(true);
        expect(Object.is(omega(withNull, 0.001), omega(r, 0.001))).toBe(true);
        expect(Object.is(tailRatio(withNull), tailRatio(r))).toBe(true);
        expect(Object.is(stability(withNull), stability(r))).toBe(true);
      }),
    );
  });

  it('scaling returns by k > 0 scales volatility and downside risk by k and leaves Sharpe and Sortino unchanged', () => {
    fc.assert(
      fc.property(series, fc.double({ min: 0.1, max: 1.9, noNaN: true }), (r, k) => {
        const scaled = r.map((x) => (x === null ? null : k * x));
        const ppy = 365;
        expect(near(annualVolatility(scaled, ppy), k * annualVolatility(r, ppy), 1e-8)).toBe(true);
        expect(near(downsideRisk(scaled, ppy), k * downsideRisk(r, ppy), 1e-8)).toBe(true);
        const xs = r.filter((x): x is number => x !== null);
        const spread = xs.length > 0 ? Math.max(...xs) - Math.min(...xs) : 0;
        if (spread > 1e-6) expect(near(sharpe(scaled, ppy), sharpe(r, ppy), 1e-7)).toBe(true);
        if (downsideRisk(r, ppy) > 1e-6) expect(near(sortino(scaled, ppy), sortino(r, ppy), 1e-7)).toBe(true);
      }),
    );
  });

  it('shifting returns and the risk-free rate together leaves Sharpe unchanged; a higher risk-free rate lowers it', () => {
    fc.assert(
      fc.property(series, fc.double({ min: -0.01, max: 0.01, noNaN: true }), (r, c) => {
        const xs = r.filter((x): x is number => x !== null);
        if (xs.length < 2 || Math.max(...xs) - Math.min(...xs) < 1e-4) return;
        const shifted = r.map((x) => (x === null ? null : x + c));
        expect(near(sharpe(shifted, 252, 0.001 + c), sharpe(r, 252, 0.001), 1e-6)).toBe(true);
        expect(sharpe(r, 252, 0.002)).toBeLessThan(sharpe(r, 252, 0.001));
      }),
    );
  });

  it('annualReturn compounds back to cumulativeReturn over n / periodsPerYear years', () => {
    fc.assert(
      fc.property(series, fc.integer({ min: 1, max: 1000 }), (r, ppy) => {
        const a = annualReturn(r, ppy);
        const c = cumulativeReturn(r);
        // (only where 1 + a keeps its precision: annualizing a few periods can take it to 1e-12 or 1e12)
        if (c > -0.999 && 1 + a > 1e-3 && 1 + a < 1e3) expect(near((1 + a) ** (r.length / ppy), 1 + c, 1e-7)).toBe(true);
      }),
    );
  });

  it('omega does not rise with the threshold', () => {
    fc.assert(
      fc.property(series, fc.double({ min: -0.05, max: 0.05, noNaN: true }), fc.double({ min: 0, max: 0.05, noNaN: true }), (r, t, d) => {
        const lo = omega(r, 0, t);
        const hi = omega(r, 0, t + d);
        if (Number.isFinite(lo) && Number.isFinite(hi)) expect(hi).toBeLessThanOrEqual(lo * (1 + 1e-12));
      }),
    );
  });
});

describe('jsonSafe', () => {
  it('replaces NaN and ±Infinity by null in nested plain objects and arrays, and keeps everything else', () => {
    const date = new Date(0);
    const out = jsonSafe({ a: Number.NaN, b: [Number.POSITIVE_INFINITY, 1, { c: Number.NEGATIVE_INFINITY, d: -0.5 }], e: 'x', f: null, g: true, h: date });
    expect(out).toEqual({ a: null, b: [null, 1, { c: null, d: -0.5 }], e: 'x', f: null, g: true, h: date });
    expect((out as { h: unknown }).h).toBe(date);
    expect(jsonSafe(Number.NaN)).toBeNull();
    expect(JSON.stringify(jsonSafe(returnStats([0.01, 0.02], { periodsPerYear: 252 })))).toContain('"sortino":null');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Session performance

const T0 = Date.UTC(2024, 7, 8, 0, 0, 0);
const s = (sec: number): number => T0 + sec * 1000;

function trip(p: Partial<TripLike> & Pick<TripLike, 'symbol' | 'strategy' | 'openedAt'>): TripLike {
  return { venue: 'binance-spot', status: 'CLOSED', qty: 1, entryPrice: 100, exitPrice: 100, closedAt: null, realizedPnl: 0, fees: 0, netPnl: 0, ...p };
}

/*
 * A 5-minute session, 1-minute periods, 1000 cash:
 *   equity 1010 at 30 s, 990 at 90 s, 1000 at 100 s, 1020 at 250 s
 *   A BTCUSDT obi@1.0.0      10 s -> 80 s   buy 2 @ 100, sell 2 @ 108: realized 16, fees 1, net +15
 *   B ETHUSDT obi@1.0.0      70 s -> 200 s  buy 4 @ 50, sell 4 @ 49:   realized -4, fees 1, net -5
 *   C BTCUSDT anomaly@2.0.0  230 s -> open  buy 1 @ 110, fee 0.5
 */
const TRIPS: TripLike[] = [
  trip({ symbol: 'BTCUSDT', strategy: 'obi@1.0.0', qty: 2, entryPrice: 100, exitPrice: 108, openedAt: s(10), closedAt: s(80), realizedPnl: 16, fees: 1, netPnl: 15 }),
  trip({ symbol: 'ETHUSDT', strategy: 'obi@1.0.0', qty: 4, entryPrice: 50, exitPrice: 49, openedAt: s(70), closedAt: s(200), realizedPnl: -4, fees: 1, netPnl: -5 }),
  trip({ symbol: 'BTCUSDT', strategy: 'anomaly@2.0.0', status: 'OPEN', qty: 1, entryPrice: 110, exitPrice: null, openedAt: s(230), closedAt: null, fees: 0.5, netPnl: -0.5 }),
];
const FILLS: FillLike[] = [
  { symbol: 'BTCUSDT', strategy: 'obi@1.0.0', price: 100, qty: 2, fee: 0.5, time: s(10) },
  { symbol: 'ETHUSDT', strategy: 'obi@1.0.0', price: 50, qty: 4, fee: 0.5, time: s(70) },
  { symbol: 'BTCUSDT', strategy: 'obi@1.0.0', price: 108, qty: -2, fee: 0.5, time: s(80) },
  { symbol: 'ETHUSDT', strategy: 'obi@1.0.0', price: 49, qty: -4, fee: 0.5, time: s(200) },
  { symbol: 'BTCUSDT', strategy: 'anomaly@2.0.0', price: 110, qty: 1, fee: 0.5, time: s(230) },
];
const SESSION: PerformanceInput = {
  initialCash: 1000,
  // deliberately out of order
  equity: [
    { time: s(250), equity: 1020 },
    { time: s(30), equity: 1010 },
    { time: s(90), equity: 990 },
    { time: s(100), equity: 1000 },
  ],
  trips: TRIPS,
  fills: FILLS,
  start: T0,
  end: s(300),
};

describe('resampleEquity', () => {
  it('takes the last value per period, carries it over empty periods, starts at initialCash', () => {
    // periods [0,60) [60,120) [120,180) [180,240) [240,300]: 1010 | 990,1000 -> 1000 | - | - | 1020
    expect(resampleEquity(SESSION.equity, { initialCash: 1000, start: T0, end: s(300), periodMs: 60_000 })).toEqual([1010, 1000, 1000, 1000, 1020]);
    // nothing in the first period -> initialCash; a point on a boundary opens the next period; one at `end` is in the last
    // one before start and one after end are ignored
    const pts = [
      { time: s(-5), equity: 1 },
      { time: s(60), equity: 1005 },
      { time: s(120), equity: 1007 },
      { time: s(121), equity: 2 },
    ];
    expect(resampleEquity(pts, { initialCash: 1000, start: T0, end: s(120), periodMs: 60_000 })).toEqual([1000, 1007]);
    // a partial last period: ceil(150 / 60) = 3 periods
    expect(resampleEquity([], { initialCash: 5, start: T0, end: s(150), periodMs: 60_000 })).toEqual([5, 5, 5]);
    expect(resampleEquity([], { initialCash: 5, start: T0, end: T0, periodMs: 60_000 })).toEqual([]);
  });

  it('equityReturns starts from the initial value', () => {
    expect(equityReturns(100, [110, 99])).toEqual([110 / 100 - 1, 99 / 110 - 1]);
  });
});

describe('performance', () => {
  it('computes the hand-checked session', () => {
    const p = performance(SESSION);
    expect(p.periodMs).toBe(60_000);
    expect(p.periodsPerYear).toBe(525_600);
    // resampled returns: 1010/1000-1, 1000/1010-1, 0, 0, 1020/1000-1
    expect(p.returns.periods).toBe(5);
    expectStat(p.returns.cumulativeReturn, 0.02);
    // the resampled curve never shows 990: its drawdown is 1000/1010 - 1
    expectStat(p.returns.maxDrawdown, 1000 / 1010 - 1);
    expectStat(p.returns.sharpe, sharpe([0.01, 1000 / 1010 - 1, 0, 0, 0.02], 525_600));
    // every recorded point: peak 1010 at 30 s, trough 990 -> 990/1010 - 1; back above at 250 s -> 220 s under water
    expectStat(p.maxDrawdown, 990 / 1010 - 1);
    expect(p.maxDrawdownDurationMs).toBe(220_000);
    expect(p.highWaterMark).toBe(1020);
    expect(p.currentDrawdown).toBe(0);
    expect(p.finalEquity).toBe(1020);
    expectStat(p.totalReturn, 0.02);
    expect(p.netPnl).toBe(20);
    // trips closed in the window: A (+15), B (-5)
    expect(p).toMatchObject({ trades: 2, wins: 1, losses: 1, winRate: 0.5, profitFactor: 3, averageWin: 15, averageLoss: -5, largestWin: 15, largestLoss: -5, expectancy: 5 });
    // holds 70 s and 130 s
    expect(p.averageHoldMs).toBe(100_000);
    // positions open over [10, 200] and [230, 300]: 260 of 300 s
    expectStat(p.exposure, 260 / 300);
    // notional 200 + 200 + 216 + 196 + 110 = 922; fees 5 x 0.5; average equity (1010 + 1000 * 3 + 1020) / 5 = 1006
    expectStat(p.tradedNotional, 922);
    expectStat(p.fees, 2.5);
    expectStat(p.averageEquity, 1006);
    expectStat(p.turnover, 922 / 1006);
  });

  it('slices per symbol and per strategy version, each on the equity of its closed trips', () => {
    const { overall, bySymbol, byStrategy } = sessionPerformance(SESSION);
    expect(overall.netPnl).toBe(20);
    expect(Object.keys(bySymbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(Object.keys(byStrategy)).toEqual(['anomaly@2.0.0', 'obi@1.0.0']);

    // BTCUSDT: A closes at 80 s -> 1015; C is still open (its fee is not in the realized curve, but in `fees`)
    const btc = bySymbol['BTCUSDT']!;
    expect(btc).toMatchObject({ trades: 1, wins: 1, losses: 0, netPnl: 15, finalEquity: 1015, highWaterMark: 1015, maxDrawdown: 0, profitFactor: Number.POSITIVE_INFINITY });
    expectStat(btc.exposure, 140 / 300);
    expectStat(btc.fees, 1.5);
    expectStat(btc.tradedNotional, 200 + 216 + 110);
    expectStat(btc.averageEquity, (1000 + 4 * 1015) / 5);
    expectStat(btc.returns.cumulativeReturn, 0.015);
    expect(btc.returns.sortino).toBe(Number.POSITIVE_INFINITY);

    // ETHUSDT: B closes at 200 s -> 995, never recovered: under water from start to end
    const eth = bySymbol['ETHUSDT']!;
    expect(eth).toMatchObject({ trades: 1, wins: 0, losses: 1, winRate: 0, profitFactor: 0, netPnl: -5, maxDrawdownDurationMs: 300_000 });
    expectStat(eth.maxDrawdown, -0.005);
    expectStat(eth.currentDrawdown, -0.005);

    // obi@1.0.0: 1015 at 80 s, 1010 at 200 s
    const obi = byStrategy['obi@1.0.0']!;
    expect(obi).toMatchObject({ trades: 2, netPnl: 10, maxDrawdownDurationMs: 220_000 });
    expectStat(obi.maxDrawdown, 1010 / 1015 - 1);
    expectStat(obi.exposure, 190 / 300);

    // anomaly@2.0.0: only an open trip
    const anomaly = byStrategy['anomaly@2.0.0']!;
    expect(anomaly.trades).toBe(0);
    expect(anomaly.netPnl).toBe(0);
    for (const k of ['winRate', 'profitFactor', 'expectancy', 'averageWin', 'averageLoss', 'largestWin', 'largestLoss', 'averageHoldMs'] as const) expect(anomaly[k], k).toBeNaN();
    expectStat(anomaly.exposure, 70 / 300);
    expectStat(anomaly.fees, 0.5);
    expect(jsonSafe(anomaly)).toMatchObject({ winRate: null, profitFactor: null, exposure: 70 / 300 });
  });

  it('realizedEquity accumulates net P&L of trips closed in the window, in closing order', () => {
    const late = trip({ symbol: 'X', strategy: 'y', openedAt: s(0), closedAt: s(400), netPnl: 100 });
    expect(realizedEquity([TRIPS[1]!, TRIPS[0]!, TRIPS[2]!, late], 1000, T0, s(300))).toEqual([
      { time: s(80), equity: 1015 },
      { time: s(200), equity: 1010 },
    ]);
  });

  it('handles an empty session and rejects bad input', () => {
    const p = performance({ initialCash: 100, equity: [], trips: [], fills: [], start: T0, end: T0 });
    expect(p.returns.periods).toBe(0);
    expect(p.exposure).toBeNaN();
    expect(p).toMatchObject({ netPnl: 0, maxDrawdown: 0, maxDrawdownDurationMs: 0, trades: 0, turnover: 0, averageEquity: 100 });
    const base = { equity: [], trips: [], fills: [], start: T0, end: s(60) };
    expect(() => performance({ ...base, initialCash: 0 })).toThrow(RangeError);
    expect(() => performance({ ...base, initialCash: 1, start: s(61) })).toThrow(RangeError);
    expect(() => performance({ ...base, initialCash: 1, periodMs: 0 })).toThrow(RangeError);
    expect(() => performance({ ...base, initialCash: 1, end: T0 + 365 * 86_400_000 * 100, periodMs: 1000 })).toThrow(/more than/);
  });

  it('properties: the recorded drawdown is at least as deep as the resampled one; returns compound to the final equity', () => {
    const point = fc.record({ time: fc.integer({ min: 0, max: 3_600_000 }), equity: fc.double({ min: 500, max: 1500, noNaN: true }) });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 40 }), fc.integer({ min: 1000, max: 600_000 }), (pts, periodMs) => {
        const p = performance({ initialCash: 1000, equity: pts.map((q) => ({ time: T0 + q.time, equity: q.equity })), trips: [], fills: [], start: T0, end: T0 + 3_600_000, periodMs });
        expect(p.maxDrawdown).toBeLessThanOrEqual(p.returns.maxDrawdown + 1e-12);
        expect(p.currentDrawdown).toBeLessThanOrEqual(0);
        expect(p.highWaterMark).toBeGreaterThanOrEqual(Math.max(1000, p.finalEquity));
        expect(near((1 + p.returns.cumulativeReturn) * 1000, p.finalEquity, 1e-9)).toBe(true);
        expect(p.maxDrawdownDurationMs).toBeLessThanOrEqual(3_600_000);
      }),
    );
  });

  it('property: exposure is the covered fraction of the window, within [0, 1]', () => {
    const iv = fc.tuple(fc.integer({ min: -100, max: 1100 }), fc.option(fc.integer({ min: 0, max: 1200 }), { nil: null }));
    fc.assert(
      fc.property(fc.array(iv, { maxLength: 12 }), (ivs) => {
        const trips = ivs.map(([a, len]) => trip({ symbol: 'S', strategy: 'x@1', openedAt: T0 + a, closedAt: len === null ? null : T0 + a + len, status: len === null ? 'OPEN' : 'CLOSED' }));
        const p = performance({ initialCash: 1, equity: [], trips, fills: [], start: T0, end: T0 + 1000, periodMs: 100 });
        // brute force: count covered milliseconds
        let covered = 0;
        for (let t = 0; t < 1000; t++) if (trips.some((x) => x.openedAt <= T0 + t && T0 + t + 1 <= (x.closedAt ?? T0 + 1000))) covered++;
        expect(p.exposure).toBeCloseTo(covered / 1000, 12);
      }),
    );
  });
});
