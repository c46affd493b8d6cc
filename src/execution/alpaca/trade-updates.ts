import type { FeedState } from '../../marketdata/binance/feed.js';
import { type Credentials, scrub } from '../../marketdata/alpaca/http.js';
import { StreamConnection, type ConnectionState } from '../../marketdata/binance/connection.js';
import { decodeTradeStreamFrame, type TradeUpdate, tradeUpdateKey } from './decode.js';

export interface TradeUpdatesOptions {
  /** the trading base URL (https://paper-api.alpaca.markets); the stream is its wss://…/stream */
  tradingUrl: string;
  credentials: Credentials;
  onUpdate: (u: TradeUpdate) => void;
  /** (re)connected and listening: the owner should reconcile orders missed while down */
  onListening?: () => void;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** trade_updates is quiet when nothing trades: no watchdog by default */
  idleTimeoutMs?: number;
  /** how many update keys are remembered for de-duplication */
  dedupeWindow?: number;
}

export interface TradeUpdatesStatus {
  url: string;
  state: FeedState;
  phase: 'connecting' | 'authenticating' | 'listening' | null;
  connection: ConnectionState;
  /** the server refused our keys: stopped */
  unauthorized: boolean;
  lastError: string | null;
  messages: number;
  updates: number;
  duplicates: number;
  malformed: Record<string, number>;
  reconnects: number;
  lastMessageAt: number | null;
}

/** wss://paper-api.alpaca.markets/stream from https://paper-api.alpaca.markets (http → ws for tests). */
export function tradeStreamUrl(tradingUrl: string): string {
  return `${tradingUrl.replace(/\/+$/, '').replace(/^http/, 'ws')}/stream`;
}

/** Remembers the last N keys (insertion order) to drop repeated updates. */
export class DedupeWindow {
  private readonly seen = new Set<string>();
  constructor(private readonly size: number) {}
  /** true the first time a key is seen */
  add(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.size) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}

/**
 * The trade_updates stream: authenticate (`authenticate` with key_id/secret_key), listen to
 * trade_updates, decode each order event (text or binary frames), drop duplicates (same execution id,
 * or same order/event/timestamp), reconnect with backoff and listen again. Updates missed while down are
 * not replayed by Alpaca: `onListening` tells the owner to reconcile through REST.
 */
export class TradeUpdatesStream {
  readonly url: string;
  private readonly socket: StreamConnection;
  private readonly dedupe: DedupeWindow;
  private phase: TradeUpdatesStatus['phase'] = null;
  private unauthorized = false;
  private stopped = false;
  private lastError: string | null = null;
  private updates = 0;
  private duplicates = 0;
  private malformed: Record<string, number> = {};

  constructor(private readonly opts: TradeUpdatesOptions) {
    this.url = tradeStreamUrl(opts.tradingUrl);
    this.dedupe = new DedupeWindow(opts.dedupeWindow ?? 10_000);
    this.socket = new StreamConnection({
      url: this.url,
      name: 'alpaca-trade-updates',
      maxLifetimeMs: 0,
      onOpen: () => {
        this.phase = 'authenticating';
        this.socket.send({ action: 'authenticate', data: { key_id: opts.credentials.keyId, secret_key: opts.credentials.secretKey } });
      },
      onMessage: (text, t) => this.onText(text, t),
      onDown: (reason) => {
        this.phase = null;
        this.lastError = scrub(reason, opts.credentials);
        opts.log?.('warn', 'alpaca trade_updates down, reconnecting', { reason: this.lastError });
      },
      backoffBaseMs: opts.backoffBaseMs,
      backoffMaxMs: opts.backoffMaxMs,
      idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    });
  }

  start(): void {
    this.socket.start();
  }

  stop(): void {
    this.stopped = true;
    this.socket.stop();
  }

  private onText(text: string, recvTime: number): void {
    const m = decodeTradeStreamFrame(text, recvTime);
    switch (m.type) {
      case 'malformed':
        this.malformed[m.reason] = (this.malformed[m.reason] ?? 0) + 1;
        return;
      case 'other':
        return;
      case 'authorization':
        if (m.status === 'authorized') {
          this.socket.send({ action: 'listen', data: { streams: ['trade_updates'] } });
        } else if (m.action !== 'authenticate') {
          // e.g. listen refused before auth completed: start the session again
          this.socket.drop(`trade_updates ${m.action}: ${m.status}`);
        } else {
          this.lastError = `trade_updates ${m.action}: ${m.status} (check APCA_API_KEY_ID / APCA_API_SECRET_KEY and ALPACA_TRADING_URL)`;
          this.unauthorized = true;
          this.opts.log?.('error', 'alpaca trade_updates refused our keys, stopped', { error: this.lastError });
          this.stop();
        }
        return;
      case 'listening':
        if (m.streams.includes('trade_updates')) {
          this.phase = 'listening';
          this.socket.healthy();
          this.opts.onListening?.();
        }
        return;
      case 'trade_update': {
        if (!this.dedupe.add(tradeUpdateKey(m.update))) {
          this.duplicates++;
          return;
        }
        this.updates++;
        this.opts.onUpdate(m.update);
        return;
      }
    }
  }

  status(): TradeUpdatesStatus {
    let state: FeedState;
    if (this.stopped) state = this.unauthorized ? 'down' : 'stopped';
    else if (this.socket.state === 'idle') state = 'starting';
    else if (this.phase === 'listening') state = 'up';
    else if (this.socket.state === 'open' || this.socket.state === 'connecting') state = this.socket.reconnects === 0 && !this.lastError ? 'starting' : 'degraded';
    else state = 'down';
    return {
      url: this.url,
      state,
      phase: this.phase,
      connection: this.socket.state,
      unauthorized: this.unauthorized,
      lastError: this.lastError,
      messages: this.socket.messages,
      updates: this.updates,
      duplicates: this.duplicates,
      malformed: { ...this.malformed },
      reconnects: this.socket.reconnects,
      lastMessageAt: this.socket.lastMessageAt || null,
    };
  }
}
