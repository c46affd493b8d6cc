/**
 * Exact decimals for the Alpaca simulator: quantities and prices as bigint in units of 1e-9
 * (Alpaca accepts at most 9 decimals), money (qty × price) as bigint in units of 1e-18, so cash,
 * cost basis and equity are exact sums with no rounding.
 */

export const Q = 9; // decimals of quantities and prices
export const M = 18; // decimals of money (Q + Q)
export const ONE_Q = 10n ** BigInt(Q);

/** Parses a decimal string or number (≥ 0) with at most `decimals` decimals; undefined if invalid. */
export function parseDec(v: unknown, decimals = Q): bigint | undefined {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    s = String(v);
    if (/e/i.test(s)) s = v.toFixed(decimals);
  } else if (typeof v === 'string') s = v.trim();
  else return undefined;
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  let frac = m[2] ?? '';
  frac = frac.replace(/0+$/, '');
  if (frac.length > decimals) return undefined;
  return BigInt((m[1] || '0') + frac.padEnd(decimals, '0'));
}

/** Exact decimal text of a scaled integer, without trailing zeros ("1.5", "100", "-0.25"). */
export function fmtDec(v: bigint, decimals = Q): string {
  const neg = v < 0n;
  let s = (neg ? -v : v).toString();
  if (decimals > 0) {
    s = s.padStart(decimals + 1, '0');
    const int = s.slice(0, s.length - decimals);
    const frac = s.slice(s.length - decimals).replace(/0+$/, '');
    s = frac ? `${int}.${frac}` : int;
  }
  return neg && s !== '0' ? `-${s}` : s;
}

/** A JS number (market data prices) on the 1e-9 grid. */
export function toQ(n: number): bigint {
  return BigInt(Math.round(n * 1e9));
}

export function qToNumber(v: bigint): number {
  return Number(v) / 1e9;
}

/** qty (1e-9) × price (1e-9) = money (1e-18), exact. */
export function mul(qty: bigint, price: bigint): bigint {
  return qty * price;
}

/** money (1e-18) / qty (1e-9) = price (1e-9), truncated. */
export function divPrice(money: bigint, qty: bigint): bigint {
  return qty === 0n ? 0n : money / qty;
}
