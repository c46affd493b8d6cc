import type { FeedState } from '../binance/feed.js';
import { classifyStreamError, type Control, MarketDataDecoder, STREAM_ERROR_TEXT } from './decode.js';
import type { AlpacaMarketEvent, AssetClass } from './events.js';
import { type Credentials, scrub } from './http.js';
import { StreamConnection, type ConnectionState } from '../binance/connection.js';

export type StockFeed = 'iex' | 'sip' | 'delayed_sip' | 'test';

export interface DataStreamOptions {
  /** e.g. wss://stream.data.alpaca.markets (ALPACA_STREAM_URL) */
  baseUrl: string;
  assetClass: AssetClass;
  /** stocks only: iex | sip | delayed_sip | test (ALPACA_FEED) */
  feed?: StockFeed;
  symbols: readonly string[];
  credentials: Credentials;
  /** channels to subscribe for every symbol (default trades, quotes, bars) */
  channels?: readonly ('trades' | 'quotes' | 'bars')[];
  onEvent: (e: AlpacaMarketEvent) => void;
  /** the stream stopped delivering (socket down and reconnecting, or refused for good): books built from it are stale */
  onDown?: (reason: string) => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  idleTimeoutMs?: number;
}

/** consecutive 406 (connection limit) answers before the stream gives up */
const CONNECTION_LIMIT_RETRIES = 3;

export type SessionPhase = 'connecting' | 'authenticating' | 'subscribing' | 'streaming';

export interface DataStreamStatus {
  source: `alpaca-${AssetClass}`;
  url: string;
  state: FeedState;
  phase: SessionPhase | null;
  connection: ConnectionState;
  /** set when the venue refused us for good (auth failed, limits, plan): the stream stopped */
  fatal: { code: number; message: string } | null;
  lastError: string | null;
  /** server error messages by code (fatal or not) */
  errors: Record<string, number>;
  messages: number;
  events: number;
  malformed: Record<string, number>;
  ignored: number;
  reconnects: number;
  lastMessageAt: number | null;
  subscribed: { trades: string[]; quotes: string[]; bars: string[] };
}

/** URL of the market-data stream: stocks `/v2/{feed}`, crypto `/v1beta3/crypto/us`. */
export function dataStreamUrl(baseUrl: string, assetClass: AssetClass, feed: StockFeed = 'iex'): string {
  const base = baseUrl.replace(/\/+$/, '');
  return assetClass === 'crypto' ? `${base}/v1beta3/crypto/us` : `${base}/v2/${feed}`;
}

/**
 * Alpaca market data over WebSocket: connect, wait for `connected`, authenticate by message, subscribe
 * to trades/quotes/minute bars of the symbols; after any drop reconnect with exponential backoff and do
 * it all again. Fatal refusals (see `classifyStreamError`) stop the stream with a clear status.
 */
export class AlpacaDataStream {
  readonly url: string;
  readonly decoder: MarketDataDecoder;
  private readonly socket: StreamConnection;
  private phase: SessionPhase | null = null;
  private fatal: { code: number; message: string } | null = null;
  private lastError: string | null = null;
  private errors: Record<string, number> = {};
  private events = 0;
  private stopped = false;
  private subscribed = { trades: [] as string[], quotes: [] as string[], bars: [] as string[] };
  private connectionLimitHits = 0;

