import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, type Histogram } from 'hdr-histogram-js';
import { z } from 'zod';
import { checkFeatureSchema, FEATURE_COUNT, FEATURE_SCHEMA } from '../features/schema.js';
import { parseOnnx } from './onnx.js';
import { OrtSession, runInChildProcess } from './ort.js';
import { CompiledTreeEnsemble, treeEnsembleSpec } from './trees.js';
import { packageRoot } from '../core/package-root.js';

/**
 * A trained model as shipped under models/<name>/: `model.onnx`, the sidecar `model.json` (what the model
 * reads and predicts) and `parity.json` (inputs and the Python model's probabilities). `loadModel` checks
 * everything at start and throws with a message that names the problem; a model that loads computes the
 * same probabilities as the Python model that was trained, on this build's feature vector.
 *
 * - tree ensembles (`kind: tree-ensemble`): the TreeEnsembleClassifier node of model.onnx is compiled to
 *   JavaScript (src/ml/trees.ts); at load its outputs on the parity rows are compared with onnxruntime's on
 *   the same file and with the Python model's, each within PARITY_TOLERANCE. Inference ~1 µs.
 * - sequence models (`kind: sequence`, a 1-D CNN or an LSTM over the last K vectors): onnxruntime, run
 *   synchronously (src/ml/ort.ts); at load its outputs on the parity rows are compared with the Python
 *   model's.
 */

export const PARITY_TOLERANCE = 1e-5;
export const CLASSES = ['down', 'flat', 'up'] as const;
export const DOWN = 0;
export const UP = 2;

const sidecarSchema = z.object({
  format: z.literal('papertape-model'),
  formatVersion: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  kind: z.enum(['tree-ensemble', 'sequence']),
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: z.object({ name: z.string(), dtype: z.literal('float32'), shape: z.array(z.union([z.string(), z.number().int().positive()])) }),
  output: z.object({ name: z.string(), dtype: z.literal('float32'), shape: z.array(z.union([z.string(), z.number().int().positive()])) }),
  featureSchema: z.object({ version: z.string(), names: z.array(z.string()) }),
  features: z.object({ used: z.array(z.string()).min(1), leftOut: z.array(z.object({ name: z.string(), reason: z.string() })).default([]) }),
  sequenceLength: z.number().int().min(1).max(1024).optional(),
  classes: z.array(z.string()),
  horizon: z.object({ text: z.string() }).passthrough(),
  trainedOn: z.object({ venue: z.string(), symbol: z.string(), sampling: z.object({ warmupMs: z.number().min(0) }).passthrough() }).passthrough(),
  parity: z.string().min(1),
  /**
   * the model's inference time in Node as measured by `papertape model-latency` (the path the gate uses:
   * compiled trees or onnxruntime, warm-up then timed calls on the parity rows); backtests charge p50
   */
  latency: z
    .object({ p50Us: z.number().positive(), p99Us: z.number().positive(), calls: z.number().int().positive(), cpu: z.string(), node: z.string(), date: z.string() })
    .passthrough()
    .optional(),
}).passthrough();
export type ModelSidecar = z.infer<typeof sidecarSchema>;

const paritySchema = z.object({
  inputShape: z.array(z.number().int().positive()),
  inputs: z.string(),
  probabilities: z.array(z.array(z.number())),
});

/** Inference time of one model, in an HdrHistogram of nanoseconds (3 significant digits). */
export class InferenceTimer {
  private readonly h: Histogram = build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
  private sumNs = 0;
  private maxNs = 0;
  count = 0;

  record(ns: number): void {
    const v = Math.max(1, Math.round(ns));
    this.h.recordValue(v);
    this.count++;
    this.sumNs += v;
    if (v > this.maxNs) this.maxNs = v;
  }

