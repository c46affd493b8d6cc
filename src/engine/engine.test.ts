import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { L2Book } from '../book/book.js';
import { loadConfig, type Config } from '../config/config.js';
import type { Logger } from '../core/logger.js';
import type { Side } from '../core/types.js';
import type { ExchangeReport, PaperExchangeOptions } from '../execution/paper/exchange.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import type { Instrument } from '../model/instrument.js';
import type { Fill, Order, OrderIntent, OrderStatus, TimeInForce } from '../model/order.js';
import { Store } from '../store/db.js';
import type { Strategy, StrategyContext } from '../strategy/strategy.js';
import type { Engine, EngineOptions } from './engine.js';
import { createEngine } from './presets.js';

/**
 * The engine's order path end to end: hand-written Binance spot messages (exchangeInfo, a depth snapshot,
 * depth diffs and trades in the real combined-stream wire format) go through a VenueProcessor into an
 * engine built by createEngine; a scripted strategy sends chosen intents and records what reaches it.
 *
 * BTCUSDT spot: prices have 2 decimals (1 unit = 0.01 USDT), quantities 8 (1 unit = 1e-8 BTC).
 */

const T0 = 1_700_000_000_000;
const SESSION = 'engine-test';
const STRATEGY = 'script@1';
const logger: Logger = pino({ level: 'silent' });

const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

function config(over: Record<string, string> = {}): Config {
  return loadConfig({
    SYMBOLS: 'BTCUSDT',
    FUTURES: 'false',
    MODEL_PATH: '', // no ML gate: these tests drive the strategy's own signals
    INITIAL_BALANCE: '100000',
    LATENCY_MODEL: 'constant',
    LATENCY_ENTRY_MS: '10',
    LATENCY_RESPONSE_MS: '20',
    LATENCY_JITTER_MS: '0',
    QUEUE_MODEL: 'risk-averse',
    IMPACT_RECOVERY_MS: '0',
    FEE_MAKER: '0.0002',
    FEE_TAKER: '0.0007',
    RISK_MAX_POSITION: '1000',
    RISK_MAX_ORDER_NOTIONAL: '1000000',
    RISK_MAX_DRAWDOWN: '0.99',
    RISK_PRICE_BAND: '0.5',
    RISK_ORDERS_PER_SECOND: '1000000',
    RISK_ORDERS_PER_MINUTE: '1000000',
    RISK_ORDERS_PER_HOUR: '10000000',
    BOOK_STALE_MS: '3600000',
    EQUITY_SNAPSHOT_MS: '1000',
    // risk features that would stop or add orders here: off (their own tests cover them)
    RISK_MAX_TOTAL_NOTIONAL: '1000000000',
    RISK_LOSS_STREAK: '0',
    RISK_STOP_ATR: '0',
    RISK_TAKE_PROFIT_ATR: '0',
    WARMUP_SECONDS: '0',
    WARMUP_POINTS: '0',
    ...over,
  });
}

// ---------------------------------------------------------------- a scripted strategy

interface Seen {
  now: number;
  id: string;
  status: OrderStatus;
  filledQty: number;
  avgPrice: number;
}

/** Sends the intents queued for it, one per book update; records every order update it is told about. */
class ScriptStrategy implements Strategy {
  readonly name = 'script';
  readonly version = '1';
  readonly id = STRATEGY;
  readonly params = {};
  /** intents to send, or actions to run, one per book update */
  readonly queue: Array<(book: L2Book, inst: Instrument, ctx: StrategyContext) => OrderIntent | null> = [];
  readonly seen: Seen[] = [];

  onBook(book: L2Book, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    const next = this.queue.shift();
    return next ? next(book, inst, ctx) : null;
  }

  onOrderUpdate(order: Order, ctx: StrategyContext): void {
    this.seen.push({ now: ctx.now, id: order.id, status: order.status, filledQty: order.filledQty, avgPrice: order.avgPrice });
  }

  /** queues one intent (quantity in BTC, price in USDT) for the next book update */
  send(side: Side, qty: string, price?: string, timeInForce?: TimeInForce, postOnly?: boolean): void {
    this.queue.push((_b, _i, ctx) => intent(ctx.now, side, qty, price, timeInForce, postOnly));
  }
}

const units = (text: string, decimals: number): number => Math.round(Number(text) * 10 ** decimals);

