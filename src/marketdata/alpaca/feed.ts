import type { Logger } from '../../core/logger.js';
import { err } from '../../core/result.js';
import type { Instrument } from '../../model/instrument.js';
import { receiveTime } from '../binance/connection.js';
import type { FeedState, FeedStatus } from '../binance/feed.js';
import type { FeedSink, InputLog } from '../binance/processor.js';
import type { AssetClass, BarEvent } from './events.js';
import { type Credentials, scrub } from './http.js';
import { AlpacaProcessor, type AlpacaBookStatus } from './processor.js';
import { AlpacaBarsClient } from './rest.js';
import { AlpacaDataStream, type DataStreamStatus, type StockFeed } from './stream.js';

export interface AlpacaFeedOptions {
  /** Alpaca symbols (TSLA, DOGE/USD); a symbol with a slash is crypto */
  symbols: string[];
  /** instruments of venue 'alpaca' for those symbols */
  instruments: Instrument[];
  /** market-data WebSocket base, e.g. wss://stream.data.alpaca.markets (ALPACA_STREAM_URL) */
  streamUrl: string;
  /** market-data REST base, e.g. https://data.alpaca.markets (ALPACA_DATA_URL) */
  dataUrl: string;
  /** stock feed (iex | sip | delayed_sip | test) */
  feed: StockFeed;
  credentials: Credentials;
  sink: FeedSink;
  logger: Logger;
  /** the session's event log: every input is written there before it is processed */
  inputLog?: InputLog | null;
  /** minutes of 1-minute bars fetched at start to warm strategies up; 0 = none */
  backfillMinutes: number;
  /** receive-time clock (default: the Binance feed's `receiveTime`, microsecond resolution) */
  clock?: () => number;
  /** stream reconnect backoff (defaults: the stream's own) */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

export interface AlpacaFeedExtra {
  streams: DataStreamStatus[];
  backfill: { bars: number; symbols: number; error: string | null };
  badQuotes: number;
  lastBars: Record<string, BarEvent>;
}

/** FeedStatus (so /status and Prometheus list it beside the Binance feeds) plus the Alpaca details. */
export type AlpacaFeedStatus = Omit<FeedStatus, 'books'> & { books: Record<string, AlpacaBookStatus>; alpaca: AlpacaFeedExtra };

const assetClassOf = (symbol: string): AssetClass => (symbol.includes('/') ? 'crypto' : 'stocks');


/**
 * Alpaca market data (stocks and crypto) for the engine: a REST backfill of recent 1-minute bars fed as
 * warm-up trades, then one data stream per asset class (trades, quotes, bars) whose events go through
 * the AlpacaProcessor (top-of-book books, trades). All network I/O lives here; the processor decides.
 */
export class AlpacaFeed {
  readonly processor: AlpacaProcessor;
  private readonly clock: () => number;
  private readonly bars: Record<AssetClass, AlpacaBarsClient>;
  private readonly streams: AlpacaDataStream[] = [];
  private readonly symbols: string[];
  private stopped = false;
  private lastError: string | null = null;
  private backfill = { bars: 0, symbols: 0, failures: 0, error: null as string | null };

  constructor(private readonly opts: AlpacaFeedOptions) {
    this.clock = opts.clock ?? receiveTime;
    const known = new Map(opts.instruments.filter((i) => i.venue === 'alpaca').map((i) => [i.symbol, i] as const));
    this.symbols = [...new Set(opts.symbols)].filter((s) => known.has(s));
    const missing = opts.symbols.filter((s) => !known.has(s));
    if (missing.length > 0) opts.logger.error({ venue: 'alpaca', missing }, 'alpaca symbols without an instrument; they are skipped');
    this.processor = new AlpacaProcessor({ sink: opts.sink, log: opts.inputLog ?? null, instruments: this.symbols.map((s) => known.get(s)!) });
    const log = (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void => this.opts.logger[level]({ venue: 'alpaca', ...this.clean(extra) }, msg);
    this.bars = {
      stocks: new AlpacaBarsClient({ baseUrl: opts.dataUrl, credentials: opts.credentials, feed: opts.feed, log }),
      crypto: new AlpacaBarsClient({ baseUrl: opts.dataUrl, credentials: opts.credentials, log }),
    };
  }

  get venue(): 'alpaca' {
    return 'alpaca';
  }

  /** Announces the instruments, warms up from REST bars (best effort), then opens the streams. */
  async start(): Promise<void> {
    this.processor.start(this.clock());
    if (this.opts.backfillMinutes > 0) await this.runBackfill();
    if (this.stopped) return;
    this.openStreams();
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.streams) s.stop();
  }

