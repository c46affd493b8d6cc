import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DepthSync } from '../../book/sync.js';
import { parseScaled } from '../../core/decimal.js';
import { instrumentKey, type EpochMs, type Side } from '../../core/types.js';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import type { DepthDiff } from '../../model/events.js';
import type { Instrument } from '../../model/instrument.js';
import type { OrderType, TimeInForce } from '../../model/order.js';
import { syncedBook } from '../../../test/support/books.js';
import { PaperExchange, type ExchangeOrderSpec, type ExchangeReport } from './exchange.js';
import { TableFeeModel } from './fees.js';
import { NoImpact, RecoveringImpact } from './impact.js';
import type { FeeModel, ImpactModel } from './models.js';
import { parseQueueModel, QUEUE_MODEL_FORMS } from './queue.js';

/**
 * The paper exchange over a real L2 book (DepthSync fed a snapshot and diffs) with the real model
 * classes. Every scenario is worked by hand: prices are integer ticks of BTCUSDT spot (0.01 USDT),
 * quantities integer lots (1e-8 BTC). P is a reference price of 60000.00.
 */

const INST = referenceInstrument('spot', 'BTCUSDT');
const KEY = instrumentKey('spot', 'BTCUSDT');
const P = 6_000_000;
const MAKER = 0.0002;
const TAKER = 0.0007;

type Levels = [price: number, qty: number][];

/** A synced book from levels in integer units (best first), through the real Binance sync procedure. */
function bookOf(bids: Levels, asks: Levels, lastUpdateId = 100): DepthSync {
  const sync = new DepthSync('spot', 'BTCUSDT');
  const outcome = sync.onSnapshot(
    { kind: 'snapshot', venue: 'spot', symbol: 'BTCUSDT', lastUpdateId, recvTime: 0, bids: Float64Array.from(bids.flat()), asks: Float64Array.from(asks.flat()) },
    0,
  );
  expect(outcome).toBe('synced');
  return sync;
}

/** Applies one depth diff (absolute quantities, 0 removes) as the next event of the stream. */
function applyDiff(sync: DepthSync, bids: Levels, asks: Levels, time: EpochMs = 0): void {
  const id = sync.book.lastUpdateId + 1;
  const d: DepthDiff = {
    kind: 'depth', venue: 'spot', symbol: 'BTCUSDT', eventTime: time, recvTime: time, firstId: id, lastId: id, prevLastId: -1,
    bidCount: bids.length, askCount: asks.length, bids: Float64Array.from(bids.flat()), asks: Float64Array.from(asks.flat()),
  };
  expect(sync.onDiff(d)).toBe('applied');
}

interface Harness {
  ex: PaperExchange;
  reports: ExchangeReport[];
  /** reports of one order */
  of(id: string): ExchangeReport[];
}

function harness(opts: { queue?: string; fees?: FeeModel; impact?: () => ImpactModel } = {}): Harness {
  const reports: ExchangeReport[] = [];
  const ex = new PaperExchange({
    queue: parseQueueModel(opts.queue ?? 'risk-averse'),
    fees: opts.fees ?? new TableFeeModel({ maker: MAKER, taker: TAKER }, []),
    impact: opts.impact ?? (() => new NoImpact()),
    emit: (r) => reports.push(r),
  });
  return { ex, reports, of: (id) => reports.filter((r) => r.orderId === id) };
}

function spec(id: string, side: Side, type: OrderType, qtyUnits: number, priceUnits = NaN, timeInForce: TimeInForce = 'GTC', postOnly = false): ExchangeOrderSpec {
  return { id, side, type, timeInForce, postOnly, qtyUnits, priceUnits };
}
const market = (id: string, side: Side, qty: number) => spec(id, side, 'MARKET', qty, NaN, 'IOC');
const limit = (id: string, side: Side, qty: number, price: number, tif: TimeInForce = 'GTC') => spec(id, side, 'LIMIT', qty, price, tif);
const postOnly = (id: string, side: Side, qty: number, price: number) => spec(id, side, 'LIMIT', qty, price, 'GTC', true);

const accepted = (orderId: string, time = 0): ExchangeReport => ({ kind: 'accepted', orderId, time });
function fill(orderId: string, priceUnits: number, qtyUnits: number, leavesUnits: number, liquidity: 'maker' | 'taker', time = 0, feeRate = liquidity === 'maker' ? MAKER : TAKER): ExchangeReport {
  return { kind: 'fill', orderId, time, priceUnits, qtyUnits, leavesUnits, liquidity, feeRate };
}
const expired = (orderId: string, reason: string, time = 0): ExchangeReport => ({ kind: 'expired', orderId, time, reason });

/** the default book: bids P:10, P-1:8, P-3:6; asks P+1:3, P+2:5, P+4:4 (no level at P+3) */
const standardBook = () =>
  bookOf(
    [[P, 10], [P - 1, 8], [P - 3, 6]],
    [[P + 1, 3], [P + 2, 5], [P + 4, 4]],
  );

// ---------------------------------------------------------------- taking liquidity

