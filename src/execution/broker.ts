import type { L2Book } from '../book/book.js';
import type { EpochMs } from '../core/types.js';
import type { Instrument } from '../model/instrument.js';
import type { Fill, Order } from '../model/order.js';
import type { ApprovedOrder } from '../risk/gateway.js';

/** The result of sending one approved order. */
export interface Execution {
  order: Order;
  fills: Fill[];
}

/** A place that executes approved orders: the paper broker here, Alpaca's paper account later. */
export interface Broker {
  submit(order: ApprovedOrder, inst: Instrument, book: L2Book, now: EpochMs): Execution;
}
