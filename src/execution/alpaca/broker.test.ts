import { fmtDec } from '../../marketdata/alpaca/sim/fixed.js';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/logger.js';
import { type AlpacaSim, startAlpacaSim } from '../../marketdata/alpaca/sim/server.js';
import type { Instrument } from '../../model/instrument.js';
import type { Order } from '../../model/order.js';
import type { BrokerReport, EngineCorrection } from '../broker.js';
import { AlpacaBroker, reportsForSnapshot, type AlpacaBrokerSink } from './broker.js';
import type { AlpacaOrder } from './decode.js';
import { instrumentFromAlpacaAsset } from './instrument.js';
import { AlpacaTradingClient } from './trading.js';

const T = 1_700_000_000_000;

function alpacaOrder(over: Partial<AlpacaOrder>): AlpacaOrder {
  return {
    id: 'a-1', client_order_id: 'pt-o-1', symbol: 'TSLA', side: 'buy', type: 'market', time_in_force: 'day', status: 'new',
    qty: '10', notional: null, filled_qty: '0', filled_avg_price: null, limit_price: null, stop_price: null, extended_hours: false,
    created_at: T, updated_at: null, submitted_at: null, filled_at: null, canceled_at: null, expired_at: null, failed_at: null,
    replaced_by: null, replaces: null,
    ...over,
  };
}

