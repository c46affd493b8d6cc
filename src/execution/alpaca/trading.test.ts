import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rateLimitDelay } from '../../marketdata/alpaca/http.js';
import { type AlpacaSim, startAlpacaSim } from '../../marketdata/alpaca/sim/server.js';
import { instrumentFromAlpacaAsset } from './instrument.js';
import { AlpacaTradingClient, type TradingClientOptions } from './trading.js';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKSECRETKEYID123';
const SECRET = 'sEcReT-vAlUe-987654';

let sim: AlpacaSim;
let waits: number[];
const client = (o: Partial<TradingClientOptions> = {}) =>
  new AlpacaTradingClient({
    baseUrl: sim.url,
    credentials: { keyId: KEY, secretKey: SECRET },
    timeoutMs: 2_000,
    backoffBaseMs: 1,
    sleep: async (ms) => void waits.push(ms),
    ...o,
  });
const allOrders = async () => {
  const r = await client().listOpenOrders();
  if (!r.ok) throw new Error(r.message);
  return sim.broker.all();
};
/** A local URL nothing listens on (connection refused). */
async function closedPortUrl(): Promise<string> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
const noSecrets = (x: unknown) => {
  const text = JSON.stringify(x);
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(KEY);
};

beforeEach(async () => {
  waits = [];
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'] });
});
afterEach(async () => {
  await sim.close();
});

describe('AlpacaTradingClient', () => {
  it('submits an order with a client_order_id derived from the engine order id', async () => {
    const r = await client().submitOrder({ engineOrderId: 101, symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '100', limitPrice: '0.01' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ attempts: 1, recovered: false });
    expect(r.value.order).toMatchObject({ client_order_id: 'pt-101', symbol: 'DOGE/USD', side: 'buy', qty: '100', limit_price: '0.01' });
    const byCid = await client().getOrderByClientId('pt-101');
    const byId = await client().getOrder(r.value.order.id);
    expect(byCid.ok && byCid.value.id).toBe(r.value.order.id);
    expect(byId.ok && byId.value.client_order_id).toBe('pt-101');
    const open = await client().listOpenOrders();
    expect(open.ok && open.value.map((o) => o.id)).toEqual([r.value.order.id]);
    expect(await client().cancelOrder(r.value.order.id)).toEqual({ ok: true, value: undefined });
  });

  it('after a timeout looks the order up by client_order_id: exactly one order', async () => {
    sim.addFault({ kind: 'timeout', route: 'POST /v2/orders' }); // processed, never answered
    const c = client({ timeoutMs: 300 });
    const r = await c.submitOrder({ engineOrderId: 'e-1', symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '10', limitPrice: '0.01' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ attempts: 1, recovered: true });
    expect(r.value.order.client_order_id).toBe('pt-e-1');
    expect((await allOrders()).map((o) => o.clientOrderId)).toEqual(['pt-e-1']);
  });

  it('reports uncertain when neither the POST nor the lookup answers', async () => {
    sim.addFault({ kind: 'timeout', route: 'POST /v2/orders', count: 5 });
    sim.addFault({ kind: 'timeout', route: 'GET /v2/orders:by_client_order_id', count: 5 });
    const r = await client({ timeoutMs: 200, maxAttempts: 2 }).submitOrder({ engineOrderId: 'u', symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '10', limitPrice: '0.01' });
    expect(r).toMatchObject({ ok: false, code: 'uncertain', status: null });
    expect(sim.broker.all().map((o) => o.clientOrderId)).toEqual(['pt-u']); // the first POST did land
  });

  it('retries a 5xx with the same client_order_id and places one order', async () => {
    sim.addFault({ kind: 'http', route: 'POST /v2/orders', status: 503, count: 2 });
    const r = await client().submitOrder({ engineOrderId: 7, symbol: 'TSLA', side: 'buy', type: 'limit', timeInForce: 'day', qty: '1', limitPrice: '1' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.attempts).toBe(3);
    expect((await allOrders()).map((o) => o.clientOrderId)).toEqual(['pt-7']);
  });

  it('a repeated submit of the same engine order fetches the existing order (422 unique)', async () => {
    const req = { engineOrderId: 8, symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '10', limitPrice: '0.01' } as const;
    const a = await client().submitOrder(req);
    const b = await client().submitOrder(req);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.value.recovered).toBe(true);
    expect(b.value.order.id).toBe(a.value.order.id);
    expect(sim.broker.all()).toHaveLength(1);
  });

  it('backs off on 429 until the reset header, then succeeds', async () => {
    sim.addFault({ kind: 'http', route: 'POST /v2/orders', status: 429 });
    const c = client();
    const before = Date.now();
    const r = await c.submitOrder({ engineOrderId: 9, symbol: 'DOGE/USD', side: 'buy', type: 'limit', timeInForce: 'gtc', qty: '10', limitPrice: '0.01' });
    expect(r.ok).toBe(true);
    expect(c.rateLimitHits).toBe(1);
    expect(waits).toHaveLength(1);
    // the sim's reset is the end of its current one-minute window
    const reset = (Math.floor(before / 60_000) + 1) * 60_000;
    expect(waits[0]!).toBeGreaterThan(reset - Date.now() - 1_000);
    expect(waits[0]!).toBeLessThanOrEqual(reset - before + 50);
    expect(sim.broker.all()).toHaveLength(1);
  });

  it('gives up on a lasting 429 with rate_limited and no order', async () => {
    sim.addFault({ kind: 'http', route: 'POST /v2/orders', status: 429, count: 10 });
    const r = await client({ maxAttempts: 3 }).submitOrder({ engineOrderId: 10, symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '1' });
    expect(r).toMatchObject({ ok: false, code: 'rate_limited', status: 429 });
    expect(sim.broker.all()).toHaveLength(0);
  });

  it.each([
    ['403 insufficient buying power', { qty: '100000000', limitPrice: '1' }, 403, 'insufficient buying power'],
    ['422 invalid parameters', { qty: '1', limitPrice: '0' }, 422, 'invalid limit_price'],
  ])('returns a rejection carrying Alpaca’s message: %s', async (_name, extra, status, message) => {
    const r = await client().submitOrder({ engineOrderId: 11, symbol: 'TSLA', side: 'buy', type: 'limit', timeInForce: 'day', ...extra });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r).toMatchObject({ code: 'rejected', status });
    expect(r.message).toContain(message);
    expect(r.alpacaCode).toBeTypeOf('number');
  });

  it('reads account, positions, clock and calendar', async () => {
    const c = client();
    const buy = await c.submitOrder({ engineOrderId: 12, symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '100' });
    expect(buy.ok).toBe(true);
    const acct = await c.getAccount();
    expect(acct.ok && acct.value.currency).toBe('USD');
    const pos = await c.listPositions();
    expect(pos.ok && pos.value.map((p) => [p.symbol, p.qty])).toEqual([['DOGEUSD', '100']]);
    const one = await c.getPosition('DOGE/USD');
    expect(one.ok && one.value.qty).toBe('100');
    expect(await c.getPosition('TSLA')).toMatchObject({ ok: false, code: 'not_found', status: 404 });
    const clock = await c.getClock();
    expect(clock.ok && typeof clock.value.is_open).toBe('boolean');
    const cal = await c.getCalendar('2019-02-11', '2019-02-15');
    expect(cal.ok && cal.value.map((d) => d.date)).toEqual(['2019-02-11', '2019-02-12', '2019-02-13', '2019-02-14', '2019-02-15']);
  });

  it('cancel of an unknown order is not_found; of a filled one not_cancelable', async () => {
    const c = client();
    expect(await c.cancelOrder('00000000-0000-4000-8000-000000000000')).toMatchObject({ ok: false, code: 'not_found' });
    const buy = await c.submitOrder({ engineOrderId: 13, symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '5' });
    if (!buy.ok) throw new Error(buy.message);
    expect(await c.cancelOrder(buy.value.order.id)).toMatchObject({ ok: false, code: 'not_cancelable', status: 422 });
  });

  it('never puts the credentials in errors or results', async () => {
    const wrong = new AlpacaTradingClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: 'wrong-secret-zzz' }, sleep: async () => {} });
    const r = await wrong.getAccount();
    expect(r).toMatchObject({ ok: false, code: 'unauthorized', status: 401 });
    expect(JSON.stringify(r)).not.toContain('wrong-secret-zzz');
    const down = new AlpacaTradingClient({ baseUrl: await closedPortUrl(), credentials: { keyId: KEY, secretKey: SECRET }, maxAttempts: 2, sleep: async () => {} });
    const results = [
      await down.getAccount(),
      await down.submitOrder({ engineOrderId: 1, symbol: 'TSLA', side: 'buy', type: 'market', timeInForce: 'day', qty: '1' }),
      await client().submitOrder({ engineOrderId: 14, symbol: 'TSLA', side: 'buy', type: 'limit', timeInForce: 'day', qty: '1', limitPrice: '0' }),
    ];
    expect(results.map((x) => x.ok)).toEqual([false, false, false]);
    expect(results[0]).toMatchObject({ code: 'unavailable' });
    expect(results[1]).toMatchObject({ code: 'unavailable' }); // refused: the order never left
    noSecrets(results);
  });
});

