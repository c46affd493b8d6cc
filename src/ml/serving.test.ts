import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines, SPOT_FILES, USDM_BTC } from '../../test/support/data.js';
import { loadConfig } from '../config/config.js';
import { buildDataset } from '../dataset/dataset.js';
import { parseDeadBand, parseHorizon } from '../dataset/labels.js';
import { decodeNpy } from '../dataset/npy.js';
import { runBacktest } from '../engine/offline.js';
import { FEATURE_COUNT, FEATURE_SCHEMA, FUTURES_FEATURES } from '../features/schema.js';
import { MlGate } from './gate.js';
import { loadModelCached, resolveModelPath, type Model } from './model.js';

const MODEL = resolveModelPath('models/gbdt-xgb');
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'papertape-serving-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The sample recordings have no futures streams: a USD-M BTCUSDT recording (in the recorder's format, in a
 * temporary directory) of `markPrice@1s` derived from the recorded USD-M book ticker (mark = mid + 0.5,
 * index = mid, a funding rate that changes every few seconds) and a `forceOrder` every 7 s, alternating
 * sides, so the futures features have values in both paths.
 */
async function futuresRecording(): Promise<string> {
  const out: string[] = [];
  let second = -1;
  let n = 0;
  for (const l of await readLines(USDM_BTC)) {
    if (!l.text.startsWith('{"stream":"btcusdt@bookTicker"')) continue;
    const ms = Number(l.recvNs / 1_000_000n);
    const sec = Math.floor(ms / 1000);
    if (sec === second) continue;
    second = sec;
    const d = (JSON.parse(l.text) as { data: { b: string; a: string } }).data;
    const mid = (Number(d.b) + Number(d.a)) / 2;
    const ns = l.recvNs + 1000n; // a microsecond after the ticker it derives from
    const E = ms + 1270;
    const funding = (0.0001 + (sec % 5) * 0.000004).toFixed(8);
    out.push(`${ns} ${JSON.stringify({ stream: 'btcusdt@markPrice@1s', data: { e: 'markPriceUpdate', E, s: 'BTCUSDT', p: (mid + 0.5).toFixed(2), i: mid.toFixed(2), P: mid.toFixed(2), r: funding, T: 1723190400000 } })}`);
    if (n++ % 7 === 3) {
      const side = n % 2 === 0 ? 'BUY' : 'SELL';
      const o = { s: 'BTCUSDT', S: side, o: 'LIMIT', f: 'IOC', q: '0.015', p: mid.toFixed(2), ap: mid.toFixed(2), X: 'FILLED', l: '0.015', z: '0.015', T: E };
      out.push(`${ns + 1000n} ${JSON.stringify({ stream: 'btcusdt@forceOrder', data: { e: 'forceOrder', E, o } })}`);
    }
  }
  const file = join(dir, 'usdm-futures', 'btcusdt_20240808.gz');
  rmSync(join(dir, 'usdm-futures'), { recursive: true, force: true });
  mkdirSync(join(dir, 'usdm-futures'));
  writeFileSync(file, gzipSync(`${out.join('\n')}\n`));
  return file;
}

const toNs = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

describe('serving equals training', () => {
  it('the gate computes at its decision times the very vectors the dataset export computes at the same times, futures features included', { timeout: 240_000 }, async () => {
    const files = [...SPOT_FILES, USDM_BTC, await futuresRecording()];

    // training: papertape dataset over spot BTCUSDT with the USD-M data, every book update after 60 s
    const out = join(dir, 'ds');
    await buildDataset({
      files, format: 'binance', venue: 'spot', symbol: 'BTCUSDT', horizon: parseHorizon('1e'), deadBand: parseDeadBand('0'), outDir: out,
      sampling: { every: 1, warmupMs: 60_000 }, split: [1, 0, 0], dtype: 'float32', logger,
    });
    const X = decodeNpy(readFileSync(join(out, 'X_train.npy')));
    const T = decodeNpy(readFileSync(join(out, 't_train.npy'))).data as BigInt64Array;
    const xs = X.data as Float32Array;
    expect(X.shape).toEqual([T.length, FEATURE_COUNT]);
    const byTime = new Map<bigint, number[]>();
    for (let i = 0; i < T.length; i++) {
      const list = byTime.get(T[i]!);
      if (list) list.push(i);
      else byTime.set(T[i]!, [i]);
    }

    // serving: a backtest of the same files with the shipped model; every vector the gate hands the model
    const model = loadModelCached(MODEL) as Model & { predict: Model['predict'] };
    const predict = model.predict;
    const check = MlGate.prototype.check;
    const seen: { t: number; x: Float32Array }[] = [];
    let at = NaN;
    MlGate.prototype.check = function (this: MlGate, symbol, dir, t) {
      at = t;
      return check.call(this, symbol, dir, t);
    };
    model.predict = (x, o) => {
      seen.push({ t: at, x: x.slice() });
      predict.call(model, x, o);
    };
    try {
      await runBacktest(files, { config: loadConfig({ MODEL_PATH: MODEL, SHABBAT_PAUSE: 'false' }), tradeVenueSet: false, seed: 1, database: join(dir, 'bt.db'), logger });
    } finally {
      model.predict = predict;
      MlGate.prototype.check = check;
    }
    expect(seen.length).toBeGreaterThan(500);

    const same = (a: number, b: number): boolean => Object.is(a, b) || (a !== a && b !== b);
    const futures = FUTURES_FEATURES.map((n) => (FEATURE_SCHEMA.names as readonly string[]).indexOf(n));
    let matched = 0;
    let withFutures = 0;
    const unmatched: string[] = [];
    for (const s of seen) {
      const rows = byTime.get(toNs(s.t));
      if (!rows) {
        unmatched.push(new Date(s.t).toISOString());
        continue;
      }
      const equal = rows.some((r) => {
        for (let k = 0; k < FEATURE_COUNT; k++) if (!same(s.x[k]!, xs[r * FEATURE_COUNT + k]!)) return false;
        return true;
      });
      if (!equal) {
        const r = rows.at(-1)!;
        const diff = FEATURE_SCHEMA.names.map((n, k) => [n, s.x[k], xs[r * FEATURE_COUNT + k]] as const).filter(([, a, b]) => !same(a!, b!));
        expect.fail(`at ${new Date(s.t).toISOString()} the gate's vector differs from the dataset's: ${JSON.stringify(diff)}`);
      }
      matched++;
      if (futures.filter((k) => k !== (FEATURE_SCHEMA.names as readonly string[]).indexOf('oi_change_5m_bp')).every((k) => !Number.isNaN(s.x[k]!))) withFutures++;
    }
    // every decision has its sample, but for the last book update (no label: the horizon runs past the data)
    expect(unmatched.length, unmatched.join(', ')).toBeLessThanOrEqual(1);
    expect(matched).toBe(seen.length - unmatched.length);
    // funding, mark basis and liquidations are defined in the vectors of both (open interest only comes from REST polls)
    expect(withFutures).toBeGreaterThan(matched * 0.9);
  });
});
