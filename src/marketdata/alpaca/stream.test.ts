import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AlpacaMarketEvent } from './events.js';
import { type AlpacaSim, type AlpacaSimOptions, startAlpacaSim } from './sim/server.js';
import { AlpacaDataStream, type DataStreamOptions, dataStreamUrl } from './stream.js';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKSTREAMKEY042';
const SECRET = 'sTrEaM-sEcReT-2468';

let sim: AlpacaSim | undefined;
const streams: AlpacaDataStream[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.stop();
  for (const c of closers.splice(0)) await c();
  await sim?.close();
  sim = undefined;
});

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function startSim(o: Partial<AlpacaSimOptions> = {}): Promise<AlpacaSim> {
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'], ...o });
  return sim;
}

function open(o: Partial<DataStreamOptions> & Pick<DataStreamOptions, 'baseUrl' | 'assetClass' | 'symbols'>) {
  const events: AlpacaMarketEvent[] = [];
  const s = new AlpacaDataStream({ credentials: { keyId: KEY, secretKey: SECRET }, onEvent: (e) => events.push(e), backoffBaseMs: 20, backoffMaxMs: 100, ...o });
  streams.push(s);
  s.start();
  return { s, events };
}

describe('AlpacaDataStream', () => {
  it('builds the stock and crypto URLs', () => {
    expect(dataStreamUrl('wss://stream.data.alpaca.markets/', 'stocks', 'sip')).toBe('wss://stream.data.alpaca.markets/v2/sip');
    expect(dataStreamUrl('wss://stream.data.alpaca.markets', 'crypto')).toBe('wss://stream.data.alpaca.markets/v1beta3/crypto/us');
  });

  it.each([
    ['stocks', 'TSLA'],
    ['crypto', 'DOGE/USD'],
  ] as const)('authenticates, subscribes to trades, quotes and bars, and decodes them (%s)', async (assetClass, symbol) => {
    const sim = await startSim();
    const { s, events } = open({ baseUrl: sim.wsUrl, assetClass, feed: 'iex', symbols: [symbol] });
    await until(() => s.status().state === 'up', 'up');
    expect(s.status().subscribed).toEqual({ trades: [symbol], quotes: [symbol], bars: [symbol] });
    sim.step(8); // two bars
    await until(() => events.some((e) => e.kind === 'bar'), 'a bar');
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(['print', 'quote', 'bar']));
    expect(events.every((e) => e.symbol === symbol && e.assetClass === assetClass)).toBe(true);
    const st = s.status();
    expect(st).toMatchObject({ state: 'up', phase: 'streaming', fatal: null, malformed: {}, reconnects: 0 });
    expect(st.events).toBe(events.length);
  });

  it('reconnects with backoff after a drop and subscribes again', async () => {
    const sim = await startSim();
    const { s, events } = open({ baseUrl: sim.wsUrl, assetClass: 'stocks', feed: 'iex', symbols: ['TSLA'] });
    await until(() => s.status().state === 'up', 'up');
    sim.addFault({ kind: 'disconnect', target: 'marketdata' });
    await until(() => s.status().reconnects === 1 && s.status().state === 'up', 'up again');
    expect(s.status().subscribed.trades).toEqual(['TSLA']);
    expect(s.status().lastError).toMatch(/closed/);
    sim.step(4);
    await until(() => events.some((e) => e.kind === 'bar'), 'a bar after the reconnect');
  });

  it.each([
    ['402 auth failed (wrong secret)', {}, { secretKey: 'wrong-secret-000' }, 'stocks', 402],
    ['409 insufficient subscription (sip without a plan)', { feeds: ['iex'] }, {}, 'stocks', 409],
    ['405 symbol limit exceeded', { maxSymbols: 0 }, {}, 'crypto', 405],
  ] as const)('stops with a clear status on %s', async (_name, simOpts, creds, assetClass, code) => {
    const sim = await startSim(simOpts as Partial<AlpacaSimOptions>);
    const { s } = open({
      baseUrl: sim.wsUrl,
      assetClass,
      feed: 'sip',
      symbols: [assetClass === 'crypto' ? 'DOGE/USD' : 'TSLA'],
      credentials: { keyId: KEY, secretKey: SECRET, ...creds },
    });
    await until(() => s.status().fatal !== null, 'refused');
    const st = s.status();
    expect(st.state).toBe('down');
    expect(st.fatal?.code).toBe(code);
    expect(st.lastError).toContain(String(code));
    expect(st.connection).toBe('stopped');
    expect(st.errors).toEqual({ [code]: 1 });
    const text = JSON.stringify(st);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('wrong-secret-000');
    expect(text).not.toContain(KEY);
  });

  it('stops on a lasting 406 when a second connection uses the same keys, the first stays up', async () => {
    const sim = await startSim();
    const a = open({ baseUrl: sim.wsUrl, assetClass: 'stocks', feed: 'iex', symbols: ['TSLA'] });
    await until(() => a.s.status().state === 'up', 'first up');
    const b = open({ baseUrl: sim.wsUrl, assetClass: 'stocks', feed: 'iex', symbols: ['TSLA'] });
    await until(() => b.s.status().fatal !== null, 'second refused');
    // a 406 may be our own previous connection not yet released: retried twice, then fatal
    expect(b.s.status()).toMatchObject({ state: 'down', fatal: { code: 406 }, reconnects: 2, errors: { 406: 3 } });
    expect(a.s.status().state).toBe('up');
  });

  it('counts and skips malformed frames without dropping the connection (in-test server: the sim sends only valid frames)', async () => {
    // a real WebSocket server speaking the documented frames, plus garbage after the subscription
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    closers.push(() => new Promise((r) => wss.close(() => r())));
    await new Promise<void>((r) => wss.once('listening', () => r()));
    const seen: unknown[] = [];
    wss.on('connection', (ws) => {
      ws.send('[{"T":"success","msg":"connected"}]');
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { action: string };
        seen.push(m);
        if (m.action === 'auth') ws.send('[{"T":"success","msg":"authenticated"}]');
        if (m.action === 'subscribe') {
          ws.send('[{"T":"subscription","trades":["AAPL"],"quotes":["AAPL"],"bars":["AAPL"],"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],"corrections":["AAPL"],"cancelErrors":["AAPL"]}]');
          ws.send('{{{ not json');
          ws.send('{"T":"t","S":"AAPL"}');
          ws.send('[{"T":"t","S":"AAPL","p":"x","s":1,"t":"2021-02-22T15:51:44.208Z"},{"T":"q","S":"AAPL","bp":1,"bs":1,"ap":2,"as":1,"t":"2021-02-22T15:51:45Z"}]');
          ws.send(Buffer.from([0xff, 0xfe, 0x00]));
          ws.send('[{"T":"error","code":400,"msg":"invalid syntax"}]');
          ws.send('[{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}]');
        }
      });
    });
    const port = (wss.address() as AddressInfo).port;
    const { s, events } = open({ baseUrl: `ws://127.0.0.1:${port}`, assetClass: 'stocks', feed: 'iex', symbols: ['AAPL'] });
    await until(() => events.length === 2, 'two good events');
    expect(seen).toEqual([
      { action: 'auth', key: KEY, secret: SECRET },
      { action: 'subscribe', trades: ['AAPL'], quotes: ['AAPL'], bars: ['AAPL'] },
    ]);
    expect(events.map((e) => e.kind)).toEqual(['quote', 'print']);
    const st = s.status();
    expect(st).toMatchObject({ state: 'up', reconnects: 0, malformed: { json: 2, not_array: 1, trade: 1 }, errors: { 400: 1 } });
    expect(st.lastError).toMatch(/400 invalid syntax/);
  });
});
