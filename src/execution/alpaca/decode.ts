import { z } from 'zod';
import { parseRfc3339 } from '../../marketdata/alpaca/events.js';

/**
 * Boundary decoders of the Alpaca Trading API (REST objects and trade_updates messages). Decimals
 * arrive as strings and stay strings here (exact); times become epoch ms. Unknown extra keys are
 * allowed (Alpaca adds fields over time); an unknown order status or event name is kept as its
 * string, not rejected (the lists below are the known ones).
 */

const dec = z.string().regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a decimal string');
const decOrNull = dec.nullable().optional().transform((v) => v ?? null);
const ts = z.string().transform((s, ctx) => {
  const t = parseRfc3339(s);
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: 'bad timestamp' });
    return z.NEVER;
  }
  return t;
});
const tsOrNull = ts.nullable().optional().transform((v) => v ?? null);

export const ORDER_STATUSES = [
  'new', 'partially_filled', 'filled', 'done_for_day', 'canceled', 'expired', 'replaced', 'pending_cancel', 'pending_replace',
  'accepted', 'pending_new', 'accepted_for_bidding', 'stopped', 'rejected', 'suspended', 'calculated', 'pending_review', 'held',
] as const;
export type AlpacaOrderStatus = (typeof ORDER_STATUSES)[number];

export const orderSchema = z.object({
  id: z.string().min(1),
  client_order_id: z.string(),
  symbol: z.string().min(1),
  asset_class: z.string().optional(),
  side: z.enum(['buy', 'sell']),
  type: z.string(),
  time_in_force: z.string(),
  status: z.string().min(1) as z.ZodType<AlpacaOrderStatus | (string & {})>,
  qty: decOrNull,
  notional: decOrNull,
  filled_qty: dec,
  filled_avg_price: decOrNull,
  limit_price: decOrNull,
  stop_price: decOrNull,
  extended_hours: z.boolean().optional().default(false),
  created_at: ts,
  updated_at: tsOrNull,
  submitted_at: tsOrNull,
  filled_at: tsOrNull,
  canceled_at: tsOrNull,
  expired_at: tsOrNull,
  failed_at: tsOrNull,
  replaced_by: z.string().nullable().optional().transform((v) => v ?? null),
  replaces: z.string().nullable().optional().transform((v) => v ?? null),
});
export type AlpacaOrder = z.output<typeof orderSchema>;

export const positionSchema = z.object({
  asset_id: z.string(),
  symbol: z.string(),
  asset_class: z.string().optional(),
  side: z.enum(['long', 'short']),
  qty: dec,
  qty_available: decOrNull,
  avg_entry_price: dec,
  market_value: decOrNull,
  cost_basis: decOrNull,
  unrealized_pl: decOrNull,
  current_price: decOrNull,
});
export type AlpacaPosition = z.output<typeof positionSchema>;

export const accountSchema = z.object({
  id: z.string(),
  account_number: z.string().optional(),
  status: z.string(),
  currency: z.string(),
  cash: dec,
  equity: dec,
  last_equity: decOrNull,
  buying_power: dec,
  long_market_value: decOrNull,
  short_market_value: decOrNull,
  multiplier: decOrNull,
  daytrade_count: z.number().int().optional(),
  pattern_day_trader: z.boolean().optional(),
  trading_blocked: z.boolean().optional().default(false),
  account_blocked: z.boolean().optional().default(false),
  shorting_enabled: z.boolean().optional(),
  crypto_status: z.string().optional(),
  regt_buying_power: decOrNull,
  daytrading_buying_power: decOrNull,
  non_marginable_buying_power: decOrNull,
  transfers_blocked: z.boolean().optional(),
  trade_suspended_by_user: z.boolean().optional(),
});
export type AlpacaAccount = z.output<typeof accountSchema>;

/** GET /v2/assets/{symbol}: `min_order_size`, `min_trade_increment`, `price_increment` come with crypto only. */
export const assetSchema = z.object({
  id: z.string(),
  class: z.string().min(1) as z.ZodType<'us_equity' | 'crypto' | 'us_option' | (string & {})>,
  exchange: z.string(),
  symbol: z.string().min(1),
  name: z.string().optional().default(''),
  status: z.string() as z.ZodType<'active' | 'inactive' | (string & {})>,
  tradable: z.boolean(),
  marginable: z.boolean().optional(),
  shortable: z.boolean().optional().default(false),
  easy_to_borrow: z.boolean().optional().default(false),
  fractionable: z.boolean().optional().default(false),
  min_order_size: decOrNull,
  min_trade_increment: decOrNull,
  price_increment: decOrNull,
});
export type AlpacaAsset = z.output<typeof assetSchema>;