describe('market orders', () => {
  // a realistic book from human-readable levels: units via the instrument's grid
  const px = (p: string) => parseScaled(p, INST.priceDecimals);
  const q = (v: string) => parseScaled(v, INST.qtyDecimals);
  const humanBook = () =>
    syncedBook(INST, [[60000.0, 1.5], [59999.99, 2]], [[60000.01, 0.5], [60000.02, 1.25], [60000.05, 0.75]]);

  it('a market buy walks the asks level by level, one taker fill per level at the level price', () => {
    const { ex, reports } = harness();
    ex.place(market('m1', 'BUY', q('2')), INST, humanBook().book, 0);
    expect(reports).toEqual([
      accepted('m1'),
      fill('m1', px('60000.01'), q('0.5'), q('1.5'), 'taker'),
      fill('m1', px('60000.02'), q('1.25'), q('0.25'), 'taker'),
      fill('m1', px('60000.05'), q('0.25'), 0, 'taker'),
    ]);
    expect(ex.isOpen('m1')).toBe(false);
  });

  it('a market buy larger than the book fills every level and the remainder expires', () => {
    const { ex, reports } = harness();
    ex.place(market('m2', 'BUY', q('3')), INST, humanBook().book, 7);
    expect(reports).toEqual([
      accepted('m2', 7),
      fill('m2', px('60000.01'), q('0.5'), q('2.5'), 'taker', 7),
      fill('m2', px('60000.02'), q('1.25'), q('1.25'), 'taker', 7),
      fill('m2', px('60000.05'), q('0.75'), q('0.5'), 'taker', 7),
      expired('m2', 'market order: book exhausted', 7),
    ]);
    expect(ex.restingCount(KEY)).toBe(0);
  });

  it('a market sell walks the bids downwards', () => {
    const { ex, reports } = harness();
    ex.place(market('m3', 'SELL', 12), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('m3'), fill('m3', P, 10, 2, 'taker'), fill('m3', P - 1, 2, 0, 'taker')]);
  });

  it('never edits the book it matches against', () => {
    const sync = standardBook();
    const { ex } = harness();
    ex.place(market('m4', 'BUY', 100), INST, sync.book, 0);
    expect([sync.book.asks.size, sync.book.bestAsk(), sync.book.asks.qty(0)]).toEqual([3, P + 1, 3]);
  });
});

describe('limit orders that cross', () => {
  it('a buy limit above the best ask takes up to its price and the GTC remainder rests', () => {
    const { ex, reports } = harness();
    ex.place(limit('l1', 'BUY', 10, P + 2), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('l1'), fill('l1', P + 1, 3, 7, 'taker'), fill('l1', P + 2, 5, 2, 'taker')]);
    expect(ex.isOpen('l1')).toBe(true);
    expect(ex.restingCount(KEY)).toBe(1);
  });

  it('a buy limit exactly at the best ask executes at once as taker', () => {
    const { ex, reports } = harness();
    ex.place(limit('l2', 'BUY', 2, P + 1), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('l2'), fill('l2', P + 1, 2, 0, 'taker')]);
    expect(ex.isOpen('l2')).toBe(false);
  });

  it('a sell limit below the best bid takes the bids down to its price', () => {
    const { ex, reports } = harness();
    ex.place(limit('l3', 'SELL', 20, P - 1), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('l3'), fill('l3', P, 10, 10, 'taker'), fill('l3', P - 1, 8, 2, 'taker')]);
    expect(ex.isOpen('l3')).toBe(true);
  });

  it('IOC: the remainder expires instead of resting', () => {
    const { ex, reports } = harness();
    ex.place(limit('i1', 'BUY', 10, P + 2, 'IOC'), INST, standardBook().book, 0);
    expect(reports).toEqual([
      accepted('i1'),
      fill('i1', P + 1, 3, 7, 'taker'),
      fill('i1', P + 2, 5, 2, 'taker'),
      expired('i1', 'immediate-or-cancel: remainder canceled'),
    ]);
    expect(ex.isOpen('i1')).toBe(false);
  });

  it('IOC that does not cross expires with no fill', () => {
    const { ex, reports } = harness();
    ex.place(limit('i2', 'BUY', 10, P, 'IOC'), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('i2'), expired('i2', 'immediate-or-cancel: remainder canceled')]);
  });

  it('FOK with too little liquidity up to its price expires with no fill', () => {
    const { ex, reports } = harness();
    // 3 + 5 = 8 lots up to P+2 < 9
    ex.place(limit('f1', 'BUY', 9, P + 2, 'FOK'), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('f1'), expired('f1', 'fill-or-kill: not enough liquidity')]);
    expect(ex.isOpen('f1')).toBe(false);
  });

  it('FOK with exactly enough liquidity fills completely', () => {
    const { ex, reports } = harness();
    ex.place(limit('f2', 'BUY', 8, P + 2, 'FOK'), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('f2'), fill('f2', P + 1, 3, 5, 'taker'), fill('f2', P + 2, 5, 0, 'taker')]);
  });

  it('FOK counts only liquidity still available after impact', () => {
    const impact = new RecoveringImpact(1000, 'linear');
    const { ex, reports, of } = harness({ impact: () => impact });
    const book = standardBook().book;
    ex.place(market('m', 'BUY', 2), INST, book, 0); // takes 2 of the 3 at P+1
    ex.place(limit('f3', 'BUY', 8, P + 2, 'FOK'), INST, book, 0); // 1 + 5 = 6 < 8 available
    expect(of('f3')).toEqual([accepted('f3'), expired('f3', 'fill-or-kill: not enough liquidity')]);
    ex.place(limit('f4', 'BUY', 6, P + 2, 'FOK'), INST, book, 0);
    expect(of('f4')).toEqual([accepted('f4'), fill('f4', P + 1, 1, 5, 'taker'), fill('f4', P + 2, 5, 0, 'taker')]);
    expect(reports).toHaveLength(2 + 2 + 3);
  });
});

