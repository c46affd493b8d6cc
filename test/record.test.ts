import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeStream, readAll, type ReadStats, type RecordLine } from '../src/marketdata/recording/format.js';
import { readLines, SPOT_FILES, USDM_BTC, type Line } from './support/data.js';
import { listeningPort, papertape, waitFor, type Proc } from './support/procs.js';

const STREAMS = [
  'btcusdt@bookTicker',
  'btcusdt@depth@100ms',
  'btcusdt@trade',
  'usdm:btcusdt@bookTicker',
  'usdm:btcusdt@depth@100ms',
  'usdm:btcusdt@markPrice@1s',
  'usdm:btcusdt@trade',
];
const PROGRESS = /^record msgs=(\d+) bytes=([\d.]+)(B|KB|MB|GB) snapshots=(\d+) reconnects=(\d+)(?: errors=\d+)?(?: \[[^\]]*\])? \| (.*)$/;

function progressLines(err: string): { msgs: number; bytes: number; snapshots: number; reconnects: number; perStream: Record<string, number> }[] {
  const unit = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 } as const;
  return err
    .split('\n')
    .map((l) => PROGRESS.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      msgs: Number(m[1]),
      bytes: Number(m[2]) * unit[m[3] as keyof typeof unit],
      snapshots: Number(m[4]),
      reconnects: Number(m[5]),
      perStream: Object.fromEntries(m[6]!.split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.lastIndexOf('=')), Number(kv.slice(kv.lastIndexOf('=') + 1))])),
    }));
}

/** Recorded texts per stream name, and the bare (REST snapshot) lines. */
function byStream(lines: { text: string }[]): { streams: Map<string, string[]>; bare: string[] } {
  const streams = new Map<string, string[]>();
  const bare: string[] = [];
  for (const { text } of lines) {
    const s = envelopeStream(text);
    if (s === null) bare.push(text);
    else {
      let texts = streams.get(s);
      if (!texts) streams.set(s, (texts = []));
      texts.push(text);
    }
  }
  return { streams, bare };
}

/**
 * `papertape record --futures` against `papertape serve-replay` of the spot and USD-M BTCUSDT recordings
 * of 2024-08-08 at 50x, stopped by SIGINT while messages still flow. What it wrote is read back with the
 * project's own reader and compared with the source files (read with the independent test reader).
 */
