import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release, arch } from 'node:os';
import { join } from 'node:path';

/**
 * The benchmark harness: one result shape for every benchmark, interleaved timing (each benchmark beside
 * its reference in the same run), the results document, and the comparison with the previous run.
 *
 * The pure parts (median, ratio, compare, formatTable, mergeLatest) are unit-tested in
 * test/bench-harness.test.ts; the rest touches the clock, the machine and the file system.
 */

export interface Reference {
  name: string;
  value: number;
}

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  higherIsBetter: boolean;
  /** the thing measured beside this benchmark in the same run (not a target), or null */
  reference: Reference | null;
  /** how many times better than the reference (> 1 = better), direction-aware; null without reference */
  ratio: number | null;
  detail?: Record<string, unknown>;
}

export interface Method {
  warmup: number;
  runs: number;
  statistic: string;
  notes?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
}

export interface Regression {
  name: string;
  previous: number;
  current: number;
  unit: string;
  /** relative change of the value, (current - previous) / previous */
  change: number;
}

export interface BenchDocument {
  date: string;
  machine: Machine;
  node: string;
  datasets: string[];
  method: Method;
  /** the name filter of a partial run (`npm run bench -- <filter>`), or null */
  filter: string | null;
  benchmarks: (BenchResult & { date?: string })[];
  regressions: Regression[];
}

/** Relative worsening beyond which a benchmark is flagged as a regression. */
export const REGRESSION_THRESHOLD = 0.1;

// ---------------------------------------------------------------- statistics

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** How many times better `value` is than `reference` (> 1 = better), whichever direction is better. */
export function ratio(value: number, reference: number, higherIsBetter: boolean): number {
  return higherIsBetter ? value / reference : reference / value;
}

/** Rounds to `digits` significant digits (for readable JSON; the table formats separately). */
export function sig(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** Builds a result, filling in the direction-aware ratio. */
export function result(
  name: string,
  value: number,
  unit: string,
  higherIsBetter: boolean,
  reference: Reference | null = null,
  detail?: Record<string, unknown>,
): BenchResult {
  const r: BenchResult = {
    name,
    value: sig(value),
    unit,
    higherIsBetter,
    reference: reference === null ? null : { name: reference.name, value: sig(reference.value) },
    ratio: reference === null ? null : sig(ratio(value, reference.value, higherIsBetter), 3),
  };
  if (detail !== undefined) r.detail = detail;
  return r;
}

// ---------------------------------------------------------------- timing

/** One contender: sets itself up untimed and returns the nanoseconds of its timed section. */
export type Timed = () => number;

/** Times a synchronous section in nanoseconds. */
export function timeNs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0);
}

/**
 * Runs every contender once per round, `warmup` rounds discarded and `runs` rounds kept, in an order
 * that rotates every round so no contender always runs right after the same one (GC debt, caches).
 * Returns the samples (ns) per contender; machine load hits all contenders alike.
 */
export function interleave(contenders: Record<string, Timed>, opts: { warmup: number; runs: number }): Record<string, number[]> {
  const names = Object.keys(contenders);
  const samples: Record<string, number[]> = {};
  for (const n of names) samples[n] = [];
  for (let round = 0; round < opts.warmup + opts.runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!;
      const ns = contenders[name]!();
      if (round >= opts.warmup) samples[name]!.push(ns);
    }
  }
  return samples;
}

// ---------------------------------------------------------------- comparison

/**
 * Benchmarks (matched by name) whose value got worse than in `previous` by more than `threshold`,
 * in the direction that matters for each (a drop for higher-is-better, a rise otherwise).
 */
export function findRegressions(
  current: readonly BenchResult[],
  previous: readonly BenchResult[] | null,
  threshold = REGRESSION_THRESHOLD,
): Regression[] {
  if (previous === null) return [];
  const before = new Map(previous.map((b) => [b.name, b]));
  const out: Regression[] = [];
  for (const c of current) {
    const p = before.get(c.name);
    if (p === undefined || !(p.value > 0) || !Number.isFinite(c.value)) continue;
    const change = (c.value - p.value) / p.value;
    const worse = c.higherIsBetter ? -change : change;
    if (worse > threshold) out.push({ name: c.name, previous: p.value, current: c.value, unit: c.unit, change: sig(change, 3) });
  }
  return out;
}

/** Relative change against the previous value of the same name; null if there is none. */
export function changeVsPrevious(c: BenchResult, previous: readonly BenchResult[] | null): number | null {
  const p = previous?.find((b) => b.name === c.name);
  if (p === undefined || !(p.value > 0)) return null;
  return (c.value - p.value) / p.value;
}

/**
 * The latest.json of a partial run: the new results replace those of the same name, the others are
 * kept as they were (each benchmark carries the date it was measured).
 */
export function mergeLatest(
  previous: BenchDocument | null,
  doc: BenchDocument,
): BenchDocument {
  const fresh = doc.benchmarks.map((b) => ({ ...b, date: doc.date }));
  if (doc.filter === null || previous === null) return { ...doc, benchmarks: fresh };
  const names = new Set(fresh.map((b) => b.name));
  const kept = previous.benchmarks.filter((b) => !names.has(b.name)).map((b) => ({ ...b, date: b.date ?? previous.date }));
  return { ...doc, benchmarks: [...fresh, ...kept] };
}

// ---------------------------------------------------------------- table

/** A number for the table: thousands separators for big values, 3 significant digits for small ones. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function pct(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** The printed table: name, value, unit, reference, ratio (× better), change vs previous (REGRESSION flag). */
export function formatTable(
  results: readonly BenchResult[],
  previous: readonly BenchResult[] | null,
  regressions: readonly Regression[],
): string {
  const flagged = new Set(regressions.map((r) => r.name));
  const head = ['benchmark', 'value', 'unit', 'reference', 'ratio', 'vs previous'];
  const rows = results.map((r) => {
    const ch = changeVsPrevious(r, previous);
    return [
      r.name,
      fmt(r.value),
      r.unit + (r.higherIsBetter ? '' : ' (lower=better)'),
      r.reference === null ? '-' : `${r.reference.name}: ${fmt(r.reference.value)}`,
      r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
      pct(ch) + (flagged.has(r.name) ? ' REGRESSION' : ''),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const right = new Set([1, 4, 5]);
  const line = (cells: string[]) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- machine and files

export function machineInfo(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()} ${arch()}`,
  };
}

export function loadDocument(path: string): BenchDocument | null {
  if (!existsSync(path)) return null;
  try {
    const d = JSON.parse(readFileSync(path, 'utf8')) as BenchDocument;
    return Array.isArray(d.benchmarks) ? d : null;
  } catch {
    return null;
  }
}

/** Writes `<dir>/latest.json` (merged for partial runs) and `<dir>/<ISO date>.json`; returns both paths. */
export function writeResults(dir: string, doc: BenchDocument, previous: BenchDocument | null): { latest: string; dated: string } {
  mkdirSync(dir, { recursive: true });
  const dated = join(dir, `${doc.date.replace(/:/g, '-')}.json`);
  writeFileSync(dated, `${JSON.stringify(doc, null, 2)}\n`);
  const latest = join(dir, 'latest.json');
  writeFileSync(latest, `${JSON.stringify(mergeLatest(previous, doc), null, 2)}\n`);
  return { latest, dated };
}
