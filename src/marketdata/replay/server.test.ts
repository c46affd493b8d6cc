import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { envelopeStream, readAll, type RecordLine } from '../recording/format.js';
import { startReplayServer, type ReplayServer } from './server.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const SPOT1 = `${DATA}binance/spot/btcusdt_20240808.gz`;
const SPOT2 = `${DATA}binance/spot/btcusdt_20240809.gz`;
const USDM_BTC = `${DATA}binance/usdm/btcusdt_20240808.gz`;
const USDM_ETH = `${DATA}binance/usdm/ethusdt_20240808.gz`;
const REST = `${DATA}binance-usdm-rest`;

type Level = [string, string];
interface Diff {
  e: string;
  E: number;
  T?: number;
  s: string;
  U: number;
  u: number;
  pu?: number;
  b: Level[];
  a: Level[];
}
interface Snap {
  lastUpdateId: number;
  bids: Level[];
  asks: Level[];
}

const cache = new Map<string, Promise<RecordLine[]>>();
const lines = (f: string) => {
  let p = cache.get(f);
  if (!p) cache.set(f, (p = readAll(f)));
  return p;
};
const dataText = (line: string) => line.slice(line.indexOf('"data":') + 7, -1);

interface Conn {
  ws: WebSocket;
  msgs: string[];
}
function connect(url: string): Promise<Conn> {
  const ws = new WebSocket(url);
  const msgs: string[] = [];
  ws.on('message', (d) => msgs.push(String(d)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, msgs }));
    ws.once('error', reject);
  });
}
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const servers: ReplayServer[] = [];
const conns: WebSocket[] = [];
async function serve(opts: Parameters<typeof startReplayServer>[0]): Promise<ReplayServer> {
  const s = await startReplayServer(opts);
  servers.push(s);
  return s;
}
async function open(url: string): Promise<Conn> {
  const c = await connect(url);
  conns.push(c.ws);
  return c;
}
afterAll(async () => {
  for (const c of conns) c.terminate();
  await Promise.all(servers.map((s) => s.close()));
});

function applyLevels(side: Map<string, string>, levels: Level[]) {
  for (const [p, q] of levels) {
    if (Number(q) === 0) side.delete(p);
    else side.set(p, q);
  }
}