describe('post-only', () => {
  it.each([
    ['BUY', P + 1],
    ['BUY', P + 4],
    ['SELL', P],
    ['SELL', P - 1],
  ] as const)('a post-only %s at %d would cross: rejected, nothing else', (side, price) => {
    const { ex, reports } = harness();
    ex.place(postOnly('p1', side, 5, price), INST, standardBook().book, 3);
    expect(reports).toEqual([{ kind: 'rejected', orderId: 'p1', time: 3, reason: 'post-only order would immediately match and take' }]);
    expect(ex.isOpen('p1')).toBe(false);
  });

  it.each([
    ['BUY', P],
    ['BUY', P - 2],
    ['SELL', P + 1],
    ['SELL', P + 3],
  ] as const)('a post-only %s at %d does not cross: accepted and rests', (side, price) => {
    const { ex, reports } = harness();
    ex.place(postOnly('p2', side, 5, price), INST, standardBook().book, 0);
    expect(reports).toEqual([accepted('p2')]);
    expect(ex.isOpen('p2')).toBe(true);
  });
});

// ---------------------------------------------------------------- resting orders and their queue

describe('a resting bid in the queue (risk-averse)', () => {
  /** a buy of 4 lots resting at P behind the 10 displayed lots */
  function resting() {
    const sync = standardBook();
    const h = harness({ queue: 'risk-averse' });
    h.ex.place(limit('b', 'BUY', 4, P), INST, sync.book, 0);
    expect(h.reports).toEqual([accepted('b')]);
    h.reports.length = 0;
    return { ...h, sync };
  }

  it('joins behind the displayed quantity: sell trades at its price advance it, partial then full fills', () => {
    const { ex, reports } = resting();
    ex.onTrade(KEY, P, 6, true, 1); // ahead 10 -> 4
    expect(reports).toEqual([]);
    ex.onTrade(KEY, P, 5, true, 2); // ahead -1: 1 lot executes
    expect(reports).toEqual([fill('b', P, 1, 3, 'maker', 2)]);
    ex.onTrade(KEY, P, 2, true, 3); // ahead 0 -> -2: 2 lots
    ex.onTrade(KEY, P, 7, true, 4); // ahead -7: 1 lot left
    expect(reports.slice(1)).toEqual([fill('b', P, 2, 1, 'maker', 3), fill('b', P, 1, 0, 'maker', 4)]);
    expect(ex.isOpen('b')).toBe(false);
    expect(ex.restingCount(KEY)).toBe(0);
    ex.onTrade(KEY, P, 100, true, 5);
    expect(reports).toHaveLength(3);
  });

  it('buy-aggressor trades never touch it', () => {
    const { ex, reports } = resting();
    ex.onTrade(KEY, P, 50, false, 1);
    ex.onTrade(KEY, P - 2, 50, false, 2);
    ex.onTrade(KEY, P + 1, 50, false, 3);
    expect(reports).toEqual([]);
    // the queue did not move: 10 lots still ahead
    ex.onTrade(KEY, P, 10, true, 4);
    expect(reports).toEqual([]);
    ex.onTrade(KEY, P, 1, true, 5);
    expect(reports).toEqual([fill('b', P, 1, 3, 'maker', 5)]);
  });

  it('a sell trade above its price does not touch it', () => {
    const { ex, reports } = resting();
    ex.onTrade(KEY, P + 1, 50, true, 1);
    expect(reports).toEqual([]);
  });

  it('a trade through its price fills all that remains at its own price', () => {
    const { ex, reports } = resting();
    ex.onTrade(KEY, P, 11, true, 1); // 1 lot beyond the queue
    ex.onTrade(KEY, P - 1, 1, true, 2); // traded through
    expect(reports).toEqual([fill('b', P, 1, 3, 'maker', 1), fill('b', P, 3, 0, 'maker', 2)]);
    expect(ex.isOpen('b')).toBe(false);
  });

  it('the asks reaching its price fill it, as maker at its own price', () => {
    const { ex, reports, sync } = resting();
    applyDiff(sync, [[P, 0]], [[P, 2]], 5); // the bids at P are gone and an ask shows at P
    ex.onBook(KEY, sync.book, 5);
    expect(reports).toEqual([fill('b', P, 4, 0, 'maker', 5)]);
  });

  it('the asks moving through its price fill it at its own price, not at the ask', () => {
    const { ex, reports, sync } = resting();
    applyDiff(sync, [[P, 0], [P - 1, 0]], [[P - 1, 9]], 5);
    ex.onBook(KEY, sync.book, 5);
    expect(reports).toEqual([fill('b', P, 4, 0, 'maker', 5)]);
  });

  it('a depth change that does not reach its price fills nothing', () => {
    const { ex, reports, sync } = resting();
    applyDiff(sync, [[P, 25], [P - 1, 0]], [[P + 1, 0], [P + 2, 1]], 5);
    ex.onBook(KEY, sync.book, 5);
    expect(reports).toEqual([]);
    expect(ex.isOpen('b')).toBe(true);
  });

  it('a resting ask mirrors it: buy trades at its price advance it, sell trades do not', () => {
    const sync = standardBook();
    const { ex, reports } = harness();
    ex.place(limit('a', 'SELL', 2, P + 2), INST, sync.book, 0); // behind 5 lots
    ex.onTrade(KEY, P + 2, 6, true, 1);
    expect(reports).toEqual([accepted('a')]);
    ex.onTrade(KEY, P + 2, 6, false, 2); // ahead 5 -> -1
    expect(reports).toEqual([accepted('a'), fill('a', P + 2, 1, 1, 'maker', 2)]);
    ex.onTrade(KEY, P + 3, 1, false, 3); // through
    expect(reports.at(-1)).toEqual(fill('a', P + 2, 1, 0, 'maker', 3));
  });
});

