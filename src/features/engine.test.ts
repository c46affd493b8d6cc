import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BookSide } from '../book/side.js';
import { weightedImbalance } from './book-math.js';
import { FeatureEngine, type BookView, type FeatureInstrument } from './engine.js';
import { FEATURE_COUNT, FEATURE_SCHEMA, FUTURES_FEATURES, checkFeatureSchema, featureIndex, type FeatureName } from './schema.js';

/** price units of 0.01, tick 1 unit; quantities in whole units */
const INST: FeatureInstrument = { tickUnits: 1, priceDecimals: 2, qtyDecimals: 0 };
/** quantities of 0.001 */
const INST_MILLI: FeatureInstrument = { tickUnits: 1, priceDecimals: 2, qtyDecimals: 3 };

function book(bids: [number, number][], asks: [number, number][]): BookView {
  const b = new BookSide(1);
  const a = new BookSide(-1);
  for (const [p, q] of bids) b.set(p, q);
  for (const [p, q] of asks) a.set(p, q);
  return { bids: b, asks: a };
}

function f(e: FeatureEngine, name: FeatureName): number {
  return e.values()[featureIndex(name)]!;
}

const trade = (qtyUnits: number, buyerIsMaker: boolean) => ({ priceUnits: 10000, qtyUnits, buyerIsMaker });

