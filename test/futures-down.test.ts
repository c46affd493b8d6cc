import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOT_FILES } from './support/data.js';
import { getJson, logLines, waitFor } from './support/procs.js';
import { closedPort, startSession, type Session } from './support/session.js';

/**
 * USD-M futures unreachable (its REST and WebSocket URLs point at a port where nothing listens, so
 * every connection is refused): spot trading goes on, the process keeps running, and /status says
 * which feed is down and why.
 */
describe('futures endpoints unreachable', () => {
  let session: Session;
  let api: string;

  beforeAll(async () => {
    const dead = `127.0.0.1:${await closedPort()}`;
    session = await startSession({
      replay: [...SPOT_FILES, '--speed', '40', '--start-delay', '500'],
      env: {
        OBI_COOLDOWN_MS: '200',
        BINANCE_FUTURES_WS_URL: `ws://${dead}`,
        BINANCE_FUTURES_REST_URL: `http://${dead}`,
      },
    });
    api = session.api;
  }, 30_000);

  afterAll(async () => {
    const code = await session?.stop();
    expect(code).toBe(0); // still running until asked to stop, and stops cleanly
  });

  it('syncs the spot book and trades on paper', async () => {
    await waitFor('the spot book to sync', async () => (await getJson(`${api}/book/BTCUSDT?depth=1`)).body.state === 'synced', 10_000);
    const fills = await waitFor('paper fills', async () => {
      const f = (await getJson(`${api}/fills?limit=100`)).body.fills as { venue: string; symbol: string }[];
      return f.length >= 3 ? f : undefined;
    }, 15_000);
    expect(fills.every((f) => f.venue === 'spot' && f.symbol === 'BTCUSDT')).toBe(true);
    expect(logLines(session.engine).filter((l) => l.msg === 'paper order').length).toBeGreaterThanOrEqual(3);
    expect(session.engine.child.exitCode).toBeNull();
  });

  it('reports the usdm feed down with its error on /status, spot up, and keeps retrying', async () => {
    await waitFor('the spot feed to be up', async () => (await getJson(`${api}/status`)).body.feeds.spot.state === 'up', 10_000);
    const { status, body } = await getJson(`${api}/status`);
    expect(status).toBe(200);
    expect(body.engine.state).toBe('running');
    expect(body.feeds.spot.state).toBe('up');
    expect(body.books['spot:BTCUSDT'].state).toBe('synced');
    expect(body.feeds.usdm.state).toBe('down');
    expect(body.feeds.usdm.lastError).toEqual(expect.stringContaining('/fapi/v1/exchangeInfo'));
    expect(body.feeds.usdm.connections).toEqual([]);
    expect(body.feedsDown).toEqual(['usdm']);
    expect(body.books['usdm:BTCUSDT']).toBeUndefined();
    // the feed does not give up after the first refusal: it asks for exchangeInfo again (with backoff), failing each time
    const usdm = await waitFor('a second exchangeInfo attempt', async () => {
      const f = (await getJson(`${api}/status`)).body.feeds.usdm;
      return f.rest.failures >= 2 ? f : undefined;
    }, 5_000);
    expect(usdm.state).toBe('down');
    expect(usdm.rest.requests).toBeGreaterThanOrEqual(usdm.rest.failures);
    expect(logLines(session.engine).filter((l) => l.venue === 'usdm' && l.msg === 'exchangeInfo failed; retrying').length).toBeGreaterThanOrEqual(2);
    expect(session.engine.child.exitCode).toBeNull();
  });
});
