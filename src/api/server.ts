import { createHash, timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { compareVariants } from '../engine/compare.js';
import type { Engine } from '../engine/engine.js';
import type { FeedStatus } from '../marketdata/binance/feed.js';
import { venueSymbols } from '../config/config.js';
import type { AlpacaBrokerStatus } from '../execution/alpaca/broker.js';
import { registerOpenApi, routeSchema, type RouteDoc } from './openapi.js';
import { PrometheusMetrics } from './prometheus.js';
import * as S from './schemas.js';
import { STREAM_HEADERS, StreamHub } from './stream.js';
import { counters, streamSnapshot } from './views.js';
import { registerDashboard } from '../web/routes.js';

export interface ApiContext {
  engine: Engine;
  feeds: () => FeedStatus[];
  version: string;
  startedAt: number;
  /** wall clock of the edge */
  now?: () => number;
  /** the shadow variants (SHADOW), for /strategies */
  shadows?: () => { name: string; engine: Engine }[];
  /** facts about the session (seed, event log) for /status */
  session?: () => Record<string, unknown>;
  /** bearer token for endpoints that change anything; unset: they answer 403 */
  apiToken?: string | undefined;
  /** requests per minute per client address (API_RATE_LIMIT); 0 or unset: no limit */
  rateLimit?: number;
  /** receive-time clock for commands (the engine's input time); defaults to Date.now */
  clock?: () => number;
  /** the Alpaca broker (trade_updates, account, reconciliation), when Alpaca symbols trade */
  alpaca?: () => AlpacaBrokerStatus;
  /** live stream limits (defaults: STREAM_INTERVAL_MS of the engine's config, 15 s heartbeat, 50 clients, 1 MiB per client) */
  stream?: { intervalMs?: number; heartbeatMs?: number; maxClients?: number; maxBufferedBytes?: number };
}

/** Compares tokens in constant time (hashing first makes the lengths equal). */
function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** 403 when no token is configured (never open by default), 401 when it is missing or wrong. */
function authorize(req: FastifyRequest, token: string | undefined): void {
  if (!token) throw new ApiError(403, 'forbidden', 'control endpoints are disabled: set API_TOKEN to enable them');
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  if (!m) throw new ApiError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <API_TOKEN>)');
  if (!tokenMatches(m[1]!, token)) throw new ApiError(401, 'unauthorized', 'wrong bearer token');
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Checks one input with its zod schema: 400 naming the field (`what` when the input itself is wrong). */
function parse<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
    throw new ApiError(400, 'bad_request', msg);
  }
  return r.data;
}

/** Error codes of statuses fastify answers by itself (bad JSON, body too large, wrong content type...). */
const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  431: 'headers_too_large',
  503: 'unavailable',
};

type Handler<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> = (
  input: { params: z.output<P>; query: z.output<Q>; body: z.output<B> },
  req: FastifyRequest,
  reply: FastifyReply,
) => unknown;

const noParams = S.noQuery;

