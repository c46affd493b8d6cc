import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../../test/support/books.js';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import { DecisionLatency, MlGate } from '../../ml/gate.js';
import { fakeModel } from '../../ml/testing.js';
import type { TradeEvent } from '../../model/events.js';
import type { Order } from '../../model/order.js';
import type { FuturesView, StrategyContext } from '../strategy.js';
import { MarketTracker, microprice, ObiStrategy, weightedImbalance, type ObiParams } from './obi.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const P: ObiParams = {
  levels: 3, decay: 0.5, threshold: 0.3, persistence: 3, maxSpreadTicks: 5, orderNotional: 600, maxPosition: 1, cooldownMs: 1000,
  orderType: 'market', orderTtlMs: 5000,
  // the filters and exits have their own tests below: off here
  momentumMs: 0, momentumTicks: 0, volWindowMs: 60_000, minVolBps: 0, maxVolBps: 0, oiConfirm: false, oiWindowMs: 300_000,
  liqMax: 0, liqWindowMs: 10_000, maxHoldMs: 0, exitOnOpposite: false,
};

const NO_FUTURES: FuturesView = { fundingRate: null, openInterest: null, openInterestChange: () => null, liquidations: () => 0 };

function mkCtx(now: number, position = 0, open: Order[] = [], canceled: string[] = [], extra: { openedAt?: number | null; futures?: FuturesView } = {}): StrategyContext {
  return {
    now,
    position: () => position,
    positionInfo: () => ({ qty: position, avgEntry: 60000, openedAt: position === 0 ? null : extra.openedAt ?? 0 }),
    futures: () => extra.futures ?? NO_FUTURES,
    openOrders: () => open,
    cancel: (id) => void canceled.push(id),
  };
}

function working(side: 'BUY' | 'SELL', createdAt: number): Order {
  return {
    id: `o-${side}-${createdAt}`, venue: 'spot', symbol: 'BTCUSDT', side, type: 'LIMIT', timeInForce: 'GTC', postOnly: true, qty: 0.01,
    price: 60000, strategy: 'obi', reason: '', status: 'ACCEPTED', filledQty: 0, avgPrice: 0, createdAt, updatedAt: createdAt,
  };
}