describe('AlpacaTradingClient.getAsset', () => {
  it('reads stock and crypto assets from the sim (the pair URL-encoded) and builds their instruments', async () => {
    const c = client();
    const tsla = await c.getAsset('TSLA');
    expect(tsla.ok && tsla.value).toMatchObject({ class: 'us_equity', symbol: 'TSLA', status: 'active', tradable: true, min_order_size: null, price_increment: null });
    const doge = await c.getAsset('DOGE/USD');
    if (!doge.ok) throw new Error(doge.message);
    expect(doge.value).toMatchObject({ class: 'crypto', exchange: 'CRYPTO', symbol: 'DOGE/USD', min_order_size: '1', min_trade_increment: '1', price_increment: '0.00001' });
    const inst = instrumentFromAlpacaAsset(doge.value);
    expect(inst.ok && inst.value).toMatchObject({ venue: 'alpaca', baseAsset: 'DOGE', quoteAsset: 'USD', priceDecimals: 5, tickUnits: 1, status: 'TRADING' });
    const missing = await c.getAsset('NOPE');
    expect(missing).toMatchObject({ ok: false, code: 'not_found', status: 404, alpacaCode: 40410000 });
  });
});

describe('rateLimitDelay', () => {
  it('waits until X-RateLimit-Reset, else Retry-After, else exponentially; capped', () => {
    const now = 1_700_000_000_000;
    expect(rateLimitDelay(new Headers({ 'X-RateLimit-Reset': String(now / 1000 + 3) }), 0, now, 100, 60_000)).toBe(3_050);
    expect(rateLimitDelay(new Headers({ 'X-RateLimit-Reset': String(now / 1000 - 3) }), 0, now, 100, 60_000)).toBe(50);
    expect(rateLimitDelay(new Headers({ 'X-RateLimit-Reset': String(now / 1000 + 600) }), 0, now, 100, 60_000)).toBe(60_000);
    expect(rateLimitDelay(new Headers({ 'Retry-After': '2' }), 0, now, 100, 60_000)).toBe(2_000);
    expect(rateLimitDelay(new Headers(), 3, now, 100, 60_000)).toBe(800);
  });
});
