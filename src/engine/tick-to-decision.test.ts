import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { L2Book } from '../book/book.js';
import { loadConfig } from '../config/config.js';
import type { Side } from '../core/types.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import type { Instrument } from '../model/instrument.js';
import type { OrderIntent } from '../model/order.js';
import { Store } from '../store/db.js';
import type { Strategy, StrategyContext } from '../strategy/strategy.js';
import type { Engine, EngineOptions } from './engine.js';
import { createEngine } from './presets.js';
import { TickToDecision } from './tick-to-decision.js';

const T0 = 1_700_000_000_000;
const logger = pino({ level: 'silent' });
const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

/** Sends the queued intents, one per book update. */
class Script implements Strategy {
  readonly name = 'script';
  readonly version = '1';
  readonly id = 'script@1';
  readonly params = {};
  readonly queue: { side: Side; btc: number }[] = [];
  /** called as the strategy runs (a test moves the clock there) */
  during: () => void = () => {};
  onBook(_book: L2Book, _inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    this.during();
    const next = this.queue.shift();
    if (!next) return null;
    return { venue: 'spot', symbol: 'BTCUSDT', side: next.side, type: 'MARKET', qtyUnits: Math.round(next.btc * 1e8), strategy: this.id, reason: 'test', createdAt: ctx.now };
  }
}

/** An engine fed real Binance spot messages through a VenueProcessor; `clock` is its decision clock (live). */
function session(clock?: () => number): { engine: Engine; strategy: Script; depth: (t: number) => void } {
  const store = Store.open(':memory:');
  stores.push(store);
  const config = loadConfig({
    SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', INITIAL_BALANCE: '100000', LATENCY_MODEL: 'constant', LATENCY_ENTRY_MS: '10', LATENCY_RESPONSE_MS: '20',
    LATENCY_JITTER_MS: '0', RISK_MAX_POSITION: '1', RISK_MAX_ORDER_NOTIONAL: '1000000', RISK_MAX_TOTAL_NOTIONAL: '1000000000', RISK_MAX_DRAWDOWN: '0.99',
    RISK_ORDERS_PER_SECOND: '1000000', RISK_ORDERS_PER_MINUTE: '1000000', RISK_ORDERS_PER_HOUR: '10000000', BOOK_STALE_MS: '3600000',
    RISK_LOSS_STREAK: '0', RISK_STOP_ATR: '0', RISK_TAKE_PROFIT_ATR: '0', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', SHABBAT_PAUSE: 'false',
  });
  const engine = createEngine({ config, sessionId: 't2d', startedAt: T0, seed: 1, store, logger, tradeVenue: 'spot', ...(clock ? { decisionClock: clock } : {}) });
  const strategy = new Script();
  (engine.opts() as EngineOptions).strategy = strategy;
  const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] });
  let u = 100;
  expect(p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, T0)).toBeNull();
  const depth = (t: number): void => {
    const U = ++u;
    const msg = JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: Math.floor(t), s: 'BTCUSDT', U, u: U, b: [['59999.99', `${(U % 7) + 1}.00000000`]], a: [] } });
    expect(p.onMessage(msg, t)).toBe('ok');
  };
  const snapshotId = u;
  depth(T0);
  const book = { lastUpdateId: snapshotId, bids: [['60000.00', '1.00000000'], ['59999.99', '2.00000000']], asks: [['60000.01', '5.00000000'], ['60000.02', '5.00000000']] };
  expect(p.onSnapshot('BTCUSDT', book, T0)).toBe('synced');
  return { engine, strategy, depth };
}

