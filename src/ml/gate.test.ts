import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../test/support/books.js';
import { BookSide } from '../book/side.js';
import { FEATURE_COUNT, FEATURE_SCHEMA } from '../features/schema.js';
import { referenceInstrument } from '../marketdata/binance/reference.js';
import { DecisionLatency, MlGate } from './gate.js';
import { ObiStrategy, type ObiParams } from '../strategy/obi/obi.js';
import type { StrategyContext } from '../strategy/strategy.js';
import { fakeModel } from './testing.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const book = syncedBook(inst, [[60000, 5], [59999.99, 1]], [[60000.01, 1], [60000.02, 2]]).book;
const empty = { bids: new BookSide(-1, 4), asks: book.asks };

describe('ML gate', () => {
  it('passes an entry when the probability of its direction reaches the confidence: up for a buy, down for a sell', () => {
    const g = new MlGate(fakeModel({ probs: [0.2, 0.1, 0.7] }), 0.6, 20, null);
    g.onBook('BTCUSDT', book, inst, 0);
    expect(g.check('BTCUSDT', 1, 0)).toEqual({ pass: true, probability: 0.7, reason: null });
    expect(g.check('BTCUSDT', -1, 0)).toMatchObject({ pass: false, probability: 0.2, reason: 'model: p(down) 0.200 < 0.6' });
    const st = g.status() as { symbols: Record<string, { passes: number; blocks: number }>; inference: { count: number } };
    expect(st.symbols['BTCUSDT']).toMatchObject({ passes: 1, blocks: 1 });
    expect(st.inference.count).toBe(2);
  });

  it('feeds USD-M futures events of the symbol to its features (funding, mark basis, liquidations), through the OBI strategy too', () => {
    const names = FEATURE_SCHEMA.names as readonly string[];
    const m = fakeModel({ probs: [0.2, 0.1, 0.7] });
    const g = new MlGate(m, 0.6, 0, null);
    const s = new ObiStrategy({} as ObiParams, g);
    const ctx = { now: 500 } as StrategyContext;
    g.onBook('BTCUSDT', book, inst, 0);
    g.check('BTCUSDT', 1, 0);
    expect(Number.isNaN(m.lastInput![names.indexOf('funding_rate_bp')]!)).toBe(true);
    s.onFutures({ kind: 'markPrice', venue: 'usdm', symbol: 'BTCUSDT', eventTime: 400, recvTime: 500, markPrice: 60001.005, indexPrice: 60000, fundingRate: 0.0001, nextFundingTime: 0 }, ctx);
    g.onFutures('BTCUSDT', { kind: 'liquidation', venue: 'usdm', symbol: 'BTCUSDT', eventTime: 400, recvTime: 600, side: 'SELL', price: 60000, qty: 0.5 }, 600);
    g.check('BTCUSDT', 1, 600);
    const x = m.lastInput!;
    expect(x[names.indexOf('funding_rate_bp')]).toBeCloseTo(1, 5);
    expect(x[names.indexOf('mark_basis_bp')]).toBeCloseTo(((60001.005 - 60000.005) / 60000.005) * 1e4, 3);
    expect(x[names.indexOf('liq_count_60s')]).toBe(1);
    expect(x[names.indexOf('liq_imb_60s')]).toBe(-1);
  });

  it('treats the confidence as inclusive', () => {
    const g = new MlGate(fakeModel({ probs: [0.6, 0.2, 0.2] }), 0.6, 0, null);
    g.onBook('BTCUSDT', book, inst, 0);
    expect(g.check('BTCUSDT', -1, 0).pass).toBe(true);
  });

  it('does not ask the model during the warm-up, without a valid book, or before K vectors', () => {
    const m = fakeModel({ probs: [0, 0, 1], warmupMs: 60_000 });
    const g = new MlGate(m, 0.5, 0, null);
    expect(g.check('BTCUSDT', 1, 0)).toMatchObject({ pass: false, reason: 'model: no valid book' });
    g.onBook('BTCUSDT', book, inst, 1000);
    expect(g.check('BTCUSDT', 1, 30_000)).toMatchObject({ pass: false, reason: 'model: warming up (29 of 60 s of book)' });
    g.onBook('BTCUSDT', book, inst, 61_000);
    expect(g.check('BTCUSDT', 1, 61_000).pass).toBe(true);
    // an empty side is no book: the warm-up starts again
    g.onBook('BTCUSDT', empty, inst, 62_000);
    expect(g.check('BTCUSDT', 1, 62_000).reason).toBe('model: no valid book');
    g.onBook('BTCUSDT', book, inst, 63_000);
    expect(g.check('BTCUSDT', 1, 63_000).reason).toMatch(/warming up \(0 of 60/);
    g.onResync('BTCUSDT', 200_000);
    expect(g.check('BTCUSDT', 1, 200_000).reason).toBe('model: no valid book');
    expect(m.calls).toBe(1);
  });

  it('feeds a sequence model the last K vectors, oldest first, and starts over after a gap', () => {
    const m = fakeModel({ probs: [0, 0, 1], k: 3 });
    const g = new MlGate(m, 0.5, 0, null);
    const books = [1, 2, 3, 4].map((q) => syncedBook(inst, [[60000, q]], [[60000.01, 1]]).book);
    g.onBook('BTCUSDT', books[0]!, inst, 0);
    g.onBook('BTCUSDT', books[1]!, inst, 100);
    expect(g.check('BTCUSDT', 1, 100).reason).toBe('model: 2 of 3 vectors');
    g.onBook('BTCUSDT', books[2]!, inst, 200);
    g.onBook('BTCUSDT', books[3]!, inst, 300);
    expect(g.check('BTCUSDT', 1, 300).pass).toBe(true);
    // imb_l1 (feature 0) of each step: (q - 1) / (q + 1) for q = 2, 3, 4
    const x = m.lastInput!;
    expect(x.length).toBe(3 * FEATURE_COUNT);
    expect([x[0], x[FEATURE_COUNT], x[2 * FEATURE_COUNT]].map((v) => Number(v!.toFixed(6)))).toEqual([1 / 3, 0.5, 0.6].map((v) => Number(Math.fround(v).toFixed(6))));
    // more than a second without a book: the window would span a gap the training windows never did
    g.onBook('BTCUSDT', books[0]!, inst, 1500);
    expect(g.check('BTCUSDT', 1, 1500).reason).toBe('model: 1 of 3 vectors');
  });

  it('charges its decision latency once, to the decision it was charged for', () => {
    const d = new DecisionLatency();
    const g = new MlGate(fakeModel(), 0.5, 250, d);
    g.charge(1000);
    expect(d.take(999)).toBe(0);
    expect(d.take(1000)).toBe(0.25);
    expect(d.take(1000)).toBe(0);
    g.charge(2000);
    g.beginEvent(); // the order never reached the exchange: the next event drops the charge
    expect(d.take(2000)).toBe(0);
  });
});
