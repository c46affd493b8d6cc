import { DepthSync } from '../../book/sync.js';
import type { EpochMs } from '../../core/types.js';
import type { TradeEvent } from '../../model/events.js';
import type { Instrument } from '../../model/instrument.js';
import type { FeedSink, InputLog } from '../binance/processor.js';
import type { AlpacaMarketEvent, AssetClass, BarEvent, PrintEvent, QuoteEvent } from './events.js';

/**
 * Event log sources written by the Alpaca processor (one line each: `<recvTime> <source> <payload>`):
 * - `alpaca info`  the instruments (JSON array of Instrument)
 * - `alpaca md`    one decoded market-data event (JSON of an AlpacaMarketEvent)
 * - `alpaca warm`  the REST backfill bars fed as warm-up trades (JSON array of BarEvent)
 * - `alpaca reset` a market-data stream went down: `stocks` or `crypto`
 */
export const ALPACA_SOURCES = {
  info: 'alpaca info',
  md: 'alpaca md',
  warm: 'alpaca warm',
  reset: 'alpaca reset',
} as const;

export interface AlpacaProcessorOptions {
  sink: FeedSink;
  log?: InputLog | null;
  /** instruments of venue 'alpaca' (symbols as Alpaca spells them: TSLA, DOGE/USD) */
  instruments: Instrument[];
}

export interface AlpacaBookStatus {
  state: string;
  lastUpdateId: number;
  resyncs: number;
  gaps: number;
  snapshots: number;
  buffered: number;
  /** best bid/ask as plain decimals (null when the book is empty) */
  bid: number | null;
  ask: number | null;
  bidSize: number | null;
  askSize: number | null;
}

export interface AlpacaProcessorCounters {
  /** market-data events processed (known or not) */
  events: number;
  quotes: number;
  prints: number;
  bars: number;
  badQuotes: number;
  badPrints: number;
  unknownSymbols: number;
  /** synthetic warm-up trades fed */
  warmTrades: number;
  /** books reset by a stream disconnect */
  resets: number;
  /** replayed log lines that could not be used, by source */
  malformed: Record<string, number>;
}

export interface AlpacaProcessorStatus {
  books: Record<string, AlpacaBookStatus>;
  counters: AlpacaProcessorCounters;
  lastBars: Record<string, BarEvent>;
}

const assetClassOf = (symbol: string): AssetClass => (symbol.includes('/') ? 'crypto' : 'stocks');
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The deterministic half of the Alpaca venue: decoded market-data events (quotes, prints, bars), REST
 * warm-up bars and stream resets in, top-of-book books and trades out to the sink. Every input is written
 * to the event log before it is processed, and `replay` reads those lines back through the same code.
 * No I/O, no wall clock: times come with the inputs.
 *
 * Alpaca streams no depth: each quote becomes a one-level book (best bid, best ask) in integer units.
 */
export class AlpacaProcessor {
  readonly syncs = new Map<string, DepthSync>();
  instruments = new Map<string, Instrument>();
  readonly lastBars = new Map<string, BarEvent>();
  readonly counters: AlpacaProcessorCounters = {
    events: 0,
    quotes: 0,
    prints: 0,
    bars: 0,
    badQuotes: 0,
    badPrints: 0,
    unknownSymbols: 0,
    warmTrades: 0,
    resets: 0,
    malformed: {},
  };
  /** per symbol: the last update id given to its book (kept across resets, so ids only grow) */
  private readonly updateIds = new Map<string, number>();
  /** trade ids for prints without one and for warm-up trades */
  private tradeCounter = 0;

  constructor(private readonly opts: AlpacaProcessorOptions) {}

  /** Logs and announces the constructor's instruments. */
  start(recvTime: EpochMs): void {
    this.loadInstruments(this.opts.instruments, recvTime);
  }

  /** (Re)loads the instrument set: logged as `alpaca info`, announced with sink.onInstruments('alpaca', …). */
  loadInstruments(instruments: readonly Instrument[], recvTime: EpochMs): void {
    this.opts.log?.write(recvTime, ALPACA_SOURCES.info, JSON.stringify(instruments));
    this.opts.sink.advanceTo?.(recvTime);
    const found = new Map<string, Instrument>();
    for (const inst of instruments) {
      if (inst.venue !== 'alpaca') continue;
      found.set(inst.symbol, inst);
      if (!this.syncs.has(inst.symbol)) this.syncs.set(inst.symbol, new DepthSync('alpaca', inst.symbol));
    }
    this.instruments = found;
    this.opts.sink.onInstruments('alpaca', [...found.values()]);
  }

