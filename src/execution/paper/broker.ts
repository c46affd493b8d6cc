import type { L2Book } from '../../book/book.js';
import type { EpochMs } from '../../core/types.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../../model/instrument.js';
import { transition, type Fill, type Order } from '../../model/order.js';
import type { ApprovedOrder } from '../../risk/gateway.js';
import type { Broker, Execution } from '../broker.js';

export interface PaperBrokerOptions {
  takerFee: number;
  /** prefix of order ids, unique per session */
  idPrefix: string;
}

/**
 * Paper broker, first cut: market orders (and IOC limit orders) take liquidity by walking the book
 * level by level — one fill per level, so a large order pays the slippage the displayed depth implies —
 * and pay the taker fee. Whatever the book cannot fill expires. The book itself is not changed.
 */
export class PaperBroker implements Broker {
  private seq = 0;

  constructor(private readonly opts: PaperBrokerOptions) {}

  /** Restores the id sequence (a session that continues). */
  setSequence(n: number): void {
    this.seq = n;
  }

  submit(intent: ApprovedOrder, inst: Instrument, book: L2Book, now: EpochMs): Execution {
    const id = `${this.opts.idPrefix}-${++this.seq}`;
    const limitUnits = intent.type === 'LIMIT' ? intent.priceUnits ?? NaN : NaN;
    const order: Order = {
      id,
      venue: intent.venue,
      symbol: intent.symbol,
      side: intent.side,
      type: intent.type,
      timeInForce: intent.type === 'MARKET' ? 'IOC' : intent.timeInForce ?? 'GTC',
      qty: qtyToNumber(inst, intent.qtyUnits),
      price: intent.type === 'LIMIT' ? priceToNumber(inst, limitUnits) : null,
      strategy: intent.strategy,
      reason: intent.reason,
      status: 'NEW',
      filledQty: 0,
      avgPrice: 0,
      createdAt: now,
      updatedAt: now,
    };
    if (intent.type === 'LIMIT' && order.timeInForce !== 'IOC') {
      transition(order, 'REJECTED', now);
      order.rejectReason = 'resting limit orders are not supported by this paper broker; use IOC';
      return { order, fills: [] };
    }
    transition(order, 'ACCEPTED', now);

    const side = intent.side === 'BUY' ? book.asks : book.bids;
    const fills: Fill[] = [];
    let remaining = intent.qtyUnits;
    let notional = 0;
    let filledUnits = 0;
    for (let level = 0; remaining > 0 && level < side.size; level++) {
      const pxUnits = side.price(level);
      if (limitUnits === limitUnits && (intent.side === 'BUY' ? pxUnits > limitUnits : pxUnits < limitUnits)) break;
      const take = Math.min(remaining, side.qty(level));
      if (take <= 0) continue;
      remaining -= take;
      filledUnits += take;
      const price = priceToNumber(inst, pxUnits);
      const qty = qtyToNumber(inst, take);
      notional += price * qty;
      fills.push({
        id: `${id}-${fills.length + 1}`,
        orderId: id,
        venue: intent.venue,
        symbol: intent.symbol,
        side: intent.side,
        price,
        qty,
        fee: price * qty * this.opts.takerFee,
        liquidity: 'taker',
        strategy: intent.strategy,
        time: now,
        realizedPnl: 0,
      });
    }
    order.filledQty = qtyToNumber(inst, filledUnits);
    order.avgPrice = filledUnits > 0 ? notional / order.filledQty : 0;
    if (remaining === 0) transition(order, 'FILLED', now);
    else {
      if (filledUnits > 0) transition(order, 'PARTIALLY_FILLED', now);
      transition(order, 'EXPIRED', now);
    }
    return { order, fills };
  }
}
