/**
 * WebSocket sides of the simulator.
 * - trade_updates at `/stream`: `{"action":"authenticate","data":{"key_id","secret_key"}}` ->
 *   `{"stream":"authorization","data":{"status":"authorized"|"unauthorized","action":"authenticate"}}`;
 *   `{"action":"listen","data":{"streams":["trade_updates"]}}` -> `{"stream":"listening","data":{"streams":[…]}}`
 *   (before auth: unauthorized/listen). Server frames are binary by default (as Alpaca paper), text optional;
 *   client frames may be either.
 * - market data at `/v2/{iex,sip,delayed_sip,test}` and `/v1beta3/crypto/us`: `[{"T":"success","msg":"connected"}]`,
 *   `auth` by message or upgrade headers, subscribe/unsubscribe with the full-set `subscription` reply,
 *   error codes 400/401/402/403/404/405/406/409/410 (see the README). Text frames, every frame an array.
 */
import type { IncomingMessage } from 'node:http';
import type { RawData, WebSocket } from 'ws';
import type { MdMessage } from './market.js';

export interface Credentials {
  key: string;
  secret: string;
}

// ---------------------------------------------------------------- trade_updates

export class TradeStreamClient {
  authed = false;
  listening = false;

  constructor(
    readonly ws: WebSocket,
    private readonly creds: Credentials,
    private readonly binary: boolean,
  ) {
    ws.on('message', (data) => this.onMessage(data));
  }

