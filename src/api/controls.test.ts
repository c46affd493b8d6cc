import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import type { Engine } from '../engine/engine.js';
import { createEngine } from '../engine/presets.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import { Store } from '../store/db.js';
import { buildApi } from './server.js';

const TOKEN = 'correct-horse-battery-staple';
const T0 = 1_700_000_000_000;
const logger = pino({ level: 'silent' });
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A real engine with a synced BTCUSDT book and a real HTTP server in front of it. */
async function setup(apiToken: string | undefined) {
  const store = Store.open(':memory:');
  const logged: { source: string; payload: string }[] = [];
  const config = loadConfig({ SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', OBI_ORDER_TYPE: 'post-only', LATENCY_ENTRY_MS: '1', LATENCY_RESPONSE_MS: '1' });
  const engine: Engine = createEngine({
    config, sessionId: 's', startedAt: T0, seed: 1, store, logger, tradeVenue: 'spot',
    inputLog: { write: (_t, source, payload) => void logged.push({ source, payload }) },
  });
  const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT'] });
  p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT']] }, T0);
  p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: T0, s: 'BTCUSDT', U: 101, u: 101, b: [['60000.00', '1.0']], a: [] } }), T0);
  p.onSnapshot('BTCUSDT', { lastUpdateId: 100, bids: [['60000.00', '2.0'], ['59999.00', '1.0']], asks: [['60001.00', '2.0'], ['60002.00', '1.0']] }, T0 + 1);
  let now = T0 + 10;
  const app = buildApi({ engine, feeds: () => [], version: 't', startedAt: T0, apiToken, clock: () => now });
  await app.listen({ host: '127.0.0.1', port: 0 });
  closers.push(() => app.close(), () => store.close());
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const post = async (path: string, body?: unknown, auth?: string) => {
    const headers: Record<string, string> = {};
    if (auth !== undefined) headers['authorization'] = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { engine, store, logged, post, setNow: (t: number) => (now = t) };
}

const ENDPOINTS = ['/kill', '/pause', '/resume', '/risk/reset-breaker'];

describe('control endpoints', () => {
  it.each(ENDPOINTS)('%s answers 403 when no API_TOKEN is configured, whatever is sent', async (path) => {
    const s = await setup(undefined);
    for (const auth of [undefined, `Bearer ${TOKEN}`, 'Bearer ']) {
      const r = await s.post(path, undefined, auth);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('forbidden');
    }
    expect(s.engine.gateway.halted).toBe(false);
    expect(s.logged.filter((l) => l.source === 'control')).toEqual([]);
  });

  it.each(ENDPOINTS)('%s answers 401 without a token or with a wrong one, and changes nothing', async (path) => {
    const s = await setup(TOKEN);
    for (const auth of [undefined, 'Basic abc', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN]) {
      const r = await s.post(path, undefined, auth);
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('unauthorized');
      expect(JSON.stringify(r.body)).not.toContain(TOKEN);
    }
    expect(s.engine.gateway.controlState()).toMatchObject({ halted: false, paused: false });
  });

  it('kill with the right token halts strategies, cancels working orders, flattens, persists and is logged', async () => {
    const s = await setup(TOKEN);
    // a position and a working order
    s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'test', createdAt: T0 + 2 });
    s.engine.tick(T0 + 5);
    s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 5_999_900, timeInForce: 'GTC', qtyUnits: 1_000_000, strategy: 't', reason: 'test', createdAt: T0 + 5 });
    s.engine.tick(T0 + 8);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty).toBeCloseTo(0.01, 12);
    expect(s.engine.allOpenOrders()).toHaveLength(1);

    const r = await s.post('/kill', { flatten: true, reason: 'drill' }, `Bearer ${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, canceled: 1, flattening: 1, state: { halted: true, haltReason: 'drill' } });
    // strategies are denied from now on
    const denied = s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'after kill', createdAt: T0 + 10 });
    expect(denied).toBeNull();
    expect(s.engine.gateway.denials['halted']).toBe(1);
    // the cancel and the flattening sell go through the exchange
    s.engine.tick(T0 + 20);
    expect(s.engine.allOpenOrders()).toEqual([]);
    expect(s.engine.portfolio.position('spot', 'BTCUSDT')?.qty ?? 0).toBeCloseTo(0, 12);
    // it survives a restart: stored in SQLite
    expect(s.store.getControl('risk')).toMatchObject({ halted: true, haltReason: 'drill' });
    // and it is an input of the session: the event log has it
    expect(s.logged.filter((l) => l.source === 'control').map((l) => JSON.parse(l.payload))).toEqual([{ cmd: 'kill', flatten: true, reason: 'drill' }]);

    const resumed = await s.post('/resume', undefined, `Bearer ${TOKEN}`);
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toMatchObject({ halted: false, paused: false });
    expect(s.store.getControl('risk')).toMatchObject({ halted: false });
  });

  it('pause stops strategies but keeps working orders; resume lets them trade again', async () => {
    const s = await setup(TOKEN);
    s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 5_999_900, timeInForce: 'GTC', qtyUnits: 1_000_000, strategy: 't', reason: 'test', createdAt: T0 + 2 });
    s.engine.tick(T0 + 5);
    const r = await s.post('/pause', { reason: 'news' }, `Bearer ${TOKEN}`);
    expect(r.body.state).toMatchObject({ paused: true, pauseReason: 'news', halted: false });
    expect(s.engine.allOpenOrders()).toHaveLength(1);
    expect(s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'x', createdAt: T0 + 10 })).toBeNull();
    await s.post('/resume', undefined, `Bearer ${TOKEN}`);
    expect(s.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'x', createdAt: T0 + 11 })).not.toBeNull();
  });

  it('reset-breaker clears a tripped drawdown breaker from the current equity', async () => {
    const s = await setup(TOKEN);
    s.engine.gateway.observeEquity(5_000, T0 + 5); // far below the 10000 high-water mark
    expect(s.engine.gateway.breakerTripped).toBe(true);
    const r = await s.post('/risk/reset-breaker', undefined, `Bearer ${TOKEN}`);
    expect(r.status).toBe(200);
    expect(r.body.state).toMatchObject({ breakerTripped: false, highWaterMark: 10_000 });
  });

  it.each([
    ['/kill', { flatten: 'yes' }],
    ['/kill', { flaten: true }],
    ['/pause', { reason: '' }],
    ['/resume', { now: true }],
  ])('%s rejects a bad body %j with 400 and a message', async (path, body) => {
    const s = await setup(TOKEN);
    const r = await s.post(path, body, `Bearer ${TOKEN}`);
    expect(r.status).toBe(400);
    expect(r.body.error.message.length).toBeGreaterThan(5);
    expect(s.engine.gateway.controlState()).toMatchObject({ halted: false, paused: false });
  });
});
