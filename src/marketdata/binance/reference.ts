import type { BinanceVenue } from '../../core/types.js';
import { instrumentFromExchangeInfo, type Instrument } from '../../model/instrument.js';

/**
 * exchangeInfo entries of the symbols in ../shared/data/binance, with Binance's filters as of the
 * recording (August 2024). Used offline — tests, benchmarks, backtests over recordings — where no
 * exchange answers. Live trading always loads exchangeInfo from the venue.
 */
export const REFERENCE_EXCHANGE_INFO: Record<BinanceVenue, Record<string, unknown>> = {
  spot: {
    BTCUSDT: {
      symbol: 'BTCUSDT', status: 'TRADING', baseAsset: 'BTC', quoteAsset: 'USDT', baseAssetPrecision: 8,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
        { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
        { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
      ],
    },
    ETHUSDT: {
      symbol: 'ETHUSDT', status: 'TRADING', baseAsset: 'ETH', quoteAsset: 'USDT', baseAssetPrecision: 8,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' },
        { filterType: 'LOT_SIZE', minQty: '0.00010000', maxQty: '9000.00000000', stepSize: '0.00010000' },
        { filterType: 'NOTIONAL', minNotional: '5.00000000', applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
      ],
    },
  },
  usdm: {
    BTCUSDT: {
      symbol: 'BTCUSDT', status: 'TRADING', baseAsset: 'BTC', quoteAsset: 'USDT', pricePrecision: 2, quantityPrecision: 3,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: '556.80', maxPrice: '4529764', tickSize: '0.10' },
        { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' },
        { filterType: 'MARKET_LOT_SIZE', minQty: '0.001', maxQty: '120', stepSize: '0.001' },
        { filterType: 'MIN_NOTIONAL', notional: '100' },
      ],
    },
    ETHUSDT: {
      symbol: 'ETHUSDT', status: 'TRADING', baseAsset: 'ETH', quoteAsset: 'USDT', pricePrecision: 2, quantityPrecision: 3,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: '39.86', maxPrice: '306177', tickSize: '0.01' },
        { filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '10000', stepSize: '0.001' },
        { filterType: 'MARKET_LOT_SIZE', minQty: '0.001', maxQty: '2000', stepSize: '0.001' },
        { filterType: 'MIN_NOTIONAL', notional: '20' },
      ],
    },
  },
};

export function referenceInstrument(venue: BinanceVenue, symbol: string): Instrument {
  const raw = REFERENCE_EXCHANGE_INFO[venue][symbol];
  if (raw === undefined) throw new Error(`no reference exchangeInfo for ${venue}:${symbol}`);
  const r = instrumentFromExchangeInfo(venue, raw);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}
