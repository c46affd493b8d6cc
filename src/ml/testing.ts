import { FEATURE_COUNT, FEATURE_SCHEMA } from '../features/schema.js';
import { InferenceTimer, type Model, type ModelSidecar } from './model.js';

/**
 * A stand-in Model for tests of the gate and the strategies: it answers fixed (or computed) probabilities
 * and keeps a copy of the last input it was given.
 */
export function fakeModel(opts: { probs?: [number, number, number]; k?: number; warmupMs?: number; answer?: (x: Float32Array) => [number, number, number] } = {}): Model & { lastInput: Float32Array | null; calls: number } {
  const k = opts.k ?? 1;
  const names = [...FEATURE_SCHEMA.names];
  const used = names.slice(0, 14); // the book features: defined at every valid book
  const sidecar = {
    format: 'papertape-model', formatVersion: 1, name: 'fake', kind: k > 1 ? 'sequence' : 'tree-ensemble', file: 'model.onnx', sha256: '0'.repeat(64),
    input: { name: 'input', dtype: 'float32', shape: k > 1 ? ['N', k, FEATURE_COUNT] : ['N', FEATURE_COUNT] },
    output: { name: 'probabilities', dtype: 'float32', shape: ['N', 3] },
    featureSchema: { version: FEATURE_SCHEMA.version, names }, features: { used, leftOut: [] },
    ...(k > 1 ? { sequenceLength: k } : {}), classes: ['down', 'flat', 'up'], horizon: { text: '5s' },
    trainedOn: { venue: 'spot', symbol: 'BTCUSDT', sampling: { warmupMs: opts.warmupMs ?? 0 } }, parity: 'parity.json',
  } as unknown as ModelSidecar;
  const m = {
    name: 'fake', kind: sidecar.kind, id: 'fake@00000000', dir: '.', sidecar, sequenceLength: k,
    used: Int32Array.from(used.map((_, i) => i)), warmupMs: opts.warmupMs ?? 0, engine: 'fake', timer: new InferenceTimer(),
    lastInput: null as Float32Array | null, calls: 0,
    predict(input: Float32Array, out: Float64Array): void {
      m.calls++;
      m.lastInput = input.slice();
      const p = opts.answer ? opts.answer(input) : opts.probs ?? [1 / 3, 1 / 3, 1 / 3];
      out[0] = p[0];
      out[1] = p[1];
      out[2] = p[2];
      m.timer.record(1000);
    },
  };
  return m;
}
