import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BinanceVenue } from '../../core/types.js';
import type { MarketEvent } from '../../model/events.js';
import { envelopeStream, readAll } from '../recording/format.js';
import { startReplayServer, type ReplayServer } from '../replay/server.js';
import { BinanceFeed } from './feed.js';

/**
 * The live feed's subscriptions, over the wire: serve-replay plays a real recording as Binance would
 * (USD-M streams only on their route: a stream subscribed on the wrong one is acknowledged and never
 * delivers), and the feed must receive every recorded trade, ticker and diff of its symbol.
 */

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const FILES: Record<BinanceVenue, string> = {
  spot: `${DATA}binance/spot/btcusdt_20240808.gz`,
  usdm: `${DATA}binance/usdm/btcusdt_20240808.gz`,
};

const servers: ReplayServer[] = [];
const feeds: BinanceFeed[] = [];
afterAll(async () => {
  for (const f of feeds) f.stop();
  await Promise.all(servers.map((s) => s.close()));
});

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The recorded trade ids and the number of book tickers of one file. */
async function recordedCounts(file: string): Promise<{ tradeIds: number[]; tickers: number }> {
  const tradeIds: number[] = [];
  let tickers = 0;
  for (const l of await readAll(file)) {
    const stream = envelopeStream(l.text);
    if (stream === 'btcusdt@trade') tradeIds.push((JSON.parse(l.text) as { data: { t: number } }).data.t);
    else if (stream === 'btcusdt@bookTicker') tickers++;
  }
  return { tradeIds, tickers };
}

describe('BinanceFeed subscriptions against serve-replay', () => {
  it.each(['spot', 'usdm'] as const)('%s: every recorded trade and book ticker of the symbol arrives, in order', async (venue) => {
    const rec = await recordedCounts(FILES[venue]);
    expect(rec.tradeIds.length).toBeGreaterThan(1000);
    const srv = await startReplayServer({ files: [FILES[venue]], speed: Infinity, startDelayMs: 700 });
    servers.push(srv);
    const tradeIds: number[] = [];
    let tickers = 0;
    let malformed = 0;
    const feed = new BinanceFeed({
      venue,
      symbols: ['BTCUSDT'],
      wsUrl: srv.wsUrl,
      restUrl: srv.url,
      logger: { info: () => {}, warn: () => malformed++, error: () => {} },
      sink: {
        onInstruments: () => {},
        onBook: () => {},
        onBookState: () => {},
        onEvent: (ev: MarketEvent) => {
          if (ev.kind === 'trade') tradeIds.push(ev.tradeId);
          else if (ev.kind === 'bookTicker') tickers++;
        },
      },
    });
    feeds.push(feed);
    await feed.start();
    await srv.done;
    await until('the last recorded trade', () => tradeIds.length >= rec.tradeIds.length);
    await until('the last recorded ticker', () => tickers >= rec.tickers);
    expect(tradeIds).toEqual(rec.tradeIds);
    expect(tickers).toBe(rec.tickers);
    expect(malformed).toBe(0);
    // the large depth frames (serve-replay's 100 ms windows, aggregated from the recorded diffs) were decoded
    // best levels first, all in price order; the fast path took every depth, trade and ticker frame (USD-M's
    // synthesized mark prices take the JSON.parse path)
    expect(feed.status().decoder).toMatchObject({ lazyDepth: true, depthOutOfOrder: 0 });
    if (venue === 'spot') expect(feed.status().decoder!.slowPath).toBe(0);
    expect(feed.status().decoder!.lazyMessages).toBeGreaterThan(100);
    feed.stop();
  }, 60_000);
});
