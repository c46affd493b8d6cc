import { describe, expect, it } from 'vitest';
import { syncedBook } from '../../../test/support/books.js';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import type { OrderIntent } from '../../model/order.js';
import type { ApprovedOrder } from '../../risk/gateway.js';
import { PaperBroker } from './broker.js';

const inst = referenceInstrument('spot', 'BTCUSDT');
const book = syncedBook(inst, [[59999, 0.5], [59998, 1]], [[60001, 0.2], [60002, 0.3], [60010, 5]]).book;
// The tests build approved orders directly: the gateway is tested on its own.
const approve = (i: Partial<OrderIntent>): ApprovedOrder =>
  ({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 0, strategy: 's@1', reason: 't', createdAt: 0, ...i }) as ApprovedOrder;

describe('paper broker', () => {
  it('walks the book level by level for a market buy and charges the taker fee', () => {
    const b = new PaperBroker({ takerFee: 0.001, idPrefix: 'x' });
    const { order, fills } = b.submit(approve({ qtyUnits: 40_000_000 /* 0.4 BTC */ }), inst, book, 5);
    expect(fills.map((f) => [f.price, f.qty])).toEqual([[60001, 0.2], [60002, 0.2]]);
    expect(order.status).toBe('FILLED');
    expect(order.filledQty).toBeCloseTo(0.4, 12);
    expect(order.avgPrice).toBeCloseTo((60001 * 0.2 + 60002 * 0.2) / 0.4, 8);
    expect(fills[0]!.fee).toBeCloseTo(60001 * 0.2 * 0.001, 10);
    expect(fills.every((f) => f.liquidity === 'taker' && f.orderId === order.id)).toBe(true);
    expect(new Set(fills.map((f) => f.id)).size).toBe(2);
  });

  it('sells into the bids', () => {
    const b = new PaperBroker({ takerFee: 0.001, idPrefix: 'x' });
    const { fills } = b.submit(approve({ side: 'SELL', qtyUnits: 60_000_000 }), inst, book, 5);
    expect(fills.map((f) => [f.price, f.qty])).toEqual([[59999, 0.5], [59998, 0.1]]);
  });

  it('expires what the book cannot fill, and an IOC limit stops at its price', () => {
    const b = new PaperBroker({ takerFee: 0, idPrefix: 'x' });
    const all = b.submit(approve({ qtyUnits: 1_000_000_000 /* 10 BTC */ }), inst, book, 5);
    expect(all.order.status).toBe('EXPIRED');
    expect(all.order.filledQty).toBeCloseTo(5.5, 10);
    const ioc = b.submit(approve({ type: 'LIMIT', timeInForce: 'IOC', priceUnits: 6_000_200, qtyUnits: 100_000_000 }), inst, book, 5);
    expect(ioc.fills.map((f) => f.price)).toEqual([60001, 60002]);
    expect(ioc.order.status).toBe('EXPIRED');
    expect(ioc.order.id).not.toBe(all.order.id);
  });

  it('rejects resting limit orders it cannot model yet', () => {
    const b = new PaperBroker({ takerFee: 0, idPrefix: 'x' });
    const r = b.submit(approve({ type: 'LIMIT', timeInForce: 'GTC', priceUnits: 5_000_000, qtyUnits: 100_000 }), inst, book, 5);
    expect(r.order.status).toBe('REJECTED');
    expect(r.fills).toEqual([]);
  });
});
