import { describe, expect, it } from 'vitest';
import { canTransition, isTerminal, transition, type Order, type OrderStatus } from './order.js';

const ALL: OrderStatus[] = ['NEW', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED'];
const LEGAL = new Set([
  'NEW>ACCEPTED', 'NEW>REJECTED',
  'ACCEPTED>PARTIALLY_FILLED', 'ACCEPTED>FILLED', 'ACCEPTED>CANCELED', 'ACCEPTED>EXPIRED',
  'PARTIALLY_FILLED>PARTIALLY_FILLED', 'PARTIALLY_FILLED>FILLED', 'PARTIALLY_FILLED>CANCELED', 'PARTIALLY_FILLED>EXPIRED',
]);

function order(status: OrderStatus): Order {
  return { id: 'o1', venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', postOnly: false, qty: 1, price: 1, strategy: 's@1', reason: '', status, filledQty: 0, avgPrice: 0, createdAt: 0, updatedAt: 0 };
}

describe('order state machine', () => {
  it.each(ALL.flatMap((from) => ALL.map((to) => [from, to] as const)))('%s -> %s', (from, to) => {
    const legal = LEGAL.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(legal);
    const o = order(from);
    if (legal) {
      transition(o, to, 5);
      expect(o.status).toBe(to);
      expect(o.updatedAt).toBe(5);
    } else {
      expect(() => transition(o, to, 5)).toThrow(/illegal transition/);
      expect(o.status).toBe(from);
    }
  });

  it('knows the terminal states', () => {
    expect(ALL.filter(isTerminal)).toEqual(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);
  });
});
