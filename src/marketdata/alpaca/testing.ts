import type { Instrument } from '../../model/instrument.js';

/** An Alpaca instrument for tests: tick 1 unit, step 1 unit, no size or notional limits. */
export function alpacaTestInstrument(symbol: string, priceDecimals: number, qtyDecimals: number): Instrument {
  const [base, quote] = symbol.includes('/') ? symbol.split('/') : [symbol, 'USD'];
  return {
    venue: 'alpaca',
    symbol,
    status: 'TRADING',
    baseAsset: base!,
    quoteAsset: quote!,
    priceDecimals,
    qtyDecimals,
    tickUnits: 1,
    minPriceUnits: 1,
    maxPriceUnits: Number.MAX_SAFE_INTEGER,
    stepUnits: 1,
    minQtyUnits: 1,
    maxQtyUnits: Number.MAX_SAFE_INTEGER,
    marketMaxQtyUnits: Number.MAX_SAFE_INTEGER,
    minNotional: 0,
    maxNotional: 0,
    applyMinNotionalToMarket: false,
  };
}