function intent(now: number, side: Side, qty: string, price?: string, timeInForce?: TimeInForce, postOnly?: boolean): OrderIntent {
  return {
    venue: 'spot', symbol: 'BTCUSDT', side, type: price === undefined ? 'MARKET' : 'LIMIT', qtyUnits: units(qty, 8),
    ...(price !== undefined ? { priceUnits: units(price, 2), timeInForce: timeInForce ?? 'GTC', postOnly: postOnly ?? false } : {}),
    strategy: STRATEGY, reason: 'test', createdAt: now,
  };
}

// ---------------------------------------------------------------- Binance spot on the wire

type WireLevels = [string, string][];

/** Writes real Binance spot messages into a VenueProcessor. */
class Wire {
  private u = 100;
  private tradeId = 1000;
  constructor(readonly p: VenueProcessor) {}

  /** exchangeInfo, a first diff (buffered) and the snapshot: the book is synced at `t` */
  start(t: number, bids: WireLevels, asks: WireLevels): void {
    expect(this.p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, t)).toBeNull();
    const snapshotId = this.u;
    this.depth(t, [], []);
    expect(this.p.onSnapshot('BTCUSDT', { lastUpdateId: snapshotId, bids, asks }, t)).toBe('synced');
  }

  depth(t: number, bids: WireLevels, asks: WireLevels): void {
    const U = ++this.u;
    const msg = JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: Math.floor(t), s: 'BTCUSDT', U, u: U, b: bids, a: asks } });
    expect(this.p.onMessage(msg, t)).toBe('ok');
  }

  /** `buyerIsMaker`: the aggressor sold */
  trade(t: number, price: string, qty: string, buyerIsMaker: boolean): void {
    const E = Math.floor(t);
    const msg = JSON.stringify({ stream: 'btcusdt@trade', data: { e: 'trade', E, s: 'BTCUSDT', t: ++this.tradeId, p: price, q: qty, T: E, m: buyerIsMaker, M: true } });
    expect(this.p.onMessage(msg, t)).toBe('ok');
  }
}

const BIDS: WireLevels = [['60000.00', '1.00000000'], ['59999.99', '2.00000000'], ['59990.00', '50.00000000']];
const ASKS: WireLevels = [['60000.01', '0.50000000'], ['60000.02', '1.00000000'], ['60000.03', '2.00000000'], ['60010.00', '50.00000000']];

interface Session {
  engine: Engine;
  store: Store;
  strategy: ScriptStrategy;
  wire: Wire;
  config: Config;
}

/** createEngine with our strategy in place of the configured one, fed by a VenueProcessor, synced at T0. */
function session(over: Record<string, string> = {}, seed = 7): Session {
  const store = Store.open(':memory:');
  stores.push(store);
  const cfg = config(over);
  const engine = createEngine({ config: cfg, sessionId: SESSION, startedAt: T0, seed, store, logger, tradeVenue: 'spot' });
  // createEngine wires the configured (OBI) strategy; the engine reads its options on every call
  const strategy = new ScriptStrategy();
  (engine.opts() as EngineOptions).strategy = strategy;
  const wire = new Wire(new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] }));
  wire.start(T0, BIDS, ASKS);
  return { engine, store, strategy, wire, config: cfg };
}

/** every report the paper exchange emits, in its order (the engine's emit is wrapped) */
function tapExchange(engine: Engine): ExchangeReport[] {
  const opts = (engine.exchange as unknown as { opts: PaperExchangeOptions }).opts;
  const emit = opts.emit;
  const out: ExchangeReport[] = [];
  opts.emit = (r) => {
    out.push(r);
    emit(r);
  };
  return out;
}

/** every report as the engine delivers it, with the engine time of delivery */
function tapDeliveries(engine: Engine): { at: number; report: ExchangeReport }[] {
  const out: { at: number; report: ExchangeReport }[] = [];
  const target = engine as unknown as { deliver(r: ExchangeReport): void };
  const deliver = target.deliver.bind(engine);
  target.deliver = (r) => {
    out.push({ at: engine.now, report: r });
    deliver(r);
  };
  return out;
}

const fillsOf = (s: Session): Fill[] => s.store.listFills(SESSION, { limit: 1_000_000 }).reverse();
const orderOf = (s: Session, id: string): Order => s.store.getOrder(SESSION, id)!;

// ---------------------------------------------------------------- latency

