/**
 * Probabilistic and Deflated Sharpe ratios. Pure functions over per-period return series.
 *
 * References:
 * - D. H. Bailey, M. López de Prado, "The Sharpe Ratio Efficient Frontier", Journal of Risk 15(2), 2012
 *   (Probabilistic Sharpe Ratio, PSR).
 * - D. H. Bailey, M. López de Prado, "The Deflated Sharpe Ratio: Correcting for Selection Bias, Backtest
 *   Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014 (DSR).
 *
 * Conventions:
 * - Every Sharpe ratio here is per period (NOT annualized): mean / standard deviation of the returns as
 *   sampled (e.g. 1-minute returns). Annualizing before calling would inflate √(n − 1)·SR and saturate the
 *   probabilities; divide an annualized value by √(periods per year) first.
 * - Kurtosis is the non-excess (Pearson) kurtosis, as in the papers: 3 for normal returns.
 * - Skewness and kurtosis are the moment estimators m3 / m2^1.5 and m4 / m2² with population central moments
 *   m_k = Σ(x − mean)^k / n (as the papers' reference code computes them); the standard deviation used for the
 *   Sharpe ratio is the sample one (ddof = 1), as in `stats.ts`.
 *
 * Failure policy:
 * - A return series holding a non-finite value (NaN, ±Infinity) throws a RangeError naming the index: bad data
 *   must not silently turn into a probability.
 * - Structurally invalid parameters (trials not a positive integer, negative variance, series of different
 *   lengths) throw a RangeError.
 * - Valid inputs on which the statistic is undefined (fewer than 2 returns, zero return variance, a
 *   non-positive variance term, NaN scalar inputs) give NaN, as `stats.ts` does for the Sharpe ratio.
 */

/** Euler–Mascheroni constant γ. */
export const EULER_MASCHERONI = 0.5772156649015329;

const SQRT2 = Math.SQRT2;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const ONE_OVER_SQRT_PI = 1 / Math.sqrt(Math.PI);

// ---------------------------------------------------------------------------------------------------------
// Standard normal distribution
// ---------------------------------------------------------------------------------------------------------

/**
 * erf(x) for 0 ≤ x, from the everywhere-positive series
 * erf(x) = 2/√π · e^(−x²) · Σ_{k≥0} (2x²)^k · x / (1·3·5···(2k+1)), which has no cancellation.
 * Used for small x only (x < ERFC_SWITCH), where it converges in a few dozen terms and 1 − erf(x) keeps
 * its precision.
 */
function erfSeries(x: number): number {
  const twoX2 = 2 * x * x;
  let term = x;
  let sum = x;
  for (let k = 1; k < 200; k++) {
    term *= twoX2 / (2 * k + 1);
    sum += term;
    if (term <= sum * 1e-17) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

/**
 * erfc(x) for x ≥ ERFC_SWITCH from its continued fraction
 * erfc(x) = e^(−x²)/√π · 1 / (x + (1/2) / (x + (2/2) / (x + (3/2) / (x + …)))),
 * evaluated with the modified Lentz method. Accurate in relative terms far into the tail.
 */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 5000; k++) {
    const a = k / 2;
    d = x + a * d;
    if (Math.abs(d) < tiny) d = tiny;
    d = 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

// Where the two meet (relative error against Python's math.erfc, x in steps of 0.001): the series' 1 − erf
// loses digits as erfc gets small (1.6e-12 at x in [2, 2.5), which let Φ⁻¹ miss 1e-12 round trips near
// z = −3.5), the continued fraction converges slowly near 0 (839 iterations at x = 0.5); at 1 both are
// within 5e-15 of it on their side (the fraction in at most 228 iterations).
const ERFC_SWITCH = 1;

/** Complementary error function erfc(x) = 1 − erf(x); relative accuracy ~1e-13 or better in both tails. */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x === Number.POSITIVE_INFINITY) return 0;
  return x < ERFC_SWITCH ? 1 - erfSeries(x) : erfcContinuedFraction(x);
}