  /** One decoded market-data event. */
  onMarketEvent(e: AlpacaMarketEvent): void {
    this.opts.log?.write(e.recvTime, ALPACA_SOURCES.md, JSON.stringify(e));
    this.opts.sink.advanceTo?.(e.recvTime);
    this.counters.events++;
    const inst = this.instruments.get(e.symbol);
    if (!inst) {
      this.counters.unknownSymbols++;
      return;
    }
    switch (e.kind) {
      case 'quote':
        this.onQuote(e, inst);
        return;
      case 'print':
        this.onPrint(e, inst);
        return;
      case 'bar':
        this.counters.bars++;
        this.lastBars.set(e.symbol, e);
        return;
    }
  }

  private onQuote(e: QuoteEvent, inst: Instrument): void {
    const sync = this.syncs.get(e.symbol);
    if (!sync) return;
    const ps = 10 ** inst.priceDecimals;
    const qs = 10 ** inst.qtyDecimals;
    const ok = isNum(e.bidPrice) && isNum(e.askPrice) && isNum(e.bidSize) && isNum(e.askSize) && e.bidPrice > 0 && e.askPrice > 0 && e.bidSize > 0 && e.askSize > 0;
    const bid = ok ? Math.round(e.bidPrice * ps) : 0;
    const ask = ok ? Math.round(e.askPrice * ps) : 0;
    if (!ok || bid <= 0 || bid >= ask) {
      this.counters.badQuotes++;
      return;
    }
    // a positive size finer than the instrument's unit still is one unit on the book
    const bidQty = Math.max(1, Math.round(e.bidSize * qs));
    const askQty = Math.max(1, Math.round(e.askSize * qs));
    this.counters.quotes++;
    const book = sync.book;
    book.clear();
    book.bids.set(bid, bidQty);
    book.asks.set(ask, askQty);
    const id = (this.updateIds.get(e.symbol) ?? 0) + 1;
    this.updateIds.set(e.symbol, id);
    book.lastUpdateId = id;
    book.lastEventTime = e.time;
    book.lastRecvTime = e.recvTime;
    if (sync.state !== 'synced') {
      sync.state = 'synced';
      sync.lastSyncedAt = e.recvTime;
      this.opts.sink.onBookState(sync, e.recvTime);
    }
    this.opts.sink.onBook(sync, e.recvTime);
  }

  private onPrint(e: PrintEvent, inst: Instrument): void {
    const price = isNum(e.price) && e.price > 0 ? Math.round(e.price * 10 ** inst.priceDecimals) : 0;
    const qty = isNum(e.size) && e.size > 0 ? Math.max(1, Math.round(e.size * 10 ** inst.qtyDecimals)) : 0;
    if (price <= 0 || qty <= 0) {
      this.counters.badPrints++;
      return;
    }
    this.counters.prints++;
    const ev: TradeEvent = {
      kind: 'trade',
      venue: 'alpaca',
      symbol: e.symbol,
      eventTime: e.time,
      recvTime: e.recvTime,
      tradeId: e.tradeId ?? ++this.tradeCounter,
      priceUnits: price,
      qtyUnits: qty,
      buyerIsMaker: e.takerSide === 'sell',
    };
    this.opts.sink.onEvent(ev);
  }

  /**
   * REST backfill bars as warm-up: one synthetic trade per bar at its close, at the bar's last
   * millisecond, so 1-minute bars built from trades close where Alpaca's bars closed. Oldest first.
   * Returns how many trades were fed.
   */
  warmUp(bars: readonly BarEvent[], recvTime: EpochMs): number {
    this.opts.log?.write(recvTime, ALPACA_SOURCES.warm, JSON.stringify(bars));
    this.opts.sink.advanceTo?.(recvTime);
    const sorted = bars.map((b, i) => ({ b, i })).sort((x, y) => x.b.start - y.b.start || x.i - y.i);
    let fed = 0;
    for (const { b } of sorted) {
      const inst = this.instruments.get(b.symbol);
      if (!inst) {
        this.counters.unknownSymbols++;
        continue;
      }
      if (!isNum(b.close) || b.close <= 0 || !isNum(b.start)) {
        this.counters.badPrints++;
        continue;
      }
      const price = Math.round(b.close * 10 ** inst.priceDecimals);
      if (price <= 0) {
        this.counters.badPrints++;
        continue;
      }
      const qty = Math.max(1, isNum(b.volume) ? Math.round(b.volume * 10 ** inst.qtyDecimals) : 0);
      this.opts.sink.onEvent({
        kind: 'trade',
        venue: 'alpaca',
        symbol: b.symbol,
        eventTime: b.start + 60_000 - 1,
        recvTime,
        tradeId: ++this.tradeCounter,
        priceUnits: price,
        qtyUnits: qty,
        buyerIsMaker: false,
      });
      fed++;
    }
    this.counters.warmTrades += fed;
    return fed;
  }

