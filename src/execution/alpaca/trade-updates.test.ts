import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AlpacaSim, startAlpacaSim } from '../../marketdata/alpaca/sim/server.js';
import type { TradeUpdate } from './decode.js';
import { TradeUpdatesStream, tradeStreamUrl } from './trade-updates.js';
import { AlpacaTradingClient } from './trading.js';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKTRADEKEY0001';
const SECRET = 'tRaDe-SeCrEt-4242';

let sim: AlpacaSim | undefined;
let stream: TradeUpdatesStream | undefined;
afterEach(async () => {
  stream?.stop();
  stream = undefined;
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

async function setup(opts: { partialFills?: number; tradeFrames?: 'binary' | 'text' } = {}) {
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['DOGE/USD'], ...opts });
  const updates: TradeUpdate[] = [];
  let listening = 0;
  stream = new TradeUpdatesStream({
    tradingUrl: sim.url,
    credentials: { keyId: KEY, secretKey: SECRET },
    onUpdate: (u) => updates.push(u),
    onListening: () => listening++,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
  });
  stream.start();
  await until(() => listening === 1, 'listening');
  const trading = new AlpacaTradingClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: SECRET } });
  return { sim, stream, updates, trading, listening: () => listening };
}

describe('TradeUpdatesStream', () => {
  it('derives the stream URL from the trading URL', () => {
    expect(tradeStreamUrl('https://paper-api.alpaca.markets')).toBe('wss://paper-api.alpaca.markets/stream');
    expect(tradeStreamUrl('http://127.0.0.1:9/')).toBe('ws://127.0.0.1:9/stream');
  });

  it.each(['binary', 'text'] as const)('yields new, partial_fill then fill (%s frames), dropping duplicates', async (frames) => {
    const { sim, stream, updates, trading } = await setup({ partialFills: 2, tradeFrames: frames });
    sim.addFault({ kind: 'duplicate', count: 10 });
    const r = await trading.submitOrder({ engineOrderId: 1, symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '100' });
    expect(r.ok).toBe(true);
    await until(() => updates.some((u) => u.event === 'partial_fill'), 'partial fill');
    sim.step(1);
    await until(() => updates.some((u) => u.event === 'fill'), 'fill');
    expect(updates.map((u) => u.event)).toEqual(['new', 'partial_fill', 'fill']);
    const [, part, fill] = updates;
    expect(part!).toMatchObject({ qty: '50', positionQty: '50' });
    expect(part!.executionId).toBeTruthy();
    expect(fill!).toMatchObject({ qty: '50', positionQty: '100' });
    expect(fill!.order).toMatchObject({ client_order_id: 'pt-1', status: 'filled', filled_qty: '100' });
    const filled = updates.filter((u) => u.qty !== null).reduce((s, u) => s + Number(u.qty), 0);
    expect(filled).toBe(100);
    expect(stream.status()).toMatchObject({ state: 'up', updates: 3, duplicates: 3 });
  });

  it('reconnects after a drop and listens again', async () => {
    const { sim, stream, updates, trading, listening } = await setup();
    sim.addFault({ kind: 'disconnect', target: 'trade' });
    await until(() => listening() === 2, 'second listening');
    expect(stream.status()).toMatchObject({ state: 'up', reconnects: 1 });
    const r = await trading.submitOrder({ engineOrderId: 2, symbol: 'DOGE/USD', side: 'buy', type: 'market', timeInForce: 'gtc', qty: '10' });
    expect(r.ok).toBe(true);
    await until(() => updates.some((u) => u.event === 'fill'), 'fill after reconnect');
  });

  it('stops with a clear status when the keys are refused, without the secret', async () => {
    sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['DOGE/USD'] });
    stream = new TradeUpdatesStream({ tradingUrl: sim.url, credentials: { keyId: KEY, secretKey: 'bad-secret-777' }, onUpdate: () => {} });
    stream.start();
    await until(() => stream!.status().state === 'down', 'down');
    const s = stream.status();
    expect(s).toMatchObject({ unauthorized: true, connection: 'stopped' });
    expect(s.lastError).toMatch(/unauthorized/);
    expect(JSON.stringify(s)).not.toContain('bad-secret-777');
    expect(JSON.stringify(s)).not.toContain(KEY);
  });
});