describe('order latency', () => {
  const T = T0 + 100;

  it.each([
    ['unchanged', false, 60000.01],
    ['with its best ask removed by a diff at t+5', true, 60000.02],
  ])('an order decided at t matches at t+10 against the book as it is then (%s), and is known at t+30', (_what, diff, fillPrice) => {
    const s = session();
    const placed: number[] = [];
    const place = s.engine.exchange.place.bind(s.engine.exchange);
    vi.spyOn(s.engine.exchange, 'place').mockImplementation((spec, inst, book, now) => {
      placed.push(now);
      place(spec, inst, book, now);
    });
    s.strategy.send('BUY', '0.3');
    s.wire.depth(T, [['59999.99', '2.10000000']], []); // the strategy decides here
    const id = `${SESSION}-1`;
    expect(orderOf(s, id)).toMatchObject({ status: 'NEW', createdAt: T });

    if (diff) s.wire.depth(T + 5, [], [['60000.01', '0.00000000']]);
    s.engine.tick(T + 9.999);
    expect(placed).toEqual([]); // nothing at the exchange yet
    expect(s.engine.executionStatus().inFlight).toBe(1);

    s.engine.tick(T + 10);
    expect(placed).toEqual([T + 10]);
    // matched, but nobody here knows yet
    expect(orderOf(s, id).status).toBe('NEW');
    expect(s.strategy.seen).toEqual([]);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')).toBeUndefined();
    expect(fillsOf(s)).toEqual([]);

    s.engine.tick(T + 29.999);
    expect(s.strategy.seen).toEqual([]);
    expect(s.engine.counters.fills).toBe(0);

    s.engine.tick(T + 30);
    expect(s.strategy.seen).toEqual([
      { now: T + 30, id, status: 'ACCEPTED', filledQty: 0, avgPrice: 0 },
      { now: T + 30, id, status: 'FILLED', filledQty: 0.3, avgPrice: fillPrice },
    ]);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBe(0.3);
    const fills = fillsOf(s);
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ orderId: id, side: 'BUY', price: fillPrice, qty: 0.3, liquidity: 'taker', time: T + 10, receivedAt: T + 30 });
    expect(fills[0]!.fee).toBeCloseTo(fillPrice * 0.3 * 0.0007, 9);
    expect(orderOf(s, id)).toMatchObject({ status: 'FILLED', filledQty: 0.3, avgPrice: fillPrice, updatedAt: T + 30 });
  });

  it('a resting limit order is acknowledged at t+30; a trade at t+50 fills it, known at t+70', () => {
    const s = session();
    s.strategy.send('BUY', '0.5', '60000.00'); // joins behind the 1.0 BTC displayed at 60000.00
    s.wire.depth(T, [], [['60000.03', '2.10000000']]);
    const id = `${SESSION}-1`;
    s.engine.tick(T + 30);
    expect(s.strategy.seen).toEqual([{ now: T + 30, id, status: 'ACCEPTED', filledQty: 0, avgPrice: 0 }]);
    s.wire.trade(T + 50, '60000.00', '1.20000000', true); // 0.2 BTC beyond the queue
    s.engine.tick(T + 69.999);
    expect(s.strategy.seen).toHaveLength(1);
    s.engine.tick(T + 70);
    expect(s.strategy.seen.at(-1)).toEqual({ now: T + 70, id, status: 'PARTIALLY_FILLED', filledQty: 0.2, avgPrice: 60000 });
    expect(fillsOf(s)[0]).toMatchObject({ price: 60000, qty: 0.2, liquidity: 'maker', time: T + 50, receivedAt: T + 70 });
    expect(fillsOf(s)[0]!.fee).toBeCloseTo(60000 * 0.2 * 0.0002, 9);
  });

  // No look-ahead: the processor lets the engine run what is due at a diff's receive time before the
  // diff changes the book (FeedSink.advanceTo), so backtests match orders against the book of their time.
  it('an order due at t+10 does not see a diff received at t+15 when no tick came in between', () => {
    const s = session();
    s.strategy.send('BUY', '0.3');
    s.wire.depth(T, [['59999.99', '2.10000000']], []);
    s.wire.depth(T + 15, [], [['60000.01', '0.00000000']]);
    s.engine.tick(T + 30);
    expect(fillsOf(s)[0]).toMatchObject({ price: 60000.01, time: T + 10 });
  });
});

