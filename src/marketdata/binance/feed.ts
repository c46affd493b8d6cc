import type { Logger } from '../../core/logger.js';
import { DepthSync } from '../../book/sync.js';
import type { Venue } from '../../core/types.js';
import type { MarketEvent } from '../../model/events.js';
import { exchangeInfoSchema, instrumentFromExchangeInfo, type Instrument } from '../../model/instrument.js';
import { StreamConnection, receiveTime, type ConnectionState } from './connection.js';
import { BinanceDecoder, decodeSnapshot, type StreamKind } from './decode.js';
import { BinanceRest } from './rest.js';

/** What a feed reports to (the engine). Called synchronously, in the order events arrived. */
export interface FeedSink {
  onInstruments(venue: Venue, instruments: Instrument[]): void;
  /** a diff was applied to a synced book */
  onBook(sync: DepthSync, recvTime: number): void;
  /** the book's sync state changed (synced / resyncing) */
  onBookState(sync: DepthSync, recvTime: number): void;
  onEvent(ev: MarketEvent): void;
}

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
  books: Record<string, { state: string; lastUpdateId: number; resyncs: number; gaps: number; snapshots: number; buffered: number }>;
}

const SNAPSHOT_LIMIT: Record<Venue, { limit: number; weight: number }> = {
  spot: { limit: 5000, weight: 250 },
  usdm: { limit: 1000, weight: 20 },
};

/**
 * One Binance venue (spot or USD-M): instruments from exchangeInfo, every symbol's order book kept by
 * the official procedure, trades and book tickers (and on USD-M mark price/funding, liquidations and
 * open interest). All network I/O of the venue lives here; decisions live in DepthSync and the engine.
 */
export class BinanceFeed {
  readonly decoder: BinanceDecoder;
  readonly rest: BinanceRest;
  readonly syncs = new Map<string, DepthSync>();
  instruments = new Map<string, Instrument>();
  private connections: StreamConnection[] = [];
  private fetching = new Set<string>();
  private snapshots = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private abort = new AbortController();
  private stopped = false;
  private lastError: string | null = null;
  private malformedLogged = new Map<string, number>();
  messages = 0;

  constructor(private readonly opts: FeedOptions) {
    this.decoder = new BinanceDecoder(opts.venue);
    this.rest = new BinanceRest({ baseUrl: opts.restUrl, weightPerMinute: opts.venue === 'spot' ? 6000 : 2400 });
  }

  get venue(): Venue {
    return this.opts.venue;
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
    const info = exchangeInfoSchema.safeParse(r.value);
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
    this.opts.sink.onInstruments(this.venue, [...found.values()]);
    return null;
  }

  private openStreams(): void {
    const speed = this.opts.depthSpeed ?? '@100ms';
    const routes: { path: string; streams: [string, StreamKind, Instrument][] }[] = [];
    const depthAndTicker: [string, StreamKind, Instrument][] = [];
    const market: [string, StreamKind, Instrument][] = [];
    for (const inst of this.instruments.values()) {
      const s = inst.symbol.toLowerCase();
      this.syncs.set(inst.symbol, new DepthSync(this.venue, inst.symbol));
      depthAndTicker.push([`${s}@depth${speed}`, 'depth', inst], [`${s}@bookTicker`, 'bookTicker', inst]);
      if (this.venue === 'spot') depthAndTicker.push([`${s}@trade`, 'trade', inst]);
      else market.push([`${s}@markPrice@1s`, 'markPrice', inst], [`${s}@forceOrder`, 'forceOrder', inst]);
    }
    // Spot: one combined connection per 300 streams. USD-M: depth and tickers on /public, the rest on /market.
    if (this.venue === 'spot') routes.push({ path: '', streams: depthAndTicker });
    else routes.push({ path: '/public', streams: depthAndTicker }, { path: '/market', streams: market });
    for (const route of routes) {
      for (let i = 0; i < route.streams.length; i += 200) {
        const chunk = route.streams.slice(i, i + 200);
        for (const [name, kind, inst] of chunk) this.decoder.register(name, kind, inst);
        const depthSymbols = chunk.filter(([, k]) => k === 'depth').map(([, , inst]) => inst.symbol);
        const url = `${this.opts.wsUrl}${route.path}/stream?streams=${chunk.map(([n]) => n).join('/')}`;
        const conn: StreamConnection = new StreamConnection({
          url,
          name: `${this.venue}${route.path || ''}#${i / 200}`,
          onMessage: (text, t) => this.onMessage(text, t, conn),
          onOpen: () => {
            for (const sym of depthSymbols) this.resetBook(sym, 'syncing');
          },
          onDown: (reason) => {
            this.lastError = reason;
            for (const sym of depthSymbols) this.resetBook(sym, 'resyncing');
          },
          log: (level, msg, extra) => this.opts.logger[level]({ venue: this.venue, ...extra }, msg),
          idleTimeoutMs: this.venue === 'spot' ? 60_000 : 120_000,
        });
        this.connections.push(conn);
        conn.start();
      }
    }
  }

  private resetBook(symbol: string, state: 'syncing' | 'resyncing'): void {
    const sync = this.syncs.get(symbol);
    if (!sync) return;
    const was = sync.state;
    sync.reset(state);
    if (was === 'synced') this.opts.sink.onBookState(sync, receiveTime());
  }