describe('queue models on level decreases', () => {
  /**
   * One event sequence under two models. A buy of 5 lots joins at P behind 10 lots; 5 lots join
   * behind it (10 -> 15); then 6 lots are canceled (15 -> 9); then sell trades of 7 and 3 at P.
   *
   * risk-averse: the decrease came from behind (ahead = min(10, 9) = 9).
   *   trade 7: ahead 2, no fill; trade 3: ahead -1, fill 1.
   * prob-power:2: front 10, back 5, p(behind) = 1 / (1 + (10/5)^2) = 0.2, so 0.8 * 6 = 4.8 lots of the
   *   decrease came from in front: ahead = 10 - 4.8 = 5.2.
   *   trade 7: ahead -1.8, fill 1 (whole lots only), ahead -0.8; trade 3: ahead -3.8, fill 3, ahead -0.8.
   */
  function run(model: string): ExchangeReport[] {
    const sync = standardBook();
    const { ex, reports } = harness({ queue: model });
    ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
    applyDiff(sync, [[P, 15]], [], 1);
    ex.onBook(KEY, sync.book, 1);
    applyDiff(sync, [[P, 9]], [], 2);
    ex.onBook(KEY, sync.book, 2);
    ex.onTrade(KEY, P, 7, true, 3);
    ex.onTrade(KEY, P, 3, true, 4);
    return reports.filter((r) => r.kind === 'fill');
  }

  it('risk-averse puts the decrease behind the order: it fills later', () => {
    expect(run('risk-averse')).toEqual([fill('q', P, 1, 4, 'maker', 4)]);
  });

  it('prob-power:2 puts most of the decrease in front of the order: it fills earlier', () => {
    expect(run('prob-power:2')).toEqual([fill('q', P, 1, 4, 'maker', 3), fill('q', P, 3, 1, 'maker', 4)]);
  });

  it('both models put a decrease below the queue ahead in front (the level shrinks under it)', () => {
    // 10 ahead, level 10 -> 4: at most 4 can be ahead; a sell trade of 5 fills 1
    for (const model of ['risk-averse', 'prob-power:2', 'prob-log']) {
      const sync = standardBook();
      const { ex, reports } = harness({ queue: model });
      ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
      applyDiff(sync, [[P, 4]], [], 1);
      ex.onBook(KEY, sync.book, 1);
      ex.onTrade(KEY, P, 5, true, 2);
      expect(reports.filter((r) => r.kind === 'fill'), model).toEqual([fill('q', P, 1, 4, 'maker', 2)]);
    }
  });

  it('a trade the feed also reports as a depth decrease is not counted twice', () => {
    // risk-averse and prob alike: 10 ahead, trade 4 (ahead 6), then the level shows 10 -> 6
    for (const model of ['risk-averse', 'prob-power:2']) {
      const sync = standardBook();
      const { ex, reports } = harness({ queue: model });
      ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
      ex.onTrade(KEY, P, 4, true, 1);
      applyDiff(sync, [[P, 6]], [], 1);
      ex.onBook(KEY, sync.book, 1);
      ex.onTrade(KEY, P, 6, true, 2); // ahead 0: nothing yet
      expect(reports.filter((r) => r.kind === 'fill'), model).toEqual([]);
      ex.onTrade(KEY, P, 2, true, 3);
      expect(reports.filter((r) => r.kind === 'fill'), model).toEqual([fill('q', P, 2, 3, 'maker', 3)]);
    }
  });
});

describe('trades and depth on separate streams', () => {
  /**
   * A buy of 5 lots joins at P behind 10 (the book's event time is 0). A sell trade of 4 at P happens at
   * exchange time 10; the depth update that already includes it (10 -> 6, event time 20) arrives first,
   * the trade message after it. Counting both would leave 6 - 4 = 2 ahead; the order must end with 6
   * ahead, as if the trade had come first, under every model.
   */
  it.each(['risk-averse', 'prob-power:2', 'prob-log'])('%s: a trade that arrives after the depth update which included it counts once', (model) => {
    const sync = standardBook();
    const { ex, reports } = harness({ queue: model });
    ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
    applyDiff(sync, [[P, 6]], [], 20);
    ex.onBook(KEY, sync.book, 20);
    ex.onTrade(KEY, P, 4, true, 21, 10); // late: exchange time 10 < 20
    ex.onTrade(KEY, P, 6, true, 30, 30); // 6 more: ahead 0, nothing fills yet
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    ex.onTrade(KEY, P, 2, true, 31, 31);
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([fill('q', P, 2, 3, 'maker', 31)]);
  });

  it('arrival order does not matter: trade then depth gives the same queue as depth then trade', () => {
    const runOrder = (tradeFirst: boolean): ExchangeReport[] => {
      const sync = standardBook();
      const { ex, reports } = harness({ queue: 'prob-power:3' });
      ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
      applyDiff(sync, [[P, 20]], [], 5); // 10 more join behind
      ex.onBook(KEY, sync.book, 5);
      if (tradeFirst) ex.onTrade(KEY, P, 4, true, 9, 9);
      applyDiff(sync, [[P, 13]], [], 20); // the trade of 4 and 3 lots canceled
      ex.onBook(KEY, sync.book, 20);
      if (!tradeFirst) ex.onTrade(KEY, P, 4, true, 21, 9);
      ex.onTrade(KEY, P, 8, true, 40, 40);
      return reports.filter((r) => r.kind === 'fill');
    };
    const a = runOrder(true);
    expect(a.length).toBeGreaterThan(0);
    expect(runOrder(false)).toEqual(a);
  });

  it('a trade older than the book the order joined does not advance it', () => {
    const sync = standardBook();
    applyDiff(sync, [[P, 10]], [], 50); // the order will join a book of event time 50
    const { ex, reports } = harness({ queue: 'risk-averse' });
    ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 51);
    ex.onTrade(KEY, P, 12, true, 52, 45); // happened before: already out of the 10 we queue behind
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([]);
    ex.onTrade(KEY, P, 12, true, 53, 53); // a new one uses up the 10 ahead and fills 2
    expect(reports.filter((r) => r.kind === 'fill')).toEqual([fill('q', P, 2, 3, 'maker', 53)]);
  });
});

