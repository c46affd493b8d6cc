import { afterEach, describe, expect, it } from 'vitest';
import { startAlpacaSim, type AlpacaSim } from './server.js';
import { api, DATA_DIR } from './testing.js';

let sims: AlpacaSim[] = [];
async function sim(): Promise<AlpacaSim> {
  const s = await startAlpacaSim({ dataDir: DATA_DIR, speed: 0, symbols: ['TSLA', 'AAPL', 'DOGE/USD'] });
  sims.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

describe('sim /v2/assets', () => {
  it('serves a stock asset without crypto fields', async () => {
    const s = await sim();
    const r = await api(s, 'GET', '/v2/assets/TSLA');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ class: 'us_equity', exchange: 'NASDAQ', symbol: 'TSLA', status: 'active', tradable: true, shortable: true, fractionable: true, easy_to_borrow: true });
    expect(r.body).not.toHaveProperty('min_order_size');
    expect(r.body).not.toHaveProperty('price_increment');
  });

  it('serves a crypto asset by slash and by %2F path, with the data tick as price_increment', async () => {
    const s = await sim();
    const a = await api(s, 'GET', '/v2/assets/DOGE/USD');
    const b = await api(s, 'GET', '/v2/assets/DOGE%2FUSD');
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(a.body).toMatchObject({ class: 'crypto', exchange: 'CRYPTO', symbol: 'DOGE/USD', min_order_size: '1', min_trade_increment: '1', price_increment: '0.00001' });
    // by asset id, too
    expect((await api(s, 'GET', `/v2/assets/${a.body.id}`)).body).toEqual(a.body);
  });

  it('answers 404 for an unknown symbol', async () => {
    const s = await sim();
    const r = await api(s, 'GET', '/v2/assets/NOPE');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 40410000, message: 'asset not found for NOPE' });
    expect((await api(s, 'GET', '/v2/assets/BTC%2FUSD')).body).toEqual({ code: 40410000, message: 'asset not found for BTC/USD' });
  });

  it('lists every replayed symbol, filtered by asset_class and status', async () => {
    const s = await sim();
    const syms = async (q: string): Promise<string[]> => (await api(s, 'GET', `/v2/assets${q}`)).body.map((a: { symbol: string }) => a.symbol).sort();
    expect(await syms('')).toEqual(['AAPL', 'DOGE/USD', 'TSLA']);
    expect(await syms('?asset_class=crypto')).toEqual(['DOGE/USD']);
    expect(await syms('?asset_class=us_equity&status=active')).toEqual(['AAPL', 'TSLA']);
    expect(await syms('?status=inactive')).toEqual([]);
    expect((await api(s, 'GET', '/v2/assets?asset_class=bonds')).status).toBe(422);
  });

  it('the broker enforces the asset rules: crypto qty increments, stock sub-penny prices', async () => {
    const s = await sim();
    const order = (o: Record<string, unknown>) => api(s, 'POST', '/v2/orders', { side: 'buy', type: 'limit', time_in_force: 'gtc', ...o });
    const frac = await order({ symbol: 'DOGE/USD', qty: '10.5', limit_price: '0.0001' });
    expect(frac.status).toBe(422);
    expect(frac.body.message).toBe('qty 10.5 is not a multiple of the min_trade_increment 1 of DOGE/USD');
    const small = await order({ symbol: 'DOGE/USD', qty: '0.5', limit_price: '0.0001' });
    expect(small.status).toBe(422);
    expect(small.body.message).toBe('qty 0.5 is below the min_order_size 1 of DOGE/USD');
    expect((await order({ symbol: 'DOGE/USD', qty: '10', limit_price: '0.0001' })).status).toBe(200);
    // notional crypto orders are not held to the qty increment
    expect((await api(s, 'POST', '/v2/orders', { symbol: 'DOGE/USD', notional: '5', side: 'buy', type: 'market', time_in_force: 'gtc' })).status).toBe(200);
    const subPenny = await order({ symbol: 'TSLA', qty: '1', limit_price: '100.005' });
    expect(subPenny.status).toBe(422);
    expect(subPenny.body).toEqual({ code: 42210000, message: 'invalid limit_price 100.005. sub-penny increment does not fulfill minimum pricing criteria' });
    expect((await order({ symbol: 'TSLA', qty: '1', limit_price: '0.5001' })).status).toBe(200);
    expect((await order({ symbol: 'TSLA', qty: '1', limit_price: '0.50001' })).status).toBe(422);
    const ok = await order({ symbol: 'TSLA', qty: '1', limit_price: '100.01' });
    expect(ok.status).toBe(200);
    expect((await api(s, 'PATCH', `/v2/orders/${ok.body.id}`, { limit_price: '100.015' })).status).toBe(422);
    const d = await order({ symbol: 'DOGE/USD', qty: '20', limit_price: '0.0001' });
    expect((await api(s, 'PATCH', `/v2/orders/${d.body.id}`, { qty: '20.5' })).status).toBe(422);
  });
});
