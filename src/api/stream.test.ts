import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineNotice } from '../engine/engine.js';
import { StreamHub } from './stream.js';
import { apiFixtures, buyBtc, rawRequest, sseClient, T0, waitUntil, type Fixture, type SseFrame } from '../../test/support/api.js';

const setup = apiFixtures();
const sockets: Socket[] = [];
// registered after the fixtures' hook, so it runs before it: sockets are gone before the servers close
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});
const data = (f: SseFrame) => JSON.parse(f.data!) as Record<string, any>;

/** Counts the engine observers that are subscribed now (wraps engine.observe). */
function countObservers(f: Fixture): () => number {
  let live = 0;
  const observe = f.engine.observe.bind(f.engine);
  f.engine.observe = (fn) => {
    live++;
    const off = observe(fn);
    let done = false;
    return () => {
      if (!done) live--;
      done = true;
      off();
    };
  };
  return () => live;
}

describe('GET /stream', () => {
  it('sends SSE headers, then a snapshot equal to the JSON endpoints, with an id', async () => {
    const f = await setup();
    buyBtc(f, T0 + 20);
    // a working order too
    f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 5_999_900, timeInForce: 'GTC', qtyUnits: 1_000_000, strategy: 't', reason: 'test', createdAt: T0 + 30 });
    f.engine.tick(T0 + 35);
    const s = await sseClient(f.base);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['x-accel-buffering']).toBe('no');
    expect(s.headers['cache-control']).toContain('no-cache');
    const snap = await s.next((x) => x.event === 'snapshot');
    expect(Number(snap.id)).toBeGreaterThan(0);
    expect(s.frames[0]!.retry).toMatch(/^\d+$/);
    const d = data(snap);
    const get = async (p: string) => (await fetch(`${f.base}${p}`)).json() as Promise<any>;
    expect(d['time']).toBe(f.engine.now);
    expect(d['account']).toEqual(await get('/account'));
    expect(d['positions']).toEqual((await get('/positions')).positions);
    expect(d['openOrders']).toEqual((await get('/orders/open')).orders);
    expect(d['openOrders']).toHaveLength(1);
    expect(d['risk']).toEqual(JSON.parse(JSON.stringify(f.engine.riskStatus())));
    expect(d['feeds']).toEqual(f.feeds);
    expect(d['counters']).toEqual((await get('/status')).counters);
    expect(Object.keys(d['books']).sort()).toEqual(['spot:BTCUSDT', 'spot:ETHUSDT']);
    // the fixture's book: bids 60000 x 1 (after the diff), asks 60001 x 2.5
    expect(d['books']['spot:BTCUSDT']).toEqual({ venue: 'spot', symbol: 'BTCUSDT', state: 'synced', bid: 60000, bidQty: 1, ask: 60001, askQty: 2.5, mid: 60000.5, spread: 1, time: T0 });
    expect(d['books']['spot:ETHUSDT']).toMatchObject({ bid: 3000, bidQty: 5, ask: 3000.5, askQty: 3, spread: 0.5 });
    s.close();
  });

  it('pushes orders, fills, equity, denials and risk changes at once, each with an increasing id', async () => {
    const f = await setup({ apiToken: 'correct-horse-battery-staple' });
    const s = await sseClient(f.base);
    await s.next((x) => x.event === 'snapshot');
    const from = s.frames.length;
    buyBtc(f, T0 + 20);
    const fill = await s.next((x) => x.event === 'fill', from);
    expect(data(fill)).toMatchObject({ time: expect.any(Number), fill: { symbol: 'BTCUSDT', side: 'BUY', qty: 0.01 }, order: { symbol: 'BTCUSDT' } });
    expect(data(fill)).not.toHaveProperty('type');
    const equity = await s.next((x) => x.event === 'equity', from);
    expect(data(equity)['equity']).toMatchObject({ highWaterMark: 10_000, drawdown: expect.any(Number) });
    const order = await s.next((x) => x.event === 'order', from);
    expect(data(order)['order']).toMatchObject({ status: 'NEW', symbol: 'BTCUSDT' });
    // a risk change (kill switch) and then a denial
    await rawRequest(f.base, 'POST', '/kill', { body: '{"reason":"drill"}', headers: { 'content-type': 'application/json', authorization: 'Bearer correct-horse-battery-staple' } });
    const risk = await s.next((x) => x.event === 'risk', from);
    expect(data(risk)).toMatchObject({ state: { halted: true, haltReason: 'drill' }, previous: { halted: false } });
    f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'after the kill', createdAt: T0 + 40 });
    const denial = await s.next((x) => x.event === 'denial', from);
    expect(data(denial)).toMatchObject({ symbol: 'BTCUSDT', check: 'halted', strategy: 't' });
    const ids = s.frames.filter((x) => x.id !== undefined).map((x) => Number(x.id));
    expect(ids.length).toBeGreaterThan(5);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    s.close();
  });

  it('repeats the snapshot every STREAM_INTERVAL_MS and sends comment heartbeats', async () => {
    const f = await setup({ stream: { heartbeatMs: 50 } });
    const s = await sseClient(f.base);
    await s.next((x) => x.event === 'snapshot');
    const second = await s.next((x) => x.event === 'snapshot', 2);
    expect(data(second)['account']).toBeDefined();
    await s.next((x) => x.comment !== undefined && x.comment.startsWith('heartbeat'));
    s.close();
  });

  it('?symbols= restricts the books of the snapshots, and is validated', async () => {
    const f = await setup();
    const s = await sseClient(f.base, '/stream?symbols=ethusdt');
    expect(Object.keys(data(await s.next((x) => x.event === 'snapshot'))['books'])).toEqual(['spot:ETHUSDT']);
    s.close();
    const both = await sseClient(f.base, '/stream?symbols=BTCUSDT,ETHUSDT');
    expect(Object.keys(data(await both.next((x) => x.event === 'snapshot'))['books']).sort()).toEqual(['spot:BTCUSDT', 'spot:ETHUSDT']);
    both.close();
    for (const bad of ['/stream?symbols=', '/stream?symbols=BTC-USDT', '/stream?symbols=DOGE/USD/X', '/stream?symbols=A%20B', `/stream?symbols=${new Array(51).fill('BTCUSDT').join(',')}`, '/stream?symbol=BTCUSDT']) {
      const r = await rawRequest(f.base, 'GET', bad);
      expect(r.status, bad).toBe(400);
      expect(r.json.error.code).toBe('bad_request');
    }
  });

  it('takes at most maxClients at once and answers 503 in the error shape beyond', async () => {
    const f = await setup({ stream: { maxClients: 3 } });
    const clients = await Promise.all([1, 2, 3].map(() => sseClient(f.base)));
    for (const c of clients) expect(c.status).toBe(200);
    const fourth = await rawRequest(f.base, 'GET', '/stream');
    expect(fourth.status).toBe(503);
    expect(fourth.json.error.code).toBe('unavailable');
    expect(f.app.streamHub.size).toBe(3);
    clients[0]!.close();
    await waitUntil(() => f.app.streamHub.size === 2);
    const again = await sseClient(f.base);
    expect(again.status).toBe(200);
    for (const c of [...clients, again]) c.close();
  });

  it('HEAD /stream answers the headers and keeps no client', async () => {
    const f = await setup();
    const r = await rawRequest(f.base, 'HEAD', '/stream');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(f.app.streamHub.stats()).toMatchObject({ clients: 0, connected: 0, observing: false });
  });

  it('defaults to 50 clients', async () => {
    const f = await setup();
    expect(f.app.streamHub.maxClients).toBe(50);
    expect(f.app.streamHub.heartbeatMs).toBe(15_000);
    expect(f.app.streamHub.maxBufferedBytes).toBe(1024 * 1024);
    expect(f.app.streamHub.intervalMs).toBe(100); // STREAM_INTERVAL_MS of the fixture's config
  });

  it('drops a client that stops reading once its unsent bytes pass the limit; the others keep going', async () => {
    const f = await setup({ stream: { maxBufferedBytes: 256 * 1024 } });
    const reader = await sseClient(f.base);
    await reader.next((x) => x.event === 'snapshot');
    // a client that sends the request and then never reads
    const url = new URL(f.base);
    const slow = createConnection({ host: url.hostname, port: Number(url.port) });
    sockets.push(slow);
    await new Promise<void>((r) => slow.on('connect', () => r()));
    slow.pause();
    slow.write('GET /stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
    let slowClosed = false;
    slow.on('close', () => (slowClosed = true));
    await waitUntil(() => f.app.streamHub.size === 2);
    // denials (kill switch on): each is one notice for every client
    f.engine.control({ cmd: 'kill', flatten: false, reason: 'flood' }, T0 + 30);
    let sent = 0;
    for (let batch = 0; batch < 400 && f.app.streamHub.stats().dropped === 0; batch++) {
      for (let i = 0; i < 500; i++, sent++) {
        f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: `flood ${'x'.repeat(150)}`, createdAt: T0 + 30 });
      }
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(f.app.streamHub.stats().dropped).toBe(1);
    expect(f.app.streamHub.size).toBe(1);
    // the server closed it: reading what was in flight, the slow client comes to the end
    slow.resume();
    await waitUntil(() => slowClosed);
    // the reader got everything (each denial once), and is still served
    await waitUntil(() => reader.frames.filter((x) => x.event === 'denial').length >= sent);
    expect(reader.frames.filter((x) => x.event === 'denial').length).toBe(sent);
    const before = reader.frames.length;
    await reader.next((x) => x.event === 'snapshot', before);
    expect(sent).toBeGreaterThan(0);
    reader.close();
  });

  it('releases the engine observer and every timer when clients leave, after many connects and disconnects', async () => {
    const f = await setup();
    const observers = countObservers(f);
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all([1, 2, 3].map(() => sseClient(f.base)));
      await Promise.all(batch.map((c) => c.next((x) => x.event === 'snapshot')));
      expect(observers()).toBe(1); // one observer for all the clients
      expect(f.app.streamHub.stats()).toMatchObject({ clients: 3, observing: true });
      for (const c of batch) c.close();
      await waitUntil(() => f.app.streamHub.size === 0);
      expect(observers()).toBe(0);
      expect(f.app.streamHub.stats()).toMatchObject({ clients: 0, observing: false, timers: 0 });
    }
    expect(f.app.streamHub.stats().connected).toBe(30);
    await waitUntil(() => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length <= timersBefore);
  });

  it('ends every stream when the server closes', async () => {
    const f = await setup();
    const s = await sseClient(f.base);
    await s.next((x) => x.event === 'snapshot');
    await f.app.close();
    await s.ended;
    expect(f.app.streamHub.stats()).toMatchObject({ clients: 0, observing: false, timers: 0 });
    const late = await rawRequest(f.base, 'GET', '/health').catch((e: Error) => e);
    expect(late).toBeInstanceOf(Error);
  });
});

