import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, logLines, waitFor, type LogLine } from './support/procs.js';
import { expectCleanRunBooks, startSession, type ReferenceBooks, type Session } from './support/session.js';

/**
 * Slow link and stale stream, end to end (the harness of test/faults.test.ts: one `papertape run` against
 * serve-replay at 12x with `--faults`):
 *
 * - lag: every spot frame is held back 1.5 s and delivered late, in order. The book stays "synced" (no
 *   sequence gap), so only the feed lag check (RISK_MAX_FEED_LAG_MS, receive minus event time over the
 *   feed's baseline; BINANCE_FEED_TIME_SCALE=12 as the exchange clock runs 12x) can keep the strategy from
 *   trading on a book that is 1.5 s (18 s of market) old. No spot order during the lag; /status shows the
 *   lag and the denials' reason; trading resumes by itself when the lag ends.
 * - stall: the spot depth stream stops for 4 s while the connection stays open and trades keep flowing
 *   (so the idle watchdog does not fire). With a position open and the kill switch asking to flatten it,
 *   every closing order on the stale book is refused (book_stale, BOOK_STALE_MS=1000); when diffs come back
 *   the gap is seen, the book resyncs and the position is closed; after /resume the strategy trades again.
 *
 * The run ends with the same books as a clean run (rebuilt from the recordings by the tests' own reader).
 */
type Venue = 'spot' | 'usdm';
const VENUES: Venue[] = ['spot', 'usdm'];
const TOKEN = 'feed-lag-test-token';
const LAG_MS = 1500;
const MAX_LAG_MS = 400;
const STALL_MS = 4000;

interface Order {
  id: string;
  createdAt: number;
  venue: string;
  strategy: string;
}
interface Denial {
  time: number;
  venue: string;
  check: string;
  reason: string;
}

