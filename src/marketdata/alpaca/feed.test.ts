import { alpacaTestInstrument } from './testing.js';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DepthSync } from '../../book/sync.js';
import type { Logger } from '../../core/logger.js';
import type { EpochMs, Venue } from '../../core/types.js';
import type { MarketEvent, TradeEvent } from '../../model/events.js';
import type { Instrument } from '../../model/instrument.js';
import type { FeedSink, InputLog } from '../binance/processor.js';
import { AlpacaFeed, type AlpacaFeedOptions } from './feed.js';
import { AlpacaProcessor } from './processor.js';
import { type AlpacaSim, type AlpacaSimOptions, startAlpacaSim } from './sim/server.js';

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
const KEY = 'PKFEEDKEY0042';
const SECRET = 'fEeD-sEcReT-97531';

const TSLA = alpacaTestInstrument('TSLA', 2, 6);
const DOGE = alpacaTestInstrument('DOGE/USD', 6, 4);

class RecordingSink implements FeedSink {
  readonly calls: unknown[] = [];
  readonly trades: TradeEvent[] = [];
  readonly states: [string, string][] = [];
  advanceTo(recvTime: EpochMs): void {
    this.calls.push(['advanceTo', recvTime]);
  }
  onInstruments(venue: Venue, instruments: Instrument[]): void {
    this.calls.push(['instruments', venue, instruments.map((i) => i.symbol)]);
  }
  onBook(sync: DepthSync, recvTime: number): void {
    const b = sync.book;
    this.calls.push(['book', sync.symbol, recvTime, b.lastUpdateId, b.bestBid(), b.bids.qty(0), b.bestAsk(), b.asks.qty(0)]);
  }
  onBookState(sync: DepthSync, recvTime: number): void {
    this.states.push([sync.symbol, sync.state]);
    this.calls.push(['state', sync.symbol, sync.state, recvTime]);
  }
  onEvent(ev: MarketEvent): void {
    if (ev.kind === 'trade') this.trades.push(ev);
    this.calls.push(['event', { ...ev }]);
  }
}

class MemoryLog implements InputLog {
  readonly lines: { recvTime: EpochMs; source: string; payload: string }[] = [];
  write(recvTime: EpochMs, source: string, payload: string): void {
    this.lines.push({ recvTime, source, payload });
  }
}

class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push(`info ${msg} ${JSON.stringify(obj)}`);
  }
  warn(obj: object, msg?: string): void {
    this.lines.push(`warn ${msg} ${JSON.stringify(obj)}`);
  }
  error(obj: object, msg?: string): void {
    this.lines.push(`error ${msg} ${JSON.stringify(obj)}`);
  }
}

let sim: AlpacaSim | undefined;
const feeds: AlpacaFeed[] = [];
afterEach(async () => {
  for (const f of feeds.splice(0)) f.stop();
  await sim?.close();
  sim = undefined;
});

