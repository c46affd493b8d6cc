import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../src/config/config.js';
import { papertape, ROOT } from './support/procs.js';

const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');

/** The README must stay true: every variable with its default, every command. */
describe('README', () => {
  it.each(Object.entries(VARIABLES))('documents %s with its default', (name, spec) => {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    expect(row, `no row for ${name}`).toBeDefined();
    const dflt = spec.default === undefined ? '(unset)' : spec.default === '' ? '(empty)' : `\`${spec.default}\``;
    expect(row!.split('|')[2]!.trim()).toBe(dflt);
  });

  it('lists every command of the CLI', async () => {
    const p = papertape(['--help']);
    expect(await p.exited).toBe(0);
    const commands = [...p.stdout().matchAll(/^\s{2}([a-z][a-z-]+)(?: \[options\]| <|$| )/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const c of commands) expect(readme, `command ${c}`).toContain(`papertape ${c}`);
  });
});