describe('slow link and stale stream: no trading on a late or stale book, recovery without a restart', () => {
  let session: Session;
  let refs: ReferenceBooks;
  let logs: LogLine[];
  let books: { spot: any; usdm: any };
  let replay: any;
  const t: Record<string, number> = {};
  let duringLag: any;
  let duringStall: any;
  let killAnswer: any;
  let orders: Order[];
  let denials: Denial[];
  let gapsBefore = 0;
  const steps: string[] = [];

  const api = (path: string) => `${session.api}${path}`;
  const post = async (url: string, body: unknown, auth = false): Promise<any> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${TOKEN}` } : {}) }, body: JSON.stringify(body) });
    expect(res.status, `${url} ${JSON.stringify(body)}`).toBe(200);
    return res.json();
  };
  const fault = (cmd: Record<string, unknown>) => post(`http://${session.exchange}/_admin/faults`, cmd);
  const status = async () => (await getJson(api('/status'))).body;
  const spotOrders = async (): Promise<Order[]> => ((await getJson(api('/orders?limit=10000'))).body.orders as Order[]).filter((o) => o.venue === 'spot');
  const position = async (): Promise<number> => ((await getJson(api('/positions'))).body.positions as { venue: string; qty: number }[]).find((p) => p.venue === 'spot')?.qty ?? 0;
  const bothSynced = async (what: string): Promise<void> => {
    await waitFor(`both books synced (${what})`, async () => {
      const f = (await status()).feeds;
      return VENUES.every((v) => f[v].books.BTCUSDT.state === 'synced' && f[v].connections.every((c: { state: string }) => c.state === 'open'));
    }, 20_000, 50);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    const [spotLines, usdmLines] = await Promise.all([readLines(SPOT_FILES[0]!), readLines(USDM_BTC)]);
    refs = { spot: referenceBook(spotLines, 'BTCUSDT', 'spot'), usdm: referenceBook(usdmLines, 'BTCUSDT', 'usdm') };
    session = await startSession({
      replay: [SPOT_FILES[0]!, USDM_BTC, '--speed', '12', '--start-delay', '1500', '--faults'],
      env: {
        OBI_COOLDOWN_MS: '0',
        BINANCE_WS_IDLE_TIMEOUT_MS: '2500',
        API_RATE_LIMIT: '0',
        API_TOKEN: TOKEN,
        BINANCE_FEED_TIME_SCALE: '12',
        RISK_MAX_FEED_LAG_MS: String(MAX_LAG_MS),
        BOOK_STALE_MS: '1000',
      },
    });
    const t0 = Date.now();
    try {
      await bothSynced('at start');
      await waitFor('a first order', async () => (await spotOrders()).length > 0, 20_000, 50);
      steps.push(`first order (${Date.now() - t0} ms)`);

      // ---- lag: a slow link on the spot connection
      const lagDenials0 = (await status()).risk.denials.feed_lag ?? 0;
      t.lagOn = Date.now();
      await fault({ venue: 'spot', lag: LAG_MS });
      duringLag = await waitFor('the engine to see the lag and refuse', async () => {
        const s = await status();
        return s.risk.feedLag.spot.lagMs > 1000 && (s.risk.denials.feed_lag ?? 0) > lagDenials0 && s;
      }, 15_000, 50);
      await sleep(Math.max(0, t.lagOn + 3500 - Date.now()));
      t.lagOff = Date.now();
      await fault({ venue: 'spot', lag: 0 });
      await waitFor('trading to resume after the lag', async () => (await spotOrders()).some((o) => o.createdAt > t.lagOff!), 15_000, 50);
      steps.push(`lag (${Date.now() - t0} ms)`);

      // ---- stall: with a position held (kill switch, no flatten), the spot depth stream stops
      for (let i = 0; ; i++) {
        await waitFor('an open spot position', async () => (await position()) !== 0, 15_000, 20);
        await post(api('/kill'), { reason: 'test: hold the position' }, true);
        await sleep(500); // orders already on their way may still fill
        if ((await position()) !== 0) break;
        if (i === 10) throw new Error('no position held after 10 tries');
        await post(api('/resume'), {}, true);
      }
      gapsBefore = (await status()).feeds.spot.books.BTCUSDT.gaps;
      const staleDenials0 = (await status()).risk.denials.book_stale ?? 0;
      t.stallOn = Date.now();
      await fault({ venue: 'spot', stall: { stream: 'depth', ms: STALL_MS } });
      await sleep(1500); // past BOOK_STALE_MS
      killAnswer = await post(api('/kill'), { flatten: true, reason: 'test: flatten on a stale book' }, true);
      duringStall = await waitFor('the engine to refuse on the stale book', async () => {
        const s = await status();
        return (s.risk.denials.book_stale ?? 0) > staleDenials0 && s;
      }, 5000, 50);
      // the gap after the stall, the resync, and the flattening order on the fresh book
      await waitFor('the gap after the stall and a resync', async () => {
        const s = await status();
        return s.feeds.spot.books.BTCUSDT.gaps > gapsBefore && s.feeds.spot.books.BTCUSDT.state === 'synced';
      }, 20_000, 50);
      t.synced = Date.now();
      await waitFor('the position to be closed', async () => (await position()) === 0, 10_000, 50);
      await post(api('/resume'), {}, true);
      t.resumed = Date.now();
      await waitFor('the strategy to trade again', async () => (await spotOrders()).some((o) => o.createdAt > t.resumed! && o.strategy !== 'risk'), 15_000, 50);
      steps.push(`stall (${Date.now() - t0} ms)`);

      replay = await waitFor('the replay to finish', async () => {
        const r = (await getJson(`http://${session.exchange}/replay/status`)).body;
        return r.finished === true && r;
      }, 60_000, 50);
      const end = await waitFor('the engine to apply the last diffs', async () => {
        const [spot, usdm] = await Promise.all([getJson(api('/book/BTCUSDT?depth=5000')), getJson(api('/book/BTCUSDT?depth=500&venue=usdm'))]);
        return spot.body.lastUpdateId === refs.spot.lastUpdateId && usdm.body.lastUpdateId === refs.usdm.lastUpdateId && { spot: spot.body, usdm: usdm.body };
      }, 15_000, 20);
      books = end;
      orders = await spotOrders();
      denials = (await getJson(api('/risk/denials?limit=10000'))).body.denials as Denial[];
      logs = logLines(session.engine);
    } catch (e) {
      await session.stop();
      throw new Error(`${(e as Error).message}; steps done: ${steps.join(', ')}\n${session.engine.stdout().slice(-3000)}`);
    }
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
  });

  it('serve-replay delivered the spot frames late and withheld the depth diffs of the stall', () => {
    expect(replay.faults.lagged).toBeGreaterThan(50);
    expect(replay.faults.stalled).toBeGreaterThan(10);
    expect(replay.faults.lagMs).toEqual({ spot: 0, usdm: 0 });
  });

  it('lag: /status shows it and the reason, and no spot order was sent while the book came late', () => {
    expect(duringLag.risk.feedLag.spot.lagMs).toBeGreaterThan(1000);
    expect(duringLag.risk.feedLag.maxLagMs).toBe(MAX_LAG_MS);
    expect(duringLag.feeds.spot.books.BTCUSDT.state).toBe('synced'); // nothing else would have stopped it
    const lagged = denials.filter((d) => d.check === 'feed_lag' && d.venue === 'spot');
    expect(lagged.length).toBeGreaterThan(0);
    expect(lagged[0]!.reason).toMatch(/^spot feed lags: the BTCUSDT book's last update came \d+ ms late \(limit 400 ms\)$/);
    // every frame delivered before lagOff + LAG_MS was LAG_MS late; the queue then drains at once
    // (frames already on their way when the fault was posted still arrive on time: 100 ms of grace)
    const inLag = orders.filter((o) => o.createdAt >= t.lagOn! + 100 && o.createdAt < t.lagOff! + LAG_MS - 200);
    expect(inLag.map((o) => `${o.id} at lagOn+${Math.round(o.createdAt - t.lagOn!)} ms (lagOff at +${t.lagOff! - t.lagOn!})`)).toEqual([]);
    expect(orders.some((o) => o.createdAt < t.lagOn!)).toBe(true);
    expect(orders.some((o) => o.createdAt > t.lagOff!)).toBe(true);
  });

  it('stall: the closing order on the stale book was refused, /status said why, no order until the resync', () => {
    expect(killAnswer.flattening).toBe(0);
    expect(duringStall.risk.lastDenial).toMatchObject({ venue: 'spot', check: 'book_stale' });
    expect(duringStall.risk.lastDenial.reason).toMatch(/^BTCUSDT book has had no update for \d+ ms$/);
    expect(duringStall.feeds.spot.connections.every((c: { state: string }) => c.state === 'open')).toBe(true);
    const stale = denials.filter((d) => d.check === 'book_stale' && d.venue === 'spot' && d.time >= t.stallOn! && d.time <= t.stallOn! + STALL_MS + 500);
    expect(stale.length).toBeGreaterThanOrEqual(2); // the kill's flatten and the retries on the next ticks
    expect(orders.filter((o) => o.createdAt >= t.stallOn! && o.createdAt < t.stallOn! + STALL_MS)).toEqual([]);
    // the closing order came after the diffs came back (and the book resynced)
    const closing = orders.filter((o) => o.strategy === 'risk' && o.createdAt >= t.stallOn!);
    expect(closing.length).toBeGreaterThanOrEqual(1);
    expect(closing[0]!.createdAt).toBeGreaterThanOrEqual(t.stallOn! + STALL_MS - 300);
    expect(closing[0]!.createdAt).toBeLessThanOrEqual(t.synced! + 1500);
    // the watchdog did not drop the spot connection: the other streams kept it alive
    expect(logs.filter((l) => l.venue === 'spot' && l.msg === 'stream down, reconnecting' && l.time >= t.stallOn! && l.time < t.synced!)).toEqual([]);
    expect(logs.some((l) => l.venue === 'spot' && l.msg === 'depth sequence gap: resyncing' && l.time >= t.stallOn!)).toBe(true);
  });

  it('ends with the same books as a clean run', () => {
    expectCleanRunBooks(books, refs);
  });
});
