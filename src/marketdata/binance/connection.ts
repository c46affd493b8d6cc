import WebSocket from 'ws';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'backoff' | 'stopped';

export interface ConnectionOptions {
  url: string;
  name: string;
  onMessage: (text: string, recvTime: number) => void;
  onOpen?: () => void;
  /** the connection dropped (a reconnect follows unless stopped) */
  onDown?: (reason: string) => void;
  log?: (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
  /** reconnect on our own before the exchange's 24 h cut (0 = never) */
  maxLifetimeMs?: number;
  /** no message for this long = dead connection (0 = no watchdog) */
  idleTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** Wall clock with sub-millisecond resolution, for receive times (the edge may read the clock). */
export function receiveTime(): number {
  // microsecond resolution: exactly what the event log stores, so a replay sees the same times
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

/**
 * The same wall clock as `receiveTime`, unrounded (about 0.25 µs resolution at today's epoch): for timing
 * what follows a receive time (tick-to-decision and its stages), never for times that are stored.
 */
export function preciseTime(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One WebSocket stream connection that stays up: exponential backoff with full jitter between
 * attempts, a watchdog for silent connections, and a planned reconnect before the 24-hour limit.
 * Pings from the server are answered by `ws` itself (autoPong). Text and binary frames alike reach
 * `onMessage` as UTF-8 text. Venues that speak on the socket (Alpaca: auth, subscribe) `send()` from
 * `onOpen`, which runs again after every reconnect. Used by every venue adapter.
 */
export class StreamConnection {
  state: ConnectionState = 'idle';
  messages = 0;
  reconnects = 0;
  lastMessageAt = 0;
  lastError = '';
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timers: NodeJS.Timeout[] = [];
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ConnectionOptions) {}

  start(): void {
    if (this.state !== 'idle') return;
    this.connect();
  }

  /** Sends JSON on the open socket; false when it is not open. */
  send(message: unknown): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  /** Forgets the backoff (the owner saw a healthy session, e.g. authorized). */
  healthy(): void {
    this.attempt = 0;
  }

  stop(): void {
    this.state = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.state = 'connecting';
    const ws = new WebSocket(this.opts.url, { handshakeTimeout: 10_000, perMessageDeflate: false, autoPong: true });
    this.ws = ws;
    let openedAt = 0;
    ws.on('open', () => {
      this.state = 'open';
      openedAt = Date.now();
      this.lastMessageAt = openedAt;
      this.opts.log?.('info', 'stream connected', { stream: this.opts.name });
      this.opts.onOpen?.();
      const lifetime = this.opts.maxLifetimeMs ?? (23 * 60 + 50) * 60_000;
      if (lifetime > 0) this.timers.push(setTimeout(() => this.drop('planned reconnect before the 24 h limit'), lifetime));
      const idle = this.opts.idleTimeoutMs ?? 60_000;
      if (idle > 0) {
        this.watchdog = setInterval(() => {
          if (Date.now() - this.lastMessageAt > idle) this.drop(`no message for ${idle} ms`);
        }, Math.min(idle, 5_000));
      }
    });
    ws.on('message', (data, isBinary) => {
      const t = receiveTime();
      this.messages++;
      this.lastMessageAt = Date.now();
      // a message after a stable period resets the backoff
      if (this.attempt > 0 && this.lastMessageAt - openedAt > 5_000) this.attempt = 0;
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : isBinary ? Buffer.from(data as Buffer).toString('utf8') : (data as Buffer).toString('utf8');
      this.opts.onMessage(text, t);
    });
    ws.on('error', (e) => {
      this.lastError = e.message;
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.onClosed(`closed (${code}${reason.length ? ` ${reason.toString()}` : ''}${this.lastError ? `; ${this.lastError}` : ''})`);
    });
  }

  /** Closes the socket and reconnects (serverShutdown, planned reconnect, dead connection). */
  drop(reason: string): void {
    const ws = this.ws;
    if (!ws || this.state === 'stopped') return;
    this.ws = null;
    ws.removeAllListeners();
    ws.on('error', () => {});
    ws.terminate();
    this.onClosed(reason);
  }

  private onClosed(reason: string): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.ws = null;
    if (this.state === 'stopped') return;
    this.state = 'backoff';
    this.opts.onDown?.(reason);
    if ((this.state as ConnectionState) === 'stopped') return; // onDown may stop us
    const base = this.opts.backoffBaseMs ?? 500;
    const cap = this.opts.backoffMaxMs ?? 30_000;
    const delay = Math.random() * Math.min(cap, base * 2 ** this.attempt); // full jitter
    this.attempt = Math.min(this.attempt + 1, 16);
    this.reconnects++;
    this.opts.log?.('warn', 'stream down, reconnecting', { stream: this.opts.name, reason, delayMs: Math.round(delay) });
    this.timers.push(setTimeout(() => this.connect(), delay));
  }
}