describe('feature schema', () => {
  it('names every value the engine writes, once', () => {
    expect(new Set(FEATURE_SCHEMA.names).size).toBe(FEATURE_COUNT);
    const out = new Float64Array(FEATURE_COUNT + 2).fill(7);
    new FeatureEngine().write(out, 1);
    expect(out[0]).toBe(7);
    expect(out[FEATURE_COUNT + 1]).toBe(7);
  });

  it('accepts the same version and names, and names the first difference otherwise', () => {
    expect(checkFeatureSchema({ version: '1', names: [...FEATURE_SCHEMA.names] }).ok).toBe(true);
    const other = checkFeatureSchema({ version: '0', names: [...FEATURE_SCHEMA.names] });
    expect(other.ok).toBe(false);
    const swapped = [...FEATURE_SCHEMA.names] as string[];
    [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
    const r = checkFeatureSchema({ version: '1', names: swapped });
    expect(r.ok ? '' : r.message).toContain('feature 1: model expects imb_l5');
    const short = checkFeatureSchema({ version: '1', names: FEATURE_SCHEMA.names.slice(0, -1) });
    expect(short.ok ? '' : short.message).toContain('(none)');
  });
});

describe('book features', () => {
  // bids 4, 2, 1 (0.001 units: 0.004 ...), asks 1, 3 around a mid of 10001 units
  const b = book([[10000, 4000], [9999, 2000], [9998, 1000]], [[10002, 1000], [10003, 3000]]);
  const e = new FeatureEngine();
  e.onBook(b, INST_MILLI, 0);

  it.each([
    ['imb_l1', 3 / 5],
    ['imb_l3', 3 / 11],
    ['imb_l5', 3 / 11],
    ['imb_l10', 3 / 11],
    ['wimb_l3', (5.25 - 2.5) / (5.25 + 2.5)],
    ['wimb_l5', (5.25 - 2.5) / (5.25 + 2.5)],
    // microprice (10000·1 + 10002·4) / 5 = 10001.6: 0.6 ticks above the mid
    ['microprice_offset_ticks', 0.6],
    ['microprice_offset_bp', (0.6 / 10001) * 1e4],
    ['spread_ticks', 2],
    ['spread_bp', (2 / 10001) * 1e4],
    // distances 1, 2, 3 units = 1e4/10001 bp each; cumulative qty 4, 6, 7 (base units)
    ['depth_slope_bid', (37 / 14) * (10001 / 1e4)],
    ['depth_slope_ask', (9 / 5) * (10001 / 1e4)],
    ['depth_slope_log_ratio', Math.log(37 / 14 / (9 / 5))],
  ] as [FeatureName, number][])('%s', (name, expected) => {
    expect(f(e, name)).toBeCloseTo(expected, 10);
  });

  it('reads NaN for a book with an empty side, and recovers with the next book', () => {
    const g = new FeatureEngine();
    g.onBook(book([[100, 1]], []), INST, 0);
    expect(f(g, 'imb_l1')).toBeNaN();
    expect(f(g, 'spread_ticks')).toBeNaN();
    g.onBook(book([[100, 1]], [[101, 1]]), INST, 1);
    expect(f(g, 'spread_ticks')).toBe(1);
  });
});

describe('order flow imbalance', () => {
  it('accumulates the best-level OFI over trailing windows, in base units', () => {
    const e = new FeatureEngine();
    e.onBook(book([[10000, 4]], [[10002, 1]]), INST, 0);
    expect(f(e, 'ofi_1s')).toBe(0); // nothing to compare the first book with
    // bid queue +1; ask price improves with 2: e = 1 − 2
    e.onBook(book([[10000, 5]], [[10001, 2]]), INST, 500);
    expect(f(e, 'ofi_1s')).toBe(-1);
    // bid level 10000 gone (−5), ask level 10001 gone (−(−2)): e = −5 + 2
    e.onBook(book([[9999, 3]], [[10002, 1]]), INST, 1200);
    expect(f(e, 'ofi_1s')).toBe(-4);
    expect(f(e, 'ofi_5s')).toBe(-4);
    e.advanceTo(1600); // (600, 1600]: the update at 500 left the 1 s window
    expect(f(e, 'ofi_1s')).toBe(-3);
    expect(f(e, 'ofi_5s')).toBe(-4);
    e.advanceTo(5600);
    expect(f(e, 'ofi_5s')).toBe(-3);
    expect(f(e, 'ofi_30s')).toBe(-4);
  });

  it('converts to base units', () => {
    const e = new FeatureEngine();
    e.onBook(book([[10000, 4000]], [[10002, 1000]]), INST_MILLI, 0);
    e.onBook(book([[10000, 4500]], [[10002, 1000]]), INST_MILLI, 10);
    expect(f(e, 'ofi_1s')).toBeCloseTo(0.5, 12);
  });

  it('sums the levels of the multi-level OFI, and a deeper change does not touch the best-level OFI', () => {
    const e = new FeatureEngine();
    e.onBook(book([[100, 5], [99, 2]], [[102, 3], [103, 1]]), INST, 0);
    // level 2: bid +4; ask 103 -> 104 (−1 taken away on the ask side = +1)
    e.onBook(book([[100, 5], [99, 6]], [[102, 3], [104, 7]]), INST, 100);
    expect(f(e, 'ofi_1s')).toBe(0);
    expect(f(e, 'mlofi_1s')).toBe(4 + 1);
  });

  it('computes nothing across a resync', () => {
    const e = new FeatureEngine();
    e.onBook(book([[100, 5]], [[102, 3]]), INST, 0);
    e.onResync(50);
    expect(f(e, 'imb_l1')).toBeNaN();
    e.onBook(book([[90, 1]], [[91, 9]]), INST, 100);
    expect(f(e, 'ofi_1s')).toBe(0);
    expect(f(e, 'rv_5s')).toBeNaN();
    e.advanceTo(5000);
    expect(f(e, 'rv_5s')).toBe(0); // the jump from 101 to 90.5 is not a return
  });
});

describe('trade features', () => {
  it('trade imbalance: (buy − sell) / (buy + sell) volume over each window, 0 without trades', () => {
    const e = new FeatureEngine();
    expect(f(e, 'trade_imb_1s')).toBe(0);
    e.onTrade(trade(3, false), 0); // aggressor bought 3
    e.onTrade(trade(1, true), 500); // aggressor sold 1
    expect(f(e, 'trade_imb_1s')).toBeCloseTo(2 / 4, 12);
    e.onTrade(trade(1, false), 2000);
    expect(f(e, 'trade_imb_1s')).toBe(1);
    expect(f(e, 'trade_imb_5s')).toBeCloseTo(3 / 5, 12);
    e.advanceTo(3500);
    expect(f(e, 'trade_imb_1s')).toBe(0);
  });

  it('trade rate: an exponentially weighted count per second, decayed to the time it is read', () => {
    const e = new FeatureEngine();
    expect(f(e, 'trade_rate_1s')).toBe(0);
    e.onTrade(trade(1, false), 0);
    e.onTrade(trade(1, true), 500);
    expect(f(e, 'trade_rate_1s')).toBeCloseTo(Math.exp(-0.5) + 1, 12);
    expect(f(e, 'trade_rate_10s')).toBeCloseTo((Math.exp(-0.05) + 1) / 10, 12);
    e.advanceTo(1500);
    expect(f(e, 'trade_rate_1s')).toBeCloseTo((Math.exp(-0.5) + 1) * Math.exp(-1), 12);
  });

  it('a steady stream of n trades per second reads about n', () => {
    const e = new FeatureEngine();
    for (let t = 0; t <= 60_000; t += 50) e.onTrade(trade(1, false), t);
    expect(f(e, 'trade_rate_1s')).toBeGreaterThan(19.5);
    expect(f(e, 'trade_rate_1s')).toBeLessThan(20.6);
    expect(f(e, 'trade_rate_10s')).toBeCloseTo(20, 0);
  });
});

describe('volatility and returns', () => {
  // mids 100, 101, 100 (units) at 0, 1000, 2000
  const mids = (e: FeatureEngine): void => {
    e.onBook(book([[99, 1]], [[101, 1]]), INST, 0);
    e.onBook(book([[100, 1]], [[102, 1]]), INST, 1000);
    e.onBook(book([[99, 1]], [[101, 1]]), INST, 2000);
  };

  it('realized volatility: root of the summed squared mid log returns in the window, bp; NaN until the history covers it', () => {
    const e = new FeatureEngine();
    mids(e);
    e.advanceTo(4999);
    expect(f(e, 'rv_5s')).toBeNaN();
    e.advanceTo(5000);
    expect(f(e, 'rv_5s')).toBeCloseTo(Math.sqrt(2) * Math.log(101 / 100) * 1e4, 9);
    e.advanceTo(6000); // (1000, 6000]: only the return at 2000
    expect(f(e, 'rv_5s')).toBeCloseTo(Math.log(101 / 100) * 1e4, 9);
    expect(f(e, 'rv_30s')).toBeNaN();
  });

  it('returns: mid log return since the mid as of now − h, bp; NaN while the history is shorter', () => {
    const e = new FeatureEngine();
    mids(e);
    expect(f(e, 'ret_1s')).toBeCloseTo(Math.log(100 / 101) * 1e4, 9);
    expect(f(e, 'ret_5s')).toBeNaN();
    e.advanceTo(5500); // as of 500: 100
    expect(f(e, 'ret_5s')).toBeCloseTo(0, 12);
    e.advanceTo(2500); // the past is not revisited
    expect(f(e, 'ret_5s')).toBeCloseTo(0, 12);
  });
});

describe('futures context', () => {
  it('is NaN without futures data', () => {
    const e = new FeatureEngine();
    e.onBook(book([[99, 1]], [[101, 1]]), INST, 0);
    for (const n of FUTURES_FEATURES) expect(f(e, n), n).toBeNaN();
  });

  it('funding, mark basis, liquidations and open interest change', () => {
    const e = new FeatureEngine();
    e.onBook(book([[9999, 1]], [[10001, 1]]), INST, 0); // mid 100.00
    e.onFutures({ kind: 'markPrice', venue: 'usdm', symbol: 'X', eventTime: 0, recvTime: 0, markPrice: 100.05, indexPrice: 100, fundingRate: 0.0001, nextFundingTime: 0 }, 0);
    expect(f(e, 'funding_rate_bp')).toBeCloseTo(1, 12);
    expect(f(e, 'mark_basis_bp')).toBeCloseTo(5, 9);
    expect(f(e, 'liq_count_60s')).toBe(0); // futures data flows: no liquidations is a count of 0
    expect(f(e, 'liq_imb_60s')).toBe(0);
    const liq = (side: 'BUY' | 'SELL', price: number, qty: number, t: number) =>
      e.onFutures({ kind: 'liquidation', venue: 'usdm', symbol: 'X', eventTime: t, recvTime: t, side, price, qty }, t);
    liq('SELL', 100, 3, 1000);
    liq('BUY', 100, 1, 2000);
    expect(f(e, 'liq_count_60s')).toBe(2);
    expect(f(e, 'liq_imb_60s')).toBeCloseTo((100 - 300) / 400, 12);
    e.advanceTo(61_000); // the first left the window
    expect(f(e, 'liq_count_60s')).toBe(1);
    expect(f(e, 'liq_imb_60s')).toBe(1);
    const oi = (v: number, t: number) => e.onFutures({ kind: 'openInterest', venue: 'usdm', symbol: 'X', time: t, recvTime: t, openInterest: v }, t);
    oi(1000, 100_000);
    expect(f(e, 'oi_change_5m_bp')).toBeNaN();
    oi(1010, 250_000);
    oi(1020, 400_000); // as of 100 000: 1000
    expect(f(e, 'oi_change_5m_bp')).toBeCloseTo(200, 9);
  });
});

// ---- properties ----

const level = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 1_000_000 }));
/** a valid book: bids strictly below asks, positive quantities, 1..15 levels per side */
const validBook = fc
  .tuple(fc.integer({ min: 1000, max: 1_000_000 }), fc.integer({ min: 1, max: 50 }), fc.array(level, { minLength: 1, maxLength: 15 }), fc.array(level, { minLength: 1, maxLength: 15 }))
  .map(([bid, spread, b, a]) => {
    const bids: [number, number][] = [];
    const asks: [number, number][] = [];
    let p = bid;
    for (const [gap, q] of b) bids.push([(p -= gap), q]);
    p = bid + spread;
    for (const [gap, q] of a) asks.push([(p += gap), q]);
    bids[0]![0] = bid;
    asks[0]![0] = bid + spread;
    return { bids, asks };
  });