describe('papertape record (CLI, against serve-replay)', () => {
  let replay: Proc;
  let rec: Proc;
  let dir: string;
  let startedNs: bigint;
  let stoppedNs: bigint;
  let code: number | null;
  let files: string[];
  const written: Record<'spot' | 'usdm', RecordLine[]> = { spot: [], usdm: [] };
  const stats: Record<'spot' | 'usdm', ReadStats> = { spot: { lines: 0, malformed: 0 }, usdm: { lines: 0, malformed: 0 } };
  let source: Record<'spot' | 'usdm', Line[]>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papertape-record-'));
    const [spot, usdm] = await Promise.all([readLines(SPOT_FILES[0]!), readLines(USDM_BTC)]);
    source = { spot, usdm };
    replay = papertape(['serve-replay', SPOT_FILES[0]!, USDM_BTC, '--port', '0', '--speed', '50', '--start-delay', '1000']);
    const ex = `127.0.0.1:${await listeningPort(replay)}`;
    startedNs = BigInt(Date.now()) * 1_000_000n;
    rec = papertape(['record', '--symbols', 'BTCUSDT', '--out', join(dir, 'out'), '--futures'], {
      BINANCE_SPOT_WS_URL: `ws://${ex}`,
      BINANCE_SPOT_REST_URL: `http://${ex}`,
      BINANCE_FUTURES_WS_URL: `ws://${ex}`,
      BINANCE_FUTURES_REST_URL: `http://${ex}`,
    });
    // a few seconds in, with every stream flowing (the replay lasts about 7 s at 50x), stop it like a user would
    await waitFor('progress with every stream', () => progressLines(rec.stderr()).some((p) => p.msgs > 10_000 && STREAMS.every((s) => (p.perStream[s] ?? 0) > 0)), 15_000);
    rec.child.kill('SIGINT');
    code = await rec.exited;
    stoppedNs = BigInt(Date.now()) * 1_000_000n;
    files = [...rec.stdout().matchAll(/^ {2}(\S+\.gz)$/gm)].map((m) => m[1]!);
    for (const f of files) {
      const venue = basename(f).startsWith('usdm_') ? 'usdm' : 'spot';
      written[venue].push(...(await readAll(f, stats[venue])));
    }
  }, 30_000);

  afterAll(async () => {
    await rec?.kill('SIGKILL');
    await replay?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops on SIGINT with exit code 0 and lists complete files', () => {
    expect(code).toBe(0);
    expect(rec.stdout()).toContain(`record BTCUSDT -> ${join(dir, 'out')} (spot + usdm futures)`);
    expect(rec.stdout()).toContain('record stopped; files:');
    expect(files.length).toBeGreaterThanOrEqual(2);
    expect(readdirSync(join(dir, 'out')).sort()).toEqual(files.map((f) => basename(f)).sort());
    expect(files.every((f) => /\/(spot|usdm)_\d{8}_\d{2}(\.\d+)?\.gz$/.test(f))).toBe(true);
    for (const v of ['spot', 'usdm'] as const) {
      expect(stats[v].malformed).toBe(0);
      expect(stats[v].truncated).toBeFalsy(); // every gzip stream was ended properly
      expect(written[v].length).toBe(stats[v].lines);
    }
  });

  it('prints progress lines (messages, bytes, per stream) that match what was written', () => {
    const lines = progressLines(rec.stderr());
    expect(lines.length).toBeGreaterThanOrEqual(2); // at least one while running, one at the end
    const last = lines[lines.length - 1]!;
    const all = [...written.spot, ...written.usdm];
    expect(last.msgs).toBe(all.length);
    expect(last.reconnects).toBe(0);
    const bytes = all.reduce((a, l) => a + Buffer.byteLength(`${l.recvNs} ${l.text}\n`), 0);
    expect(Math.abs(last.bytes - bytes) / bytes).toBeLessThan(0.01); // printed rounded to 0.1 MB
    const counted: Record<string, number> = {};
    let snapshots = 0;
    for (const [v, prefix] of [['spot', ''], ['usdm', 'usdm:']] as const) {
      const { streams, bare } = byStream(written[v]);
      for (const [s, texts] of streams) counted[prefix + s] = texts.length;
      snapshots += bare.length;
    }
    expect(last.perStream).toEqual(counted);
    expect(Object.keys(counted).sort()).toEqual(STREAMS);
    expect(last.snapshots).toBe(snapshots);
  });

  it('stamps every line with a local receive time in ns, in order', () => {
    for (const v of ['spot', 'usdm'] as const) {
      const t = written[v].map((l) => l.recvNs);
      expect(t[0]! >= startedNs && t[t.length - 1]! <= stoppedNs).toBe(true);
      expect(t.every((x, i) => i === 0 || x >= t[i - 1]!)).toBe(true);
    }
  });

  it.each([
    ['spot', 'btcusdt@depth@100ms'],
    ['spot', 'btcusdt@trade'],
    ['spot', 'btcusdt@bookTicker'],
    ['usdm', 'btcusdt@trade'],
    ['usdm', 'btcusdt@bookTicker'],
  ] as const)('writes %s %s messages byte for byte as the recording has them, none lost or reordered', (venue, stream) => {
    // serve-replay sends a recorded line's text as is when the client subscribed to the recorded stream
    // name on a combined connection, which is the case for these: the recorder must write what it got.
    const got = byStream(written[venue]).streams.get(stream) ?? [];
    const want = byStream(source[venue]).streams.get(stream) ?? [];
    expect(got.length).toBeGreaterThan(100);
    expect(got.length).toBeLessThan(want.length); // stopped mid-way, so this is a real prefix
    // playback starts 1 s after the first subscription, so every connection is there from the first message
    const firstDifference = got.findIndex((t, i) => t !== want[i]);
    expect(firstDifference, `line ${firstDifference}: ${got[firstDifference]?.slice(0, 200)} vs ${want[firstDifference]?.slice(0, 200)}`).toBe(-1);
  });

  it('writes the derived USD-M streams serve-replay re-encodes: 100 ms depth aggregated without gaps, mark price', () => {
    // Not byte-comparable with the source: the recording has USD-M depth@0ms, which serve-replay aggregates
    // into 100 ms windows (new messages), and no markPrice at all (serve-replay synthesises it).
    const { streams } = byStream(written.usdm);
    const depth = (streams.get('btcusdt@depth@100ms') ?? []).map((t) => (JSON.parse(t) as { data: { U: number; u: number; pu: number } }).data);
    expect(depth.length).toBeGreaterThan(10);
    expect(depth.every((d, i) => d.U <= d.u && (i === 0 || d.pu === depth[i - 1]!.u))).toBe(true);
    const mark = (streams.get('btcusdt@markPrice@1s') ?? []).map((t) => (JSON.parse(t) as { data: { e: string; s: string } }).data);
    expect(mark.length).toBeGreaterThan(0);
    expect(mark.every((m) => m.e === 'markPriceUpdate' && m.s === 'BTCUSDT')).toBe(true);
  });

  it.each(['spot', 'usdm'] as const)('writes %s REST depth snapshots as bare lines that fit the recorded diff stream', (venue) => {
    // Snapshots are answered by serve-replay from its own book at request time, so they are not source lines.
    const { streams, bare } = byStream(written[venue]);
    expect(bare.length).toBeGreaterThanOrEqual(1);
    const diffs = (streams.get('btcusdt@depth@100ms') ?? []).map((t) => (JSON.parse(t) as { data: { U: number; u: number } }).data);
    for (const text of bare) {
      const snap = JSON.parse(text) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
      expect(snap.bids.length).toBeGreaterThan(0);
      expect(snap.asks.length).toBeGreaterThan(0);
      expect(Number(snap.bids[0]![0])).toBeLessThan(Number(snap.asks[0]![0]));
      expect(snap.lastUpdateId).toBeGreaterThanOrEqual(diffs[0]!.U - 1);
      expect(snap.lastUpdateId).toBeLessThanOrEqual(diffs[diffs.length - 1]!.u);
    }
  });
});
