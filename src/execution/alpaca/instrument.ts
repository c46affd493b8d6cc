/**
 * The engine's `Instrument` of an Alpaca symbol, from its asset object (GET /v2/assets/{symbol}).
 * - us_equity: prices in cents (priceDecimals 2, one unit = one tick; Alpaca's sub-penny prices below
 *   $1 are not used), quantities at 6 decimals so adopted fractional positions and odd lots are exact,
 *   but the engine trades whole shares (step = min = 1 share). No notional minimum for whole shares.
 * - crypto: priceDecimals from `price_increment`, step from `min_trade_increment`, minimum from
 *   `min_order_size`, qtyDecimals = max(their decimals, 4) (at most 9, Alpaca's precision).
 *   minNotional 0: the protocol notes (shared/protocols/alpaca.md) give no notional minimum for crypto
 *   (Alpaca's site mentions $1; the venue rejects a smaller order itself if that applies).
 * status is 'TRADING' (what the risk gateway admits) when the asset is active and tradable, else 'HALT'.
 * Every *Units value is an integer ≤ 1e15 (< 2^53).
 */
import { parseScaled, significantDecimals } from '../../core/decimal.js';
import { err, ok, type Result } from '../../core/result.js';
import type { Instrument } from '../../model/instrument.js';
import type { AlpacaAsset } from './decode.js';

/** Largest quantity / price in units (1e15 < 2^53, so qty and price units stay exact integers). */
export const MAX_UNITS = 1e15;
const MAX_DECIMALS = 9;
const STOCK_QTY_DECIMALS = 6;
const SHARE_UNITS = 10 ** STOCK_QTY_DECIMALS;

/** Alpaca's asset class of a symbol: pairs have a slash (`DOGE/USD`), stocks do not. */
export function alpacaAssetClass(symbol: string): 'stocks' | 'crypto' {
  return symbol.includes('/') ? 'crypto' : 'stocks';
}

const floorTo = (v: number, step: number): number => Math.floor(v / step) * step;

export function instrumentFromAlpacaAsset(asset: AlpacaAsset): Result<Instrument, 'bad_asset'> {
  const status = asset.status === 'active' && asset.tradable ? 'TRADING' : 'HALT';
  const symbol = asset.symbol;
  if (asset.class === 'us_equity') {
    if (symbol.includes('/')) return err('bad_asset', `${symbol}: a us_equity symbol with a slash`);
    return ok({
      venue: 'alpaca',
      symbol,
      status,
      baseAsset: symbol,
      quoteAsset: 'USD',
      priceDecimals: 2,
      qtyDecimals: STOCK_QTY_DECIMALS,
      tickUnits: 1,
      minPriceUnits: 1,
      maxPriceUnits: 1e9, // $10M
      stepUnits: SHARE_UNITS,
      minQtyUnits: SHARE_UNITS,
      maxQtyUnits: 1e8 * SHARE_UNITS,
      marketMaxQtyUnits: 1e8 * SHARE_UNITS,
      minNotional: 0,
      maxNotional: 0,
      applyMinNotionalToMarket: false,
    });
  }
  if (asset.class !== 'crypto') return err('bad_asset', `${symbol}: unsupported asset class ${asset.class}`);
  const pair = /^([A-Z0-9]+)\/([A-Z0-9]+)$/.exec(symbol);
  if (!pair) return err('bad_asset', `${symbol}: a crypto symbol must be BASE/QUOTE`);
  const { price_increment: tick, min_trade_increment: step } = asset;
  const minOrder = asset.min_order_size ?? step;
  if (tick === null || step === null || minOrder === null) return err('bad_asset', `${symbol}: price_increment and min_trade_increment are required`);
  const plain = /^\d+(\.\d+)?$/;
  for (const [name, v] of [['price_increment', tick], ['min_trade_increment', step], ['min_order_size', minOrder]] as const)
    if (!plain.test(v)) return err('bad_asset', `${symbol}: ${name} ${v} is not a plain decimal`);
  const priceDecimals = significantDecimals(tick);
  const stepDecimals = significantDecimals(step);
  const minDecimals = significantDecimals(minOrder);
  if (priceDecimals > MAX_DECIMALS || stepDecimals > MAX_DECIMALS || minDecimals > MAX_DECIMALS)
    return err('bad_asset', `${symbol}: an increment is finer than 1e-${MAX_DECIMALS}`);
  const qtyDecimals = Math.min(MAX_DECIMALS, Math.max(stepDecimals, minDecimals, 4));
  const tickUnits = parseScaled(tick, priceDecimals);
  const stepUnits = parseScaled(step, qtyDecimals);
  const minQtyRaw = parseScaled(minOrder, qtyDecimals);
  const bad = [tickUnits, stepUnits, minQtyRaw].some((u) => !Number.isSafeInteger(u) || u > MAX_UNITS);
  if (bad || tickUnits <= 0 || stepUnits <= 0) return err('bad_asset', `${symbol}: increments ${tick} / ${step} / ${minOrder} out of range`);
  // the minimum order must itself be a valid quantity: round it up to the step
  const minQtyUnits = Math.max(stepUnits, Math.ceil(minQtyRaw / stepUnits) * stepUnits);
  const maxQtyUnits = floorTo(MAX_UNITS, stepUnits);
  if (minQtyUnits > maxQtyUnits) return err('bad_asset', `${symbol}: min_order_size ${minOrder} out of range`);
  const maxPriceUnits = floorTo(Math.min(MAX_UNITS, 1e9 * 10 ** priceDecimals), tickUnits);
  return ok({
    venue: 'alpaca',
    symbol,
    status,
    baseAsset: pair[1]!,
    quoteAsset: pair[2]!,
    priceDecimals,
    qtyDecimals,
    tickUnits,
    minPriceUnits: tickUnits,
    maxPriceUnits,
    stepUnits,
    minQtyUnits,
    maxQtyUnits,
    marketMaxQtyUnits: maxQtyUnits,
    minNotional: 0,
    maxNotional: 0,
    applyMinNotionalToMarket: false,
  });
}
