import { z } from 'zod';
import { DECISION_STAGES, type DecisionStage } from '../engine/tick-to-decision.js';

/**
 * The API's inputs and outputs as zod schemas: one source of truth. Inputs (query, path parameters,
 * bodies) are checked with these at the boundary (`parse` in server.ts answers 400 naming the field);
 * the OpenAPI document (`GET /openapi.json`) is generated from the same schemas with `z.toJSONSchema`.
 * Output schemas are documentation: the walk of the document in the tests checks the answers against them.
 */

// ---------------------------------------------------------------- inputs

/** A whole number in a query string (a string on the wire, documented as an integer). */
export const int = (min: number, max: number, dflt: number, description?: string) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `expected ${min}..${max}` })
    .optional()
    .transform((v) => v ?? dflt)
    .meta({ type: 'integer', minimum: min, maximum: max, default: dflt, ...(description ? { description } : {}) });

/** Binance (BTCUSDT), Alpaca stocks (TSLA, BRK.B) and crypto pairs (DOGE/USD; in a path written DOGE%2FUSD) */
const SYMBOL_RE = /^(?:[A-Za-z0-9]{1,20}|[A-Za-z][A-Za-z0-9.]{0,9}|[A-Za-z0-9]{2,10}\/[A-Za-z0-9]{2,10})$/;
export const symbolQ = z
  .string()
  .regex(SYMBOL_RE, 'expected a symbol like BTCUSDT')
  .transform((s) => s.toUpperCase())
  .optional()
  .meta({ description: 'only this symbol (case-insensitive), e.g. BTCUSDT' });
export const venueQ = z
  .enum(['spot', 'usdm', 'alpaca'])
  .optional()
  .transform((v) => v ?? 'spot')
  .meta({ description: 'the venue of the book', default: 'spot' });

const limitQ = (dflt = 100, max = 10_000) => int(1, max, dflt, `at most this many rows (newest)`);

/** Endpoints without inputs: an unknown query key is still an error. */
export const noQuery = z.strictObject({});
export const listQuery = z.strictObject({ limit: limitQ(), symbol: symbolQ });
export const tradesQuery = z.strictObject({
  limit: limitQ(),
  symbol: symbolQ,
  status: z.enum(['OPEN', 'CLOSED']).optional().meta({ description: 'OPEN: positions not yet closed; CLOSED: finished round trips' }),
});
export const denialsQuery = z.strictObject({ limit: limitQ() });
export const bookQuery = z.strictObject({ depth: int(1, 5000, 20, 'price levels per side'), venue: venueQ });
export const bookParams = z.strictObject({
  symbol: z.string().regex(SYMBOL_RE, 'expected a symbol like BTCUSDT, TSLA or DOGE/USD').meta({ description: 'e.g. BTCUSDT, TSLA, or DOGE%2FUSD for DOGE/USD (case-insensitive)' }),
});
export const equityQuery = z.strictObject({
  limit: int(1, 100_000, 1000, 'at most this many points (the latest), returned oldest first'),
  since: z
    .string()
    .regex(/^\d{1,15}$/, 'expected epoch milliseconds')
    .transform(Number)
    .optional()
    .meta({ type: 'integer', minimum: 0, description: 'only points at or after this time (epoch ms)' }),
});
export const streamQuery = z.strictObject({
  symbols: z
    .string()
    .max(1000)
    .transform((s) => s.split(',').map((x) => x.trim().toUpperCase()))
    .pipe(z.array(z.string().regex(SYMBOL_RE, 'expected comma-separated symbols like BTCUSDT,ETHUSDT')).min(1).max(50))
    .optional()
    .meta({ type: 'string', description: 'comma-separated symbols: only their books in the snapshots (default all), e.g. BTCUSDT,ETHUSDT' }),
});

const reasonQ = z.string().trim().min(1).max(200).optional().meta({ description: 'shown in /status and stored' });
export const killBody = z
  .strictObject({ flatten: z.boolean().optional().meta({ description: 'also close every position with market orders' }), reason: reasonQ })
  .optional();
