import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DepthSync } from '../../book/sync.js';
import { parseScaled } from '../../core/decimal.js';
import { BinanceFeed } from '../binance/feed.js';
import { envelopeStream, readAll, type RecordLine } from '../recording/format.js';
import { formatReplayProgress, parseLoop } from './cli.js';
import { startReplayServer, type ReplayServer, type ReplayServerOptions } from './server.js';

/**
 * serve-replay `loop`: the recordings played n times back to back as one market. Pass 2 is pass 1 with
 * every time and id shifted forward, every client is closed between passes, and a client that follows
 * Binance's sync rules (the engine's own feed) reconnects, resyncs and ends pass 2 with the book it had
 * at the end of pass 1.
 */

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const USDM_BTC = `${DATA}binance/usdm/btcusdt_20240808.gz`;

type Level = [string, string];
type Payload = Record<string, unknown> & { E?: number; T?: number; U?: number; u?: number; pu?: number; t?: number; b?: unknown; a?: unknown };

let recording: Promise<RecordLine[]> | null = null;
const lines = () => (recording ??= readAll(USDM_BTC));
/** The recorded payloads of one stream, in order. */
async function recorded(stream: string): Promise<{ text: string; data: Payload }[]> {
  return (await lines()).filter((l) => envelopeStream(l.text) === stream).map((l) => ({ text: l.text, data: (JSON.parse(l.text) as { data: Payload }).data }));
}

const servers: ReplayServer[] = [];
const sockets: WebSocket[] = [];
const feeds: BinanceFeed[] = [];
async function serve(opts: ReplayServerOptions): Promise<ReplayServer> {
  const s = await startReplayServer(opts);
  servers.push(s);
  return s;
}
afterAll(async () => {
  for (const f of feeds) f.stop();
  for (const w of sockets) w.terminate();
  await Promise.all(servers.map((s) => s.close()));
});

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Conn {
  ws: WebSocket;
  msgs: string[];
  closed: Promise<number>;
}
function open(url: string): Promise<Conn> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const msgs: string[] = [];
  ws.on('message', (d) => msgs.push(String(d)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, msgs, closed }));
    ws.once('error', reject);
  });
}
const max = (xs: number[]) => xs.reduce((m, x) => (x > m ? x : m), -Infinity);
const min = (xs: number[]) => xs.reduce((m, x) => (x < m ? x : m), Infinity);
const streamData = (msgs: string[], stream: string): Payload[] =>
  msgs.map((m) => JSON.parse(m) as { stream?: string; data?: Payload }).filter((m) => m.stream === stream).map((m) => m.data!);

describe('serve-replay --loop: options', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses loop %s', async (loop) => {
    await expect(startReplayServer({ files: [USDM_BTC], loop })).rejects.toThrow(/loop must be a positive integer/);
  });

  it('parses --loop', () => {
    expect(parseLoop(undefined)).toBe(1);
    expect(parseLoop('3')).toBe(3);
    expect(parseLoop(2)).toBe(2);
    for (const bad of ['0', '-2', '1.5', 'two', '', '1e3']) expect(() => parseLoop(bad), bad).toThrow(/invalid --loop .* \(expected a positive integer\)/);
  });

  it('shows the pass in the progress line', () => {
    const s = { started: true, finished: false, sent: 150, total: 300, clients: 1, replayTimeMs: 0, perStream: {}, dropped: 0, venues: ['usdm' as const], slowClientsClosed: 0, waits: 0, timersFired: 0 };
    expect(formatReplayProgress(s)).toBe('replay 150/300 (50.0%) clients=1 time=1970-01-01T00:00:00.000Z');
    expect(formatReplayProgress({ ...s, loop: { pass: 2, passes: 3, spanMs: 346_000, updateIdShift: 1e8, disconnected: 2, waiting: false } })).toBe(
      'replay 150/300 (50.0%) pass=2/3 clients=1 time=1970-01-01T00:00:00.000Z',
    );
  });

  it('reports no loop when playing once', async () => {
    const srv = await serve({ files: [USDM_BTC] });
    expect(srv.status().loop).toBeUndefined();
    expect(srv.status().total).toBe((await lines()).filter((l) => envelopeStream(l.text) !== null).length);
  });
});

