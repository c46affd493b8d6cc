import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import type { OrderIntent } from '../model/order.js';
import { Store } from '../store/db.js';
import { createEngine } from './presets.js';

const logger = pino({ level: 'silent' });
const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

// Jerusalem, Shabbat of 2024-03-22: candle lighting 17:34 (+02:00), nightfall (8.5°) 18:30 on Saturday
const START = Date.parse('2024-03-22T17:34:00+02:00');
const END = Date.parse('2024-03-23T18:30:00+02:00');

function setup(env: Record<string, string> = {}) {
  const store = Store.open(':memory:');
  stores.push(store);
  const t0 = START - 10 * 60_000;
  const config = loadConfig({ SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', BOOK_STALE_MS: '3600000', RISK_STOP_ATR: '0', LATENCY_ENTRY_MS: '1', LATENCY_RESPONSE_MS: '1', ...env });
  const engine = createEngine({ config, sessionId: 's', startedAt: t0, seed: 1, store, logger, tradeVenue: 'spot' });
  const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] });
  p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, t0);
  p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: t0, s: 'BTCUSDT', U: 101, u: 101, b: [['60000.00', '1.0']], a: [] } }), t0);
  p.onSnapshot('BTCUSDT', { lastUpdateId: 100, bids: [['60000.00', '2.0']], asks: [['60001.00', '2.0']] }, t0 + 1);
  const intent = (t: number, over: Partial<OrderIntent> = {}): OrderIntent => ({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 5_999_000, timeInForce: 'GTC', qtyUnits: 100_000, strategy: 't', reason: 'test', createdAt: t, ...over });
  let id = 101;
  /** a depth diff at time t keeps the book fresh (the gateway denies orders on a stale book first) */
  const fresh = (t: number): void => {
    id++;
    p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: t, s: 'BTCUSDT', U: id, u: id, b: [['60000.00', String(1 + (id % 2))]], a: [] } }), t);
  };
  return { engine, store, intent, t0, fresh };
}

describe('the Shabbat pause in the engine', () => {
  it('cancels working orders when it begins, denies strategies during it, and lets them trade after it', () => {
    const { engine, intent, t0, fresh } = setup();
    expect(engine.submit(intent(t0 + 10))).not.toBeNull();
    engine.tick(t0 + 100);
    expect(engine.allOpenOrders()).toHaveLength(1);
    engine.tick(START - 1);
    expect(engine.allOpenOrders()).toHaveLength(1);
    engine.tick(START); // the pause begins: cancel sent
    engine.tick(START + 100);
    expect(engine.allOpenOrders()).toEqual([]);
    fresh(START + 150);
    expect(engine.submit(intent(START + 200))).toBeNull();
    expect(engine.gateway.denials).toEqual({ schedule: 1 });
    expect(engine.riskStatus().schedule).toMatchObject({ paused: { reason: 'Shabbat until 2024-03-23T18:30:00+02:00' } });
    // protective orders are not strategies: they still pass
    expect(engine.submit(intent(START + 300, { side: 'SELL', type: 'MARKET', priceUnits: undefined, timeInForce: undefined, strategy: 'risk', purpose: 'stop' }))).not.toBeNull();
  });

  it('ends at nightfall', () => {
    const { engine, intent, fresh } = setup();
    fresh(END - 2);
    expect(engine.submit(intent(END - 1))).toBeNull();
    expect(engine.gateway.denials).toEqual({ schedule: 1 });
    fresh(END);
    expect(engine.submit(intent(END))).not.toBeNull();
    expect(engine.riskStatus().schedule).toMatchObject({ paused: null, shabbat: { nextPause: '2024-03-29T18:38:00+03:00' } });
  });

  it('is off with SHABBAT_PAUSE=false', () => {
    const { engine, intent, fresh } = setup({ SHABBAT_PAUSE: 'false' });
    fresh(START + 60_000);
    expect(engine.submit(intent(START + 60_000))).not.toBeNull();
    expect(engine.riskStatus().schedule).toBeNull();
  });
});
