/**
 * `node dist/src/ml/ort-child.js`: runs one ONNX model once in onnxruntime for another process (see
 * `runInChildProcess` in ./ort.ts). Reads `{ path, data, dims, output }` as JSON on stdin (`data`: the float32
 * input's bytes in base64), writes the output's float32 bytes in base64 on stdout; a failure goes to stderr with exit code 1.
 */
import { OrtSession } from './ort.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
try {
  const req = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { path: string; data: string; dims: number[]; output: string };
  const bytes = Buffer.from(req.data, 'base64');
  const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const s = new OrtSession(req.path);
  try {
    const out = s.run(input, req.dims, req.output);
    process.stdout.write(Buffer.from(out.buffer, out.byteOffset, out.byteLength).toString('base64'));
  } finally {
    s.dispose();
  }
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
}
