import type { Engine } from '../engine/engine.js';
import type { FeedStatus } from '../marketdata/binance/feed.js';
import { priceToNumber, qtyToNumber } from '../model/instrument.js';

/** Read models of the engine shared by the JSON endpoints, the live stream and the Prometheus scrape. */

export interface BookTop {
  venue: string;
  symbol: string;
  state: string;
  bid: number | null;
  bidQty: number | null;
  ask: number | null;
  askQty: number | null;
  mid: number | null;
  spread: number | null;
  /** local receive time of the last change (epoch ms), null before the first */
  time: number | null;
}

/** Top of every book ("<venue>:<SYMBOL>" -> top), optionally only of some symbols. */
export function bookTops(engine: Engine, symbols: ReadonlySet<string> | null = null): Record<string, BookTop> {
  const out: Record<string, BookTop> = {};
  for (const [key, sync] of engine.books) {
    if (symbols && !symbols.has(sync.symbol)) continue;
    const inst = engine.instruments.get(key);
    const book = sync.book;
    const hasBid = inst !== undefined && book.bids.size > 0;
    const hasAsk = inst !== undefined && book.asks.size > 0;
    out[key] = {
      venue: sync.venue,
      symbol: sync.symbol,
      state: sync.state,
      bid: hasBid ? priceToNumber(inst, book.bestBid()) : null,
      bidQty: hasBid ? qtyToNumber(inst, book.bids.qty(0)) : null,
      ask: hasAsk ? priceToNumber(inst, book.bestAsk()) : null,
      askQty: hasAsk ? qtyToNumber(inst, book.asks.qty(0)) : null,
      mid: hasBid && hasAsk ? priceToNumber(inst, book.mid()) : null,
      spread: hasBid && hasAsk ? priceToNumber(inst, book.spread()) : null,
      time: book.lastRecvTime || null,
    };
  }
  return out;
}

/** The engine's counters plus the feeds' message and malformed totals (as in /status). */
export function counters(engine: Engine, feeds: readonly FeedStatus[]): Record<string, number> {
  return {
    ...engine.counters,
    messages: feeds.reduce((a, f) => a + f.messages, 0),
    malformed: feeds.reduce((a, f) => a + Object.values(f.malformed).reduce((x, y) => x + y, 0), 0),
  };
}

/** The live stream's periodic snapshot (see README, GET /stream). */
export function streamSnapshot(engine: Engine, feeds: readonly FeedStatus[], symbols: ReadonlySet<string> | null) {
  return {
    time: engine.now,
    account: engine.account(),
    positions: engine.positions(),
    openOrders: engine.allOpenOrders(),
    risk: engine.riskStatus(),
    books: bookTops(engine, symbols),
    feeds,
    counters: counters(engine, feeds),
  };
}
