import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DepthSync } from '../book/sync.js';
import { loadConfig, type Config } from '../config/config.js';
import type { Logger } from '../core/logger.js';
import type { Side, Venue } from '../core/types.js';
import type { Broker, BrokerReport } from '../execution/broker.js';
import type { ExchangeOrderSpec } from '../execution/paper/exchange.js';
import type { InputLog } from '../marketdata/binance/processor.js';
import type { Instrument } from '../model/instrument.js';
import type { Fill, Order, OrderIntent } from '../model/order.js';
import { Store } from '../store/db.js';
import type { Strategy } from '../strategy/strategy.js';
import type { Engine, EngineNotice, EngineOptions, InstrumentSchedule } from './engine.js';
import { createEngine } from './presets.js';

/**
 * The engine with an outside broker (Alpaca): orders of venue 'alpaca' go to the broker, not to the paper
 * exchange; the broker's reports come back through `brokerReport` (late, twice or out of order) and
 * reconciliation's corrections through `applyCorrections`.
 *
 * TSLA on Alpaca: prices 2 decimals (1 unit = 1 cent), quantities 6 decimals, whole shares (step 1e6).
 * BTCUSDT on Binance spot (paper exchange): prices 2 decimals, quantities 8.
 */

const T0 = 1_700_000_000_000;
const SESSION = 'ext-broker-test';
const logger: Logger = pino({ level: 'silent' });

const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

function config(): Config {
  return loadConfig({
    SYMBOLS: 'BTCUSDT,alpaca:TSLA',
    MODEL_PATH: '',
    APCA_API_KEY_ID: 'PKTEST',
    APCA_API_SECRET_KEY: 'SECRET',
    FUTURES: 'false',
    INITIAL_BALANCE: '100000',
    LATENCY_MODEL: 'constant',
    LATENCY_ENTRY_MS: '10',
    LATENCY_RESPONSE_MS: '20',
    LATENCY_JITTER_MS: '0',
    RISK_MAX_POSITION: '1000',
    RISK_MAX_ORDER_NOTIONAL: '1000000',
    RISK_MAX_TOTAL_NOTIONAL: '1000000000',
    RISK_MAX_DRAWDOWN: '0.99',
    RISK_PRICE_BAND: '0.5',
    RISK_ORDERS_PER_SECOND: '1000000',
    RISK_ORDERS_PER_MINUTE: '1000000',
    RISK_ORDERS_PER_HOUR: '10000000',
    RISK_LOSS_STREAK: '0',
    RISK_STOP_ATR: '0',
    RISK_TAKE_PROFIT_ATR: '0',
    BOOK_STALE_MS: '3600000',
    WARMUP_SECONDS: '0',
    WARMUP_POINTS: '0',
  });
}

const TSLA: Instrument = {
  venue: 'alpaca', symbol: 'TSLA', status: 'TRADING', baseAsset: 'TSLA', quoteAsset: 'USD',
  priceDecimals: 2, qtyDecimals: 6, tickUnits: 1, minPriceUnits: 1, maxPriceUnits: 1e9,
  stepUnits: 1e6, minQtyUnits: 1e6, maxQtyUnits: 1e14, marketMaxQtyUnits: 1e14,
  minNotional: 0, maxNotional: 0, applyMinNotionalToMarket: false,
};
const BTC: Instrument = {
  venue: 'spot', symbol: 'BTCUSDT', status: 'TRADING', baseAsset: 'BTC', quoteAsset: 'USDT',
  priceDecimals: 2, qtyDecimals: 8, tickUnits: 1, minPriceUnits: 1, maxPriceUnits: 1e9,
  stepUnits: 1000, minQtyUnits: 1000, maxQtyUnits: 9e11, marketMaxQtyUnits: 9e11,
  minNotional: 5, maxNotional: 0, applyMinNotionalToMarket: true,
};

