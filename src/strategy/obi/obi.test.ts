import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../../test/support/books.js';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import type { Order } from '../../model/order.js';
import type { StrategyContext } from '../strategy.js';
import { ObiStrategy, weightedImbalance, type ObiParams } from './obi.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const P: ObiParams = {
  levels: 3, decay: 0.5, threshold: 0.3, persistence: 3, maxSpreadTicks: 5, orderNotional: 600, maxPosition: 1, cooldownMs: 1000,
  orderType: 'market', orderTtlMs: 5000,
};

function mkCtx(now: number, position = 0, open: Order[] = [], canceled: string[] = []): StrategyContext {
  return { now, position: () => position, openOrders: () => open, cancel: (id) => void canceled.push(id) };
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
    expect(i?.strategy).toMatch(/^obi@0\.2\.0#[0-9a-f]{8}$/);
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
