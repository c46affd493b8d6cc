import { alpacaTestInstrument } from './testing.js';
import { describe, expect, it } from 'vitest';
import type { DepthSync } from '../../book/sync.js';
import type { EpochMs, Venue } from '../../core/types.js';
import type { MarketEvent } from '../../model/events.js';
import type { Instrument } from '../../model/instrument.js';
import type { FeedSink, InputLog } from '../binance/processor.js';
import type { BarEvent, PrintEvent, QuoteEvent } from './events.js';
import { AlpacaProcessor } from './processor.js';


const TSLA = alpacaTestInstrument('TSLA', 2, 6);
const DOGE = alpacaTestInstrument('DOGE/USD', 6, 4);

/** A FeedSink that records every call as plain data (books as their top level at call time). */
class RecordingSink implements FeedSink {
  readonly calls: unknown[] = [];
  readonly trades: MarketEvent[] = [];
  advanceTo(recvTime: EpochMs): void {
    this.calls.push(['advanceTo', recvTime]);
  }
  onInstruments(venue: Venue, instruments: Instrument[]): void {
    this.calls.push(['instruments', venue, instruments.map((i) => i.symbol)]);
  }
  onBook(sync: DepthSync, recvTime: number): void {
    const b = sync.book;
    this.calls.push(['book', sync.symbol, recvTime, b.lastUpdateId, b.bids.size, b.bestBid(), b.bids.qty(0), b.asks.size, b.bestAsk(), b.asks.qty(0), b.lastEventTime, b.lastRecvTime]);
  }
  onBookState(sync: DepthSync, recvTime: number): void {
    this.calls.push(['state', sync.symbol, sync.state, recvTime]);
  }
  onEvent(ev: MarketEvent): void {
    this.trades.push(ev);
    this.calls.push(['event', { ...ev }]);
  }
}

class MemoryLog implements InputLog {
  readonly lines: { recvTime: EpochMs; source: string; payload: string }[] = [];
  write(recvTime: EpochMs, source: string, payload: string): void {
    this.lines.push({ recvTime, source, payload });
  }
}

const quote = (symbol: string, t: number, bid: number, bidSize: number, ask: number, askSize: number): QuoteEvent => ({
  kind: 'quote',
  assetClass: symbol.includes('/') ? 'crypto' : 'stocks',
  symbol,
  time: t - 5,
  recvTime: t,
  bidPrice: bid,
  bidSize,
  askPrice: ask,
  askSize,
});
const print = (symbol: string, t: number, price: number, size: number, tradeId: number | null, takerSide: 'buy' | 'sell' | null = null): PrintEvent => ({
  kind: 'print',
  assetClass: symbol.includes('/') ? 'crypto' : 'stocks',
  symbol,
  time: t - 3,
  recvTime: t,
  tradeId,
  price,
  size,
  takerSide,
});
const bar = (symbol: string, start: number, close: number, volume: number): BarEvent => ({
  kind: 'bar',
  assetClass: symbol.includes('/') ? 'crypto' : 'stocks',
  symbol,
  start,
  open: close,
  high: close,
  low: close,
  close,
  volume,
  trades: 3,
  vwap: close,
  updated: false,
  recvTime: start + 60_500,
});

function setup() {
  const sink = new RecordingSink();
  const log = new MemoryLog();
  const p = new AlpacaProcessor({ sink, log, instruments: [TSLA, DOGE] });
  p.start(1000);
  return { sink, log, p };
}