/** A broker that only records what the engine asks of it. */
class RecordingBroker implements Broker {
  readonly name = 'alpaca' as const;
  readonly placed: { order: Order; spec: ExchangeOrderSpec; inst: Instrument }[] = [];
  readonly canceled: string[] = [];
  place(order: Readonly<Order>, spec: ExchangeOrderSpec, inst: Instrument): void {
    this.placed.push({ order: { ...order }, spec, inst });
  }
  cancel(order: Readonly<Order>): void {
    this.canceled.push(order.id);
  }
}

class RecordingLog implements InputLog {
  readonly lines: { recvTime: number; source: string; payload: string }[] = [];
  write(recvTime: number, source: string, payload: string): void {
    this.lines.push({ recvTime, source, payload });
  }
}

/** A strategy that never trades (the tests submit intents themselves). */
const idle: Strategy = { name: 'idle', version: '1', id: 'idle@1', params: {}, onBook: () => null } as unknown as Strategy;

/** A one-level book, as the Alpaca processor builds one from a quote. */
function quote(engine: Engine, inst: Instrument, sync: DepthSync, bid: string, ask: string, t: number): void {
  const p = 10 ** inst.priceDecimals;
  const q = 10 ** inst.qtyDecimals;
  const book = sync.book;
  book.clear();
  book.bids.set(Math.round(Number(bid) * p), 100 * q);
  book.asks.set(Math.round(Number(ask) * p), 100 * q);
  book.lastUpdateId++;
  book.lastEventTime = t;
  book.lastRecvTime = t;
  if (sync.state !== 'synced') {
    sync.state = 'synced';
    sync.lastSyncedAt = t;
    engine.onBookState(sync, t);
  }
  engine.onBook(sync, t);
}

interface Session {
  engine: Engine;
  store: Store;
  broker: RecordingBroker;
  log: RecordingLog;
  notices: EngineNotice[];
}

function session(marketHours: InstrumentSchedule | null = null): Session {
  const store = Store.open(':memory:');
  stores.push(store);
  const broker = new RecordingBroker();
  const log = new RecordingLog();
  const engine = createEngine({ config: config(), sessionId: SESSION, startedAt: T0, seed: 1, store, logger, tradeVenue: 'spot', inputLog: log, schedule: null, brokers: { alpaca: broker }, marketHours });
  (engine.opts() as EngineOptions).strategy = idle;
  const notices: EngineNotice[] = [];
  engine.observe((n) => notices.push(n));
  engine.onInstruments('alpaca', [TSLA]);
  engine.onInstruments('spot', [BTC]);
  quote(engine, TSLA, new DepthSync('alpaca', 'TSLA'), '250.00', '250.10', T0);
  quote(engine, BTC, new DepthSync('spot', 'BTCUSDT'), '60000.00', '60000.01', T0);
  return { engine, store, broker, log, notices };
}

function intent(venue: Venue, symbol: string, side: Side, qtyUnits: number, now: number, priceUnits?: number): OrderIntent {
  return {
    venue, symbol, side, type: priceUnits === undefined ? 'MARKET' : 'LIMIT', qtyUnits,
    ...(priceUnits !== undefined ? { priceUnits, timeInForce: 'GTC' as const, postOnly: false } : {}),
    strategy: 'idle@1', reason: 'test', createdAt: now,
  };
}

/** a market BUY of `shares` TSLA */
function buyTsla(s: Session, shares: number): Order {
  const o = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', shares * 1e6, s.engine.now));
  expect(o).not.toBeNull();
  return o!;
}

const fillsOf = (s: Session): Fill[] => s.store.listFills(SESSION, { limit: 1_000_000 }).reverse();
const stored = (s: Session, id: string): Order => s.store.getOrder(SESSION, id)!;
const tslaQty = (s: Session): number => s.engine.portfolio.position('alpaca', 'TSLA')?.qty ?? 0;