async function until(cond: () => boolean, what: string, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function setup(o: Partial<AlpacaSimOptions> = {}, f: Partial<AlpacaFeedOptions> = {}) {
  sim = await startAlpacaSim({ dataDir: DATA, key: KEY, secret: SECRET, speed: 0, symbols: ['TSLA', 'DOGE/USD'], startAt: 'now', warmupBars: 30, ...o });
  const sink = new RecordingSink();
  const log = new MemoryLog();
  const logger = new MemoryLogger();
  const feed = new AlpacaFeed({
    symbols: ['TSLA', 'DOGE/USD'],
    instruments: [TSLA, DOGE],
    streamUrl: sim.wsUrl,
    dataUrl: sim.url,
    feed: 'iex',
    credentials: { keyId: KEY, secretKey: SECRET },
    sink,
    logger,
    inputLog: log,
    backfillMinutes: 60,
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    ...f,
  });
  feeds.push(feed);
  return { sim, sink, log, logger, feed };
}

const synced = (feed: AlpacaFeed, sym: string): boolean => feed.status().books[sym]?.state === 'synced';

describe('AlpacaFeed (against the local simulator)', () => {
  it('warms up from REST bars, syncs top-of-book books, delivers trades, and resyncs after a disconnect', async () => {
    const { sim, sink, log, logger, feed } = await setup();
    await feed.start();

    // warm-up: one trade per history bar, at the bar's close, ending on the bar's last millisecond
    const st0 = feed.status();
    expect(st0.alpaca.backfill).toEqual({ bars: 60, symbols: 2, error: null });
    const history = sim.market.history('TSLA');
    const warm = sink.trades.filter((t) => t.symbol === 'TSLA');
    expect(warm).toHaveLength(30);
    expect(warm.map((t) => t.priceUnits)).toEqual(history.slice(-30).map((b) => Math.round(Number(b.c) * 100)));
    expect(warm.map((t) => t.eventTime)).toEqual(history.slice(-30).map((b) => b.t + 59_999));
    expect(log.lines.map((l) => l.source).slice(0, 3)).toEqual(['alpaca info', 'alpaca warm', 'alpaca warm']);

    await until(() => feed.status().alpaca.streams.every((s) => s.state === 'up'), 'both streams up');
    expect(feed.status().connections.map((c) => c.name)).toEqual(['alpaca-stocks', 'alpaca-crypto']);
    const warmed = sink.trades.length;
    sim.step(8);
    await until(() => synced(feed, 'TSLA') && synced(feed, 'DOGE/USD'), 'books synced');
    await until(() => sink.trades.length > warmed + 2 && feed.status().state === 'up', 'live trades');
    const st = feed.status();
    expect(st).toMatchObject({ venue: 'alpaca', state: 'up', lastError: null, unknownStreams: 0, rest: { failures: 0, usedWeight1m: 0, bannedUntil: null } });
    expect(st.rest.requests).toBeGreaterThanOrEqual(2);
    for (const sym of ['TSLA', 'DOGE/USD']) {
      const b = st.books[sym]!;
      expect(b.lastUpdateId).toBeGreaterThan(0);
      expect(b.bid!).toBeGreaterThan(0);
      expect(b.ask!).toBeGreaterThan(b.bid!);
    }
    const live = sink.trades.slice(warmed);
    expect(new Set(live.map((t) => t.symbol))).toEqual(new Set(['TSLA', 'DOGE/USD']));
    expect(live.every((t) => t.venue === 'alpaca' && Number.isInteger(t.priceUnits) && t.qtyUnits >= 1)).toBe(true);
    await until(() => Object.keys(feed.status().alpaca.lastBars).length === 2, 'bars');
    expect(st.alpaca.badQuotes).toBe(0);

    // the sim drops the market-data sockets: books leave 'synced', then come back
    const states = sink.states.length;
    sim.addFault({ kind: 'disconnect', target: 'marketdata' });
    await until(() => !synced(feed, 'TSLA') && !synced(feed, 'DOGE/USD'), 'books resyncing');
    expect(sink.states.slice(states)).toEqual(expect.arrayContaining([['TSLA', 'resyncing'], ['DOGE/USD', 'resyncing']]));
    expect(new Set(log.lines.filter((l) => l.source === 'alpaca reset').map((l) => l.payload))).toEqual(new Set(['crypto', 'stocks']));
    expect(feed.status().state).not.toBe('up');
    await until(() => feed.status().alpaca.streams.every((s) => s.state === 'up' && s.reconnects >= 1), 'streams up again');
    sim.step(4);
    await until(() => synced(feed, 'TSLA') && synced(feed, 'DOGE/USD') && feed.status().state === 'up', 'books synced again');

    // the event log replays through the processor into the same sink calls
    feed.stop();
    expect(feed.status().state).toBe('stopped');
    const sink2 = new RecordingSink();
    const p2 = new AlpacaProcessor({ sink: sink2, instruments: [] });
    for (const l of log.lines) expect(p2.replay(l.source, l.payload, l.recvTime)).toBe(true);
    expect(sink2.calls).toEqual(sink.calls);

    // no secret anywhere
    const text = JSON.stringify(feed.status()) + logger.lines.join('\n');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(KEY);
  });

  it('goes on without warm-up when the backfill fails', async () => {
    const { sim, sink, logger, feed } = await setup({ faults: [{ kind: 'http', route: 'GET /v2/stocks/*', status: 403, count: 5 }] });
    await feed.start();
    const st = feed.status();
    expect(st.alpaca.backfill.symbols).toBe(1);
    expect(st.alpaca.backfill.bars).toBe(30);
    expect(st.alpaca.backfill.error).toMatch(/^TSLA: 403/);
    expect(st.rest.failures).toBe(1);
    expect(logger.lines.some((l) => l.startsWith('warn alpaca bars backfill failed'))).toBe(true);
    expect(sink.trades.every((t) => t.symbol === 'DOGE/USD')).toBe(true);
    await until(() => feed.status().alpaca.streams.every((s) => s.state === 'up'), 'streams up');
    sim.step(4);
    await until(() => synced(feed, 'TSLA') && synced(feed, 'DOGE/USD'), 'books synced');
    expect(JSON.stringify(feed.status())).not.toContain(SECRET);
  });

  it('opens only the streams it needs and skips symbols without an instrument', async () => {
    const { sim, sink, logger, feed } = await setup({}, { symbols: ['DOGE/USD', 'BTC/USD'], instruments: [DOGE], backfillMinutes: 0 });
    await feed.start();
    expect(logger.lines.some((l) => l.startsWith('error alpaca symbols without an instrument') && l.includes('BTC/USD'))).toBe(true);
    expect(sink.calls[1]).toEqual(['instruments', 'alpaca', ['DOGE/USD']]);
    expect(sink.trades).toEqual([]);
    expect(feed.status().alpaca.streams.map((s) => s.source)).toEqual(['alpaca-crypto']);
    await until(() => feed.status().alpaca.streams[0]!.state === 'up', 'up');
    sim.step(4);
    await until(() => feed.status().state === 'up', 'feed up');
    expect(Object.keys(feed.status().books)).toEqual(['DOGE/USD']);
  });
});