describe('reportsForSnapshot', () => {
  it('new: acknowledged only', () => {
    expect(reportsForSnapshot(alpacaOrder({}), 'o-1', T)).toEqual([{ kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' }]);
  });

  it('partially_filled: acknowledged and the cumulative execution (not final), with the event’s own part when given', () => {
    const o = alpacaOrder({ status: 'partially_filled', filled_qty: '3', filled_avg_price: '250.1' });
    expect(reportsForSnapshot(o, 'o-1', T, { qty: '3', price: '250.1' })).toEqual([
      { kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' },
      { kind: 'execution', orderId: 'o-1', time: T, cumQty: '3', avgPrice: '250.1', qty: '3', price: '250.1', final: false },
    ]);
    // a snapshot without an event (REST, reconciliation): no own part
    expect(reportsForSnapshot(o, 'o-1', T)[1]).toMatchObject({ kind: 'execution', qty: null, price: null, final: false });
  });

  it('filled: the final execution', () => {
    const o = alpacaOrder({ status: 'filled', filled_qty: '10', filled_avg_price: '250.17' });
    expect(reportsForSnapshot(o, 'o-1', T, { qty: '7', price: '250.2' })).toEqual([
      { kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' },
      { kind: 'execution', orderId: 'o-1', time: T, cumQty: '10', avgPrice: '250.17', qty: '7', price: '250.2', final: true },
    ]);
  });

  it('canceled after a partial fill: accepted, the execution, then canceled', () => {
    const o = alpacaOrder({ status: 'canceled', filled_qty: '4', filled_avg_price: '251' });
    expect(reportsForSnapshot(o, 'o-1', T)).toEqual([
      { kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' },
      { kind: 'execution', orderId: 'o-1', time: T, cumQty: '4', avgPrice: '251', qty: null, price: null, final: false },
      { kind: 'canceled', orderId: 'o-1', time: T, reason: 'canceled at Alpaca' },
    ]);
  });

  it('canceled with nothing filled: no execution', () => {
    expect(reportsForSnapshot(alpacaOrder({ status: 'canceled' }), 'o-1', T).map((r) => r.kind)).toEqual(['accepted', 'canceled']);
  });

  it('replaced: canceled, naming the replacement', () => {
    const r = reportsForSnapshot(alpacaOrder({ status: 'replaced', replaced_by: 'a-2' }), 'o-1', T);
    expect(r).toEqual([
      { kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' },
      { kind: 'canceled', orderId: 'o-1', time: T, reason: 'replaced at Alpaca by a-2' },
    ]);
  });

  it('expired: acknowledged, then expired', () => {
    expect(reportsForSnapshot(alpacaOrder({ status: 'expired' }), 'o-1', T)).toEqual([
      { kind: 'accepted', orderId: 'o-1', time: T, venueOrderId: 'a-1' },
      { kind: 'expired', orderId: 'o-1', time: T, reason: 'expired at Alpaca' },
    ]);
  });

  it('rejected: only the rejection (never acknowledged)', () => {
    expect(reportsForSnapshot(alpacaOrder({ status: 'rejected' }), 'o-1', T)).toEqual([{ kind: 'rejected', orderId: 'o-1', time: T, reason: 'rejected by Alpaca' }]);
  });

  it('pending_new: nothing yet', () => {
    expect(reportsForSnapshot(alpacaOrder({ status: 'pending_new' }), 'o-1', T)).toEqual([]);
  });

  it('a fill count of zero or no average price gives no execution', () => {
    expect(reportsForSnapshot(alpacaOrder({ status: 'partially_filled', filled_qty: '0', filled_avg_price: '250' }), 'o-1', T).map((r) => r.kind)).toEqual(['accepted']);
    expect(reportsForSnapshot(alpacaOrder({ status: 'partially_filled', filled_qty: '2', filled_avg_price: null }), 'o-1', T).map((r) => r.kind)).toEqual(['accepted']);
  });
});

// ---------------------------------------------------------------- against the local simulator

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKBROKERTEST1';
const SECRET = 'broker-test-secret';
const logger: Logger = pino({ level: 'silent' });

let sim: AlpacaSim;
let brokers: AlpacaBroker[];

beforeEach(async () => {
  brokers = [];
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'] });
});
afterEach(async () => {
  for (const b of brokers) {
    b.stop();
    await b.settled();
  }
  await sim.close();
});

const client = () => new AlpacaTradingClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: SECRET }, timeoutMs: 2_000, backoffBaseMs: 1, sleep: async () => {} });

/** A sink that records what the broker tells the engine; its orders and positions are set by the test. */
class RecordingSink implements AlpacaBrokerSink {
  readonly reports: BrokerReport[] = [];
  readonly corrections: EngineCorrection[][] = [];
  ourOrders: Order[] = [];
  ourPositions: { symbol: string; qty: number }[] = [];
  symbols: string[] = [];
  report(r: BrokerReport): void {
    this.reports.push(r);
  }
  correct(c: readonly EngineCorrection[]): number {
    this.corrections.push([...c]);
    return c.length;
  }
  orders(): readonly Order[] {
    return this.ourOrders;
  }
  positions(): readonly { symbol: string; qty: number }[] {
    return this.ourPositions;
  }
  of(orderId: string): BrokerReport[] {
    return this.reports.filter((r) => r.orderId === orderId);
  }
}

function makeBroker(sink: RecordingSink): AlpacaBroker {
  const b = new AlpacaBroker({
    client: client(),
    tradingUrl: sim.url,
    credentials: { keyId: KEY, secretKey: SECRET },
    sink,
    logger,
    clock: () => Date.now(),
    reconcileMs: 3_600_000,
    accountPollMs: 3_600_000,
    uncertainReconcileMs: 50,
  });
  brokers.push(b);
  return b;
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function dogeInstrument(): Promise<Instrument> {
  const a = await client().getAsset('DOGE/USD');
  if (!a.ok) throw new Error(a.message);
  const i = instrumentFromAlpacaAsset(a.value);
  if (!i.ok) throw new Error(i.message);
  return i.value;
}

function engineOrder(id: string, over: Partial<Order> = {}): Order {
  return {
    id, venue: 'alpaca', symbol: 'DOGE/USD', side: 'BUY', type: 'MARKET', timeInForce: 'IOC', postOnly: false, qty: 100, price: null,
    strategy: 'test', reason: 'test', status: 'NEW', filledQty: 0, avgPrice: 0, createdAt: Date.now(), updatedAt: Date.now(),
    ...over,
  };
}

/** sends an engine order through the broker (quantity in coins, limit price in USD) */
function place(b: AlpacaBroker, inst: Instrument, o: Order): void {
  const q = 10 ** inst.qtyDecimals;
  const p = 10 ** inst.priceDecimals;
  b.place(o, { id: o.id, side: o.side, type: o.type, timeInForce: o.timeInForce, postOnly: false, qtyUnits: Math.round(o.qty * q), priceUnits: o.price === null ? NaN : Math.round(o.price * p) }, inst);
}

const lastExecution = (rs: BrokerReport[]) => rs.filter((r): r is Extract<BrokerReport, { kind: 'execution' }> => r.kind === 'execution').at(-1);

describe('AlpacaBroker against the simulator', () => {
  it('a market order: accepted and executions whose cumulative quantity is the sim order’s', async () => {
    const sink = new RecordingSink();
    const b = makeBroker(sink);
    b.start();
    await until(() => b.status().tradeUpdates.phase === 'listening', 'trade_updates listening');
    const inst = await dogeInstrument();
    const o = engineOrder('m-1');
    sink.ourOrders = [o];
    place(b, inst, o);
    await until(() => lastExecution(sink.of('m-1'))?.final === true, 'the final execution');
    const at = sim.broker.getByClientId('pt-m-1');
    expect(at).toBeDefined();
    expect(sim.broker.all()).toHaveLength(1);
    const mine = sink.of('m-1');
    expect(mine[0]).toMatchObject({ kind: 'accepted', orderId: 'm-1' });
    const last = lastExecution(mine)!;
    const r = await client().getOrderByClientId('pt-m-1');
    if (!r.ok) throw new Error(r.message);
    expect(r.value).toMatchObject({ status: 'filled', time_in_force: 'gtc', type: 'market', qty: '100' });
    expect(Number(last.cumQty)).toBe(100);
    expect(last.cumQty).toBe(r.value.filled_qty);
    expect(last.avgPrice).toBe(r.value.filled_avg_price);
    // every execution report carries the same cumulative total (REST answer and trade_updates alike)
    for (const e of mine) if (e.kind === 'execution') expect(Number(e.cumQty)).toBe(100);
    expect(mine.some((x) => x.kind === 'rejected' || x.kind === 'canceled')).toBe(false);
    expect(b.status().submits).toMatchObject({ sent: 1, inFlight: 0, rejected: 0 });
  });

  it('a POST /v2/orders 500 is retried with the same client_order_id: exactly one order at the sim', async () => {
    const sink = new RecordingSink();
    const b = makeBroker(sink);
    const inst = await dogeInstrument();
    sim.addFault({ kind: 'http', route: 'POST /v2/orders', status: 500 });
    const o = engineOrder('f-1');
    sink.ourOrders = [o];
    place(b, inst, o);
    await until(() => lastExecution(sink.of('f-1'))?.final === true, 'the final execution');
    expect(sim.broker.all().map((x) => x.clientOrderId)).toEqual(['pt-f-1']);
    expect(sink.of('f-1').some((x) => x.kind === 'rejected')).toBe(false);
    expect(b.status().submits).toMatchObject({ sent: 1, rejected: 0 });
    expect(b.status().requests).toBeGreaterThanOrEqual(2);
  });

  it('cancel of a resting limit order: a canceled report', async () => {
    const sink = new RecordingSink();
    const b = makeBroker(sink);
    b.start();
    await until(() => b.status().tradeUpdates.phase === 'listening', 'trade_updates listening');
    const inst = await dogeInstrument();
    const o = engineOrder('c-1', { type: 'LIMIT', timeInForce: 'GTC', price: 0.00001 });
    sink.ourOrders = [o];
    place(b, inst, o);
    await until(() => sink.of('c-1').some((r) => r.kind === 'accepted'), 'the acknowledgement');
    const before = await client().getOrderByClientId('pt-c-1');
    expect(before.ok && before.value).toMatchObject({ status: 'new', type: 'limit', limit_price: '0.00001', time_in_force: 'gtc' });
    b.cancel(o);
    await until(() => sink.of('c-1').some((r) => r.kind === 'canceled'), 'the canceled report');
    const after = await client().getOrderByClientId('pt-c-1');
    expect(after.ok && after.value.status).toBe('canceled');
    expect(sink.of('c-1').some((r) => r.kind === 'execution')).toBe(false);
  });

  it('reconciliation: an order the sim never saw, created long ago and still NEW, is rejected as never arrived', async () => {
    const sink = new RecordingSink();
    const b = makeBroker(sink);
    const ghost = engineOrder('ghost-1', { createdAt: Date.now() - 120_000, updatedAt: Date.now() - 120_000 });
    const young = engineOrder('young-1'); // just sent: not judged yet
    sink.ourOrders = [ghost, young];
    b.requestReconcile('test');
    await b.settled();
    expect(sink.of('ghost-1')).toEqual([{ kind: 'rejected', orderId: 'ghost-1', time: expect.any(Number), reason: 'not at Alpaca: the order never arrived' }]);
    expect(sink.of('young-1')).toEqual([]);
    const last = b.status().reconcile.last!;
    expect(last).toMatchObject({ why: 'test', error: null, applied: 1 });
    expect(last.differences.map((d) => [d.kind, 'orderId' in d ? d.orderId : null])).toEqual([
      ['notFoundAtVenue', 'ghost-1'],
      ['notFoundAtVenue', 'young-1'],
    ]);
  });

  it('reconciliation: a position the sim has and the engine does not becomes an adoptPosition correction', async () => {
    const sink = new RecordingSink();
    const b = makeBroker(sink);
    // bought at the sim outside the engine (by hand)
    const r = await client().submitOrder({ engineOrderId: 'by-hand', symbol: 'TSLA', side: 'buy', type: 'market', timeInForce: 'day', qty: '3' });
    if (!r.ok) throw new Error(r.message);
    await until(() => sim.broker.positionQty('TSLA') > 0n, 'the sim position');
    b.requestReconcile('test');
    await b.settled();
    expect(sink.corrections).toEqual([[{ kind: 'adoptPosition', symbol: 'TSLA', qty: '3' }]]);
    expect(b.status().reconcile.last!.differences).toContainEqual({ kind: 'positionMismatch', symbol: 'TSLA', ours: '0', theirs: '3', explainedByFills: false });
    // once the engine has it, nothing more
    sink.ourPositions = [{ symbol: 'TSLA', qty: 3 }];
    b.requestReconcile('again');
    await b.settled();
    expect(sink.corrections).toHaveLength(1);
    expect(b.status().reconcile.last!.differences).toEqual([]);
  });

  it('reconciliation: a crypto position Alpaca names DOGEUSD is adopted as the configured DOGE/USD', async () => {
    const r = await client().submitOrder({ engineOrderId: 'by-hand-doge', symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '100' });
    if (!r.ok) throw new Error(r.message);
    await until(() => sim.broker.positionQty('DOGE/USD') >= 100n * 10n ** 9n, 'the sim DOGE position');
    const sink = new RecordingSink();
    sink.symbols = ['TSLA', 'DOGE/USD'];
    sink.ourPositions = [{ symbol: 'TSLA', qty: Number(fmtDec(sim.broker.positionQty('TSLA'))) }];
    const b = makeBroker(sink);
    b.requestReconcile('test');
    await b.settled();
    expect(sink.corrections).toEqual([[{ kind: 'adoptPosition', symbol: 'DOGE/USD', qty: fmtDec(sim.broker.positionQty('DOGE/USD')) }]]);
  });
});