type Ev = { kind: 'book'; dt: number; b: { bids: [number, number][]; asks: [number, number][] } } | { kind: 'trade'; dt: number; qty: number; sell: boolean } | { kind: 'resync'; dt: number };
const event: fc.Arbitrary<Ev> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('book' as const), dt: fc.integer({ min: 0, max: 3000 }), b: validBook }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('trade' as const), dt: fc.integer({ min: 0, max: 3000 }), qty: fc.integer({ min: 1, max: 1000 }), sell: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resync' as const), dt: fc.integer({ min: 0, max: 3000 }) }) },
);

function feed(events: Ev[], inst: FeatureInstrument, onVector?: (v: Float64Array, t: number, lastWasBook: boolean) => void): Float64Array[] {
  const e = new FeatureEngine();
  const out: Float64Array[] = [];
  let t = 1_700_000_000_000;
  for (const ev of events) {
    t += ev.dt;
    if (ev.kind === 'book') e.onBook(book(ev.b.bids, ev.b.asks), inst, t);
    else if (ev.kind === 'trade') e.onTrade(trade(ev.qty, ev.sell), t);
    else e.onResync(t);
    const v = e.values();
    onVector?.(v, t, ev.kind === 'book');
    out.push(Float64Array.from(v));
  }
  return out;
}