describe('AlpacaProcessor', () => {
  it('announces and logs the instruments', () => {
    const { sink, log, p } = setup();
    expect(sink.calls).toEqual([['advanceTo', 1000], ['instruments', 'alpaca', ['TSLA', 'DOGE/USD']]]);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.source).toBe('alpaca info');
    expect(JSON.parse(log.lines[0]!.payload)).toEqual([TSLA, DOGE]);
    expect(p.status().books['TSLA']).toMatchObject({ state: 'syncing', bid: null, ask: null });
  });

  it('turns quotes into a synced one-level book in exact units', () => {
    const { sink, log, p } = setup();
    sink.calls.length = 0;
    p.onMarketEvent(quote('TSLA', 2000, 251.37, 3, 251.41, 0.5));
    expect(log.lines[1]!.source).toBe('alpaca md');
    expect(sink.calls).toEqual([
      ['advanceTo', 2000],
      ['state', 'TSLA', 'synced', 2000],
      ['book', 'TSLA', 2000, 1, 1, 25137, 3_000_000, 1, 25141, 500_000, 1995, 2000],
    ]);
    const sync = p.syncs.get('TSLA')!;
    expect(sync.lastSyncedAt).toBe(2000);
    // the next quote replaces the level (one level a side, id + 1, no state call)
    sink.calls.length = 0;
    p.onMarketEvent(quote('TSLA', 2100, 251.4, 1, 251.45, 2));
    expect(sink.calls).toEqual([
      ['advanceTo', 2100],
      ['book', 'TSLA', 2100, 2, 1, 25140, 1_000_000, 1, 25145, 2_000_000, 2095, 2100],
    ]);
    // crypto: 6 price decimals, 4 qty decimals
    p.onMarketEvent(quote('DOGE/USD', 2200, 0.123456, 1500.25, 0.123501, 20));
    const d = p.syncs.get('DOGE/USD')!.book;
    expect([d.bestBid(), d.bids.qty(0), d.bestAsk(), d.asks.qty(0)]).toEqual([123456, 15_002_500, 123501, 200_000]);
    expect(p.status().books['DOGE/USD']).toMatchObject({ state: 'synced', lastUpdateId: 1, bid: 0.123456, ask: 0.123501, bidSize: 1500.25, askSize: 20 });
  });

  it('skips crossed, locked and zero quotes and keeps the book', () => {
    const { sink, p } = setup();
    p.onMarketEvent(quote('TSLA', 2000, 100, 1, 100.5, 1));
    sink.calls.length = 0;
    p.onMarketEvent(quote('TSLA', 2100, 101, 1, 100.5, 1)); // crossed
    p.onMarketEvent(quote('TSLA', 2200, 100.5, 1, 100.5, 1)); // locked
    p.onMarketEvent(quote('TSLA', 2300, 0, 1, 100.5, 1));
    p.onMarketEvent(quote('TSLA', 2400, 100, 0, 100.5, 1));
    p.onMarketEvent(quote('TSLA', 2500, 100, 1, 100.5, -2));
    expect(sink.calls.filter((c) => (c as unknown[])[0] !== 'advanceTo')).toEqual([]);
    expect(p.counters.badQuotes).toBe(5);
    const b = p.syncs.get('TSLA')!.book;
    expect([b.bestBid(), b.bestAsk(), b.lastUpdateId]).toEqual([10000, 10050, 1]);
    // a bad first quote does not sync a book
    p.onMarketEvent(quote('DOGE/USD', 2600, 0.2, 1, 0.1, 1));
    expect(p.syncs.get('DOGE/USD')!.state).toBe('syncing');
  });

  it('turns prints into TradeEvents', () => {
    const { sink, p } = setup();
    p.onMarketEvent(print('TSLA', 3000, 251.375, 10, 42));
    p.onMarketEvent(print('DOGE/USD', 3100, 0.1234567, 0.0002, null, 'sell'));
    p.onMarketEvent(print('DOGE/USD', 3200, 0.1, 2.5, null, 'buy'));
    p.onMarketEvent(print('TSLA', 3300, 0, 1, 43));
    p.onMarketEvent(print('TSLA', 3400, 250, 0, 44));
    expect(sink.trades).toEqual([
      { kind: 'trade', venue: 'alpaca', symbol: 'TSLA', eventTime: 2997, recvTime: 3000, tradeId: 42, priceUnits: 25138, qtyUnits: 10_000_000, buyerIsMaker: false },
      { kind: 'trade', venue: 'alpaca', symbol: 'DOGE/USD', eventTime: 3097, recvTime: 3100, tradeId: 1, priceUnits: 123457, qtyUnits: 2, buyerIsMaker: true },
      { kind: 'trade', venue: 'alpaca', symbol: 'DOGE/USD', eventTime: 3197, recvTime: 3200, tradeId: 2, priceUnits: 100000, qtyUnits: 25_000, buyerIsMaker: false },
    ]);
    expect(p.counters.badPrints).toBe(2);
    expect(p.counters.prints).toBe(3);
  });

  it('keeps bars for status only, and counts unknown symbols', () => {
    const { sink, p } = setup();
    sink.calls.length = 0;
    p.onMarketEvent(bar('TSLA', 60_000, 250, 1000));
    p.onMarketEvent(quote('AAPL', 4000, 1, 1, 2, 1));
    p.onMarketEvent(print('BTC/USD', 4100, 1, 1, 1));
    expect(sink.calls).toEqual([['advanceTo', 120_500], ['advanceTo', 4000], ['advanceTo', 4100]]);
    expect(p.counters).toMatchObject({ bars: 1, unknownSymbols: 2, events: 3 });
    expect(p.status().lastBars['TSLA']).toMatchObject({ close: 250, start: 60_000 });
    expect(p.syncs.has('AAPL')).toBe(false);
  });

  it('resyncs the synced books of the asset class whose stream went down', () => {
    const { sink, log, p } = setup();
    p.onMarketEvent(quote('TSLA', 2000, 100, 1, 101, 1));
    p.onMarketEvent(quote('DOGE/USD', 2000, 0.1, 1, 0.2, 1));
    sink.calls.length = 0;
    p.onDisconnect('stocks', 5000);
    expect(log.lines.at(-1)).toEqual({ recvTime: 5000, source: 'alpaca reset', payload: 'stocks' });
    expect(sink.calls).toEqual([['advanceTo', 5000], ['state', 'TSLA', 'resyncing', 5000]]);
    expect(p.syncs.get('TSLA')!.book.bids.size).toBe(0);
    expect(p.syncs.get('DOGE/USD')!.state).toBe('synced');
    // a second disconnect changes nothing; the next quote syncs again with a larger id
    sink.calls.length = 0;
    p.onDisconnect('stocks', 5100);
    expect(sink.calls).toEqual([['advanceTo', 5100]]);
    p.onMarketEvent(quote('TSLA', 6000, 100, 1, 101, 1));
    expect(sink.calls.slice(-2)).toEqual([
      ['state', 'TSLA', 'synced', 6000],
      ['book', 'TSLA', 6000, 2, 1, 10000, 1_000_000, 1, 10100, 1_000_000, 5995, 6000],
    ]);
    p.onDisconnect('crypto', 7000);
    expect(p.syncs.get('DOGE/USD')!.state).toBe('resyncing');
  });

  it('warms up from bars: one trade per bar at its close, oldest first', () => {
    const { sink, log, p } = setup();
    const bars = [bar('TSLA', 180_000, 252.5, 120), bar('TSLA', 120_000, 251.25, 0), bar('DOGE/USD', 120_000, 0.2, 1000.5), bar('AAPL', 120_000, 1, 1)];
    expect(p.warmUp(bars, 9000)).toBe(3);
    expect(log.lines.at(-1)!.source).toBe('alpaca warm');
    expect(sink.trades).toEqual([
      { kind: 'trade', venue: 'alpaca', symbol: 'TSLA', eventTime: 179_999, recvTime: 9000, tradeId: 1, priceUnits: 25125, qtyUnits: 1, buyerIsMaker: false },
      { kind: 'trade', venue: 'alpaca', symbol: 'DOGE/USD', eventTime: 179_999, recvTime: 9000, tradeId: 2, priceUnits: 200000, qtyUnits: 10_005_000, buyerIsMaker: false },
      { kind: 'trade', venue: 'alpaca', symbol: 'TSLA', eventTime: 239_999, recvTime: 9000, tradeId: 3, priceUnits: 25250, qtyUnits: 120_000_000, buyerIsMaker: false },
    ]);
  });

  it('replays its own log lines into the same sink calls', () => {
    const { sink, log, p } = setup();
    p.warmUp([bar('TSLA', 0, 250, 10), bar('DOGE/USD', 0, 0.1, 10)], 1500);
    p.onMarketEvent(quote('TSLA', 2000, 251.37, 3, 251.41, 0.5));
    p.onMarketEvent(quote('TSLA', 2050, 252, 3, 251.41, 0.5)); // crossed
    p.onMarketEvent(print('TSLA', 2100, 251.4, 7, null, null));
    p.onMarketEvent(print('DOGE/USD', 2150, 0.123, 5, 77, 'sell'));
    p.onMarketEvent(quote('DOGE/USD', 2200, 0.1, 1, 0.2, 1));
    p.onMarketEvent(bar('TSLA', 60_000, 251.4, 7));
    p.onMarketEvent(quote('NVDA', 2300, 1, 1, 2, 1));
    p.onDisconnect('crypto', 2400);
    p.onMarketEvent(quote('DOGE/USD', 2500, 0.11, 1, 0.2, 1));

    const sink2 = new RecordingSink();
    const p2 = new AlpacaProcessor({ sink: sink2, instruments: [] });
    for (const l of log.lines) expect(p2.replay(l.source, l.payload, l.recvTime)).toBe(true);
    expect(sink2.calls).toEqual(sink.calls);
    expect(p2.status()).toEqual(p.status());
  });

  it('rejects unknown sources and bad payloads as malformed', () => {
    const { p, sink } = setup();
    sink.calls.length = 0;
    expect(p.replay('alpaca md', '{not json', 1)).toBe(false);
    expect(p.replay('alpaca md', '{"kind":"trade","symbol":"TSLA"}', 1)).toBe(false);
    expect(p.replay('alpaca info', '{}', 1)).toBe(false);
    expect(p.replay('alpaca warm', '[{"kind":"quote"}]', 1)).toBe(false);
    expect(p.replay('alpaca reset', 'forex', 1)).toBe(false);
    expect(p.replay('alpaca what', '', 1)).toBe(false);
    expect(p.replay('spot msg', '{}', 1)).toBe(false);
    expect(sink.calls).toEqual([]);
    expect(p.status().counters.malformed).toEqual({ 'alpaca md': 2, 'alpaca info': 1, 'alpaca warm': 1, 'alpaca reset': 1, 'alpaca what': 1, 'unknown source': 1 });
  });
});
