import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordModelLatency } from './latency.js';
import { loadModel, resolveModelPath } from './model.js';

const MODELS = resolve(import.meta.dirname, '../../models');
const dir = mkdtempSync(join(tmpdir(), 'papertape-latency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('papertape model-latency', () => {
  it.each(['gbdt-hgb', 'lstm'])('measures %s on the path the gate uses and records it in model.json, the rest of the file unchanged', (name) => {
    const d = join(dir, name);
    mkdirSync(d);
    for (const f of ['model.onnx', 'model.json', 'parity.json']) copyFileSync(join(MODELS, name, f), join(d, f));
    const before = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')) as Record<string, unknown>;
    const r = recordModelLatency(d, { warmup: 20, calls: 500, now: new Date(Date.UTC(2026, 0, 2)) });
    const after = JSON.parse(readFileSync(join(d, 'model.json'), 'utf8')) as Record<string, unknown>;
    const { latency, ...rest } = after;
    const { latency: _old, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    expect(latency).toEqual(r.latency);
    expect(r.latency).toMatchObject({ calls: 500, date: '2026-01-02', node: process.version });
    expect(r.latency.p50Us).toBeGreaterThan(0);
    expect(r.latency.p99Us).toBeGreaterThanOrEqual(r.latency.p50Us);
    expect(r.latency.maxUs).toBeGreaterThanOrEqual(r.latency.p99Us);
    expect(r.latency.engine).toMatch(name === 'lstm' ? /onnxruntime/ : /compiled JS trees/);
    // the sidecar still checks out: its sha256 covers model.onnx, and the schema takes the latency
    expect(loadModel(d, { verifyWithOnnxRuntime: false }).sidecar.latency?.p50Us).toBe(r.latency.p50Us);
    // written in train.py's layout (json.dump indent=1)
    expect(readFileSync(join(d, 'model.json'), 'utf8')).toBe(`${JSON.stringify(after, null, 1)}\n`);
  });

  it('finds the shipped models from the package root when the working directory has no models/', () => {
    expect(resolveModelPath('models/gbdt-xgb', dir)).toBe(join(MODELS, 'gbdt-xgb'));
    expect(resolveModelPath('models/gbdt-xgb')).toBe(join(MODELS, 'gbdt-xgb'));
    // a relative path that exists in the working directory wins
    expect(resolveModelPath('gbdt-hgb', dir)).toBe(join(dir, 'gbdt-hgb'));
    expect(resolveModelPath(join(MODELS, 'cnn'))).toBe(join(MODELS, 'cnn'));
  });
});
