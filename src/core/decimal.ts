/**
 * Exact decimal text <-> scaled integers. Prices and quantities enter as exchange decimal strings and
 * become integers in units of 10^-decimals (for a tick size like 0.01 that is exactly the tick).
 * Float64 holds every integer up to 2^53 exactly, which covers any price or quantity at 8 decimals
 * below 90 million, so the hot path uses plain numbers, never binary-float arithmetic on prices.
 */

/** Powers of ten, exact in float64 up to 1e22. */
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Number of significant decimals of a decimal string ("0.01000000" -> 2, "1" -> 0, "0.5" -> 1). */
export function significantDecimals(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return 0;
  let end = text.length;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  return end - dot - 1;
}

/**
 * Parses a non-negative decimal string into an integer scaled by 10^decimals.
 * Returns NaN if the text is not a plain decimal, or if it has non-zero digits beyond `decimals`.
 */
export function parseScaled(text: string, decimals: number): number {
  return parseScaledRange(text, 0, text.length, decimals);
}

/** Same as parseScaled on text[start, end) — no substring is allocated. */
export function parseScaledRange(text: string, start: number, end: number, decimals: number): number {
  if (start >= end) return NaN;
  let value = 0;
  let frac = -1; // -1: before the dot; otherwise digits seen after it
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      if (frac < 0) value = value * 10 + (c - 48);
      else if (frac < decimals) {
        value = value * 10 + (c - 48);
        frac++;
      } else if (c !== 48) return NaN; // precision beyond the grid
    } else if (c === 46 && frac < 0) {
      frac = 0;
    } else return NaN;
  }
  if (digits === 0) return NaN;
  if (frac < 0) frac = 0;
  if (frac < decimals) value *= POW10[decimals - frac]!;
  return value > Number.MAX_SAFE_INTEGER ? NaN : value;
}

/** Formats an integer scaled by 10^decimals as decimal text with exactly `decimals` digits after the dot. */
export function formatScaled(value: number, decimals: number): string {
  const negative = value < 0;
  let s = Math.abs(Math.round(value)).toString();
  if (decimals > 0) {
    if (s.length <= decimals) s = '0'.repeat(decimals - s.length + 1) + s;
    s = `${s.slice(0, s.length - decimals)}.${s.slice(s.length - decimals)}`;
  }
  return negative ? `-${s}` : s;
}

/** Scaled integer -> JS number (for display, statistics and money arithmetic outside the book). */
export function scaledToNumber(value: number, decimals: number): number {
  return value / POW10[decimals]!;
}

/** JS number -> nearest scaled integer. */
export function numberToScaled(value: number, decimals: number): number {
  return Math.round(value * POW10[decimals]!);
}