  private onMessage(text: string, t: number, conn: StreamConnection): void {
    this.messages++;
    const r = this.decoder.decode(text, t);
    if (!r.ok) {
      if (r.reason === 'malformed') this.logMalformed(r.kind, r.detail ?? '', text);
      else if (r.reason === 'shutdown') {
        this.opts.logger.warn({ venue: this.venue }, 'serverShutdown received; reconnecting');
        conn.drop('serverShutdown');
      }
      return;
    }
    const ev = r.event;
    if (ev.kind === 'depth') {
      const sync = this.syncs.get(ev.symbol);
      if (!sync) return;
      const outcome = sync.onDiff(ev);
      if (outcome === 'applied') this.opts.sink.onBook(sync, t);
      else if (outcome === 'gap') {
        this.opts.logger.warn({ venue: this.venue, symbol: ev.symbol, U: ev.firstId, u: ev.lastId, pu: ev.prevLastId }, 'depth sequence gap: resyncing');
        this.opts.sink.onBookState(sync, t);
        this.fetchSnapshot(sync);
      } else if (outcome === 'buffered') this.fetchSnapshot(sync);
      return;
    }
    this.opts.sink.onEvent(ev);
  }

  /** Logs a malformed message at most once per kind per minute (it is always counted). */
  private logMalformed(kind: string, detail: string, text: string): void {
    const now = Date.now();
    if (now - (this.malformedLogged.get(kind) ?? 0) < 60_000) return;
    this.malformedLogged.set(kind, now);
    this.opts.logger.warn({ venue: this.venue, kind, detail, sample: text.slice(0, 200), total: this.decoder.malformed[kind] }, 'malformed message skipped');
  }

  private fetchSnapshot(sync: DepthSync, delayMs = 0): void {
    if (this.fetching.has(sync.symbol) || this.stopped) return;
    this.fetching.add(sync.symbol);
    const run = async (): Promise<void> => {
      let backoff = 500;
      while (!this.stopped && sync.needsSnapshot) {
        const inst = this.instruments.get(sync.symbol)!;
        const { limit, weight } = SNAPSHOT_LIMIT[this.venue];
        const path = this.venue === 'spot' ? '/api/v3/depth' : '/fapi/v1/depth';
        const r = await this.rest.get(path, { symbol: sync.symbol, limit }, weight, this.abort.signal);
        if (this.stopped || !sync.needsSnapshot) break;
        if (!r.ok) {
          this.lastError = r.message;
          this.opts.logger.warn({ venue: this.venue, symbol: sync.symbol, error: r.message }, 'depth snapshot failed');
          const wait = r.code === 'banned' || r.code === 'rate_limited' ? Math.max(this.rest.bannedUntil - Date.now(), backoff) : backoff;
          await this.sleep(wait);
          backoff = Math.min(backoff * 2, 30_000);
          continue;
        }
        const snap = decodeSnapshot(this.venue, inst, r.value, receiveTime());
        if (typeof snap === 'string') {
          this.lastError = snap;
          this.opts.logger.warn({ venue: this.venue, symbol: sync.symbol, error: snap }, 'bad depth snapshot');
          await this.sleep(backoff);
          backoff = Math.min(backoff * 2, 30_000);
          continue;
        }
        this.snapshots.set(sync.symbol, (this.snapshots.get(sync.symbol) ?? 0) + 1);
        if (sync.buffered === 0) {
          // nothing to check the snapshot against yet: wait for the stream
          await this.sleep(100);
          continue;
        }
        const outcome = sync.onSnapshot(snap, snap.recvTime);
        if (outcome === 'synced') {
          this.opts.logger.info({ venue: this.venue, symbol: sync.symbol, lastUpdateId: sync.book.lastUpdateId }, 'book synced');
          this.opts.sink.onBookState(sync, snap.recvTime);
          break;
        }
        this.opts.logger.info({ venue: this.venue, symbol: sync.symbol, outcome, snapshotId: snap.lastUpdateId }, 'snapshot does not fit the stream; fetching again');
        await this.sleep(outcome === 'too_old' ? 250 : 100);
      }
    };
    const t = setTimeout(() => {
      run()
        .catch((e: unknown) => this.opts.logger.error({ err: (e as Error).message }, 'snapshot loop failed'))
        .finally(() => this.fetching.delete(sync.symbol));
    }, delayMs);
    this.timers.push(t);
  }

  private async pollOpenInterest(): Promise<void> {
    for (const inst of this.instruments.values()) {
      const r = await this.rest.get('/fapi/v1/openInterest', { symbol: inst.symbol }, 1, this.abort.signal);
      if (!r.ok) {
        if (r.code !== 'stopped') this.lastError = r.message;
        continue;
      }
      const v = r.value as { openInterest?: unknown; time?: unknown };
      const oi = Number(v.openInterest);
      if (!Number.isFinite(oi)) {
        this.decoder.malformed['openInterest'] = (this.decoder.malformed['openInterest'] ?? 0) + 1;
        continue;
      }
      this.opts.sink.onEvent({
        kind: 'openInterest', venue: 'usdm', symbol: inst.symbol, time: Number(v.time) || Date.now(), recvTime: receiveTime(), openInterest: oi,
      });
    }
  }

  status(): FeedStatus {
    const conns = this.connections.map((c, i) => ({
      name: `${this.venue}#${i}`,
      state: c.state,
      messages: c.messages,
      reconnects: c.reconnects,
      lastMessageAt: c.lastMessageAt || null,
    }));
    const books: FeedStatus['books'] = {};
    for (const [sym, s] of this.syncs) {
      books[sym] = { state: s.state, lastUpdateId: s.book.lastUpdateId, resyncs: s.resyncs, gaps: s.gaps, snapshots: this.snapshots.get(sym) ?? 0, buffered: s.buffered };
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
      malformed: { ...this.decoder.malformed },
      unknownStreams: this.decoder.unknownStreams,
      books,
    };
  }
}
