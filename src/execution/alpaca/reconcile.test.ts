import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSymbol } from '../../marketdata/alpaca/sim/bars.js';
import { startAlpacaSim, type AlpacaSim } from '../../marketdata/alpaca/sim/server.js';
import { api } from '../../marketdata/alpaca/sim/testing.js';
import type { AlpacaOrder, AlpacaPosition } from './decode.js';
import { gatherAlpacaState, reconcile, toUnits, type OurOrder, type Ours, type Theirs } from './reconcile.js';
import { AlpacaTradingClient, clientOrderIdFor } from './trading.js';

const T0 = Date.UTC(2024, 0, 2, 15, 0);

function alpacaOrder(o: Partial<AlpacaOrder> & { client_order_id: string }): AlpacaOrder {
  return {
    id: `alp-${o.client_order_id}`,
    symbol: 'TSLA',
    asset_class: 'us_equity',
    side: 'buy',
    type: 'limit',
    time_in_force: 'day',
    status: 'new',
    qty: '10',
    notional: null,
    filled_qty: '0',
    filled_avg_price: null,
    limit_price: '100',
    stop_price: null,
    extended_hours: false,
    created_at: T0,
    updated_at: T0,
    submitted_at: T0,
    filled_at: null,
    canceled_at: null,
    expired_at: null,
    failed_at: null,
    replaced_by: null,
    replaces: null,
    ...o,
  };
}

function ourOrder(o: Partial<OurOrder> & { id: string }): OurOrder {
  return { symbol: 'TSLA', side: 'BUY', status: 'ACCEPTED', filledQty: 0, avgPrice: 0, ...o };
}

function position(symbol: string, qty: string, side: 'long' | 'short' = 'long'): AlpacaPosition {
  return {
    asset_id: `asset-${symbol}`,
    symbol,
    side,
    qty,
    qty_available: qty,
    avg_entry_price: '1',
    market_value: null,
    cost_basis: null,
    unrealized_pl: null,
    current_price: null,
  };
}

describe('toUnits', () => {
  it.each([
    ['1', 1_000_000_000n],
    ['0.000000001', 1n],
    ['-2.5', -2_500_000_000n],
    ['100.10', 100_100_000_000n],
    [0.1 + 0.2, 300_000_000n],
    [-3, -3_000_000_000n],
  ] as const)('%s -> %s', (v, u) => expect(toUnits(v)).toBe(u));

  it('rejects text that is not a decimal or is finer than 1e-9', () => {
    expect(() => toUnits('abc')).toThrow(RangeError);
    expect(() => toUnits('0.0000000001')).toThrow(RangeError);
  });
});

interface Case {
  name: string;
  ours: Ours;
  theirs: Theirs;
  differences: unknown[];
  corrections: unknown[];
}

