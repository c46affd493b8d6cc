import type { BookSide } from '../book/side.js';

/**
 * Pure order book math shared by the feature engine and the strategies. Everything here works on the
 * book's integer units (prices in price units, quantities in quantity units) and allocates nothing.
 */

/**
 * Weighted imbalance over the best `levels` levels: (B − A) / (B + A) with B = Σ decay^i · bidQty(i),
 * A = Σ decay^i · askQty(i), i = 0 .. levels − 1; 0 when both sides are empty. In [−1, 1]; positive when
 * the bids are heavier. Same formula as the OBI strategy's signal (src/strategy/obi/obi.ts).
 */
export function weightedImbalance(bids: BookSide, asks: BookSide, levels: number, decay: number): number {
  let b = 0;
  let a = 0;
  let w = 1;
  for (let i = 0; i < levels; i++) {
    b += w * bids.qty(i);
    a += w * asks.qty(i);
    w *= decay;
  }
  const total = b + a;
  return total > 0 ? (b - a) / total : 0;
}

/**
 * Size-weighted mid of the touch, (bidPx · askQty + askPx · bidQty) / (bidQty + askQty): leans toward the
 * side with less quantity, the likely next price. The plain mid when both quantities are 0.
 */
export function microprice(bidPx: number, bidQty: number, askPx: number, askQty: number): number {
  const q = bidQty + askQty;
  return q > 0 ? (bidPx * askQty + askPx * bidQty) / q : (bidPx + askPx) / 2;
}

/**
 * Depth slope of one side: the least-squares slope, through the origin, of the cumulative quantity
 * Q_k = Σ_{j≤k} qty(j) against the distance of level k from the mid, d_k = |price(k) − mid| / mid · 10⁴ (bp),
 * over the best `levels` levels present: Σ d_k Q_k / Σ d_k². In quantity units per basis point. NaN when the
 * side is empty or every level sits at the mid.
 */
export function depthSlope(side: BookSide, mid: number, levels: number): number {
  let cum = 0;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < levels; i++) {
    const p = side.price(i);
    if (p !== p) break; // past the last level
    cum += side.qty(i);
    const d = (Math.abs(p - mid) / mid) * 1e4;
    sxy += d * cum;
    sxx += d * d;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/**
 * Order flow imbalance of one level between two book states (Cont, Kukanov & Stoikov 2014; per level as in
 * Xu, Cont & Kukanov's multi-level OFI): e = e_bid − e_ask with
 *
 *   e_bid = [b ≥ b′]·qb − [b ≤ b′]·qb′        e_ask = [a ≤ a′]·qa − [a ≥ a′]·qa′
 *
 * where b, qb (a, qa) are this level's bid (ask) price and quantity now and b′, qb′ (a′, qa′) before. A
 * missing bid level counts as price −∞ with quantity 0, a missing ask level as +∞ (so a level that
 * disappears contributes −qb′ or +qa′). In quantity units; positive is buying pressure.
 */
export function levelOfi(b: number, qb: number, a: number, qa: number, pb: number, pqb: number, pa: number, pqa: number): number {
  const eb = (b >= pb ? qb : 0) - (b <= pb ? pqb : 0);
  const ea = (a <= pa ? qa : 0) - (a >= pa ? pqa : 0);
  return eb - ea;
}
