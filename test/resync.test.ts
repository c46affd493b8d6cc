import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, logLines, type LogLine } from './support/procs.js';
import { replayedSession, type ReferenceBooks, type Session } from './support/session.js';

/**
 * A dropped depth diff (serve-replay --drop-depth withholds one recorded diff, so the engine sees a
 * sequence gap): the engine must resync from a fresh snapshot, send no order while the book is not
 * synced, and still end with the exact book.
 */
describe('a dropped diff makes the engine resync', () => {
  let session: Session;
  let api: string;
  let logs: LogLine[];
  let refs: ReferenceBooks;

  beforeAll(async () => {
    ({ session, refs } = await replayedSession(['--speed', '40', '--start-delay', '1500', '--drop-depth', 'spot:BTCUSDT:1500', 'usdm:BTCUSDT:2500'], { OBI_COOLDOWN_MS: '0' }));
    api = session.api;
    logs = logLines(session.engine);
  }, 120_000);

  afterAll(async () => {
    await session?.stop();
  });

  it.each(['spot', 'usdm'])('detects the %s gap and resyncs', async (venue) => {
    const status = (await getJson(`${api}/status`)).body;
    expect(status.feeds[venue].books.BTCUSDT.gaps).toBe(1);
    expect(status.feeds[venue].books.BTCUSDT.snapshots).toBe(2);
    expect(status.books[`${venue}:BTCUSDT`].state).toBe('synced');
    expect(logs.filter((l) => l.venue === venue && l.msg === 'depth sequence gap: resyncing')).toHaveLength(1);
  });

  it('sends no order between the spot gap and the resync', async () => {
    const gap = logs.findIndex((l) => l.venue === 'spot' && l.msg === 'depth sequence gap: resyncing');
    const synced = logs.findIndex((l, i) => i > gap && l.venue === 'spot' && l.msg === 'book synced');
    expect(gap).toBeGreaterThan(0);
    expect(synced).toBeGreaterThan(gap);
    // the engine's own times (receive times) of the gap and of the resync, and of every order decision
    const gapAt = logs[gap]!['recvTime'] as number;
    const syncedAt = logs[synced]!['recvTime'] as number;
    expect(syncedAt).toBeGreaterThan(gapAt);
    const orders = (await getJson(`${api}/orders?limit=10000`)).body.orders as { createdAt: number; venue: string }[];
    expect(orders.length).toBeGreaterThan(0);
    // orders are decided before and after the outage, none inside it
    expect(orders.filter((o) => o.createdAt >= gapAt && o.createdAt < syncedAt)).toEqual([]);
    expect(orders.some((o) => o.createdAt < gapAt)).toBe(true);
    expect(orders.some((o) => o.createdAt >= syncedAt)).toBe(true);
  });

  it('ends with the exact books', async () => {
    const spot = (await getJson(`${api}/book/BTCUSDT?depth=5000`)).body;
    expect(spot.bids).toEqual(refs.spot.bids);
    expect(spot.asks).toEqual(refs.spot.asks);
    const usdm = (await getJson(`${api}/book/BTCUSDT?depth=500&venue=usdm`)).body;
    expect(usdm.bids).toEqual(refs.usdm.bids.slice(0, 500));
    expect(usdm.asks).toEqual(refs.usdm.asks.slice(0, 500));
  });
});
