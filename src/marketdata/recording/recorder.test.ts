import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startReplayServer } from '../replay/server.js';
import { envelopeStream, readAll, type RecordLine } from './format.js';
import { startRecorder, type RecorderProgress } from './recorder.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/binance/', import.meta.url));
const SPOT = [join(DATA, 'spot/btcusdt_20240808.gz'), join(DATA, 'spot/btcusdt_20240809.gz')];
const USDM = join(DATA, 'usdm/btcusdt_20240808.gz');
const tmp = mkdtempSync(join(tmpdir(), 'pt-recorder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function readDir(dir: string, prefix: string): Promise<RecordLine[]> {
  const out: RecordLine[] = [];
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`${prefix}_`)).sort()) out.push(...(await readAll(join(dir, f))));
  return out.sort((a, b) => (a.recvNs < b.recvNs ? -1 : a.recvNs > b.recvNs ? 1 : 0));
}

function countStreams(lines: RecordLine[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const l of lines) {
    const s = envelopeStream(l.text) ?? '_snapshot';
    c[s] = (c[s] ?? 0) + 1;
  }
  return c;
}

describe('recorder', () => {
  it('records a whole spot replay: every message, exactly as sent, plus a snapshot line', async () => {
    const srv = await startReplayServer({ files: SPOT, speed: Infinity });
    const out = join(tmp, 'spot');
    const progress: RecorderProgress[] = [];
    const rec = await startRecorder({
      symbols: ['BTCUSDT'],
      outDir: out,
      futures: false,
      spotWsUrl: srv.wsUrl,
      spotRestUrl: srv.url,
      futuresWsUrl: srv.wsUrl,
      futuresRestUrl: srv.url,
      onProgress: (p) => progress.push(p),
    });
    await srv.done;
    const total = srv.status().total;
    await until(() => rec.progress().messages >= total + 1);
    const p = rec.progress();
    expect(p.snapshots).toBe(1);
    expect(p.perStream).toEqual({ 'btcusdt@depth@100ms': 6495, 'btcusdt@trade': 19904, 'btcusdt@bookTicker': 73174 });
    expect(p.connections).toEqual({ spot: 'open' });
    await rec.stop();
    await srv.close();
    expect(progress.length).toBeGreaterThan(0);
    expect(readdirSync(out).every((f) => /^spot_\d{8}_\d{2}(\.\d+)?\.gz$/.test(f))).toBe(true);

    const got = await readDir(out, 'spot');
    const counts = countStreams(got);
    expect(counts).toEqual({ 'btcusdt@depth@100ms': 6495, 'btcusdt@trade': 19904, 'btcusdt@bookTicker': 73174, _snapshot: 1 });
    // texts are the exact source lines, in order
    const src = [...(await readAll(SPOT[0]!)), ...(await readAll(SPOT[1]!))].filter((l) => envelopeStream(l.text) !== null).map((l) => l.text);
    const recorded = got.filter((l) => envelopeStream(l.text) !== null).map((l) => l.text);
    expect(recorded.length).toBe(src.length);
    expect(recorded.every((t, i) => t === src[i])).toBe(true);
    // receive times are epoch ns of now and non-decreasing
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    expect(got[0]!.recvNs > nowNs - 120_000_000_000n && got[got.length - 1]!.recvNs <= nowNs).toBe(true);
    const snap = JSON.parse(got.find((l) => envelopeStream(l.text) === null)!.text) as { lastUpdateId: number; bids: unknown[] };
    expect(snap.lastUpdateId).toBeGreaterThanOrEqual(50093239218);
    expect(snap.bids.length).toBe(1000);

    // the recording replays: a replay server classifies it as spot and serves its snapshot
    const again = await startReplayServer({ files: readdirSync(out).map((f) => join(out, f)), speed: Infinity, startOn: 'immediately' });
    await again.done;
    const st = again.status();
    expect(st.venues).toEqual(['spot']);
    expect(st.total).toBe(src.length);
    const r = await fetch(`${again.url}/api/v3/depth?symbol=BTCUSDT&limit=5`);
    expect(r.status).toBe(200);
    await again.close();
  });

  it('records USD-M on the routed public/market paths into a usdm file set', async () => {
    const srv = await startReplayServer({ files: [USDM], speed: 20 });
    const out = join(tmp, 'usdm');
    const rec = await startRecorder({
      symbols: ['btcusdt'],
      outDir: out,
      futures: true,
      spot: false,
      spotWsUrl: srv.wsUrl,
      spotRestUrl: srv.url,
      futuresWsUrl: srv.wsUrl,
      futuresRestUrl: srv.url,
    });
    await until(() => {
      const p = rec.progress().perStream;
      return rec.progress().snapshots === 1 && (p['usdm:btcusdt@markPrice@1s'] ?? 0) >= 2 && (p['usdm:btcusdt@depth@100ms'] ?? 0) >= 5;
    });
    const p = rec.progress();
    expect(p.connections).toEqual({ 'usdm-public': 'open', 'usdm-market': 'open' });
    await rec.stop();
    await srv.close();
    const got = await readDir(out, 'usdm');
    const counts = countStreams(got);
    expect(counts._snapshot).toBe(1);
    expect(counts['btcusdt@bookTicker']).toBeGreaterThan(0);
    expect(counts['btcusdt@trade']).toBeGreaterThan(0);
    expect(counts['btcusdt@forceOrder']).toBeUndefined();
    const snap = JSON.parse(got.find((l) => envelopeStream(l.text) === null)!.text) as Record<string, unknown>;
    expect(Object.keys(snap)).toEqual(['lastUpdateId', 'E', 'T', 'bids', 'asks']);
    const depth = got.filter((l) => envelopeStream(l.text) === 'btcusdt@depth@100ms').map((l) => (JSON.parse(l.text) as { data: { u: number; pu: number } }).data);
    for (let i = 1; i < depth.length; i++) expect(depth[i]!.pu).toBe(depth[i - 1]!.u);
  });

  it('reconnects after the server goes away and takes a fresh snapshot', async () => {
    const first = await startReplayServer({ files: [SPOT[0]!], speed: 20 });
    const port = first.port;
    const out = join(tmp, 'reconnect');
    const rec = await startRecorder({
      symbols: ['BTCUSDT'],
      outDir: out,
      futures: false,
      spotWsUrl: first.wsUrl,
      spotRestUrl: first.url,
      futuresWsUrl: first.wsUrl,
      futuresRestUrl: first.url,
    });
    await until(() => rec.progress().snapshots === 1 && rec.progress().messages > 50);
    await first.close();
    await until(() => rec.progress().connections.spot !== 'open');
    const second = await startReplayServer({ files: [SPOT[0]!], speed: 20, port });
    await until(() => rec.progress().snapshots === 2 && rec.progress().connections.spot === 'open');
    const before = rec.progress().messages;
    await until(() => rec.progress().messages > before + 20);
    expect(rec.progress().reconnects).toBeGreaterThanOrEqual(1);
    await rec.stop();
    await second.close();
    const got = await readDir(out, 'spot');
    expect(got.filter((l) => envelopeStream(l.text) === null)).toHaveLength(2);
    for (let i = 1; i < got.length; i++) expect(got[i]!.recvNs >= got[i - 1]!.recvNs).toBe(true);
  });
});