  /** percentiles in µs (HdrHistogram's convention: the highest value equivalent to the bucket) */
  summary(): { count: number; meanUs: number | null; p50Us: number | null; p90Us: number | null; p99Us: number | null; maxUs: number | null } {
    if (this.count === 0) return { count: 0, meanUs: null, p50Us: null, p90Us: null, p99Us: null, maxUs: null };
    const us = (ns: number): number => Math.round(ns) / 1000;
    return {
      count: this.count,
      meanUs: us(this.sumNs / this.count),
      p50Us: us(this.h.getValueAtPercentile(50)),
      p90Us: us(this.h.getValueAtPercentile(90)),
      p99Us: us(this.h.getValueAtPercentile(99)),
      maxUs: us(this.maxNs),
    };
  }
}

/** A model ready for the decision path. */
export interface Model {
  readonly name: string;
  readonly kind: 'tree-ensemble' | 'sequence';
  /** name@sha256[0..8]: what the strategy's id records */
  readonly id: string;
  readonly dir: string;
  readonly sidecar: ModelSidecar;
  /** feature vectors per input: 1 for tree ensembles, K for sequence models */
  readonly sequenceLength: number;
  /** FEATURE_SCHEMA indices of the features the model reads */
  readonly used: Int32Array;
  /** data time the dataset skipped after a (re)synced book, ms: the gate waits as long */
  readonly warmupMs: number;
  /** how it runs: "compiled JS (n trees, m nodes), checked against onnxruntime x.y.z" */
  readonly engine: string;
  readonly timer: InferenceTimer;
  /**
   * Probabilities (down, flat, up) into out[0..3) for `input`: sequenceLength × FEATURE_COUNT float32
   * values, the oldest vector first, each in FEATURE_SCHEMA order. Synchronous; records its time.
   */
  predict(input: Float32Array, out: Float64Array): void;
}

function fail(where: string, message: string): never {
  throw new Error(`model ${where}: ${message}`);
}


/**
 * Where a configured MODEL_PATH points: an absolute path as it is; a relative one from the working
 * directory when it exists there, else from the package root (so the shipped default `models/gbdt-xgb`
 * works from any directory).
 */
export function resolveModelPath(path: string, cwd = process.cwd()): string {
  if (isAbsolute(path) || existsSync(resolve(cwd, path))) return resolve(cwd, path);
  const inPackage = resolve(packageRoot(), path);
  return existsSync(inPackage) ? inPackage : resolve(cwd, path);
}

/** model.json of a path: a directory holding it, the file itself, or the model.onnx beside it. */
export function sidecarPath(path: string): string {
  const p = resolve(path);
  if (existsSync(p) && statSync(p).isDirectory()) return join(p, 'model.json');
  if (p.endsWith('.onnx')) return join(dirname(p), 'model.json');
  return p;
}

