import { afterEach, describe, expect, it } from 'vitest';
import { loadSymbol } from './bars.js';
import { startAlpacaSim, type AlpacaSim, type AlpacaSimOptions } from './server.js';
import { api, DATA_DIR, KEY, SECRET, tradeEvents, tradeStream, WsProbe } from './testing.js';

let sims: AlpacaSim[] = [];
const probes: WsProbe[] = [];
async function sim(o: Partial<AlpacaSimOptions> = {}): Promise<AlpacaSim> {
  const s = await startAlpacaSim({ dataDir: DATA_DIR, speed: 0, ...o });
  sims.push(s);
  return s;
}
async function probe(url: string, headers?: Record<string, string>): Promise<WsProbe> {
  const p = await WsProbe.open(url, headers);
  probes.push(p);
  return p;
}
afterEach(async () => {
  for (const p of probes.splice(0)) p.close();
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});

/** decimal string -> integer of 1e-9 units (exact for the test's arithmetic) */
const n9 = (s: string): bigint => {
  const [i, f = ''] = s.split('.');
  return BigInt(i! + f.padEnd(9, '0'));
};
const TSLA = loadSymbol(DATA_DIR, 'TSLA').bars;

describe('auth', () => {
  it('answers 401 without or with wrong keys', async () => {
    const s = await sim();
    const none = await api(s, 'GET', '/v2/account', undefined, {});
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ code: 40110000, message: 'unauthorized' });
    const wrong = await api(s, 'GET', '/v2/account', undefined, { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': 'nope' });
    expect(wrong.status).toBe(401);
    expect((await api(s, 'GET', '/v2/account')).status).toBe(200);
  });

  it('trade stream: unauthorized keys, listen before auth', async () => {
    const s = await sim();
    const p = await probe(`${s.wsUrl}/stream`);
    p.send({ action: 'listen', data: { streams: ['trade_updates'] } });
    expect(await p.take()).toEqual({ stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
    p.send({ action: 'authenticate', data: { key_id: KEY, secret_key: 'bad' } });
    expect(await p.take()).toEqual({ stream: 'authorization', data: { status: 'unauthorized', action: 'authenticate' } });
    p.send({ action: 'authenticate', data: { key_id: KEY, secret_key: SECRET } });
    expect(await p.take()).toEqual({ stream: 'authorization', data: { status: 'authorized', action: 'authenticate' } });
    p.send({ action: 'listen', data: { streams: ['trade_updates'] } });
    expect(await p.take()).toEqual({ stream: 'listening', data: { streams: ['trade_updates'] } });
    expect(p.all.every((m) => m.binary)).toBe(true); // paper sends binary frames
  });

  it('market data: 402 auth failed closes, 401 before auth, 403 twice, 404 auth timeout', async () => {
    const s = await sim();
    const a = await probe(`${s.wsUrl}/v2/iex`);
    expect(await a.take()).toEqual([{ T: 'success', msg: 'connected' }]);
    a.send({ action: 'subscribe', trades: ['TSLA'] });
    expect(await a.take()).toEqual([{ T: 'error', code: 401, msg: 'not authenticated' }]);
    a.send({ action: 'auth', key: KEY, secret: 'bad' });
    expect(await a.take()).toEqual([{ T: 'error', code: 402, msg: 'auth failed' }]);
    await a.whenClosed();
    const b = await probe(`${s.wsUrl}/v2/iex`);
    b.send({ action: 'auth', key: KEY, secret: SECRET });
    expect(await b.take((m) => m[0].msg === 'authenticated')).toEqual([{ T: 'success', msg: 'authenticated' }]);
    b.send({ action: 'auth', key: KEY, secret: SECRET });
    expect(await b.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 403, msg: 'already authenticated' }]);
    b.send('not json' as unknown);
    b.ws.send('{nope');
    expect(await b.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 400, msg: 'invalid syntax' }]);
    const s2 = await sim({ authTimeoutMs: 20 });
    const c = await probe(`${s2.wsUrl}/v1beta3/crypto/us`);
    expect(await c.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 404, msg: 'auth timeout' }]);
    await c.whenClosed();
  });

  it('market data: 406 connection limit, 409 feed not in plan, 405 symbol limit, 410 channel, header auth', async () => {
    const s = await sim({ feeds: ['iex'], maxSymbols: 2 });
    const h = { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
    const a = await probe(`${s.wsUrl}/v2/iex`, h);
    expect(await a.take((m) => m[0].msg === 'authenticated')).toBeDefined();
    const b = await probe(`${s.wsUrl}/v2/iex`, h);
    expect(await b.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 406, msg: 'connection limit exceeded' }]);
    const c = await probe(`${s.wsUrl}/v2/sip`, h);
    expect(await c.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 409, msg: 'insufficient subscription' }]);
    a.send({ action: 'subscribe', trades: ['TSLA', 'AAPL'], quotes: ['MSFT'] });
    expect(await a.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 405, msg: 'symbol limit exceeded' }]);
    a.send({ action: 'subscribe', orderbooks: ['TSLA'] });
    expect(await a.take((m) => m[0].T === 'error')).toEqual([{ T: 'error', code: 410, msg: 'invalid subscribe action for this feed' }]);
    await expect(probe(`${s.wsUrl}/v2/nope`)).rejects.toThrow(/404/);
  });
});