const cases: Case[] = [
  {
    name: 'in agreement: nothing to do',
    ours: { orders: [ourOrder({ id: '1', status: 'PARTIALLY_FILLED', filledQty: 4, avgPrice: 99.5 })], positions: [{ symbol: 'TSLA', qty: 4 }] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-1', status: 'partially_filled', filled_qty: '4', filled_avg_price: '99.5' })], positions: [position('TSLA', '4')] },
    differences: [],
    corrections: [],
  },
  {
    name: 'foreign open order (placed by hand): reported, not touched',
    ours: { orders: [], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'manual-7', id: 'A7' })], positions: [] },
    differences: [{ kind: 'unknownOrder', origin: 'foreign', alpacaOrderId: 'A7', clientOrderId: 'manual-7', symbol: 'TSLA', status: 'new', qty: '10', filledQty: '0' }],
    corrections: [],
  },
  {
    name: 'lost open order of ours: canceled at the venue',
    ours: { orders: [], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-99', id: 'A99', status: 'accepted' })], positions: [] },
    differences: [{ kind: 'unknownOrder', origin: 'lost', alpacaOrderId: 'A99', clientOrderId: 'pt-99', symbol: 'TSLA', status: 'accepted', qty: '10', filledQty: '0' }],
    corrections: [{ kind: 'cancelAtVenue', alpacaOrderId: 'A99', clientOrderId: 'pt-99', reason: expect.any(String) }],
  },
  {
    name: 'an unknown order Alpaca has already ended is history, not a difference',
    ours: { orders: [], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-98', status: 'canceled' })], positions: [] },
    differences: [],
    corrections: [],
  },
  ...(
    [
      ['canceled', 'CANCELED', '0', null],
      ['expired', 'EXPIRED', '0', null],
      ['rejected', 'REJECTED', '0', null],
      ['canceled', 'CANCELED', '3', '100.25'],
    ] as const
  ).map(([st, ours, filled, avg]): Case => ({
    name: `ended at Alpaca: ${st} with ${filled} filled`,
    ours: { orders: [ourOrder({ id: '2', filledQty: filled, avgPrice: avg ?? 0 })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-2', id: 'A2', status: st, filled_qty: filled, filled_avg_price: avg })], positions: [] },
    differences: [{ kind: 'endedAtVenue', orderId: '2', alpacaOrderId: 'A2', ourStatus: 'ACCEPTED', status: ours, alpacaStatus: st, filledQty: filled, avgPrice: avg }],
    corrections: [{ kind: 'endOrder', orderId: '2', status: ours, filledQty: filled, avgPrice: avg }],
  })),
  {
    name: 'filled at Alpaca while we saw nothing: missing fill, then the end, position explained by the fill',
    ours: { orders: [ourOrder({ id: '3' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-3', id: 'A3', status: 'filled', filled_qty: '10', filled_avg_price: '101.5' })], positions: [position('TSLA', '10')] },
    differences: [
      { kind: 'filledQtyMismatch', orderId: '3', alpacaOrderId: 'A3', ours: '0', theirs: '10', theirAvgPrice: '101.5' },
      { kind: 'endedAtVenue', orderId: '3', alpacaOrderId: 'A3', ourStatus: 'ACCEPTED', status: 'FILLED', alpacaStatus: 'filled', filledQty: '10', avgPrice: '101.5' },
      { kind: 'positionMismatch', symbol: 'TSLA', ours: '0', theirs: '10', explainedByFills: true },
    ],
    corrections: [
      { kind: 'applyFill', orderId: '3', symbol: 'TSLA', side: 'BUY', qty: '10', price: '101.5' },
      { kind: 'endOrder', orderId: '3', status: 'FILLED', filledQty: '10', avgPrice: '101.5' },
    ],
  },
  {
    name: 'missed partial fills: the missing part at its own price (4 @ 100 seen, 10 @ 100.6 at Alpaca -> 6 @ 101)',
    ours: { orders: [ourOrder({ id: '4', side: 'SELL', status: 'PARTIALLY_FILLED', filledQty: 4, avgPrice: 100 })], positions: [{ symbol: 'TSLA', qty: -4 }] },
    theirs: {
      orders: [alpacaOrder({ client_order_id: 'pt-4', id: 'A4', side: 'sell', status: 'partially_filled', qty: '20', filled_qty: '10', filled_avg_price: '100.6' })],
      positions: [position('TSLA', '-10', 'short')],
    },
    differences: [
      { kind: 'filledQtyMismatch', orderId: '4', alpacaOrderId: 'A4', ours: '4', theirs: '10', theirAvgPrice: '100.6' },
      { kind: 'positionMismatch', symbol: 'TSLA', ours: '-4', theirs: '-10', explainedByFills: true },
    ],
    corrections: [{ kind: 'applyFill', orderId: '4', symbol: 'TSLA', side: 'SELL', qty: '6', price: '101' }],
  },
  {
    name: 'the engine counted more fills than Alpaca has: reported only',
    ours: { orders: [ourOrder({ id: '5', status: 'PARTIALLY_FILLED', filledQty: '7', avgPrice: '50' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-5', id: 'A5', status: 'partially_filled', filled_qty: '5', filled_avg_price: '50' })], positions: [] },
    differences: [{ kind: 'filledQtyMismatch', orderId: '5', alpacaOrderId: 'A5', ours: '7', theirs: '5', theirAvgPrice: '50' }],
    corrections: [],
  },
  {
    name: 'the engine thinks it canceled, Alpaca still has it open: cancel again',
    ours: { orders: [ourOrder({ id: '6', status: 'CANCELED' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-6', id: 'A6', status: 'new' })], positions: [] },
    differences: [{ kind: 'openAtVenue', orderId: '6', alpacaOrderId: 'A6', ourStatus: 'CANCELED', alpacaStatus: 'new' }],
    corrections: [{ kind: 'cancelAtVenue', alpacaOrderId: 'A6', clientOrderId: 'pt-6', reason: 'engine has it CANCELED' }],
  },
  {
    name: 'done_for_day is not an end',
    ours: { orders: [ourOrder({ id: '7' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-7', status: 'done_for_day' })], positions: [] },
    differences: [],
    corrections: [],
  },
  {
    name: 'open in the engine, unknown at Alpaca: look it up',
    ours: { orders: [ourOrder({ id: '8', status: 'NEW' }), ourOrder({ id: '9', status: 'FILLED', filledQty: 1, avgPrice: 1 })], positions: [] },
    theirs: { orders: [], positions: [] },
    differences: [{ kind: 'notFoundAtVenue', orderId: '8', clientOrderId: 'pt-8', ourStatus: 'NEW' }],
    corrections: [{ kind: 'lookUpOrder', orderId: '8', clientOrderId: 'pt-8' }],
  },
  {
    name: 'long engine order ids match by their hashed client_order_id',
    ours: { orders: [ourOrder({ id: 'x'.repeat(60), status: 'ACCEPTED' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: clientOrderIdFor('x'.repeat(60)), status: 'expired' })], positions: [] },
    differences: [expect.objectContaining({ kind: 'endedAtVenue', status: 'EXPIRED' })],
    corrections: [expect.objectContaining({ kind: 'endOrder', status: 'EXPIRED' })],
  },
  {
    name: 'crypto positions: DOGEUSD at Alpaca is DOGE/USD here; exact decimals',
    ours: { orders: [], positions: [{ symbol: 'DOGE/USD', qty: '1234.5' }, { symbol: 'BTC/USD', qty: 0.1 + 0.2 }] },
    theirs: { orders: [], positions: [position('DOGEUSD', '1234.500000000'), position('BTCUSD', '0.3')] },
    differences: [],
    corrections: [],
  },
  {
    name: 'position mismatches: adopt Alpaca\'s (also a position the engine does not have, and one Alpaca does not have)',
    ours: { orders: [], positions: [{ symbol: 'DOGE/USD', qty: '100' }, { symbol: 'TSLA', qty: 3 }] },
    theirs: { orders: [], positions: [position('DOGEUSD', '100.000000001'), position('AAPL', '2')] },
    differences: [
      { kind: 'positionMismatch', symbol: 'AAPL', ours: '0', theirs: '2', explainedByFills: false },
      { kind: 'positionMismatch', symbol: 'DOGE/USD', ours: '100', theirs: '100.000000001', explainedByFills: false },
      { kind: 'positionMismatch', symbol: 'TSLA', ours: '3', theirs: '0', explainedByFills: false },
    ],
    corrections: [
      { kind: 'adoptPosition', symbol: 'AAPL', qty: '2' },
      { kind: 'adoptPosition', symbol: 'DOGE/USD', qty: '100.000000001' },
      { kind: 'adoptPosition', symbol: 'TSLA', qty: '0' },
    ],
  },
  {
    name: 'a missed fill that does not explain the whole position gap: fill and adopt',
    ours: { orders: [ourOrder({ id: '10', symbol: 'DOGE/USD' })], positions: [] },
    theirs: { orders: [alpacaOrder({ client_order_id: 'pt-10', symbol: 'DOGE/USD', status: 'partially_filled', filled_qty: '5', filled_avg_price: '0.1' })], positions: [position('DOGEUSD', '8')] },
    differences: [
      { kind: 'filledQtyMismatch', orderId: '10', alpacaOrderId: 'alp-pt-10', ours: '0', theirs: '5', theirAvgPrice: '0.1' },
      { kind: 'positionMismatch', symbol: 'DOGE/USD', ours: '0', theirs: '8', explainedByFills: false },
    ],
    corrections: [
      { kind: 'applyFill', orderId: '10', symbol: 'DOGE/USD', side: 'BUY', qty: '5', price: '0.1' },
      { kind: 'adoptPosition', symbol: 'DOGE/USD', qty: '8' },
    ],
  },
];

describe('reconcile', () => {
  it.each(cases)('$name', ({ ours, theirs, differences, corrections }) => {
    const r = reconcile(ours, theirs);
    expect(r.differences).toEqual(differences);
    expect(r.corrections).toEqual(corrections);
  });

  it('does not modify its inputs', () => {
    const c = cases.find((x) => x.name.startsWith('missed partial'))!;
    const before = JSON.stringify([c.ours, c.theirs]);
    reconcile(c.ours, c.theirs);
    expect(JSON.stringify([c.ours, c.theirs])).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Against the local Alpaca server
// ---------------------------------------------------------------------------------------------------------------

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKTEST';
const SECRET = 'SECRET';
let sim: AlpacaSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('reconcile against the local Alpaca server', () => {
  it('finds missed partial fills, a cancel, a foreign order, an unsent order and a stale position', async () => {
    sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'], partialFills: 3 });
    const client = new AlpacaTradingClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: SECRET }, timeoutMs: 2_000, backoffBaseMs: 1 });
    const must = <T>(r: { ok: true; value: T } | { ok: false; message: string }): T => {
      if (!r.ok) throw new Error(r.message);
      return r.value;
    };
    // 1: market buy 30 TSLA in three parts; the first part fills on arrival, the second on the next tick
    must(await client.submitOrder({ engineOrderId: 1, symbol: 'TSLA', side: 'buy', type: 'market', timeInForce: 'day', qty: '30' }));
    sim.step(1);
    // 2: a DOGE limit far below the market rests
    must(await client.submitOrder({ engineOrderId: 2, symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '100', limitPrice: '0.0001' }));
    // 3: another resting DOGE limit, canceled behind the engine's back
    const o3 = must(await client.submitOrder({ engineOrderId: 3, symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '50', limitPrice: '0.0001' }));
    must(await client.cancelOrder(o3.order.id));
    // a foreign order placed by hand
    const manual = await api(sim, 'POST', '/v2/orders', { symbol: 'DOGE/USD', qty: '10', side: 'buy', type: 'limit', limit_price: '0.0002', time_in_force: 'gtc', client_order_id: 'manual-1' }, { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET });
    expect(manual.status).toBe(200);

    // what the engine believes: it saw only the first part of order 1 (at the previous close), order 3 still open,
    // order 4 open but never sent, and a DOGE position it no longer has at Alpaca
    const firstPx = loadSymbol(DATA, 'TSLA').bars[119]!.c;
    const ours: Ours = {
      orders: [
        { id: '1', symbol: 'TSLA', side: 'BUY', status: 'PARTIALLY_FILLED', filledQty: 10, avgPrice: firstPx },
        { id: '2', symbol: 'DOGE/USD', side: 'BUY', status: 'ACCEPTED', filledQty: 0, avgPrice: 0 },
        { id: '3', symbol: 'DOGE/USD', side: 'BUY', status: 'ACCEPTED', filledQty: 0, avgPrice: 0 },
        { id: '4', symbol: 'TSLA', side: 'SELL', status: 'NEW', filledQty: 0, avgPrice: 0 },
      ],
      positions: [
        { symbol: 'TSLA', qty: 10 },
        { symbol: 'DOGE/USD', qty: '25' },
      ],
    };
    const theirs = must(await gatherAlpacaState(client, ours));
    const o1 = theirs.orders.find((o) => o.client_order_id === 'pt-1')!;
    expect(o1).toMatchObject({ status: 'partially_filled', filled_qty: '20' });
    const secondPx = (toUnits(o1.filled_avg_price!) * 20n - toUnits(firstPx) * 10n) / 10n;

    const r = reconcile(ours, theirs);
    expect(r.differences).toEqual([
      { kind: 'filledQtyMismatch', orderId: '1', alpacaOrderId: o1.id, ours: '10', theirs: '20', theirAvgPrice: o1.filled_avg_price },
      { kind: 'endedAtVenue', orderId: '3', alpacaOrderId: o3.order.id, ourStatus: 'ACCEPTED', status: 'CANCELED', alpacaStatus: 'canceled', filledQty: '0', avgPrice: null },
      { kind: 'notFoundAtVenue', orderId: '4', clientOrderId: 'pt-4', ourStatus: 'NEW' },
      { kind: 'unknownOrder', origin: 'foreign', alpacaOrderId: manual.body.id, clientOrderId: 'manual-1', symbol: 'DOGE/USD', status: 'new', qty: '10', filledQty: '0' },
      { kind: 'positionMismatch', symbol: 'DOGE/USD', ours: '25', theirs: '0', explainedByFills: false },
      { kind: 'positionMismatch', symbol: 'TSLA', ours: '10', theirs: '20', explainedByFills: true },
    ]);
    expect(r.corrections).toEqual([
      { kind: 'applyFill', orderId: '1', symbol: 'TSLA', side: 'BUY', qty: '10', price: expect.any(String) },
      { kind: 'endOrder', orderId: '3', status: 'CANCELED', filledQty: '0', avgPrice: null },
      { kind: 'adoptPosition', symbol: 'DOGE/USD', qty: '0' },
      { kind: 'lookUpOrder', orderId: '4', clientOrderId: 'pt-4' },
    ]);
    // the missing part's price is the second part's price (Alpaca's avg is truncated to 1e-9: allow one unit)
    const missingPx = toUnits((r.corrections[0] as { price: string }).price);
    expect(missingPx - secondPx <= 1n && secondPx - missingPx <= 1n).toBe(true);
    // and that is the price the simulator filled the second part at (the first replayed bar's open)
    const barOpen = toUnits(loadSymbol(DATA, 'TSLA').bars[120]!.o);
    expect(missingPx - barOpen <= 1n && barOpen - missingPx <= 1n).toBe(true);

    // once the engine applies the corrections, the next pass finds only what needs a person or a lookup
    const after: Ours = {
      orders: [
        { id: '1', symbol: 'TSLA', side: 'BUY', status: 'PARTIALLY_FILLED', filledQty: '20', avgPrice: o1.filled_avg_price! },
        { id: '2', symbol: 'DOGE/USD', side: 'BUY', status: 'ACCEPTED', filledQty: 0, avgPrice: 0 },
        { id: '3', symbol: 'DOGE/USD', side: 'BUY', status: 'CANCELED', filledQty: 0, avgPrice: 0 },
      ],
      positions: [{ symbol: 'TSLA', qty: 20 }],
    };
    const again = reconcile(after, must(await gatherAlpacaState(client, after)));
    expect(again.differences.map((d) => d.kind)).toEqual(['unknownOrder']);
    expect(again.corrections).toEqual([]);
  });
});
