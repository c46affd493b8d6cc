import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, listeningPort, papertape, waitFor, type Proc } from './support/procs.js';

interface LogLine {
  time: number;
  msg: string;
  venue?: string;
  symbol?: string;
}

/**
 * A dropped depth diff (serve-replay --drop-depth withholds one recorded diff, so the engine sees a
 * sequence gap): the engine must resync from a fresh snapshot, send no order while the book is not
 * synced, and still end with the exact book.
 */
describe('a dropped diff makes the engine resync', () => {
  let replay: Proc;
  let engine: Proc;
  let api: string;
  let dir: string;
  let logs: LogLine[];
  let spotRef: ReturnType<typeof referenceBook>;
  let usdmRef: ReturnType<typeof referenceBook>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papertape-resync-'));
    const [a, b, u] = await Promise.all([readLines(SPOT_FILES[0]!), readLines(SPOT_FILES[1]!), readLines(USDM_BTC)]);
    spotRef = referenceBook([...a, ...b], 'BTCUSDT', 'spot');
    usdmRef = referenceBook(u, 'BTCUSDT', 'usdm');
    replay = papertape([
      'serve-replay', ...SPOT_FILES, USDM_BTC, '--port', '0', '--speed', '40', '--start-delay', '1500',
      '--drop-depth', 'spot:BTCUSDT:1500', 'usdm:BTCUSDT:2500',
    ]);
    const ex = `127.0.0.1:${await listeningPort(replay)}`;
    engine = papertape(['run'], {
      SYMBOLS: 'BTCUSDT', PORT: '0', DATA_DIR: dir, OBI_COOLDOWN_MS: '0',
      BINANCE_SPOT_WS_URL: `ws://${ex}`, BINANCE_SPOT_REST_URL: `http://${ex}`,
      BINANCE_FUTURES_WS_URL: `ws://${ex}`, BINANCE_FUTURES_REST_URL: `http://${ex}`,
    });
    api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(engine.stdout())?.[1]);
    await waitFor('the replay to finish', async () => (await getJson(`http://${ex}/replay/status`)).body.finished === true, 60_000, 250);
    await waitFor('the engine to catch up', async () => {
      const [s, f] = await Promise.all([getJson(`${api}/book/BTCUSDT?depth=1`), getJson(`${api}/book/BTCUSDT?depth=1&venue=usdm`)]);
      return s.body.lastUpdateId === spotRef.lastUpdateId && f.body.lastUpdateId === usdmRef.lastUpdateId;
    }, 15_000);
    logs = engine
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }, 120_000);

  afterAll(async () => {
    await engine?.kill('SIGTERM');
    await replay?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['spot', 'usdm'])('detects the %s gap and resyncs', async (venue) => {
    const status = (await getJson(`${api}/status`)).body;
    expect(status.feeds[venue].books.BTCUSDT.gaps).toBe(1);
    expect(status.feeds[venue].books.BTCUSDT.snapshots).toBe(2);
    expect(status.books[`${venue}:BTCUSDT`].state).toBe('synced');
    expect(logs.filter((l) => l.venue === venue && l.msg === 'depth sequence gap: resyncing')).toHaveLength(1);
  });

  it('sends no order between the spot gap and the resync', () => {
    const gap = logs.findIndex((l) => l.venue === 'spot' && l.msg === 'depth sequence gap: resyncing');
    const synced = logs.findIndex((l, i) => i > gap && l.venue === 'spot' && l.msg === 'book synced');
    expect(gap).toBeGreaterThan(0);
    expect(synced).toBeGreaterThan(gap);
    const orders = logs.filter((l) => l.msg === 'paper order');
    expect(orders.length).toBeGreaterThan(0);
    // orders happen before and after the outage, none inside it
    expect(logs.slice(gap, synced).filter((l) => l.msg === 'paper order')).toEqual([]);
    expect(logs.slice(synced).some((l) => l.msg === 'paper order')).toBe(true);
  });

  it('ends with the exact books', async () => {
    const spot = (await getJson(`${api}/book/BTCUSDT?depth=5000`)).body;
    expect(spot.bids).toEqual(spotRef.bids);
    expect(spot.asks).toEqual(spotRef.asks);
    const usdm = (await getJson(`${api}/book/BTCUSDT?depth=500&venue=usdm`)).body;
    expect(usdm.bids).toEqual(usdmRef.bids.slice(0, 500));
    expect(usdm.asks).toEqual(usdmRef.asks.slice(0, 500));
  });
});
