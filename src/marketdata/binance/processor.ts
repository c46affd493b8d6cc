import type { Logger } from '../../core/logger.js';
import { DepthSync } from '../../book/sync.js';
import type { EpochMs, Venue } from '../../core/types.js';
import type { DepthSnapshot, MarketEvent } from '../../model/events.js';
import { exchangeInfoSchema, instrumentFromExchangeInfo, type Instrument } from '../../model/instrument.js';
import { BinanceDecoder, decodeSnapshot, type StreamKind } from './decode.js';

/** What a venue reports to (the engine). Called synchronously, in the order inputs arrived. */
export interface FeedSink {
  /**
   * An input received at `recvTime` is about to change the market state: whatever the sink has scheduled
   * before then must run first, against the market as it was (an order due at t+10 must not see a diff
   * received at t+15).
   */
  advanceTo?(recvTime: EpochMs): void;
  onInstruments(venue: Venue, instruments: Instrument[]): void;
  /** a diff was applied to a synced book */
  onBook(sync: DepthSync, recvTime: number): void;
  /** the book's sync state changed (synced / resyncing) */
  onBookState(sync: DepthSync, recvTime: number): void;
  onEvent(ev: MarketEvent): void;
}

/**
 * Where every raw input of a venue is written before it is processed (the session's event log), so a
 * session can be replayed exactly: `source` is e.g. 'spot msg', 'usdm snap BTCUSDT'.
 */
export interface InputLog {
  write(recvTime: EpochMs, source: string, payload: string): void;
}

export type MessageOutcome = 'ok' | 'shutdown' | 'malformed' | 'ignored';
export type SnapshotResult = 'synced' | 'held' | 'ignored' | 'too_old' | 'gap' | 'bad';

export interface ProcessorOptions {
  venue: Venue;
  sink: FeedSink;
  logger: Logger;
  /** symbols the session trades or watches (exchangeInfo entries of others are ignored) */
  symbols: readonly string[];
  /** called when a book needs a REST snapshot (live: the feed fetches one; replay: nothing to do) */
  onNeedSnapshot?: (symbol: string) => void;
  log?: InputLog | null;
  /**
   * Decode large depth messages best levels first and the rest after the decision (`BinanceDecoder.lazyDepth`;
   * default true). Every read of the book returns the same either way; only when the work is done changes.
   */
  lazyDepth?: boolean;
}

/** Every depth stream speed Binance offers: a recording may carry any of them. */
const DEPTH_SPEEDS = ['', '@100ms', '@250ms', '@500ms', '@0ms', '@1000ms'];

/**
 * The deterministic half of a Binance venue: raw inputs (stream messages, REST bodies, connection
 * resets) in, decoded events and synced books out to the sink. It never touches the network or the wall
 * clock, so the live feed, the backtest and the replay of an event log all run exactly this code.
 */
export class VenueProcessor {
  readonly decoder: BinanceDecoder;
  readonly syncs = new Map<string, DepthSync>();
  instruments = new Map<string, Instrument>();
  /** snapshots that came before any diff was buffered: applied with the next diff */
  private readonly held = new Map<string, DepthSnapshot>();
  readonly snapshots = new Map<string, number>();
  messages = 0;
  private readonly src: { msg: string; info: string; snap: string; reset: string; oi: string };

  constructor(private readonly opts: ProcessorOptions) {
    this.decoder = new BinanceDecoder(opts.venue);
    this.decoder.lazyDepth = opts.lazyDepth ?? true;
    const v = opts.venue;
    this.src = { msg: `${v} msg`, info: `${v} info`, snap: `${v} snap`, reset: `${v} reset`, oi: `${v} oi` };
  }

  get venue(): Venue {
    return this.opts.venue;
  }

  /** exchangeInfo arrived (body already parsed). Returns an error text, or null when instruments loaded. */
  onExchangeInfo(body: unknown, recvTime: EpochMs): string | null {
    this.opts.log?.write(recvTime, this.src.info, JSON.stringify(body));
    this.opts.sink.advanceTo?.(recvTime);
    const info = exchangeInfoSchema.safeParse(body);
    if (!info.success) return `exchangeInfo: ${info.error.issues[0]?.message ?? 'unexpected shape'}`;
    const found = new Map<string, Instrument>();
    const problems: string[] = [];
    for (const raw of info.data.symbols) {
      if (!this.opts.symbols.includes(raw.symbol)) continue;
      const inst = instrumentFromExchangeInfo(this.venue, raw);
      if (inst.ok) found.set(raw.symbol, inst.value);
      else problems.push(inst.message);
    }
    const missing = this.opts.symbols.filter((s) => !found.has(s));
    if (missing.length > 0) {
      this.opts.logger.error({ venue: this.venue, missing, problems }, 'symbols not listed on the venue; they are skipped');
    }
    if (found.size === 0) return `none of ${this.opts.symbols.join(',')} is listed on ${this.venue}`;
    this.instruments = found;
    for (const inst of found.values()) {
      if (!this.syncs.has(inst.symbol)) this.syncs.set(inst.symbol, new DepthSync(this.venue, inst.symbol));
      const s = inst.symbol.toLowerCase();
      for (const speed of DEPTH_SPEEDS) this.decoder.register(`${s}@depth${speed}`, 'depth', inst);
      const kinds: [string, StreamKind][] = [
        [`${s}@trade`, 'trade'],
        [`${s}@bookTicker`, 'bookTicker'],
        [`${s}@markPrice@1s`, 'markPrice'],
        [`${s}@markPrice`, 'markPrice'],
        [`${s}@forceOrder`, 'forceOrder'],
      ];
      for (const [name, kind] of kinds) this.decoder.register(name, kind, inst);
    }
    this.opts.sink.onInstruments(this.venue, [...found.values()]);
    return null;
  }

