/**
 * The pure mathematics of the EMA range-grid anomaly strategy (docs/strategies.md): the grid that
 * discretizes a price ratio, the EMA that predicts the next grid cell, and the asymptotic sizing curve.
 * No state beyond the EMA, no I/O, no allocation per call.
 */

/**
 * A tie (a ratio exactly half-way between two cells, as decimal arithmetic would have it) is decided as
 * if it were this many cells further from 1, so that binary floating point (1.0005 is stored as
 * 1.000499999...) cannot round it one way for one price and the other way for another.
 */
const TIE_EPSILON = 1e-9;

/**
 * Cell of the price ratio `r` on a grid of `cells` cells (odd, >= 1) of width `cellWidth`, centred on
 * r = 1:
 *
 *   half = (cells - 1) / 2
 *   v    = (r - 1) / cellWidth
 *   cell = clamp(sign(v) * floor(|v| + 1/2), -half, +half)
 *
 * i.e. v rounded to the nearest integer, ties away from zero (so a rise and a fall of the same size land
 * in cells of the same magnitude), then clamped to the grid. Cell 0 covers
 * r in (1 - cellWidth/2, 1 + cellWidth/2): no change. Cell k > 0 covers
 * [1 + (k - 1/2) cellWidth, 1 + (k + 1/2) cellWidth); the outermost cells also take everything beyond.
 * A ratio that is not a positive finite number gives cell 0.
 */
export function gridCell(r: number, cellWidth: number, cells: number): number {
  if (!(r > 0) || !Number.isFinite(r)) return 0;
  return cellOf((r - 1) / cellWidth, cells);
}

/**
 * Cell of a move from `prev` to `price` (both in the same units, e.g. integer price units). The same as
 * gridCell(price / prev, ...), but r - 1 is computed as (price - prev) / prev: the difference of two
 * integer prices is exact, so the only rounding is that of one division.
 */
export function moveCell(prev: number, price: number, cellWidth: number, cells: number): number {
  if (!(prev > 0) || !(price > 0) || !Number.isFinite(prev) || !Number.isFinite(price)) return 0;
  return cellOf((price - prev) / prev / cellWidth, cells);
}

/** v (a move in cell widths) rounded to the nearest cell, ties away from zero, clamped to the grid. */
function cellOf(v: number, cells: number): number {
  const half = (cells - 1) / 2;
  const k = v >= 0 ? Math.floor(v + 0.5 + TIE_EPSILON) : -Math.floor(-v + 0.5 + TIE_EPSILON);
  // `+ 0` turns -0 into 0 (a negative zero cell would print as -0 in JSON and status)
  return (k > half ? half : k < -half ? -half : k) + 0;
}

/** Saved state of an Ema: JSON-safe (no NaN). */
export interface EmaState {
  value: number | null;
  count: number;
}

/**
 * Exponential moving average with alpha = 2 / (period + 1), seeded by the first value:
 *
 *   e_1 = x_1;   e_n = e_(n-1) + alpha (x_n - e_(n-1)) = alpha x_n + (1 - alpha) e_(n-1)
 *
 * `value` is NaN until the first update. period = 1 gives alpha = 1 (the EMA is the last value).
 * Seeding with the first value (rather than with 0 or a warm-up mean) means the first prediction is
 * simply the first observation; its weight then decays as (1 - alpha)^(n - 1).
 */
export class Ema {
  readonly alpha: number;
  value = NaN;
  /** values seen */
  count = 0;

  constructor(readonly period: number) {
    if (!(period >= 1) || !Number.isFinite(period)) throw new RangeError(`EMA period must be >= 1, got ${period}`);
    this.alpha = 2 / (period + 1);
  }

  update(x: number): number {
    this.value = this.count === 0 ? x : this.value + this.alpha * (x - this.value);
    this.count++;
    return this.value;
  }

  reset(): void {
    this.value = NaN;
    this.count = 0;
  }

  saveState(): EmaState {
    return { value: this.count > 0 && Number.isFinite(this.value) ? this.value : null, count: this.count };
  }

  /** Takes back a saved state; a malformed one leaves the EMA unseeded. */
  loadState(s: unknown): void {
    this.reset();
    if (typeof s !== 'object' || s === null) return;
    const { value, count } = s as Partial<EmaState>;
    if (typeof value === 'number' && Number.isFinite(value) && typeof count === 'number' && Number.isInteger(count) && count > 0) {
      this.value = value;
      this.count = count;
    }
  }
}

/**
 * The sizing curve: the fraction of the budget committed at anomaly strength x in [0, 1],
 *
 *   f(x) = 1 - (1 - x^level)^(1/level)          (level > 0)
 *
 * x is clamped to [0, 1] (NaN counts as 0). f(0) = 0, f(1) = 1, f increases with x and decreases with
 * level. The curve is the quarter superellipse x^level + (1 - f)^level = 1:
 *   level = 1: f(x) = x (linear);
 *   level < 1: concave, slope +infinity at x = 0: small anomalies already commit much ("aggressive");
 *   level > 1: convex, slope 0 at x = 0 and +infinity at x = 1: almost nothing until x is large, then the
 *              whole budget ("sniper").
 * Computed as -expm1(log1p(-x^level) / level), which is exact at both ends and keeps precision where
 * x^level is tiny (the naive form loses it to cancellation).
 */
export function sizeFraction(x: number, level: number): number {
  if (!(level > 0)) throw new RangeError(`level must be > 0, got ${level}`);
  if (!(x > 0)) return 0;
  if (x >= 1) return 1;
  return -Math.expm1(Math.log1p(-(x ** level)) / level);
}

/**
 * A position size: max × f(x), rounded down to a whole number of lots:
 *
 *   size = floor(max × f(x) / lot) × lot
 *
 * Pass max and lot in integer units (e.g. the instrument's quantity units and stepUnits) and the result is
 * an exact integer. A relative 1e-9 tolerance keeps a product that should be a whole number of lots
 * (max × f = 3 lots, computed as 2.9999999999) from losing a lot.
 */
export function asymptoticSize(x: number, level: number, max: number, lot: number): number {
  if (!(lot > 0)) throw new RangeError(`lot must be > 0, got ${lot}`);
  if (!(max > 0)) return 0;
  const lots = Math.floor((max * sizeFraction(x, level)) / lot + 1e-9);
  return lots * lot;
}

/**
 * x at which f reaches the fraction `y` of the budget (the inverse of sizeFraction):
 * x = (1 - (1 - y)^level)^(1/level), which is also 1 - f(1 - y) (the curve is symmetric about the line
 * x + f = 1). Used for the documentation table (e.g. y = 0.5: the anomaly strength that commits half of the
 * budget).
 */
export function strengthForFraction(y: number, level: number): number {
  if (!(level > 0)) throw new RangeError(`level must be > 0, got ${level}`);
  if (!(y > 0)) return 0;
  if (y >= 1) return 1;
  return (-Math.expm1(level * Math.log1p(-y))) ** (1 / level);
}