describe('serve-replay --loop 2 over the wire', () => {
  it('plays pass 2 as pass 1 shifted forward in time and ids, after closing every client at the seam (speed max)', async () => {
    const srv = await serve({ files: [USDM_BTC], speed: Infinity, loop: 2, startDelayMs: 100 });
    const streams = ['btcusdt@depth@0ms', 'btcusdt@bookTicker', 'btcusdt@trade', 'btcusdt@markPrice@1s'];
    const connect = () => Promise.all([open(`${srv.wsUrl}/public/stream?streams=${streams.slice(0, 2).join('/')}`), open(`${srv.wsUrl}/market/stream?streams=${streams.slice(2).join('/')}`)]);
    const perPass = (await lines()).filter((l) => envelopeStream(l.text) !== null).length;

    // pass 1: then the server closes both connections with a normal close
    const first = await connect();
    expect(await Promise.all(first.map((c) => c.closed))).toEqual([1000, 1000]);
    const seam = srv.status();
    expect(seam).toMatchObject({ started: true, finished: false, sent: perPass, total: 2 * perPass });
    expect(seam.loop).toMatchObject({ pass: 2, passes: 2, disconnected: 2, waiting: true });
    const { spanMs, updateIdShift } = seam.loop!;
    // at speed max, nobody is connected: the next pass waits for a subscription
    await new Promise((r) => setTimeout(r, 300));
    expect(srv.status().sent).toBe(perPass);

    // pass 2, to a new connection
    const second = await connect();
    await srv.done;
    const count = async (stream: string) => (await recorded(stream)).length;
    const [nDepth, nTicker, nTrade] = [await count(streams[0]!), await count(streams[1]!), await count(streams[2]!)];
    await until('pass 2 to arrive', () => second[0]!.msgs.length >= nDepth + nTicker && second[1]!.msgs.filter((m) => m.includes('"e":"trade"')).length >= nTrade);
    const end = srv.status();
    expect(end).toMatchObject({ finished: true, sent: 2 * perPass, total: 2 * perPass });
    expect(end.loop).toMatchObject({ pass: 2, passes: 2, disconnected: 2, waiting: false });

    // the shifts: a whole number of seconds longer than the recording's span of receive and exchange
    // times, and more than the widest id range of a stream
    const all = await lines();
    const recvSpanMs = Number(all.at(-1)!.recvNs - all[0]!.recvNs) / 1e6;
    const payloads = all.filter((l) => envelopeStream(l.text) !== null).map((l) => (JSON.parse(l.text) as { data: Payload }).data);
    const times = payloads.flatMap((d) => [d.E, d.T]).filter((x): x is number => typeof x === 'number');
    const updateIds = payloads.flatMap((d) => [d.U, d.u]).filter((x): x is number => typeof x === 'number');
    const tradeIds = payloads.map((d) => d.t).filter((x): x is number => typeof x === 'number');
    const range = (xs: number[]) => max(xs) - min(xs);
    expect(spanMs % 1000).toBe(0);
    expect(spanMs).toBeGreaterThan(Math.max(recvSpanMs, range(times)));
    expect(spanMs).toBeLessThan(recvSpanMs + 5000);
    expect(updateIdShift).toBeGreaterThan(Math.max(range(updateIds), range(tradeIds)));

    for (const [k, stream] of streams.slice(0, 3).entries()) {
      const rec = await recorded(stream);
      const got1 = first[k < 2 ? 0 : 1]!.msgs.filter((m) => m.startsWith(`{"stream":"${stream}"`));
      const got2 = streamData(second[k < 2 ? 0 : 1]!.msgs, stream);
      // pass 1 is the recording byte for byte; pass 2 every message of it, shifted
      expect(got1, stream).toEqual(rec.map((r) => r.text));
      expect(got2.length, stream).toBe(rec.length);
      const shifted = rec.map(({ data: d }) => {
        const o: Payload = { ...d };
        for (const key of ['E', 'T'] as const) if (typeof d[key] === 'number') o[key] = d[key] + spanMs;
        for (const key of ['U', 'u', 'pu'] as const) if (typeof d[key] === 'number') o[key] = d[key] + updateIdShift;
        if (stream.endsWith('@trade')) o.t = d.t! + updateIdShift;
        return o;
      });
      expect(got2, stream).toEqual(shifted);
      // nothing goes back at the seam
      const last1 = rec.at(-1)!.data;
      expect(got2[0]!.E!, stream).toBeGreaterThan(max(rec.map((r) => r.data.E!)));
      if (last1.u !== undefined) expect(got2[0]!.u!, stream).toBeGreaterThan(max(rec.map((r) => r.data.u!)));
      if (last1.t !== undefined) expect(got2[0]!.t!, stream).toBeGreaterThan(last1.t);
    }
    // the recorded snapshot of pass 2 is the recorded one shifted: its REST answers continue pass 2's stream
    const depth2 = streamData(second[0]!.msgs, 'btcusdt@depth@0ms');
    const snap = (await (await fetch(`${srv.url}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`)).json()) as { lastUpdateId: number; E: number };
    expect(snap.lastUpdateId).toBe(depth2.at(-1)!.u);
    expect(snap.E).toBe(depth2.at(-1)!.E);
    // the synthesized mark price ticks on across the seam, a second apart
    const mark = [...streamData(first[1]!.msgs, 'btcusdt@markPrice@1s'), ...streamData(second[1]!.msgs, 'btcusdt@markPrice@1s')].map((d) => d.E!);
    expect(mark.length).toBeGreaterThan(300);
    for (let i = 1; i < mark.length; i++) expect(mark[i]!).toBeGreaterThan(mark[i - 1]!);
    expect(mark.at(-1)!).toBeGreaterThan(max(times) + spanMs - 2000);
    const serverTime = ((await (await fetch(`${srv.url}/fapi/v1/time`)).json()) as { serverTime: number }).serverTime;
    expect(serverTime).toBeGreaterThan(max(times) + spanMs - 1000);
  }, 60_000);
});

