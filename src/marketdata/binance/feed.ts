import type { Logger } from '../../core/logger.js';
import type { BinanceVenue, Venue } from '../../core/types.js';
import type { Instrument } from '../../model/instrument.js';
import { StreamConnection, receiveTime, type ConnectionState } from './connection.js';
import type { StreamKind } from './decode.js';
import { VenueProcessor, type FeedSink, type InputLog } from './processor.js';
import { BinanceRest } from './rest.js';

export type { FeedSink } from './processor.js';

export type FeedLogger = Logger;

export interface FeedOptions {
  venue: Venue;
  symbols: string[];
  wsUrl: string;
  restUrl: string;
  sink: FeedSink;
  logger: FeedLogger;
  /** USD-M open interest polling interval; 0 = off */
  openInterestPollMs?: number;
  /** depth stream speed suffix, e.g. '@100ms' */
  depthSpeed?: string;
  /** the session's event log: every raw input is written there before it is processed */
  inputLog?: InputLog | null;
  /** a stream silent this long is dropped and reconnected (default 60 s spot, 120 s USD-M) */
  idleTimeoutMs?: number;
  /** Runs around the processing of each frame (live: the store's writes wait until the frame's decisions are made) */
  frame?: FrameScope;
}

/** What runs before and after each WebSocket frame is processed. */
export interface FrameScope {
  begin(): void;
  end(): void;
}

export type FeedState = 'starting' | 'up' | 'degraded' | 'down' | 'stopped';

export interface FeedStatus {
  venue: Venue;
  state: FeedState;
  lastError: string | null;
  connections: { name: string; state: ConnectionState; messages: number; reconnects: number; lastMessageAt: number | null }[];
  rest: { requests: number; failures: number; rateLimitHits: number; usedWeight1m: number; bannedUntil: number | null };
  messages: number;
  malformed: Record<string, number>;
  unknownStreams: number;
  /**
   * Binance decoder: messages its fast path handed to the JSON.parse path, large depth messages decoded best
   * levels first (lazily), and those that listed a side out of price order (which turns the laziness off)
   */
  decoder?: { slowPath: number; lazyDepth: boolean; lazyMessages: number; depthOutOfOrder: number };
  books: Record<string, { state: string; lastUpdateId: number; resyncs: number; gaps: number; snapshots: number; buffered: number; staleDropped?: number; snapshotsTooOld?: number }>;
}

const SNAPSHOT_LIMIT: Record<BinanceVenue, { limit: number; weight: number }> = {
  spot: { limit: 5000, weight: 250 },
  usdm: { limit: 1000, weight: 20 },
};

/**
 * One Binance venue (spot or USD-M): instruments from exchangeInfo, every symbol's order book kept by
 * the official procedure, trades and book tickers (and on USD-M mark price/funding, liquidations and
 * open interest). All network I/O of the venue lives here; decisions live in DepthSync and the engine.
 */
export class BinanceFeed {
  readonly processor: VenueProcessor;
  readonly rest: BinanceRest;
  private connections: StreamConnection[] = [];
  private fetching = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private abort = new AbortController();
  private stopped = false;
  private lastError: string | null = null;
  private malformedLogged = new Map<string, number>();

  constructor(private readonly opts: FeedOptions) {
    this.processor = new VenueProcessor({
      venue: opts.venue,
      sink: opts.sink,
      logger: opts.logger,
      symbols: opts.symbols,
      log: opts.inputLog ?? null,
      onNeedSnapshot: (symbol) => this.fetchSnapshot(symbol),
    });
    this.rest = new BinanceRest({ baseUrl: opts.restUrl, weightPerMinute: opts.venue === 'spot' ? 6000 : 2400 });
  }

  get venue(): Venue {
    return this.opts.venue;
  }
  get messages(): number {
    return this.processor.messages;
  }