  /** One WebSocket message, exactly as received. */
  onMessage(text: string, recvTime: EpochMs): MessageOutcome {
    this.opts.log?.write(recvTime, this.src.msg, text);
    this.opts.sink.advanceTo?.(recvTime);
    this.messages++;
    const r = this.decoder.decode(text, recvTime);
    if (!r.ok) return r.reason === 'shutdown' ? 'shutdown' : r.reason === 'malformed' ? 'malformed' : 'ignored';
    const ev = r.event;
    if (ev.kind !== 'depth') {
      this.opts.sink.onEvent(ev);
      return 'ok';
    }
    // a large diff may come with its worse levels still to decode (`DeferredLevels`): the book applies them
    // at the first read that needs them, and at the latest below, once the decision on the diff is made
    const rest = ev.rest ?? null;
    const sync = this.syncs.get(ev.symbol);
    if (!sync) return rest === null || rest.finish() ? 'ignored' : 'malformed';
    const outcome = sync.onDiff(ev);
    if (outcome === 'applied') this.opts.sink.onBook(sync, recvTime);
    const whole = rest === null || rest.finish();
    if (!whole && outcome === 'applied' && sync.synced) {
      // malformed past the levels already applied (the decoder counted it): this book cannot be trusted
      this.opts.logger.warn({ venue: this.venue, symbol: sync.symbol, u: ev.lastId, recvTime }, 'depth message malformed past its best levels: resyncing');
      sync.reset('resyncing');
      this.opts.sink.onBookState(sync, recvTime);
      this.opts.onNeedSnapshot?.(sync.symbol);
    }
    if (outcome === 'gap') {
      this.opts.logger.warn({ venue: this.venue, symbol: ev.symbol, U: ev.firstId, u: ev.lastId, pu: ev.prevLastId, recvTime }, 'depth sequence gap: resyncing');
      this.opts.sink.onBookState(sync, recvTime);
      this.opts.onNeedSnapshot?.(sync.symbol);
    } else if (outcome === 'buffered') {
      const held = this.held.get(sync.symbol);
      if (held !== undefined) {
        this.held.delete(sync.symbol);
        this.applySnapshot(sync, held, recvTime);
      } else this.opts.onNeedSnapshot?.(sync.symbol);
    }
    return whole && outcome !== 'malformed' ? 'ok' : 'malformed';
  }

  /** A REST depth snapshot for `symbol` arrived (body already parsed). */
  onSnapshot(symbol: string, body: unknown, recvTime: EpochMs): SnapshotResult {
    this.opts.log?.write(recvTime, `${this.src.snap} ${symbol}`, JSON.stringify(body));
    this.opts.sink.advanceTo?.(recvTime);
    const sync = this.syncs.get(symbol);
    const inst = this.instruments.get(symbol);
    if (!sync || !inst || sync.synced) return 'ignored';
    const snap = decodeSnapshot(this.venue, inst, body, recvTime);
    if (typeof snap === 'string') {
      this.opts.logger.warn({ venue: this.venue, symbol, error: snap }, 'bad depth snapshot');
      return 'bad';
    }
    this.snapshots.set(symbol, (this.snapshots.get(symbol) ?? 0) + 1);
    if (sync.buffered === 0) {
      // nothing to check it against yet: the next diff decides
      this.held.set(symbol, snap);
      return 'held';
    }
    return this.applySnapshot(sync, snap, recvTime);
  }

  private applySnapshot(sync: DepthSync, snap: DepthSnapshot, recvTime: EpochMs): 'synced' | 'too_old' | 'gap' {
    const outcome = sync.onSnapshot(snap, recvTime);
    if (outcome === 'synced') {
      this.opts.logger.info({ venue: this.venue, symbol: sync.symbol, lastUpdateId: sync.book.lastUpdateId, recvTime }, 'book synced');
      this.opts.sink.onBookState(sync, recvTime);
    } else {
      this.opts.logger.info({ venue: this.venue, symbol: sync.symbol, outcome, snapshotId: snap.lastUpdateId }, 'snapshot does not fit the stream; another is needed');
      this.opts.onNeedSnapshot?.(sync.symbol);
    }
    return outcome;
  }

  /** A connection carrying these symbols' depth opened or went down: their books start over. */
  onReset(symbols: readonly string[], state: 'syncing' | 'resyncing', recvTime: EpochMs): void {
    this.opts.log?.write(recvTime, `${this.src.reset} ${state}`, symbols.join(','));
    this.opts.sink.advanceTo?.(recvTime);
    for (const symbol of symbols) {
      const sync = this.syncs.get(symbol);
      if (!sync) continue;
      const was = sync.state;
      sync.reset(state);
      this.held.delete(symbol);
      if (was === 'synced') this.opts.sink.onBookState(sync, recvTime);
    }
  }

  /** A REST open-interest answer (USD-M) arrived. Returns false when malformed. */
  onOpenInterest(symbol: string, body: unknown, recvTime: EpochMs): boolean {
    this.opts.log?.write(recvTime, `${this.src.oi} ${symbol}`, JSON.stringify(body));
    this.opts.sink.advanceTo?.(recvTime);
    const v = (body ?? {}) as { openInterest?: unknown; time?: unknown };
    const oi = Number(v.openInterest);
    if (this.venue !== 'usdm' || !Number.isFinite(oi)) {
      this.decoder.malformed['openInterest'] = (this.decoder.malformed['openInterest'] ?? 0) + 1;
      return false;
    }
    const time = Number(v.time);
    this.opts.sink.onEvent({ kind: 'openInterest', venue: 'usdm', symbol, time: Number.isFinite(time) && time > 0 ? time : recvTime, recvTime, openInterest: oi });
    return true;
  }
}