describe('orders whose record could not be written (withdrawUnrecorded)', () => {
  it('one still in its entry latency never reaches the exchange and ends REJECTED; one already there is left alone', () => {
    const s = session();
    const placed: string[] = [];
    const place = s.engine.exchange.place.bind(s.engine.exchange);
    vi.spyOn(s.engine.exchange, 'place').mockImplementation((spec, inst, book, now) => {
      placed.push(spec.id);
      place(spec, inst, book, now);
    });
    const T = T0 + 100;
    s.strategy.send('BUY', '0.1');
    s.wire.depth(T, [['59999.99', '2.10000000']], []);
    const first = `${SESSION}-1`;
    s.engine.tick(T + 10); // at the exchange
    s.strategy.send('BUY', '0.2');
    s.wire.depth(T + 11, [['59999.99', '2.20000000']], []);
    const second = `${SESSION}-2`;
    expect(orderOf(s, second).status).toBe('NEW');
    const seenBefore = s.strategy.seen.length;
    expect(s.engine.withdrawUnrecorded(new Set([first, second, 'not-ours']), 'not sent: storage failure')).toEqual([second]);
    expect(s.engine.counters.withdrawn).toBe(1);
    expect(s.engine.openOrders('spot', 'BTCUSDT').map((o) => o.id)).not.toContain(second);
    expect(s.strategy.seen.slice(seenBefore)).toEqual([{ now: T + 11, id: second, status: 'REJECTED', filledQty: 0, avgPrice: 0 }]);
    s.engine.tick(T + 100);
    // the first filled as usual; the second never reached the exchange, and nothing filled it
    expect(placed).toEqual([first]);
    expect(fillsOf(s).map((f) => f.orderId)).toEqual([first]);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.1, 9);
    expect(orderOf(s, second)).toMatchObject({ status: 'REJECTED', rejectReason: 'not sent: storage failure' });
    expect(s.engine.withdrawUnrecorded(new Set([second]), 'again')).toEqual([]);
  });
});

describe('report order', () => {
  it('with jitter, reports still reach the engine in the order the exchange produced them', () => {
    const s = session({ LATENCY_JITTER_MS: '50' }, 11);
    const emitted = tapExchange(s.engine);
    const delivered = tapDeliveries(s.engine);
    const lat = s.engine.opts().models.latency;
    const response = lat.response.bind(lat);
    const drawn: number[] = [];
    lat.response = (now) => {
      const v = response(now);
      drawn.push(v);
      return v;
    };

    // a resting bid filled piece by piece, and market orders 1 ms apart (ack + fill each)
    let t = T0 + 100;
    s.strategy.send('BUY', '0.5', '60000.00');
    s.wire.depth(t, [], [['60000.03', '2.10000000']]);
    t += 100;
    for (let i = 0; i < 20; i++) {
      s.wire.trade(++t, '60000.00', '0.10000000', true);
      s.strategy.send(i % 2 === 0 ? 'BUY' : 'SELL', '0.01');
      s.wire.depth(++t, [], [['60010.00', `${50 + i}.00000000`]]);
    }
    s.engine.tick(t + 1000);

    expect(delivered.map((d) => d.report)).toEqual(emitted);
    for (let i = 1; i < delivered.length; i++) expect(delivered[i]!.at).toBeGreaterThanOrEqual(delivered[i - 1]!.at);
    // the jitter was real: without the ordering, some report would have overtaken an earlier one
    expect(drawn).toHaveLength(emitted.length);
    const naive = emitted.map((r, i) => r.time + drawn[i]!);
    expect(naive.some((due, i) => i > 0 && due < Math.max(...naive.slice(0, i)))).toBe(true);
    // fills in the store: in delivery order, exchange times never go back
    const fills = fillsOf(s);
    expect(fills.length).toBe(s.engine.counters.fills);
    for (let i = 1; i < fills.length; i++) {
      expect(fills[i]!.time).toBeGreaterThanOrEqual(fills[i - 1]!.time);
      expect(fills[i]!.receivedAt).toBeGreaterThanOrEqual(fills[i - 1]!.receivedAt);
    }
    expect(s.engine.counters.errors).toBe(0);
    expect(orderOf(s, `${SESSION}-1`)).toMatchObject({ status: 'FILLED', filledQty: 0.5 });
  });

  it('with jitter, a cancel sent right after its order never reaches the exchange before it', () => {
    // the cancel leaves 1 ms after the order; with entry jitter of 50 ms it could overtake the order,
    // be rejected as unknown, and leave the order working with no way to cancel it again
    for (let seed = 1; seed <= 30; seed++) {
      const s = session({ LATENCY_JITTER_MS: '50' }, seed);
      const T = T0 + 100;
      s.strategy.send('BUY', '0.1', '59999.00');
      s.wire.depth(T, [], [['60000.03', '2.10000000']]);
      const id = `${SESSION}-1`;
      s.strategy.queue.push((_b, _i, ctx) => {
        ctx.cancel(id);
        return null;
      });
      s.wire.depth(T + 1, [], [['60000.03', '2.20000000']]);
      s.engine.tick(T + 1000);
      expect(orderOf(s, id).status, `seed ${seed}`).toBe('CANCELED');
      expect(s.engine.counters.cancelRejects, `seed ${seed}`).toBe(0);
      expect(s.engine.allOpenOrders()).toEqual([]);
    }
  });
});

