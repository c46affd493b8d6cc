import type { EpochMs } from '../../core/types.js';

/**
 * Venue-neutral bar, quote and trade-print events decoded from Alpaca market data (stocks and crypto).
 * Kept local to the Alpaca adapter until the engine consumes them (prices are plain numbers here:
 * Alpaca instruments have no tick grid in the model yet; the wiring converts at the edge).
 */
export type AssetClass = 'stocks' | 'crypto';

export interface BarEvent {
  readonly kind: 'bar';
  assetClass: AssetClass;
  symbol: string;
  /** bar start time */
  start: EpochMs;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** number of trades, when given */
  trades: number | null;
  vwap: number | null;
  /** a late correction of a bar already sent (Alpaca `updatedBars`) */
  updated: boolean;
  /** local receive time (REST backfill: the response time) */
  recvTime: EpochMs;
}

export interface QuoteEvent {
  readonly kind: 'quote';
  assetClass: AssetClass;
  symbol: string;
  time: EpochMs;
  recvTime: EpochMs;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
}

export interface PrintEvent {
  readonly kind: 'print';
  assetClass: AssetClass;
  symbol: string;
  time: EpochMs;
  recvTime: EpochMs;
  /** venue trade id (integer on stocks and crypto; null when absent) */
  tradeId: number | null;
  price: number;
  size: number;
  /** aggressor side when the venue tells it (crypto `tks`), else null */
  takerSide: 'buy' | 'sell' | null;
}

export type AlpacaMarketEvent = BarEvent | QuoteEvent | PrintEvent;

/**
 * RFC 3339 timestamp (nanosecond fractions, any offset) to epoch milliseconds with a fraction.
 * Returns NaN when the text is not a timestamp.
 */
export function parseRfc3339(text: string): EpochMs {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) return Number.NaN;
  const base = Date.parse(`${m[1]}${m[3]}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + Math.round(frac * 1000) / 1000;
}
