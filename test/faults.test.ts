import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, logLines, waitFor, type LogLine } from './support/procs.js';
import { expectCleanRunBooks, startSession, type ReferenceBooks, type Session } from './support/session.js';

/**
 * Feed faults, injected on command into serve-replay (`--faults`, POST /_admin/faults) while one engine
 * trades from it: duplicated diffs, a reordered pair, a stale snapshot, REST 429 and 418 with
 * Retry-After, dropped diffs (gaps), a disconnect of every stream and a half-open spot stream (the
 * socket stays open, nothing arrives: the engine's idle watchdog must drop it). The engine must
 * recover from each without a restart, send no order while its book is not synced, say in /status
 * what happened, and end with the same books as a clean run (rebuilt straight from the recordings).
 */
type Venue = 'spot' | 'usdm';
const VENUES: Venue[] = ['spot', 'usdm'];

describe('feed faults: the engine resyncs, never trades on a bad book, and ends with the exact books', () => {
  let session: Session;
  let refs: ReferenceBooks;
  let logs: LogLine[];
  let status: any;
  let replay: any;
  let books: { spot: any; usdm: any };
  const steps: string[] = [];
  let lastSeen: unknown = null;
  let t0 = Date.now();

  const fault = async (cmd: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`http://${session.exchange}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cmd) });
    expect(res.status).toBe(200);
    await res.body?.cancel();
  };
  const feeds = async (): Promise<Record<Venue, any>> => (await getJson(`${session.api}/status`)).body.feeds;
  const book = (f: Record<Venue, any>, v: Venue) => f[v].books.BTCUSDT;
  const bothSynced = async (what: string): Promise<void> => {
    await waitFor(`both books synced (${what})`, async () => {
      const f = await feeds();
      return VENUES.every((v) => book(f, v).state === 'synced' && f[v].connections.every((c: { state: string }) => c.state === 'open'));
    }, 20_000, 50);
  };
  /** Injects `cmd`, waits until `done` holds on the engine's feed status, then until both books are synced again. */
  const step = async (name: string, cmd: Record<string, unknown>, done: (f: Record<Venue, any>) => boolean): Promise<void> => {
    await fault(cmd);
    await waitFor(`the engine to notice: ${name}`, async () => done(await feeds()), 20_000, 50);
    await bothSynced(`after ${name}`);
    steps.push(`${name} (${Date.now() - t0} ms)`);
  };

  beforeAll(async () => {
    // the spot file of 2024-08-08 and the USD-M file end together: after the end both streams fall silent
    const [spotLines, usdmLines] = await Promise.all([readLines(SPOT_FILES[0]!), readLines(USDM_BTC)]);
    refs = { spot: referenceBook(spotLines, 'BTCUSDT', 'spot'), usdm: referenceBook(usdmLines, 'BTCUSDT', 'usdm') };
    session = await startSession({
      replay: [SPOT_FILES[0]!, USDM_BTC, '--speed', '12', '--start-delay', '1500', '--faults'],
      env: { OBI_COOLDOWN_MS: '0', BINANCE_WS_IDLE_TIMEOUT_MS: '2500', API_RATE_LIMIT: '0' },
    });
    try {
      await bothSynced('at start');
      // the engine trades before the first fault
      await waitFor('a first order', async () => (await getJson(`${session.api}/orders?limit=1`)).body.orders.length > 0, 20_000, 50);
      t0 = Date.now();
      const f0 = await feeds();
      const gaps0 = (f: Record<Venue, any>, v: Venue, n: number) => book(f, v).gaps >= book(f0, v).gaps + n;
      await step('duplicates', { duplicate: 5 }, (f) => VENUES.every((v) => book(f, v).staleDropped >= 1));
      await step('reordered pair', { reorder: 1 }, (f) => VENUES.every((v) => gaps0(f, v, 1)));
      await step('gap + stale snapshot', { drop: 1, staleSnapshot: 1 }, (f) => VENUES.every((v) => gaps0(f, v, 2) && book(f, v).snapshotsTooOld >= 1));
      await step('gap + REST 429', { drop: 1, rest: { status: 429, count: 1, retryAfter: 1 } }, (f) => VENUES.every((v) => gaps0(f, v, 3) && f[v].rest.rateLimitHits >= 1));
      await step('gap + REST 418', { drop: 1, rest: { status: 418, count: 1, retryAfter: 1 } }, (f) => VENUES.every((v) => gaps0(f, v, 4) && f[v].rest.rateLimitHits >= 2));
      await step('disconnect', { disconnect: true }, (f) => VENUES.every((v) => f[v].connections.every((c: { reconnects: number }) => c.reconnects >= 1)));
      await step('half-open spot stream', { halfOpen: true, venue: 'spot' }, (f) => f.spot.connections[0].reconnects >= 2);
      // once the recording has been played, the streams fall silent and the watchdog drops them (as it
      // must): the end state is read as soon as the engine has applied the last diffs, before that
      replay = await waitFor('the replay to finish', async () => {
        const r = (await getJson(`http://${session.exchange}/replay/status`)).body;
        return r.finished === true && r;
      }, 60_000, 50);
      const end = await waitFor('the engine to apply the last diffs', async () => {
        const [st, spot, usdm] = await Promise.all([
          getJson(`${session.api}/status`),
          getJson(`${session.api}/book/BTCUSDT?depth=5000`),
          getJson(`${session.api}/book/BTCUSDT?depth=500&venue=usdm`),
        ]);
        lastSeen = { spot: spot.body.lastUpdateId, usdm: usdm.body.lastUpdateId, refs: [refs.spot.lastUpdateId, refs.usdm.lastUpdateId], feeds: Object.fromEntries(VENUES.map((v) => [v, { ...st.body.feeds[v].books.BTCUSDT, conns: st.body.feeds[v].connections }])) };
        return spot.body.lastUpdateId === refs.spot.lastUpdateId && usdm.body.lastUpdateId === refs.usdm.lastUpdateId && { status: st.body, spot: spot.body, usdm: usdm.body };
      }, 15_000, 20);
      status = end.status;
      books = { spot: end.spot, usdm: end.usdm };
      logs = logLines(session.engine);
    } catch (e) {
      await session.stop();
      throw new Error(`${(e as Error).message}; steps done: ${steps.join(', ')}; last seen ${JSON.stringify(lastSeen)}\n${session.engine.stdout().slice(-3000)}`);
    }
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
  });

  it('injected every fault while the replay ran', () => {
    expect(steps).toHaveLength(7);
    const f = replay.faults;
    expect(f.duplicated).toBe(10);
    expect(f.reordered).toBe(2);
    expect(f.dropped).toBe(6);
    expect(f.staleSnapshots).toBeGreaterThanOrEqual(2);
    expect(f.restErrors).toBe(4);
    expect(f.disconnects).toBeGreaterThanOrEqual(3);
    expect(f.halfOpen).toBe(1);
    expect(replay.finished).toBe(true);
  });

  it.each(VENUES)('%s: /status tells the gaps, stale snapshots, rate limits and reconnects, and the book is synced again', (v) => {
    const feed = status.feeds[v];
    const b = feed.books.BTCUSDT;
    expect(b.state).toBe('synced');
    expect(status.books[`${v}:BTCUSDT`].state).toBe('synced');
    expect(feed.state).toBe('up');
    // reorder, then three dropped diffs: four gaps, and one more snapshot per reconnect
    expect(b.gaps).toBeGreaterThanOrEqual(4);
    expect(b.staleDropped).toBeGreaterThanOrEqual(1);
    expect(b.snapshotsTooOld).toBeGreaterThanOrEqual(1);
    expect(feed.rest.rateLimitHits).toBeGreaterThanOrEqual(2);
    for (const c of feed.connections) expect(c.reconnects).toBeGreaterThanOrEqual(1);
    expect(feed.lastError).not.toBeNull();
  });

  it('the half-open spot stream was dropped by the idle watchdog, not closed by the server', () => {
    expect(logs.some((l) => l.venue === 'spot' && l.msg === 'stream down, reconnecting' && /no message for 2500 ms/.test(String(l['reason'])))).toBe(true);
    expect(status.feeds.spot.connections[0].reconnects).toBeGreaterThanOrEqual(2);
  });

  it('honoured Retry-After: the snapshot after a 429/418 came no earlier than the ban allowed', () => {
    const failed = logs.filter((l) => l.msg === 'depth snapshot failed' && /HTTP (429|418), retry after 1 s/.test(String(l['error'])));
    expect(failed.length).toBeGreaterThanOrEqual(4);
    for (const f of failed) {
      const next = logs.find((l) => l.venue === f.venue && l.msg === 'book synced' && l.time > f.time);
      expect(next, `a sync after ${JSON.stringify(f)}`).toBeDefined();
      expect(next!.time - f.time).toBeGreaterThanOrEqual(900);
    }
  });

  it('sent no order while the traded book was not synced, and traded before and after the faults', async () => {
    // every outage of the spot book: from a gap or a dropped stream to the next "book synced"
    const windows: [number, number][] = [];
    for (let i = 0; i < logs.length; i++) {
      const l = logs[i]!;
      if (l.venue !== 'spot') continue;
      let from: number | null = null;
      if (l.msg === 'depth sequence gap: resyncing') from = l['recvTime'] as number;
      else if (l.msg === 'stream down, reconnecting') from = l.time - 1; // logged just after the book was reset
      if (from === null) continue;
      // (after the end of the recording the silent streams are dropped and no resync may follow)
      const synced = logs.slice(i + 1).find((x) => x.venue === 'spot' && x.msg === 'book synced');
      windows.push([from, synced ? (synced['recvTime'] as number) : Infinity]);
    }
    const closed = windows.filter(([, b]) => b !== Infinity);
    expect(closed.length).toBeGreaterThanOrEqual(6);
    const orders = (await getJson(`${session.api}/orders?limit=10000`)).body.orders as { createdAt: number; venue: string; purpose?: string }[];
    const spot = orders.filter((o) => o.venue === 'spot');
    expect(spot.length).toBeGreaterThan(0);
    expect(spot.filter((o) => windows.some(([a, b]) => o.createdAt >= a && o.createdAt < b))).toEqual([]);
    expect(spot.some((o) => o.createdAt < windows[0]![0])).toBe(true);
    expect(spot.some((o) => o.createdAt >= closed[closed.length - 1]![1])).toBe(true);
  });

  it('ends with the same books as a clean run', () => {
    expectCleanRunBooks(books, refs);
  });
});
