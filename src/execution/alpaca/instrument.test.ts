import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assetSchema, type AlpacaAsset } from './decode.js';
import { alpacaAssetClass, instrumentFromAlpacaAsset } from './instrument.js';

const asset = (o: Record<string, unknown>): AlpacaAsset =>
  assetSchema.parse({
    id: '904837e3-3b76-47ec-b432-046db621571b',
    class: 'us_equity',
    exchange: 'NASDAQ',
    symbol: 'TSLA',
    name: 'Tesla, Inc. Common Stock',
    status: 'active',
    tradable: true,
    marginable: true,
    shortable: true,
    easy_to_borrow: true,
    fractionable: true,
    maintenance_margin_requirement: 30,
    attributes: [],
    ...o,
  });
const doge = (o: Record<string, unknown> = {}): AlpacaAsset =>
  asset({ class: 'crypto', exchange: 'CRYPTO', symbol: 'DOGE/USD', min_order_size: '1', min_trade_increment: '1', price_increment: '0.00001', ...o });

const UNIT_KEYS = ['tickUnits', 'minPriceUnits', 'maxPriceUnits', 'stepUnits', 'minQtyUnits', 'maxQtyUnits', 'marketMaxQtyUnits'] as const;

describe('instrumentFromAlpacaAsset', () => {
  it('builds a stock instrument: cents, whole-share steps at 6 qty decimals', () => {
    const r = instrumentFromAlpacaAsset(asset({}));
    expect(r).toEqual({
      ok: true,
      value: {
        venue: 'alpaca', symbol: 'TSLA', status: 'TRADING', baseAsset: 'TSLA', quoteAsset: 'USD',
        priceDecimals: 2, qtyDecimals: 6, tickUnits: 1, minPriceUnits: 1, maxPriceUnits: 1e9,
        stepUnits: 1e6, minQtyUnits: 1e6, maxQtyUnits: 1e14, marketMaxQtyUnits: 1e14,
        minNotional: 0, maxNotional: 0, applyMinNotionalToMarket: false,
      },
    });
  });

  it('builds a crypto instrument from the increments', () => {
    const r = instrumentFromAlpacaAsset(doge());
    expect(r.ok && r.value).toMatchObject({
      venue: 'alpaca', symbol: 'DOGE/USD', baseAsset: 'DOGE', quoteAsset: 'USD', status: 'TRADING',
      priceDecimals: 5, tickUnits: 1, minPriceUnits: 1, qtyDecimals: 4, stepUnits: 10_000, minQtyUnits: 10_000, minNotional: 0,
    });
    const btc = instrumentFromAlpacaAsset(doge({ symbol: 'BTC/USD', min_order_size: '0.0001', min_trade_increment: '0.000000001', price_increment: '1' }));
    expect(btc.ok && btc.value).toMatchObject({ baseAsset: 'BTC', priceDecimals: 0, tickUnits: 1, qtyDecimals: 9, stepUnits: 1, minQtyUnits: 100_000 });
    const half = instrumentFromAlpacaAsset(doge({ price_increment: '0.5', min_order_size: null }));
    expect(half.ok && half.value).toMatchObject({ priceDecimals: 1, tickUnits: 5, minPriceUnits: 5, minQtyUnits: 10_000 });
  });

  it('halts an inactive or untradable asset', () => {
    expect(instrumentFromAlpacaAsset(asset({ status: 'inactive' })).ok && (instrumentFromAlpacaAsset(asset({ status: 'inactive' })) as any).value.status).toBe('HALT');
    const r = instrumentFromAlpacaAsset(doge({ tradable: false }));
    expect(r.ok && r.value.status).toBe('HALT');
  });

  it.each([
    ['no price_increment', doge({ price_increment: null })],
    ['no min_trade_increment', doge({ min_trade_increment: undefined })],
    ['a negative increment', doge({ min_trade_increment: '-1' })],
    ['an exponent', doge({ price_increment: '1e-5' })],
    ['a zero step', doge({ min_trade_increment: '0' })],
    ['too fine a tick', doge({ price_increment: '0.0000000001' })],
    ['a pair without slash', doge({ symbol: 'DOGEUSD' })],
    ['an option', asset({ class: 'us_option', symbol: 'TSLA250101C00100000' })],
  ])('refuses %s', (_, a) => {
    expect(instrumentFromAlpacaAsset(a)).toMatchObject({ ok: false, code: 'bad_asset' });
  });

  it('keeps every unit value a positive integer below 2^53 with consistent steps (property)', () => {
    const dec = fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 0, max: 9 })).map(([m, e]) => {
      const s = String(m).padStart(e + 1, '0');
      return e === 0 ? s : `${s.slice(0, s.length - e)}.${s.slice(s.length - e)}`;
    });
    fc.assert(
      fc.property(dec, dec, fc.option(dec, { nil: null }), (tick, step, min) => {
        const r = instrumentFromAlpacaAsset(doge({ price_increment: tick, min_trade_increment: step, min_order_size: min }));
        if (!r.ok) return;
        const i = r.value;
        for (const k of UNIT_KEYS) {
          expect(Number.isSafeInteger(i[k])).toBe(true);
          expect(i[k]).toBeGreaterThan(0);
          expect(i[k]).toBeLessThan(2 ** 53);
        }
        expect(i.qtyDecimals).toBeLessThanOrEqual(9);
        expect(i.minQtyUnits % i.stepUnits).toBe(0);
        expect(i.maxQtyUnits % i.stepUnits).toBe(0);
        expect(i.maxPriceUnits % i.tickUnits).toBe(0);
        expect(i.minQtyUnits).toBeLessThanOrEqual(i.maxQtyUnits);
        expect(i.minPriceUnits).toBeLessThanOrEqual(i.maxPriceUnits);
      }),
      { numRuns: 300 },
    );
  });
});

describe('alpacaAssetClass', () => {
  it('tells pairs from stocks by the slash', () => {
    expect(alpacaAssetClass('DOGE/USD')).toBe('crypto');
    expect(alpacaAssetClass('TSLA')).toBe('stocks');
  });
});