describe('orders', () => {
  it('market order with partial fills: new -> partial_fill -> partial_fill -> fill, exact position and cash', async () => {
    const s = await sim({ partialFills: 3 });
    const ts = await tradeStream(s);
    const r = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '30', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'a-1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ symbol: 'TSLA', qty: '30', client_order_id: 'a-1', type: 'market', asset_class: 'us_equity', notional: null });
    s.step(1);
    s.step(1);
    const ev = await tradeEvents(ts, 4);
    expect(ev.map((e) => e.event)).toEqual(['new', 'partial_fill', 'partial_fill', 'fill']);
    expect(ev.map((e) => e.qty)).toEqual([undefined, '10', '10', '10']);
    expect(ev.map((e) => e.position_qty)).toEqual([undefined, '10', '20', '30']);
    expect(ev.every((e) => e.order.id === r.body.id)).toBe(true);
    // first part at the price before the replay start (previous close), then the synthesized trades
    expect(ev[1].price).toBe(String(TSLA[119]!.c));
    expect(ev[2].price).toBe(String(TSLA[120]!.o));
    const fill = ev[3];
    expect(fill.order).toMatchObject({ status: 'filled', filled_qty: '30' });
    expect(typeof fill.execution_id).toBe('string');
    const money = ev.slice(1).reduce((a, e) => a + n9(e.qty) * n9(e.price), 0n);
    const avg = money / n9('30');
    expect(n9(fill.order.filled_avg_price)).toBe(avg);
    const acct = await api(s, 'GET', '/v2/account');
    expect(n9(acct.body.cash) * 10n ** 9n).toBe(n9('100000') * 10n ** 9n - money);
    const pos = await api(s, 'GET', '/v2/positions/TSLA');
    expect(pos.status).toBe(200);
    expect(pos.body).toMatchObject({ symbol: 'TSLA', qty: '30', side: 'long', asset_class: 'us_equity' });
    expect(n9(pos.body.avg_entry_price)).toBe(avg);
    expect((await api(s, 'GET', '/v2/positions')).body).toHaveLength(1);
  });

  it('resting limit order fills at its limit when the replayed price reaches it', async () => {
    const s = await sim();
    const ts = await tradeStream(s);
    const low = Math.min(...TSLA.slice(120, 130).map((b) => b.l));
    expect(low).toBeLessThan(TSLA[119]!.c);
    const r = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '2', side: 'buy', type: 'limit', limit_price: String(low), time_in_force: 'gtc' });
    expect(r.status).toBe(200);
    expect((await tradeEvents(ts, 1))[0].event).toBe('new');
    expect((await api(s, 'GET', '/v2/orders')).body.map((o: { id: string }) => o.id)).toEqual([r.body.id]);
    for (let i = 0; i < 40 && (await api(s, 'GET', `/v2/orders/${r.body.id}`)).body.status !== 'filled'; i++) s.step(1);
    const [fill] = await tradeEvents(ts, 1);
    expect(fill).toMatchObject({ event: 'fill', price: String(low), qty: '2', position_qty: '2' });
    expect(fill.order.filled_avg_price).toBe(String(low));
    expect((await api(s, 'GET', '/v2/orders?status=open')).body).toEqual([]);
    expect((await api(s, 'GET', '/v2/orders?status=closed')).body).toHaveLength(1);
  });

  it('sells a crypto position; positions use the slash-less symbol', async () => {
    const s = await sim();
    const ts = await tradeStream(s);
    expect((await api(s, 'POST', '/v2/orders', { symbol: 'DOGE/USD', qty: '1001', side: 'buy', type: 'market', time_in_force: 'gtc' })).status).toBe(200);
    expect((await tradeEvents(ts, 2))[1]).toMatchObject({ event: 'fill', position_qty: '1001' });
    expect((await api(s, 'GET', '/v2/positions/DOGEUSD')).body).toMatchObject({ symbol: 'DOGEUSD', qty: '1001', asset_class: 'crypto' });
    expect((await api(s, 'GET', '/v2/positions/DOGE/USD')).status).toBe(404);
    const tooMuch = await api(s, 'POST', '/v2/orders', { symbol: 'DOGEUSD', qty: '2000', side: 'sell', type: 'market', time_in_force: 'gtc' });
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body).toEqual({ code: 40310000, message: 'insufficient balance for DOGE (requested: 2000, available: 1001)' });
    // a close may sell a fractional qty (exempt from min_trade_increment)
    const close = await api(s, 'DELETE', '/v2/positions/DOGEUSD?percentage=50');
    expect(close.status).toBe(200);
    expect(close.body).toMatchObject({ side: 'sell', qty: '500.5', symbol: 'DOGE/USD' });
    expect((await tradeEvents(ts, 2))[1]).toMatchObject({ event: 'fill', position_qty: '500.5' });
  });

  it('rejects a duplicate client_order_id with 422 and finds orders by client_order_id', async () => {
    const s = await sim();
    const body = { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'day', client_order_id: 'dup-1' };
    const a = await api(s, 'POST', '/v2/orders', body);
    expect(a.status).toBe(200);
    const b = await api(s, 'POST', '/v2/orders', body);
    expect(b.status).toBe(422);
    expect(b.body).toEqual({ code: 40010001, message: 'client_order_id must be unique' });
    const found = await api(s, 'GET', '/v2/orders:by_client_order_id?client_order_id=dup-1');
    expect(found.status).toBe(200);
    expect(found.body.id).toBe(a.body.id);
    expect((await api(s, 'GET', '/v2/orders:by_client_order_id?client_order_id=nope')).status).toBe(404);
    expect((await api(s, 'GET', '/v2/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it.each([
    [{ symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', time_in_force: 'day' }, 422, 'limit_price is required'],
    [{ symbol: 'TSLA', qty: '1', notional: '10', side: 'buy', type: 'market', time_in_force: 'day' }, 422, 'qty or notional is required, not both'],
    [{ symbol: 'NOPE', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' }, 422, 'asset "NOPE" not found'],
    [{ symbol: 'DOGE/USD', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' }, 422, 'invalid crypto time_in_force'],
    [{ symbol: 'TSLA', qty: '1', side: 'buy', type: 'trailing_stop', time_in_force: 'day' }, 422, 'invalid order type trailing_stop'],
    [{ symbol: 'TSLA', qty: '100000', side: 'buy', type: 'market', time_in_force: 'day' }, 403, 'insufficient buying power'],
    [{ symbol: 'TSLA', qty: '1', side: 'sell', type: 'market', time_in_force: 'day' }, 403, 'insufficient qty available for order (requested: 1, available: 0)'],
  ])('validates %j -> %i', async (body, status, message) => {
    const s = await sim();
    const r = await api(s, 'POST', '/v2/orders', body);
    expect(r.status).toBe(status);
    expect(r.body.message).toBe(message);
    expect(typeof r.body.code).toBe('number');
  });

  it('cancels (204, then 422), cancels all (207) and reserves buying power', async () => {
    const s = await sim();
    const ts = await tradeStream(s);
    const a = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '10', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'gtc' });
    expect((await api(s, 'GET', '/v2/account')).body.buying_power).toBe('99000');
    const del = await api(s, 'DELETE', `/v2/orders/${a.body.id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    const ev = await tradeEvents(ts, 2);
    expect(ev.map((e) => e.event)).toEqual(['new', 'canceled']);
    expect(ev[1].order.status).toBe('canceled');
    const again = await api(s, 'DELETE', `/v2/orders/${a.body.id}`);
    expect(again.status).toBe(422);
    expect(again.body).toEqual({ code: 42210000, message: 'order is already in "canceled" state' });
    expect((await api(s, 'GET', '/v2/account')).body.buying_power).toBe('100000');
    const b = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'gtc' });
    const c = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '101', time_in_force: 'gtc' });
    const all = await api(s, 'DELETE', '/v2/orders');
    expect(all.status).toBe(207);
    expect(all.body.map((x: { id: string; status: number }) => [x.id, x.status]).sort()).toEqual([[b.body.id, 200], [c.body.id, 200]].sort());
  });

  it('replaces an order: new id, replaced event for the old, new event for the new', async () => {
    const s = await sim();
    const ts = await tradeStream(s);
    const a = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '5', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'gtc', client_order_id: 'r-1' });
    const r = await api(s, 'PATCH', `/v2/orders/${a.body.id}`, { limit_price: '101.5', qty: '3', client_order_id: 'r-2' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ replaces: a.body.id, limit_price: '101.5', qty: '3', client_order_id: 'r-2', status: 'new' });
    expect(r.body.id).not.toBe(a.body.id);
    const ev = await tradeEvents(ts, 3);
    expect(ev.map((e) => [e.event, e.order.id])).toEqual([['new', a.body.id], ['replaced', a.body.id], ['new', r.body.id]]);
    const old = await api(s, 'GET', `/v2/orders/${a.body.id}`);
    expect(old.body).toMatchObject({ status: 'replaced', replaced_by: r.body.id });
    expect((await api(s, 'PATCH', `/v2/orders/${a.body.id}`, { limit_price: '99' })).status).toBe(422);
  });

  it('lists orders with status, limit, direction, symbols, after/until', async () => {
    let t = Date.UTC(2026, 0, 1);
    const s = await sim({ now: () => t });
    const ids: string[] = [];
    for (const sym of ['TSLA', 'DOGE/USD', 'TSLA']) {
      t += 1000;
      const r = await api(s, 'POST', '/v2/orders', { symbol: sym, qty: '1', side: 'buy', type: 'limit', limit_price: '0.01', time_in_force: 'gtc' });
      ids.push(r.body.id);
    }
    const get = async (q: string): Promise<string[]> => (await api(s, 'GET', `/v2/orders${q}`)).body.map((o: { id: string }) => o.id);
    expect(await get('')).toEqual([ids[2], ids[1], ids[0]]);
    expect(await get('?direction=asc&limit=2')).toEqual([ids[0], ids[1]]);
    expect(await get('?symbols=DOGE/USD')).toEqual([ids[1]]);
    expect(await get('?symbols=TSLA,DOGEUSD&direction=asc')).toEqual(ids);
    expect(await get(`?after=${new Date(Date.UTC(2026, 0, 1, 0, 0, 1)).toISOString()}`)).toEqual([ids[2], ids[1]]);
    expect(await get(`?until=${new Date(Date.UTC(2026, 0, 1, 0, 0, 2)).toISOString()}`)).toEqual([ids[0]]);
    expect(await get('?status=closed')).toEqual([]);
    expect((await api(s, 'GET', '/v2/orders?limit=501')).status).toBe(422);
  });

  it('expires day orders when the equities replay reaches the next trading day', async () => {
    const s = await sim({ warmupBars: 385 });
    const ts = await tradeStream(s);
    const r = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '1', time_in_force: 'day' });
    const firstDayLeft = TSLA.filter((b, i) => i >= 385 && new Date(b.t).getUTCDate() === 11).length;
    s.step(firstDayLeft * 4 + 1);
    const ev = await tradeEvents(ts, 2);
    expect(ev.map((e) => e.event)).toEqual(['new', 'expired']);
    expect((await api(s, 'GET', `/v2/orders/${r.body.id}`)).body.status).toBe('expired');
  });
});

describe('account, clock, calendar, rate limit', () => {
  it('serves account, clock at the replay time and a weekday calendar', async () => {
    const s = await sim();
    const acct = await api(s, 'GET', '/v2/account');
    expect(acct.body).toMatchObject({ status: 'ACTIVE', cash: '100000', equity: '100000', buying_power: '100000', currency: 'USD' });
    const clock = await api(s, 'GET', '/v2/clock');
    expect(clock.body).toEqual({ timestamp: '2019-02-11T11:29:59-05:00', is_open: true, next_open: '2019-02-12T09:30:00-05:00', next_close: '2019-02-11T16:00:00-05:00' });
    const cal = await api(s, 'GET', '/v2/calendar?start=2019-02-08&end=2019-02-12');
    expect(cal.body.map((d: { date: string }) => d.date)).toEqual(['2019-02-08', '2019-02-11', '2019-02-12']);
    expect(cal.body[0]).toMatchObject({ open: '09:30', close: '16:00' });
  });

  it('limits requests per minute with 429 and X-RateLimit headers', async () => {
    let t = Date.UTC(2026, 0, 1, 0, 0, 10);
    const s = await sim({ rateLimitPerMinute: 2, now: () => t });
    const a = await api(s, 'GET', '/v2/clock');
    expect([a.headers.get('x-ratelimit-limit'), a.headers.get('x-ratelimit-remaining'), a.headers.get('x-ratelimit-reset')]).toEqual(['2', '1', String(Date.UTC(2026, 0, 1, 0, 1) / 1000)]);
    expect((await api(s, 'GET', '/v2/clock')).headers.get('x-ratelimit-remaining')).toBe('0');
    const c = await api(s, 'GET', '/v2/clock');
    expect(c.status).toBe(429);
    expect(c.body).toEqual({ code: 42910000, message: 'rate limit exceeded' });
    expect(c.headers.get('x-ratelimit-remaining')).toBe('0');
    t += 60_000;
    expect((await api(s, 'GET', '/v2/clock')).status).toBe(200);
  });
});

describe('market data', () => {
  it('streams TSLA trades, quotes and bars after subscribe, and unsubscribes', async () => {
    const s = await sim();
    const p = await probe(`${s.wsUrl}/v2/iex`);
    p.send({ action: 'auth', key: KEY, secret: SECRET });
    await p.take((m) => m[0].msg === 'authenticated');
    p.send({ action: 'subscribe', trades: ['TSLA'], quotes: ['TSLA'], bars: ['*'] });
    expect(await p.take((m) => m[0].T === 'subscription')).toEqual([
      { T: 'subscription', trades: ['TSLA'], quotes: ['TSLA'], bars: ['*'], updatedBars: [], dailyBars: [], statuses: [], lulds: [], corrections: ['TSLA'], cancelErrors: ['TSLA'] },
    ]);
    s.step(4);
    const msgs: Record<string, unknown>[] = [];
    while (!msgs.some((m) => m.T === 'b')) msgs.push(...(await p.take((m) => ['q', 't', 'b'].includes(m[0].T))));
    expect(msgs.map((m) => m.T)).toEqual(['q', 't', 'q', 't', 'q', 't', 'q', 't', 'b']);
    const bar = TSLA[120]!;
    expect(msgs.filter((m) => m.T === 't').map((m) => m.p)).toEqual(bar.c >= bar.o ? [bar.o, bar.l, bar.h, bar.c] : [bar.o, bar.h, bar.l, bar.c]);
    expect(msgs[8]).toMatchObject({ T: 'b', S: 'TSLA', o: bar.o, h: bar.h, l: bar.l, c: bar.c, v: bar.v, t: new Date(bar.t).toISOString(), n: 4 });
    expect(msgs[0]).toMatchObject({ S: 'TSLA', bp: Number((bar.o - 0.01).toFixed(2)), ap: Number((bar.o + 0.01).toFixed(2)) });
    expect(msgs.every((m) => m.S === 'TSLA')).toBe(true); // no DOGE/USD on the stock stream
    p.send({ action: 'unsubscribe', trades: ['TSLA'], quotes: ['TSLA'], bars: ['*'] });
    expect((await p.take((m) => m[0].T === 'subscription'))[0].trades).toEqual([]);
  });

  it('streams DOGE/USD on the crypto stream', async () => {
    const s = await sim();
    const p = await probe(`${s.wsUrl}/v1beta3/crypto/us`);
    p.send({ action: 'auth', key: KEY, secret: SECRET });
    await p.take((m) => m[0].msg === 'authenticated');
    p.send({ action: 'subscribe', trades: ['DOGE/USD'], quotes: ['DOGE/USD'], bars: ['DOGE/USD'] });
    expect(await p.take((m) => m[0].T === 'subscription')).toEqual([
      { T: 'subscription', trades: ['DOGE/USD'], quotes: ['DOGE/USD'], orderbooks: [], bars: ['DOGE/USD'], updatedBars: [], dailyBars: [] },
    ]);
    s.step(4);
    const msgs: Record<string, unknown>[] = [];
    while (!msgs.some((m) => m.T === 'b')) msgs.push(...(await p.take((m) => ['q', 't', 'b'].includes(m[0].T))));
    expect(msgs.filter((m) => m.T === 't')).toHaveLength(4);
    expect(msgs.find((m) => m.T === 't')).toMatchObject({ S: 'DOGE/USD', tks: expect.stringMatching(/^[BS]$/) });
    expect(msgs.find((m) => m.T === 'q')).toMatchObject({ S: 'DOGE/USD', bp: expect.any(Number), ap: expect.any(Number) });
    expect(msgs.find((m) => m.T === 'b')).toMatchObject({ S: 'DOGE/USD', t: '2025-05-30T18:42:00.000Z' });
  });

  it('pages REST bars with page_token and aggregates timeframes', async () => {
    const s = await sim();
    const all: { t: string; o: number }[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const r = await api(s, 'GET', `/v2/stocks/TSLA/bars?timeframe=1Min&limit=50${token ? `&page_token=${token}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.symbol).toBe('TSLA');
      all.push(...r.body.bars);
      token = r.body.next_page_token;
      pages++;
    } while (token);
    expect(pages).toBe(3);
    expect(all).toHaveLength(120);
    expect(all.map((b) => b.t)).toEqual(TSLA.slice(0, 120).map((b) => new Date(b.t).toISOString().replace('.000Z', 'Z')));
    expect(all[0]).toMatchObject({ o: TSLA[0]!.o, n: 4 });
    s.step(4);
    expect((await api(s, 'GET', '/v2/stocks/bars?symbols=TSLA&timeframe=1Min&limit=10000')).body.bars.TSLA).toHaveLength(121);
    const five = await api(s, 'GET', '/v1beta3/crypto/us/bars?symbols=DOGE/USD&timeframe=5Min&start=2025-05-30T16:45:00Z&end=2025-05-30T16:59:59Z');
    const doge = loadSymbol(DATA_DIR, 'DOGE/USD').bars;
    const five1 = doge.filter((b) => b.t >= Date.UTC(2025, 4, 30, 16, 45) && b.t < Date.UTC(2025, 4, 30, 16, 50));
    expect(five.body.bars['DOGE/USD'][0]).toMatchObject({ t: '2025-05-30T16:45:00Z', o: five1[0]!.o, c: five1[4]!.c, h: Math.max(...five1.map((b) => b.h)) });
    expect(five.body.bars['DOGE/USD']).toHaveLength(3);
    expect((await api(s, 'GET', '/v2/stocks/TSLA/bars?timeframe=7Week')).status).toBe(400);
  });
});

describe('startAt', () => {
  it('shifts the data so the replay starts at the given minute: history ends there, the clock is open', async () => {
    const start = Date.UTC(2026, 10, 22, 3, 7, 30); // a Sunday night
    const s = await sim({ startAt: start, now: () => start });
    const r = await api(s, 'GET', `/v2/stocks/TSLA/bars?timeframe=1Min&start=${new Date(start - 3_630_000).toISOString()}&end=${new Date(start).toISOString()}`);
    expect(r.body.bars).toHaveLength(60);
    expect(r.body.bars[59]).toMatchObject({ t: '2026-11-22T03:06:00Z', o: TSLA[119]!.o, c: TSLA[119]!.c });
    const crypto = await api(s, 'GET', `/v1beta3/crypto/us/bars?symbols=DOGE/USD&timeframe=1Min&start=${new Date(start - 630_000).toISOString()}`);
    expect(crypto.body.bars['DOGE/USD']).toHaveLength(10);
    expect((await api(s, 'GET', '/v2/clock')).body).toMatchObject({ is_open: true, timestamp: '2026-11-21T22:06:59-05:00' });
    const p = await probe(`${s.wsUrl}/v2/iex`, { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET });
    p.send({ action: 'subscribe', trades: ['TSLA'] });
    await p.take((m) => m[0].T === 'subscription');
    s.step(1);
    expect((await p.take((m) => m[0].T === 't'))[0]).toMatchObject({ p: TSLA[120]!.o, t: '2026-11-22T03:07:00.001Z' });
  });
});

describe('faults', () => {
  it('answers 5xx and 429 on the next N requests of a route (admin endpoint)', async () => {
    const s = await sim();
    const f = await fetch(`${s.url}/_admin/faults`, { method: 'POST', body: JSON.stringify([{ kind: 'http', route: 'POST /v2/orders', status: 503, count: 2 }, { kind: 'http', route: 'GET /v2/account', status: 429 }]) });
    expect(f.status).toBe(200);
    const body = { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'day' };
    expect((await api(s, 'POST', '/v2/orders', body)).status).toBe(503);
    expect((await api(s, 'POST', '/v2/orders', body)).status).toBe(503);
    expect((await api(s, 'POST', '/v2/orders', body)).status).toBe(200);
    expect((await api(s, 'GET', '/v2/orders')).body).toHaveLength(1); // failed requests placed nothing
    const rl = await api(s, 'GET', '/v2/account');
    expect(rl.status).toBe(429);
    expect(rl.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(rl.headers.get('x-ratelimit-limit')).toBe('200');
    expect((await api(s, 'GET', '/v2/account')).status).toBe(200);
  });

  it('accepts an order but never answers (timeout), or answers late', async () => {
    const s = await sim({ faults: [{ kind: 'timeout', route: 'POST /v2/orders' }] });
    const body = { symbol: 'TSLA', qty: '1', side: 'buy', type: 'limit', limit_price: '100', time_in_force: 'day', client_order_id: 'hang-1' };
    await expect(fetch(`${s.url}/v2/orders`, { method: 'POST', headers: { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET }, body: JSON.stringify(body), signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const found = await api(s, 'GET', '/v2/orders:by_client_order_id?client_order_id=hang-1');
    expect(found.status).toBe(200);
    s.addFault({ kind: 'timeout', route: 'GET /v2/clock', delayMs: 30 });
    expect((await api(s, 'GET', '/v2/clock')).status).toBe(200);
  });

  it('swaps the next two trade_updates and duplicates events', async () => {
    const s = await sim({ faults: [{ kind: 'swap' }] });
    const ts = await tradeStream(s);
    await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' });
    expect((await tradeEvents(ts, 2)).map((e) => e.event)).toEqual(['fill', 'new']);
    s.addFault({ kind: 'duplicate', count: 1 });
    await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' });
    const ev = await tradeEvents(ts, 3);
    expect(ev.map((e) => e.event)).toEqual(['new', 'new', 'fill']);
    expect(ev[0]).toEqual(ev[1]);
  });

  it('rejects the next order on the stream', async () => {
    const s = await sim({ faults: [{ kind: 'reject' }] });
    const ts = await tradeStream(s);
    const r = await api(s, 'POST', '/v2/orders', { symbol: 'TSLA', qty: '1', side: 'buy', type: 'market', time_in_force: 'day' });
    expect(r.status).toBe(200);
    const [e] = await tradeEvents(ts, 1);
    expect(e).toMatchObject({ event: 'rejected', order: { status: 'rejected', id: r.body.id } });
    expect((await api(s, 'GET', '/v2/positions')).body).toEqual([]);
  });

  it('disconnects the trade_updates and market-data sockets on command', async () => {
    const s = await sim();
    const ts = await tradeStream(s);
    const md = await probe(`${s.wsUrl}/v2/iex`);
    await fetch(`${s.url}/_admin/faults`, { method: 'POST', body: JSON.stringify({ kind: 'disconnect', target: 'trade' }) });
    await ts.whenClosed();
    expect(md.closed).toBe(false);
    s.addFault({ kind: 'disconnect', target: 'marketdata' });
    await md.whenClosed();
    expect((await fetch(`${s.url}/_admin/faults`, { method: 'POST', body: '{"kind":"http","route":"*","status":200}' })).status).toBe(400);
  });
});
