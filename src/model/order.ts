import type { EpochMs, Side, Venue } from '../core/types.js';

export type OrderType = 'MARKET' | 'LIMIT';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type OrderStatus = 'NEW' | 'ACCEPTED' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'REJECTED' | 'EXPIRED';

/** What a strategy asks for. Quantities and prices are in the instrument's integer units. */
export interface OrderIntent {
  readonly venue: Venue;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly qtyUnits: number;
  /** LIMIT only */
  readonly priceUnits?: number;
  readonly timeInForce?: TimeInForce;
  /** LIMIT only: rejected by the exchange if it would take liquidity (Binance LIMIT_MAKER) */
  readonly postOnly?: boolean;
  /** true when the order can only shrink the position */
  readonly reduceOnly?: boolean;
  /** who asks: a strategy (default), a protective stop, or the kill switch flattening positions */
  readonly purpose?: 'strategy' | 'stop' | 'flatten';
  /** strategy name@version */
  readonly strategy: string;
  readonly reason: string;
  readonly createdAt: EpochMs;
}

export interface Order {
  readonly id: string;
  readonly venue: Venue;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  readonly postOnly: boolean;
  /** decimal numbers at the edge: base units and quote price */
  readonly qty: number;
  readonly price: number | null;
  readonly strategy: string;
  readonly reason: string;
  status: OrderStatus;
  filledQty: number;
  avgPrice: number;
  readonly createdAt: EpochMs;
  updatedAt: EpochMs;
  rejectReason?: string;
  /** set when the client asked to cancel (the cancel may still lose the race with a fill) */
  cancelRequestedAt?: EpochMs;
}

export interface Fill {
  readonly id: string;
  readonly orderId: string;
  readonly venue: Venue;
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly qty: number;
  /** quote currency */
  readonly fee: number;
  readonly liquidity: 'maker' | 'taker';
  readonly strategy: string;
  /** when the match happened at the exchange */
  readonly time: EpochMs;
  /** when the fill report reached us (time + response latency) */
  readonly receivedAt: EpochMs;
  /** realized P&L of this fill (closing part), gross of its fee */
  realizedPnl: number;
}

/** The order lifecycle: one transition table. */
const TRANSITIONS: Record<OrderStatus, readonly OrderStatus[]> = {
  NEW: ['ACCEPTED', 'REJECTED'],
  ACCEPTED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'EXPIRED'],
  FILLED: [],
  CANCELED: [],
  REJECTED: [],
  EXPIRED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Moves an order to a new status; an illegal transition is a broken invariant. */
export function transition(order: Order, to: OrderStatus, at: EpochMs): void {
  if (!canTransition(order.status, to)) throw new Error(`order ${order.id}: illegal transition ${order.status} -> ${to}`);
  order.status = to;
  order.updatedAt = at;
}

export function isTerminal(status: OrderStatus): boolean {
  return TRANSITIONS[status].length === 0;
}
