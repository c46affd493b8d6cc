import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaBarsClient, type BarsClientOptions } from './rest.js';
import { type AlpacaSim, startAlpacaSim } from './sim/server.js';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKBARSKEY0001';
const SECRET = 'bArS-sEcReT-1357';

let sim: AlpacaSim;
let waits: number[];
const client = (o: Partial<BarsClientOptions> = {}) =>
  new AlpacaBarsClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: SECRET }, feed: 'iex', backoffBaseMs: 1, sleep: async (ms) => void waits.push(ms), ...o });

beforeEach(async () => {
  waits = [];
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'], warmupBars: 120 });
});
afterEach(async () => {
  await sim.close();
});

describe('AlpacaBarsClient.backfill', () => {
  it.each([
    ['stocks', 'TSLA'],
    ['crypto', 'DOGE/USD'],
  ] as const)('follows next_page_token to every 1Min bar (%s)', async (assetClass, symbol) => {
    const history = sim.market.history(symbol);
    expect(history.length).toBe(120);
    const c = client({ pageLimit: 50 });
    const r = await c.backfill({ assetClass, symbol, start: history[0]!.t, end: history[history.length - 1]!.t });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(c.requests).toBe(3); // 50 + 50 + 20
    expect(r.value.map((b) => b.start)).toEqual(history.map((b) => b.t));
    expect(r.value.map((b) => [b.open, b.high, b.low, b.close, b.volume])).toEqual(history.map((b) => [b.o, b.h, b.l, b.c, b.v]));
    expect(r.value[0]).toMatchObject({ kind: 'bar', assetClass, symbol, updated: false });
  });

  it('waits out a 429 until the reset header and retries a 5xx', async () => {
    sim.addFault({ kind: 'http', route: 'GET /v2/stocks/*', status: 429 });
    sim.addFault({ kind: 'http', route: 'GET /v2/stocks/*', status: 502 });
    const before = Date.now();
    const c = client();
    const h = sim.market.history('TSLA');
    const r = await c.backfill({ assetClass: 'stocks', symbol: 'TSLA', start: h[0]!.t, end: h[h.length - 1]!.t });
    expect(r.ok && r.value.length).toBe(120);
    expect(c.rateLimitHits).toBe(1);
    expect(c.requests).toBe(3);
    const reset = (Math.floor(before / 60_000) + 1) * 60_000;
    expect(waits[0]!).toBeGreaterThan(reset - Date.now() - 1_000);
    expect(waits[0]!).toBeLessThanOrEqual(reset - before + 50);
    expect(waits[1]).toBe(2); // then exponential for the 5xx: base 1 × 2^1
  });

  it('returns an error result without the credentials', async () => {
    const bad = new AlpacaBarsClient({ baseUrl: sim.url, credentials: { keyId: KEY, secretKey: 'nope-nope-nope' } });
    const r = await bad.backfill({ assetClass: 'stocks', symbol: 'TSLA', start: 0, end: 1 });
    expect(r).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(JSON.stringify(r)).not.toContain('nope-nope-nope');
    sim.addFault({ kind: 'http', route: '*', status: 500, count: 10 });
    const down = await client({ maxAttempts: 2 }).backfill({ assetClass: 'crypto', symbol: 'DOGE/USD', start: 0, end: 1 });
    expect(down).toMatchObject({ ok: false, code: 'unavailable' });
    expect(JSON.stringify(down)).not.toContain(SECRET);
  });
});
