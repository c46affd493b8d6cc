import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FEATURE_COUNT } from '../src/features/schema.js';
import { InferenceTimer, loadModel } from '../src/ml/model.js';
import { OrtSession } from '../src/ml/ort.js';

export interface MlBenchModel {
  model: string;
  kind: string;
  engine: string;
  calls: number;
  /** one decision's inference (Model.predict, as the gate calls it), timed call by call, µs */
  latencyUs: { p50: number | null; p90: number | null; p99: number | null; max: number | null; mean: number | null };
  /** mean over a tight loop without per-call timers, ns per call */
  nsPerCallLoop: number;
  /** tree ensembles: the same rows through onnxruntime one at a time (what the compiled evaluator replaces), µs */
  onnxruntimeUs?: { p50: number | null; p99: number | null };
}

export interface MlBenchResult {
  name: string;
  models: MlBenchModel[];
}

const MODELS_DIR = resolve(import.meta.dirname, '..', '..', 'models');
const NAMES = ['gbdt-xgb', 'gbdt-hgb', 'cnn', 'lstm'];

function parityRows(dir: string): { rows: number; x: Float32Array } {
  const p = JSON.parse(readFileSync(join(dir, 'parity.json'), 'utf8')) as { inputShape: number[]; inputs: string };
  const b = Buffer.from(p.inputs, 'base64');
  const x = new Float32Array(b.length / 4);
  for (let i = 0; i < x.length; i++) x[i] = b.readFloatLE(i * 4);
  return { rows: p.inputShape[0]!, x };
}

/**
 * Inference latency of every shipped model on its stored parity rows (real test-split feature vectors),
 * one row per call as in the decision path: p50/p99 of per-call times (each includes ~30-50 ns of
 * performance.now()), and the loop mean without timers. Tree ensembles also run through onnxruntime row by
 * row for comparison.
 */
export async function benchMl(calls = 20_000): Promise<MlBenchResult> {
  const out: MlBenchModel[] = [];
  for (const name of NAMES) {
    const dir = join(MODELS_DIR, name);
    const m = loadModel(dir);
    const { rows, x } = parityRows(dir);
    const n = m.sequenceLength * FEATURE_COUNT;
    const inputs = Array.from({ length: rows }, (_, r) => x.slice(r * n, (r + 1) * n));
    const probs = new Float64Array(3);
    const k = m.kind === 'sequence' ? Math.max(500, Math.floor(calls / 10)) : calls;
    for (let i = 0; i < Math.min(k, 2000); i++) m.predict(inputs[i % rows]!, probs); // warm-up (JIT, onnxruntime arenas)
    const fresh = new InferenceTimer();
    // timed call by call through the model's own timer
    const before = m.timer.count;
    for (let i = 0; i < k; i++) m.predict(inputs[i % rows]!, probs);
    if (m.timer.count - before !== k) throw new Error('timer did not count every call');
    // the model's timer also holds the warm-up: time again into a fresh one for the report
    for (let i = 0; i < k; i++) {
      const t0 = performance.now();
      m.predict(inputs[i % rows]!, probs);
      fresh.record((performance.now() - t0) * 1e6);
    }
    const t0 = performance.now();
    for (let i = 0; i < k; i++) m.predict(inputs[i % rows]!, probs);
    const loopNs = ((performance.now() - t0) * 1e6) / k;
    const s = fresh.summary();
    const entry: MlBenchModel = {
      model: m.id,
      kind: m.kind,
      engine: m.engine,
      calls: k,
      latencyUs: { p50: s.p50Us, p90: s.p90Us, p99: s.p99Us, max: s.maxUs, mean: s.meanUs },
      nsPerCallLoop: Math.round(loopNs),
    };
    if (m.kind === 'tree-ensemble') {
      const ort = new OrtSession(join(dir, 'model.onnx'));
      const row = new Float32Array(FEATURE_COUNT);
      const tensor = ort.tensor(row, [1, FEATURE_COUNT]);
      const t = new InferenceTimer();
      const ok = 2000;
      for (let i = 0; i < ok; i++) {
        row.set(inputs[i % rows]!);
        const a = performance.now();
        ort.runTensor(tensor, 'probabilities');
        if (i >= 200) t.record((performance.now() - a) * 1e6);
      }
      ort.dispose();
      const ts = t.summary();
      entry.onnxruntimeUs = { p50: ts.p50Us, p99: ts.p99Us };
    }
    out.push(entry);
  }
  return { name: 'ml-inference', models: out };
}
