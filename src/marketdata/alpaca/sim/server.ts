/**
 * A local Alpaca: paper Trading REST + trade_updates stream + Market Data v2 (WebSocket and REST bars),
 * replaying 1-minute bars from ../shared/data as synthesized trades/quotes (synth.ts), with exact paper
 * fills (broker.ts) and faults on command (faults.ts). One port serves everything:
 *   REST   /v2/orders…, /v2/account, /v2/positions…, /v2/assets…, /v2/clock, /v2/calendar (trading, paper)
 *          /v2/stocks/{symbol}/bars, /v2/stocks/bars, /v1beta3/crypto/us/bars        (market data)
 *   WS     /stream (trade_updates), /v2/{iex|sip|delayed_sip|test}, /v1beta3/crypto/us (market data)
 *   admin  /_admin/state, /_admin/step?n=, /_admin/faults (POST a FaultSpec or an array; DELETE clears)
 * REST needs `APCA-API-KEY-ID`/`APCA-API-SECRET-KEY` (401 `{"code":40110000,"message":"unauthorized"}`);
 * a fixed one-minute window per key limits requests (429 `{"code":42910000,…}`), and every authenticated
 * reply carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (unix seconds).
 * The market advances one tick every 60000 / speed / 4 ms (speed 60 = one bar a second), or only
 * by `step()` / POST /_admin/step when `speed` is 0.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { easternOffsetMinutes, loadSymbol, type SymbolData } from './bars.js';
import { Broker, type TradeUpdate } from './broker.js';
import { dataRoute } from './data.js';
import { EventShaper, Faults, type FaultSpec } from './faults.js';
import { toQ } from './fixed.js';
import { Market, type MdMessage } from './market.js';
import { MdClient, TradeStreamClient, type MdKind } from './streams.js';
import { TICKS_PER_BAR } from './synth.js';
import { tradingRoute, type Reply } from './trading.js';

export interface AlpacaSimOptions {
  /** directory holding us-equities-1min-2019/ and doge-1m-bybit/ (the shared data) */
  dataDir: string;
  /** Alpaca symbols, default TSLA and DOGE/USD */
  symbols?: string[];
  key?: string;
  secret?: string;
  host?: string;
  port?: number;
  /** market pace as a multiple of real time (60 = one bar a second); 0 = only step() / POST /_admin/step. Default 60. */
  speed?: number;
  /** requests per minute per key (default 200) */
  rateLimitPerMinute?: number;
  /** split every fill into this many parts over successive ticks (default 1) */
  partialFills?: number;
  /** starting cash (default "100000") */
  cash?: string;
  /** bars of each symbol served as REST history before the replay start (default 120) */
  warmupBars?: number;
  /**
   * shift the data so the first replayed bar starts at this time (`'now'` = the wall clock at start);
   * default: the data's own times. Shifted, /v2/clock always reports the market open.
   */
  startAt?: number | 'now';
  /** wall clock for order timestamps and the rate-limit window (default Date.now) */
  now?: () => number;
  /** emit `pending_new` before `new` */
  pendingNew?: boolean;
  /** trade_updates server frames (default binary, as Alpaca paper) */
  tradeFrames?: 'binary' | 'text';
  /** market data: max symbols over trades+quotes per connection (default 30), auth timeout (default 10000 ms), connections per endpoint and key (default 1) */
  maxSymbols?: number;
  authTimeoutMs?: number;
  maxConnections?: number;
  /** stock feeds the plan includes (default iex, sip, delayed_sip, test); others answer 409 */
  feeds?: string[];
  faults?: FaultSpec[];
}

export interface AlpacaSim {
  url: string;
  wsUrl: string;
  port: number;
  market: Market;
  broker: Broker;
  faults: Faults;
  /** advance the market by n ticks (4 per bar) */
  step(n?: number): void;
  addFault(spec: FaultSpec): void;
  clients(): { trade: number; marketData: number };
  close(): Promise<void>;
}

const STOCK_FEEDS = ['iex', 'sip', 'delayed_sip', 'test'];