export const clockSchema = z.object({ timestamp: ts, is_open: z.boolean(), next_open: ts, next_close: ts });
export type AlpacaClock = z.output<typeof clockSchema>;

export const calendarDaySchema = z.object({
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  open: z.string().regex(/^\d{2}:\d{2}$/),
  close: z.string().regex(/^\d{2}:\d{2}$/),
});
export type AlpacaCalendarDay = z.output<typeof calendarDaySchema>;

export const TRADE_EVENTS = [
  'new', 'fill', 'partial_fill', 'canceled', 'expired', 'done_for_day', 'replaced', 'rejected', 'pending_new', 'stopped',
  'pending_cancel', 'pending_replace', 'calculated', 'suspended', 'order_replace_rejected', 'order_cancel_rejected', 'accepted',
  'restated', 'held',
] as const;
export type TradeEventType = (typeof TRADE_EVENTS)[number];

const tradeUpdateData = z.object({
  event: z.string().min(1) as z.ZodType<TradeEventType | (string & {})>,
  order: orderSchema,
  timestamp: tsOrNull,
  price: decOrNull,
  qty: decOrNull,
  position_qty: decOrNull,
  execution_id: z.string().nullable().optional().transform((v) => v ?? null),
  event_id: z.union([z.string(), z.number()]).nullable().optional().transform((v) => (v == null ? null : String(v))),
});

/** One order event from trade_updates: `qty`/`price` of this execution (fills), cumulative values in `order`. */
export interface TradeUpdate {
  readonly kind: 'tradeUpdate';
  event: TradeEventType | (string & {});
  order: AlpacaOrder;
  /** event time (epoch ms), null when absent */
  timestamp: number | null;
  price: string | null;
  qty: string | null;
  /** signed position size after the event (negative = short) */
  positionQty: string | null;
  executionId: string | null;
  eventId: string | null;
  recvTime: number;
}

export type StreamMessage =
  | { type: 'authorization'; status: string; action: string }
  | { type: 'listening'; streams: string[] }
  | { type: 'trade_update'; update: TradeUpdate }
  | { type: 'malformed'; reason: string }
  | { type: 'other'; stream: string };

const envelope = z.object({ stream: z.string(), data: z.unknown() });
const authorization = z.object({ status: z.string(), action: z.string() });
const listening = z.object({ streams: z.array(z.string()) });

/** Decodes one trade_updates frame (JSON text, or binary decoded as UTF-8 by the socket). Never throws. */
export function decodeTradeStreamFrame(text: string, recvTime: number): StreamMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { type: 'malformed', reason: 'json' };
  }
  const env = envelope.safeParse(raw);
  if (!env.success) return { type: 'malformed', reason: 'envelope' };
  switch (env.data.stream) {
    case 'authorization': {
      const a = authorization.safeParse(env.data.data);
      return a.success ? { type: 'authorization', ...a.data } : { type: 'malformed', reason: 'authorization' };
    }
    case 'listening': {
      const l = listening.safeParse(env.data.data);
      return l.success ? { type: 'listening', streams: l.data.streams } : { type: 'malformed', reason: 'listening' };
    }
    case 'trade_updates': {
      const d = tradeUpdateData.safeParse(env.data.data);
      if (!d.success) return { type: 'malformed', reason: 'trade_update' };
      const x = d.data;
      return {
        type: 'trade_update',
        update: {
          kind: 'tradeUpdate',
          event: x.event,
          order: x.order,
          timestamp: x.timestamp,
          price: x.price,
          qty: x.qty,
          positionQty: x.position_qty,
          executionId: x.execution_id,
          eventId: x.event_id,
          recvTime,
        },
      };
    }
    default:
      return { type: 'other', stream: env.data.stream };
  }
}

/**
 * The key under which an update is the same update seen twice: the execution id for executions,
 * else order id + event + timestamp.
 */
export function tradeUpdateKey(u: TradeUpdate): string {
  if (u.executionId) return `x:${u.executionId}`;
  return `e:${u.order.id}:${u.event}:${u.timestamp ?? u.order.updated_at ?? ''}:${u.order.filled_qty}`;
}