  private async runBackfill(): Promise<void> {
    const errors: string[] = [];
    for (const symbol of this.symbols) {
      if (this.stopped) return;
      const assetClass = assetClassOf(symbol);
      const now = Date.now();
      let r: Awaited<ReturnType<AlpacaBarsClient['backfill']>>;
      try {
        r = await this.bars[assetClass].backfill({ assetClass, symbol, start: now - this.opts.backfillMinutes * 60_000, end: now });
      } catch (e) {
        r = err('unavailable', (e as Error).message);
      }
      if (this.stopped) return;
      if (!r.ok) {
        const text = scrub(`${symbol}: ${r.message}`, this.opts.credentials);
        errors.push(text);
        this.backfill.failures++;
        this.opts.logger.warn({ venue: 'alpaca', symbol, error: text }, 'alpaca bars backfill failed; trading goes on without warm-up');
        continue;
      }
      const bars = r.value;
      this.backfill.symbols++;
      if (bars.length === 0) continue;
      this.backfill.bars += this.processor.warmUp(bars, this.clock());
    }
    this.backfill.error = errors.length > 0 ? errors.join('; ') : null;
    if (this.backfill.error) this.lastError = this.backfill.error;
    this.opts.logger.info({ venue: 'alpaca', bars: this.backfill.bars, symbols: this.backfill.symbols, minutes: this.opts.backfillMinutes }, 'alpaca warm-up from bars done');
  }

  private openStreams(): void {
    for (const assetClass of ['stocks', 'crypto'] as const) {
      const symbols = this.symbols.filter((s) => assetClassOf(s) === assetClass);
      if (symbols.length === 0) continue;
      const stream = new AlpacaDataStream({
        baseUrl: this.opts.streamUrl,
        assetClass,
        feed: assetClass === 'stocks' ? this.opts.feed : undefined,
        symbols,
        credentials: this.opts.credentials,
        channels: ['trades', 'quotes', 'bars'],
        onEvent: (e) => this.processor.onMarketEvent(e),
        log: (level, msg, extra) => {
          const clean = this.clean(extra);
          this.opts.logger[level]({ venue: 'alpaca', ...clean }, msg);
        },
        onDown: (reason) => {
          this.lastError = reason;
          if (!this.stopped) this.processor.onDisconnect(assetClass, this.clock());
        },
        backoffBaseMs: this.opts.backoffBaseMs,
        backoffMaxMs: this.opts.backoffMaxMs,
      });
      this.streams.push(stream);
      stream.start();
    }
  }

  /** Log fields with any secret text scrubbed (the stream and REST client scrub too: belt and braces). */
  private clean(extra: Record<string, unknown> | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(extra ?? {})) out[k] = typeof v === 'string' ? scrub(v, this.opts.credentials) : v;
    return out;
  }

  status(): AlpacaFeedStatus {
    const streams = this.streams.map((s) => s.status());
    const p = this.processor.status();
    const malformed: Record<string, number> = {};
    for (const s of streams) for (const [k, n] of Object.entries(s.malformed)) malformed[`${s.source} ${k}`] = (malformed[`${s.source} ${k}`] ?? 0) + n;
    for (const [k, n] of Object.entries(p.counters.malformed)) malformed[k] = (malformed[k] ?? 0) + n;
    const books = p.books;
    let state: FeedState;
    if (this.stopped) state = 'stopped';
    else if (streams.length === 0) state = this.symbols.length === 0 ? 'down' : 'starting';
    else if (streams.every((s) => s.state === 'up')) state = Object.values(books).every((b) => b.state === 'synced') ? 'up' : 'degraded';
    else if (streams.every((s) => s.state === 'starting')) state = 'starting';
    else if (streams.some((s) => s.state === 'up' || s.state === 'degraded' || s.state === 'starting')) state = 'degraded';
    else state = 'down';
    const streamError = streams.map((s) => s.lastError).find((e) => e !== null) ?? null;
    return {
      venue: 'alpaca',
      state,
      lastError: streamError ?? this.lastError,
      connections: streams.map((s) => ({ name: s.source, state: s.connection, messages: s.messages, reconnects: s.reconnects, lastMessageAt: s.lastMessageAt })),
      rest: {
        requests: this.bars.stocks.requests + this.bars.crypto.requests,
        failures: this.backfill.failures,
        rateLimitHits: this.bars.stocks.rateLimitHits + this.bars.crypto.rateLimitHits,
        usedWeight1m: 0,
        bannedUntil: null,
      },
      messages: streams.reduce((a, s) => a + s.messages, 0),
      malformed,
      unknownStreams: p.counters.unknownSymbols,
      books,
      alpaca: {
        streams,
        backfill: { bars: this.backfill.bars, symbols: this.backfill.symbols, error: this.backfill.error },
        badQuotes: p.counters.badQuotes,
        lastBars: p.lastBars,
      },
    };
  }
}