describe('cancel races', () => {
  const T = T0 + 100;

  it('a cancel sent after the order filled at the exchange is rejected; the order ends FILLED', () => {
    const s = session();
    const delivered = tapDeliveries(s.engine);
    s.strategy.send('BUY', '0.5', '60000.00');
    s.wire.depth(T, [], [['60000.03', '2.10000000']]); // order at T, at the exchange at T+10, ack at T+30
    s.wire.trade(T + 40, '59999.99', '0.01000000', true); // trades through: filled at T+40, known at T+60
    const id = `${SESSION}-1`;
    s.strategy.queue.push((_b, _i, ctx) => {
      // at T+50 the strategy still believes the order is working
      expect(ctx.openOrders(_i).map((o) => [o.id, o.status])).toEqual([[id, 'ACCEPTED']]);
      ctx.cancel(id); // reaches the exchange at T+60, after the fill
      return null;
    });
    s.wire.depth(T + 50, [], [['60000.03', '2.20000000']]);
    s.engine.tick(T + 1000);
    expect(delivered.map((d) => [d.at, d.report.kind])).toEqual([
      [T + 30, 'accepted'],
      [T + 60, 'fill'],
      [T + 80, 'cancel_rejected'],
    ]);
    expect(orderOf(s, id)).toMatchObject({ status: 'FILLED', filledQty: 0.5, cancelRequestedAt: T + 50 });
    expect(s.strategy.seen.map((x) => x.status)).toEqual(['ACCEPTED', 'FILLED']);
    expect(s.engine.counters).toMatchObject({ cancels: 1, cancelRejects: 1, errors: 0, fills: 1 });
  });

  it('a cancel that arrives while the order rests cancels it, keeping what already filled', () => {
    const s = session();
    s.strategy.send('BUY', '0.5', '60000.00');
    s.wire.depth(T, [], [['60000.03', '2.10000000']]);
    s.wire.trade(T + 40, '60000.00', '1.10000000', true); // 0.1 beyond the queue: partial fill at T+40
    const id = `${SESSION}-1`;
    s.strategy.queue.push((_b, _i, ctx) => {
      ctx.cancel(id);
      return null;
    });
    s.wire.depth(T + 45, [], [['60000.03', '2.20000000']]); // cancel at T+45, at the exchange at T+55
    s.wire.trade(T + 56, '59999.99', '1.00000000', true); // would have filled it, but it is gone
    s.engine.tick(T + 1000);
    expect(s.strategy.seen.map((x) => [x.now, x.status, x.filledQty])).toEqual([
      [T + 30, 'ACCEPTED', 0],
      [T + 60, 'PARTIALLY_FILLED', 0.1],
      [T + 75, 'CANCELED', 0.1],
    ]);
    expect(s.engine.counters).toMatchObject({ cancelRejects: 0, errors: 0, fills: 1 });
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.1, 12);
  });
});

// ---------------------------------------------------------------- accounting

type Action =
  | { kind: 'market'; side: Side; steps: number }
  | { kind: 'limit'; side: Side; offTicks: number; steps: number; tif: TimeInForce }
  | { kind: 'trade'; offTicks: number; qtyMilli: number; buyerIsMaker: boolean }
  | { kind: 'depth'; bid: boolean; level: number; qtyMilli: number }
  | { kind: 'wait'; ms: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('market' as const), side: fc.constantFrom<Side>('BUY', 'SELL'), steps: fc.integer({ min: 10, max: 40_000 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('limit' as const), side: fc.constantFrom<Side>('BUY', 'SELL'), offTicks: fc.integer({ min: -3, max: 3 }), steps: fc.integer({ min: 10, max: 40_000 }), tif: fc.constantFrom<TimeInForce>('GTC', 'GTC', 'IOC', 'FOK') }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('trade' as const), offTicks: fc.integer({ min: -3, max: 3 }), qtyMilli: fc.integer({ min: 1, max: 2000 }), buyerIsMaker: fc.boolean() }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('depth' as const), bid: fc.boolean(), level: fc.integer({ min: 0, max: 3 }), qtyMilli: fc.integer({ min: 0, max: 2000 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 300 }) }), weight: 1 },
);

/**
 * Drives one session through the actions. Prices stay on a fixed grid around the spread (bids at
 * 60000.00 and below, asks at 60000.01 and above), so the book never crosses; order quantities are
 * multiples of the 0.00001 BTC step.
 */
