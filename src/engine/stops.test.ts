import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import { Store } from '../store/db.js';
import { createEngine } from './presets.js';

const logger = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;
const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

/**
 * A long position, an ATR from 1-second trade bars, then the market falls through entry − 2 × ATR: the
 * engine closes the position with one market order of its own (strategy `risk`), even while paused.
 */
describe('ATR stop loss in the engine', () => {
  it('closes a long when the mid falls 2 ATR below the entry', () => {
    const store = Store.open(':memory:');
    stores.push(store);
    const config = loadConfig({
      SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', SHABBAT_PAUSE: 'false',
      RISK_STOP_ATR: '2', RISK_ATR_BAR_MS: '1000', RISK_ATR_PERIOD: '3', LATENCY_ENTRY_MS: '1', LATENCY_RESPONSE_MS: '1', RISK_PRICE_BAND: '0.5',
    });
    const engine = createEngine({ config, sessionId: 's', startedAt: T0, seed: 1, store, logger, tradeVenue: 'spot' });
    const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] });
    p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, T0);
    let id = 100;
    let touch = ['60000.00', '60001.00'];
    const depth = (t: number, bid: string, ask: string) => {
      id++;
      // replace the touch: the old levels go to zero
      const b = [[touch[0], '0'], [bid, '5.0']];
      const a = [[touch[1], '0'], [ask, '5.0']];
      touch = [bid, ask];
      p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: t, s: 'BTCUSDT', U: id, u: id, b, a } }), t);
    };
    const trade = (t: number, price: string) =>
      p.onMessage(JSON.stringify({ stream: 'btcusdt@trade', data: { e: 'trade', E: t, s: 'BTCUSDT', t: t, p: price, q: '0.01000000', T: t, m: true, M: true } }), t);
    p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: T0, s: 'BTCUSDT', U: 101, u: 101, b: [], a: [] } }), T0);
    p.onSnapshot('BTCUSDT', { lastUpdateId: 100, bids: [['60000.00', '5.0']], asks: [['60001.00', '5.0']] }, T0 + 1);
    id = 101;
    // buy 0.05 BTC at 60001
    engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 5_000_000, strategy: 'test', reason: 'entry', createdAt: T0 + 2 });
    engine.tick(T0 + 10);
    expect(engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.05, 12);
    // three 1 s bars of range 10 USDT (60000 / 60010): ATR(3) = 10 once the 4th bar starts
    for (let s = 0; s < 4; s++) {
      trade(T0 + 1000 * (s + 1), '60000.00');
      trade(T0 + 1000 * (s + 1) + 500, '60010.00');
    }
    // an operator pause does not stop protective exits
    engine.control({ cmd: 'pause', reason: 'test' }, T0 + 5000);
    depth(T0 + 5100, '59990.00', '59991.00'); // mid 59990.5 > 60001 − 20 = 59981: no stop yet
    expect(engine.allOpenOrders()).toEqual([]);
    depth(T0 + 5200, '59980.00', '59981.00'); // mid 59980.5 < 59981: stop
    const open = engine.allOpenOrders();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ side: 'SELL', type: 'MARKET', qty: 0.05, strategy: 'risk' });
    expect(open[0]!.reason).toMatch(/^stop loss: price 59980.5 crossed 59981.00/);
    depth(T0 + 5200.5, '59979.00', '59980.00'); // still below, the stop not yet at the exchange: no second order
    expect(engine.allOpenOrders()).toHaveLength(1);
    engine.tick(T0 + 5400);
    expect(engine.portfolio.position('spot', 'BTCUSDT')?.qty ?? 0).toBeCloseTo(0, 12);
    expect(engine.allOpenOrders()).toEqual([]);
    expect(store.listOrders('s', { limit: 10 }).filter((o) => o.strategy === 'risk')).toHaveLength(1);
  });
});
