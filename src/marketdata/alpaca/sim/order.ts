/**
 * The simulator's order record and its Alpaca JSON (order object, trade_updates payload, error body).
 */
import { createHash } from 'node:crypto';
import type { AssetClass } from './bars.js';
import { divPrice, fmtDec } from './fixed.js';

export type Side = 'buy' | 'sell';
export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type Tif = 'day' | 'gtc' | 'ioc' | 'fok';
export type OrderStatus = 'pending_new' | 'new' | 'partially_filled' | 'filled' | 'canceled' | 'expired' | 'replaced' | 'rejected';
export type TradeEvent = 'pending_new' | 'new' | 'partial_fill' | 'fill' | 'canceled' | 'expired' | 'replaced' | 'rejected';

export interface SimOrder {
  id: string;
  clientOrderId: string;
  symbol: string;
  assetClass: AssetClass;
  side: Side;
  type: OrderType;
  tif: Tif;
  qty: bigint | null;
  notional: bigint | null;
  limit: bigint | null;
  stop: bigint | null;
  /** qty to fill (qty, or notional / price at acceptance) */
  total: bigint;
  filledQty: bigint;
  filledMoney: bigint;
  status: OrderStatus;
  createdAt: number;
  updatedAt: number;
  filledAt: number | null;
  canceledAt: number | null;
  expiredAt: number | null;
  failedAt: number | null;
  replacedAt: number | null;
  replacedBy: string | null;
  replaces: string | null;
  extendedHours: boolean;
  triggered: boolean;
  partsLeft: number;
  part: bigint;
  seq: number;
}

export interface TradeUpdate {
  event: TradeEvent;
  order: Record<string, unknown>;
  timestamp: string;
  price?: string;
  qty?: string;
  position_qty?: string;
  execution_id?: string;
}

export interface ApiError {
  status: number;
  body: { code: number; message: string } & Record<string, unknown>;
}

export type Outcome<T> = { ok: true; value: T; events: TradeUpdate[] } | { ok: false; error: ApiError };

export const OPEN: ReadonlySet<OrderStatus> = new Set(['pending_new', 'new', 'partially_filled']);
export const TYPES: ReadonlySet<string> = new Set(['market', 'limit', 'stop', 'stop_limit']);
export const TIFS: ReadonlySet<string> = new Set(['day', 'gtc', 'ioc', 'fok']);

export function assetId(symbol: string): string {
  const h = createHash('md5').update(`asset:${symbol}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Position symbol: crypto pairs without the slash (`DOGEUSD`), as Alpaca reports them. */
export function positionSymbol(symbol: string): string {
  return symbol.replace('/', '');
}

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
export const dec = (v: bigint | null): string | null => (v === null ? null : fmtDec(v));
export const fail = (status: number, code: number, message: string, extra: Record<string, unknown> = {}): { ok: false; error: ApiError } => ({
  ok: false,
  error: { status, body: { code, message, ...extra } },
});

export function orderJson(o: SimOrder): Record<string, unknown> {
  return {
    id: o.id,
    client_order_id: o.clientOrderId,
    created_at: iso(o.createdAt),
    updated_at: iso(o.updatedAt),
    submitted_at: iso(o.createdAt),
    filled_at: iso(o.filledAt),
    expired_at: iso(o.expiredAt),
    canceled_at: iso(o.canceledAt),
    failed_at: iso(o.failedAt),
    replaced_at: iso(o.replacedAt),
    replaced_by: o.replacedBy,
    replaces: o.replaces,
    asset_id: assetId(o.symbol),
    symbol: o.symbol,
    asset_class: o.assetClass,
    notional: dec(o.notional),
    qty: dec(o.qty),
    filled_qty: fmtDec(o.filledQty),
    filled_avg_price: o.filledQty === 0n ? null : fmtDec(divPrice(o.filledMoney, o.filledQty)),
    order_class: '',
    order_type: o.type,
    type: o.type,
    side: o.side,
    time_in_force: o.tif,
    limit_price: dec(o.limit),
    stop_price: dec(o.stop),
    status: o.status,
    extended_hours: o.extendedHours,
    legs: null,
    trail_percent: null,
    trail_price: null,
    hwm: null,
  };
}
