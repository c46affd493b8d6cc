import { z } from 'zod';
import { parseScaled, significantDecimals } from '../core/decimal.js';
import { err, ok, type Result } from '../core/result.js';
import type { Venue } from '../core/types.js';

/**
 * Trading rules of one symbol, in integer units.
 * Prices are integers in units of 10^-priceDecimals (priceDecimals = decimals of the tick size, so one
 * unit is one tick whenever the tick is a power of ten); quantities are integers in units of
 * 10^-qtyDecimals, where qtyDecimals also covers the asset precision, because book quantities can be
 * finer than the order step (Binance spot BTCUSDT: step 0.00001, book quantities with 6 decimals).
 */
export interface Instrument {
  readonly venue: Venue;
  readonly symbol: string;
  readonly status: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly priceDecimals: number;
  readonly qtyDecimals: number;
  readonly tickUnits: number;
  readonly minPriceUnits: number;
  readonly maxPriceUnits: number;
  readonly stepUnits: number;
  readonly minQtyUnits: number;
  readonly maxQtyUnits: number;
  /** Market orders may have a tighter LOT rule (MARKET_LOT_SIZE); equals the LOT rule otherwise. */
  readonly marketMaxQtyUnits: number;
  /** Quote currency, as a plain number (0 = no rule). */
  readonly minNotional: number;
  readonly maxNotional: number;
  readonly applyMinNotionalToMarket: boolean;
}

const filter = z.looseObject({ filterType: z.string() });
const symbolInfo = z.looseObject({
  symbol: z.string().min(1),
  status: z.string(),
  baseAsset: z.string(),
  quoteAsset: z.string(),
  baseAssetPrecision: z.number().int().optional(),
  quantityPrecision: z.number().int().optional(),
  filters: z.array(filter),
});
export const exchangeInfoSchema = z.looseObject({ symbols: z.array(symbolInfo) });
export type ExchangeInfoSymbol = z.infer<typeof symbolInfo>;

const decimalText = z.string().regex(/^\d+(\.\d+)?$/, 'a decimal string');
const priceFilter = z.looseObject({ minPrice: decimalText, maxPrice: decimalText, tickSize: decimalText });
const lotFilter = z.looseObject({ minQty: decimalText, maxQty: decimalText, stepSize: decimalText });

const MAX_DECIMALS = 8;

/** Builds an Instrument from one exchangeInfo symbol (spot or USD-M shapes). */
export function instrumentFromExchangeInfo(venue: Venue, raw: unknown): Result<Instrument, 'bad_exchange_info'> {
  const parsed = symbolInfo.safeParse(raw);
  if (!parsed.success) return err('bad_exchange_info', `exchangeInfo symbol: ${parsed.error.message}`);
  const s = parsed.data;
  const byType = new Map(s.filters.map((f) => [f.filterType, f] as const));
  const pf = priceFilter.safeParse(byType.get('PRICE_FILTER'));
  const lf = lotFilter.safeParse(byType.get('LOT_SIZE'));
  if (!pf.success || !lf.success) {
    return err('bad_exchange_info', `${s.symbol}: PRICE_FILTER and LOT_SIZE filters are required`);
  }
  const priceDecimals = significantDecimals(pf.data.tickSize);
  const assetPrecision = venue === 'spot' ? s.baseAssetPrecision : s.quantityPrecision;
  const qtyDecimals = Math.min(MAX_DECIMALS, Math.max(significantDecimals(lf.data.stepSize), assetPrecision ?? 0));
  if (priceDecimals > MAX_DECIMALS) return err('bad_exchange_info', `${s.symbol}: tick size ${pf.data.tickSize} is finer than 1e-8`);
  const mlf = lotFilter.safeParse(byType.get('MARKET_LOT_SIZE'));

  let minNotional = 0;
  let maxNotional = 0;
  let applyMinToMarket = true;
  const notional = byType.get('NOTIONAL');
  const minNotionalFilter = byType.get('MIN_NOTIONAL');
  if (notional) {
    minNotional = Number(notional['minNotional'] ?? 0);
    maxNotional = Number(notional['maxNotional'] ?? 0);
    applyMinToMarket = notional['applyMinToMarket'] !== false;
  } else if (minNotionalFilter) {
    // spot legacy: minNotional/applyToMarket; USD-M: notional
    minNotional = Number(minNotionalFilter['minNotional'] ?? minNotionalFilter['notional'] ?? 0);
    applyMinToMarket = minNotionalFilter['applyToMarket'] !== false;
  }
  if (!Number.isFinite(minNotional) || !Number.isFinite(maxNotional)) {
    return err('bad_exchange_info', `${s.symbol}: notional filter is not numeric`);
  }

  const px = (t: string): number => parseScaled(t, priceDecimals);
  const qty = (t: string): number => parseScaled(t, qtyDecimals);
  const inst: Instrument = {
    venue,
    symbol: s.symbol,
    status: s.status,
    baseAsset: s.baseAsset,
    quoteAsset: s.quoteAsset,
    priceDecimals,
    qtyDecimals,
    tickUnits: px(pf.data.tickSize),
    minPriceUnits: px(pf.data.minPrice),
    maxPriceUnits: px(pf.data.maxPrice),
    stepUnits: qty(lf.data.stepSize),
    minQtyUnits: qty(lf.data.minQty),
    maxQtyUnits: qty(lf.data.maxQty),
    marketMaxQtyUnits: mlf.success ? qty(mlf.data.maxQty) : qty(lf.data.maxQty),
    minNotional,
    maxNotional,
    applyMinNotionalToMarket: applyMinToMarket,
  };
  for (const [k, v] of Object.entries(inst)) {
    if (typeof v === 'number' && Number.isNaN(v)) return err('bad_exchange_info', `${s.symbol}: ${k} is not representable`);
  }
  if (inst.tickUnits <= 0 || inst.stepUnits <= 0) return err('bad_exchange_info', `${s.symbol}: tick and step must be positive`);
  return ok(inst);
}

/** Converts between integer units and numbers for one instrument. */
export function priceToNumber(inst: Instrument, units: number): number {
  return units / 10 ** inst.priceDecimals;
}
export function qtyToNumber(inst: Instrument, units: number): number {
  return units / 10 ** inst.qtyDecimals;
}
/** Rounds a quantity in base units down to the order step. */
export function floorToStep(inst: Instrument, qty: number): number {
  const units = Math.floor(qty * 10 ** inst.qtyDecimals + 1e-6);
  return units - (units % inst.stepUnits);
}
/** Rounds a price to the nearest tick (in price units). */
export function roundToTick(inst: Instrument, price: number): number {
  const units = Math.round(price * 10 ** inst.priceDecimals);
  return Math.round(units / inst.tickUnits) * inst.tickUnits;
}
