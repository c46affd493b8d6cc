import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from './support/procs.js';
import { replayedSession, type ReferenceBooks, type Session } from './support/session.js';

/**
 * The whole path over the wire, as a user runs it: `papertape serve-replay` plays the real Binance
 * recordings (spot BTCUSDT both files, USD-M BTCUSDT) at 40x; `papertape run` connects to it as if it
 * were Binance, keeps the books, trades on paper and answers on its API.
 */
describe('end to end: serve-replay -> papertape run', () => {
  let session: Session;
  let api: string;
  let refs: ReferenceBooks;

  beforeAll(async () => {
    // plays to the end of the recording: the replay has sent everything and the engine has applied the last diffs
    ({ session, refs } = await replayedSession(['--speed', '40', '--start-delay', '1500'], { LOG_LEVEL: 'info', OBI_COOLDOWN_MS: '200' }));
    api = session.api;
  }, 120_000);

  afterAll(async () => {
    const code = await session?.stop();
    expect(code).toBe(0); // graceful shutdown
  });

  it('keeps the spot BTCUSDT book equal to a book rebuilt directly from the files', async () => {
    const { status, body } = await getJson(`${api}/book/BTCUSDT?depth=5000`);
    expect(status).toBe(200);
    expect(body.symbol).toBe('BTCUSDT');
    expect(body.state).toBe('synced');
    expect(body.lastUpdateId).toBe(refs.spot.lastUpdateId);
    expect(body.bids).toEqual(refs.spot.bids);
    expect(body.asks).toEqual(refs.spot.asks);
  });

  it('keeps the USD-M BTCUSDT book equal to the reference over the depth a 1000-level snapshot can know', async () => {
    // The USD-M snapshot carries 1000 levels a side (as on Binance): levels deeper than that at snapshot
    // time that never change afterwards cannot be known. The top 500 levels are exact.
    const { body } = await getJson(`${api}/book/BTCUSDT?depth=500&venue=usdm`);
    expect(body.state).toBe('synced');
    expect(body.lastUpdateId).toBe(refs.usdm.lastUpdateId);
    expect(body.bids).toEqual(refs.usdm.bids.slice(0, 500));
    expect(body.asks).toEqual(refs.usdm.asks.slice(0, 500));
  });

  it('trades on paper and keeps /account consistent with its fills and trades', async () => {
    const fills = (await getJson(`${api}/fills?limit=10000`)).body.fills as { side: string; price: number; qty: number; fee: number; realizedPnl: number }[];
    const trades = (await getJson(`${api}/trades?limit=10000`)).body.trades as { status: string; realizedPnl: number; fees: number; netPnl: number }[];
    const account = (await getJson(`${api}/account`)).body;
    const positions = (await getJson(`${api}/positions`)).body.positions as { symbol: string; qty: number; markPrice: number; unrealizedPnl: number }[];
    expect(fills.length).toBeGreaterThan(10);
    expect(trades.length).toBeGreaterThan(1);
    const cash = fills.reduce((c, f) => c + (f.side === 'BUY' ? -1 : 1) * f.price * f.qty - f.fee, 10000);
    const fees = fills.reduce((a, f) => a + f.fee, 0);
    expect(account.fills).toBe(fills.length);
    expect(account.cash).toBeCloseTo(cash, 6);
    expect(account.fees).toBeCloseTo(fees, 8);
    expect(account.realizedPnl).toBeCloseTo(fills.reduce((a, f) => a + f.realizedPnl, 0), 6);
    expect(account.realizedPnl).toBeCloseTo(trades.reduce((a, t) => a + t.realizedPnl, 0), 6);
    expect(trades.reduce((a, t) => a + t.fees, 0)).toBeCloseTo(fees, 6);
    const held = positions.reduce((a, p) => a + p.qty * p.markPrice, 0);
    expect(account.equity).toBeCloseTo(account.cash + held, 6);
    expect(account.equity).toBeCloseTo(10000 + account.realizedPnl + account.unrealizedPnl - account.fees, 6);
    const metrics = (await getJson(`${api}/metrics`)).body;
    expect(metrics.totalTrades).toBe(trades.filter((t) => t.status === 'CLOSED').length);
    expect(metrics.fills).toBe(fills.length);
    expect(metrics.maxDrawdown).toBeLessThanOrEqual(0);
  });

  it('reports engine, books, feeds and counters on /status', async () => {
    const { body } = await getJson(`${api}/status`);
    expect(body.engine.state).toBe('running');
    expect(body.books['spot:BTCUSDT'].state).toBe('synced');
    expect(body.books['usdm:BTCUSDT'].state).toBe('synced');
    expect(body.feeds.spot.state).toBe('up');
    expect(body.feeds.usdm.state).toBe('up');
    expect(body.feedsDown).toEqual([]);
    expect(body.counters.malformed).toBe(0);
    expect(body.counters.messages).toBeGreaterThan(150_000);
    expect(body.futures.BTCUSDT.fundingRate).not.toBeNull();
    expect(body.strategy.mlGate.enabled).toBe(false);
    expect(body.strategy.id).toMatch(/^obi@/);
  });

  it.each([
    ['/book/DOGEUSDT', 404, 'unknown_symbol'],
    ['/book/BTCUSDT?depth=abc', 400, 'bad_request'],
    ['/book/BTCUSDT?depth=0', 400, 'bad_request'],
    ['/book/BTCUSDT?venue=margin', 400, 'bad_request'],
    ['/book/BTCUSDT?bogus=1', 400, 'bad_request'],
    ['/trades?limit=-1', 400, 'bad_request'],
    ['/trades?status=WHATEVER', 400, 'bad_request'],
    ['/nope', 404, 'not_found'],
  ])('answers %s with %i and a JSON error', async (path, status, code) => {
    const r = await getJson(`${api}${path}`);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(typeof r.body.error.message).toBe('string');
  });
});