/** The levels of a synced book, best first, as [price units, qty units]. */
function levels(sync: DepthSync, depth: number): { bids: [number, number][]; asks: [number, number][] } {
  const side = (s: typeof sync.book.bids) => Array.from({ length: Math.min(depth, s.size) }, (_, i): [number, number] => [s.price(i), s.qty(i)]);
  return { bids: side(sync.book.bids), asks: side(sync.book.asks) };
}

/** The book rebuilt straight from the recording (its snapshot, then every diff after it by the USD-M rule), in units of the instrument. */
async function referenceBook(depth: number, inst: { priceDecimals: number; qtyDecimals: number }): Promise<{ lastUpdateId: number; bids: [number, number][]; asks: [number, number][] }> {
  const all = await lines();
  const snap = JSON.parse(all.find((l) => l.text.startsWith('{"lastUpdateId"'))!.text) as { lastUpdateId: number; bids: Level[]; asks: Level[] };
  const bids = new Map<string, string>(snap.bids);
  const asks = new Map<string, string>(snap.asks);
  let id = snap.lastUpdateId;
  for (const { data: d } of await recorded('btcusdt@depth@0ms')) {
    if (d.u! < snap.lastUpdateId) continue;
    for (const [m, ls] of [[bids, d.b], [asks, d.a]] as const) for (const [p, q] of ls as Level[]) if (Number(q) === 0) m.delete(p); else m.set(p, q);
    id = d.u!;
  }
  const units = (m: Map<string, string>, dir: number): [number, number][] =>
    [...m].map(([p, q]): [number, number] => [parseScaled(p, inst.priceDecimals), parseScaled(q, inst.qtyDecimals)]).sort((x, y) => dir * (y[0] - x[0])).slice(0, depth);
  return { lastUpdateId: id, bids: units(bids, 1), asks: units(asks, -1) };
}

interface FeedRun {
  feed: BinanceFeed;
  sync: () => DepthSync;
  /** the book when it had applied the recording's last diff, per pass */
  ends: Map<number, { bids: [number, number][]; asks: [number, number][] }>;
  warnings: string[];
}

/** The engine's own USD-M feed (BinanceFeed: reconnects, snapshots and sync by Binance's rules) against `srv`. */
async function feedOn(srv: ReplayServer, lastU: number, shift: number): Promise<FeedRun> {
  const ends = new Map<number, { bids: [number, number][]; asks: [number, number][] }>();
  const warnings: string[] = [];
  const feed = new BinanceFeed({
    venue: 'usdm',
    symbols: ['BTCUSDT'],
    wsUrl: srv.wsUrl,
    restUrl: srv.url,
    logger: { info: () => {}, warn: (_o, msg) => warnings.push(msg ?? ''), error: (_o, msg) => warnings.push(msg ?? '') },
    sink: {
      onInstruments: () => {},
      onEvent: () => {},
      onBookState: () => {},
      onBook: (sync) => {
        const id = sync.book.lastUpdateId;
        for (const pass of [1, 2]) if (id === lastU + (pass - 1) * shift) ends.set(pass, levels(sync, 500));
      },
    },
  });
  feeds.push(feed);
  await feed.start();
  return { feed, sync: () => feed.processor.syncs.get('BTCUSDT')!, ends, warnings };
}