function drive(s: Session, actions: readonly Action[]): void {
  let t = T0 + 10;
  const px = (ticks: number) => (ticks / 100).toFixed(2);
  const bid0 = 6_000_000;
  const ask0 = 6_000_001;
  for (const a of actions) {
    t += 1;
    switch (a.kind) {
      case 'market':
        s.strategy.send(a.side, (a.steps / 1e5).toFixed(5));
        s.wire.depth(t, [['59990.00', `${50 + (t % 7)}.00000000`]], []);
        break;
      case 'limit': {
        const ticks = a.side === 'BUY' ? bid0 + a.offTicks : ask0 + a.offTicks;
        s.strategy.send(a.side, (a.steps / 1e5).toFixed(5), px(ticks), a.tif);
        s.wire.depth(t, [['59990.00', `${50 + (t % 7)}.00000000`]], []);
        break;
      }
      case 'trade':
        s.wire.trade(t, px(bid0 + a.offTicks), (a.qtyMilli / 1000).toFixed(8), a.buyerIsMaker);
        break;
      case 'depth': {
        const level: [string, string] = [px(a.bid ? bid0 - a.level : ask0 + a.level), (a.qtyMilli / 1000).toFixed(8)];
        s.wire.depth(t, a.bid ? [level] : [], a.bid ? [] : [level]);
        break;
      }
      case 'wait':
        t += a.ms;
        s.engine.tick(t);
        break;
    }
  }
  // everything still in flight arrives
  s.engine.tick(t + 10_000);
}

