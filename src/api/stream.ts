import type { ServerResponse } from 'node:http';
import type { EngineNotice } from '../engine/engine.js';

/**
 * The live stream (GET /stream) as Server-Sent Events, bounded on every side.
 *
 * - One hub per API server. While at least one client is connected it holds one engine observer, one
 *   snapshot timer and one heartbeat timer; the last client leaving releases all three at once.
 * - A notice (order, fill, denial, risk, equity) is serialized once and written to every client; notices
 *   that arrive together (one engine step) go out in one write per client, on the next turn of the event
 *   loop, so the engine's hot path only queues a string.
 * - Each frame has an `id:` from one increasing counter.
 * - At most `maxClients` clients (the route answers 503 beyond); a client whose unsent bytes (response
 *   and socket buffers) pass `maxBufferedBytes` is dropped, so a slow reader never grows memory.
 */

export interface StreamSource {
  /** adds an engine observer; returns the function that removes it */
  observe(fn: (n: EngineNotice) => void): () => void;
  /** the periodic snapshot, restricted to some symbols' books (null: every book) */
  snapshot(symbols: ReadonlySet<string> | null): unknown;
}

export interface StreamOptions {
  /** how often snapshots go out, ms */
  intervalMs: number;
  /** comment heartbeat for proxies, ms (default 15 s) */
  heartbeatMs?: number;
  /** most clients at once (default 50) */
  maxClients?: number;
  /** a client whose unsent bytes pass this is dropped (default 1 MiB) */
  maxBufferedBytes?: number;
  /** reconnection delay suggested to EventSource, ms (default 2000) */
  retryMs?: number;
  /** told when a client is dropped for being slow */
  onDrop?: (info: { buffered: number; clients: number }) => void;
}

interface Client {
  res: ServerResponse;
  symbols: ReadonlySet<string> | null;
  /** key of the symbol filter: clients with the same filter share one snapshot per tick */
  filterKey: string;
}

export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx and similar proxies: do not buffer the stream
  'x-accel-buffering': 'no',
} as const;

export class StreamHub {
  readonly intervalMs: number;
  readonly heartbeatMs: number;
  readonly maxClients: number;
  readonly maxBufferedBytes: number;
  private readonly retryMs: number;
  private readonly clients = new Set<Client>();
  private unobserve: (() => void) | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private flushHandle: NodeJS.Immediate | null = null;
  private pending: string[] = [];
  private nextId = 1;
  private closed = false;
  /** totals since start */
  private totals = { connected: 0, dropped: 0, frames: 0 };

  constructor(
    private readonly source: StreamSource,
    private readonly opts: StreamOptions,
  ) {
    this.intervalMs = opts.intervalMs;
    this.heartbeatMs = opts.heartbeatMs ?? 15_000;
    this.maxClients = opts.maxClients ?? 50;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 1024 * 1024;
    this.retryMs = opts.retryMs ?? 2000;
  }

  get size(): number {
    return this.clients.size;
  }

  /** true when no more clients are taken */
  get full(): boolean {
    return this.closed || this.clients.size >= this.maxClients;
  }

  /** What the hub holds now: clients, the engine observer, timers (all zero with no client). */
  stats() {
    return {
      clients: this.clients.size,
      observing: this.unobserve !== null,
      timers: (this.snapshotTimer ? 1 : 0) + (this.heartbeatTimer ? 1 : 0) + (this.flushHandle ? 1 : 0),
      ...this.totals,
      lastId: this.nextId - 1,
    };
  }

  /**
   * Takes over a response: writes the SSE headers and the first snapshot, then keeps it until the
   * client leaves (or is dropped, or the hub closes). The caller checks `full` first.
   */
  attach(res: ServerResponse, symbols: readonly string[] | null): void {
    if (this.full) throw new Error('stream hub is full or closed');
    const set = symbols && symbols.length > 0 ? new Set(symbols) : null;
    const client: Client = { res, symbols: set, filterKey: set ? [...set].sort().join(',') : '*' };
    res.on('close', () => this.detach(client));
    res.socket?.setNoDelay(true);
    res.writeHead(200, STREAM_HEADERS);
    res.write(`retry: ${this.retryMs}\n\n`);
    this.start();
    // notices queued before this client came go to the others first: ids stay in order on every stream
    this.flush();
    this.clients.add(client);
    this.totals.connected++;
    this.write(client, this.frame('snapshot', this.source.snapshot(set)));
  }

  /** Ends every stream and releases the observer and the timers. */
  close(): void {
    this.closed = true;
    for (const c of [...this.clients]) {
      this.clients.delete(c);
      c.res.end();
    }
    this.stop();
  }

  private detach(c: Client): void {
    if (!this.clients.delete(c)) return;
    if (this.clients.size === 0) this.stop();
  }

  private start(): void {
    if (this.unobserve) return;
    this.unobserve = this.source.observe((n) => this.onNotice(n));
    this.snapshotTimer = setInterval(() => this.broadcastSnapshots(), this.intervalMs);
    this.heartbeatTimer = setInterval(() => this.broadcast(`: heartbeat ${Date.now()}\n\n`), this.heartbeatMs);
  }

  private stop(): void {
    this.unobserve?.();
    this.unobserve = null;
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.snapshotTimer = null;
    this.heartbeatTimer = null;
    this.flushHandle = null;
    this.pending = [];
  }

  /** Called by the engine, on its hot path: serialize once, queue, write on the next turn. */
  private onNotice(n: EngineNotice): void {
    const { type, ...data } = n;
    this.pending.push(this.frame(type, data));
    this.flushHandle ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.flushHandle) clearImmediate(this.flushHandle);
    this.flushHandle = null;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.broadcast(chunk);
  }

  private broadcastSnapshots(): void {
    // a snapshot never overtakes notices already queued (their ids are lower)
    this.flush();
    const byFilter = new Map<string, string>();
    for (const c of [...this.clients]) {
      let f = byFilter.get(c.filterKey);
      if (f === undefined) {
        f = this.frame('snapshot', this.source.snapshot(c.symbols));
        byFilter.set(c.filterKey, f);
      }
      this.write(c, f);
    }
  }

  private broadcast(chunk: string): void {
    for (const c of [...this.clients]) this.write(c, chunk);
  }

  private frame(event: string, data: unknown): string {
    this.totals.frames++;
    return `id: ${this.nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  private write(c: Client, chunk: string): void {
    const res = c.res;
    if (res.destroyed || res.writableEnded) return this.detach(c);
    res.write(chunk);
    // response buffer plus socket buffer: what the client has not taken yet
    const buffered = res.writableLength;
    if (buffered > this.maxBufferedBytes) {
      this.totals.dropped++;
      this.detach(c);
      res.destroy();
      this.opts.onDrop?.({ buffered, clients: this.clients.size });
    }
  }
}