export const pauseBody = z.strictObject({ reason: reasonQ }).optional();
export const emptyBody = z.strictObject({}).optional();
export const promoteBody = z.strictObject({
  variant: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a variant name')
    .meta({ description: 'a shadow variant (SHADOW), or "configured" to return to the configured strategy' }),
  symbols: z
    .array(z.string().regex(SYMBOL_RE).transform((s) => s.toUpperCase()))
    .min(1)
    .optional()
    .meta({ description: 'the symbols it trades (default all traded symbols)' }),
});

// ---------------------------------------------------------------- outputs (documentation)

const num = z.number();
const nnum = z.number().nullable();
const time = z.number().meta({ description: 'epoch ms' });
const venue = z.enum(['spot', 'usdm', 'alpaca']);
const side = z.enum(['BUY', 'SELL']);

export const errorSchema = z
  .object({ error: z.object({ code: z.string().meta({ description: 'machine-readable, e.g. bad_request, not_found, unauthorized' }), message: z.string() }) })
  .meta({ description: 'every error: a code and a human-readable message' });

export const healthSchema = z.looseObject({ status: z.literal('ok'), uptimeSec: num });

export const accountSchema = z.looseObject({
  sessionId: z.string(),
  time,
  quoteCurrency: z.string(),
  initialBalance: num,
  cash: num,
  equity: num,
  realizedPnl: num,
  unrealizedPnl: num,
  fees: num,
  totalPnl: num,
  grossExposure: num,
  highWaterMark: num,
  drawdown: num.meta({ description: 'equity / highWaterMark - 1 (non-positive)' }),
  maxDrawdown: num,
  drawdownSince: nnum,
  longestDrawdownMs: num,
  fills: num,
  buyNotional: num,
  sellNotional: num,
});

export const positionSchema = z.looseObject({
  venue,
  symbol: z.string(),
  qty: num.meta({ description: 'signed: negative is short' }),
  side: z.enum(['LONG', 'SHORT', 'FLAT']),
  avgEntryPrice: nnum,
  markPrice: nnum,
  notional: nnum,
  unrealizedPnl: num,
  realizedPnl: num,
  fees: num,
});
export const positionsSchema = z.looseObject({ positions: z.array(positionSchema) });