const exec = (orderId: string, time: number, cumQty: string, avgPrice: string, final: boolean, qty?: string, price?: string): BrokerReport => ({
  kind: 'execution', orderId, time, cumQty, avgPrice, final, ...(qty !== undefined ? { qty, price: price ?? null } : {}),
});

describe('orders of a venue with an outside broker', () => {
  it('go to the broker, not to the paper exchange', () => {
    const s = session();
    const o = buyTsla(s, 10);
    expect(s.broker.placed).toHaveLength(1);
    expect(s.broker.placed[0]!.order).toMatchObject({ id: o.id, venue: 'alpaca', symbol: 'TSLA', side: 'BUY', type: 'MARKET', qty: 10, status: 'NEW' });
    expect(s.broker.placed[0]!.spec).toMatchObject({ id: o.id, qtyUnits: 10e6 });
    expect(s.broker.placed[0]!.inst).toBe(TSLA);
    // nothing is scheduled for the paper exchange, even much later
    expect(s.engine.nextDue()).toBe(Infinity);
    s.engine.tick(T0 + 60_000);
    expect(s.engine.nextDue()).toBe(Infinity);
    expect(o.status).toBe('NEW');
    expect(s.engine.venueOrders('alpaca').map((x) => x.id)).toEqual([o.id]);
    expect(s.engine.traded('alpaca')).toBe(true);
  });

  it('a Binance order still goes to the paper exchange', () => {
    const s = session();
    const o = s.engine.submit(intent('spot', 'BTCUSDT', 'BUY', 1_000_000, T0));
    expect(o).not.toBeNull();
    expect(s.broker.placed).toHaveLength(0);
    expect(s.engine.nextDue()).toBe(T0 + 10);
  });

  it('executions with cumulative 3 then 10 book fills of 3 and 7 at their prices; the order is FILLED, the position 10', () => {
    const s = session();
    const o = buyTsla(s, 10);
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: o.id, time: T0 + 5, venueOrderId: 'a-1' }, T0 + 6);
    expect(o.status).toBe('ACCEPTED');
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 7, '3', '250.10', false, '3', '250.10'), T0 + 8);
    expect(o.status).toBe('PARTIALLY_FILLED');
    expect(tslaQty(s)).toBe(3);
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 9, '10', '250.17', true, '7', '250.20'), T0 + 10);
    expect(o.status).toBe('FILLED');
    expect(o.filledQty).toBe(10);
    expect(o.avgPrice).toBeCloseTo(250.17, 9);
    const fills = fillsOf(s);
    expect(fills.map((f) => [f.qty, f.price, f.side, f.venue, f.time])).toEqual([
      [3, 250.1, 'BUY', 'alpaca', T0 + 7],
      [7, 250.2, 'BUY', 'alpaca', T0 + 9],
    ]);
    // Alpaca stocks are commission-free (the default fee table for alpaca symbols)
    expect(fills.map((f) => f.fee)).toEqual([0, 0]);
    expect(tslaQty(s)).toBe(10);
    expect(s.engine.portfolio.position('alpaca', 'TSLA')!.avgEntry).toBeCloseTo(250.17, 9);
    expect(stored(s, o.id)).toMatchObject({ status: 'FILLED', filledQty: 10 });
    expect(s.engine.counters.lateReports).toBe(0);
    expect(s.engine.nextDue()).toBe(Infinity);
  });

  it('without the execution’s own quantity, the part’s price comes from the cumulative average', () => {
    const s = session();
    const o = buyTsla(s, 10);
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 7, '3', '250.10', false), T0 + 8);
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 9, '10', '250.17', true), T0 + 10);
    const fills = fillsOf(s);
    expect(fills.map((f) => f.qty)).toEqual([3, 7]);
    expect(fills[0]!.price).toBeCloseTo(250.1, 9);
    expect(fills[1]!.price).toBeCloseTo(250.2, 9);
    // a fill before any acknowledgement implies it
    expect(o.status).toBe('FILLED');
  });

  it('the same reports delivered twice book nothing twice', () => {
    const s = session();
    const o = buyTsla(s, 10);
    const reports: BrokerReport[] = [
      { kind: 'accepted', orderId: o.id, time: T0 + 5 },
      exec(o.id, T0 + 7, '3', '250.10', false, '3', '250.10'),
      exec(o.id, T0 + 9, '10', '250.17', true, '7', '250.20'),
    ];
    let t = T0 + 10;
    // each report twice in a row, while the order is still working
    s.engine.brokerReport('alpaca', reports[0]!, t++);
    s.engine.brokerReport('alpaca', reports[0]!, t++);
    s.engine.brokerReport('alpaca', reports[1]!, t++);
    s.engine.brokerReport('alpaca', reports[1]!, t++);
    expect(s.engine.counters.lateReports).toBe(2);
    s.engine.brokerReport('alpaca', reports[2]!, t++);
    // then everything once more, after the order ended
    for (const r of reports) s.engine.brokerReport('alpaca', r, t++);
    expect(tslaQty(s)).toBe(10);
    expect(fillsOf(s).map((f) => [f.qty, f.price])).toEqual([[3, 250.1], [7, 250.2]]);
    expect(o.status).toBe('FILLED');
    expect(s.engine.counters.fills).toBe(2);
    // the repeated accepted and partial execution while working, and the repeated accepted after the end
    expect(s.engine.counters.lateReports).toBe(5);
  });

  it('the final execution first and the partial one after give the same position', () => {
    const s = session();
    const o = buyTsla(s, 10);
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 9, '10', '250.17', true, '7', '250.20'), T0 + 10);
    expect(o.status).toBe('FILLED');
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 7, '3', '250.10', false, '3', '250.10'), T0 + 11);
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: o.id, time: T0 + 5 }, T0 + 12);
    expect(o.status).toBe('FILLED');
    expect(tslaQty(s)).toBe(10);
    const fills = fillsOf(s);
    // the whole 10 in one fill at the cumulative average (the report's own 7 is not this part)
    expect(fills.map((f) => f.qty)).toEqual([10]);
    expect(fills[0]!.price).toBeCloseTo(250.17, 9);
    expect(s.engine.portfolio.position('alpaca', 'TSLA')!.avgEntry).toBeCloseTo(250.17, 9);
    expect(s.engine.counters.lateReports).toBe(2);
  });

  it('canceled before accepted ends the order; the late accepted is counted, not applied', () => {
    const s = session();
    const o = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 2e6, T0, 24_000))!;
    expect(o).not.toBeNull();
    s.engine.brokerReport('alpaca', { kind: 'canceled', orderId: o.id, time: T0 + 5, reason: 'canceled at Alpaca' }, T0 + 6);
    expect(o.status).toBe('CANCELED');
    expect(o.rejectReason).toBe('canceled at Alpaca');
    expect(s.engine.openOrders('alpaca', 'TSLA')).toEqual([]);
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: o.id, time: T0 + 4 }, T0 + 7);
    expect(o.status).toBe('CANCELED');
    expect(s.engine.counters.lateReports).toBe(1);
    expect(stored(s, o.id).status).toBe('CANCELED');
  });

  it('a rejection after the acknowledgement ends the order CANCELED with the reason; before it, REJECTED', () => {
    const s = session();
    const a = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 2e6, T0, 24_000))!;
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: a.id, time: T0 + 5 }, T0 + 6);
    s.engine.brokerReport('alpaca', { kind: 'rejected', orderId: a.id, time: T0 + 7, reason: 'rejected by Alpaca' }, T0 + 8);
    expect(a.status).toBe('CANCELED');
    expect(a.rejectReason).toBe('rejected by Alpaca');
    expect(stored(s, a.id)).toMatchObject({ status: 'CANCELED', rejectReason: 'rejected by Alpaca' });
    const b = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 2e6, T0 + 9, 24_000))!;
    s.engine.brokerReport('alpaca', { kind: 'rejected', orderId: b.id, time: T0 + 10, reason: 'Alpaca: insufficient buying power' }, T0 + 11);
    expect(b.status).toBe('REJECTED');
    expect(b.rejectReason).toBe('Alpaca: insufficient buying power');
    expect(s.engine.counters.rejected).toBe(2);
  });

  it('an execution of an order canceled here just before is still booked', () => {
    const s = session();
    const o = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 5e6, T0, 25_000))!;
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: o.id, time: T0 + 5 }, T0 + 6);
    expect(s.engine.cancel(o.id)).toBe(true);
    expect(s.broker.canceled).toEqual([o.id]);
    s.engine.brokerReport('alpaca', { kind: 'canceled', orderId: o.id, time: T0 + 8 }, T0 + 9);
    expect(o.status).toBe('CANCELED');
    // Alpaca filled 2 before the cancel landed; the report comes after the cancel
    s.engine.brokerReport('alpaca', exec(o.id, T0 + 7, '2', '250.00', false, '2', '250.00'), T0 + 10);
    expect(tslaQty(s)).toBe(2);
    expect(fillsOf(s).map((f) => [f.qty, f.price, f.orderId])).toEqual([[2, 250, o.id]]);
    expect(o.status).toBe('CANCELED');
    expect(o.filledQty).toBe(2);
    expect(stored(s, o.id)).toMatchObject({ status: 'CANCELED', filledQty: 2 });
    // the ended order stays known to reconciliation
    expect(s.engine.venueOrders('alpaca').map((x) => x.id)).toEqual([o.id]);
    expect(s.engine.counters.lateReports).toBe(0);
  });

  it('a report for an order the engine never had counts as late', () => {
    const s = session();
    s.engine.brokerReport('alpaca', { kind: 'canceled', orderId: 'nope', time: T0 }, T0 + 1);
    s.engine.brokerReport('alpaca', exec('nope', T0, '1', '250', true), T0 + 2);
    expect(s.engine.counters.lateReports).toBe(2);
    expect(fillsOf(s)).toEqual([]);
  });

  it('applyCorrections adoptPosition books the difference at the mid as a reconcile order', () => {
    const s = session();
    expect(s.engine.applyCorrections('alpaca', [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '5' }], T0 + 100)).toBe(1);
    expect(tslaQty(s)).toBe(5);
    let fills = fillsOf(s);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ side: 'BUY', qty: 5, strategy: 'reconcile', venue: 'alpaca', symbol: 'TSLA' });
    expect(fills[0]!.price).toBeCloseTo(250.05, 9); // mid of 250.00 / 250.10
    const order = stored(s, fills[0]!.orderId);
    expect(order).toMatchObject({ strategy: 'reconcile', type: 'MARKET', side: 'BUY', qty: 5, status: 'FILLED', filledQty: 5 });
    expect(order.reason).toContain('position at alpaca is 5');
    // down to -2: a SELL of 7
    quote(s.engine, TSLA, s.engine.books.get('alpaca:TSLA' as never)!, '251.00', '251.20', T0 + 200);
    expect(s.engine.applyCorrections('alpaca', [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '-2' }], T0 + 300)).toBe(1);
    expect(tslaQty(s)).toBe(-2);
    fills = fillsOf(s);
    expect(fills[1]).toMatchObject({ side: 'SELL', qty: 7, strategy: 'reconcile' });
    expect(fills[1]!.price).toBeCloseTo(251.1, 9);
    // nothing to do when the position agrees, or the symbol is unknown
    expect(s.engine.applyCorrections('alpaca', [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '-2' }, { kind: 'adoptPosition', symbol: 'NOPE', qty: '1' }], T0 + 400)).toBe(0);
    expect(s.engine.counters.corrections).toBe(2);
    expect(s.broker.placed).toHaveLength(0); // a correction is booked, never sent
    expect(s.log.lines.filter((l) => l.source === 'alpaca rec').map((l) => JSON.parse(l.payload))).toEqual([
      [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '5' }],
      [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '-2' }],
      [{ kind: 'adoptPosition', symbol: 'TSLA', qty: '-2' }, { kind: 'adoptPosition', symbol: 'NOPE', qty: '1' }],
    ]);
  });

  it('every brokerReport is an input: an `alpaca order` line in the input log', () => {
    const s = session();
    const o = buyTsla(s, 10);
    const reports: BrokerReport[] = [
      { kind: 'accepted', orderId: o.id, time: T0 + 5, venueOrderId: 'a-1' },
      exec(o.id, T0 + 7, '10', '250.10', true, '10', '250.10'),
      { kind: 'canceled', orderId: o.id, time: T0 + 9 }, // late: still logged
    ];
    reports.forEach((r, i) => s.engine.brokerReport('alpaca', r, T0 + 20 + i));
    const lines = s.log.lines.filter((l) => l.source === 'alpaca order');
    expect(lines.map((l) => l.recvTime)).toEqual([T0 + 20, T0 + 21, T0 + 22]);
    expect(lines.map((l) => JSON.parse(l.payload) as unknown)).toEqual(reports);
  });
});

