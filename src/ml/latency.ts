import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { loadModel, readParity, sidecarPath, type Model } from './model.js';

/** What `papertape model-latency` writes into model.json as `latency` (the sidecar schema's `latency`). */
export interface RecordedLatency {
  p50Us: number;
  p99Us: number;
  calls: number;
  cpu: string;
  node: string;
  date: string;
  /** what was timed */
  engine: string;
  method: string;
  meanUs: number;
  p90Us: number;
  maxUs: number;
}

export interface LatencyOptions {
  warmup?: number;
  calls?: number;
  /** the date recorded (default: today, UTC) */
  now?: Date;
}

/** value at percentile q (0..100) of sorted samples, nearest rank */
function rank(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const us = (ns: number): number => Math.round(ns) / 1000;

/**
 * Measures a model's inference time in Node on the path the ML gate uses (`Model.predict`: the compiled
 * trees, or onnxruntime-node's synchronous session for the sequence models): `warmup` calls, then `calls`
 * timed calls (process.hrtime.bigint around each), the model's parity rows in turn. Percentiles are nearest
 * ranks of the sorted samples.
 */
export function measureLatency(model: Model, rows: Float32Array, rowSize: number, o: LatencyOptions = {}): RecordedLatency {
  const warmup = o.warmup ?? 2000;
  const calls = o.calls ?? 20_000;
  const n = rows.length / rowSize;
  const out = new Float64Array(3);
  const row = (i: number): Float32Array => rows.subarray((i % n) * rowSize, (i % n + 1) * rowSize);
  for (let i = 0; i < warmup; i++) model.predict(row(i), out);
  const samples = new Float64Array(calls);
  let sum = 0;
  for (let i = 0; i < calls; i++) {
    const x = row(i);
    const t0 = process.hrtime.bigint();
    model.predict(x, out);
    const ns = Number(process.hrtime.bigint() - t0);
    samples[i] = ns;
    sum += ns;
  }
  samples.sort();
  const c = cpus();
  return {
    p50Us: us(rank(samples, 50)),
    p99Us: us(rank(samples, 99)),
    calls,
    cpu: `${c[0]?.model.trim() ?? 'unknown'} (${c.length} cores)`,
    node: process.version,
    date: (o.now ?? new Date()).toISOString().slice(0, 10),
    engine: model.kind === 'tree-ensemble' ? 'compiled JS trees (src/ml/trees.ts)' : 'onnxruntime-node, synchronous session (src/ml/ort.ts)',
    method: `${warmup} warm-up calls, then ${calls} timed calls of Model.predict (process.hrtime.bigint) on the ${n} parity rows in turn; nearest-rank percentiles of the sorted samples`,
    meanUs: us(sum / calls),
    p90Us: us(rank(samples, 90)),
    maxUs: us(samples[calls - 1]!),
  };
}

/**
 * `papertape model-latency DIR`: loads and checks the model, measures it, and writes the figures into its
 * model.json as `latency` (the rest of the file unchanged; the sha256 there covers model.onnx, not the
 * sidecar). Returns the figures.
 */
export function recordModelLatency(dir: string, o: LatencyOptions = {}): { path: string; model: string; latency: RecordedLatency } {
  const path = sidecarPath(dir);
  const model = loadModel(dir);
  const parity = readParity(model.dir, model.sidecar, path);
  const latency = measureLatency(model, parity.inputs, parity.rowSize, o);
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  raw['latency'] = latency;
  // train.py writes json.dump(indent=1): the same layout
  writeFileSync(path, `${JSON.stringify(raw, null, 1)}\n`);
  return { path, model: model.id, latency };
}
