import type { DepthSync } from '../book/sync.js';
import type { Logger } from '../core/logger.js';
import { BINANCE_VENUES as VENUES, type BinanceVenue, type EpochMs, type Venue } from '../core/types.js';
import { forEachMergedLine, inspectRecordings, nsToMs, type RecordingInfo } from '../engine/offline.js';
import type { BookView, FeatureInstrument, FuturesInput, TradeInput } from '../features/engine.js';
import { VenueProcessor, type FeedSink } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO, referenceInstrument } from '../marketdata/binance/reference.js';
import type { ReadStats } from '../marketdata/recording/format.js';
import type { MarketEvent } from '../model/events.js';

/**
 * What a market data source reports about the one instrument a dataset samples, in time order. `t` is the
 * data's own time (Binance: the local receive time of the recording, the clock the live engine runs on;
 * LOBSTER: the exchange timestamp).
 */
export interface InstrumentHandler {
  /** the book changed and is usable (synced, both sides present) */
  onBook(book: BookView, t: EpochMs): void;
  /** the book is not usable any more (sequence gap, reconnect, halt, an empty side) until the next onBook */
  onUnsynced(t: EpochMs): void;
  onTrade(trade: TradeInput, t: EpochMs): void;
  onFutures(ev: FuturesInput, t: EpochMs): void;
}

export interface SourceDescription {
  format: 'binance' | 'lobster';
  venue: string;
  symbol: string;
  instrument: FeatureInstrument & { tickSize: number };
  /** what the times are */
  clock: string;
}

export interface BinanceSelection {
  venue?: BinanceVenue;
  symbol?: string;
}

/** Which venue:symbol of the recordings a dataset samples: the one asked for, else spot if recorded, else USD-M; one symbol unless --symbol. */
export async function describeBinance(files: readonly string[], sel: BinanceSelection): Promise<{ infos: RecordingInfo[]; source: SourceDescription }> {
  const infos = await inspectRecordings(files);
  const venues = VENUES.filter((v) => infos.some((i) => i.venue === v));
  const venue = sel.venue ?? (venues.includes('spot') ? 'spot' : 'usdm');
  const symbols = [...new Set(infos.filter((i) => i.venue === venue).map((i) => i.symbol))];
  if (symbols.length === 0) throw new Error(`the recordings hold no ${venue} data (found: ${infos.map((i) => `${i.venue}:${i.symbol}`).join(', ')})`);
  let symbol = sel.symbol;
  if (symbol === undefined) {
    if (symbols.length > 1) throw new Error(`the recordings hold several ${venue} symbols (${symbols.join(', ')}): choose one with --symbol`);
    symbol = symbols[0]!;
  } else if (!symbols.includes(symbol)) throw new Error(`the recordings hold no ${venue}:${symbol} (found: ${symbols.join(', ')})`);
  for (const i of infos) {
    if (REFERENCE_EXCHANGE_INFO[i.venue][i.symbol] === undefined) throw new Error(`${i.file}: no reference exchangeInfo for ${i.venue}:${i.symbol}`);
  }
  const inst = referenceInstrument(venue, symbol);
  return {
    infos,
    source: {
      format: 'binance',
      venue,
      symbol,
      instrument: { tickUnits: inst.tickUnits, priceDecimals: inst.priceDecimals, qtyDecimals: inst.qtyDecimals, tickSize: inst.tickUnits / 10 ** inst.priceDecimals },
      clock: 'local receive time of the recording (the live engine clock), ms since the epoch',
    },
  };
}

/** what a Binance replay saw */
export interface BinanceReplayStats {
  lines: number;
  malformed: number;
  /** sync losses of the sampled book */
  resyncs: number;
  firstTime: EpochMs;
  lastTime: EpochMs;
}

/**
 * Replays recordings through the live decode and book procedure (the same merge by receive time and the
 * same VenueProcessor as `papertape backtest`), reporting the chosen instrument's synced book updates,
 * trades, sync losses and the USD-M futures events of its symbol to `h`.
 */
export async function replayBinance(infos: readonly RecordingInfo[], source: SourceDescription, h: InstrumentHandler, logger: Logger): Promise<BinanceReplayStats> {
  const venue = source.venue as Venue;
  const symbol = source.symbol;
  const out: BinanceReplayStats = { lines: 0, malformed: 0, resyncs: 0, firstTime: NaN, lastTime: NaN };
  const sink: FeedSink = {
    onInstruments() {},
    onBook(sync: DepthSync, t: number) {
      if (sync.venue === venue && sync.symbol === symbol) {
        const b = sync.book;
        if (b.bids.size > 0 && b.asks.size > 0) h.onBook(b, t);
        else h.onUnsynced(t);
      }
    },
    onBookState(sync: DepthSync, t: number) {
      if (sync.venue === venue && sync.symbol === symbol && !sync.synced) {
        out.resyncs++;
        h.onUnsynced(t);
      }
    },
    onEvent(ev: MarketEvent) {
      if (ev.symbol !== symbol) return;
      switch (ev.kind) {
        case 'trade':
          if (ev.venue === venue) h.onTrade(ev, ev.recvTime);
          break;
        case 'markPrice':
        case 'liquidation':
        case 'openInterest':
          h.onFutures(ev, ev.recvTime);
          break;
        case 'bookTicker':
        case 'depth':
        case 'snapshot':
          break;
        default: {
          const never: never = ev;
          throw new Error(`unexpected event ${JSON.stringify(never)}`);
        }
      }
    },
  };
  const symbols = [...new Set(infos.map((i) => i.symbol))];
  const processors = new Map<Venue, VenueProcessor>();
  for (const v of VENUES.filter((x) => infos.some((i) => i.venue === x))) {
    const p = new VenueProcessor({ venue: v, sink, logger, symbols });
    const err = p.onExchangeInfo({ symbols: symbols.map((s) => REFERENCE_EXCHANGE_INFO[v][s]).filter((x) => x !== undefined) }, 0);
    if (err) throw new Error(`${v}: ${err}`);
    processors.set(v, p);
  }
  const stats: ReadStats = { lines: 0, malformed: 0 };
  let unknown = 0;
  await forEachMergedLine(infos, stats, (ns, text, info) => {
    const t = nsToMs(ns);
    if (out.firstTime !== out.firstTime) out.firstTime = t;
    out.lastTime = t;
    const p = processors.get(info.venue)!;
    if (text.startsWith('{"stream"')) p.onMessage(text, t);
    else if (text.startsWith('{"lastUpdateId"')) p.onSnapshot(info.symbol, JSON.parse(text) as unknown, t);
    else unknown++;
  });
  out.lines = stats.lines;
  out.malformed = stats.malformed + unknown;
  for (const p of processors.values()) out.malformed += Object.values(p.decoder.malformed).reduce((a, b) => a + b, 0);
  return out;
}
