import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../test/support/books.js';
import { referenceInstrument } from '../marketdata/binance/reference.js';
import type { OrderIntent } from '../model/order.js';
import { RiskGateway, type RiskInputs, type RiskLimits } from './gateway.js';
import { SlidingRateLimiter } from './rate-limiter.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const LIMITS: RiskLimits = { maxPosition: 1, maxDrawdown: 0.05, maxOrderNotional: 5000, priceBand: 0.01, bookStaleMs: 10_000, ordersPerSecond: 5, ordersPerMinute: 60, ordersPerHour: 500 };
const sync = syncedBook(inst, [[60000, 2], [59999, 1]], [[60001, 2], [60002, 1]], 1000);

function intent(over: Partial<OrderIntent> = {}): OrderIntent {
  return { venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000 /* 0.01 BTC */, strategy: 't@1', reason: 'test', createdAt: 1000, ...over };
}
function inputs(over: Partial<RiskInputs> = {}): RiskInputs {
  return { now: 1000, instrument: inst, book: sync.book, bookState: 'synced', position: 0, equity: 10000, ...over };
}

describe('risk gateway', () => {
  it('approves a sane order and counts it', () => {
    const g = new RiskGateway(LIMITS);
    const d = g.check(intent(), inputs());
    expect(d.approved).toBe(true);
    expect(g.approvedCount).toBe(1);
  });

  it.each([
    ['unknown symbol', intent({ symbol: 'DOGEUSDT' }), inputs(), 'unknown_symbol'],
    ['book not synced', intent(), inputs({ bookState: 'resyncing' }), 'book_not_synced'],
    ['book missing', intent(), inputs({ book: undefined, bookState: undefined }), 'book_not_synced'],
    ['stale book', intent(), inputs({ now: 20_000 }), 'book_stale'],
    ['quantity off the step', intent({ qtyUnits: 1_000_001 }), inputs(), 'quantity_filter'],
    ['quantity below min', intent({ qtyUnits: 0 }), inputs(), 'quantity_filter'],
    ['price off the tick', intent({ type: 'LIMIT', priceUnits: 6_000_000.5, timeInForce: 'IOC' }), inputs(), 'price_filter'],
    ['limit price outside the band', intent({ type: 'LIMIT', priceUnits: 6_100_000 * 100 / 100 * 1, timeInForce: 'IOC' }), inputs(), 'price_band'],
    ['below min notional', intent({ qtyUnits: 5000 /* 0.00005 BTC = 3 USDT */ }), inputs(), 'notional_filter'],
    ['above max order notional', intent({ qtyUnits: 10_000_000 /* 0.1 BTC = 6000 USDT */ }), inputs(), 'max_order_notional'],
    ['position limit', intent(), inputs({ position: 0.995 }), 'position_limit'],
    ['not trading', intent(), inputs({ instrument: { ...inst, status: 'HALT' } }), 'not_trading'],
  ] as const)('denies: %s', (_n, i, x, check) => {
    const g = new RiskGateway(LIMITS);
    const d = g.check(i, x);
    expect(d).toMatchObject({ approved: false, check });
    expect(g.denials[check]).toBe(1);
    expect(g.approvedCount).toBe(0);
  });

  it('lets a reducing order through the position limit and the drawdown breaker', () => {
    const g = new RiskGateway(LIMITS);
    g.observeEquity(10000, 0);
    g.observeEquity(9400, 1); // -6%
    expect(g.breakerTripped).toBe(true);
    expect(g.check(intent(), inputs({ position: 0 }))).toMatchObject({ approved: false, check: 'drawdown_breaker' });
    expect(g.check(intent({ side: 'SELL' }), inputs({ position: 0.5 })).approved).toBe(true);
    // a sell larger than the long would flip it: that adds risk
    expect(g.check(intent({ side: 'SELL', qtyUnits: 2_000_000 }), inputs({ position: 0.01 })).approved).toBe(false);
    expect(g.drawdown(9400)).toBeCloseTo(-0.06, 10);
  });

  it('limits the order rate per second, minute and hour with sliding windows', () => {
    const g = new RiskGateway(LIMITS);
    const results: boolean[] = [];
    for (let i = 0; i < 7; i++) results.push(g.check(intent(), inputs({ now: 1000 + i })).approved);
    expect(results).toEqual([true, true, true, true, true, false, false]);
    expect(g.denials['rate_limit']).toBe(2);
    // one second after the first order, the window has room again
    expect(g.check(intent(), inputs({ now: 2000.5, book: syncedBook(inst, [[60000, 2]], [[60001, 2]], 2000).book })).approved).toBe(true);
  });
});

describe('sliding rate limiter', () => {
  it('counts each window separately', () => {
    const l = new SlidingRateLimiter([
      { windowMs: 1000, limit: 2, label: 'second' },
      { windowMs: 10_000, limit: 3, label: 'ten seconds' },
    ]);
    l.record(0);
    l.record(100);
    expect(l.wouldExceed(500)?.label).toBe('second');
    expect(l.wouldExceed(1500)).toBeNull();
    l.record(1500);
    expect(l.wouldExceed(2600)?.label).toBe('ten seconds');
    expect(l.wouldExceed(10_001)).toBeNull();
    expect(l.usage(1500)).toEqual([{ label: 'second', used: 1, limit: 2 }, { label: 'ten seconds', used: 3, limit: 3 }]);
  });
});
