import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import type { OrderIntent } from '../model/order.js';
import { Store } from '../store/db.js';
import type { Engine } from './engine.js';
import { createEngine } from './presets.js';
import { loadContinuation } from './restart.js';

const logger = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;
const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const config = loadConfig({
  SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', SHABBAT_PAUSE: 'false', RISK_STOP_ATR: '0',
  QUEUE_MODEL: 'risk-averse', LATENCY_ENTRY_MS: '1', LATENCY_RESPONSE_MS: '1', BOOK_STALE_MS: '3600000',
});

/** An engine on a real SQLite file with a synced BTCUSDT book (bid 60000 × 2 BTC, ask 60001 × 2 BTC). */
function boot(store: Store, t: number, continues: boolean): { engine: Engine; trade: (t: number, qty: string) => void } {
  const engine = createEngine({ config, sessionId: 'acct', startedAt: t, seed: 1, store, logger, tradeVenue: 'spot', continues });
  if (continues) {
    const c = loadContinuation(store, logger)!;
    expect(c.sessionId).toBe('acct');
    engine.restore(c.restore);
  }
  const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] });
  p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, t);
  p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: t, s: 'BTCUSDT', U: 101, u: 101, b: [], a: [] } }), t);
  p.onSnapshot('BTCUSDT', { lastUpdateId: 100, bids: [['60000.00', '2.0']], asks: [['60001.00', '2.0']] }, t + 1);
  const trade = (at: number, qty: string) =>
    p.onMessage(JSON.stringify({ stream: 'btcusdt@trade', data: { e: 'trade', E: at, s: 'BTCUSDT', t: at, p: '60000.00', q: qty, T: at, m: true, M: true } }), at);
  return { engine, trade };
}

const bid = (t: number, qtyUnits: number): OrderIntent => ({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 6_000_000, timeInForce: 'GTC', qtyUnits, strategy: 't', reason: 'test', createdAt: t });

describe('restart: a session continues from the database and its checkpoint', () => {
  it('keeps the account, and a resting order keeps its queue place and fills as it would have', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-restart-'));
    dirs.push(dir);
    const file = join(dir, 'p.db');
    // run 1: buy 0.01 at market, then a bid of 0.05 BTC resting behind 2 BTC; 1.99 BTC trade at the bid
    const s1 = Store.open(file);
    const a = boot(s1, T0, false);
    a.engine.submit({ ...bid(T0 + 5, 1_000_000), type: 'MARKET', priceUnits: undefined, timeInForce: undefined });
    a.engine.tick(T0 + 10);
    a.engine.submit(bid(T0 + 10, 5_000_000));
    a.engine.tick(T0 + 20);
    a.trade(T0 + 30, '1.99000000'); // 0.01 BTC still ahead
    a.engine.tick(T0 + 40);
    s1.writeCheckpoint('acct', a.engine.now, a.engine.checkpointState());
    const before = a.engine.portfolio.toState();
    s1.close(); // the process dies here (no endSession, no flush)

    // run 2: continues; a trade of 0.03 BTC fills 0.02 BTC of the restored order (0.01 ahead)
    const s2 = Store.open(file);
    const b = boot(s2, T0 + 1000, true);
    expect(b.engine.portfolio.toState()).toEqual({ ...before, closed: [] });
    expect(b.engine.allOpenOrders()).toHaveLength(1);
    b.trade(T0 + 1100, '0.03000000');
    b.engine.tick(T0 + 1200);
    const order = b.engine.allOpenOrders()[0]!;
    expect(order).toMatchObject({ status: 'PARTIALLY_FILLED', filledQty: 0.02 });
    expect(b.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.03, 12);
    // the new order ids continue the sequence of the session
    const next = b.engine.submit(bid(T0 + 1300, 1_000_000))!;
    expect(next.id).toBe('acct-3');
    s2.close();
  });

  it('without a checkpoint the resting order rejoins at the back of its level; an order in flight expires', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-restart-'));
    dirs.push(dir);
    const file = join(dir, 'p.db');
    const s1 = Store.open(file);
    const a = boot(s1, T0, false);
    a.engine.submit(bid(T0 + 5, 5_000_000));
    a.engine.tick(T0 + 10); // accepted, resting behind 2 BTC
    a.trade(T0 + 20, '1.99000000');
    a.engine.submit({ ...bid(T0 + 30, 1_000_000), type: 'MARKET', priceUnits: undefined, timeInForce: undefined }); // in flight
    s1.close();

    const s2 = Store.open(file);
    const b = boot(s2, T0 + 1000, true);
    const orders = s2.listOrders('acct', { limit: 10 });
    expect(orders.find((o) => o.id === 'acct-2')).toMatchObject({ status: 'REJECTED', rejectReason: expect.stringMatching(/in flight/) });
    // no saved queue place: behind all 2 BTC again, so 1.99 BTC of trades fill nothing, 0.02 more fill 0.01
    b.trade(T0 + 1100, '1.99000000');
    b.engine.tick(T0 + 1150);
    expect(b.engine.allOpenOrders()[0]).toMatchObject({ id: 'acct-1', filledQty: 0 });
    b.trade(T0 + 1200, '0.02000000');
    b.engine.tick(T0 + 1250);
    expect(b.engine.allOpenOrders()[0]).toMatchObject({ id: 'acct-1', filledQty: 0.01 });
    s2.close();
  });

  it('skips a damaged checkpoint and says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pt-restart-'));
    dirs.push(dir);
    const s1 = Store.open(join(dir, 'p.db'));
    const a = boot(s1, T0, false);
    s1.writeCheckpoint('acct', T0 + 1, a.engine.checkpointState());
    s1.writeCheckpoint('acct', T0 + 2, a.engine.checkpointState());
    s1.close();
    const raw = Store.open(join(dir, 'p.db'));
    (raw as unknown as { db: { prepare(s: string): { run(): void } } }).db.prepare(`UPDATE checkpoints SET state_json = 'garbage' WHERE id = (SELECT MAX(id) FROM checkpoints)`).run();
    const c = loadContinuation(raw, logger)!;
    expect(c.summary.skippedCheckpoints).toHaveLength(1);
    expect(c.summary.checkpointAt).toBe(T0 + 1);
    raw.close();
  });
});