  constructor(private readonly opts: DataStreamOptions) {
    this.url = dataStreamUrl(opts.baseUrl, opts.assetClass, opts.feed);
    this.decoder = new MarketDataDecoder(opts.assetClass);
    this.socket = new StreamConnection({
      url: this.url,
      name: `alpaca-${opts.assetClass}`,
      maxLifetimeMs: 0,
      onOpen: () => {
        this.phase = 'connecting'; // the server greets with success/connected
      },
      onMessage: (text, t) => this.onText(text, t),
      onDown: (reason) => {
        this.phase = null;
        this.subscribed = { trades: [], quotes: [], bars: [] };
        this.setError(reason);
        this.opts.log?.('warn', 'alpaca data stream down, reconnecting', { source: this.opts.assetClass, reason: this.lastError });
        this.opts.onDown?.(this.lastError ?? reason);
      },
      backoffBaseMs: opts.backoffBaseMs,
      backoffMaxMs: opts.backoffMaxMs,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.stopped = true;
    this.socket.stop();
  }

  private setError(text: string): void {
    this.lastError = scrub(text, this.opts.credentials);
  }

  private onText(text: string, recvTime: number): void {
    const frame = this.decoder.decode(text, recvTime);
    for (const c of frame.controls) this.onControl(c);
    if (this.stopped) return;
    for (const e of frame.events) {
      this.events++;
      this.opts.onEvent(e);
    }
  }

  private onControl(c: Control): void {
    switch (c.type) {
      case 'success':
        if (c.msg === 'connected') {
          this.phase = 'authenticating';
          this.socket.send({ action: 'auth', key: this.opts.credentials.keyId, secret: this.opts.credentials.secretKey });
        } else if (c.msg === 'authenticated') {
          this.phase = 'subscribing';
          const channels = this.opts.channels ?? ['trades', 'quotes', 'bars'];
          const msg: Record<string, unknown> = { action: 'subscribe' };
          for (const ch of channels) msg[ch] = [...this.opts.symbols];
          this.socket.send(msg);
        }
        return;
      case 'subscription':
        this.subscribed = { trades: c.trades, quotes: c.quotes, bars: c.bars };
        if (this.phase === 'subscribing') {
          this.phase = 'streaming';
          this.connectionLimitHits = 0;
          this.socket.healthy();
          this.opts.log?.('info', 'alpaca data stream subscribed', { source: this.opts.assetClass, symbols: this.opts.symbols.length });
        }
        return;
      case 'error': {
        this.errors[c.code] = (this.errors[c.code] ?? 0) + 1;
        const message = `${c.code} ${c.msg || STREAM_ERROR_TEXT[c.code] || 'error'}${STREAM_ERROR_TEXT[c.code] && c.msg !== STREAM_ERROR_TEXT[c.code] ? ` (${STREAM_ERROR_TEXT[c.code]})` : ''}`;
        this.setError(message);
        let action = classifyStreamError(c.code);
        // 406 right after our own reconnect may be our previous connection not yet released by the
        // server: retry a few times with backoff before giving up
        if (c.code === 406 && action === 'fatal' && ++this.connectionLimitHits < CONNECTION_LIMIT_RETRIES) action = 'reconnect';
        if (action === 'fatal') {
          this.fatal = { code: c.code, message: this.lastError! };
          this.opts.log?.('error', 'alpaca data stream refused, stopped', { source: this.opts.assetClass, error: this.lastError });
          this.stop();
          this.opts.onDown?.(this.lastError!);
        } else if (action === 'reconnect') {
          this.opts.log?.('warn', 'alpaca data stream error, reconnecting', { source: this.opts.assetClass, error: this.lastError });
          this.socket.drop(message);
        } else {
          this.opts.log?.('warn', 'alpaca data stream error', { source: this.opts.assetClass, error: this.lastError });
        }
        return;
      }
    }
  }

  status(): DataStreamStatus {
    let state: FeedState;
    if (this.stopped) state = this.fatal ? 'down' : 'stopped';
    else if (this.socket.state === 'idle') state = 'starting';
    else if (this.phase === 'streaming') state = 'up';
    else if (this.socket.state === 'open' || this.socket.state === 'connecting') state = this.socket.reconnects === 0 && !this.lastError ? 'starting' : 'degraded';
    else state = 'down';
    return {
      source: `alpaca-${this.opts.assetClass}`,
      url: this.url,
      state,
      phase: this.phase,
      connection: this.socket.state,
      fatal: this.fatal,
      lastError: this.lastError,
      errors: { ...this.errors },
      messages: this.socket.messages,
      events: this.events,
      malformed: { ...this.decoder.malformed },
      ignored: this.decoder.ignored,
      reconnects: this.socket.reconnects,
      lastMessageAt: this.socket.lastMessageAt || null,
      subscribed: { trades: [...this.subscribed.trades], quotes: [...this.subscribed.quotes], bars: [...this.subscribed.bars] },
    };
  }
}
