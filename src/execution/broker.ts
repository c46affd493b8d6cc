import type { EpochMs } from '../core/types.js';
import type { Instrument } from '../model/instrument.js';
import type { Order } from '../model/order.js';
import type { ExchangeOrderSpec } from './paper/exchange.js';

/**
 * Where the engine sends an approved order. Two implementations:
 * - the paper broker (engine.ts): the order reaches the in-process paper exchange after the simulated
 *   entry latency; its reports come back on the engine's own clock (deterministic);
 * - the Alpaca broker (src/execution/alpaca/broker.ts): the order goes to Alpaca's paper trading API; its
 *   reports (from the trade_updates stream, REST answers and reconciliation) come back as engine inputs
 *   through `Engine.brokerReport`, written to the event log like market data.
 * Both see the order after the risk gateway approved it and the engine stored it (status NEW).
 */
export interface Broker {
  readonly name: 'paper' | 'alpaca';
  /** sends an approved order (status NEW); every later change of it comes back as a report */
  place(order: Readonly<Order>, spec: ExchangeOrderSpec, inst: Instrument): void;
  /** asks for a working order to be canceled; the answer (canceled, or cancel_rejected) comes back as a report */
  cancel(order: Readonly<Order>): void;
}

/**
 * What an external broker tells the engine about one of its orders. Quantities and prices are decimal
 * strings as the venue sent them (exact); executions carry the order's cumulative filled quantity and
 * average price, so a report that arrives late or twice changes nothing (the engine books only what its
 * cumulative total has not seen yet).
 */
export type BrokerReport =
  | { readonly kind: 'accepted'; readonly orderId: string; readonly time: EpochMs; readonly venueOrderId?: string }
  | { readonly kind: 'rejected'; readonly orderId: string; readonly time: EpochMs; readonly reason: string }
  | { readonly kind: 'canceled'; readonly orderId: string; readonly time: EpochMs; readonly reason?: string }
  | { readonly kind: 'expired'; readonly orderId: string; readonly time: EpochMs; readonly reason: string }
  | { readonly kind: 'cancel_rejected'; readonly orderId: string; readonly time: EpochMs; readonly reason: string }
  | {
      readonly kind: 'execution';
      readonly orderId: string;
      readonly time: EpochMs;
      /** the order's cumulative filled quantity after this execution */
      readonly cumQty: string;
      /** the order's average fill price after this execution */
      readonly avgPrice: string;
      /** this execution's own quantity and price, when the venue gave them */
      readonly qty?: string | null;
      readonly price?: string | null;
      /** the venue says the order is complete (filled) */
      readonly final: boolean;
    };

/**
 * A correction found by reconciling with the venue that no order report expresses: the venue's position
 * differs and no missing fill explains it (order-level differences come back as BrokerReports).
 */
export type EngineCorrection = { readonly kind: 'adoptPosition'; readonly symbol: string; readonly qty: string };
