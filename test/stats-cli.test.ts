import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { papertape } from './support/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes `text` to a new temp file and returns its path. */
function file(text: string): string {
  const f = join(dir, `returns-${++n}.json`);
  writeFileSync(f, text);
  return f;
}

/** Runs `papertape stats ...` (the built CLI) to the end. */
async function stats(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = papertape(['stats', ...args]);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

describe('papertape stats', () => {
  it('prints the statistics of a returns file as one JSON object (hand-checked)', async () => {
    // [0.1, -0.1] at 2 periods a year (see src/portfolio/performance.test.ts for the arithmetic):
    // cum -0.01 = annual (1 year); vol sqrt(0.02) * sqrt(2) = 0.2; Sharpe 0; downside sqrt(0.005 * 2) = 0.1;
    // drawdown 99 / 110 - 1 = -0.1; calmar -0.1; omega 1; tail 1
    const r = await stats(['--returns', file('[0.1, -0.1]'), '--periods-per-year', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number | null>;
    expect(out).toMatchObject({ periods: 2, observations: 2, periodsPerYear: 2, riskFree: 0, requiredReturn: 0, sharpe: 0, sortino: 0, omega: 1 });
    const close = (k: string, v: number): void => expect(out[k], k).toBeCloseTo(v, 12);
    close('cumulativeReturn', -0.01);
    close('annualReturn', -0.01);
    close('annualVolatility', 0.2);
    close('downsideRisk', 0.1);
    close('maxDrawdown', -0.1);
    close('calmar', -0.1);
    close('tailRatio', 1);
    for (const k of ['annualReturn', 'annualVolatility', 'sharpe', 'sortino', 'calmar', 'downsideRisk', 'maxDrawdown', 'cumulativeReturn', 'omega', 'tailRatio', 'stability', 'valueAtRisk', 'conditionalValueAtRisk']) {
      expect(out, k).toHaveProperty(k);
    }
  });

  it('defaults to 252 periods a year; nulls are missing periods that count in the length', async () => {
    // one period of +5 % over 2 periods (one missing): years = 2 / 252 -> annual 1.05 ** 126 - 1
    const r = await stats(['--returns', file('[null, 0.05]')]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number | null>;
    expect(out).toMatchObject({ periods: 2, observations: 1, periodsPerYear: 252 });
    expect(out['annualReturn']! / (1.05 ** 126 - 1)).toBeCloseTo(1, 12);
  });

  it('prints null for NaN and ±Infinity (no downside -> Sortino +Infinity; empty -> everything NaN)', async () => {
    const up = JSON.parse((await stats(['--returns', file('[0.01, 0.02, 0.03]')])).stdout) as Record<string, unknown>;
    // sortino = mean * 252 / 0 = +Infinity; no drawdown -> calmar NaN; nothing below 0 -> omega NaN
    expect(up).toMatchObject({ sortino: null, calmar: null, omega: null, downsideRisk: 0, maxDrawdown: 0 });
    expect(typeof up['sharpe']).toBe('number');

    const empty = await stats(['--returns', file('[]')]);
    expect(empty.code).toBe(0);
    const e = JSON.parse(empty.stdout) as Record<string, unknown>;
    expect(e['periods']).toBe(0);
    for (const k of ['annualReturn', 'annualVolatility', 'sharpe', 'sortino', 'calmar', 'downsideRisk', 'maxDrawdown', 'cumulativeReturn']) expect(e[k], k).toBeNull();
  });

  it('takes --risk-free and --required-return per period, negative values included', async () => {
    // r = [0.02, 0, 0.04], rf 0.01: excess mean 0.01, std 0.02 -> Sharpe 0.5 * sqrt(3) at 3 a year
    // required 0.01: downside sqrt(1e-4 / 3) * sqrt(3) = 0.01, sortino 0.01 * 3 / 0.01 = 3
    const r = await stats(['--returns', file('[0.02, 0, 0.04]'), '--periods-per-year', '3', '--risk-free', '0.01', '--required-return', '0.01']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number>;
    expect(out['sharpe']).toBeCloseTo(0.5 * Math.sqrt(3), 12);
    expect(out['sortino']).toBeCloseTo(3, 12);
    expect(out['downsideRisk']).toBeCloseTo(0.01, 12);

    const neg = await stats(['--returns', file('[0.02, 0, 0.04]'), '--risk-free', '-0.01', '--required-return=-1e-3']);
    expect(neg.stderr).toBe('');
    expect(JSON.parse(neg.stdout)).toMatchObject({ riskFree: -0.01, requiredReturn: -0.001 });
  });

  it.each<[string, string[] | ((f: (t: string) => string) => string[]), RegExp]>([
    ['no --returns', [], /--returns FILE is required/],
    ['a missing file', ['--returns', '/nonexistent/returns.json'], /cannot read \/nonexistent\/returns\.json: no such file/],
    [
      'a directory',
      () => {
        const d = join(dir, `dir-${++n}`);
        mkdirSync(d);
        return ['--returns', d];
      },
      /cannot read .*: is a directory/,
    ],
    ['not JSON', (f) => ['--returns', f('[0.01, oops]')], /is not valid JSON/],
    ['not an array', (f) => ['--returns', f('{"returns": [0.01]}')], /must hold a JSON array of periodic simple returns.*got object/],
    ['a string element', (f) => ['--returns', f('[0.01, "0.02", null]')], /element 1 \("0\.02"\) is not a number or null/],
    ['a non-finite number', (f) => ['--returns', f('[0.01, 1e999]')], /element 1 \(Infinity\) is not a finite number/],
    ['a return below -1', (f) => ['--returns', f('[0.01, -1.5]')], /element 1 \(-1\.5\) is below -1/],
    ['bad --periods-per-year', (f) => ['--returns', f('[0.01]'), '--periods-per-year', '0'], /--periods-per-year must be a positive number/],
    ['non-numeric --risk-free', (f) => ['--returns', f('[0.01]'), '--risk-free', '1%'], /--risk-free must be a return per period/],
    ['--required-return out of range', (f) => ['--returns', f('[0.01]'), '--required-return', '-1'], /--required-return must be a return per period/],
    ['an unknown option', ['--returns-file', 'x'], /unknown option '--returns-file'/],
  ])('rejects %s with a message on stderr and exit code 2', async (_name, args, message) => {
    const r = await stats(typeof args === 'function' ? args(file) : args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('reports every problem at once, and at most 5 bad elements plus a count', async () => {
    const r = await stats(['--returns', file(JSON.stringify(['a', 'b', 'c', 'd', 'e', 'f', 'g', 0.1])), '--periods-per-year', 'x']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/--periods-per-year must be/);
    expect(lines.filter((l) => /element \d+/.test(l))).toHaveLength(5);
    expect(r.stderr).toMatch(/2 more bad elements/);
  });
});
