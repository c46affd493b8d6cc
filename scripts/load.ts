import autocannon from 'autocannon';
import { arg, freePort, getJson, serveReplay, startEngine, waitFor } from './procs.js';

/**
 * Bounded API load while the engine trades: serve-replay plays the BTCUSDT recordings (spot 2 files,
 * USD-M) at --speed, `papertape run` trades from it, and autocannon sends --rate requests per second
 * (GET /status, /account, /book/BTCUSDT in turn) over --connections loopback connections for
 * --duration seconds. Reports the API latency (p50/p99/max), the engine's tick-to-decision latency
 * (GET /latency) and whether every market message serve-replay sent reached the engine.
 *
 *   npm run load -- --duration 20 --rate 200 --connections 4 --speed 20
 *
 * The API's per-client rate limit is turned off for the run (API_RATE_LIMIT=0): one client sends all.
 */
const duration = arg('duration', 20);
const rate = arg('rate', 200);
const connections = arg('connections', 4);
const speed = arg('speed', 20);

const port = await freePort();
const replay = serveReplay(port, speed);
await waitFor('serve-replay to listen', async () => /listening on/.test(replay.out()), 60_000);
const engine = await startEngine(port, { API_RATE_LIMIT: '0' });
const exchange = `http://127.0.0.1:${port}`;
try {
  await waitFor('both books synced', async () => {
    const s = await getJson(`${engine.api}/status`);
    return ['spot', 'usdm'].every((v) => s.feeds?.[v]?.books?.BTCUSDT?.state === 'synced');
  }, 60_000, 200);
  process.stderr.write(`load: ${rate} req/s over ${connections} connections for ${duration} s against ${engine.api} (replay at ${speed}x)\n`);
  const result = await autocannon({
    url: engine.api,
    connections,
    overallRate: rate,
    duration,
    requests: [{ method: 'GET', path: '/status' }, { method: 'GET', path: '/account' }, { method: 'GET', path: '/book/BTCUSDT?depth=20' }],
  });
  // every market message: serve-replay's count against what the engine received
  await waitFor('the replay to finish', async () => (await getJson(`${exchange}/replay/status`)).finished === true, 600_000, 500);
  await new Promise((r) => setTimeout(r, 1000));
  const rs = await getJson(`${exchange}/replay/status`);
  const st = await getJson(`${engine.api}/status`);
  const lat = await getJson(`${engine.api}/latency`);
  // spot: the engine subscribes to every recorded stream (depth@100ms, bookTicker, trade) as recorded, so
  // every message counts. USD-M: depth is re-aggregated (@0ms recorded, @100ms subscribed) and @trade is
  // not subscribed: a lost depth message would show as a sequence gap, and the final book must be the last one.
  const spotSent = Object.entries(rs.perStream as Record<string, number>).filter(([k]) => !k.startsWith('usdm:')).reduce((a, [, n]) => a + n, 0);
  const received = (st.feeds.spot.connections as { messages: number }[]).reduce((b, c) => b + c.messages, 0);
  const usdmBook = await getJson(`${engine.api}/book/BTCUSDT?depth=1&venue=usdm`);
  const reconnects = ['spot', 'usdm'].reduce((a, v) => a + (st.feeds[v].connections as { reconnects: number }[]).reduce((b, c) => b + c.reconnects, 0), 0);
  const report = {
    durationS: duration,
    targetRate: rate,
    connections,
    replaySpeed: speed,
    api: {
      requests: result.requests.total,
      rps: result.requests.average,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    },
    tickToDecision: lat.tickToDecision,
    market: {
      spot: { sent: spotSent, received, lost: spotSent - received, gaps: st.feeds.spot.books.BTCUSDT.gaps },
      usdm: { depthGaps: st.feeds.usdm.books.BTCUSDT.gaps, lastUpdateId: usdmBook.lastUpdateId, synced: st.feeds.usdm.books.BTCUSDT.state === 'synced' },
      reconnects,
    },
    orders: st.counters?.orders ?? null,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `| ${duration} s, ${rate} req/s, ${connections} conns, replay ${speed}x | API p50 ${report.api.latencyMs.p50} ms, p99 ${report.api.latencyMs.p99} ms, max ${report.api.latencyMs.max} ms; ${report.api.requests} requests, non-2xx ${report.api.non2xx}, errors ${report.api.errors} | tick-to-decision p50 ${lat.tickToDecision.p50Us} µs, p99 ${lat.tickToDecision.p99Us} µs (${lat.tickToDecision.count} decisions) | spot messages sent ${spotSent}, received ${received}, lost ${spotSent - received}; USD-M depth gaps ${report.market.usdm.depthGaps}; reconnects ${reconnects} |\n`,
  );
  if (report.market.spot.lost !== 0 || report.market.spot.gaps + report.market.usdm.depthGaps + reconnects > 0 || report.api.errors > 0 || report.api.non2xx > 0) process.exitCode = 1;
} finally {
  await engine.proc.stop();
  await replay.stop();
  engine.cleanup();
}