export const orderSchema = z.looseObject({
  id: z.string(),
  venue,
  symbol: z.string(),
  side,
  type: z.string(),
  timeInForce: z.string(),
  postOnly: z.boolean(),
  qty: num,
  price: nnum,
  strategy: z.string(),
  reason: z.string(),
  status: z.enum(['NEW', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']),
  filledQty: num,
  avgPrice: num,
  createdAt: time,
  updatedAt: time,
  rejectReason: z.string().optional(),
  cancelRequestedAt: time.optional(),
});
export const ordersSchema = z.looseObject({ orders: z.array(orderSchema) });

export const fillSchema = z.looseObject({
  id: z.string(),
  orderId: z.string(),
  venue,
  symbol: z.string(),
  side,
  price: num,
  qty: num,
  fee: num,
  liquidity: z.enum(['maker', 'taker']),
  strategy: z.string(),
  time,
  receivedAt: time,
  realizedPnl: num,
});
export const fillsSchema = z.looseObject({ fills: z.array(fillSchema) });

export const tripSchema = z.looseObject({
  id: z.string(),
  venue,
  symbol: z.string(),
  strategy: z.string(),
  direction: z.string(),
  status: z.enum(['OPEN', 'CLOSED']),
  qty: num,
  entryPrice: num,
  exitPrice: nnum,
  openedAt: time,
  closedAt: time.nullable(),
  realizedPnl: num,
  fees: num,
  netPnl: num,
  fills: num,
});
export const tradesSchema = z.looseObject({ trades: z.array(tripSchema) });

export const denialsSchema = z.looseObject({
  counts: z.record(z.string(), num).meta({ description: 'denials per check' }),
  denials: z.array(
    z.looseObject({ id: num, time, venue, symbol: z.string(), strategy: z.string(), check: z.string(), reason: z.string(), intent: z.unknown() }),
  ),
});

export const equityPointSchema = z.looseObject({
  time,
  cash: num,
  equity: num,
  realizedPnl: num,
  unrealizedPnl: num,
  fees: num,
  grossExposure: num,
  highWaterMark: nnum.meta({ description: 'null in rows written before high-water marks were stored' }),
  drawdown: nnum,
});
export const equitySchema = z.looseObject({ points: z.array(equityPointSchema).meta({ description: 'oldest first' }) });

export const bookSchema = z.looseObject({
  symbol: z.string(),
  venue,
  state: z.enum(['syncing', 'synced', 'resyncing']),
  lastUpdateId: num,
  lastUpdateTime: time.nullable(),
  bids: z.array(z.tuple([num, num])).meta({ description: '[price, qty], best first' }),
  asks: z.array(z.tuple([num, num])),
});

const riskStatus = z.looseObject({
  halted: z.boolean(),
  haltReason: z.string().nullable(),
  paused: z.boolean(),
  pauseReason: z.string().nullable(),
  drawdownBreaker: z.looseObject({ tripped: z.boolean() }),
  highWaterMark: num,
  drawdown: num,
  denials: z.record(z.string(), num),
});

export const statusSchema = z.looseObject({
  engine: z.looseObject({ state: z.enum(['running', 'halted']), sessionId: z.string(), version: z.string(), uptimeSec: num }),
  strategy: z.looseObject({ id: z.string() }),
  session: z.record(z.string(), z.unknown()).nullable(),
  ml: z.looseObject({ model: z.string(), inference: z.record(z.string(), z.unknown()) }).nullable(),
  execution: z.looseObject({ openOrders: num, inFlight: num }),
  books: z.record(z.string(), z.looseObject({ state: z.string() })),
  feeds: z.record(z.string(), z.looseObject({ state: z.enum(['up', 'degraded', 'down']) })),
  feedsDown: z.array(z.string()),
  futures: z.record(z.string(), z.unknown()),
  counters: z.record(z.string(), num),
  risk: riskStatus,
});

const d = (schema: z.ZodType, description: string) => schema.meta({ description });

/** empyrical's statistics of the period returns (docs/statistics.md); null where undefined (NaN, ±Infinity) */
export const returnStatsSchema = z
  .looseObject({
    periods: d(num, 'number of return periods, empty ones included'),
    cumulativeReturn: d(nnum, 'Π(1 + r) − 1'),
    annualReturn: d(nnum, 'compound annual growth rate'),
    annualVolatility: d(nnum, 'annualized standard deviation of the returns (ddof 1); the dashboard\'s "Volatility (ann.)"'),
    sharpe: d(nnum, 'annualized Sharpe ratio (risk-free 0)'),
    sortino: d(nnum, 'annualized Sortino ratio (required return 0)'),
    calmar: d(nnum, 'annualReturn / |maxDrawdown|'),
    downsideRisk: d(nnum, 'annualized downside deviation below 0'),
    maxDrawdown: d(nnum, 'worst drawdown of the period ends (non-positive)'),
    omega: d(nnum, 'omega ratio at 0'),
    tailRatio: d(nnum, '|95th percentile| / |5th percentile| of the returns'),
    stability: d(nnum, 'R² of a line through the cumulative log returns'),
    valueAtRisk: d(nnum, '5 % value at risk (a return)'),
    conditionalValueAtRisk: d(nnum, 'mean of the worst 5 % of returns'),
  })
  .meta({ description: 'statistics of the 1-minute returns of the resampled equity curve' });

/** `performance()` of src/portfolio/performance.ts as JSON (docs/statistics.md defines every field) */
export const performanceSchema = z.looseObject({
  periodMs: d(num, 'length of one return period (60000: one minute)'),
  periodsPerYear: d(num, '365 days / periodMs'),
  start: d(time, 'epoch ms: the session start'),
  end: d(time, 'epoch ms: now (engine time)'),
  returns: returnStatsSchema,
  totalReturn: d(num, 'finalEquity / initialCash - 1'),
  netPnl: d(num, 'finalEquity - initialCash'),
  finalEquity: d(num, 'equity of the last point at or before end'),
  highWaterMark: d(num, 'highest equity, the initial cash included'),
  maxDrawdown: d(num, 'worst equity / running peak - 1 over every recorded point (non-positive); the dashboard\'s "Max drawdown"'),
  maxDrawdownDurationMs: d(num, 'longest time from a peak until equity is back at or above it (or until end)'),
  currentDrawdown: d(num, 'finalEquity / highWaterMark - 1'),
  trades: d(num, 'closed round trips'),
  wins: d(num, 'closed round trips with net P&L > 0'),
  losses: d(num, 'closed round trips with net P&L < 0'),
  winRate: d(nnum, 'wins / trades (null without trades)'),
  profitFactor: d(nnum, 'gross wins / gross losses'),
  averageWin: nnum,
  averageLoss: nnum,
  largestWin: nnum,
  largestLoss: nnum,
  averageHoldMs: d(nnum, 'mean time from open to close of the closed round trips'),
  expectancy: d(nnum, 'mean net P&L per closed round trip'),
  exposure: d(nnum, 'fraction of [start, end] with an open position'),
  turnover: d(nnum, 'tradedNotional / averageEquity'),
  averageEquity: d(num, 'mean of the resampled equity'),
  fees: d(num, 'fees of the fills'),
  tradedNotional: d(num, 'Σ |price × qty| of the fills'),
});

export const metricsSchema = z.looseObject({
  totalTrades: num,
  wins: num,
  losses: num,
  winRate: nnum,
  totalPnl: num,
  realizedPnl: num,
  fees: num,
  sharpe: d(nnum, 'the same value as overall.returns.sharpe'),
  maxDrawdown: d(num, 'the same value as overall.maxDrawdown'),
  highWaterMark: num,
  orders: num,
  fills: num,
  denials: num,
  overall: performanceSchema.meta({ description: 'the session, from its stored equity curve (what the dashboard\'s headline shows)' }),
  bySymbol: z
    .record(z.string(), performanceSchema)
    .meta({ description: 'per symbol (e.g. BTCUSDT), each from the equity curve of its closed round trips (initial cash + their cumulative net P&L)' }),
  byStrategy: z
    .record(z.string(), performanceSchema)
    .meta({ description: 'per strategy version (e.g. obi@1.2.0), built as bySymbol' }),
});

export const strategiesSchema = z.looseObject({
  variants: z.array(z.looseObject({ name: z.string(), role: z.enum(['trading', 'shadow']), sessionId: z.string(), strategy: z.string(), pnl: num })),
  promoted: z.record(z.string(), z.string()).meta({ description: 'symbol -> the shadow variant trading it' }),
  changes: z.array(z.unknown()),
});

export const controlResultSchema = z.looseObject({
  ok: z.literal(true),
  at: time,
  state: z.looseObject({ halted: z.boolean(), paused: z.boolean(), breakerTripped: z.boolean() }),
  canceled: num.optional(),
  flattening: num.optional(),
});
export const promoteResultSchema = controlResultSchema.extend({ promoted: z.record(z.string(), z.string()) });

export const latencyDistributionSchema = z.looseObject({
  count: num,
  negative: num.meta({ description: 'samples whose receive time came before the exchange time (clock skew), not in the distribution' }),
  sumMs: num,
  maxMs: nnum,
  percentiles: z.array(num).meta({ description: 'percentiles[i] = the i-th percentile in ms, i = 0..100 (empty without samples)' }),
  buckets: z.object({
    le: z.array(num).meta({ description: 'upper bounds in ms, log-spaced (1-2-5 per decade)' }),
    counts: z.array(num).meta({ description: 'samples per bucket (not cumulative); one more entry than le: the last counts samples above the last bound' }),
  }),
});
export const tickToDecisionSchema = z
  .object({ count: num, p50Us: nnum, p90Us: nnum, p99Us: nnum, p999Us: nnum, maxUs: nnum })
  .meta({
    description:
      'live only: from the receive time of a WebSocket frame to the risk gateway approving the order intent it led to (µs, HdrHistogram, 3 significant digits); count 0 and nulls in backtests and replays',
  });

const stageSummarySchema = z.object({ p50Us: nnum, p90Us: nnum, p99Us: nnum, maxUs: nnum });
const stageRecord = <T extends z.ZodType>(t: T) => z.object(Object.fromEntries(DECISION_STAGES.map((s) => [s, t])) as Record<DecisionStage, T>);
const tailSchema = z.object({ count: num, totalUs: nnum, stages: stageRecord(nnum) });
export const decisionStagesSchema = z
  .object({
    count: num.meta({ description: 'decisions recorded stage by stage (those made on a market-data frame)' }),
    stages: stageRecord(stageSummarySchema).meta({
      description:
        'per stage of the frame path, µs: receive (frame event to the engine: text, event-log line), due (timed actions due: fills of earlier orders), decode (decoding and applying the frame to its book), market (marks, stops, resting paper orders), strategy (the strategy and its ML gate), submit (open orders, portfolio snapshot), risk (the gateway). The percentiles of the stages do not add up to the total\'s: each is taken over its own values',
    }),
    tail: z
      .object({ p90: tailSchema, p99: tailSchema })
      .meta({ description: 'over the last 4,096 decisions recorded stage by stage: the mean stage times (µs) of the slowest 10% (p90) and 1% (p99), i.e. what the tail is made of' }),
    slowest: z
      .array(z.object({ at: num.meta({ description: 'receive time of the frame, epoch ms' }), totalUs: num, stages: stageRecord(num) }))
      .meta({ description: 'the slowest decisions so far (up to 16), slowest first, each stage by stage (µs; the stages add up to totalUs, to rounding)' }),
  })
  .meta({ description: 'live only: where the tick-to-decision time goes, stage by stage; count 0 in backtests and replays' });

export const latencySchema = z.looseObject({
  time,
  venues: z.record(z.string(), latencyDistributionSchema).meta({ description: 'feed latency (receive time minus exchange event time) per venue' }),
  ml: z
    .looseObject({ model: z.string(), inference: z.record(z.string(), z.unknown()) })
    .nullable()
    .meta({ description: 'the ML gate: model id and its inference time per decision (µs: count, mean, p50, p90, p99, max); null when no model is configured' }),
  tickToDecision: tickToDecisionSchema,
  decisionStages: decisionStagesSchema,
});

export const bookTopSchema = z.object({
  venue,
  symbol: z.string(),
  state: z.enum(['syncing', 'synced', 'resyncing']),
  bid: nnum,
  bidQty: nnum,
  ask: nnum,
  askQty: nnum,
  mid: nnum,
  spread: nnum,
  time: time.nullable().meta({ description: 'local receive time of the last change, epoch ms' }),
});

export const snapshotSchema = z.looseObject({
  time,
  account: accountSchema,
  positions: z.array(positionSchema),
  openOrders: z.array(orderSchema),
  risk: riskStatus,
  books: z.record(z.string(), bookTopSchema).meta({ description: '"<venue>:<SYMBOL>" -> top of book' }),
  feeds: z.array(z.looseObject({ venue: z.string(), state: z.enum(['up', 'degraded', 'down']), messages: num })),
  counters: z.record(z.string(), num),
});

// ---------------------------------------------------------------- JSON Schema

/** Keys the generated JSON Schema does not need in an OpenAPI document. */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$schema') continue;
    out[k] = clean(v);
  }
  // a query value documented as an integer is a digit string on the wire: the pattern says nothing more
  if (out['type'] === 'integer' || out['type'] === 'number') delete out['pattern'];
  return out;
}

/**
 * The JSON Schema (draft 2020-12, as OpenAPI 3.1 uses) of a zod schema: `input` for what a client
 * sends (before transforms), `output` for what the API answers.
 */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const js = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: (ctx) => {
      // `default` in .meta() is not carried into input schemas by zod: put it back
      const meta = z.globalRegistry.get(ctx.zodSchema) as Record<string, unknown> | undefined;
      if (meta && 'default' in meta && !('default' in ctx.jsonSchema)) ctx.jsonSchema.default = meta['default'];
    },
  });
  return clean(js) as Record<string, unknown>;
}
