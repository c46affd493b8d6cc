/** Test helpers for the Alpaca simulator: raw fetch and raw `ws` clients with message queues. */
import { resolve } from 'node:path';
import { WebSocket } from 'ws';
import type { AlpacaSim } from './server.js';

export const DATA_DIR = resolve(import.meta.dirname, '../../../../../shared/data');
export const KEY = 'PKTEST';
export const SECRET = 'SECRET';

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

export async function api(sim: AlpacaSim, method: string, path: string, body?: unknown, headers: Record<string, string> = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET }): Promise<HttpResult> {
  const res = await fetch(`${sim.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** A WebSocket whose messages (JSON) queue up; `take` consumes the first unconsumed match. */
export class WsProbe {
  readonly all: { msg: any; binary: boolean }[] = [];
  private readonly used = new Set<number>();
  private wake: (() => void) | undefined;
  closed = false;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (d, binary) => {
      this.all.push({ msg: JSON.parse(d.toString()), binary });
      this.wake?.();
    });
    ws.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    this.opened = new Promise((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
  }

  static async open(url: string, headers?: Record<string, string>): Promise<WsProbe> {
    const p = new WsProbe(new WebSocket(url, { headers }));
    await p.opened;
    return p;
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  /** Resolves with the first unconsumed message matching `pred` (waits for it). */
  async take(pred: (m: any) => boolean = () => true): Promise<any> {
    for (;;) {
      const i = this.all.findIndex((m, j) => !this.used.has(j) && pred(m.msg));
      if (i >= 0) {
        this.used.add(i);
        return this.all[i]!.msg;
      }
      if (this.closed) throw new Error('socket closed while waiting');
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Resolves once the socket is closed. */
  async whenClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => (this.wake = r));
  }

  close(): void {
    this.ws.close();
  }
}

/** trade_updates client: connects, authenticates, listens. */
export async function tradeStream(sim: AlpacaSim): Promise<WsProbe> {
  const p = await WsProbe.open(`${sim.wsUrl}/stream`);
  p.send({ action: 'authenticate', data: { key_id: KEY, secret_key: SECRET } });
  await p.take((m) => m.stream === 'authorization');
  p.send({ action: 'listen', data: { streams: ['trade_updates'] } });
  await p.take((m) => m.stream === 'listening');
  return p;
}

/** The next `n` trade_updates `data` objects in arrival order. */
export async function tradeEvents(p: WsProbe, n: number): Promise<any[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push((await p.take((m) => m.stream === 'trade_updates')).data);
  return out;
}