describe('serve-replay --loop 2: the engine\'s feed resyncs at the seam', () => {
  it.each([
    ['120', 120],
    ['max', Infinity],
  ])('ends pass 2 with exactly the book of the end of pass 1, with no gap (speed %s)', async (_name, speed) => {
    // (at speed max the next pass starts on the first subscription after the seam: the delay lets the
    // feed's second connection, reconnecting up to 500 ms later, subscribe too)
    const srv = await serve({ files: [USDM_BTC], speed, loop: 2, startDelayMs: speed === Infinity ? 700 : 150 });
    const rec = await recorded('btcusdt@depth@0ms');
    const lastU = rec.at(-1)!.data.u!;
    // the shift is known once the server is up (the status reports it before playback)
    const shift = srv.status().loop!.updateIdShift;
    const run = await feedOn(srv, lastU, shift);
    const states: string[] = [];
    const poll = setInterval(() => states.push(`${srv.status().loop!.pass}:${run.sync().state}`), 20);
    try {
      await srv.done;
      await until('the feed to apply the last diff of pass 2', () => run.ends.has(2));
    } finally {
      clearInterval(poll);
      run.feed.stop();
    }
    const st = run.feed.status();
    const book = st.books['BTCUSDT']!;
    // one reset at the seam (both connections closed and reopened), a snapshot per pass, no sequence gap
    expect(st.connections.map((c) => c.reconnects)).toEqual([1, 1]);
    expect(book).toMatchObject({ state: 'synced', gaps: 0, snapshots: 2, lastUpdateId: lastU + shift });
    expect(run.warnings.filter((w) => /gap|bad|failed/.test(w))).toEqual([]);
    expect(run.warnings.filter((w) => w === 'stream down, reconnecting')).toHaveLength(2);
    // the book was synced in pass 1, was not across the seam, and was synced again in pass 2
    expect(states).toContain('1:synced');
    expect(states).toContain('2:synced');
    expect(srv.status().loop).toMatchObject({ pass: 2, disconnected: 2 });

    const inst = run.feed.processor.instruments.get('BTCUSDT')!;
    const ref = await referenceBook(500, inst);
    const end1 = run.ends.get(1)!;
    const end2 = run.ends.get(2)!;
    expect(end1.bids.length).toBe(500);
    expect(end1.asks.length).toBe(500);
    expect(end2).toEqual(end1);
    expect(end1).toEqual({ bids: ref.bids, asks: ref.asks });
    expect(ref.lastUpdateId).toBe(lastU);
    // the server's own book at the end agrees
    const snap = (await (await fetch(`${srv.url}/fapi/v1/depth?symbol=BTCUSDT&limit=1000`)).json()) as { lastUpdateId: number; bids: Level[] };
    expect(snap.lastUpdateId).toBe(lastU + shift);
    expect(snap.bids.slice(0, 500).map(([p, q]) => [parseScaled(p, inst.priceDecimals), parseScaled(q, inst.qtyDecimals)])).toEqual(ref.bids);
  }, 60_000);

  it('works with faults: a lag across the seam delivers pass 1 in full before the close; a drop in pass 2 is one gap, resynced', async () => {
    const srv = await serve({ files: [USDM_BTC], speed: 120, loop: 2, startDelayMs: 150, faults: true });
    const post = async (cmd: object) => expect((await fetch(`${srv.url}/_admin/faults`, { method: 'POST', body: JSON.stringify(cmd) })).status).toBe(200);
    const rec = await recorded('btcusdt@depth@0ms');
    const lastU = rec.at(-1)!.data.u!;
    const shift = srv.status().loop!.updateIdShift;
    const raw = await open(`${srv.wsUrl}/public/stream?streams=btcusdt@depth@0ms`);
    const run = await feedOn(srv, lastU, shift);
    // lag on near the end of pass 1, so the seam comes while frames are held back
    await until('the last seconds of pass 1', () => raw.msgs.length > rec.length * 0.8);
    await post({ venue: 'usdm', lag: 1000 });
    expect(await raw.closed).toBe(1000);
    await post({ venue: 'usdm', lag: 0 });
    // the old connection got every diff of pass 1, in order, and nothing of pass 2
    expect(streamData(raw.msgs, 'btcusdt@depth@0ms').map((d) => d.u)).toEqual(rec.map((r) => r.data.u));
    expect(srv.status().faults!.lagged).toBeGreaterThan(0);
    // in pass 2, once the feed is synced again: one diff withheld
    await until('the feed to resync in pass 2', () => run.sync().synced && run.sync().book.lastUpdateId > lastU).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify({ feed: run.feed.status(), server: srv.status(), warnings: run.warnings })}`);
    });
    await post({ venue: 'usdm', drop: 1 });
    await srv.done;
    await until('the feed to apply the last diff of pass 2', () => run.ends.has(2));
    run.feed.stop();
    const book = run.feed.status().books['BTCUSDT']!;
    expect(srv.status().faults!.dropped).toBe(1);
    expect(book).toMatchObject({ state: 'synced', gaps: 1, snapshots: 3, lastUpdateId: lastU + shift });
    expect(run.warnings.filter((w) => /gap/.test(w))).toEqual(['depth sequence gap: resyncing']);
    expect(run.ends.get(2)).toEqual(run.ends.get(1));
  }, 60_000);
});