describe('fractional queue position (prob model)', () => {
  it('only whole lots fill; the fraction stays for the next trade', () => {
    // as above under prob-power:2: ahead 5.2 after the cancellations
    const sync = standardBook();
    const { ex, reports } = harness({ queue: 'prob-power:2' });
    ex.place(limit('q', 'BUY', 5, P), INST, sync.book, 0);
    applyDiff(sync, [[P, 15]], [], 1);
    ex.onBook(KEY, sync.book, 1);
    applyDiff(sync, [[P, 9]], [], 2);
    ex.onBook(KEY, sync.book, 2);
    const fills = () => reports.filter((r) => r.kind === 'fill');
    ex.onTrade(KEY, P, 5, true, 3); // ahead 0.2
    expect(fills()).toEqual([]);
    ex.onTrade(KEY, P, 1, true, 4); // ahead -0.8: no whole lot yet
    expect(fills()).toEqual([]);
    ex.onTrade(KEY, P, 1, true, 5); // ahead -1.8: one lot, the 0.8 stays
    expect(fills()).toEqual([fill('q', P, 1, 4, 'maker', 5)]);
    ex.onTrade(KEY, P, 1, true, 6); // -0.8 - 1 = -1.8: one more
    expect(fills()).toEqual([fill('q', P, 1, 4, 'maker', 5), fill('q', P, 1, 3, 'maker', 6)]);
  });
});

// ---------------------------------------------------------------- impact

describe('market impact', () => {
  const book = () => bookOf([[P, 10]], [[P + 1, 5], [P + 2, 5], [P + 3, 5]]);

  it('a second aggressive order at the same moment sees less at the touch and pays more', () => {
    const { ex, of } = harness({ impact: () => new RecoveringImpact(1000, 'linear') });
    const b = book().book;
    ex.place(market('first', 'BUY', 5), INST, b, 0);
    ex.place(market('second', 'BUY', 5), INST, b, 0);
    expect(of('first')).toEqual([accepted('first'), fill('first', P + 1, 5, 0, 'taker')]);
    expect(of('second')).toEqual([accepted('second'), fill('second', P + 2, 5, 0, 'taker')]);
  });

  it('after the recovery time it pays the same as the first; halfway it sees part of the level', () => {
    const { ex, of } = harness({ impact: () => new RecoveringImpact(1000, 'linear') });
    const b = book().book;
    ex.place(market('first', 'BUY', 5), INST, b, 0); // 5 out at P+1
    ex.place(market('second', 'BUY', 5), INST, b, 0); // 5 out at P+2
    // t = 600: 5 * (1 - 0.6) = 2 lots still out at P+1 and at P+2: 3 available at each
    ex.place(market('third', 'BUY', 5), INST, b, 600);
    expect(of('third')).toEqual([accepted('third', 600), fill('third', P + 1, 3, 2, 'taker', 600), fill('third', P + 2, 2, 0, 'taker', 600)]);
    // t = 1600: everything taken at 600 has come back too
    ex.place(market('fourth', 'BUY', 5), INST, b, 1600);
    expect(of('fourth')).toEqual([accepted('fourth', 1600), fill('fourth', P + 1, 5, 0, 'taker', 1600)]);
  });

  it('keeps one impact memory per instrument', () => {
    const eth = referenceInstrument('spot', 'ETHUSDT');
    const { ex, of } = harness({ impact: () => new RecoveringImpact(1000, 'linear') });
    const b = book().book;
    ex.place(market('btc', 'BUY', 5), INST, b, 0);
    ex.place(market('eth', 'BUY', 5), eth, b, 0); // same levels, other instrument: untouched
    expect(of('eth')).toEqual([accepted('eth'), fill('eth', P + 1, 5, 0, 'taker')]);
  });

  it('with NoImpact the second order pays the same at once', () => {
    const { ex, of } = harness({ impact: () => new NoImpact() });
    const b = book().book;
    ex.place(market('first', 'BUY', 5), INST, b, 0);
    ex.place(market('second', 'BUY', 5), INST, b, 0);
    expect(of('second')).toEqual([accepted('second'), fill('second', P + 1, 5, 0, 'taker')]);
  });

  it('the resting remainder of a crossing order does not fill again from the liquidity it took', () => {
    // buy 8 up to P+1: takes the 5 lots at P+1, 3 rest at P+1. The displayed book still shows those 5
    // lots (the exchange never edits it); they are ours already until they come back.
    const sync = bookOf([[P, 10]], [[P + 1, 5], [P + 2, 5]]);
    const { ex, of } = harness({ impact: () => new RecoveringImpact(1000, 'linear') });
    ex.place(limit('x', 'BUY', 8, P + 1), INST, sync.book, 0);
    expect(of('x')).toEqual([accepted('x'), fill('x', P + 1, 5, 3, 'taker')]);
    applyDiff(sync, [[P - 5, 1]], [], 10); // any book update elsewhere
    ex.onBook(KEY, sync.book, 10);
    expect(of('x')).toHaveLength(2);
    expect(ex.isOpen('x')).toBe(true);
    // once the taken lots have come back, the ask at the order's price fills what remains (maker)
    applyDiff(sync, [[P - 5, 2]], [], 1000);
    ex.onBook(KEY, sync.book, 1000);
    expect(of('x').slice(2)).toEqual([fill('x', P + 1, 3, 0, 'maker', 1000)]);
  });

  it('with NoImpact the displayed lots are all there is: that remainder fills at the next book update', () => {
    const sync = bookOf([[P, 10]], [[P + 1, 5], [P + 2, 5]]);
    const { ex, of } = harness({ impact: () => new NoImpact() });
    ex.place(limit('x', 'BUY', 8, P + 1), INST, sync.book, 0);
    applyDiff(sync, [[P - 5, 1]], [], 10);
    ex.onBook(KEY, sync.book, 10);
    expect(of('x')).toEqual([accepted('x'), fill('x', P + 1, 5, 3, 'taker'), fill('x', P + 1, 3, 0, 'maker', 10)]);
  });
});

