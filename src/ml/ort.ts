import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot } from '../core/package-root.js';

/**
 * onnxruntime-node, used synchronously.
 *
 * The package's public `InferenceSession.create` and `session.run` return promises, but they only wrap its
 * native binding (`dist/binding.js`, "a simple synchronized inference session object wrap") in
 * `setImmediate`: loading and running are synchronous underneath. A trading decision cannot wait for the
 * event loop (the engine is a synchronous state machine, and a replay must take the same decisions), so this
 * module calls the binding directly. The CPU binaries are the ones bundled in the npm package
 * (`node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>/`): nothing is downloaded at install
 * (`.npmrc`: onnxruntime-node-install=skip). The version is pinned in package.json because the binding is
 * not a public interface; `ortInfo()` checks its shape and says what it found.
 */

interface OrtTensor {
  readonly data: ArrayLike<number> | BigInt64Array;
  readonly dims: readonly number[];
}
interface TensorCtor {
  new (type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
}
interface NativeSession {
  loadModel(path: string, options: Record<string, unknown>): void;
  readonly inputMetadata: { name: string; isTensor: boolean; type: number; shape: number[] }[];
  readonly outputMetadata: { name: string; isTensor: boolean; type: number; shape: number[] }[];
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: Record<string, unknown>): Record<string, OrtTensor>;
  dispose(): void;
}
interface Native {
  binding: { InferenceSession: new () => NativeSession; listSupportedBackends(): { name: string; bundled: boolean }[] };
  initOrt(): void;
}

const require = createRequire(import.meta.url);
let loaded: { native: Native; Tensor: TensorCtor; version: string; binary: string } | null = null;

function ort(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const pkgPath = require.resolve('onnxruntime-node/package.json');
  const version = (require(pkgPath) as { version: string }).version;
  const native = require('onnxruntime-node/dist/binding.js') as Native;
  const { Tensor } = require('onnxruntime-node') as { Tensor: TensorCtor };
  if (typeof native.binding?.InferenceSession !== 'function' || typeof native.initOrt !== 'function') {
    throw new Error(`onnxruntime-node ${version}: its native binding (dist/binding.js) is not the synchronous session papertape uses; install the version package.json pins`);
  }
  native.initOrt();
  const binary = join(dirname(pkgPath), 'bin', 'napi-v6', process.platform, process.arch, 'onnxruntime_binding.node');
  loaded = { native, Tensor, version, binary };
  return loaded;
}

/** Which onnxruntime-node this is and which native library it loaded. */
export function ortInfo(): { version: string; binary: string; backends: { name: string; bundled: boolean }[] } {
  const o = ort();
  return { version: o.version, binary: o.binary, backends: o.native.binding.listSupportedBackends() };
}

/** Session options: one thread (inference runs inline in the event loop, one row at a time), CPU. */
const SESSION_OPTIONS = { executionProviders: [{ name: 'cpu' }], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };

/**
 * One ONNX model in onnxruntime with a float32 input: `run` takes the input's values and shape and returns
 * the named output's values. Synchronous.
 */
export class OrtSession {
  private readonly session: NativeSession;
  private readonly Tensor: TensorCtor;
  readonly inputName: string;
  readonly outputNames: string[];

  constructor(readonly path: string) {
    const o = ort();
    this.Tensor = o.Tensor;
    this.session = new o.native.binding.InferenceSession();
    try {
      this.session.loadModel(path, SESSION_OPTIONS);
    } catch (e) {
      throw new Error(`onnxruntime could not load ${path}: ${(e as Error).message}`);
    }
    const inputs = this.session.inputMetadata;
    if (inputs.length !== 1 || inputs[0]!.type !== 1) throw new Error(`${path}: expected one float32 input, found ${inputs.map((i) => i.name).join(', ')}`);
    this.inputName = inputs[0]!.name;
    this.outputNames = this.session.outputMetadata.map((m) => m.name);
  }

  /** A tensor over `data` (not copied): reuse it across runs by changing the array's values. */
  tensor(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new this.Tensor('float32', data, dims);
  }

  /** Runs the model; returns the output's values (float32). */
  runTensor(input: OrtTensor, output: string): Float32Array {
    const r = this.session.run({ [this.inputName]: input }, { [output]: null }, {});
    const out = r[output];
    if (!out || !(out.data instanceof Float32Array)) throw new Error(`${this.path}: output ${output} is not float32`);
    return out.data;
  }

  run(data: Float32Array, dims: readonly number[], output: string): Float32Array {
    return this.runTensor(this.tensor(data, dims), output);
  }

  dispose(): void {
    this.session.dispose();
  }
}

/**
 * `new OrtSession(path).run(data, dims, output)` in a child node process, for a check that should not load
 * onnxruntime into this one: its native library alone is 23 MB of a live engine's RSS, which an engine
 * whose only model is a compiled tree ensemble has no other use for. Synchronous, like the session
 * (a few hundred ms, once per model and process). The float32 values cross as their bytes (base64), so
 * NaN (a missing feature) and every other value arrive exactly.
 */
export function runInChildProcess(path: string, data: Float32Array, dims: readonly number[], output: string): Float32Array {
  const script = join(packageRoot(), 'dist', 'src', 'ml', 'ort-child.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\``);
  const r = spawnSync(process.execPath, [script], {
    input: JSON.stringify({ path, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), dims, output }),
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 120_000,
  });
  if (r.error) throw new Error(`onnxruntime in a child process: ${r.error.message}`);
  if (r.status !== 0) throw new Error(r.stderr.trim().split('\n').at(-1) || `onnxruntime in a child process exited with ${r.status ?? r.signal}`);
  const out = Buffer.from(r.stdout, 'base64');
  return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}
