import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy } from '../src/dataset/npy.js';
import { FEATURE_COUNT, FEATURE_SCHEMA, FUTURES_FEATURES } from '../src/features/schema.js';
import { readLines, SHARED_DATA, SPOT_FILES, USDM_BTC, USDM_ETH } from './support/data.js';
import { papertape } from './support/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-dataset-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dataset(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = papertape(['dataset', ...args]);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

async function datasetJson(args: string[]): Promise<Record<string, any>> {
  const r = await dataset([...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>;
}

const npy = (d: string, f: string) => decodeNpy(readFileSync(join(d, f)));
const SPLITS = ['train', 'val', 'test'] as const;

describe('papertape dataset', () => {
  it('gives byte-identical files for the same inputs', async () => {
    const a = join(dir, 'same-a');
    const b = join(dir, 'same-b');
    const [ra, rb] = await Promise.all([dataset([...SPOT_FILES, '--horizon', '5s', '--out', a]), dataset([...SPOT_FILES, '--horizon', '5s', '--out', b])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    const files = readdirSync(a).sort();
    expect(files).toEqual(['X_test.npy', 'X_train.npy', 'X_val.npy', 'meta.json', 'ret_test.npy', 'ret_train.npy', 'ret_val.npy', 't_test.npy', 't_train.npy', 't_val.npy', 'y_test.npy', 'y_train.npy', 'y_val.npy']);
    expect(readdirSync(b).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
    expect(ra.stdout).toMatch(/dataset spot:BTCUSDT {2}horizon 5s {2}dead band auto = [\d.]+ bp/);
    expect(ra.stdout).toMatch(/train +\d+ +down +[\d.]+% +flat +[\d.]+% +up +[\d.]+%/);
  }, 60_000);

  it('writes labeled USD-M samples: time-ordered splits with an embargo, labels that match the moves, finite features after the warm-up', async () => {
    const out = join(dir, 'usdm');
    // the ETH file is there too: only BTCUSDT is sampled
    const meta = await datasetJson([USDM_BTC, USDM_ETH, '--venue', 'usdm', '--symbol', 'btcusdt', '--horizon', '5s', '--dead-band', '0.5', '--out', out]);
    expect(meta['source']).toMatchObject({ format: 'binance', venue: 'usdm', symbol: 'BTCUSDT' });
    expect(meta['featureSchema']).toEqual({ version: FEATURE_SCHEMA.version, names: [...FEATURE_SCHEMA.names] });
    expect(meta['deadBand']).toEqual({ value: 0.5, unit: 'bp' });
    const spread = FEATURE_SCHEMA.names.indexOf('spread_ticks');
    const futures = new Set(FUTURES_FEATURES.map((n) => FEATURE_SCHEMA.names.indexOf(n)));
    let prevEnd = -Infinity;
    let total = 0;
    const firstTime = meta['input']['firstTime'] as number;
    for (const s of SPLITS) {
      const X = npy(out, `X_${s}.npy`);
      const y = npy(out, `y_${s}.npy`).data as Int8Array;
      const t = npy(out, `t_${s}.npy`).data as BigInt64Array;
      const ret = npy(out, `ret_${s}.npy`).data as Float64Array;
      expect(X.dtype).toBe('<f4');
      expect(X.shape).toEqual([y.length, FEATURE_COUNT]);
      expect(t.length).toBe(y.length);
      expect(y.length).toBeGreaterThan(300);
      const x = X.data as Float32Array;
      const counts = [0, 0, 0];
      const problems: string[] = [];
      for (let i = 0; i < y.length; i++) {
        const ms = Number(t[i]!) / 1e6;
        if (i === 0 && !(ms >= prevEnd + 5000)) problems.push(`${s} starts ${ms - prevEnd} ms after the previous split`);
        if (i > 0 && t[i]! < t[i - 1]!) problems.push(`${s} ${i}: time goes back`);
        if (ms < firstTime + 60_000) problems.push(`${s} ${i}: inside the warm-up`);
        const want = ret[i]! > 0.5 ? 2 : ret[i]! < -0.5 ? 0 : 1;
        if (y[i] !== want) problems.push(`${s} ${i}: label ${y[i]} for a move of ${ret[i]} bp`);
        counts[y[i]!]!++;
        for (let k = 0; k < FEATURE_COUNT; k++) {
          const v = x[i * FEATURE_COUNT + k]!;
          if (futures.has(k) ? !Number.isNaN(v) : !Number.isFinite(v)) problems.push(`${s} ${i}: ${FEATURE_SCHEMA.names[k]} = ${v}`);
        }
        if (!(x[i * FEATURE_COUNT + spread]! >= 1)) problems.push(`${s} ${i}: spread ${x[i * FEATURE_COUNT + spread]} ticks`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
      expect(meta['splits'][s]).toMatchObject({ samples: y.length, classes: { down: counts[0], flat: counts[1], up: counts[2] } });
      prevEnd = Number(t[t.length - 1]!) / 1e6;
      total += y.length;
    }
    const c = meta['counts'];
    expect(total + c.embargoed).toBe(c.labeled);
    expect(c.sampled).toBe(c.labeled + c.dropped.end + c.dropped.resync);
    expect(c.dropped.resync).toBe(0);
    expect(c.dropped.end).toBeGreaterThan(0);
    expect(c.withNaN).toBe(0);
  }, 60_000);

  it('samples every book update the live engine sees: one per depth diff applied after the snapshot', async () => {
    const out = join(dir, 'every');
    const meta = await datasetJson([USDM_BTC, '--horizon', '1e', '--warmup', '0', '--split', '1,0,0', '--out', out]);
    // independently: the diffs received after the REST snapshot line (each is applied on a synced book)
    const lines = await readLines(USDM_BTC);
    const snap = lines.findIndex((l) => l.text.startsWith('{"lastUpdateId"'));
    const id = (JSON.parse(lines[snap]!.text) as { lastUpdateId: number }).lastUpdateId;
    const applied = lines.slice(snap + 1).filter((l) => l.text.includes('@depth') && (JSON.parse(l.text) as { data: { u: number } }).data.u >= id).length;
    expect(meta['counts']['bookUpdates']).toBe(applied);
    expect(meta['counts']['sampled']).toBe(applied);
    expect(meta['counts']['dropped']['end']).toBe(1); // the last update has no next one
    expect(meta['splits']['train']['samples']).toBe(applied - 1);
  }, 60_000);

  it('takes every n-th update, or one per interval of data time', async () => {
    const [every, interval] = await Promise.all([
      datasetJson([USDM_BTC, '--horizon', '1e', '--warmup', '0', '--every', '10', '--split', '1,0,0', '--out', join(dir, 'n10')]),
      datasetJson([USDM_BTC, '--horizon', '1e', '--warmup', '0', '--interval-ms', '1000', '--split', '1,0,0', '--out', join(dir, 'i1000')]),
    ]);
    expect(every['counts']['sampled']).toBe(Math.ceil(every['counts']['bookUpdates'] / 10));
    const t = npy(join(dir, 'i1000'), 't_train.npy').data as BigInt64Array;
    const seconds = new Set(Array.from(t, (v) => Math.floor(Number(v) / 1e9)));
    expect(seconds.size).toBe(t.length); // at most one sample per second
    expect(interval['counts']['sampled']).toBeGreaterThan(300);
  }, 60_000);

  it('reads LOBSTER message files without an orderbook file by rebuilding the book from the orders', async () => {
    const file = resolve(SHARED_DATA, 'lobster-aapl-1h-messages/AAPL_2012-06-21_34200000_37800000_message_50.csv');
    const meta = await datasetJson(['--format', 'lobster', file, '--horizon', '5s', '--every', '20', '--out', join(dir, 'lobster')]);
    expect(meta['source']).toMatchObject({ format: 'lobster', venue: 'nasdaq', symbol: 'AAPL', instrument: { tickSize: 0.01 } });
    expect(meta['input']['files'][0]).toMatchObject({ mode: 'messages', seeded: false, messages: 91_997 });
    expect(meta['splits']['train']['samples']).toBeGreaterThan(2000);
    const c = meta['splits']['train']['classes'];
    expect(Math.min(c.down, c.flat, c.up)).toBeGreaterThan(meta['splits']['train']['samples'] * 0.25); // auto band: about a third flat
  }, 60_000);

  it('reports bad input clearly', async () => {
    const cases: [string[], number, RegExp][] = [
      [[USDM_BTC, '--horizon', '5x', '--out', join(dir, 'x')], 2, /--horizon 5x/],
      [[USDM_BTC, '--horizon', '5s', '--out', join(dir, 'x'), '--dead-band', 'wide'], 2, /--dead-band wide/],
      [[USDM_BTC, '--horizon', '5s', '--out', join(dir, 'x'), '--every', '5', '--interval-ms', '100'], 2, /exclude each other/],
      [[USDM_BTC, '--horizon', '5s', '--out', join(dir, 'x'), '--split', '0.5,0.5'], 2, /--split/],
      [[USDM_BTC, '--horizon', '5s', '--out', join(dir, 'x'), '--venue', 'coinbase'], 2, /venue/],
      [[USDM_BTC, '--out', join(dir, 'x')], 2, /--horizon/],
      [[join(dir, 'nope.gz'), '--horizon', '5s', '--out', join(dir, 'x')], 1, /nope\.gz: no such file/],
      [[USDM_BTC, USDM_ETH, '--horizon', '5s', '--out', join(dir, 'x')], 1, /several usdm symbols \(BTCUSDT, ETHUSDT\)/],
      [[USDM_BTC, '--venue', 'spot', '--horizon', '5s', '--out', join(dir, 'x')], 1, /no spot data/],
    ];
    const results = await Promise.all(cases.map(([args]) => dataset(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(cases[i]![1]);
      expect(r.stderr).toMatch(cases[i]![2]);
    });
  }, 60_000);
});