// ---------------------------------------------------------------- fees

describe('fees', () => {
  const fees = new TableFeeModel({ maker: 0.001, taker: 0.001 }, [
    { venue: 'spot', symbol: 'BTCUSDT', maker: -0.0001, taker: 0.0004 },
    { venue: 'usdm', symbol: '*', maker: 0.0002, taker: 0.0005 },
  ]);

  it('taker fills carry the taker rate, maker fills the (negative) rebate rate', () => {
    const sync = standardBook();
    const { ex, of } = harness({ fees });
    ex.place(market('t', 'BUY', 4), INST, sync.book, 0);
    ex.place(limit('m', 'BUY', 2, P), INST, sync.book, 0);
    ex.onTrade(KEY, P - 1, 1, true, 1);
    expect(of('t').filter((r) => r.kind === 'fill')).toEqual([
      fill('t', P + 1, 3, 1, 'taker', 0, 0.0004),
      fill('t', P + 2, 1, 0, 'taker', 0, 0.0004),
    ]);
    expect(of('m').filter((r) => r.kind === 'fill')).toEqual([fill('m', P, 2, 0, 'maker', 1, -0.0001)]);
  });

  it.each([
    ['spot', 'ETHUSDT', 0.001, 0.001], // defaults
    ['usdm', 'BTCUSDT', 0.0002, 0.0005], // venue-wide override
  ] as const)('%s:%s fills use the rate the fee table gives (maker %d, taker %d)', (venue, symbol, maker, taker) => {
    const inst = referenceInstrument(venue, symbol);
    const key = instrumentKey(venue, symbol);
    const book = bookOf([[P, 10]], [[P + 1, 10]]).book;
    const { ex, reports } = harness({ fees });
    ex.place(market('t', 'SELL', 1), inst, book, 0);
    ex.place(limit('m', 'SELL', 1, P + 1), inst, book, 0);
    ex.onTrade(key, P + 2, 1, false, 1);
    const rates = reports.flatMap((r) => (r.kind === 'fill' ? [[r.liquidity, r.feeRate]] : []));
    expect(rates).toEqual([['taker', taker], ['maker', maker]]);
  });
});

// ---------------------------------------------------------------- cancels and rejections

describe('cancels', () => {
  it('cancels a resting order; it no longer fills', () => {
    const { ex, reports } = harness();
    ex.place(limit('c', 'BUY', 3, P), INST, standardBook().book, 0);
    ex.cancel('c', 5);
    expect(reports).toEqual([accepted('c'), { kind: 'canceled', orderId: 'c', time: 5 }]);
    expect(ex.isOpen('c')).toBe(false);
    expect(ex.restingCount(KEY)).toBe(0);
    ex.onTrade(KEY, P - 3, 100, true, 6);
    expect(reports).toHaveLength(2);
  });

  it('cancels a partially filled order', () => {
    const { ex, reports } = harness();
    ex.place(limit('c', 'BUY', 3, P), INST, standardBook().book, 0);
    ex.onTrade(KEY, P, 11, true, 1);
    ex.cancel('c', 2);
    expect(reports).toEqual([accepted('c'), fill('c', P, 1, 2, 'maker', 1), { kind: 'canceled', orderId: 'c', time: 2 }]);
  });

  it.each([
    ['an unknown order', (_ex: PaperExchange) => {}],
    ['a filled order', (ex: PaperExchange) => ex.place(market('c', 'BUY', 1), INST, standardBook().book, 0)],
    ['an expired order', (ex: PaperExchange) => ex.place(limit('c', 'BUY', 1, P, 'IOC'), INST, standardBook().book, 0)],
    [
      'an already canceled order',
      (ex: PaperExchange) => {
        ex.place(limit('c', 'BUY', 1, P), INST, standardBook().book, 0);
        ex.cancel('c', 1);
      },
    ],
  ])('a cancel of %s is rejected', (_what, setup) => {
    const { ex, reports } = harness();
    setup(ex);
    const before = reports.length;
    ex.cancel('c', 9);
    expect(reports.slice(before)).toEqual([{ kind: 'cancel_rejected', orderId: 'c', time: 9, reason: 'unknown order (already filled, expired or canceled)' }]);
  });
});

