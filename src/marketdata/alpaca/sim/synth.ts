/**
 * Trade/quote synthesis from one 1-minute bar (the method, documented in the README):
 * - four trades per bar at +0 s, +15 s, +30 s, +45 s of the bar: open, then the extreme nearer the
 *   close's opposite side first (bullish bar c ≥ o: open, low, high, close; bearish: open, high, low, close),
 *   then close; each trade's size is a quarter of the bar volume (whole shares for stocks, at least 1);
 * - a quote just before each trade, one tick around the trade price (bid = p − tick, ask = p + tick),
 *   sizes a tenth of the trade size (at least 1 share for stocks);
 * - taker side `B` when the trade is at or above the previous trade, else `S`;
 * - the bar itself is published when the bar ends (after the fourth trade), with its own o/h/l/c/v,
 *   trade count 4 and vwap = mean of the four prices weighted by their sizes.
 */
import type { AssetClass, Bar } from './bars.js';

export const TICKS_PER_BAR = 4;

export interface SynthTick {
  /** epoch ms */
  t: number;
  price: number;
  size: number;
  bid: number;
  ask: number;
  bidSize: number;
  askSize: number;
}

function roundTo(x: number, tick: number): number {
  const decimals = Math.max(0, Math.round(-Math.log10(tick)));
  return Number((Math.round(x / tick) * tick).toFixed(decimals));
}

/** The four synthesized ticks of a bar (see the module comment). */
export function barTicks(bar: Bar, assetClass: AssetClass, tick: number): SynthTick[] {
  const path = bar.c >= bar.o ? [bar.o, bar.l, bar.h, bar.c] : [bar.o, bar.h, bar.l, bar.c];
  const stock = assetClass === 'us_equity';
  const size = stock ? Math.max(1, Math.round(bar.v / TICKS_PER_BAR)) : Number((bar.v / TICKS_PER_BAR).toFixed(4)) || 1;
  const qs = stock ? Math.max(1, Math.round(size / 10)) : Number((size / 10).toFixed(4)) || 1;
  return path.map((p, i) => ({
    t: bar.t + i * 15_000,
    price: p,
    size,
    bid: roundTo(p - tick, tick),
    ask: roundTo(p + tick, tick),
    bidSize: qs,
    askSize: qs,
  }));
}

/** Volume-weighted mean of the synthesized trades (all the same size, so the plain mean). */
export function barVwap(bar: Bar): number {
  return Number(((bar.o + bar.h + bar.l + bar.c) / 4).toFixed(6));
}