describe('accounting', () => {
  /*
   * The identity, from Portfolio.applyFill (s = +1 buy / -1 sell, fill price p, qty q, fee f):
   *   cash       -= s·p·q + f
   *   open/add:     avgEntry' = (|q0|·avgEntry + q·p) / (|q0| + q), qty' = q0 + s·q, realized unchanged
   *   reduce/close: realized += (p − avgEntry)·closeQty·sign(q0), avgEntry unchanged (0 when flat; p for a flip's rest)
   * In each case V = cash + qty·avgEntry changes by exactly (realized change − f), so at every moment
   *   cash + Σ qty·avgEntry = initialCash + realizedPnl − fees
   * and, marking each position at its last fill price L (the valuation the portfolio uses when unmarked),
   *   cash + Σ qty·L = initialCash + realizedPnl + Σ qty·(L − avgEntry) − fees.
   * The test replays the stored fills through its own average-cost ledger and checks both sides.
   */
  it('cash, positions and P&L balance after random order flow, and the fills table matches the counters', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 20, maxLength: 120 }), fc.integer({ min: 0, max: 1000 }), (actions, seed) => {
        const s = session({ LATENCY_JITTER_MS: '5', QUEUE_MODEL: 'prob-power:2', IMPACT_RECOVERY_MS: '200' }, seed);
        // the mid moves the mark; value positions at their last fill price instead, as the identity says
        drive(s, actions);
        const fills = fillsOf(s);
        const pf = s.engine.portfolio;
        const initial = s.config.INITIAL_BALANCE;

        // the fills table against the engine's counters and the portfolio
        const totals = s.store.fillTotals(SESSION);
        expect(totals.count).toBe(s.engine.counters.fills);
        expect(fills).toHaveLength(s.engine.counters.fills);
        expect(totals.fees).toBeCloseTo(pf.fees, 6);
        expect(totals.realizedPnl).toBeCloseTo(pf.realizedPnl, 6);
        expect(s.engine.counters.errors).toBe(0);

        // an independent average-cost ledger over the stored fills, in the order they were booked
        let cash = initial;
        let qty = 0;
        let avg = 0;
        let realized = 0;
        let fees = 0;
        let last = NaN;
        for (const f of fills) {
          const sgn = f.side === 'BUY' ? 1 : -1;
          cash -= sgn * f.price * f.qty + f.fee;
          fees += f.fee;
          last = f.price;
          if (qty === 0 || Math.sign(qty) === sgn) {
            avg = (Math.abs(qty) * avg + f.qty * f.price) / (Math.abs(qty) + f.qty);
            qty += sgn * f.qty;
          } else {
            const close = Math.min(f.qty, Math.abs(qty));
            const r = (f.price - avg) * close * Math.sign(qty);
            realized += r;
            expect(f.realizedPnl).toBeCloseTo(r, 6);
            qty += sgn * f.qty;
            if (Math.abs(qty) < 1e-9) {
              qty = 0;
              avg = 0;
            } else if (Math.sign(qty) === sgn) avg = f.price; // flipped
          }
        }
        const pos = pf.position('spot', 'BTCUSDT');
        expect(pf.cash).toBeCloseTo(cash, 6);
        expect(pf.fees).toBeCloseTo(fees, 6);
        expect(pf.realizedPnl).toBeCloseTo(realized, 6);
        expect(pos?.qty ?? 0).toBeCloseTo(qty, 9);
        expect(pos?.avgEntry ?? 0).toBeCloseTo(avg, 6);
        // the identities
        expect(pf.cash + qty * avg).toBeCloseTo(initial + pf.realizedPnl - pf.fees, 6);
        if (fills.length > 0) {
          expect(pf.cash + qty * last).toBeCloseTo(initial + pf.realizedPnl + qty * (last - avg) - pf.fees, 6);
        }

        // every stored order agrees with its fills
        const orders = s.store.listOrders(SESSION, { limit: 1_000_000 });
        expect(orders).toHaveLength(s.engine.counters.orders);
        for (const o of orders) {
          const mine = fills.filter((f) => f.orderId === o.id);
          const filled = mine.reduce((a, f) => a + f.qty, 0);
          expect(o.filledQty).toBeCloseTo(filled, 9);
          expect(filled).toBeLessThanOrEqual(o.qty + 1e-12);
          if (o.price !== null) for (const f of mine) expect(o.side === 'BUY' ? f.price <= o.price : f.price >= o.price).toBe(true);
          for (const f of mine) expect(f.receivedAt).toBeGreaterThanOrEqual(f.time + 20);
          const working = s.engine.allOpenOrders().some((w) => w.id === o.id);
          expect(working).toBe(['ACCEPTED', 'PARTIALLY_FILLED'].includes(o.status));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('metrics recorder, observers and statistics', () => {
  it('equity rows carry the running high-water mark; observers see every fill; /metrics agrees with the ledger', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 20, maxLength: 80 }), (actions) => {
        const s = session({ QUEUE_MODEL: 'prob-power:2' });
        const notices: Record<string, number> = {};
        const fillIds: string[] = [];
        const off = s.engine.observe((n) => {
          notices[n.type] = (notices[n.type] ?? 0) + 1;
          if (n.type === 'fill') fillIds.push(n.fill.id);
        });
        drive(s, actions);
        s.engine.flush();
        off();
        const fills = fillsOf(s);
        expect(fillIds).toEqual(fills.map((f) => f.id));
        expect(notices['order'] ?? 0).toBeGreaterThanOrEqual(s.engine.counters.orders);

        // every row: hwm = running max of equity (from the initial cash), drawdown = equity / hwm - 1
        const rows = s.store.equityCurve(SESSION, {});
        let hwm = s.config.INITIAL_BALANCE;
        for (const r of rows) {
          hwm = Math.max(hwm, r.equity);
          expect(r.highWaterMark).toBe(hwm);
          expect(r.drawdown).toBeCloseTo(r.equity / hwm - 1, 12);
        }
        // rows are written on fills and when the account changed, never twice the same between fills
        expect(rows.length).toBeLessThanOrEqual(fills.length + 1 + actions.filter((a) => a.kind === 'wait').length + 1);

        const m = s.engine.metrics();
        const trips = s.store.listTrades(SESSION, { limit: 1_000_000 });
        const closed = trips.filter((t) => t.status === 'CLOSED');
        expect(m.overall.trades).toBe(closed.length);
        expect(m.overall.fees).toBeCloseTo(s.engine.portfolio.fees, 6);
        expect(Object.keys(m.byStrategy).sort()).toEqual([...new Set(trips.map((t) => t.strategy))].sort());
        expect(s.engine.account().highWaterMark).toBeGreaterThanOrEqual(hwm);
      }),
      { numRuns: 15 },
    );
  });

  it('with defer (live), notices and order log lines wait for it, and carry the state of when they were made', () => {
    const actions = fc.sample(fc.array(actionArb, { minLength: 60, maxLength: 60 }), { numRuns: 1, seed: 11 })[0]!;
    const run = (deferred: boolean) => {
      const s = session();
      const lines: unknown[] = [];
      const queue: (() => void)[] = [];
      const opts = s.engine.opts() as EngineOptions;
      opts.logOrders = true;
      // a pino logger that keeps each line it writes
      opts.logger = pino({ level: 'info', base: null, timestamp: false }, { write: (l: string) => void lines.push(JSON.parse(l)) });
      if (deferred) opts.defer = (fn) => queue.push(fn);
      const notices: unknown[] = [];
      s.engine.observe((n) => notices.push(structuredClone(n)));
      drive(s, actions);
      return { s, lines, notices, queue };
    };
    const now = run(false);
    const later = run(true);
    expect(now.s.engine.counters.fills).toBeGreaterThan(0);
    // nothing reported yet: it waits for the end of the input
    expect(later.notices).toEqual([]);
    expect(later.lines).toEqual([]);
    expect(later.queue.length).toBeGreaterThan(0);
    for (const fn of later.queue) fn();
    // the same notices and lines, each as the order was when it was made (orders change after)
    expect(later.notices).toEqual(now.notices);
    expect(later.lines).toEqual(now.lines);
    expect(later.lines.length).toBeGreaterThan(0);
    expect(fillsOf(later.s)).toEqual(fillsOf(now.s));
  });

  it('an observer that throws is logged and does not change what the engine does', () => {
    const quiet = session();
    const noisy = session();
    noisy.engine.observe(() => {
      throw new Error('observer bug');
    });
    const actions = fc.sample(fc.array(actionArb, { minLength: 40, maxLength: 40 }), { numRuns: 1, seed: 3 })[0]!;
    drive(quiet, actions);
    drive(noisy, actions);
    expect(fillsOf(noisy)).toEqual(fillsOf(quiet));
    expect(noisy.engine.counters).toEqual(quiet.engine.counters);
  });
});