describe('feature properties', () => {
  it('the imbalances are weightedImbalance over 1, 3, 5, 10 levels, plain and with decay 0.5, exactly', () => {
    fc.assert(
      fc.property(validBook, ({ bids, asks }) => {
        const b = book(bids, asks);
        const e = new FeatureEngine();
        e.onBook(b, INST, 0);
        const got = ['imb_l1', 'imb_l3', 'imb_l5', 'imb_l10', 'wimb_l3', 'wimb_l5', 'wimb_l10'].map((n) => f(e, n as FeatureName));
        const want = [[1, 1], [3, 1], [5, 1], [10, 1], [3, 0.5], [5, 0.5], [10, 0.5]].map(([l, d]) => weightedImbalance(b.bids, b.asks, l!, d!));
        expect(got).toEqual(want);
      }),
    );
  });

  it('every book feature is finite right after any valid book, and every non-futures feature once 60 s of book history are covered', () => {
    const bookNames = FEATURE_SCHEMA.names.slice(0, 14);
    const nonFutures = FEATURE_SCHEMA.names.filter((n) => !FUTURES_FEATURES.includes(n));
    fc.assert(
      fc.property(validBook, fc.array(event, { minLength: 1, maxLength: 200 }), fc.constantFrom(INST, INST_MILLI, { tickUnits: 10, priceDecimals: 1, qtyDecimals: 8 }), (first, rest, inst) => {
        // a first book, 61 s of books every second, then anything
        const warm: Ev[] = Array.from({ length: 62 }, () => ({ kind: 'book', dt: 1000, b: first }));
        const events = [...warm, ...rest];
        let i = 0;
        let t0 = NaN;
        let resynced = false;
        feed(events, inst, (v, t, lastWasBook) => {
          if (Number.isNaN(t0)) t0 = t;
          if (events[i++]!.kind === 'resync') resynced = true;
          // (plain checks, one expect per failure: expect() in this loop would dominate the run time)
          const bad: string[] = [];
          if (lastWasBook) for (const n of bookNames) if (!Number.isFinite(v[featureIndex(n)]!)) bad.push(n);
          if (!resynced && lastWasBook && t - t0 >= 60_000) for (const n of nonFutures) if (!Number.isFinite(v[featureIndex(n)]!)) bad.push(n);
          for (const n of ['imb_l1', 'imb_l10', 'wimb_l10', 'trade_imb_1s', 'trade_imb_30s'] as const) if (Math.abs(v[featureIndex(n)]!) > 1) bad.push(`${n} outside [-1, 1]`);
          expect(bad).toEqual([]);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('the same events give identical vectors, bit for bit (NaN included)', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 300 }), (events) => {
        const a = feed(events, INST_MILLI);
        const b = feed(events, INST_MILLI);
        expect(a.length).toBe(b.length);
        const differ = a.findIndex((v, i) => !Buffer.from(v.buffer).equals(Buffer.from(b[i]!.buffer)));
        expect(differ).toBe(-1);
      }),
      { numRuns: 100 },
    );
  });

  it('reset() makes the engine a new one', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 100 }), fc.array(event, { minLength: 1, maxLength: 100 }), (before, events) => {
        const e = new FeatureEngine();
        let t = 1_700_000_000_000;
        for (const ev of before) {
          t += ev.dt;
          if (ev.kind === 'book') e.onBook(book(ev.b.bids, ev.b.asks), INST, t);
        }
        e.reset();
        const fresh = feed(events, INST);
        t = 1_700_000_000_000;
        events.forEach((ev, i) => {
          t += ev.dt;
          if (ev.kind === 'book') e.onBook(book(ev.b.bids, ev.b.asks), INST, t);
          else if (ev.kind === 'trade') e.onTrade(trade(ev.qty, ev.sell), t);
          else e.onResync(t);
          expect(Buffer.from(e.values().buffer).equals(Buffer.from(fresh[i]!.buffer))).toBe(true);
        });
      }),
      { numRuns: 50 },
    );
  });
});
