import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../../test/support/books.js';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import { ObiStrategy, weightedImbalance, type ObiParams } from './obi.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const P: ObiParams = { levels: 3, decay: 0.5, threshold: 0.3, persistence: 3, maxSpreadTicks: 5, orderNotional: 600, maxPosition: 1, cooldownMs: 1000 };

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
    const ctx = (now: number) => ({ now, position: () => 0 });
    expect(strat.onBook(book, inst, ctx(0))).toBeNull();
    expect(strat.onBook(book, inst, ctx(100))).toBeNull();
    const i = strat.onBook(book, inst, ctx(200));
    expect(i).toMatchObject({ side: 'BUY', type: 'MARKET', symbol: 'BTCUSDT', qtyUnits: 999_000 /* 600 / mid 60000.005 = 0.0099999, floored to the 0.00001 step */ });
    expect(i?.strategy).toMatch(/^obi@0\.1\.0#[0-9a-f]{8}$/);
    for (let t = 300; t < 1200; t += 100) expect(strat.onBook(book, inst, ctx(t))).toBeNull();
    // cooldown over and persistence met again
    expect(strat.onBook(book, inst, ctx(1300))).not.toBeNull();
  });

  it('resets the streak when the imbalance changes direction or fades', () => {
    const strat = new ObiStrategy(P);
    const up = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    const flat = syncedBook(inst, [[60000, 1]], [[60000.01, 1]]).book;
    const down = syncedBook(inst, [[60000, 1]], [[60000.01, 5]]).book;
    const ctx = { now: 0, position: () => 0 };
    for (const b of [up, up, flat, up, up, down, down]) expect(strat.onBook(b, inst, ctx)).toBeNull();
    expect(strat.onBook(down, inst, ctx)).toMatchObject({ side: 'SELL' });
  });

  it('does not trade through a wide spread or beyond the position target', () => {
    const strat = new ObiStrategy(P);
    const wide = syncedBook(inst, [[60000, 5]], [[60000.1, 1]]).book; // 10 ticks
    for (let t = 0; t < 5; t++) expect(strat.onBook(wide, inst, { now: t * 2000, position: () => 0 })).toBeNull();
    const tight = syncedBook(inst, [[60000, 5]], [[60000.01, 1]]).book;
    for (let t = 0; t < 5; t++) expect(strat.onBook(tight, inst, { now: t * 2000, position: () => 1 })).toBeNull();
    // near the target: only the room that is left
    const s2 = new ObiStrategy(P);
    let got = null;
    for (let t = 0; t < 3; t++) got = s2.onBook(tight, inst, { now: t, position: () => 0.995 });
    expect(got).toMatchObject({ side: 'BUY', qtyUnits: 500_000 });
  });

  it('gives different ids to different parameters', () => {
    expect(new ObiStrategy(P).id).not.toBe(new ObiStrategy({ ...P, threshold: 0.4 }).id);
    expect(new ObiStrategy(P).id).toBe(new ObiStrategy({ ...P }).id);
  });
});
