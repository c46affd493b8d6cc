import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { START_NODE_ARGS } from '../scripts/procs.js';

/** Allocates short-lived objects until V8 has grown its young generation, and prints that generation's size. */
const PROBE = `
const v8 = require('node:v8');
let keep = [];
for (let i = 0; i < 3e6; i++) { keep.push({ a: i, b: [i] }); if (keep.length > 20000) keep = []; }
process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));
`;
const newSpace = (flags: readonly string[]): number => Number(execFileSync(process.execPath, [...flags, '-e', PROBE], { encoding: 'utf8' }));

describe('npm start node flags', () => {
  it('start a node whose young generation stays at 2 x 4 MB where the default grows to 2 x 16 MB', () => {
    expect(START_NODE_ARGS).toContain('--max-semi-space-size=4');
    const flagged = newSpace(START_NODE_ARGS);
    expect(flagged).toBeLessThanOrEqual(8 * 2 ** 20);
    // V8's default on this machine: the probe does make a young generation grow past the flag's bound
    expect(newSpace([])).toBeGreaterThan(flagged);
  });
});