describe('rejections', () => {
  it('rejects with a reason when there is no book', () => {
    const { ex, reports } = harness();
    ex.place(market('n', 'BUY', 1), INST, null, 4);
    expect(reports).toEqual([{ kind: 'rejected', orderId: 'n', time: 4, reason: 'paper exchange has no order book to match against (feed resyncing)' }]);
    expect(ex.isOpen('n')).toBe(false);
  });

  it('rejects when a side of the book is empty', () => {
    const { ex, reports } = harness();
    ex.place(limit('n', 'BUY', 1, P), INST, bookOf([[P, 1]], []).book, 0);
    expect(reports).toMatchObject([{ kind: 'rejected', orderId: 'n' }]);
  });

  it('rejects a limit order without a price', () => {
    const { ex, reports } = harness();
    ex.place(limit('n', 'BUY', 1, NaN), INST, standardBook().book, 0);
    expect(reports).toEqual([{ kind: 'rejected', orderId: 'n', time: 0, reason: 'limit order without a price' }]);
  });
});

// ---------------------------------------------------------------- properties

type Op =
  | { kind: 'place'; side: Side; type: OrderType; tif: TimeInForce; postOnly: boolean; qty: number; off: number }
  | { kind: 'trade'; off: number; qty: number; buyerIsMaker: boolean }
  | { kind: 'level'; bid: boolean; off: number; qty: number }
  | { kind: 'shift'; by: number }
  | { kind: 'cancel'; pick: number }
  | { kind: 'wait'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('place' as const), side: fc.constantFrom<Side>('BUY', 'SELL'), type: fc.constantFrom<OrderType>('MARKET', 'LIMIT', 'LIMIT'), tif: fc.constantFrom<TimeInForce>('GTC', 'GTC', 'IOC', 'FOK'), postOnly: fc.constantFrom(false, false, false, true), qty: fc.integer({ min: 1, max: 30 }), off: fc.integer({ min: -4, max: 4 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('trade' as const), off: fc.integer({ min: -4, max: 4 }), qty: fc.integer({ min: 1, max: 15 }), buyerIsMaker: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('level' as const), bid: fc.boolean(), off: fc.integer({ min: -6, max: 6 }), qty: fc.integer({ min: 0, max: 20 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('shift' as const), by: fc.integer({ min: -4, max: 4 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 800 }) }), weight: 1 },
);

/** quantities of consecutive levels from the touch; now and then a side is empty */
const levelsArb = fc.oneof(
  { arbitrary: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }), weight: 9 },
  { arbitrary: fc.constant([]), weight: 1 },
);