function decodeFloat32(b64: string, n: number, where: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.length !== n * 4) fail(where, `parity inputs hold ${buf.length / 4} values, the shape says ${n}`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

export interface Parity {
  rows: number;
  rowSize: number;
  inputs: Float32Array;
  expected: number[][];
}

/** The parity rows of a model (inputs as float32 rows, the Python probabilities); throws naming the problem. */
export function readParity(dir: string, sc: ModelSidecar, where: string): Parity {
  const path = join(dir, sc.parity);
  if (!existsSync(path)) fail(where, `${sc.parity} is missing: the parity rows check the model at load`);
  const r = paritySchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!r.success) fail(where, `${sc.parity}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const shape = r.data.inputShape;
  const rows = shape[0]!;
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  if (r.data.probabilities.length !== rows || r.data.probabilities.some((p) => p.length !== 3)) fail(where, `${sc.parity}: expected ${rows} rows of 3 probabilities`);
  return { rows, rowSize, inputs: decodeFloat32(r.data.inputs, rows * rowSize, where), expected: r.data.probabilities };
}

/** Largest |a − b| over the parity rows of a predictor. */
function maxDiff(p: Parity, run: (row: number, out: Float64Array) => void, against: (row: number) => ArrayLike<number>): number {
  const out = new Float64Array(3);
  let worst = 0;
  for (let r = 0; r < p.rows; r++) {
    run(r, out);
    const e = against(r);
    for (let k = 0; k < 3; k++) {
      const d = Math.abs(out[k]! - e[k]!);
      if (!(d <= worst)) worst = d; // NaN counts as the worst
    }
  }
  return worst;
}

export interface LoadOptions {
  /** compare with onnxruntime at load (default true) */
  verifyWithOnnxRuntime?: boolean;
}

/** Loads and checks a model (see the module comment). Throws an Error naming the problem. */
export function loadModel(path: string, opts: LoadOptions = {}): Model {
  const scPath = sidecarPath(path);
  const where = scPath;
  if (!existsSync(scPath)) fail(path, `no model.json (the sidecar declaring the model's features) at ${scPath}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(scPath, 'utf8'));
  } catch (e) {
    fail(where, `not JSON: ${(e as Error).message}`);
  }
  const parsed = sidecarSchema.safeParse(raw);
  if (!parsed.success) fail(where, parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  const sc = parsed.data;
  const dir = dirname(scPath);

  // the features: same schema as this build, and every used name in it
  const schema = checkFeatureSchema(sc.featureSchema);
  if (!schema.ok) fail(where, `${sc.name} does not fit this build's features: ${schema.message}`);
  const names = FEATURE_SCHEMA.names as readonly string[];
  const used = new Int32Array(sc.features.used.length);
  sc.features.used.forEach((n, i) => {
    const k = names.indexOf(n);
    if (k < 0) fail(where, `feature ${n} (used) is not in feature schema ${FEATURE_SCHEMA.version}`);
    used[i] = k;
  });
  if (sc.classes.join(',') !== CLASSES.join(',')) fail(where, `classes ${JSON.stringify(sc.classes)}, the gate needs ${JSON.stringify(CLASSES)}`);
  const K = sc.kind === 'sequence' ? sc.sequenceLength ?? fail(where, 'a sequence model needs sequenceLength') : 1;
  const wantShape = sc.kind === 'sequence' ? [K, FEATURE_COUNT] : [FEATURE_COUNT];
  if (sc.input.shape.slice(1).join(',') !== wantShape.join(',')) fail(where, `input shape ${JSON.stringify(sc.input.shape)}, expected [N, ${wantShape.join(', ')}]`);

  const onnxPath = join(dir, sc.file);
  if (!existsSync(onnxPath)) fail(where, `${sc.file} is missing`);
  const bytes = readFileSync(onnxPath);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== sc.sha256) fail(where, `${sc.file} has sha256 ${sha}, the sidecar declares ${sc.sha256} (the sidecar belongs to another file)`);
  const parity = readParity(dir, sc, where);
  if (parity.rowSize !== K * FEATURE_COUNT) fail(where, `parity rows hold ${parity.rowSize} values, the model reads ${K * FEATURE_COUNT}`);
  const verify = opts.verifyWithOnnxRuntime ?? true;
  const timer = new InferenceTimer();
  const id = `${sc.name}@${sha.slice(0, 8)}`;
  const warmupMs = sc.trainedOn.sampling.warmupMs;
  const rowOf = (r: number): Float32Array => parity.inputs.subarray(r * parity.rowSize, (r + 1) * parity.rowSize);
  /** the checked model, its every prediction timed */
  const ready = (sequenceLength: number, engine: string, run: (input: Float32Array, out: Float64Array) => void): Model => ({
    name: sc.name,
    kind: sc.kind,
    id,
    dir,
    sidecar: sc,
    sequenceLength,
    used,
    warmupMs,
    engine,
    timer,
    predict(input: Float32Array, out: Float64Array): void {
      const t0 = performance.now();
      run(input, out);
      timer.record((performance.now() - t0) * 1e6);
    },
  });

  if (sc.kind === 'tree-ensemble') {
    const onnx = parseOnnx(bytes);
    if (onnx.nodes.length !== 1) fail(where, `a tree-ensemble model is one TreeEnsembleClassifier node; ${sc.file} has ${onnx.nodes.length} nodes (${onnx.nodes.map((n) => n.opType).join(', ')})`);
    const node = onnx.nodes[0]!;
    if (node.opType !== 'TreeEnsembleClassifier') fail(where, `expected a TreeEnsembleClassifier node, found ${node.opType}`);
    if (node.inputs[0] !== sc.input.name || !onnx.inputs.includes(sc.input.name)) fail(where, `the tree ensemble does not read the graph input ${sc.input.name}`);
    if (node.outputs[1] !== sc.output.name || !onnx.outputs.includes(sc.output.name)) fail(where, `the probabilities output ${sc.output.name} is not the tree ensemble's`);
    let compiled: CompiledTreeEnsemble;
    try {
      compiled = new CompiledTreeEnsemble(treeEnsembleSpec(node));
    } catch (e) {
      fail(where, (e as Error).message);
    }
    if (compiled.outputs !== 3 || compiled.postTransform !== 'SOFTMAX') fail(where, `expected 3 classes with SOFTMAX, found ${compiled.outputs} with ${compiled.postTransform}`);
    if (compiled.inputs > FEATURE_COUNT) fail(where, `the trees read feature ${compiled.inputs - 1}, the vector has ${FEATURE_COUNT}`);
    const py = maxDiff(parity, (r, out) => compiled.predict(rowOf(r), 0, out), (r) => parity.expected[r]!);
    if (!(py <= PARITY_TOLERANCE)) fail(where, `the compiled trees differ from the Python model's probabilities by ${py} on the parity rows (tolerance ${PARITY_TOLERANCE})`);
    let engine = `compiled JS (${compiled.trees} trees, ${compiled.nodes} nodes)`;
    if (verify) {
      // onnxruntime runs the parity rows in a child process: the compiled trees are all this process runs
      let all: Float32Array;
      try {
        all = runInChildProcess(onnxPath, parity.inputs, [parity.rows, FEATURE_COUNT], sc.output.name);
      } catch (e) {
        fail(where, (e as Error).message);
      }
      const d = maxDiff(parity, (r, out) => compiled.predict(rowOf(r), 0, out), (r) => all.subarray(r * 3, r * 3 + 3));
      if (!(d <= PARITY_TOLERANCE)) fail(where, `the compiled trees differ from onnxruntime by ${d} on the parity rows (tolerance ${PARITY_TOLERANCE}): not used`);
      engine += `, checked against onnxruntime (max diff ${d.toExponential(2)}) and the Python model (${py.toExponential(2)})`;
    } else engine += `, checked against the Python model (${py.toExponential(2)})`;
    return ready(1, engine, (input, out) => compiled.predict(input, 0, out));
  }

  // sequence model: onnxruntime, synchronously, on one preallocated input tensor
  const session = new OrtSession(onnxPath);
  const buf = new Float32Array(K * FEATURE_COUNT);
  const tensor = session.tensor(buf, [1, K, FEATURE_COUNT]);
  const outName = sc.output.name;
  if (!session.outputNames.includes(outName)) fail(where, `${sc.file} has no output ${outName} (outputs: ${session.outputNames.join(', ')})`);
  const run = (input: Float32Array, out: Float64Array): void => {
    buf.set(input.length === buf.length ? input : input.subarray(0, buf.length));
    const p = session.runTensor(tensor, outName);
    out[0] = p[0]!;
    out[1] = p[1]!;
    out[2] = p[2]!;
  };
  const d = maxDiff(parity, (r, out) => run(rowOf(r), out), (r) => parity.expected[r]!);
  if (!(d <= PARITY_TOLERANCE)) fail(where, `onnxruntime differs from the Python model's probabilities by ${d} on the parity rows (tolerance ${PARITY_TOLERANCE})`);
  return ready(K, `onnxruntime (synchronous, 1 thread; checked against the Python model, max diff ${d.toExponential(2)})`, run);
}

const cache = new Map<string, Model>();

/**
 * loadModel, once per process and sidecar path: every engine of a process (shadows, promoted variants,
 * tests) shares the checked model.
 */
export function loadModelCached(path: string): Model {
  const key = sidecarPath(path);
  let m = cache.get(key);
  if (!m) cache.set(key, (m = loadModel(path)));
  return m;
}