function send(res: ServerResponse, r: Reply, headers: Record<string, string> = {}): void {
  const h: Record<string, string> = { ...headers, ...r.headers };
  if (r.body === undefined) {
    res.writeHead(r.status, h).end();
    return;
  }
  h['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(r.status, h).end(JSON.stringify(r.body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startAlpacaSim(opts: AlpacaSimOptions): Promise<AlpacaSim> {
  const symbols = opts.symbols ?? ['TSLA', 'DOGE/USD'];
  const data: SymbolData[] = symbols.map((s) => loadSymbol(opts.dataDir, s));
  const now = opts.now ?? Date.now;
  const market = new Market(data, { warmupBars: opts.warmupBars, startAt: opts.startAt === 'now' ? now() : opts.startAt });
  const creds = { key: opts.key ?? 'PKTEST', secret: opts.secret ?? 'SECRET' };
  const broker = new Broker(
    {
      price: (s) => {
        const l = market.last(s);
        return l === undefined ? undefined : toQ(l.price);
      },
      assetClass: (s) => market.info(s)?.assetClass,
    },
    { cash: opts.cash, partialFills: opts.partialFills, now, pendingNew: opts.pendingNew },
  );
  const faults = new Faults();
  const shaper = new EventShaper<TradeUpdate>(faults);
  const limit = opts.rateLimitPerMinute ?? 200;
  const windows = new Map<string, { start: number; count: number }>();
  const tradeClients = new Set<TradeStreamClient>();
  const mdClients = new Set<MdClient>();
  const mdConnections = new Map<string, number>();
  const hanging = new Set<ServerResponse>();
  const firstStock = data.find((d) => d.assetClass === 'us_equity')?.symbol;
  const easternDay = (ms: number): number => Math.floor((ms + easternOffsetMinutes(ms) * 60_000) / 86_400_000);
  let lastDay = firstStock ? easternDay(market.dataTime(firstStock)!) : undefined;

  const addFault = (spec: FaultSpec): void => {
    faults.add(spec);
    if (spec.kind === 'reject') broker.rejectNext += spec.count ?? 1;
    if (spec.kind === 'disconnect') {
      if (spec.target !== 'marketdata') for (const c of tradeClients) c.ws.terminate();
      if (spec.target !== 'trade') for (const c of mdClients) c.ws.terminate();
    }
  };
  for (const f of opts.faults ?? []) addFault(f);

  const publish = (events: TradeUpdate[]): void => {
    for (const e of events)
      for (const out of shaper.push(e)) for (const c of tradeClients) if (c.listening) c.send({ stream: 'trade_updates', data: out });
  };

  const step = (n = 1): void => {
    for (let i = 0; i < n; i++) {
      const msgs: MdMessage[] = market.step();
      const events: TradeUpdate[] = [];
      if (firstStock) {
        const d = easternDay(market.dataTime(firstStock)!);
        if (d !== lastDay) events.push(...broker.expireDay());
        lastDay = d;
      }
      for (const m of msgs) if (m.channel === 'trades') events.push(...broker.onTrade(m.symbol, m.msg.p as number));
      for (const c of mdClients) {
        const sel = c.select(msgs);
        if (sel.length > 0) c.send(sel);
      }
      publish(events);
    }
  };

  const rateHeaders = (key: string): { headers: Record<string, string>; limited: boolean } => {
    const t = now();
    const start = Math.floor(t / 60_000) * 60_000;
    let w = windows.get(key);
    if (!w || w.start !== start) {
      w = { start, count: 0 };
      windows.set(key, w);
    }
    w.count++;
    const limited = w.count > limit;
    return {
      headers: { 'X-RateLimit-Limit': String(limit), 'X-RateLimit-Remaining': String(Math.max(0, limit - w.count)), 'X-RateLimit-Reset': String((start + 60_000) / 1000) },
      limited,
    };
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): Promise<void> => {
    if (path === '/_admin/state' && req.method === 'GET') {
      const syms = Object.fromEntries(market.symbols().map((s) => [s, { price: market.last(s)?.price, time: new Date(market.time(s)!).toISOString() }]));
      return send(res, { status: 200, body: { steps: market.steps, symbols: syms, clients: { trade: tradeClients.size, marketData: mdClients.size } } });
    }
    if (path === '/_admin/step' && req.method === 'POST') {
      const n = q.get('n') === null ? 1 : Number(q.get('n'));
      if (!Number.isInteger(n) || n < 1 || n > 100_000) return send(res, { status: 400, body: { message: 'n must be 1..100000' } });
      step(n);
      return send(res, { status: 200, body: { steps: market.steps } });
    }
    if (path === '/_admin/faults' && req.method === 'POST') {
      try {
        const body = JSON.parse(await readBody(req)) as FaultSpec | FaultSpec[];
        for (const f of Array.isArray(body) ? body : [body]) addFault(f);
      } catch (e) {
        return send(res, { status: 400, body: { message: (e as Error).message } });
      }
      return send(res, { status: 200, body: { ok: true } });
    }
    if (path === '/_admin/faults' && req.method === 'DELETE') {
      faults.clear();
      broker.rejectNext = 0;
      return send(res, { status: 204 });
    }
    send(res, { status: 404, body: { message: 'not found' } });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/_admin/')) return admin(req, res, path, url.searchParams);
    const key = req.headers['apca-api-key-id'];
    const secret = req.headers['apca-api-secret-key'];
    if (key !== creds.key || secret !== creds.secret) return send(res, { status: 401, body: { code: 40110000, message: 'unauthorized' } });
    const rl = rateHeaders(key);
    if (rl.limited) return send(res, { status: 429, body: { code: 42910000, message: 'rate limit exceeded' } }, rl.headers);
    const injected = faults.takeHttp(method, path);
    if (injected !== undefined) {
      const h = injected === 429 ? { ...rl.headers, 'X-RateLimit-Remaining': '0' } : rl.headers;
      return send(res, { status: injected, body: { code: injected * 100_000 + 10_000, message: injected === 429 ? 'rate limit exceeded' : 'internal server error (injected)' } }, h);
    }
    let body: unknown;
    if (method === 'POST' || method === 'PATCH') {
      const text = await readBody(req);
      if (text.trim() !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          return send(res, { status: 400, body: { code: 40010000, message: 'request body format is invalid' } }, rl.headers);
        }
      }
    }
    const r = tradingRoute(
      {
        broker,
        marketTime: () => (firstStock ? market.time(firstStock)! : now()),
        alwaysOpen: market.shifted,
        assets: () => market.symbols().map((s) => market.info(s)!),
        dataDays: () => {
          if (!firstStock) return undefined;
          const bars = market.info(firstStock)!.bars;
          const day = (ms: number): string => new Date(ms + easternOffsetMinutes(ms) * 60_000).toISOString().slice(0, 10);
          return [day(bars[0]!.t), day(bars[bars.length - 1]!.t)];
        },
      },
      method,
      path,
      url.searchParams,
      body,
    );
    const reply = r?.reply ?? dataRoute(market, method, path, url.searchParams) ?? { status: 404, body: { code: 40410000, message: 'endpoint not found' } };
    const timeout = faults.takeTimeout(method, path);
    if (timeout === undefined) send(res, reply, rl.headers);
    else if (timeout.delayMs === undefined) hanging.add(res);
    else setTimeout(() => send(res, reply, rl.headers), timeout.delayMs).unref();
    if (r) publish(r.events);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { code: 50010000, message: (e as Error).message } });
    });
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const hub = {
    claim: (endpoint: string, key: string): boolean => {
      const k = `${endpoint} ${key}`;
      const n = mdConnections.get(k) ?? 0;
      if (n >= (opts.maxConnections ?? 1)) return false;
      mdConnections.set(k, n + 1);
      return true;
    },
    release: (endpoint: string, key: string): void => {
      const k = `${endpoint} ${key}`;
      mdConnections.set(k, Math.max(0, (mdConnections.get(k) ?? 1) - 1));
    },
  };
  const allowedFeeds = new Set(opts.feeds ?? STOCK_FEEDS);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const feed = /^\/v2\/([a-z_]+)$/.exec(path)?.[1];
    let kind: MdKind | 'trade' | undefined;
    if (path === '/stream') kind = 'trade';
    else if (feed !== undefined && STOCK_FEEDS.includes(feed)) kind = 'stock';
    else if (path === '/v1beta3/crypto/us') kind = 'crypto';
    if (!kind) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      if (kind === 'trade') {
        const c = new TradeStreamClient(ws, creds, (opts.tradeFrames ?? 'binary') === 'binary');
        tradeClients.add(c);
        ws.on('close', () => tradeClients.delete(c));
      } else {
        const c = new MdClient(ws, kind, path, kind === 'crypto' || allowedFeeds.has(feed!), creds, { maxSymbols: opts.maxSymbols ?? 30, authTimeoutMs: opts.authTimeoutMs ?? 10_000 }, hub, req);
        mdClients.add(c);
        ws.on('close', () => mdClients.delete(c));
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  const speed = opts.speed ?? 60;
  const timer = speed > 0 ? setInterval(() => step(1), Math.max(1, 60_000 / speed / TICKS_PER_BAR)) : undefined;

  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    market,
    broker,
    faults,
    step,
    addFault,
    clients: () => ({ trade: tradeClients.size, marketData: mdClients.size }),
    close: async () => {
      clearInterval(timer);
      for (const res of hanging) res.destroy();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
