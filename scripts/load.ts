import { request } from 'node:http';
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
 * With --rate-limit N it stays on at N requests a minute (the default is 600): the report then gives the
 * share of 429 answers and the latency of the others apart (p50/p99 of the non-429 answers).
 *
 *   npm run load -- --duration 20 --rate 200 --connections 4 --speed 20 --rate-limit 600
 */
const duration = arg('duration', 20);
const rate = arg('rate', 200);
const connections = arg('connections', 4);
const speed = arg('speed', 20);
const rateLimit = arg('rate-limit', 0);

const port = await freePort();
const replay = serveReplay(port, speed);
await waitFor('serve-replay to listen', async () => /listening on/.test(replay.out()), 60_000);
// no ML gate unless MODEL_PATH is set (as in the tests): the shipped model lets few intents through on
// these recordings, and tick-to-decision needs decisions
const engine = await startEngine(port, { API_RATE_LIMIT: String(rateLimit), MODEL_PATH: process.env['MODEL_PATH'] ?? '' });
const exchange = `http://127.0.0.1:${port}`;
try {
  await waitFor('both books synced', async () => {
    const s = await getJson(`${engine.api}/status`);
    return ['spot', 'usdm'].every((v) => s.feeds?.[v]?.books?.BTCUSDT?.state === 'synced');
  }, 60_000, 200);
  process.stderr.write(`load: ${rate} req/s over ${connections} connections for ${duration} s against ${engine.api} (replay at ${speed}x, API_RATE_LIMIT ${rateLimit})\n`);
  // every answer's status and latency (ms), to report the limited (429) and the served answers apart
  const answers: { status: number; ms: number }[] = [];
  const result = await autocannon({
    setupClient: (client: { on(ev: 'response', fn: (status: number, bytes: number, ms: number) => void): void }) => {
      client.on('response', (status, _bytes, ms) => answers.push({ status, ms }));
    },
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
  // the load used 127.0.0.1's budget of the API's rate limiter: read the results from another loopback address
  const st = await getJsonFrom(`${engine.api}/status`);
  const lat = await getJsonFrom(`${engine.api}/latency`);
  // spot: the engine subscribes to every recorded stream (depth@100ms, bookTicker, trade) as recorded, so
  // every message counts. USD-M: depth is re-aggregated (@0ms recorded, @100ms subscribed) and @trade is
  // not subscribed: a lost depth message would show as a sequence gap, and the final book must be the last one.
  const spotSent = Object.entries(rs.perStream as Record<string, number>).filter(([k]) => !k.startsWith('usdm:')).reduce((a, [, n]) => a + n, 0);
  const received = (st.feeds.spot.connections as { messages: number }[]).reduce((b, c) => b + c.messages, 0);
  const usdmBook = await getJsonFrom(`${engine.api}/book/BTCUSDT?depth=1&venue=usdm`);
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
    rateLimit: rateLimit > 0 ? limiterReport(answers) : null,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(
    `| ${duration} s, ${rate} req/s, ${connections} conns, replay ${speed}x | API p50 ${report.api.latencyMs.p50} ms, p99 ${report.api.latencyMs.p99} ms, max ${report.api.latencyMs.max} ms; ${report.api.requests} requests, non-2xx ${report.api.non2xx}, errors ${report.api.errors} | tick-to-decision p50 ${lat.tickToDecision.p50Us} µs, p99 ${lat.tickToDecision.p99Us} µs (${lat.tickToDecision.count} decisions) | spot messages sent ${spotSent}, received ${received}, lost ${spotSent - received}; USD-M depth gaps ${report.market.usdm.depthGaps}; reconnects ${reconnects} |\n`,
  );
  if (report.rateLimit) {
    const r = report.rateLimit;
    process.stdout.write(
      `| rate limit ${rateLimit}/min: ${duration} s, ${rate} req/s, ${connections} conns, replay ${speed}x | ${r.answers} answers: ${r.limited} 429 (${(r.limitedShare * 100).toFixed(1)}%), ${r.served} served (p50 ${r.servedMs.p50} ms, p99 ${r.servedMs.p99} ms, max ${r.servedMs.max} ms), other non-2xx ${r.otherNon2xx}; 429 p99 ${r.limitedMs.p99} ms | tick-to-decision p50 ${lat.tickToDecision.p50Us} µs, p99 ${lat.tickToDecision.p99Us} µs (${lat.tickToDecision.count} decisions) | spot messages sent ${spotSent}, received ${received}, lost ${spotSent - received}; USD-M depth gaps ${report.market.usdm.depthGaps}; reconnects ${reconnects} |\n`,
    );
  }
  // with the limiter on, 429s are the expected answer past the budget; anything else non-2xx is a failure
  const badStatus = report.rateLimit ? report.rateLimit.otherNon2xx : report.api.non2xx;
  if (report.market.spot.lost !== 0 || report.market.spot.gaps + report.market.usdm.depthGaps + reconnects > 0 || report.api.errors > 0 || badStatus > 0) process.exitCode = 1;
} finally {
  await engine.proc.stop();
  await replay.stop();
  engine.cleanup();
}

function limiterReport(answers: { status: number; ms: number }[]) {
  const pct = (xs: number[], p: number): number | null => {
    if (xs.length === 0) return null;
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  };
  const served = answers.filter((a) => a.status !== 429).map((a) => a.ms);
  const limited = answers.filter((a) => a.status === 429).map((a) => a.ms);
  return {
    answers: answers.length,
    limited: limited.length,
    limitedShare: answers.length > 0 ? limited.length / answers.length : 0,
    served: served.length,
    otherNon2xx: answers.filter((a) => a.status !== 429 && (a.status < 200 || a.status > 299)).length,
    servedMs: { p50: pct(served, 50), p99: pct(served, 99), max: pct(served, 100) },
    limitedMs: { p50: pct(limited, 50), p99: pct(limited, 99) },
  };
}

/** GET url as JSON from the local address 127.0.0.2 (its own budget at the API's per-address rate limiter). */
function getJsonFrom(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: '127.0.0.2' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
