import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** ../shared/data relative to the project root (bench files run from dist/bench). */
export function sharedData(): string {
  for (const up of ['../../shared/data', '../../../shared/data']) {
    const p = resolve(fileURLToPath(new URL(up, import.meta.url)));
    if (existsSync(p)) return p;
  }
  throw new Error('../shared/data not found next to the project');
}

export async function readRecordingLines(file: string): Promise<{ recvNs: bigint; text: string }[]> {
  const out: { recvNs: bigint; text: string }[] = [];
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const sp = line.indexOf(' ');
    out.push({ recvNs: BigInt(line.slice(0, sp)), text: line.slice(sp + 1) });
  }
  return out;
}
