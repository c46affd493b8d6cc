/**
 * `papertape stats --returns FILE`: return statistics with empyrical's definitions (src/portfolio/performance.ts,
 * docs/statistics.md) of a JSON array of periodic simple returns. Prints one JSON object; NaN and ±Infinity print
 * as null. Bad input (file, JSON, values, options) -> every problem on stderr, exit code 2, nothing on stdout.
 */
import fs from 'node:fs';
import { jsonSafe, returnStats, type ReturnStats } from '../portfolio/performance.js';

/** The options as commander hands them over (strings; validated here). */
export interface StatsCliOptions {
  returns?: string;
  periodsPerYear?: string;
  riskFree?: string;
  requiredReturn?: string;
}

export interface StatsJson extends ReturnStats {
  /** periods that are not missing */
  observations: number;
  periodsPerYear: number;
  riskFree: number;
  requiredReturn: number;
}

/** empyrical's default annualization: daily returns, 252 trading days. */
export const DEFAULT_PERIODS_PER_YEAR = 252;
const MAX_SHOWN = 5;
const NUMBER_RE = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function num(name: string, v: string, check: (n: number) => boolean, expected: string, problems: string[]): number {
  const n = NUMBER_RE.test(v.trim()) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || !check(n)) {
    problems.push(`${name} must be ${expected} (got ${JSON.stringify(v)})`);
    return Number.NaN;
  }
  return n;
}

function describe(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/**
 * Checks the text of a returns file: a JSON array whose elements are finite numbers >= -1 (a simple return
 * cannot lose more than everything) or null (a missing period).
 */
export function parseReturns(text: string, file: string): { ok: true; value: (number | null)[] } | { ok: false; problems: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`${file} is not valid JSON: ${(e as Error).message}`] };
  }
  if (!Array.isArray(data)) {
    return { ok: false, problems: [`${file} must hold a JSON array of periodic simple returns (numbers, null for a missing period); got ${data === null ? 'null' : typeof data}`] };
  }
  const bad: string[] = [];
  let count = 0;
  data.forEach((v: unknown, i) => {
    let why: string | undefined;
    if (v === null) return;
    if (typeof v !== 'number') why = 'is not a number or null';
    else if (!Number.isFinite(v)) why = 'is not a finite number';
    else if (v < -1) why = 'is below -1 (a simple return cannot lose more than 100 %)';
    if (why === undefined) return;
    count += 1;
    if (bad.length < MAX_SHOWN) bad.push(`${file}: element ${i} (${describe(v)}) ${why}`);
  });
  if (count > MAX_SHOWN) bad.push(`${file}: ${count - MAX_SHOWN} more bad elements`);
  return bad.length > 0 ? { ok: false, problems: bad } : { ok: true, value: data as (number | null)[] };
}

/** Validates the options, reads the file and computes the statistics; `{ ok: false, problems }` on bad input. */
export function statsFromOptions(
  opts: StatsCliOptions,
  readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8'),
): { ok: true; value: StatsJson } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const periodsPerYear =
    opts.periodsPerYear === undefined ? DEFAULT_PERIODS_PER_YEAR : num('--periods-per-year', opts.periodsPerYear, (n) => n > 0 && n <= 1e9, 'a positive number, e.g. 252 (trading days), 365 (daily crypto) or 525600 (minutes)', problems);
  const riskFree = opts.riskFree === undefined ? 0 : num('--risk-free', opts.riskFree, (n) => n > -1 && n < 1, 'a return per period in (-1, 1), e.g. 0.0001', problems);
  const requiredReturn = opts.requiredReturn === undefined ? 0 : num('--required-return', opts.requiredReturn, (n) => n > -1 && n < 1, 'a return per period in (-1, 1), e.g. 0', problems);
  let returns: (number | null)[] | undefined;
  if (opts.returns === undefined || opts.returns.trim() === '') {
    problems.push('--returns FILE is required: a JSON array of periodic simple returns, e.g. [0.01, -0.005, null, 0.002]');
  } else {
    let text: string | undefined;
    try {
      text = readFile(opts.returns);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      problems.push(`cannot read ${opts.returns}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.message}`);
    }
    if (text !== undefined) {
      const parsed = parseReturns(text, opts.returns);
      if (parsed.ok) returns = parsed.value;
      else problems.push(...parsed.problems);
    }
  }
  if (problems.length > 0 || returns === undefined) return { ok: false, problems };
  const { periods, ...stats } = returnStats(returns, { periodsPerYear, riskFree, requiredReturn });
  return {
    ok: true,
    value: { periods, observations: returns.filter((r) => r !== null).length, periodsPerYear, riskFree, requiredReturn, ...stats },
  };
}

/** Runs the command: prints one JSON object; bad input -> messages on stderr, exit code 2. */
export function runStatsCli(opts: StatsCliOptions): void {
  const r = statsFromOptions(opts);
  if (!r.ok) {
    for (const p of r.problems) process.stderr.write(`papertape stats: ${p}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(`${JSON.stringify(jsonSafe(r.value), null, 2)}\n`);
}
