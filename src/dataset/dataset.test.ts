import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../test/support/data.js';
import { FeatureEngine } from '../features/engine.js';
import { FEATURE_COUNT, FEATURE_SCHEMA } from '../features/schema.js';
import { LOBSTER_INSTRUMENT, parseLobsterTime, readLobster } from '../marketdata/lobster/reader.js';
import { buildDataset, type DatasetOptions } from './dataset.js';
import { parseDeadBand, parseHorizon } from './labels.js';
import { decodeNpy } from './npy.js';

const EXCERPT_MSG = resolve(SHARED_DATA, 'lobster-aapl-l10-excerpt/AAPL_2012-06-21_34200000_57600000_message_10.csv');
const EXCERPT_OB = resolve(SHARED_DATA, 'lobster-aapl-l10-excerpt/AAPL_2012-06-21_34200000_57600000_orderbook_10.csv');
const DAY = Date.UTC(2012, 5, 21, 4);
const silent = { info() {}, warn() {}, error() {} };

const dir = mkdtempSync(join(tmpdir(), 'papertape-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function opts(out: string, over: Partial<DatasetOptions> = {}): DatasetOptions {
  return {
    files: [EXCERPT_MSG], format: 'lobster', horizon: parseHorizon('1s'), deadBand: parseDeadBand('0.5'), outDir: join(dir, out),
    sampling: { every: 1, warmupMs: 5000 }, split: [0.6, 0.2, 0.2], dtype: 'float64', logger: silent, ...over,
  };
}

const load = (d: string, f: string) => decodeNpy(readFileSync(join(d, f)));

/** the mid after each message, and the message times, read straight from the LOBSTER files (not through the reader) */
function independentMids(): { t: number; mid: number; type: string }[] {
  const msgs = readFileSync(EXCERPT_MSG, 'utf8').split('\n').filter(Boolean);
  const rows = readFileSync(EXCERPT_OB, 'utf8').split('\n').filter(Boolean);
  return msgs.map((m, i) => {
    const r = rows[i]!.split(',').map(Number);
    const [time, type] = m.split(',');
    return { t: DAY + parseLobsterTime(time!) / 1e6, mid: (r[0]! + r[2]!) / 2, type: type! };
  });
}

describe('dataset from LOBSTER files', () => {
  it('labels each sample by the mid as of t + H read straight from the orderbook file, and splits by time with an embargo', async () => {
    const { meta } = await buildDataset(opts('a'));
    const d = join(dir, 'a');
    const mids = independentMids().filter((m) => m.type !== '5'); // hidden executions change no book
    const midAsOf = (t: number): number => {
      let m = NaN;
      for (const x of mids) if (x.t <= t + 0.0005) m = x.mid;
      return m;
    };
    const last = mids.at(-1)!.t;
    let total = 0;
    let prevEnd = -Infinity;
    for (const split of ['train', 'val', 'test'] as const) {
      const t = load(d, `t_${split}.npy`).data as BigInt64Array;
      const y = load(d, `y_${split}.npy`).data as Int8Array;
      const ret = load(d, `ret_${split}.npy`).data as Float64Array;
      const X = load(d, `X_${split}.npy`);
      expect(X.shape).toEqual([t.length, FEATURE_COUNT]);
      expect(meta.splits[split].samples).toBe(t.length);
      if (t.length > 0) expect(Number(t[0]!) / 1e6).toBeGreaterThanOrEqual(prevEnd + 1000); // the embargo
      for (let i = 0; i < t.length; i++) {
        const ts = Number(t[i]!) / 1e6;
        expect(ts).toBeLessThan(last - 1000); // the horizon ended inside the data
        // the sample's own mid is the one after its update: one of the updates at its time (LOBSTER has
        // several messages per timestamp), and the move is to the mid as of t + H
        // (t_*.npy holds whole microseconds)
        const candidates = mids.filter((m) => Math.abs(m.t - ts) < 0.001).map((m) => Math.log(midAsOf(ts + 1000) / m.mid) * 1e4);
        const move = candidates.find((c) => Math.abs(c - ret[i]!) < 1e-6);
        expect(move, `sample at ${ts}: ret ${ret[i]} is none of ${candidates.join(', ')}`).toBeDefined();
        expect(y[i]).toBe(move! > 0.5 ? 2 : move! < -0.5 ? 0 : 1);
        if (i > 0) expect(ts).toBeGreaterThanOrEqual(Number(t[i - 1]!) / 1e6);
      }
      const classes = { down: 0, flat: 0, up: 0 };
      for (const v of y) classes[(['down', 'flat', 'up'] as const)[v]!]++;
      expect(meta.splits[split].classes).toEqual(classes);
      total += t.length;
      if (t.length > 0) prevEnd = Number(t[t.length - 1]!) / 1e6;
    }
    expect(total + meta.counts.embargoed).toBe(meta.counts.labeled);
    expect(meta.counts.sampled).toBe(meta.counts.labeled + meta.counts.dropped.end + meta.counts.dropped.resync);
    expect(meta.splits.train.samples).toBeGreaterThan(300);
    expect(meta.featureSchema).toEqual({ version: FEATURE_SCHEMA.version, names: FEATURE_SCHEMA.names });
    expect(meta.source.files).toEqual([expect.objectContaining({ name: 'AAPL_2012-06-21_34200000_57600000_message_10.csv', bytes: 40067 })]);
  });

  it('its feature rows are the FeatureEngine’s vectors at the sampled book updates', async () => {
    await buildDataset(opts('b', { split: [1, 0, 0] }));
    const X = load(join(dir, 'b'), 'X_train.npy').data as Float64Array;
    const t = load(join(dir, 'b'), 't_train.npy').data as BigInt64Array;
    // the same reader and engine, driven by hand
    const e = new FeatureEngine();
    const vectors = new Map<string, Float64Array>();
    await readLobster(EXCERPT_MSG, {
      onBook(b, time) {
        e.onBook(b, LOBSTER_INSTRUMENT, time);
        vectors.set(String(BigInt(Math.round(time * 1000)) * 1000n), Float64Array.from(e.values()));
      },
      onTrade(tr, time) {
        e.onTrade(tr, time);
      },
      onUnsynced(time) {
        e.onResync(time);
      },
    });
    expect(t.length).toBeGreaterThan(300);
    for (let i = 0; i < t.length; i++) {
      const want = vectors.get(String(t[i]!))!; // the last book update at that time
      const got = X.subarray(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT);
      if (i + 1 < t.length && t[i + 1] === t[i]) continue; // several updates at one time: only the last is in the map
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
    }
  });

  it('refuses options of the other format', async () => {
    await expect(buildDataset(opts('c', { venue: 'spot' }))).rejects.toThrow(/--venue is for Binance/);
    await expect(buildDataset(opts('c', { format: 'binance', initialBook: EXCERPT_OB }))).rejects.toThrow(/--initial-book is for --format lobster/);
    await expect(buildDataset(opts('c', { symbol: 'MSFT' }))).rejects.toThrow(/the LOBSTER files are AAPL/);
  });
});