  /** Loads instruments (retrying until it works or the feed stops), then opens the streams. */
  async start(): Promise<void> {
    let delay = 1000;
    while (!this.stopped) {
      const r = await this.loadInstruments();
      if (r === null) break;
      this.lastError = r;
      this.opts.logger.warn({ venue: this.venue, error: r }, 'exchangeInfo failed; retrying');
      await this.sleep(delay);
      delay = Math.min(delay * 2, 60_000);
    }
    if (this.stopped) return;
    this.lastError = null;
    this.openStreams();
    const poll = this.opts.openInterestPollMs ?? 0;
    if (this.venue === 'usdm' && poll > 0) {
      const tick = (): void => {
        void this.pollOpenInterest();
      };
      tick();
      const t = setInterval(tick, poll);
      this.timers.push(t);
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const c of this.connections) c.stop();
    for (const t of this.timers) clearTimeout(t);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.timers.push(t);
    });
  }

  private async loadInstruments(): Promise<string | null> {
    const path = this.venue === 'spot' ? '/api/v3/exchangeInfo' : '/fapi/v1/exchangeInfo';
    const params: Record<string, string> = this.venue === 'spot' ? { symbols: JSON.stringify(this.opts.symbols) } : {};
    const r = await this.rest.get(path, params, this.venue === 'spot' ? 20 : 1, this.abort.signal);
    if (!r.ok) return r.message;
    // USD-M answers with every listed symbol: keep ours (the event log stores what the engine uses)
    const body = r.value as { symbols?: unknown };
    const ours = Array.isArray(body?.symbols)
      ? { ...body, symbols: body.symbols.filter((s: unknown) => this.opts.symbols.includes((s as { symbol?: string } | null)?.symbol ?? '')) }
      : r.value;
    return this.processor.onExchangeInfo(ours, receiveTime());
  }

  private openStreams(): void {
    const speed = this.opts.depthSpeed ?? '@100ms';
    const routes: { path: string; streams: [string, StreamKind, Instrument][] }[] = [];
    const depthAndTicker: [string, StreamKind, Instrument][] = [];
    const market: [string, StreamKind, Instrument][] = [];
    for (const inst of this.processor.instruments.values()) {
      const s = inst.symbol.toLowerCase();
      depthAndTicker.push([`${s}@depth${speed}`, 'depth', inst], [`${s}@bookTicker`, 'bookTicker', inst]);
      // trades: on spot with depth and tickers; on USD-M the trade stream (the one the recordings hold, `X` =
      // MARKET) is not a /public stream, so it goes to /market with mark price and liquidations
      if (this.venue === 'spot') depthAndTicker.push([`${s}@trade`, 'trade', inst]);
      else market.push([`${s}@trade`, 'trade', inst], [`${s}@markPrice@1s`, 'markPrice', inst], [`${s}@forceOrder`, 'forceOrder', inst]);
    }
    // Spot: one combined connection per 300 streams. USD-M: depth and tickers on /public, the rest on /market.
    if (this.venue === 'spot') routes.push({ path: '', streams: depthAndTicker });
    else routes.push({ path: '/public', streams: depthAndTicker }, { path: '/market', streams: market });
    for (const route of routes) {
      for (let i = 0; i < route.streams.length; i += 200) {
        const chunk = route.streams.slice(i, i + 200);
        const depthSymbols = chunk.filter(([, k]) => k === 'depth').map(([, , inst]) => inst.symbol);
        const url = `${this.opts.wsUrl}${route.path}/stream?streams=${chunk.map(([n]) => n).join('/')}`;
        const conn: StreamConnection = new StreamConnection({
          url,
          name: `${this.venue}${route.path || ''}#${i / 200}`,
          onMessage: (text, t) => this.onMessage(text, t, conn),
          onOpen: () => {
            if (depthSymbols.length > 0) this.processor.onReset(depthSymbols, 'syncing', receiveTime());
          },
          onDown: (reason) => {
            this.lastError = reason;
            if (depthSymbols.length > 0) this.processor.onReset(depthSymbols, 'resyncing', receiveTime());
          },
          log: (level, msg, extra) => this.opts.logger[level]({ venue: this.venue, ...extra }, msg),
          idleTimeoutMs: this.opts.idleTimeoutMs || (this.venue === 'spot' ? 60_000 : 120_000),
        });
        this.connections.push(conn);
        conn.start();
      }
    }
  }

  private onMessage(text: string, t: number, conn: StreamConnection): void {
    const frame = this.opts.frame;
    let outcome;
    if (frame) {
      frame.begin();
      try {
        outcome = this.processor.onMessage(text, t);
      } finally {
        frame.end();
      }
    } else outcome = this.processor.onMessage(text, t);
    if (outcome === 'malformed') this.logMalformed(text);
    else if (outcome === 'shutdown') {
      this.opts.logger.warn({ venue: this.venue }, 'serverShutdown received; reconnecting');
      conn.drop('serverShutdown');
    }
  }

  /** Logs a malformed message at most once per kind per minute (it is always counted). */
  private logMalformed(text: string): void {
    const { kind, detail } = this.processor.decoder.lastFailure;
    const now = Date.now();
    if (now - (this.malformedLogged.get(kind) ?? 0) < 60_000) return;
    this.malformedLogged.set(kind, now);
    this.opts.logger.warn({ venue: this.venue, kind, detail, sample: text.slice(0, 200), total: this.processor.decoder.malformed[kind] }, 'malformed message skipped');
  }

  /**
   * Fetches REST snapshots for a symbol until its book no longer needs one. The processor decides what a
   * snapshot means (synced, held until the stream catches up, too old); this loop only does the I/O.
   */
  private fetchSnapshot(symbol: string): void {
    if (this.fetching.has(symbol) || this.stopped) return;
    const sync = this.processor.syncs.get(symbol);
    if (!sync) return;
    this.fetching.add(symbol);
    const run = async (): Promise<void> => {
      let backoff = 500;
      while (!this.stopped && sync.needsSnapshot) {
        const { limit, weight } = SNAPSHOT_LIMIT[this.venue as BinanceVenue];
        const path = this.venue === 'spot' ? '/api/v3/depth' : '/fapi/v1/depth';
        const r = await this.rest.get(path, { symbol, limit }, weight, this.abort.signal);
        if (this.stopped || !sync.needsSnapshot) break;
        if (!r.ok) {
          this.lastError = r.message;
          this.opts.logger.warn({ venue: this.venue, symbol, error: r.message }, 'depth snapshot failed');
          const wait = r.code === 'banned' || r.code === 'rate_limited' ? Math.max(this.rest.bannedUntil - Date.now(), backoff) : backoff;
          await this.sleep(wait);
          backoff = Math.min(backoff * 2, 30_000);
          continue;
        }
        const outcome = this.processor.onSnapshot(symbol, r.value, receiveTime());
        if (outcome === 'synced' || outcome === 'held' || outcome === 'ignored') break;
        if (outcome === 'bad') {
          this.lastError = `bad depth snapshot for ${symbol}`;
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, 30_000);
          continue;
        }
        await this.sleep(outcome === 'too_old' ? 250 : 100);
      }
    };
    run()
      .catch((e: unknown) => this.opts.logger.error({ err: (e as Error).message }, 'snapshot loop failed'))
      .finally(() => this.fetching.delete(symbol));
  }

  private async pollOpenInterest(): Promise<void> {
    for (const inst of this.processor.instruments.values()) {
      const r = await this.rest.get('/fapi/v1/openInterest', { symbol: inst.symbol }, 1, this.abort.signal);
      if (this.stopped) return;
      if (!r.ok) {
        if (r.code !== 'stopped') this.lastError = r.message;
        continue;
      }
      this.processor.onOpenInterest(inst.symbol, r.value, receiveTime());
    }
  }

  status(): FeedStatus {
    const d = this.processor.decoder;
    const conns = this.connections.map((c, i) => ({
      name: `${this.venue}#${i}`,
      state: c.state,
      messages: c.messages,
      reconnects: c.reconnects,
      lastMessageAt: c.lastMessageAt || null,
    }));
    const books: FeedStatus['books'] = {};
    for (const [sym, s] of this.processor.syncs) {
      books[sym] = { state: s.state, lastUpdateId: s.book.lastUpdateId, resyncs: s.resyncs, gaps: s.gaps, snapshots: this.processor.snapshots.get(sym) ?? 0, buffered: s.buffered, staleDropped: s.staleDropped, snapshotsTooOld: s.snapshotsTooOld };
    }
    let state: FeedState;
    if (this.stopped) state = 'stopped';
    else if (conns.length === 0) state = this.lastError ? 'down' : 'starting';
    else if (conns.every((c) => c.state === 'open')) state = Object.values(books).every((b) => b.state === 'synced') ? 'up' : 'degraded';
    else if (conns.some((c) => c.state === 'open')) state = 'degraded';
    else state = 'down';
    return {
      venue: this.venue,
      state,
      lastError: this.lastError,
      connections: conns,
      rest: {
        requests: this.rest.requests,
        failures: this.rest.failures,
        rateLimitHits: this.rest.rateLimitHits,
        usedWeight1m: this.rest.usedWeight(),
        bannedUntil: this.rest.bannedUntil > Date.now() ? this.rest.bannedUntil : null,
      },
      messages: this.messages,
      malformed: { ...this.processor.decoder.malformed },
      unknownStreams: this.processor.decoder.unknownStreams,
      decoder: { slowPath: d.slowPath, lazyDepth: d.lazyDepth, lazyMessages: d.lazyMessages, depthOutOfOrder: d.depthOutOfOrder },
      books,
    };
  }
}