  /** A market-data stream of `assetClass` went down: its synced books start over ('resyncing'). */
  onDisconnect(assetClass: AssetClass, recvTime: EpochMs): void {
    this.opts.log?.write(recvTime, ALPACA_SOURCES.reset, assetClass);
    this.opts.sink.advanceTo?.(recvTime);
    for (const sync of this.syncs.values()) {
      if (assetClassOf(sync.symbol) !== assetClass || sync.state !== 'synced') continue;
      sync.reset('resyncing');
      this.counters.resets++;
      this.opts.sink.onBookState(sync, recvTime);
    }
  }

  /**
   * One event log line written by this processor (`source`, `payload` as written), fed back through the
   * same code. False (counted as malformed) for an unknown source or a payload that does not parse.
   */
  replay(source: string, payload: string, recvTime: EpochMs): boolean {
    switch (source) {
      case ALPACA_SOURCES.info: {
        const v = parseJson(payload);
        if (!Array.isArray(v) || !v.every(isInstrument)) return this.malformed(source);
        this.loadInstruments(v, recvTime);
        return true;
      }
      case ALPACA_SOURCES.md: {
        const v = parseJson(payload);
        if (!isMarketEvent(v)) return this.malformed(source);
        this.onMarketEvent(v);
        return true;
      }
      case ALPACA_SOURCES.warm: {
        const v = parseJson(payload);
        if (!Array.isArray(v) || !v.every((b) => isMarketEvent(b) && b.kind === 'bar')) return this.malformed(source);
        this.warmUp(v as BarEvent[], recvTime);
        return true;
      }
      case ALPACA_SOURCES.reset:
        if (payload !== 'stocks' && payload !== 'crypto') return this.malformed(source);
        this.onDisconnect(payload, recvTime);
        return true;
      default:
        return this.malformed(source.startsWith('alpaca ') ? source : 'unknown source');
    }
  }

  private malformed(kind: string): false {
    this.counters.malformed[kind] = (this.counters.malformed[kind] ?? 0) + 1;
    return false;
  }

  status(): AlpacaProcessorStatus {
    const books: Record<string, AlpacaBookStatus> = {};
    for (const [sym, s] of this.syncs) {
      const inst = this.instruments.get(sym);
      const ps = 10 ** (inst?.priceDecimals ?? 0);
      const qs = 10 ** (inst?.qtyDecimals ?? 0);
      const b = s.book;
      const hasBid = b.bids.size > 0;
      const hasAsk = b.asks.size > 0;
      books[sym] = {
        state: s.state,
        lastUpdateId: b.lastUpdateId,
        resyncs: s.resyncs,
        gaps: s.gaps,
        snapshots: 0,
        buffered: 0,
        bid: hasBid ? b.bids.price(0) / ps : null,
        ask: hasAsk ? b.asks.price(0) / ps : null,
        bidSize: hasBid ? b.bids.qty(0) / qs : null,
        askSize: hasAsk ? b.asks.qty(0) / qs : null,
      };
    }
    return {
      books,
      counters: { ...this.counters, malformed: { ...this.counters.malformed } },
      lastBars: Object.fromEntries([...this.lastBars].map(([k, v]) => [k, { ...v }])),
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isInstrument(v: unknown): v is Instrument {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o['symbol'] === 'string' && typeof o['venue'] === 'string' && Number.isInteger(o['priceDecimals']) && Number.isInteger(o['qtyDecimals']);
}

function isMarketEvent(v: unknown): v is AlpacaMarketEvent {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  // a non-finite number was written as null: the processor counts it as bad, as it did live
  const num = (k: string): boolean => typeof o[k] === 'number' || o[k] === null;
  if (typeof o['symbol'] !== 'string' || (o['assetClass'] !== 'stocks' && o['assetClass'] !== 'crypto') || !isNum(o['recvTime'])) return false;
  switch (o['kind']) {
    case 'quote':
      return isNum(o['time']) && ['bidPrice', 'bidSize', 'askPrice', 'askSize'].every(num);
    case 'print':
      return isNum(o['time']) && num('price') && num('size') && (o['tradeId'] === null || isNum(o['tradeId']));
    case 'bar':
      return isNum(o['start']) && ['open', 'high', 'low', 'close', 'volume'].every(num);
    default:
      return false;
  }
}
