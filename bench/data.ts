import { readAll, type RecordLine } from '../src/marketdata/recording/format.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ../shared/data relative to the project root (bench files run from dist/bench). */
export function sharedData(): string {
  for (const up of ['../../shared/data', '../../../shared/data']) {
    const p = resolve(fileURLToPath(new URL(up, import.meta.url)));
    if (existsSync(p)) return p;
  }
  throw new Error('../shared/data not found next to the project');
}

/** All lines of a recording (the project's own reader). */
export function readRecordingLines(file: string): Promise<RecordLine[]> {
  return readAll(file);
}