describe('tick-to-decision latency', () => {
  it('live: each approval while handling an input is recorded (receive clock minus the input receive time); denials, timer ticks and commands are not', () => {
    let lag = 0.025; // ms after the input's receive time
    let current = T0;
    const s = session(() => current + lag);
    const at = (t: number): void => {
      current = t;
      s.depth(t);
    };
    s.strategy.queue.push({ side: 'BUY', btc: 0.1 }, { side: 'BUY', btc: 0.1 });
    at(T0 + 100);
    lag = 0.075;
    at(T0 + 200);
    expect(s.engine.tickToDecision.count).toBe(2);
    // denied (max position 1 BTC): not a decision to record
    s.strategy.queue.push({ side: 'BUY', btc: 5 });
    at(T0 + 300);
    expect(s.engine.counters.denials).toBe(1);
    expect(s.engine.tickToDecision.count).toBe(2);
    // timer ticks deliver the fills; a kill with flatten sends a market order outside any input
    current = T0 + 400;
    s.engine.tick(T0 + 400);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.2, 9);
    const orders = s.engine.counters.orders;
    s.engine.control({ cmd: 'kill', flatten: true, reason: 'test' }, T0 + 410);
    expect(s.engine.counters.orders).toBe(orders + 1);
    expect(s.engine.tickToDecision.count).toBe(2);
    const sum = s.engine.tickToDecision.summary();
    expect(sum).toMatchObject({ count: 2 });
    expect(sum.p50Us).toBeCloseTo(25, 0);
    expect(sum.maxUs).toBeCloseTo(75, 0);
    expect(sum.p999Us).toBeCloseTo(75, 0);
  });

  it('splits each decision into the stages of its frame path, which add up to its latency, and keeps the slowest', () => {
    let lag = 0;
    let current = T0;
    const s = session(() => current + lag);
    const at = (t: number, receive: number, strategy: number): void => {
      current = t;
      lag = receive; // the frame reaches the engine `receive` ms after it was received
      s.strategy.during = () => {
        lag += strategy;
      };
      s.depth(t);
    };
    for (let i = 0; i < 20; i++) {
      s.strategy.queue.push({ side: i % 2 ? 'SELL' : 'BUY', btc: 0.01 });
      at(T0 + 100 * (i + 1), 0.005, i === 7 ? 0.5 : 0.04 + i / 1000); // 40..59 µs, one of 500
    }
    // a strategy that returns nothing: no decision, no stage record
    at(T0 + 5000, 0.005, 0.9);
    const t = s.engine.tickToDecision;
    expect(t.count).toBe(20);
    const b = t.stages();
    expect(b.count).toBe(20);
    expect(b.stages.receive.p50Us).toBeCloseTo(5, 0); // epoch ms carry ~0.25 µs of resolution
    expect(b.stages.strategy.p50Us).toBeCloseTo(50, -1);
    expect(b.stages.strategy.maxUs).toBeCloseTo(500, -1);
    for (const stage of ['due', 'decode', 'market', 'submit', 'risk'] as const) expect(b.stages[stage].maxUs).toBeLessThan(0.5);
    expect(b.slowest).toHaveLength(16);
    expect(b.slowest[0]!.at).toBe(T0 + 800);
    expect(b.slowest[0]!.totalUs).toBeCloseTo(505, 0);
    for (const d of b.slowest) {
      const sum = Object.values(d.stages).reduce((a, x) => a + x, 0);
      expect(sum).toBeCloseTo(d.totalUs, 1);
    }
    // the tail: the slowest 1% of 20 is the one slow decision, the slowest 10% that one and one other
    expect(b.tail.p99.count).toBe(1);
    expect(b.tail.p99.stages.strategy).toBeCloseTo(500, 0);
    expect(b.tail.p90.count).toBe(2);
    expect(b.tail.p90.totalUs).toBeCloseTo((505 + 64) / 2, 0);
    expect(b.tail.p90.stages.strategy).toBeCloseTo((500 + 59) / 2, 0);
    // slowest first
    expect(b.slowest.map((d) => d.totalUs)).toEqual([...b.slowest.map((d) => d.totalUs)].sort((x, y) => y - x));
  });

  it('records no stages for a decision whose frame path was not marked through (a timer tick, a command)', () => {
    const t = new TickToDecision();
    t.begin(T0, T0 + 0.001);
    t.mark(1, T0 + 0.002);
    // stage 2 skipped: the record is void
    t.mark(3, T0 + 0.003);
    t.mark(4, T0 + 0.004);
    t.mark(5, T0 + 0.005);
    t.decide(T0, T0 + 0.006);
    expect(t.count).toBe(1);
    expect(t.stages().count).toBe(0);
    expect(t.stages().stages.risk.p50Us).toBeNull();
    expect(t.stages().tail.p99).toMatchObject({ count: 0, totalUs: null });
    // another frame's decision does not take this frame's marks
    t.begin(T0 + 1, T0 + 1.001);
    for (let i = 1; i <= 5; i++) t.mark(i, T0 + 1 + i / 1000);
    t.decide(T0 + 2, T0 + 2.01);
    expect(t.stages().count).toBe(0);
    t.begin(T0 + 3, T0 + 3.001);
    for (let i = 1; i <= 5; i++) t.mark(i, T0 + 3 + (i + 1) / 1000);
    t.decide(T0 + 3, T0 + 3.01);
    expect(t.stages().count).toBe(1);
    expect(t.stages().stages.risk.p50Us).toBeCloseTo(4, 0);
  });

  it('without a decision clock (backtests, replays) nothing is recorded', () => {
    const s = session();
    s.strategy.queue.push({ side: 'BUY', btc: 0.1 }, { side: 'SELL', btc: 0.1 });
    s.depth(T0 + 100);
    s.depth(T0 + 200);
    expect(s.engine.counters.orders).toBe(2);
    expect(s.engine.tickToDecision.summary()).toEqual({ count: 0, p50Us: null, p90Us: null, p99Us: null, p999Us: null, maxUs: null });
    expect(s.engine.tickToDecision.stages()).toMatchObject({ count: 0, slowest: [] });
  });

  it('summarizes in µs with 3 significant digits and clamps absurd values', () => {
    const t = new TickToDecision();
    for (let i = 1; i <= 1000; i++) t.record(i / 1000); // 1..1000 µs
    const s = t.summary();
    expect(s.count).toBe(1000);
    expect(s.p50Us).toBeCloseTo(500, -1);
    expect(s.p99Us).toBeCloseTo(990, -1);
    expect(s.maxUs).toBe(1000);
    t.record(1e9); // 11 days: kept as 60 s
    expect(t.summary().maxUs).toBe(60e6);
    t.record(-1); // a clock step back: the smallest value
    expect(t.summary().count).toBe(1002);
  });
});