describe('properties over random books and order sequences', () => {
  it('fills never exceed the order, respect the limit, and every order ends at most once', () => {
    fc.assert(
      fc.property(
        levelsArb,
        levelsArb,
        fc.constantFrom(...QUEUE_MODEL_FORMS.map((f) => f.replace('N', '2'))),
        fc.constantFrom<'none' | 'linear' | 'exponential'>('none', 'linear', 'exponential'),
        fc.array(opArb, { minLength: 5, maxLength: 80, size: 'medium' }),
        (bidQtys, askQtys, queue, impactKind, ops) => {
          // bids at P, P-1, ...; asks at P+1, P+2, ... (possibly empty sides)
          const sync = bookOf(bidQtys.map((q, i) => [P - i, q]), askQtys.map((q, i) => [P + 1 + i, q]));
          const { ex, reports } = harness({
            queue,
            impact: () => (impactKind === 'none' ? new NoImpact() : new RecoveringImpact(500, impactKind)),
          });
          const specs = new Map<string, ExchangeOrderSpec>();
          /** opposite side at placement: price -> displayed qty (taker fills must stay within it) */
          const seen = new Map<string, Map<number, number>>();
          let center = P;
          let now = 0;
          let seq = 0;
          const book = sync.book;

          /** sets one level as a feed would: a bid at x removes asks at or below x, and the other way round */
          const setLevel = (bid: boolean, price: number, qty: number) => {
            const mine: Levels = [[price, qty]];
            const other: Levels = [];
            if (qty > 0) {
              const side = bid ? book.asks : book.bids;
              for (let i = 0; i < side.size; i++) {
                const p = side.price(i);
                if (bid ? p <= price : p >= price) other.push([p, 0]);
              }
            }
            applyDiff(sync, bid ? mine : other, bid ? other : mine, now);
            ex.onBook(KEY, book, now);
          };

          for (const op of ops) {
            switch (op.kind) {
              case 'place': {
                const id = `o${++seq}`;
                const s = op.type === 'MARKET'
                  ? spec(id, op.side, 'MARKET', op.qty, NaN, op.tif === 'GTC' ? 'IOC' : op.tif)
                  : spec(id, op.side, 'LIMIT', op.qty, center + op.off, op.tif, op.postOnly);
                specs.set(id, s);
                const opp = op.side === 'BUY' ? book.asks : book.bids;
                const levels = new Map<number, number>();
                for (let i = 0; i < opp.size; i++) levels.set(opp.price(i), opp.qty(i));
                seen.set(id, levels);
                const before = reports.length;
                ex.place(s, INST, book, now);
                // market, IOC and FOK orders never rest; a GTC order rests iff it was accepted and not filled
                const mine = reports.slice(before);
                const done = mine.some((r) => r.kind === 'rejected' || r.kind === 'expired' || (r.kind === 'fill' && r.leavesUnits === 0));
                expect(ex.isOpen(id)).toBe(s.type === 'LIMIT' && s.timeInForce === 'GTC' && !done);
                break;
              }
              case 'trade':
                ex.onTrade(KEY, center + op.off, op.qty, op.buyerIsMaker, now);
                break;
              case 'level':
                setLevel(op.bid, center + op.off, op.qty);
                break;
              case 'shift': {
                // the whole book moves by `by` ticks
                const bids: Levels = [];
                const asks: Levels = [];
                for (let i = 0; i < book.bids.size; i++) bids.push([book.bids.price(i), 0]);
                for (let i = 0; i < book.asks.size; i++) asks.push([book.asks.price(i), 0]);
                const moved = (side: typeof book.bids): Levels => {
                  const out: Levels = [];
                  for (let i = 0; i < side.size; i++) out.push([side.price(i) + op.by, side.qty(i)]);
                  return out;
                };
                const nb = moved(book.bids);
                const na = moved(book.asks);
                const merge = (zeros: Levels, next: Levels) => {
                  const m = new Map<number, number>(zeros);
                  for (const [p, q] of next) m.set(p, q);
                  return [...m.entries()];
                };
                applyDiff(sync, merge(bids, nb), merge(asks, na), now);
                center += op.by;
                ex.onBook(KEY, book, now);
                break;
              }
              case 'cancel': {
                if (seq === 0) break;
                ex.cancel(`o${(op.pick % seq) + 1}`, now);
                break;
              }
              case 'wait':
                now += op.ms;
                break;
            }
            // the book stays a real book: never crossed
            if (book.bids.size > 0 && book.asks.size > 0) expect(book.bestBid()).toBeLessThan(book.bestAsk());
          }

          // every report belongs to an order we sent, at a time we were at
          const byOrder = new Map<string, ExchangeReport[]>();
          for (const r of reports) {
            expect(specs.has(r.orderId)).toBe(true);
            let list = byOrder.get(r.orderId);
            if (!list) byOrder.set(r.orderId, (list = []));
            list.push(r);
          }
          let open = 0;
          for (const [id, s] of specs) {
            const list = byOrder.get(id) ?? [];
            const state = list.filter((r) => r.kind !== 'cancel_rejected');
            let filled = 0;
            let terminal = 0;
            let ended = false;
            const taken = new Map<number, number>();
            for (let k = 0; k < state.length; k++) {
              const r = state[k]!;
              // nothing but cancel rejections after the end
              expect(ended).toBe(false);
              if (k === 0) expect(['accepted', 'rejected']).toContain(r.kind);
              else expect(['accepted', 'rejected']).not.toContain(r.kind);
              if (r.kind === 'fill') {
                expect(Number.isInteger(r.qtyUnits) && r.qtyUnits > 0).toBe(true);
                filled += r.qtyUnits;
                expect(r.leavesUnits).toBe(s.qtyUnits - filled);
                if (s.type === 'LIMIT') {
                  if (s.side === 'BUY') expect(r.priceUnits).toBeLessThanOrEqual(s.priceUnits);
                  else expect(r.priceUnits).toBeGreaterThanOrEqual(s.priceUnits);
                }
                if (r.liquidity === 'maker') {
                  expect(r.priceUnits).toBe(s.priceUnits);
                  expect(r.feeRate).toBe(MAKER);
                } else {
                  expect(s.postOnly).toBe(false);
                  expect(r.feeRate).toBe(TAKER);
                  // taker fills come at placement, from levels displayed then, never beyond them
                  const shown = seen.get(id)!.get(r.priceUnits);
                  expect(shown).toBeDefined();
                  taken.set(r.priceUnits, (taken.get(r.priceUnits) ?? 0) + r.qtyUnits);
                  expect(taken.get(r.priceUnits)!).toBeLessThanOrEqual(shown!);
                }
              }
              if (r.kind === 'rejected' || r.kind === 'expired' || r.kind === 'canceled' || (r.kind === 'fill' && r.leavesUnits === 0)) {
                terminal++;
                ended = true;
              }
            }
            expect(filled).toBeLessThanOrEqual(s.qtyUnits);
            expect(terminal).toBeLessThanOrEqual(1);
            if (s.timeInForce === 'FOK') expect([0, s.qtyUnits]).toContain(filled);
            if (s.type === 'MARKET' || s.timeInForce !== 'GTC') expect(terminal).toBe(1);
            // the exchange's view agrees: open iff accepted and not ended
            const isOpen = state.length > 0 && state[0]!.kind === 'accepted' && !ended;
            expect(ex.isOpen(id)).toBe(isOpen);
            if (isOpen) open++;
          }
          expect(ex.restingCount(KEY)).toBe(open);
        },
      ),
      { numRuns: 400 },
    );
  });
});
