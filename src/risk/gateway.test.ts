import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../test/support/books.js';
import { referenceInstrument } from '../marketdata/binance/reference.js';
import type { OrderIntent } from '../model/order.js';
import { RiskGateway, type RiskInputs, type RiskLimits } from './gateway.js';
import { SlidingRateLimiter } from './rate-limiter.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const LIMITS: RiskLimits = { maxPosition: 1, maxDrawdown: 0.05, maxOrderNotional: 5000, priceBand: 0.01, bookStaleMs: 10_000, maxFeedLagMs: 1000, ordersPerSecond: 5, ordersPerMinute: 60, ordersPerHour: 500 };
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
    ['feed lag over the limit', intent(), inputs({ feedLagMs: 1500 }), 'feed_lag'],
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

  it('refuses on feed lag only past the limit, counts it, and not at all when the limit is 0', () => {
    const g = new RiskGateway(LIMITS);
    expect(g.check(intent(), inputs({ feedLagMs: 999 })).approved).toBe(true);
    const d = g.check(intent({ purpose: 'flatten' }), inputs({ feedLagMs: 1001 }));
    expect(d).toMatchObject({ approved: false, check: 'feed_lag' });
    expect(!d.approved && d.reason).toMatch(/1001 ms late \(limit 1000 ms\)/);
    expect(g.denials['feed_lag']).toBe(1);
    expect(new RiskGateway({ ...LIMITS, maxFeedLagMs: 0 }).check(intent(), inputs({ feedLagMs: 1e9 })).approved).toBe(true);
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

describe('risk gateway: controls and breakers', () => {
  const flat = inputs();
  it.each([
    ['halted', (g: RiskGateway) => g.halt('kill switch'), 'halted'],
    ['paused', (g: RiskGateway) => g.pause('operator'), 'paused'],
  ] as const)('%s: strategies are stopped, stops and flattening orders still pass', (_n, act, check) => {
    const g = new RiskGateway(LIMITS);
    act(g);
    expect(g.check(intent(), flat)).toMatchObject({ approved: false, check });
    expect(g.check(intent({ side: 'SELL', purpose: 'stop' }), inputs({ position: 0.5 })).approved).toBe(true);
    expect(g.check(intent({ side: 'SELL', purpose: 'flatten' }), inputs({ now: 1001, position: 0.5 })).approved).toBe(true);
    g.resume();
    expect(g.check(intent(), inputs({ now: 1002 })).approved).toBe(true);
  });

  it('pauses strategies while the schedule says so', () => {
    const g = new RiskGateway(LIMITS);
    expect(g.check(intent(), inputs({ scheduleReason: 'Shabbat until 2026-11-28T16:58:00+02:00' }))).toMatchObject({ approved: false, check: 'schedule', reason: /Shabbat/ });
  });

  it('limits gross exposure over all symbols, but lets reducing orders through', () => {
    const g = new RiskGateway({ ...LIMITS, maxTotalNotional: 1000 });
    // 0.01 BTC at ~60000 = 600 on top of 500 → 1100 > 1000
    expect(g.check(intent(), inputs({ grossExposure: 500 }))).toMatchObject({ approved: false, check: 'total_notional' });
    expect(g.check(intent(), inputs({ grossExposure: 300 })).approved).toBe(true);
    expect(g.check(intent({ side: 'SELL' }), inputs({ now: 1001, grossExposure: 5000, position: 0.05 })).approved).toBe(true);
  });

  it('resets the drawdown breaker after its cool-down, from the current equity', () => {
    const g = new RiskGateway({ ...LIMITS, breakerCooldownMs: 60_000 });
    g.observeEquity(10_000, 0);
    g.observeEquity(9_000, 1_000);
    expect(g.breakerTripped).toBe(true);
    g.observeEquity(9_000, 60_999);
    expect(g.breakerTripped).toBe(true);
    g.observeEquity(9_000, 61_000);
    expect(g.breakerTripped).toBe(false);
    expect(g.highWaterMark).toBe(9_000);
  });

  it('stays tripped without a cool-down until an explicit reset', () => {
    const g = new RiskGateway(LIMITS);
    g.observeEquity(10_000, 0);
    g.observeEquity(9_000, 1_000);
    g.observeEquity(9_000, 1e9);
    expect(g.breakerTripped).toBe(true);
    g.resetBreaker(9_000);
    expect(g.check(intent(), inputs()).approved).toBe(true);
  });

  it('pauses new risk after N losing trades in a row, for the configured time', () => {
    const g = new RiskGateway({ ...LIMITS, lossStreak: 3, lossStreakPauseMs: 10_000 });
    g.observeTrip(-1, 100);
    g.observeTrip(-1, 200);
    g.observeTrip(+1, 300); // a winner breaks the streak
    g.observeTrip(-1, 400);
    g.observeTrip(-1, 500);
    expect(g.check(intent(), inputs()).approved).toBe(true);
    g.observeTrip(-2, 600); // third loser in a row
    expect(g.check(intent(), inputs({ now: 1001 }))).toMatchObject({ approved: false, check: 'loss_streak' });
    expect(g.check(intent({ side: 'SELL' }), inputs({ now: 1002, position: 0.5 })).approved).toBe(true); // reducing
    expect(g.check(intent(), inputs({ now: 10_600, book: syncedBook(inst, [[60000, 2]], [[60001, 2]], 10_600).book })).approved).toBe(true);
  });

  it.each([
    ['too early', { now: 1000 + 299_999, dataPoints: 500 }, false],
    ['too few data points', { now: 1000 + 400_000, dataPoints: 99 }, false],
    ['both met', { now: 1000 + 300_000, dataPoints: 100 }, true],
  ] as const)('warm-up: %s', (_n, x, ok) => {
    const g = new RiskGateway({ ...LIMITS, warmupMs: 300_000, warmupPoints: 100 }, 1000);
    const book = syncedBook(inst, [[60000, 2]], [[60001, 2]], x.now).book;
    const d = g.check(intent(), inputs({ ...x, book }));
    expect(d.approved).toBe(ok);
    if (!ok) expect(d).toMatchObject({ check: 'warmup' });
  });

  it.each([
    ['positive funding blocks new longs', 0.002, 'BUY', 0, false],
    ['positive funding lets shorts open', 0.002, 'SELL', 0, true],
    ['negative funding blocks new shorts', -0.002, 'SELL', 0, false],
    ['funding within the limit', 0.0005, 'BUY', 0, true],
    ['reducing a long is fine whatever the funding', 0.002, 'SELL', 0.5, true],
    ['unknown funding', null, 'BUY', 0, true],
  ] as const)('funding caution: %s', (_n, fundingRate, side, position, ok) => {
    const g = new RiskGateway({ ...LIMITS, maxFundingRate: 0.001 });
    const d = g.check(intent({ side }), inputs({ fundingRate, position }));
    expect(d.approved).toBe(ok);
    if (!ok) expect(d).toMatchObject({ check: 'funding' });
  });

  it('round-trips its control state', () => {
    const g = new RiskGateway(LIMITS);
    g.halt('test');
    g.observeEquity(10_000, 0);
    g.observeEquity(9_000, 5);
    const h = new RiskGateway(LIMITS);
    h.restore(JSON.parse(JSON.stringify(g.controlState())));
    expect(h.controlState()).toEqual(g.controlState());
  });
});

describe('sliding rate limiter at its window edges', () => {
  it.each([
    // five orders at t = 0..4 ms fill the 5/s window; the window is (now − 1000, now]
    ['1 ms before the first order leaves the window', 999.999, 'second'],
    ['exactly one window after the first order', 1000, null],
    ['just after', 1000.001, null],
  ] as const)('%s', (_n, now, expected) => {
    const l = new SlidingRateLimiter([{ windowMs: 1000, limit: 5, label: 'second' }]);
    for (let t = 0; t < 5; t++) l.record(t);
    expect(l.wouldExceed(now)?.label ?? null).toBe(expected);
  });

  it('keeps counting correctly after its ring buffer wraps many times', () => {
    const l = new SlidingRateLimiter([{ windowMs: 1000, limit: 3, label: 'second' }, { windowMs: 10_000, limit: 20, label: 'ten seconds' }]);
    let accepted = 0;
    for (let t = 0; t < 100_000; t += 100) {
      if (!l.wouldExceed(t)) {
        l.record(t);
        accepted++;
      }
    }
    // 20 per 10 s is the tighter limit over the long run: 100 s → 200 orders
    expect(accepted).toBe(200);
  });
});