describe('replay server: streams', () => {
  it('serves combined-stream envelopes verbatim, in recorded order, across continuous files', async () => {
    const srv = await serve({ files: [SPOT2, SPOT1], speed: Infinity });
    expect(srv.status().started).toBe(false);
    const c = await open(`${srv.wsUrl}/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms`);
    await srv.done;
    const expected = [...(await lines(SPOT1)), ...(await lines(SPOT2))].filter((l) => envelopeStream(l.text) !== null).map((l) => l.text);
    expect(expected.length).toBe(6495 + 19904 + 73174);
    await until(() => c.msgs.length >= expected.length);
    expect(c.msgs.length).toBe(expected.length);
    // byte-identical and in order
    let mismatch = -1;
    for (let i = 0; i < expected.length && mismatch < 0; i++) if (c.msgs[i] !== expected[i]) mismatch = i;
    expect(mismatch).toBe(-1);
    const st = srv.status();
    expect(st).toMatchObject({ started: true, finished: true, sent: expected.length, total: expected.length, clients: 1 });
    expect(st.perStream).toEqual({ 'btcusdt@depth@100ms': 6495, 'btcusdt@trade': 19904, 'btcusdt@bookTicker': 73174 });
  });

  it('serves raw payloads on /ws/<stream>', async () => {
    const srv = await serve({ files: [SPOT1], speed: Infinity });
    const c = await open(`${srv.wsUrl}/ws/btcusdt@trade`);
    await srv.done;
    const expected = (await lines(SPOT1)).filter((l) => envelopeStream(l.text) === 'btcusdt@trade').map((l) => dataText(l.text));
    await until(() => c.msgs.length >= expected.length);
    expect(c.msgs).toEqual(expected);
    expect(JSON.parse(c.msgs[0]!)).toMatchObject({ e: 'trade', s: 'BTCUSDT' });
  });

  it('supports SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS and error replies', async () => {
    const srv = await serve({ files: [SPOT1], speed: 20 });
    const c = await open(`${srv.wsUrl}/ws`);
    const replies = () => c.msgs.filter((m) => m.includes('"id"')).map((m) => JSON.parse(m) as Record<string, unknown>);
    c.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":"a1"}');
    await until(() => replies().length === 1);
    expect(replies()[0]).toEqual({ result: [], id: 'a1' });
    expect(srv.status().started).toBe(false);

    c.ws.send(JSON.stringify({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@bookTicker', 'nosuch@trade'], id: 1 }));
    await until(() => replies().length === 2);
    expect(replies()[1]).toEqual({ result: null, id: 1 });
    expect(srv.status().started).toBe(true);
    c.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":2}');
    await until(() => replies().length === 3);
    expect(replies()[2]).toEqual({ result: ['btcusdt@trade', 'btcusdt@bookTicker', 'nosuch@trade'], id: 2 });
    await until(() => c.msgs.some((m) => m.startsWith('{"u":')) && c.msgs.some((m) => m.startsWith('{"e":"trade"')));

    c.ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@bookTicker"],"id":3}');
    await until(() => replies().length === 4);
    const unsubAt = c.msgs.findIndex((m) => m === '{"result":null,"id":3}');
    expect(unsubAt).toBeGreaterThan(0);
    c.ws.send('{"method":"LIST_SUBSCRIPTIONS","id":4}');
    c.ws.send('{"method": "SUBSCRIBE", "params": [');
    c.ws.send('{"method":"FROBNICATE","id":5}');
    c.ws.send('{"method":"SUBSCRIBE","params":"btcusdt@trade","id":6}');
    c.ws.send('{"method":"SET_PROPERTY","params":["combined",true],"id":7}');
    c.ws.send('{"method":"GET_PROPERTY","params":["combined"],"id":8}');
    await until(() => replies().length === 10);
    const r = replies();
    expect(r[4]).toEqual({ result: ['btcusdt@trade', 'nosuch@trade'], id: 4 });
    expect(r[5]).toMatchObject({ code: 3, id: null });
    expect(String(r[5]!.msg)).toMatch(/^Invalid JSON/);
    expect(r[6]).toMatchObject({ code: 2, id: 5 });
    expect(String(r[6]!.msg)).toMatch(/^Invalid request/);
    expect(r[7]).toMatchObject({ code: 2, id: 6 });
    expect(r[8]).toEqual({ result: null, id: 7 });
    expect(r[9]).toEqual({ result: true, id: 8 });
    // nothing of the unsubscribed stream after the UNSUBSCRIBE reply; combined after SET_PROPERTY
    const after = c.msgs.slice(unsubAt + 1);
    expect(after.some((m) => m.startsWith('{"u":'))).toBe(false);
    await until(() => c.msgs.some((m) => m.startsWith('{"stream":"btcusdt@trade","data":{')));
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('aggregates USD-M 0ms diffs to 100ms windows that stay pu-continuous and rebuild the same book', async () => {
    const srv = await serve({ files: [USDM_BTC], speed: Infinity });
    const c = await open(`${srv.wsUrl}/public/stream?streams=btcusdt@depth@0ms/btcusdt@depth@100ms`);
    await srv.done;
    const recorded = (await lines(USDM_BTC)).filter((l) => envelopeStream(l.text) === 'btcusdt@depth@0ms');
    await until(() => c.msgs.filter((m) => m.startsWith('{"stream":"btcusdt@depth@0ms"')).length === recorded.length);
    await new Promise((r) => setTimeout(r, 50));
    const raw = c.msgs.filter((m) => m.startsWith('{"stream":"btcusdt@depth@0ms"'));
    expect(raw).toEqual(recorded.map((l) => l.text)); // untouched payloads
    const agg = c.msgs.filter((m) => m.startsWith('{"stream":"btcusdt@depth@100ms"')).map((m) => (JSON.parse(m) as { data: Diff }).data);
    expect(agg.length).toBeGreaterThan(100);
    expect(agg.length).toBeLessThan(raw.length);
    const rawDiffs = raw.map((m) => (JSON.parse(m) as { data: Diff }).data);
    expect(agg[0]!.U).toBe(rawDiffs[0]!.U);
    expect(agg[0]!.pu).toBe(rawDiffs[0]!.pu);
    expect(agg[agg.length - 1]!.u).toBe(rawDiffs[rawDiffs.length - 1]!.u);
    for (let i = 1; i < agg.length; i++) {
      expect(agg[i]!.pu).toBe(agg[i - 1]!.u);
      expect(Math.floor(agg[i]!.E / 100)).toBeGreaterThanOrEqual(Math.floor(agg[i - 1]!.E / 100));
      expect(agg[i]!).toMatchObject({ e: 'depthUpdate', s: 'BTCUSDT' });
      expect(typeof agg[i]!.T).toBe('number');
    }

    // rebuild from the recorded snapshot with the official futures procedure
    const snapLine = (await lines(USDM_BTC)).find((l) => l.text.startsWith('{"lastUpdateId"'))!;
    const snap = JSON.parse(snapLine.text) as Snap;
    const rebuild = (diffs: Diff[]) => {
      const bids = new Map<string, string>(snap.bids.map(([p, q]) => [p, q]));
      const asks = new Map<string, string>(snap.asks.map(([p, q]) => [p, q]));
      let prev: number | null = null;
      let applied = 0;
      for (const d of diffs) {
        if (prev === null) {
          if (d.u < snap.lastUpdateId) continue;
          expect(d.U).toBeLessThanOrEqual(snap.lastUpdateId);
        } else expect(d.pu).toBe(prev);
        applyLevels(bids, d.b);
        applyLevels(asks, d.a);
        prev = d.u;
        applied++;
      }
      return { bids, asks, applied };
    };
    const A = rebuild(rawDiffs);
    const B = rebuild(agg);
    expect(A.applied).toBeGreaterThan(B.applied);
    expect(B.bids).toEqual(A.bids);
    expect(B.asks).toEqual(A.asks);

    // the server's own book agrees
    const res = await fetch(`${srv.url}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`);
    const book = (await res.json()) as Snap & { E: number; T: number };
    expect(book.lastUpdateId).toBe(rawDiffs[rawDiffs.length - 1]!.u);
    const bestBids = [...A.bids].sort((x, y) => Number(y[0]) - Number(x[0])).slice(0, 1000);
    expect(book.bids).toEqual(bestBids);
    expect(book.E).toBe(rawDiffs[rawDiffs.length - 1]!.E);
  });

  it('dropDepth withholds one diff so clients see a sequence gap', async () => {
    const srv = await serve({ files: [SPOT1], speed: Infinity, dropDepth: [{ symbol: 'BTCUSDT', venue: 'spot', index: 100 }] });
    const c = await open(`${srv.wsUrl}/ws/btcusdt@depth@100ms`);
    await srv.done;
    const recorded = (await lines(SPOT1)).filter((l) => envelopeStream(l.text) === 'btcusdt@depth@100ms');
    await until(() => c.msgs.length >= recorded.length - 1);
    expect(c.msgs.length).toBe(recorded.length - 1);
    const got = c.msgs.map((m) => JSON.parse(m) as Diff);
    const gaps: number[] = [];
    for (let i = 1; i < got.length; i++) if (got[i]!.U !== got[i - 1]!.u + 1) gaps.push(i);
    expect(gaps).toEqual([100]);
    expect(c.msgs[100]).toBe(dataText(recorded[101]!.text));
    expect(srv.status().dropped).toBe(1);
  });
});

describe('replay server: REST depth snapshot', () => {
  it('holds a depth request until playback reaches the recorded snapshot, then answers consistently', async () => {
    const srv = await serve({ files: [SPOT1], speed: 1 });
    const c = await open(`${srv.wsUrl}/stream?streams=btcusdt@depth@100ms`);
    const t0 = Date.now();
    const res = await fetch(`${srv.url}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
    const waited = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-mbx-used-weight-1m')).toBe('50');
    const snap = (await res.json()) as Snap;
    // the recorded snapshot line comes ~270 ms into the recording
    expect(waited).toBeGreaterThan(150);
    // = the recorded snapshot plus the diffs recorded before it that are newer than it
    const rec = await lines(SPOT1);
    const snapAt = rec.findIndex((l) => l.text.startsWith('{"lastUpdateId"'));
    const recordedSnap = JSON.parse(rec[snapAt]!.text) as Snap;
    expect(snap.lastUpdateId).toBeGreaterThanOrEqual(recordedSnap.lastUpdateId);
    const bids = new Map(recordedSnap.bids);
    const asks = new Map(recordedSnap.asks);
    let lid = recordedSnap.lastUpdateId;
    for (const l of rec.slice(0, snapAt)) {
      if (envelopeStream(l.text) !== 'btcusdt@depth@100ms') continue;
      const d = (JSON.parse(l.text) as { data: Diff }).data;
      if (d.u <= lid) continue;
      applyLevels(bids, d.b);
      applyLevels(asks, d.a);
      lid = d.u;
    }
    expect(snap.lastUpdateId).toBe(lid);
    expect(snap.bids).toEqual([...bids].sort((x, y) => Number(y[0]) - Number(x[0])).slice(0, 1000));
    expect(snap.asks).toEqual([...asks].sort((x, y) => Number(x[0]) - Number(y[0])).slice(0, 1000));

    // the first diff the client sees after the snapshot straddles it
    const diffs = () => c.msgs.map((m) => (JSON.parse(m) as { data: Diff }).data);
    await until(() => diffs().some((d) => d.u > snap.lastUpdateId));
    const first = diffs().find((d) => d.u > snap.lastUpdateId)!;
    expect(first.U).toBeLessThanOrEqual(snap.lastUpdateId + 1);
    expect(first.u).toBeGreaterThanOrEqual(snap.lastUpdateId + 1);

    // a later snapshot continues exactly where the stream is
    await until(() => diffs().length >= 6);
    const res2 = await fetch(`${srv.url}/api/v3/depth?symbol=BTCUSDT&limit=5`);
    const snap2 = (await res2.json()) as Snap;
    expect(snap2.bids).toHaveLength(5);
    expect(snap2.lastUpdateId).toBeGreaterThan(snap.lastUpdateId);
    await until(() => diffs().some((d) => d.u > snap2.lastUpdateId));
    const seen = diffs();
    const i = seen.findIndex((d) => d.u > snap2.lastUpdateId);
    expect(seen[i]!.U).toBe(snap2.lastUpdateId + 1);
    expect(seen[i - 1]!.u).toBe(snap2.lastUpdateId);
    // best-first ordering
    const bp = snap2.bids.map((l) => Number(l[0]));
    expect([...bp].sort((x, y) => y - x)).toEqual(bp);
    expect(Number(snap2.asks[0]![0])).toBeGreaterThan(bp[0]!);
  });

  it('waits for the clock about once a message or timer, never polling it (aggregated depth windows)', async () => {
    // USD-M diffs are recorded at 0 ms and aggregated into 100 ms windows: each window's flush timer moves
    // as its diffs come, which once left the next timer time stale and playback polling the event loop
    const srv = await serve({ files: [USDM_BTC], speed: 1, startOn: 'immediately' });
    await open(`${srv.wsUrl}/stream?streams=btcusdt@depth@100ms/btcusdt@markPrice@1s`);
    await until(() => srv.status().timersFired >= 3);
    const s = srv.status();
    expect(s.sent).toBeGreaterThan(0);
    expect(s.waits).toBeGreaterThan(0);
    expect(s.waits).toBeLessThanOrEqual(2 * (s.sent + s.timersFired) + 10);
  });

  it('paces playback by the recorded receive times', async () => {
    const speed = 100;
    const srv = await serve({ files: [SPOT1], speed, startOn: 'immediately' });
    const t0 = performance.now();
    const all = (await lines(SPOT1)).filter((l) => envelopeStream(l.text) !== null);
    const base = (await lines(SPOT1))[0]!.recvNs;
    await new Promise((r) => setTimeout(r, 400));
    const lo = (performance.now() - t0 - 200) * speed;
    const sent = srv.status().sent;
    const hi = (performance.now() - t0 + 200) * speed;
    const count = (ms: number) => all.filter((l) => Number(l.recvNs - base) / 1e6 <= ms).length;
    expect(sent).toBeGreaterThanOrEqual(count(lo));
    expect(sent).toBeLessThanOrEqual(count(hi));
    expect(srv.status().finished).toBe(false);
  });
});

describe('replay server: REST and USD-M extras', () => {
  let srv: ReplayServer;
  beforeAll(async () => {
    srv = await serve({ files: [SPOT1, USDM_BTC, USDM_ETH], speed: Infinity, restData: REST, startDelayMs: 150 });
  });

  it('exchangeInfo carries the real filters and rate limits', async () => {
    const spot = (await (await fetch(`${srv.url}/api/v3/exchangeInfo?symbol=BTCUSDT`)).json()) as {
      rateLimits: { rateLimitType: string; limit: number }[];
      symbols: { symbol: string; status: string; baseAssetPrecision: number; quotePrecision: number; filters: Record<string, unknown>[] }[];
    };
    expect(spot.rateLimits[0]).toEqual({ rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 });
    expect(spot.symbols).toHaveLength(1);
    const s = spot.symbols[0]!;
    expect(s).toMatchObject({ symbol: 'BTCUSDT', status: 'TRADING', baseAssetPrecision: 8, quotePrecision: 8, baseAsset: 'BTC', quoteAsset: 'USDT' });
    const f = (type: string) => s.filters.find((x) => x.filterType === type);
    expect(f('PRICE_FILTER')).toEqual({ filterType: 'PRICE_FILTER', minPrice: '0.01000000', maxPrice: '1000000.00000000', tickSize: '0.01000000' });
    expect(f('LOT_SIZE')).toEqual({ filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' });
    expect(f('NOTIONAL')).toEqual({
      filterType: 'NOTIONAL',
      minNotional: '5.00000000',
      applyMinToMarket: true,
      maxNotional: '9000000.00000000',
      applyMaxToMarket: false,
      avgPriceMins: 5,
    });

    const fut = (await (await fetch(`${srv.url}/fapi/v1/exchangeInfo?symbols=${encodeURIComponent('["ETHUSDT","BTCUSDT"]')}`)).json()) as {
      rateLimits: { rateLimitType: string; limit: number }[];
      symbols: { symbol: string; contractType: string; pricePrecision: number; quantityPrecision: number; filters: Record<string, unknown>[] }[];
    };
    expect(fut.rateLimits[0]).toMatchObject({ rateLimitType: 'REQUEST_WEIGHT', limit: 2400 });
    expect(fut.symbols.map((x) => x.symbol)).toEqual(['ETHUSDT', 'BTCUSDT']);
    const [eth, btc] = fut.symbols as [(typeof fut.symbols)[0], (typeof fut.symbols)[0]];
    expect(btc).toMatchObject({ contractType: 'PERPETUAL', pricePrecision: 2, quantityPrecision: 3 });
    const ff = (x: typeof btc, type: string) => x.filters.find((y) => y.filterType === type);
    expect(ff(btc, 'PRICE_FILTER')).toEqual({ filterType: 'PRICE_FILTER', minPrice: '556.80', maxPrice: '4529764', tickSize: '0.10' });
    expect(ff(btc, 'LOT_SIZE')).toEqual({ filterType: 'LOT_SIZE', minQty: '0.001', maxQty: '1000', stepSize: '0.001' });
    expect(ff(btc, 'MARKET_LOT_SIZE')).toEqual({ filterType: 'MARKET_LOT_SIZE', minQty: '0.001', maxQty: '120', stepSize: '0.001' });
    expect(ff(btc, 'MIN_NOTIONAL')).toEqual({ filterType: 'MIN_NOTIONAL', notional: '100' });
    expect(ff(eth, 'PRICE_FILTER')).toEqual({ filterType: 'PRICE_FILTER', minPrice: '39.86', maxPrice: '306177', tickSize: '0.01' });
    expect(ff(eth, 'MARKET_LOT_SIZE')).toMatchObject({ maxQty: '2000' });
    expect(ff(eth, 'MIN_NOTIONAL')).toEqual({ filterType: 'MIN_NOTIONAL', notional: '20' });
  });

  it.each([
    '/api/v3/depth?symbol=BTCUSDT&limit=abc',
    '/api/v3/depth?symbol=BTCUSDT&limit=0',
    '/fapi/v1/depth?symbol=BTCUSDT&limit=-5',
    '/fapi/v1/depth?symbol=BTCUSDT&limit=1e3',
  ])('rejects a bad depth limit with 400 / -1100, as Binance does: %s', async (path) => {
    const r = await fetch(srv.url + path);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { code: number }).code).toBe(-1100);
    expect(r.headers.get('x-mbx-used-weight-1m')).toMatch(/^\d+$/);
  });

  it('rejects unknown symbols with 400 / -1121 and unknown paths with 404', async () => {
    for (const path of ['/api/v3/depth?symbol=FOOBAR', '/api/v3/exchangeInfo?symbol=ETHUSDT', '/fapi/v1/depth?symbol=XRPUSDT', '/fapi/v1/openInterest?symbol=NOPE']) {
      const r = await fetch(srv.url + path);
      expect(r.status, path).toBe(400);
      expect(await r.json()).toEqual({ code: -1121, msg: 'Invalid symbol.' });
      expect(r.headers.get('x-mbx-used-weight-1m')).toMatch(/^\d+$/);
    }
    const r = await fetch(`${srv.url}/api/v3/nothing`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { code: number }).code).toBe(-1);
    expect((await (await fetch(`${srv.url}/api/v3/ping`)).json())).toEqual({});
    const t = (await (await fetch(`${srv.url}/fapi/v1/time`)).json()) as { serverTime: number };
    expect(t.serverTime).toBeGreaterThan(1723161250000);
    expect(t.serverTime).toBeLessThan(1723161260000);
  });

  it('routes USD-M streams by category and derives mark prices', async () => {
    const market = await open(`${srv.wsUrl}/market/stream`);
    const pub = await open(`${srv.wsUrl}/public/ws`);
    const spot = await open(`${srv.wsUrl}/ws`);
    market.ws.send('{"method":"SUBSCRIBE","params":["btcusdt@markPrice@1s","btcusdt@bookTicker","ethusdt@trade","btcusdt@forceOrder"],"id":1}');
    await until(() => market.msgs.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(srv.status().started).toBe(false); // startDelayMs: the other connections get to subscribe first
    pub.ws.send('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker","btcusdt@trade"],"id":1}');
    spot.ws.send('{"method":"SUBSCRIBE","params":["btcusdt@bookTicker"],"id":1}');
    await srv.done;
    await new Promise((r) => setTimeout(r, 100));
    const mk = market.msgs.slice(1).map((m) => JSON.parse(m) as { stream: string; data: Record<string, unknown> });
    const streams = new Set(mk.map((m) => m.stream));
    expect([...streams].sort()).toEqual(['btcusdt@markPrice@1s', 'ethusdt@trade']); // bookTicker is a /public stream
    const mp = mk.filter((m) => m.stream === 'btcusdt@markPrice@1s').map((m) => m.data);
    expect(mp.length).toBeGreaterThan(300);
    for (let i = 1; i < mp.length; i++) expect(mp[i]!.E).toBe((mp[i - 1]!.E as number) + 1000);
    expect(mp[0]).toMatchObject({ e: 'markPriceUpdate', s: 'BTCUSDT', r: '0.00010000', T: 1723161600000 });
    expect(mp[0]!.p).toMatch(/^6\d{4}\.\d{2}$/);
    expect(mp[0]!.i).toBe(mp[0]!.p);
    // public route: bookTicker delivers, trade (a market stream) never does
    const ethTickers = (await lines(USDM_ETH)).filter((l) => envelopeStream(l.text) === 'ethusdt@bookTicker').map((l) => dataText(l.text));
    expect(pub.msgs.slice(1)).toEqual(ethTickers);
    // unrouted /ws serves spot when both venues are loaded (spot bookTicker has no "e")
    const spotTickers = (await lines(SPOT1)).filter((l) => envelopeStream(l.text) === 'btcusdt@bookTicker').map((l) => dataText(l.text));
    expect(spot.msgs.slice(1)).toEqual(spotTickers);
    const ethTrades = (await lines(USDM_ETH)).filter((l) => envelopeStream(l.text) === 'ethusdt@trade').map((l) => l.text);
    expect(mk.filter((m) => m.stream === 'ethusdt@trade')).toHaveLength(ethTrades.length);

    const pi = (await (await fetch(`${srv.url}/fapi/v1/premiumIndex?symbol=BTCUSDT`)).json()) as Record<string, unknown>;
    expect(pi).toMatchObject({ symbol: 'BTCUSDT', interestRate: '0.00010000', lastFundingRate: '0.00010000' });
    const H8 = 8 * 3600_000;
    expect(pi.nextFundingTime).toBe(Math.floor((pi.time as number) / H8) * H8 + H8);
    expect(pi.markPrice).toMatch(/^6\d{4}\.\d{2}$/);
    const oi = (await (await fetch(`${srv.url}/fapi/v1/openInterest?symbol=BTCUSDT`)).json()) as Record<string, unknown>;
    // the replay time (2024) precedes the REST data (2026): the nearest known value is used
    expect(oi).toMatchObject({ symbol: 'BTCUSDT', openInterest: '80485.615' });
    const st = (await (await fetch(`${srv.url}/replay/status`)).json()) as { finished: boolean; perStream: Record<string, number> };
    expect(st.finished).toBe(true);
    expect(st.perStream['usdm:ethusdt@depth@0ms']).toBe(6586);
  });
});

describe('replay server: request weight', () => {
  it('answers 429 with Retry-After once the 1-minute weight budget is used', async () => {
    const srv = await serve({ files: [SPOT1], speed: Infinity, startOn: 'immediately' });
    await srv.done;
    for (let i = 1; i <= 24; i++) {
      const r = await fetch(`${srv.url}/api/v3/depth?symbol=BTCUSDT&limit=5000`);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-mbx-used-weight-1m')).toBe(String(250 * i));
      await r.arrayBuffer();
    }
    const r = await fetch(`${srv.url}/api/v3/time`);
    expect(r.status).toBe(429);
    const after = Number(r.headers.get('retry-after'));
    expect(after).toBeGreaterThan(50);
    expect(after).toBeLessThanOrEqual(60);
    expect(((await r.json()) as { code: number }).code).toBe(-1003);
    // the futures budget is separate (and not loaded here -> 404, still with the header)
    const f = await fetch(`${srv.url}/fapi/v1/time`);
    expect(f.status).toBe(404);
  });
});