describe('market hours of the Alpaca instruments', () => {
  const CLOSE = T0 + 1_000;
  const hours: InstrumentSchedule = {
    appliesTo: (inst) => inst.venue === 'alpaca',
    pauseAt: (t) => (t >= CLOSE ? { reason: 'US market closed', until: T0 + 86_400_000 } : null),
    describe: () => ({ market: 'test' }),
    nextChange: (t) => (t < CLOSE ? CLOSE : T0 + 86_400_000),
    flattenOnPause: false,
  };

  it('entering the closed period cancels the Alpaca working orders through the broker; then Alpaca intents are denied, Binance ones are not', () => {
    const s = session(hours);
    const resting = s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 2e6, T0, 24_000))!;
    expect(resting).not.toBeNull();
    s.engine.brokerReport('alpaca', { kind: 'accepted', orderId: resting.id, time: T0 + 5 }, T0 + 6);
    const btc = s.engine.submit(intent('spot', 'BTCUSDT', 'BUY', 100_000_000, T0 + 6, 5_000_000))!; // rests far below
    expect(btc).not.toBeNull();
    s.engine.tick(T0 + 500);
    expect(s.broker.canceled).toEqual([]);
    s.engine.tick(CLOSE);
    expect(s.broker.canceled).toEqual([resting.id]);
    expect(resting.cancelRequestedAt).toBe(CLOSE);
    // the Binance order is untouched
    expect(btc.cancelRequestedAt).toBeUndefined();
    expect(s.engine.openOrders('spot', 'BTCUSDT').map((o) => o.id)).toEqual([btc.id]);
    expect(s.engine.scheduleStatus()).toMatchObject({ marketHoursPaused: { reason: 'US market closed' }, market: 'test' });

    const before = s.broker.placed.length;
    expect(s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 1e6, CLOSE))).toBeNull();
    expect(s.broker.placed).toHaveLength(before);
    const denial = s.notices.find((n) => n.type === 'denial');
    expect(denial).toMatchObject({ type: 'denial', venue: 'alpaca', symbol: 'TSLA', check: 'schedule', reason: 'US market closed' });
    const other = s.engine.submit(intent('spot', 'BTCUSDT', 'BUY', 1_000_000, CLOSE));
    expect(other).not.toBeNull();
    expect(other!.venue).toBe('spot');
    expect(s.notices.filter((n) => n.type === 'denial')).toHaveLength(1);
  });

  it('while open, Alpaca intents pass', () => {
    const s = session(hours);
    expect(s.engine.submit(intent('alpaca', 'TSLA', 'BUY', 1e6, T0))).not.toBeNull();
    expect(s.notices.filter((n) => n.type === 'denial')).toEqual([]);
  });
});
