import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FEATURE_COUNT } from '../features/schema.js';
import { InferenceTimer, loadModel, PARITY_TOLERANCE } from './model.js';
import { parseOnnx } from './onnx.js';
import { OrtSession, ortInfo, runInChildProcess } from './ort.js';
import { CompiledTreeEnsemble, treeEnsembleSpec } from './trees.js';

const MODELS = resolve(import.meta.dirname, '../../models');
const SHIPPED = ['gbdt-xgb', 'gbdt-hgb', 'cnn', 'lstm'];

interface ParityFile {
  inputShape: number[];
  inputs: string;
  probabilities: number[][];
}
function parity(name: string): { shape: number[]; x: Float32Array; expected: number[][] } {
  const p = JSON.parse(readFileSync(join(MODELS, name, 'parity.json'), 'utf8')) as ParityFile;
  const b = Buffer.from(p.inputs, 'base64');
  const x = new Float32Array(b.length / 4);
  for (let i = 0; i < x.length; i++) x[i] = b.readFloatLE(i * 4);
  return { shape: p.inputShape, x, expected: p.probabilities };
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!), Number.isNaN(a[i]! - b[i]!) ? Infinity : 0);
  return m;
}

describe('onnxruntime-node', () => {
  it('runs the CPU binaries bundled in the npm package', () => {
    const info = ortInfo();
    expect(info.binary).toMatch(/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/onnxruntime_binding\.node$/);
    expect(info.backends).toContainEqual({ name: 'cpu', bundled: true });
  });
});

describe.each(SHIPPED)('shipped model %s', (name) => {
  const dir = join(MODELS, name);
  const { shape, x, expected } = parity(name);
  const rows = shape[0]!;

  it('parity: onnxruntime in Node gives the Python model probabilities within 1e-5', () => {
    const s = new OrtSession(join(dir, 'model.onnx'));
    const out = s.run(x, shape, 'probabilities');
    s.dispose();
    expect(out.length).toBe(rows * 3);
    expect(rows).toBeGreaterThanOrEqual(40);
    expect(maxAbs(out, expected.flat())).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });

  it('loads with its feature schema checked, and predicts the Python probabilities within 1e-5', () => {
    const m = loadModel(dir);
    expect(m.name).toBe(name);
    expect(m.sidecar.featureSchema.names.length).toBe(FEATURE_COUNT);
    const n = m.sequenceLength * FEATURE_COUNT;
    const out = new Float64Array(3);
    let worst = 0;
    for (let r = 0; r < rows; r++) {
      m.predict(x.subarray(r * n, (r + 1) * n), out);
      worst = Math.max(worst, maxAbs(out, expected[r]!));
    }
    expect(worst).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(m.timer.count).toBe(rows);
    // futures features are NaN in every recording: left out, declared so
    expect(m.sidecar.features.leftOut.map((f) => f.name)).toContain('funding_rate_bp');
  });
});