describe('order book imbalance', () => {
  it('weighs closer levels more', () => {
    const s = syncedBook(inst, [[100, 4], [99, 4]], [[101, 2], [102, 8]]);
    // bids: 4 + 0.5*4 = 6; asks: 2 + 0.5*8 = 6 -> 0
    expect(weightedImbalance(s.book.bids, s.book.asks, 3, 0.5)).toBeCloseTo(0, 12);
    // only the top level: (4 - 2) / 6
    expect(weightedImbalance(s.book.bids, s.book.asks, 1, 0.5)).toBeCloseTo(1 / 3, 12);
  });

  it('signals after the persistence count and not before, then respects the cooldown', () => {
    const strat = new ObiStrategy(P);
    const book = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book; // imbalance 4/6 = 0.67
    const ctx = (now: number) => mkCtx(now);
    expect(strat.onBook(book, inst, ctx(0))).toBeNull();
    expect(strat.onBook(book, inst, ctx(100))).toBeNull();
    const i = strat.onBook(book, inst, ctx(200));
    expect(i).toMatchObject({ side: 'BUY', type: 'MARKET', symbol: 'BTCUSDT', qtyUnits: 999_000 /* 600 / mid 60000.005 = 0.0099999, floored to the 0.00001 step */ });
    expect(i?.strategy).toMatch(/^obi@0\.4\.0#[0-9a-f]{8}$/);
    for (let t = 300; t < 1200; t += 100) expect(strat.onBook(book, inst, ctx(t))).toBeNull();
    // cooldown over and persistence met again
    expect(strat.onBook(book, inst, ctx(1300))).not.toBeNull();
  });

  it('resets the streak when the imbalance changes direction or fades', () => {
    const strat = new ObiStrategy(P);
    const up = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    const flat = syncedBook(inst, [[60000, 1]], [[60000.01, 1]]).book;
    const down = syncedBook(inst, [[60000, 1]], [[60000.01, 5]]).book;
    const ctx = mkCtx(0);
    for (const b of [up, up, flat, up, up, down, down]) expect(strat.onBook(b, inst, ctx)).toBeNull();
    expect(strat.onBook(down, inst, ctx)).toMatchObject({ side: 'SELL' });
  });

  it('does not trade through a wide spread or beyond the position target', () => {
    const strat = new ObiStrategy(P);
    const wide = syncedBook(inst, [[60000, 5]], [[60000.1, 1]]).book; // 10 ticks
    for (let t = 0; t < 5; t++) expect(strat.onBook(wide, inst, mkCtx(t * 2000))).toBeNull();
    const tight = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    for (let t = 0; t < 5; t++) expect(strat.onBook(tight, inst, mkCtx(t * 2000, 1))).toBeNull();
    // near the target: only the room that is left
    const s2 = new ObiStrategy(P);
    let got = null;
    for (let t = 0; t < 3; t++) got = s2.onBook(tight, inst, mkCtx(t, 0.995));
    expect(got).toMatchObject({ side: 'BUY', qtyUnits: 500_000 });
  });

  it('gives different ids to different parameters', () => {
    expect(new ObiStrategy(P).id).not.toBe(new ObiStrategy({ ...P, threshold: 0.4 }).id);
    expect(new ObiStrategy(P).id).toBe(new ObiStrategy({ ...P }).id);
  });

  it.each([
    { orderType: 'limit' as const, side: 'BUY', price: 6_000_001, postOnly: undefined, book: [[60000, 5]], asks: [[60000.01, 1]] },
    { orderType: 'post-only' as const, side: 'BUY', price: 6_000_000, postOnly: true, book: [[60000, 5]], asks: [[60000.01, 1]] },
    { orderType: 'limit' as const, side: 'SELL', price: 6_000_000, postOnly: undefined, book: [[60000, 1]], asks: [[60000.01, 5]] },
    { orderType: 'post-only' as const, side: 'SELL', price: 6_000_001, postOnly: true, book: [[60000, 1]], asks: [[60000.01, 5]] },
  ])('$orderType mode sends a GTC limit $side at the right touch', ({ orderType, side, price, postOnly, book, asks }) => {
    const strat = new ObiStrategy({ ...P, orderType });
    const b = syncedBook(inst, book as [number, number][], asks as [number, number][]).book;
    let got = null;
    for (let t = 0; t < 3; t++) got = strat.onBook(b, inst, mkCtx(t));
    expect(got).toMatchObject({ type: 'LIMIT', side, priceUnits: price, timeInForce: 'GTC' });
    expect(got?.postOnly).toBe(postOnly);
  });

  it('in limit modes sends nothing while an order works, and cancels it when the signal turns or it grows old', () => {
    const strat = new ObiStrategy({ ...P, orderType: 'post-only', orderTtlMs: 5000 });
    const up = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    const down = syncedBook(inst, [[60000, 1]], [[60000.01, 5]]).book;
    const canceled: string[] = [];
    const buy = working('BUY', 0);
    // the signal agrees and the order is young: nothing to do
    for (let t = 0; t < 5; t++) expect(strat.onBook(up, inst, mkCtx(t * 100, 0, [buy], canceled))).toBeNull();
    expect(canceled).toEqual([]);
    // the signal turns against it: canceled once
    expect(strat.onBook(down, inst, mkCtx(600, 0, [buy], canceled))).toBeNull();
    expect(canceled).toEqual([buy.id]);
    // too old (ttl 5000) even though the signal agrees
    const old = working('BUY', 1000);
    expect(strat.onBook(up, inst, mkCtx(6000, 0, [old], canceled))).toBeNull();
    expect(canceled).toEqual([buy.id, old.id]);
    // a cancel already requested is not asked again
    old.cancelRequestedAt = 6000;
    expect(strat.onBook(down, inst, mkCtx(6100, 0, [old], canceled))).toBeNull();
    expect(canceled).toHaveLength(2);
  });
});

describe('microprice and the market tracker', () => {
  it('leans the microprice toward the thinner side', () => {
    // bid 100 x 3, ask 101 x 1: (100*1 + 101*3) / 4 = 100.75
    expect(microprice(100, 3, 101, 1)).toBeCloseTo(100.75, 12);
    expect(microprice(100, 0, 101, 0)).toBe(100.5);
  });

  it('measures momentum over a window and the std of 1-second mid returns', () => {
    const t = new MarketTracker(10_000);
    expect(t.momentum(0, 1000)).toBeNaN();
    t.observe(0, 100, 100);
    t.observe(400, 101, 100);
    t.observe(1000, 103, 101);
    // at 1000: the newest sample at least 1000 ms old is the one at 0 -> 103 - 100
    expect(t.momentum(1000, 1000)).toBe(3);
    expect(t.momentum(1000, 600)).toBe(2); // vs the sample at 400
    // seconds 0, 1, 2, 3 end at mids 100, 101, 100, 102 -> returns ln(1.01), ln(100/101), ln(1.02)
    t.observe(2000, 100, 100);
    t.observe(3000, 102, 102);
    t.observe(4000, 102, 102);
    const r = [Math.log(101 / 100), Math.log(100 / 101), Math.log(102 / 100)];
    const mean = (r[0]! + r[1]! + r[2]!) / 3;
    const sd = Math.sqrt(r.reduce((a, x) => a + (x - mean) ** 2, 0) / 2);
    expect(t.volatilityBps()).toBeCloseTo(sd * 1e4, 9);
  });
});

describe('order book imbalance: filters and exits', () => {
  const up = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book; // buy signal
  const down = syncedBook(inst, [[60000, 1]], [[60000.01, 5]]).book; // sell signal
  const signal = (s: ObiStrategy, book: typeof up, ctxAt: (t: number) => StrategyContext) => {
    let got = null;
    for (let t = 0; t < 3; t++) got = s.onBook(book, inst, ctxAt(t));
    return got;
  };

  it('momentum: an entry waits until the microprice confirms it', () => {
    const s = new ObiStrategy({ ...P, momentumMs: 1000, momentumTicks: 0 });
    // no history yet: unknown momentum blocks
    expect(signal(s, up, (t) => mkCtx(t))).toBeNull();
    expect(s.status()).toMatchObject({ symbols: { BTCUSDT: { lastBlock: expect.stringMatching(/momentum/) } } });
    // one second later with the same microprice: momentum 0 is not against a buy
    expect(s.onBook(up, inst, mkCtx(1500))).toMatchObject({ side: 'BUY' });
  });

  it('momentum does not hold back an order that reduces the position', () => {
    const s = new ObiStrategy({ ...P, momentumMs: 1000, exitOnOpposite: true });
    expect(signal(s, down, (t) => mkCtx(t, 0.5))).toMatchObject({ side: 'SELL', qtyUnits: 50_000_000 });
  });

  it.each([
    ['below the band', { minVolBps: 5, maxVolBps: 0 }, /below/],
    ['above the band', { minVolBps: 0, maxVolBps: 0.5 }, /above/],
  ])('volatility band: %s blocks entries', (_n, band, why) => {
    const s = new ObiStrategy({ ...P, ...band, volWindowMs: 10_000 });
    // mids alternate 1 bp around 60000 for 4 seconds: a small, known volatility
    const b1 = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    const b2 = syncedBook(inst, [[60006, 5]], [[60006.01, 1]]).book;
    for (let sec = 0; sec < 5; sec++) s.onBook(sec % 2 ? b2 : b1, inst, mkCtx(sec * 1000));
    expect(signal(s, up, (t) => mkCtx(6000 + t))).toBeNull();
    expect(s.status()).toMatchObject({ symbols: { BTCUSDT: { lastBlock: expect.stringMatching(why) } } });
  });

  it('liquidation cascade guard and open-interest confirmation block entries', () => {
    const cascade = { fundingRate: null, openInterest: 1, openInterestChange: () => 0.01, liquidations: (w: number) => (w === 10_000 ? 3 : 0) };
    const s = new ObiStrategy({ ...P, liqMax: 3, liqWindowMs: 10_000 });
    expect(signal(s, up, (t) => mkCtx(t, 0, [], [], { futures: cascade }))).toBeNull();
    expect(s.status()).toMatchObject({ symbols: { BTCUSDT: { lastBlock: expect.stringMatching(/cascade/) } } });
    const falling = { ...NO_FUTURES, openInterestChange: () => -0.02 };
    const o = new ObiStrategy({ ...P, oiConfirm: true, oiWindowMs: 60_000 });
    expect(signal(o, up, (t) => mkCtx(t, 0, [], [], { futures: falling }))).toBeNull();
    const rising = { ...NO_FUTURES, openInterestChange: () => 0.02 };
    expect(signal(new ObiStrategy({ ...P, oiConfirm: true, oiWindowMs: 60_000 }), up, (t) => mkCtx(t, 0, [], [], { futures: rising }))).toMatchObject({ side: 'BUY' });
  });

  it('an opposite signal closes the whole position', () => {
    const s = new ObiStrategy({ ...P, exitOnOpposite: true });
    expect(signal(s, down, (t) => mkCtx(t, 0.3))).toMatchObject({ side: 'SELL', qtyUnits: 30_000_000 });
    const stepwise = new ObiStrategy({ ...P, exitOnOpposite: false });
    expect(signal(stepwise, down, (t) => mkCtx(t, 0.3))).toMatchObject({ side: 'SELL', qtyUnits: 999_000 });
  });

  it('time stop: a position held longer than maxHoldMs is closed at market, whatever the signal', () => {
    const s = new ObiStrategy({ ...P, maxHoldMs: 60_000 });
    const flat = syncedBook(inst, [[60000, 1]], [[60000.01, 1]]).book;
    expect(s.onBook(flat, inst, mkCtx(59_999, -0.02, [], [], { openedAt: 0 }))).toBeNull();
    expect(s.onBook(flat, inst, mkCtx(60_000, -0.02, [], [], { openedAt: 0 }))).toMatchObject({ side: 'BUY', type: 'MARKET', qtyUnits: 2_000_000, reason: expect.stringMatching(/^time stop/) });
  });

  it('keeps its state across a JSON round trip', () => {
    const s = new ObiStrategy(P);
    s.onBook(up, inst, mkCtx(0));
    s.onBook(up, inst, mkCtx(1));
    const t = new ObiStrategy(P);
    t.loadState(JSON.parse(JSON.stringify(s.saveState())));
    // the streak carries over: the third observation signals at once
    expect(t.onBook(up, inst, mkCtx(2))).toMatchObject({ side: 'BUY' });
  });
});

describe('the ML gate', () => {
  const up = () => syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book; // imbalance 0.67: a buy signal
  const down = () => syncedBook(inst, [[60000, 1]], [[60000.01, 5]]).book;

  it('enters only when the model gives the direction MIN_CONFIDENCE or more, and says why not', () => {
    const doubtful = new ObiStrategy(P, new MlGate(fakeModel({ probs: [0.1, 0.45, 0.45] }), 0.6, 20, null));
    for (let t = 0; t < 3; t++) expect(doubtful.onBook(up(), inst, mkCtx(t * 100))).toBeNull();
    const st = doubtful.status() as { symbols: Record<string, { lastBlock: string }>; ml: { model: string; symbols: Record<string, { blocks: number }> } };
    expect(st.symbols['BTCUSDT']!.lastBlock).toBe('model: p(up) 0.450 < 0.6');
    expect(st.ml).toMatchObject({ model: 'fake@00000000', minConfidence: 0.6, decisionLatencyUs: 20, symbols: { BTCUSDT: { blocks: 1 } } });

    const sure = new ObiStrategy(P, new MlGate(fakeModel({ probs: [0.1, 0.2, 0.7] }), 0.6, 20, null));
    let got = null;
    for (let t = 0; t < 3; t++) got = sure.onBook(up(), inst, mkCtx(t * 100));
    expect(got).toMatchObject({ side: 'BUY', reason: expect.stringContaining('model p=0.700') });
    // the same model says nothing for a sell
    const sells = new ObiStrategy(P, new MlGate(fakeModel({ probs: [0.1, 0.2, 0.7] }), 0.6, 20, null));
    for (let t = 0; t < 4; t++) expect(sells.onBook(down(), inst, mkCtx(t * 100))).toBeNull();
  });

  it('never holds back an order that reduces the position', () => {
    const m = fakeModel({ probs: [0.05, 0.9, 0.05] });
    const s = new ObiStrategy({ ...P, exitOnOpposite: true }, new MlGate(m, 0.6, 20, null));
    let got = null;
    for (let t = 0; t < 3; t++) got = s.onBook(down(), inst, mkCtx(t * 100, 0.5));
    expect(got).toMatchObject({ side: 'SELL', reason: expect.stringContaining('reduces position') });
    expect(m.calls).toBe(0);
  });

  it('charges the decision latency to gated entries only', () => {
    const d = new DecisionLatency();
    const s = new ObiStrategy(P, new MlGate(fakeModel({ probs: [0.1, 0.2, 0.7] }), 0.6, 500, d));
    for (let t = 0; t < 3; t++) s.onBook(up(), inst, mkCtx(t * 100));
    expect(d.take(200)).toBe(0.5);
    const exits = new ObiStrategy({ ...P, exitOnOpposite: true }, new MlGate(fakeModel({ probs: [1, 0, 0] }), 0.6, 500, d));
    for (let t = 0; t < 3; t++) exits.onBook(down(), inst, mkCtx(t * 100, 0.5));
    expect(d.take(200)).toBe(0);
  });

  it('feeds the trades it is given to the features, and the gate is part of the id', () => {
    const m = fakeModel({ probs: [0.1, 0.2, 0.7] });
    const s = new ObiStrategy(P, new MlGate(m, 0.6, 20, null));
    const trade = { kind: 'trade', venue: 'spot', symbol: 'BTCUSDT', priceUnits: 6_000_000, qtyUnits: 100_000, buyerIsMaker: false, eventTime: 0, recvTime: 0, tradeId: 1 } as unknown as TradeEvent;
    for (let t = 0; t < 3; t++) {
      expect(s.onTrade(trade, inst, mkCtx(t * 100))).toBeNull();
      s.onBook(up(), inst, mkCtx(t * 100));
    }
    // trade_imb_1s (feature 20): only buys
    expect(m.lastInput![20]).toBe(1);
    expect(s.id).not.toBe(new ObiStrategy(P).id);
    expect(s.id).not.toBe(new ObiStrategy(P, new MlGate(m, 0.7, 20, null)).id);
  });
});