  send(obj: unknown): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const text = JSON.stringify(obj);
    this.ws.send(this.binary ? Buffer.from(text) : text, { binary: this.binary });
  }

  private onMessage(data: RawData): void {
    let m: { action?: unknown; data?: Record<string, unknown> };
    try {
      m = JSON.parse(rawText(data)) as typeof m;
    } catch {
      this.send({ stream: 'error', data: { error_message: 'invalid syntax' } });
      return;
    }
    if (m.action === 'authenticate' || m.action === 'auth') {
      const d = m.data ?? {};
      const ok = d.key_id === this.creds.key && d.secret_key === this.creds.secret;
      this.authed = ok;
      this.send({ stream: 'authorization', data: { status: ok ? 'authorized' : 'unauthorized', action: 'authenticate' } });
      return;
    }
    if (m.action === 'listen') {
      if (!this.authed) {
        this.send({ stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
        return;
      }
      const streams = Array.isArray(m.data?.streams) ? (m.data.streams as unknown[]).filter((s): s is string => s === 'trade_updates') : [];
      this.listening = streams.length > 0;
      this.send({ stream: 'listening', data: { streams } });
      return;
    }
    this.send({ stream: 'error', data: { error_message: 'unrecognized action' } });
  }
}

// ---------------------------------------------------------------- market data

export type MdKind = 'stock' | 'crypto';

const STOCK_CHANNELS = ['trades', 'quotes', 'bars', 'updatedBars', 'dailyBars', 'statuses', 'lulds', 'corrections', 'cancelErrors'] as const;
const CRYPTO_CHANNELS = ['trades', 'quotes', 'orderbooks', 'bars', 'updatedBars', 'dailyBars'] as const;
const DERIVED = new Set(['corrections', 'cancelErrors']);

export interface MdLimits {
  /** max distinct symbols over trades + quotes (+ orderbooks) per connection (405 beyond; default 30) */
  maxSymbols: number;
  /** auth deadline in ms (404 auth timeout; default 10000) */
  authTimeoutMs: number;
}

export interface MdHub {
  /** authenticated connections per endpoint+key, for the 406 connection limit */
  claim(endpoint: string, key: string): boolean;
  release(endpoint: string, key: string): void;
}

const rawText = (data: RawData): string => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');

export class MdClient {
  authed = false;
  private key = '';
  readonly subs = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly kind: MdKind,
    readonly endpoint: string,
    /** false: the plan does not include this feed (409) */
    private readonly feedAllowed: boolean,
    private readonly creds: Credentials,
    private readonly limits: MdLimits,
    private readonly hub: MdHub,
    req: IncomingMessage,
  ) {
    for (const c of kind === 'stock' ? STOCK_CHANNELS : CRYPTO_CHANNELS) this.subs.set(c, new Set());
    this.send([{ T: 'success', msg: 'connected' }]);
    ws.on('message', (d) => this.onMessage(d));
    ws.on('close', () => {
      clearTimeout(this.timer);
      if (this.authed) this.hub.release(this.endpoint, this.key);
    });
    const hk = req.headers['apca-api-key-id'];
    const hs = req.headers['apca-api-secret-key'];
    if (typeof hk === 'string' || typeof hs === 'string') this.auth(String(hk ?? ''), String(hs ?? ''));
    else
      this.timer = setTimeout(() => {
        if (!this.authed) this.fatal(404, 'auth timeout');
      }, limits.authTimeoutMs);
  }

  send(msgs: unknown[]): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msgs));
  }

  private error(code: number, msg: string): void {
    this.send([{ T: 'error', code, msg }]);
  }

  private fatal(code: number, msg: string): void {
    this.error(code, msg);
    this.ws.close(1008, msg);
  }

  private auth(key: string, secret: string): void {
    if (this.authed) return this.error(403, 'already authenticated');
    if (key !== this.creds.key || secret !== this.creds.secret) return this.fatal(402, 'auth failed');
    if (!this.feedAllowed) return this.fatal(409, 'insufficient subscription');
    if (!this.hub.claim(this.endpoint, key)) return this.fatal(406, 'connection limit exceeded');
    clearTimeout(this.timer);
    this.authed = true;
    this.key = key;
    this.send([{ T: 'success', msg: 'authenticated' }]);
  }

  private onMessage(data: RawData): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(rawText(data)) as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
    } catch {
      return this.error(400, 'invalid syntax');
    }
    if (m.action === 'auth') return this.auth(String(m.key ?? ''), String(m.secret ?? ''));
    if (m.action !== 'subscribe' && m.action !== 'unsubscribe') return this.error(400, 'invalid syntax');
    if (!this.authed) return this.error(401, 'not authenticated');
    const changes = new Map<string, string[]>();
    const symRe = this.kind === 'stock' ? /^(\*|[A-Z][A-Z0-9.]{0,10})$/ : /^(\*|[A-Z0-9]+\/[A-Z0-9]+)$/;
    for (const [k, v] of Object.entries(m)) {
      if (k === 'action') continue;
      if (!this.subs.has(k) || DERIVED.has(k)) return this.error(410, 'invalid subscribe action for this feed');
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !symRe.test(s))) return this.error(400, 'invalid syntax');
      changes.set(k, v as string[]);
    }
    const next = new Map([...this.subs].map(([k, s]) => [k, new Set(s)]));
    for (const [k, list] of changes) for (const s of list) (m.action === 'subscribe' ? next.get(k)!.add(s) : next.get(k)!.delete(s));
    if (this.kind === 'stock') {
      next.set('corrections', new Set(next.get('trades')));
      next.set('cancelErrors', new Set(next.get('trades')));
    }
    const counted = new Set<string>();
    for (const c of ['trades', 'quotes', 'orderbooks']) for (const s of next.get(c) ?? []) counted.add(s);
    if (counted.size > this.limits.maxSymbols) return this.error(405, 'symbol limit exceeded');
    for (const [k, s] of next) this.subs.set(k, s);
    this.send([{ T: 'subscription', ...Object.fromEntries([...this.subs].map(([k, s]) => [k, [...s]])) }]);
  }

  /** The messages of one step this client subscribed to. */
  select(msgs: MdMessage[]): Record<string, unknown>[] {
    if (!this.authed) return [];
    const out: Record<string, unknown>[] = [];
    const cls = this.kind === 'stock' ? 'us_equity' : 'crypto';
    for (const m of msgs) {
      if (m.assetClass !== cls || this.endpoint.endsWith('/test')) continue;
      const s = this.subs.get(m.channel)!;
      if (s.has(m.symbol) || s.has('*')) out.push(m.msg);
    }
    return out;
  }
}
