import { describe, expect, it } from 'vitest';
import { decodeTradeStreamFrame, tradeUpdateKey } from './decode.js';
import { DedupeWindow } from './trade-updates.js';
import { CLIENT_ORDER_ID_MAX, clientOrderIdFor, isDuplicateClientOrderId, orderBody } from './trading.js';

const ORDER = {
  id: 'a5be8f5e-fdfa-41f5-a644-7a74fe947a8f', client_order_id: 'pt-7', symbol: 'SOLUSD', asset_class: 'crypto', side: 'sell', type: 'market',
  order_type: 'market', time_in_force: 'gtc', qty: '1790.86', notional: null, filled_qty: '1790.86', filled_avg_price: '105.8988475', status: 'filled',
  order_class: '', extended_hours: false, legs: null, limit_price: null, stop_price: null, trail_percent: null, trail_price: null, hwm: null,
  created_at: '2022-04-19T13:45:04.981350886-04:00', updated_at: '2022-04-19T13:45:05.027690731-04:00', submitted_at: '2022-04-19T13:45:04.980944666-04:00',
  filled_at: '2022-04-19T17:45:05.024916716Z', expired_at: null, canceled_at: null, failed_at: null, replaced_at: null, replaced_by: null, replaces: null,
  asset_id: '1cf35270-99ee-44e2-a77f-6fab902c7f80',
};
const FILL = { event: 'fill', execution_id: '2f63ea93-423d-4169-b3f6-3fdafc10c418', timestamp: '2022-04-19T17:45:05.024916716Z', price: '105.8988475', qty: '1790.86', position_qty: '0', order: ORDER };

describe('decodeTradeStreamFrame', () => {
  it('decodes the documented fill event', () => {
    const m = decodeTradeStreamFrame(JSON.stringify({ stream: 'trade_updates', data: FILL }), 9);
    expect(m.type).toBe('trade_update');
    if (m.type !== 'trade_update') return;
    expect(m.update).toMatchObject({ event: 'fill', price: '105.8988475', qty: '1790.86', positionQty: '0', executionId: FILL.execution_id, recvTime: 9 });
    expect(m.update.order).toMatchObject({ id: ORDER.id, status: 'filled', filled_qty: '1790.86', side: 'sell' });
    expect(m.update.timestamp).toBe(Date.parse('2022-04-19T17:45:05.024Z') + 0.917);
  });

  it('decodes the handshake replies', () => {
    expect(decodeTradeStreamFrame('{"stream":"authorization","data":{"status":"authorized","action":"authenticate"}}', 0)).toEqual({
      type: 'authorization', status: 'authorized', action: 'authenticate',
    });
    expect(decodeTradeStreamFrame('{"stream":"listening","data":{"streams":["trade_updates"]}}', 0)).toEqual({ type: 'listening', streams: ['trade_updates'] });
  });

  it.each([
    ['not json', 'json'],
    ['[]', 'envelope'],
    ['{"stream":"trade_updates","data":{"event":"fill"}}', 'trade_update'],
    [JSON.stringify({ stream: 'trade_updates', data: { ...FILL, price: 105.9 } }), 'trade_update'],
    [JSON.stringify({ stream: 'trade_updates', data: { ...FILL, order: { ...ORDER, created_at: 'yesterday' } } }), 'trade_update'],
  ])('reports %s as malformed (%s)', (text, reason) => {
    expect(decodeTradeStreamFrame(text, 0)).toEqual({ type: 'malformed', reason });
  });

  it('keys an update by execution id, else by order, event and time', () => {
    const a = decodeTradeStreamFrame(JSON.stringify({ stream: 'trade_updates', data: FILL }), 0);
    const b = decodeTradeStreamFrame(JSON.stringify({ stream: 'trade_updates', data: { ...FILL, execution_id: null, event: 'canceled' } }), 0);
    if (a.type !== 'trade_update' || b.type !== 'trade_update') throw new Error('decode');
    expect(tradeUpdateKey(a.update)).toBe(`x:${FILL.execution_id}`);
    expect(tradeUpdateKey(b.update)).toMatch(new RegExp(`^e:${ORDER.id}:canceled:`));
  });
});

describe('DedupeWindow', () => {
  it('accepts a key once and forgets the oldest beyond its size', () => {
    const w = new DedupeWindow(2);
    expect([w.add('a'), w.add('a'), w.add('b'), w.add('c'), w.add('a'), w.add('c')]).toEqual([true, false, true, true, true, false]);
  });
});

describe('client order ids', () => {
  it('derives the same id from the same engine order, within the limit', () => {
    expect(clientOrderIdFor(42)).toBe('pt-42');
    expect(clientOrderIdFor('ord-1')).toBe(clientOrderIdFor('ord-1'));
    const long = clientOrderIdFor('x'.repeat(200));
    expect(long).toHaveLength(CLIENT_ORDER_ID_MAX);
    expect(long).toBe(clientOrderIdFor('x'.repeat(200)));
    expect(long).not.toBe(clientOrderIdFor('x'.repeat(201)));
    expect(clientOrderIdFor('a b/c')).toMatch(/^pt-[0-9a-f]{45}$/);
  });

  it('builds the order body with decimals as strings and exactly one size', () => {
    expect(orderBody({ engineOrderId: 7, symbol: 'BTC/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '0.0001', limitPrice: '60000' })).toEqual({
      symbol: 'BTC/USD', side: 'buy', type: 'limit', time_in_force: 'gtc', client_order_id: 'pt-7', qty: '0.0001', limit_price: '60000',
    });
    expect(() => orderBody({ engineOrderId: 7, symbol: 'AAPL', side: 'buy', type: 'market', timeInForce: 'day' })).toThrow(/exactly one/);
  });

  it.each([
    ['client_order_id must be unique', true],
    ['duplicate client_order_id', true],
    ['insufficient buying power', false],
    ['client_order_id too long', false],
  ])('%j is a duplicate-id refusal: %s', (msg, dup) => {
    expect(isDuplicateClientOrderId(msg)).toBe(dup);
  });
});