/** A response that keeps what is written (the hub only writes, checks its buffer and listens for close). */
function fakeResponse() {
  const res = Object.assign(new EventEmitter(), {
    chunks: [] as string[],
    writableLength: 0,
    destroyed: false,
    writableEnded: false,
    socket: null,
    writeHead: () => res,
    write: (c: string) => (res.chunks.push(c), true),
    end: () => ((res.writableEnded = true), res.emit('close')),
    destroy: () => ((res.destroyed = true), res.emit('close')),
  });
  return res;
}

describe('StreamHub', () => {
  it('never lets a snapshot overtake notices queued before it: ids increase on every stream', async () => {
    let emit: ((n: EngineNotice) => void) | null = null;
    const hub = new StreamHub({ observe: (fn) => ((emit = fn), () => (emit = null)), snapshot: () => ({ s: 1 }) }, { intervalMs: 60_000 });
    const a = fakeResponse();
    hub.attach(a as unknown as ServerResponse, null);
    const notice = { type: 'denial', time: 1, venue: 'spot', symbol: 'BTCUSDT', strategy: 't', check: 'halted', reason: 'r' } as const;
    emit!(notice); // queued for the next turn of the event loop
    // the snapshot timer and a new client come before that turn
    (hub as unknown as { broadcastSnapshots(): void }).broadcastSnapshots();
    const b = fakeResponse();
    emit!(notice);
    hub.attach(b as unknown as ServerResponse, null);
    await new Promise((r) => setImmediate(r));
    for (const res of [a, b]) {
      const ids = [...res.chunks.join('').matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
      expect(ids.length).toBeGreaterThan(0);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
    expect(a.chunks.join('').match(/event: (\w+)/g)).toEqual(['event: snapshot', 'event: denial', 'event: snapshot', 'event: denial']);
    // the second client joined after the second denial was queued: it starts at its snapshot
    expect(b.chunks.join('').match(/event: (\w+)/g)).toEqual(['event: snapshot']);
    hub.close();
    expect(hub.stats()).toMatchObject({ clients: 0, observing: false, timers: 0 });
    expect(emit).toBeNull();
  });
});
