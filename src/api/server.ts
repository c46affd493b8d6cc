import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { compareVariants } from '../engine/compare.js';
import type { Engine } from '../engine/engine.js';
import type { FeedStatus } from '../marketdata/binance/feed.js';

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
  /** receive-time clock for commands (the engine's input time); defaults to Date.now */
  clock?: () => number;
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

function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const r = schema.safeParse(query ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    throw new ApiError(400, 'bad_request', msg);
  }
  return r.data;
}

const int = (min: number, max: number, dflt: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected ${min}..${max}` })
    .optional()
    .transform((v) => v ?? dflt);
const symbolQ = z
  .string()
  .regex(/^[A-Za-z0-9]{2,20}$/, 'expected a symbol like BTCUSDT')
  .transform((s) => s.toUpperCase())
  .optional();
const venueQ = z.enum(['spot', 'usdm']).optional().transform((v) => v ?? 'spot');

const listQuery = z.strictObject({ limit: int(1, 10_000, 100), symbol: symbolQ });
const tradesQuery = z.strictObject({ limit: int(1, 10_000, 100), symbol: symbolQ, status: z.enum(['OPEN', 'CLOSED']).optional() });
const bookQuery = z.strictObject({ depth: int(1, 5000, 20), venue: venueQ });
const reasonQ = z.string().trim().min(1).max(200).optional();
const killBody = z.strictObject({ flatten: z.boolean().optional(), reason: reasonQ }).optional();
const pauseBody = z.strictObject({ reason: reasonQ }).optional();
const emptyBody = z.strictObject({}).optional();
const promoteBody = z.strictObject({
  variant: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a variant name'),
  symbols: z.array(z.string().regex(/^[A-Za-z0-9]{2,20}$/).transform((s) => s.toUpperCase())).min(1).optional(),
});
const bookParams = z.strictObject({ symbol: z.string().regex(/^[A-Za-z0-9]{2,20}$/, 'expected a symbol like BTCUSDT') });

/** The HTTP API: read-only views of the engine for this issue; every input validated. */
export function buildApi(ctx: ApiContext): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, forceCloseConnections: true });
  const now = ctx.now ?? Date.now;
  const { engine } = ctx;
  const sessionId = engine.sessionId;

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _req, reply: FastifyReply) => {
    if (error instanceof ApiError) return reply.status(error.status).send({ error: { code: error.code, message: error.message } });
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const code = status === 500 ? 'internal' : (error.code ?? 'bad_request').toLowerCase();
    return reply.status(status).send({ error: { code, message: status === 500 ? 'internal error' : error.message } });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } }));

  app.get('/health', async () => ({ status: 'ok', uptimeSec: Math.round((now() - ctx.startedAt) / 1000) }));

  app.get('/status', async () => {
    const feeds = ctx.feeds();
    return {
      engine: { state: engine.gateway.halted ? 'halted' : 'running', sessionId, version: ctx.version, startedAt: new Date(ctx.startedAt).toISOString(), uptimeSec: Math.round((now() - ctx.startedAt) / 1000) },
      strategy: {
        id: engine.strategy.id,
        name: engine.strategy.name,
        version: engine.strategy.version,
        params: engine.strategy.params,
        state: engine.strategy.status?.() ?? null,
        mlGate: { enabled: false, reason: 'no model configured: the ML gate is off' },
      },
      session: ctx.session?.() ?? null,
      execution: engine.executionStatus(),
      books: engine.bookStatus(),
      feeds: Object.fromEntries(feeds.map((f) => [f.venue, f])),
      feedsDown: feeds.filter((f) => f.state !== 'up').map((f) => f.venue),
      futures: Object.fromEntries(engine.futures),
      counters: {
        ...engine.counters,
        messages: feeds.reduce((a, f) => a + f.messages, 0),
        malformed: feeds.reduce((a, f) => a + Object.values(f.malformed).reduce((x, y) => x + y, 0), 0),
      },
      risk: engine.riskStatus(),
    };
  });

  // ---- controls: each needs the bearer token, each is an input of the engine (event log) ----
  const clock = ctx.clock ?? Date.now;
  app.post('/kill', async (req) => {
    authorize(req, ctx.apiToken);
    const b = parseQuery(killBody, req.body) ?? {};
    return engine.control({ cmd: 'kill', flatten: b.flatten ?? false, reason: b.reason ?? 'kill switch (API)' }, clock());
  });
  app.post('/pause', async (req) => {
    authorize(req, ctx.apiToken);
    const b = parseQuery(pauseBody, req.body) ?? {};
    return engine.control({ cmd: 'pause', reason: b.reason ?? 'paused (API)' }, clock());
  });
  app.post('/resume', async (req) => {
    authorize(req, ctx.apiToken);
    parseQuery(emptyBody, req.body);
    return engine.control({ cmd: 'resume' }, clock());
  });
  app.post('/risk/reset-breaker', async (req) => {
    authorize(req, ctx.apiToken);
    parseQuery(emptyBody, req.body);
    return engine.control({ cmd: 'reset-breaker' }, clock());
  });

  app.get('/account', async () => engine.account());
  app.get('/positions', async () => ({ positions: engine.positions() }));
  app.get('/trades', async (req) => {
    const q = parseQuery(tradesQuery, req.query);
    return { trades: engine.opts().store.listTrades(sessionId, { limit: q.limit, symbol: q.symbol, status: q.status }) };
  });
  app.get('/fills', async (req) => {
    const q = parseQuery(listQuery, req.query);
    return { fills: engine.opts().store.listFills(sessionId, { limit: q.limit, symbol: q.symbol }) };
  });
  app.get('/orders', async (req) => {
    const q = parseQuery(listQuery, req.query);
    return { orders: engine.opts().store.listOrders(sessionId, { limit: q.limit, symbol: q.symbol }) };
  });
  app.get('/orders/open', async () => ({ orders: engine.allOpenOrders() }));
  app.get('/risk/denials', async (req) => {
    const q = parseQuery(z.strictObject({ limit: int(1, 10_000, 100) }), req.query);
    return { counts: engine.opts().store.denialCounts(sessionId), denials: engine.opts().store.listDenials(sessionId, { limit: q.limit }) };
  });
  app.get('/metrics', async () => engine.metrics());
  app.get('/strategies', async () => ({
    variants: compareVariants(engine, ctx.shadows?.() ?? []),
    // symbol -> the shadow variant that trades it instead of the configured strategy
    promoted: engine.promoted(),
    changes: engine.opts().store.listStrategyChanges(sessionId),
  }));
  app.post('/strategies/promote', async (req) => {
    authorize(req, ctx.apiToken);
    const b = parseQuery(promoteBody, req.body);
    const names = (ctx.shadows?.() ?? []).map((s) => s.name);
    if (b.variant !== 'configured' && !names.includes(b.variant)) {
      throw new ApiError(404, 'unknown_variant', `no shadow variant ${b.variant} (running: ${names.join(', ') || 'none'}; "configured" returns to the configured strategy)`);
    }
    const all = engine.opts().config.SYMBOLS;
    const symbols = b.symbols ?? all;
    const unknown = symbols.filter((s) => !all.includes(s));
    if (unknown.length > 0) throw new ApiError(400, 'bad_request', `symbols not traded: ${unknown.join(', ')}`);
    const r = engine.control({ cmd: 'promote', variant: b.variant, symbols }, clock());
    return { ...r, promoted: engine.promoted() };
  });
  app.get('/book/:symbol', async (req) => {
    const p = parseQuery(bookParams, req.params);
    const q = parseQuery(bookQuery, req.query);
    const book = engine.book(q.venue, p.symbol.toUpperCase(), q.depth);
    if (!book) throw new ApiError(404, 'unknown_symbol', `no ${q.venue} book for ${p.symbol.toUpperCase()}`);
    return book;
  });
  return app;
}