/** The HTTP API: views of the engine, the live stream, Prometheus metrics, the controls; every input validated. */
export function buildApi(ctx: ApiContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    clientErrorHandler,
    // errors before routing (a malformed URL): the same shape
    frameworkErrors: (error, _req, reply: FastifyReply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      void reply.status(status).send({ error: { code: STATUS_CODES[status] ?? 'bad_request', message: error.message } });
    },
  });
  // per-address rate limit, before anything else runs for the request (a live stream is one request: it counts once)
  if (ctx.rateLimit && ctx.rateLimit > 0) {
    void app.register(rateLimit, {
      global: false,
      max: ctx.rateLimit,
      timeWindow: 60_000,
      errorResponseBuilder: (_req, c) =>
        Object.assign(new Error(`too many requests: at most ${c.max} a minute from one address; retry in ${c.after}`), { statusCode: 429 }),
    });
    // on every request (API, dashboard, unknown paths), whenever its route was added
    app.after(() => app.addHook('onRequest', app.rateLimit()));
  }
  const now = ctx.now ?? Date.now;
  const { engine } = ctx;
  const sessionId = engine.sessionId;

  // zod checks every input in the handlers (parse), so that the answers stay exactly ours; the route
  // schemas are documentation (OpenAPI) and fastify neither validates nor serializes with them
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply: FastifyReply) => {
    if (error instanceof ApiError) return reply.status(error.status).send({ error: { code: error.code, message: error.message } });
    // fastify's own (bad JSON, body too large, content type): a 4xx in our shape; anything else is a bug
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 500 ? 'internal' : STATUS_CODES[status] ?? 'bad_request';
    let message = status === 500 ? 'internal error' : error.message;
    if (status === 415) message = `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}: send application/json`;
    if (status === 500) engine.opts().logger.error({ err: error.message, url: req.url.split('?')[0] }, 'API error');
    return reply.status(status).send({ error: { code, message } });
  });

  // every route's path pattern and methods, for 405 (a known path asked with another method)
  const routes: { re: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (r) => {
    const pattern = r.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+');
    const re = new RegExp(`^${pattern}/?$`);
    let entry = routes.find((x) => x.re.source === re.source);
    if (!entry) routes.push((entry = { re, methods: new Set() }));
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) entry.methods.add(m);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    const allowed = new Set<string>();
    for (const r of routes) if (r.re.test(path)) for (const m of r.methods) allowed.add(m);
    if (allowed.size > 0 && !allowed.has(req.method)) {
      const allow = [...allowed].sort().join(', ');
      return reply.status(405).header('allow', allow).send({ error: { code: 'method_not_allowed', message: `${req.method} is not allowed on ${path} (allowed: ${allow})` } });
    }
    return reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${path}` } });
  });

  registerOpenApi(app, { version: ctx.version });

  const hub = new StreamHub(
    {
      observe: (fn) => engine.observe(fn),
      snapshot: (symbols) => streamSnapshot(engine, ctx.feeds(), symbols),
    },
    {
      intervalMs: ctx.stream?.intervalMs ?? engine.opts().config.STREAM_INTERVAL_MS,
      heartbeatMs: ctx.stream?.heartbeatMs,
      maxClients: ctx.stream?.maxClients,
      maxBufferedBytes: ctx.stream?.maxBufferedBytes,
      onDrop: (info) => engine.opts().logger.warn(info, 'live stream: a slow client was dropped'),
    },
  );
  // streams never end by themselves: end them before the server waits for its connections
  app.addHook('preClose', (done) => {
    hub.close();
    done();
  });
  app.decorate('streamHub', hub);
  const prometheus = new PrometheusMetrics({ engine, feeds: ctx.feeds, shadows: ctx.shadows, version: ctx.version, startedAt: ctx.startedAt, now });

  app.register(async (api) => {
    /** Adds a documented route whose inputs zod checks (after the bearer token, for controls). */
    function route<P extends z.ZodType = typeof noParams, Q extends z.ZodType = typeof S.noQuery, B extends z.ZodType = typeof S.emptyBody>(
      method: 'GET' | 'POST',
      url: string,
      doc: RouteDoc & { params?: P; query?: Q; body?: B },
      handler: Handler<P, Q, B>,
    ): void {
      const params = doc.params ?? noParams;
      const query = doc.query ?? S.noQuery;
      const body = doc.body ?? S.emptyBody;
      api.route({
        method,
        url,
        schema: routeSchema({ ...doc, query }),
        handler: async (req, reply) => {
          if (doc.auth) authorize(req, ctx.apiToken);
          if (method === 'GET' && hasBody(req)) throw new ApiError(400, 'bad_request', 'a GET request takes no body');
          const input = {
            params: parse(params, req.params ?? {}, 'path') as z.output<P>,
            query: parse(query, req.query ?? {}, 'query') as z.output<Q>,
            body: (method === 'GET' ? undefined : parse(body, req.body, 'body')) as z.output<B>,
          };
          return handler(input, req, reply);
        },
      });
    }

    route('GET', '/openapi.json', {
      summary: 'This document (OpenAPI 3.1)', tags: ['meta'], description: 'A page to read and try it: GET /docs (served locally).',
      response: { contentType: 'application/json', schema: { type: 'object' } },
    }, () => app.swagger());

    route('GET', '/health', { summary: 'Liveness', tags: ['meta'], response: S.healthSchema }, () => ({ status: 'ok', uptimeSec: Math.round((now() - ctx.startedAt) / 1000) }));

    route('GET', '/status', {
      summary: 'Engine, session, execution models, strategy, books, feeds, futures, counters and risk state', tags: ['engine'], response: S.statusSchema,
    }, () => {
      const feeds = ctx.feeds();
      return {
        engine: { state: engine.gateway.halted ? 'halted' : 'running', sessionId, version: ctx.version, startedAt: new Date(ctx.startedAt).toISOString(), uptimeSec: Math.round((now() - ctx.startedAt) / 1000) },
        strategy: {
          id: engine.strategy.id,
          name: engine.strategy.name,
          version: engine.strategy.version,
          params: engine.strategy.params,
          state: engine.strategy.status?.() ?? null,
          mlGate: engine.mlStatus() ? { enabled: true } : { enabled: false, reason: 'no model configured (MODEL_PATH is empty): the ML gate is off' },
        },
        session: ctx.session?.() ?? null,
        // the model behind the gate, its inference-time histogram and per-symbol pass/block counts
        ml: engine.mlStatus(),
        // tickToDecision: live only, input receive time to the risk gateway's approval (µs)
        execution: { ...engine.executionStatus(), tickToDecision: engine.tickToDecision.summary() },
        books: engine.bookStatus(),
        feeds: Object.fromEntries(feeds.map((f) => [f.venue, f])),
        feedsDown: feeds.filter((f) => f.state !== 'up').map((f) => f.venue),
        futures: Object.fromEntries(engine.futures),
        counters: counters(engine, feeds),
        risk: engine.riskStatus(),
        ...(ctx.alpaca ? { alpaca: ctx.alpaca() } : {}),
      };
    });

    // ---- controls: each needs the bearer token, each is an input of the engine (event log) ----
    const clock = ctx.clock ?? Date.now;
    const control = { tags: ['controls'], auth: true, response: S.controlResultSchema };
    route('POST', '/kill', {
      ...control, summary: 'Kill switch: halt every strategy, cancel every working order, optionally flatten', body: S.killBody,
      description: 'With `flatten`, every position is closed with market orders. Survives a restart; POST /resume ends it.',
    }, ({ body }) => engine.control({ cmd: 'kill', flatten: body?.flatten ?? false, reason: body?.reason ?? 'kill switch (API)' }, clock()));
    route('POST', '/pause', { ...control, summary: 'Pause: strategies send nothing new, working orders stay', body: S.pauseBody }, ({ body }) =>
      engine.control({ cmd: 'pause', reason: body?.reason ?? 'paused (API)' }, clock()),
    );
    route('POST', '/resume', { ...control, summary: 'End a halt or a pause', body: S.emptyBody }, () => engine.control({ cmd: 'resume' }, clock()));
    route('POST', '/risk/reset-breaker', {
      ...control, summary: 'Clear a tripped drawdown breaker (the high-water mark restarts from the current equity)', body: S.emptyBody,
    }, () => engine.control({ cmd: 'reset-breaker' }, clock()));

    route('GET', '/account', {
      summary: 'Cash, equity, P&L, fees, exposure, high-water mark, drawdown', tags: ['account'], response: S.accountSchema,
      description: 'With Alpaca symbols, `alpaca` holds the Alpaca paper account as last read (buying power, cash, equity, status and flags: trading/account blocked, pattern day trader, shorting); the rest is this session\'s own accounting.',
    }, () => {
      if (!ctx.alpaca) return engine.account();
      const a = ctx.alpaca();
      return { ...engine.account(), alpaca: { ...(a.account ?? {}), error: a.accountError } };
    });
    route('GET', '/positions', { summary: 'Positions per symbol', tags: ['account'], response: S.positionsSchema }, () => ({ positions: engine.positions() }));
    route('GET', '/trades', { summary: 'Round trips (position opened -> closed), newest first', tags: ['account'], query: S.tradesQuery, response: S.tradesSchema }, ({ query: q }) => ({
      trades: engine.opts().store.listTrades(sessionId, { limit: q.limit, symbol: q.symbol, status: q.status }),
    }));
    route('GET', '/fills', { summary: 'Executions, newest first', tags: ['account'], query: S.listQuery, response: S.fillsSchema }, ({ query: q }) => ({
      fills: engine.opts().store.listFills(sessionId, { limit: q.limit, symbol: q.symbol }),
    }));
    route('GET', '/orders', { summary: 'Orders, newest first', tags: ['account'], query: S.listQuery, response: S.ordersSchema }, ({ query: q }) => ({
      orders: engine.opts().store.listOrders(sessionId, { limit: q.limit, symbol: q.symbol }),
    }));
    route('GET', '/orders/open', { summary: 'Working orders (sent, not yet ended)', tags: ['account'], response: S.ordersSchema }, () => ({ orders: engine.allOpenOrders() }));
    route('GET', '/equity', {
      summary: 'The stored equity curve with high-water mark and drawdown, oldest first', tags: ['live'], query: S.equityQuery, response: S.equitySchema,
      description: 'Rows are written when the account changes (and at shutdown); for a chart, then follow `equity` events on GET /stream.',
    }, ({ query: q }) => ({ points: engine.opts().store.equityCurve(sessionId, { limit: q.limit, since: q.since }) }));
    route('GET', '/risk/denials', { summary: 'Denied intents, newest first, and counts by check', tags: ['risk'], query: S.denialsQuery, response: S.denialsSchema }, ({ query: q }) => ({
      counts: engine.opts().store.denialCounts(sessionId),
      denials: engine.opts().store.listDenials(sessionId, { limit: q.limit }),
    }));
    route('GET', '/metrics', { summary: 'Closed trades, win rate, P&L, fees, Sharpe, max drawdown', tags: ['account'], response: S.metricsSchema }, () => engine.metrics());
    route('GET', '/metrics/prometheus', {
      summary: 'Prometheus metrics (text exposition format)', tags: ['engine'],
      description: 'Feeds (messages, malformed, rate, latency histogram), engine counters, account, positions, risk flags, book states, shadow variants, process metrics.',
      response: { contentType: 'text/plain', schema: { type: 'string' } },
    }, async (_input, _req, reply) => {
      const text = await prometheus.text();
      return reply.header('content-type', prometheus.contentType).send(text);
    });
    route('GET', '/latency', { summary: 'Feed latency distribution per venue (percentiles 0..100, log-spaced buckets); tick-to-decision latency and its stages', tags: ['live'], response: S.latencySchema }, () => ({
      time: now(),
      venues: {
        spot: engine.feedLatency.spot.distribution(),
        usdm: engine.feedLatency.usdm.distribution(),
        ...(engine.feedLatency.alpaca.summary().count > 0 ? { alpaca: engine.feedLatency.alpaca.distribution() } : {}),
      },
      ml: mlLatency(engine),
      tickToDecision: engine.tickToDecision.summary(),
      decisionStages: engine.tickToDecision.stages(),
    }));
    route('GET', '/strategies', {
      summary: 'The trading strategy and each shadow variant side by side (P&L, Sharpe, PSR, DSR)', tags: ['strategies'], response: S.strategiesSchema,
    }, () => ({
      variants: compareVariants(engine, ctx.shadows?.() ?? []),
      // symbol -> the shadow variant that trades it instead of the configured strategy
      promoted: engine.promoted(),
      changes: engine.opts().store.listStrategyChanges(sessionId),
    }));
    route('POST', '/strategies/promote', {
      ...control, tags: ['controls', 'strategies'], summary: 'A shadow variant trades chosen symbols instead of the configured strategy', body: S.promoteBody,
      response: S.promoteResultSchema, errors: [[404, 'no such variant']],
    }, ({ body: b }) => {
      const names = (ctx.shadows?.() ?? []).map((s) => s.name);
      if (b.variant !== 'configured' && !names.includes(b.variant)) {
        throw new ApiError(404, 'unknown_variant', `no shadow variant ${b.variant} (running: ${names.join(', ') || 'none'}; "configured" returns to the configured strategy)`);
      }
      const vs = venueSymbols(engine.opts().config);
      const all = [...vs.binance, ...vs.alpaca];
      const symbols = b.symbols ?? all;
      const unknown = symbols.filter((s) => !all.includes(s));
      if (unknown.length > 0) throw new ApiError(400, 'bad_request', `symbols not traded: ${unknown.join(', ')}`);
      const r = engine.control({ cmd: 'promote', variant: b.variant, symbols }, clock());
      return { ...r, promoted: engine.promoted() };
    });
    route('GET', '/book/:symbol', {
      summary: 'Order book levels, best first', tags: ['engine'], params: S.bookParams, query: S.bookQuery, response: S.bookSchema, errors: [[404, 'no book for this symbol on this venue']],
    }, ({ params: p, query: q }) => {
      const symbol = p.symbol.toUpperCase();
      const book = engine.book(q.venue, symbol, q.depth);
      if (!book) throw new ApiError(404, 'unknown_symbol', `no ${q.venue} book for ${symbol}`);
      return book;
    });
    route('GET', '/stream', {
      summary: 'Live stream (Server-Sent Events): snapshots every STREAM_INTERVAL_MS, orders, fills, denials, risk and equity at once',
      tags: ['live'],
      query: S.streamQuery,
      description:
        'text/event-stream, for EventSource. Every frame has an increasing `id:`. `event: snapshot` on connect and every STREAM_INTERVAL_MS: ' +
        '`{time, account, positions, openOrders, risk, books: {"<venue>:<SYMBOL>": {venue, symbol, state, bid, bidQty, ask, askQty, mid, spread, time}}, feeds, counters}` ' +
        '(schema: `#/components/schemas/StreamSnapshot`). ' +
        '`event: order|fill|denial|risk|equity` as they happen (the engine notice without its type). A comment heartbeat every 15 s. ' +
        'At most 50 clients (503 beyond); a client more than 1 MiB behind is dropped.',
      response: { contentType: 'text/event-stream', schema: { type: 'string' } },
      responseDescription: 'the event stream (see description)',
      errors: [[503, 'too many stream clients']],
    }, ({ query: q }, req, reply) => {
      if (hub.full) throw new ApiError(503, 'unavailable', `too many live stream clients (at most ${hub.maxClients})`);
      // HEAD: the headers only (no client is kept for a request that can carry no events)
      if (req.method === 'HEAD') return reply.headers(STREAM_HEADERS).send();
      reply.hijack();
      hub.attach(reply.raw, q.symbols ?? null);
      req.raw.socket.setTimeout(0);
    });
  });
  registerDashboard(app);
  return app;
}

/**
 * Requests node's HTTP parser refuses (malformed, headers too large, too slow) are answered here, before
 * fastify sees them: in the same error shape, then the connection is closed.
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request took too long to arrive']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are too large']
        : [400, 'Bad Request', 'bad_request', 'malformed HTTP request'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** A request that carries a body (a length above 0, or chunked). */
function hasBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
}

declare module 'fastify' {
  interface FastifyInstance {
    /** the live stream's hub (GET /stream) */
    streamHub: StreamHub;
  }
}

/** The ML gate's model and inference-time summary, for GET /latency (null: no model). */
function mlLatency(engine: Engine): { model: string; inference: Record<string, unknown> } | null {
  const ml = engine.mlStatus();
  if (!ml) return null;
  return { model: String(ml['model']), inference: (ml['inference'] ?? {}) as Record<string, unknown> };
}