// ---------------------------------------------------------------- determinism

describe('kill switch with flatten', () => {
  it('keeps closing on every tick until flat: a closing order refused on a resyncing book is sent again once it is synced', () => {
    const s = session();
    const T = T0 + 100;
    s.strategy.send('BUY', '0.3');
    s.wire.depth(T, [['59999.99', '2.10000000']], []);
    s.engine.tick(T + 30);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBe(0.3);
    // the book leaves sync, then the operator kills with flatten: the closing order is denied
    s.wire.p.onReset(['BTCUSDT'], 'resyncing', T + 40);
    s.engine.control({ cmd: 'kill', flatten: true, reason: 'drill' }, T + 50);
    expect(s.engine.allOpenOrders()).toEqual([]);
    s.engine.tick(T + 1000);
    expect(s.engine.allOpenOrders()).toEqual([]);
    expect(s.engine.riskStatus().denials['book_not_synced']).toBe(2);
    // synced again: the next tick sends it, and it fills
    s.wire.start(T + 1500, BIDS, ASKS);
    s.engine.tick(T + 2000);
    const closing = s.engine.allOpenOrders();
    expect(closing).toHaveLength(1);
    expect(closing[0]).toMatchObject({ side: 'SELL', type: 'MARKET', qty: 0.3, strategy: 'risk' });
    s.engine.tick(T + 2100);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBe(0);
    // flat: later ticks send nothing more
    s.engine.tick(T + 3000);
    expect(s.engine.allOpenOrders()).toEqual([]);
    expect(s.store.listOrders(SESSION, { limit: 100 }).filter((o) => o.strategy === 'risk')).toHaveLength(1);
  });
});

describe('determinism', () => {
  it('the same inputs and seed give identical orders and fills', () => {
    fc.assert(
      fc.property(fc.array(actionArb, { minLength: 5, maxLength: 50 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (actions, seed) => {
        const over = { LATENCY_JITTER_MS: '40', QUEUE_MODEL: 'prob-log', IMPACT_RECOVERY_MS: '500', IMPACT_SHAPE: 'exponential' };
        const run = () => {
          const s = session(over, seed);
          drive(s, actions);
          return {
            orders: s.store.listOrders(SESSION, { limit: 1_000_000 }),
            fills: s.store.listFills(SESSION, { limit: 1_000_000 }),
            trades: s.store.listTrades(SESSION, { limit: 1_000_000 }),
            counters: { ...s.engine.counters },
          };
        };
        const a = run();
        const b = run();
        expect(b).toEqual(a);
      }),
      { numRuns: 15 },
    );
  });

  it('the seed drives the jitter: another seed gives other receive times', () => {
    const over = { LATENCY_JITTER_MS: '40' };
    const actions: Action[] = Array.from({ length: 10 }, (_, i) => ({ kind: 'market' as const, side: i % 2 === 0 ? 'BUY' : 'SELL', steps: 1000 }));
    const receiveTimes = (seed: number) => {
      const s = session(over, seed);
      drive(s, actions);
      return fillsOf(s).map((f) => f.receivedAt);
    };
    expect(receiveTimes(1)).toEqual(receiveTimes(1));
    expect(receiveTimes(2)).not.toEqual(receiveTimes(1));
  });
});
