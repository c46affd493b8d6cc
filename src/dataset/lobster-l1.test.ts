import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../test/support/data.js';
import { FEATURE_COUNT, FEATURE_SCHEMA } from '../features/schema.js';
import { buildDataset } from './dataset.js';
import { parseDeadBand, parseHorizon, SPLIT_NAMES } from './labels.js';
import { decodeNpy } from './npy.js';

/** LOBSTER's level-1 sample (AMZN, 2012-06-21, the full session): message file + best bid/ask after each message */
const MSG = resolve(SHARED_DATA, 'lobster-nasdaq-l1/AMZN_2012-06-21_34200000_57600000_message_1.csv');
const OB = resolve(SHARED_DATA, 'lobster-nasdaq-l1/AMZN_2012-06-21_34200000_57600000_orderbook_1.csv');
/** midnight 2012-06-21 in New York (EDT, UTC-4), epoch ms */
const DAY = Date.UTC(2012, 5, 21, 4);
const silent = { info() {}, warn() {}, error() {} };
const dir = mkdtempSync(join(tmpdir(), 'papertape-lobster-l1-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const col = (name: string): number => (FEATURE_SCHEMA.names as readonly string[]).indexOf(name);

describe('a dataset from the LOBSTER level-1 files', () => {
  it('reads every message through the same reader, splits by time, and computes the first rows’ features as by hand', { timeout: 120_000 }, async () => {
    const out = join(dir, 'amzn');
    const { meta } = await buildDataset({
      files: [MSG], format: 'lobster', horizon: parseHorizon('1s'), deadBand: parseDeadBand('0.5'), outDir: out,
      sampling: { every: 1, warmupMs: 0 }, split: [0.7, 0.15, 0.15], dtype: 'float64', logger: silent,
    });

    // the file read straight, not through the reader
    const msgs = readFileSync(MSG, 'utf8').split('\n').filter(Boolean).map((l) => l.split(','));
    const rows = readFileSync(OB, 'utf8').split('\n').filter(Boolean).map((l) => l.split(',').map(Number));
    expect(rows.length).toBe(msgs.length);
    const byType: Record<string, number> = {};
    for (const m of msgs) byType[m[1]!] = (byType[m[1]!] ?? 0) + 1;

    // counts: every message read; a book update per visible message (hidden executions and halts change no book)
    const files = (meta.input as { files: { messages: number; byType: Record<string, number>; trades: number; malformed: number; mode: string }[] }).files;
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ mode: 'orderbook', messages: msgs.length, byType, trades: (byType['4'] ?? 0) + (byType['5'] ?? 0), malformed: 0 });
    const visible = msgs.filter((m) => m[1] !== '5' && m[1] !== '7').length;
    expect(meta.counts.bookUpdates).toBe(visible);
    expect(meta.counts.sampled).toBe(visible); // no warm-up, every update
    expect(meta.counts.sampled).toBe(meta.counts.labeled + meta.counts.dropped.end + meta.counts.dropped.resync);
    const n = SPLIT_NAMES.reduce((s, k) => s + meta.splits[k].samples, 0);
    expect(n + meta.counts.embargoed).toBe(meta.counts.labeled);
    expect(meta.source).toMatchObject({ format: 'lobster', venue: 'nasdaq', symbol: 'AMZN' });

    // the splits: in time order, each after the previous one's horizon (1 s), the times inside the file's
    const first = DAY + Number(msgs[0]![0]) * 1000;
    const last = DAY + Number(msgs.at(-1)![0]) * 1000;
    const load = (f: string) => decodeNpy(readFileSync(join(out, f)));
    let prev = -Infinity;
    for (const s of SPLIT_NAMES) {
      const t = load(`t_${s}.npy`).data as BigInt64Array;
      expect(t.length).toBe(meta.splits[s].samples);
      expect(t.length).toBeGreaterThan(1000);
      const ms = Array.from(t, (v) => Number(v) / 1e6);
      expect(ms[0]!).toBeGreaterThanOrEqual(prev + 1000);
      for (let i = 1; i < ms.length; i++) expect(ms[i]!).toBeGreaterThanOrEqual(ms[i - 1]!);
      expect(ms[0]!).toBeGreaterThanOrEqual(first - 0.001);
      expect(ms.at(-1)!).toBeLessThanOrEqual(last - 1000);
      prev = ms.at(-1)!;
    }

    // the first samples, by hand from the first rows: message 1 is a hidden execution (a trade, no book),
    // message 2 the first book: row i = ask price, ask size, bid price, bid size (price × 10^4; tick 100)
    const X = load('X_train.npy');
    expect(X.shape[1]).toBe(FEATURE_COUNT);
    const x = X.data as Float64Array;
    const t = load('t_train.npy').data as BigInt64Array;
    expect(msgs[0]![1]).toBe('5');
    for (let k = 0; k < 3; k++) {
      const m = msgs[k + 1]!;
      expect(m[1]).not.toBe('5');
      const [a, qa, b, qb] = rows[k + 1]! as [number, number, number, number];
      const mid = (a + b) / 2;
      const micro = (b * qa + a * qb) / (qb + qa);
      const row = x.subarray(k * FEATURE_COUNT, (k + 1) * FEATURE_COUNT);
      expect(Number(t[k]!) / 1e6).toBeCloseTo(DAY + Number(m[0]) * 1000, 3);
      expect(row[col('imb_l1')]).toBeCloseTo((qb - qa) / (qb + qa), 12);
      expect(row[col('imb_l5')]).toBeCloseTo((qb - qa) / (qb + qa), 12); // one level per side in an L1 file
      expect(row[col('wimb_l3')]).toBeCloseTo((qb - qa) / (qb + qa), 12);
      expect(row[col('spread_ticks')]).toBeCloseTo((a - b) / 100, 12);
      expect(row[col('spread_bp')]).toBeCloseTo(((a - b) / mid) * 1e4, 9);
      expect(row[col('microprice_offset_ticks')]).toBeCloseTo((micro - mid) / 100, 9);
      expect(row[col('microprice_offset_bp')]).toBeCloseTo(((micro - mid) / mid) * 1e4, 9);
    }
    // the hidden execution of a sell order (direction -1) 0.17 s before the first book: a buy, all the 1 s volume
    expect(msgs[0]![5]).toBe('-1');
    expect(x[col('trade_imb_1s')]).toBe(1);
    // no return yet at the first book
    expect(Number.isNaN(x[col('ret_1s')]!)).toBe(true);
  });
});
