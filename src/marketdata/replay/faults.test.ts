import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startReplayServer, type ReplayServer } from './server.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const FILES = [`${DATA}binance/usdm/btcusdt_20240808.gz`];

/** serve-replay's fault commands (POST /_admin/faults): only with the `faults` option, validated, counted. */
describe('serve-replay fault commands', () => {
  let on: ReplayServer;
  let off: ReplayServer;
  const post = (s: ReplayServer, body: string) => fetch(`${s.url}/_admin/faults`, { method: 'POST', body });

  beforeAll(async () => {
    [on, off] = await Promise.all([startReplayServer({ files: FILES, faults: true }), startReplayServer({ files: FILES })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  it('are not served without the option', async () => {
    expect((await post(off, '{"disconnect":true}')).status).toBe(404);
    expect(off.status().faults).toBeUndefined();
  });

  it('refuses bad commands with 400 and changes nothing', async () => {
    for (const body of ['not json', '{"venue":"coinbase"}', '{"rest":{"status":500,"count":1}}', '{"rest":{"status":429,"count":0}}', '{"lag":-1}', '{"lag":"500"}', '{"stall":{"ms":0}}', '{"stall":{"ms":1000,"stream":"bookTicker"}}', '{"stall":5}']) {
      expect((await post(on, body)).status, body).toBe(400);
    }
    expect(on.status().faults!.pending.usdm).toEqual({ duplicate: 0, reorder: 0, drop: 0, staleSnapshot: 0, rest: 0 });
    expect(on.status().faults!.lagMs).toEqual({ spot: 0, usdm: 0 });
    expect(on.status().faults!.stalling).toEqual({ spot: null, usdm: null });
  });

  it('answers the next N REST requests with 418 and Retry-After, then normally, and counts them', async () => {
    const r = await post(on, JSON.stringify({ venue: 'usdm', drop: 2, rest: { status: 418, count: 2, retryAfter: 7 } }));
    expect(r.status).toBe(200);
    const pending = ((await r.json()) as { pending: Record<string, Record<string, number>> }).pending;
    expect(pending['usdm']).toEqual({ duplicate: 0, reorder: 0, drop: 2, staleSnapshot: 0, rest: 2 });
    expect(pending['spot']!['rest']).toBe(0);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${on.url}/fapi/v1/exchangeInfo`);
      expect(res.status).toBe(418);
      expect(res.headers.get('retry-after')).toBe('7');
      await res.body?.cancel();
    }
    const ok = await fetch(`${on.url}/fapi/v1/exchangeInfo`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const status = (await (await fetch(`${on.url}/_admin/faults`)).json()) as { restErrors: number; pending: Record<string, Record<string, number>> };
    expect(status.restErrors).toBe(2);
    expect(status.pending['usdm']!['rest']).toBe(0);
    expect(status.pending['usdm']!['drop']).toBe(2); // nothing played yet
    expect(on.status().faults!.restErrors).toBe(2);
  });
});

interface Received {
  at: number;
  u: number;
  E: number;
}
/** A USD-M depth@0ms client: every diff's final update id, event time and arrival time. */
function depthClient(url: string): Promise<{ ws: WebSocket; got: Received[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${url}/public/stream?streams=btcusdt@depth@0ms`);
  const got: Received[] = [];
  ws.on('message', (d) => {
    const m = /"E":(\d+).*"u":(\d+)/.exec(String(d));
    if (m) got.push({ at: performance.now(), E: Number(m[1]), u: Number(m[2]) });
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, got, closed }));
    ws.once('error', reject);
  });
}

describe('serve-replay slow links and slow readers', () => {
  it('lag holds frames back and delivers them late, in order, none lost; lag 0 ends it', async () => {
    const s = await startReplayServer({ files: FILES, faults: true, speed: 40, startDelayMs: 300 });
    try {
      const c = await depthClient(s.wsUrl);
      await until(() => c.got.length >= 200);
      const post = async (cmd: object) => expect((await fetch(`${s.url}/_admin/faults`, { method: 'POST', body: JSON.stringify(cmd) })).status).toBe(200);
      const lagOn = performance.now();
      await post({ venue: 'usdm', lag: 400 });
      expect(s.status().faults!.lagMs.usdm).toBe(400);
      await new Promise((r) => setTimeout(r, 1500));
      const lagOff = performance.now();
      await post({ venue: 'usdm', lag: 0 });
      await s.done;
      const perStream = s.status().perStream['usdm:btcusdt@depth@0ms']!;
      expect(perStream).toBeGreaterThan(6000);
      // every diff once (a lost one would time this out), in order
      await until(() => c.got.length >= perStream);
      expect(c.got.length).toBe(perStream);
      expect(s.status().faults!.lagged).toBeGreaterThan(10);
      const us = c.got.map((g) => g.u);
      for (let i = 1; i < us.length; i++) expect(us[i]!).toBeGreaterThan(us[i - 1]!);
      // nothing arrived in the first ~400 ms of the lag; then the stream was ~400 ms behind:
      // receive time minus (scaled) event time is 400 ms more than before the lag
      const during = c.got.filter((g) => g.at > lagOn + 10 && g.at < lagOff);
      expect(during.length).toBeGreaterThan(10);
      expect(during[0]!.at - lagOn).toBeGreaterThanOrEqual(390);
      const d = (g: Received) => g.at - g.E / 40;
      const before = c.got.filter((g) => g.at < lagOn).map(d);
      const base = Math.min(...before);
      const lags = during.map((g) => d(g) - base);
      expect(Math.min(...lags)).toBeGreaterThan(300);
      // after the held frames went out, the stream is on time again
      const after = c.got.filter((g) => g.at > lagOff + 600).map(d);
      expect(after.length).toBeGreaterThan(10);
      // (median: the shared test machine can stall a moment on its own)
      const sorted = after.map((x) => x - base).sort((a, b) => a - b);
      expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(100);
      c.ws.close();
    } finally {
      await s.close();
    }
  }, 60_000);

  it('disconnects a client that cannot keep up instead of holding playback back for the others', async () => {
    const s = await startReplayServer({ files: FILES, speed: 60, startDelayMs: 500, maxClientBufferBytes: 256 << 10 });
    try {
      const slow = await depthClient(s.wsUrl);
      const fast = await depthClient(s.wsUrl);
      // the slow client stops reading its socket: the kernel buffers fill, then the server's
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      const t0 = performance.now();
      await s.done;
      const took = performance.now() - t0;
      expect(s.status().slowClientsClosed).toBe(1);
      expect(s.status().clients).toBe(1);
      // the fast client got every diff, and playback kept the recorded pace (the whole file at 60x takes ~7 s)
      await until(() => fast.got.length === s.status().perStream['usdm:btcusdt@depth@0ms']).catch((e) => { throw new Error(`${(e as Error).message}: fast got ${fast.got.length}, slow ${slow.got.length}, status ${JSON.stringify(s.status())}`); });
      expect(took).toBeLessThan(20_000);
      // the slow client, reading again, finds its connection dropped after what was buffered
      (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
      expect(await slow.closed).toBe(1006);
      expect(slow.got.length).toBeLessThan(fast.got.length);
      fast.ws.close();
    } finally {
      await s.close();
    }
  }, 60_000);
});

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
