/** Shared vocabulary. This module imports nothing. */

/** Binance spot, Binance USD-M futures, Alpaca (US stocks and crypto). */
export type Venue = 'spot' | 'usdm' | 'alpaca';
export const VENUES: readonly Venue[] = ['spot', 'usdm', 'alpaca'];
/** The two Binance venues (recordings, replays, backtests and datasets are Binance only). */
export type BinanceVenue = 'spot' | 'usdm';
export const BINANCE_VENUES: readonly BinanceVenue[] = ['spot', 'usdm'];

export type Side = 'BUY' | 'SELL';
/** +1 for BUY, -1 for SELL. */
export function sideSign(side: Side): 1 | -1 {
  return side === 'BUY' ? 1 : -1;
}
export function oppositeSide(side: Side): Side {
  return side === 'BUY' ? 'SELL' : 'BUY';
}

/** Milliseconds since the Unix epoch (may carry a fraction for sub-millisecond receive times). */
export type EpochMs = number;

/** Key of an instrument across venues: "spot:BTCUSDT". */
export type InstrumentKey = `${Venue}:${string}`;
export function instrumentKey(venue: Venue, symbol: string): InstrumentKey {
  return `${venue}:${symbol}`;
}

/** Exhaustiveness check for discriminated unions. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