describe.each(['gbdt-xgb', 'gbdt-hgb'])('compiled trees of %s', (name) => {
  it('equal onnxruntime on perturbed rows with many missing values', () => {
    const dir = join(MODELS, name);
    const spec = treeEnsembleSpec(parseOnnx(readFileSync(join(dir, 'model.onnx'))).nodes[0]!);
    const c = new CompiledTreeEnsemble(spec);
    const { x } = parity(name);
    // 2000 rows: parity rows scaled and shifted, 30% NaN, some ±Infinity
    const n = 2000;
    const rows = new Float32Array(n * FEATURE_COUNT);
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let r = 0; r < n; r++) {
      const src = (r % (x.length / FEATURE_COUNT)) * FEATURE_COUNT;
      for (let i = 0; i < FEATURE_COUNT; i++) {
        const u = rnd();
        rows[r * FEATURE_COUNT + i] = u < 0.3 ? NaN : u < 0.32 ? (rnd() < 0.5 ? Infinity : -Infinity) : x[src + i]! * (0.5 + rnd()) + (rnd() - 0.5);
      }
    }
    const s = new OrtSession(join(dir, 'model.onnx'));
    const ort = s.run(rows, [n, FEATURE_COUNT], 'probabilities');
    s.dispose();
    const out = new Float64Array(3);
    let worst = 0;
    for (let r = 0; r < n; r++) {
      c.predict(rows, r * FEATURE_COUNT, out);
      worst = Math.max(worst, maxAbs(out, ort.subarray(r * 3, r * 3 + 3)));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});

describe('the load-time check against onnxruntime', () => {
  it('runs onnxruntime in a child process: a tree-ensemble model leaves its native library out of this one', () => {
    // a fresh node (this worker may have loaded onnxruntime for other tests): load gbdt-xgb, then read the maps
    const probe = `const { loadModel } = await import(${JSON.stringify(resolve(import.meta.dirname, '../../dist/src/ml/model.js'))});
      const m = loadModel(${JSON.stringify(join(MODELS, 'gbdt-xgb'))});
      const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
      process.stdout.write(JSON.stringify({ engine: m.engine, ort: maps.includes('libonnxruntime') }));`;
    const r = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' })) as { engine: string; ort: boolean };
    expect(r.engine).toMatch(/compiled JS .* checked against onnxruntime \(max diff/);
    expect(r.ort).toBe(false);
  });

  it('gives the same probabilities in the child process as in this one, missing values (NaN) included', () => {
    const { shape, x } = parity('gbdt-xgb');
    const rows = shape[0]!;
    const withNaN = x.slice();
    for (let i = 0; i < withNaN.length; i += 5) withNaN[i] = NaN;
    const s = new OrtSession(join(MODELS, 'gbdt-xgb', 'model.onnx'));
    try {
      for (const input of [x, withNaN]) expect(Array.from(runInChildProcess(s.path, input, [rows, FEATURE_COUNT], 'probabilities'))).toEqual(Array.from(s.run(input, [rows, FEATURE_COUNT], 'probabilities')));
    } finally {
      s.dispose();
    }
  });

  it('says why when the child cannot run the model', () => {
    expect(() => runInChildProcess('/nonexistent/model.onnx', new Float32Array(FEATURE_COUNT), [1, FEATURE_COUNT], 'probabilities')).toThrow(/onnxruntime could not load \/nonexistent\/model\.onnx/);
  });
});

describe('loading a model that does not fit', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'papertape-model-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const copy = (name: string, edit: (sidecar: Record<string, unknown>) => void): string => {
    const d = join(tmp, `${name}-${Math.random().toString(36).slice(2)}`);
    cpSync(join(MODELS, name), d, { recursive: true });
    const sc = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')) as Record<string, unknown>;
    edit(sc);
    writeFileSync(join(d, 'model.json'), JSON.stringify(sc));
    return d;
  };

  it.each([
    ['another feature order', (sc: Record<string, unknown>) => {
      const fs = sc['featureSchema'] as { names: string[] };
      [fs.names[0], fs.names[1]] = [fs.names[1]!, fs.names[0]!];
    }, /does not fit this build's features: feature 0: model expects imb_l3, this build computes imb_l1/],
    ['another schema version', (sc: Record<string, unknown>) => void ((sc['featureSchema'] as { version: string }).version = '0'), /trained on feature schema version 0/],
    ['a used feature this build does not have', (sc: Record<string, unknown>) => void (sc['features'] as { used: string[] }).used.push('vpin_1m'), /feature vpin_1m \(used\) is not in feature schema/],
    ['a sidecar of another file', (sc: Record<string, unknown>) => void (sc['sha256'] = 'a'.repeat(64)), /sha256 [0-9a-f]{64}, the sidecar declares a{64} \(the sidecar belongs to another file\)/],
    ['other classes', (sc: Record<string, unknown>) => void (sc['classes'] = ['up', 'flat', 'down']), /classes/],
    ['a missing field', (sc: Record<string, unknown>) => void delete sc['featureSchema'], /featureSchema/],
  ])('refuses %s with a clear message', (_what, edit, message) => {
    expect(() => loadModel(copy('gbdt-xgb', edit))).toThrow(message);
  });

  it('refuses parity rows the model does not reproduce', () => {
    const d = copy('gbdt-hgb', () => {});
    const p = JSON.parse(readFileSync(join(d, 'parity.json'), 'utf8')) as ParityFile;
    p.probabilities[3]![0]! += 1e-3;
    writeFileSync(join(d, 'parity.json'), JSON.stringify(p));
    expect(() => loadModel(d)).toThrow(/differ from the Python model's probabilities by 0\.00[0-9]+/);
  });

  it('says where the sidecar should be', () => {
    expect(() => loadModel(join(tmp, 'nowhere'))).toThrow(/no model\.json/);
  });
});

describe('InferenceTimer', () => {
  it('reports percentiles in microseconds', () => {
    const t = new InferenceTimer();
    expect(t.summary()).toMatchObject({ count: 0, p50Us: null });
    for (let i = 1; i <= 100; i++) t.record(i * 1000);
    const s = t.summary();
    expect(s.count).toBe(100);
    expect(s.p50Us).toBeCloseTo(50, 0);
    expect(s.p99Us).toBeCloseTo(99, 0);
    expect(s.maxUs).toBe(100);
    expect(s.meanUs).toBeCloseTo(50.5, 6);
  });
});