/**
 * Standard normal CDF Φ(z) = erfc(−z/√2) / 2, computed from the tail that is small so that both
 * Φ(−8) and 1 − Φ(8) keep their relative precision on the small side. Φ(±∞) = 1 / 0; NaN → NaN.
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  return z <= 0 ? 0.5 * erfc(-z / SQRT2) : 1 - 0.5 * erfc(z / SQRT2);
}

// P. J. Acklam's rational approximations of the normal quantile (relative error < 1.15e-9 before refinement).
const ACKLAM_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239] as const;
const ACKLAM_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1] as const;
const ACKLAM_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783] as const;
const ACKLAM_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const ACKLAM_P_LOW = 0.02425;

/** Acklam's quantile for 0 < p ≤ 0.5 (lower half; the upper half follows by symmetry). */
function acklamLower(p: number): number {
  if (p < ACKLAM_P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    const [c0, c1, c2, c3, c4, c5] = ACKLAM_C;
    const [d0, d1, d2, d3] = ACKLAM_D;
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  const [a0, a1, a2, a3, a4, a5] = ACKLAM_A;
  const [b0, b1, b2, b3, b4] = ACKLAM_B;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/**
 * Standard normal quantile Φ⁻¹(p): Acklam's algorithm followed by one Halley step against `normalCdf`,
 * which brings it to near machine precision. Works on the smaller tail (1 − p is exact for p ≥ 0.5), so
 * Φ⁻¹(1 − 1e-12) is as accurate as Φ⁻¹(1e-12). Φ⁻¹(0) = −∞, Φ⁻¹(1) = +∞; NaN or p outside [0, 1] → NaN.
 */
export function normalInv(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p > 0.5) return -normalInv(1 - p);
  let x = acklamLower(p);
  // Halley refinement of Φ(x) − p = 0; Φ(x) is accurate in relative terms in this (lower) half.
  const e = normalCdf(x) - p;
  const u = e * SQRT_2PI * Math.exp((x * x) / 2);
  x -= u / (1 + (x * u) / 2);
  return x;
}

// ---------------------------------------------------------------------------------------------------------
// Moments and Sharpe ratio of a return series
// ---------------------------------------------------------------------------------------------------------

export interface SampleMoments {
  /** number of returns */
  n: number;
  /** arithmetic mean; NaN without returns */
  mean: number;
  /** sample standard deviation (ddof = 1); NaN with fewer than 2 returns */
  std: number;
  /** m3 / m2^1.5 with population central moments; NaN with fewer than 2 returns or zero variance */
  skew: number;
  /** non-excess kurtosis m4 / m2² (normal = 3); NaN with fewer than 2 returns or zero variance */
  kurtosis: number;
}

function assertFinite(returns: ArrayLike<number>, what: string): void {
  for (let i = 0; i < returns.length; i++) {
    if (!Number.isFinite(returns[i]!)) throw new RangeError(`${what}: non-finite return ${returns[i]} at index ${i}`);
  }
}

/**
 * n, mean, sample standard deviation, skewness and (non-excess) kurtosis of a return series.
 * Throws a RangeError if any value is non-finite. See the module comment for the estimators.
 */
export function sampleMoments(returns: ArrayLike<number>): SampleMoments {
  assertFinite(returns, 'sampleMoments');
  const n = returns.length;
  if (n === 0) return { n, mean: Number.NaN, std: Number.NaN, skew: Number.NaN, kurtosis: Number.NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += returns[i]!;
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = returns[i]! - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  if (n < 2) return { n, mean, std: Number.NaN, skew: Number.NaN, kurtosis: Number.NaN };
  const std = Math.sqrt(m2 / (n - 1));
  m2 /= n;
  m3 /= n;
  m4 /= n;
  // Exactly constant series give m2 = 0; a tiny positive m2 from rounding still yields finite ratios.
  if (!(m2 > 0)) return { n, mean, std, skew: Number.NaN, kurtosis: Number.NaN };
  return { n, mean, std, skew: m3 / m2 ** 1.5, kurtosis: m4 / (m2 * m2) };
}

/**
 * Per-period (non-annualized) Sharpe ratio mean / std (ddof = 1), no risk-free rate (pass excess returns if
 * one applies). NaN with fewer than 2 returns or a zero standard deviation; throws on non-finite values.
 */
export function sharpeOf(returns: ArrayLike<number>): number {
  const { n, mean, std } = sampleMoments(returns);
  if (n < 2 || !(std > 0)) return Number.NaN;
  return mean / std;
}

// ---------------------------------------------------------------------------------------------------------
// PSR, expected maximum Sharpe, DSR
// ---------------------------------------------------------------------------------------------------------

export interface SharpeEstimate {
  /** observed per-period Sharpe ratio */
  sr: number;
  /** number of returns it was estimated from */
  n: number;
  /** skewness of those returns */
  skew: number;
  /** non-excess kurtosis of those returns (normal = 3) */
  kurtosis: number;
}

/**
 * Standard error of an estimated per-period Sharpe ratio under non-normal IID returns (the PSR denominator):
 * √((1 − γ3·SR + (γ4 − 1)/4·SR²) / (n − 1)). For normal returns (γ3 = 0, γ4 = 3) this is Lo's √((1 + SR²/2)/(n − 1)).
 * NaN when n < 2, on NaN inputs, or when the variance term is not positive.
 */
export function sharpeStdError({ sr, n, skew, kurtosis }: SharpeEstimate): number {
  if (!(n >= 2)) return Number.NaN;
  const v = 1 - skew * sr + ((kurtosis - 1) / 4) * sr * sr;
  if (!(v > 0) || !Number.isFinite(v)) return Number.NaN;
  return Math.sqrt(v / (n - 1));
}

export interface PsrInput extends SharpeEstimate {
  /** benchmark per-period Sharpe ratio SR* */
  srBenchmark: number;
}

/**
 * Probabilistic Sharpe Ratio (Bailey & López de Prado 2012): the probability that the true Sharpe ratio
 * exceeds `srBenchmark`, given the observed one:
 * PSR = Φ((SR − SR*)·√(n − 1) / √(1 − γ3·SR + (γ4 − 1)/4·SR²)). All Sharpe ratios per period.
 * NaN when not computable (n < 2, NaN inputs, non-positive variance term).
 */
export function probabilisticSharpeRatio({ sr, srBenchmark, n, skew, kurtosis }: PsrInput): number {
  const se = sharpeStdError({ sr, n, skew, kurtosis });
  const z = (sr - srBenchmark) / se;
  return normalCdf(z);
}

export interface ExpectedMaxInput {
  /** number of independent trials N (a positive integer) */
  trials: number;
  /** variance V of the per-period Sharpe ratios across the trials */
  variance: number;
}

/**
 * Expected maximum of N per-period Sharpe ratio estimates whose true value is 0, with cross-trial variance V
 * (Bailey & López de Prado 2014, via the expected maximum of N standard normals):
 * E[max SR_n] ≈ √V · ((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), γ the Euler–Mascheroni constant.
 * N = 1 gives 0 whatever V (a single trial has no selection bias; the approximation itself diverges there).
 * Throws a RangeError when `trials` is not a positive integer or `variance` is negative or infinite; a NaN
 * variance (not computable) gives NaN for N > 1.
 */
export function expectedMaxSharpe({ trials, variance }: ExpectedMaxInput): number {
  if (!Number.isInteger(trials) || trials < 1) throw new RangeError(`expectedMaxSharpe: trials must be a positive integer, got ${trials}`);
  if (variance < 0 || variance === Number.POSITIVE_INFINITY) throw new RangeError(`expectedMaxSharpe: variance must be finite and >= 0, got ${variance}`);
  if (trials === 1) return 0;
  if (Number.isNaN(variance)) return Number.NaN;
  const g = EULER_MASCHERONI;
  const z = (1 - g) * normalInv(1 - 1 / trials) + g * normalInv(1 - 1 / (trials * Math.E));
  return Math.sqrt(variance) * z;
}

export interface DsrInput extends SharpeEstimate {
  /** number of independent trials N the candidate was selected from (the candidate included) */
  trials: number;
  /** variance V of the per-period Sharpe ratios across those trials */
  srVariance: number;
}

/**
 * Deflated Sharpe Ratio (Bailey & López de Prado 2014): the PSR of the selected strategy against the
 * expected maximum Sharpe ratio of `trials` skill-less trials, i.e. the probability that its true Sharpe
 * ratio is positive once selection among the trials is accounted for. Same NaN/RangeError policy as
 * `probabilisticSharpeRatio` and `expectedMaxSharpe`.
 */
export function deflatedSharpeRatio({ sr, n, skew, kurtosis, trials, srVariance }: DsrInput): number {
  const srBenchmark = expectedMaxSharpe({ trials, variance: srVariance });
  return probabilisticSharpeRatio({ sr, srBenchmark, n, skew, kurtosis });
}

// ---------------------------------------------------------------------------------------------------------
// Convenience
// ---------------------------------------------------------------------------------------------------------

export interface StrategyComparison {
  /** PSR of the candidate against the reference's observed Sharpe ratio as the (fixed) benchmark SR* */
  psrVsReference: number;
  /** DSR of the candidate given every trial in `allTrials` */
  dsr: number;
  /** the candidate's per-period Sharpe ratio */
  sr: number;
  /** number of candidate returns */
  n: number;
  /** the reference's per-period Sharpe ratio (the PSR benchmark) */
  referenceSr: number;
  /** the DSR benchmark: expected maximum per-period Sharpe ratio of the trials */
  expectedMaxSr: number;
}

/**
 * Compares a candidate strategy with a reference strategy and deflates it for the search that found it.
 *
 * All series are per-period simple returns aligned on the same periods (e.g. the 1-minute equity returns
 * of strategies run side by side, see `periodReturns`), hence of equal length (RangeError otherwise, and
 * on non-finite values). Sharpe ratios are per period, never annualized.
 *
 * - `psrVsReference`: probability that the candidate's true Sharpe ratio exceeds the reference's observed
 *   one. The reference SR is treated as a known benchmark, as in the PSR paper: its own estimation error
 *   and the correlation between the two series are not modelled.
 * - `dsr`: the candidate's PSR against the expected maximum Sharpe ratio of `allTrials.length` trials, with
 *   V the sample variance (ddof = 1) of the trials' finite Sharpe ratios. `allTrials` must hold every
 *   configuration tried, the candidate itself included; the trials are assumed independent (for correlated
 *   trials pass an effective, smaller set). Trials whose Sharpe ratio is not computable (e.g. a flat equity
 *   curve) still count in N but not in V. NaN when fewer than 2 trial Sharpe ratios are computable or the
 *   candidate's own statistics are not.
 */
export function compareStrategies(candidate: number[], reference: number[], allTrials: number[][]): StrategyComparison {
  const n = candidate.length;
  if (reference.length !== n) throw new RangeError(`compareStrategies: reference has ${reference.length} returns, candidate ${n}`);
  allTrials.forEach((t, i) => {
    if (t.length !== n) throw new RangeError(`compareStrategies: trial ${i} has ${t.length} returns, candidate ${n}`);
  });
  if (allTrials.length < 1) throw new RangeError('compareStrategies: allTrials must hold at least the candidate');

  const m = sampleMoments(candidate);
  const sr = n >= 2 && m.std > 0 ? m.mean / m.std : Number.NaN;
  const referenceSr = sharpeOf(reference);
  const trialSrs = allTrials.map((t) => sharpeOf(t)).filter((s) => Number.isFinite(s));
  const srVariance = sampleVariance(trialSrs);
  const expectedMaxSr = expectedMaxSharpe({ trials: allTrials.length, variance: srVariance });

  const est = { sr, n, skew: m.skew, kurtosis: m.kurtosis };
  return {
    psrVsReference: probabilisticSharpeRatio({ ...est, srBenchmark: referenceSr }),
    dsr: probabilisticSharpeRatio({ ...est, srBenchmark: expectedMaxSr }),
    sr,
    n,
    referenceSr,
    expectedMaxSr,
  };
}

/** Sample variance (ddof = 1); NaN with fewer than 2 values. */
function sampleVariance(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of values) ss += (v - mean) * (v - mean);
  return ss / (n - 1);
}
