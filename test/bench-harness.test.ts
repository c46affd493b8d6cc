import { describe, expect, it } from 'vitest';
import {
  changeVsPrevious,
  findRegressions,
  fmt,
  formatTable,
  interleave,
  median,
  mergeLatest,
  ratio,
  result,
  type BenchDocument,
  type BenchResult,
} from '../bench/harness.js';

const thr = (name: string, value: number, reference: number | null = null): BenchResult =>
  result(name, value, 'msgs/s', true, reference === null ? null : { name: 'ref', value: reference });
const lat = (name: string, value: number): BenchResult => result(name, value, 'ns', false);

function doc(benchmarks: BenchResult[], filter: string | null, date = '2026-01-01T00:00:00.000Z'): BenchDocument {
  return {
    date,
    machine: { cpu: 'x', cores: 2, memoryGiB: 4, os: 'linux' },
    node: 'v20',
    datasets: [],
    method: { warmup: 1, runs: 3, statistic: 'median' },
    filter,
    benchmarks,
    regressions: [],
  };
}

describe('bench harness', () => {
  it('median of odd and even counts, NaN when empty', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('ratio is "times better" in the direction that matters', () => {
    expect(ratio(200, 100, true)).toBe(2);
    expect(ratio(50, 100, false)).toBe(2);
    expect(thr('a', 300, 100).ratio).toBe(3);
    expect(thr('a', 300).ratio).toBeNull();
    expect(thr('a', 300).reference).toBeNull();
  });

  it('flags only changes for the worse beyond 10%, by name and direction', () => {
    const prev = [thr('tput', 1000), lat('lat', 100), thr('same', 1000), thr('gone', 5)];
    const cur = [thr('tput', 880), lat('lat', 111), thr('same', 1200), thr('new', 1)];
    const r = findRegressions(cur, prev);
    expect(r.map((x) => x.name)).toEqual(['tput', 'lat']);
    expect(r[0]!.change).toBeCloseTo(-0.12, 5);
    expect(r[1]!.change).toBeCloseTo(0.11, 5);
    // within the threshold, or better: no flag
    expect(findRegressions([thr('tput', 901), lat('lat', 109), lat('x', 10)], [thr('tput', 1000), lat('lat', 100), lat('x', 50)])).toEqual([]);
    expect(findRegressions(cur, null)).toEqual([]);
  });

  it('change vs previous is relative and null without a previous value', () => {
    expect(changeVsPrevious(thr('a', 110), [thr('a', 100)])).toBeCloseTo(0.1, 10);
    expect(changeVsPrevious(thr('a', 110), [thr('b', 100)])).toBeNull();
    expect(changeVsPrevious(thr('a', 110), null)).toBeNull();
  });

  it('formats the table with reference, ratio, change and the regression flag', () => {
    const cur = [thr('book (usdm)', 29_280, 19_710), lat('features', 120)];
    const prev = [thr('book (usdm)', 40_000), lat('features', 100)];
    const table = formatTable(cur, prev, findRegressions(cur, prev));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^benchmark\s+value\s+unit\s+reference\s+ratio\s+vs previous$/);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines[2]).toContain('29,280');
    expect(lines[2]).toContain('ref: 19,710');
    expect(lines[2]).toContain('1.49x');
    expect(lines[2]).toContain('-26.8% REGRESSION');
    expect(lines[3]).toContain('ns (lower=better)');
    expect(lines[3]).toContain('+20.0% REGRESSION');
    expect(lines[3]).toMatch(/\s-\s+-\s+\+20/); // no reference, no ratio
    // columns line up: every row as wide as the header rule
    const width = lines[1]!.length;
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(width);
  });

  it('formats numbers for reading', () => {
    expect(fmt(1_234_567.8)).toBe('1,234,568');
    expect(fmt(123.4)).toBe('123');
    expect(fmt(12.34)).toBe('12.3');
    expect(fmt(1.234)).toBe('1.23');
    expect(fmt(0.01234)).toBe('0.0123');
    expect(fmt(null)).toBe('-');
    expect(fmt(NaN)).toBe('-');
  });

  it('a partial run replaces its own benchmarks in latest.json and keeps the others', () => {
    const prev = doc([thr('book a', 1), thr('backtest b', 2)], null, '2026-01-01T00:00:00.000Z');
    const partial = doc([thr('book a', 3)], 'book', '2026-01-02T00:00:00.000Z');
    const merged = mergeLatest(prev, partial);
    expect(merged.benchmarks.map((b) => [b.name, b.value, b.date])).toEqual([
      ['book a', 3, '2026-01-02T00:00:00.000Z'],
      ['backtest b', 2, '2026-01-01T00:00:00.000Z'],
    ]);
    // a full run replaces everything
    const full = mergeLatest(prev, doc([thr('book a', 4)], null, '2026-01-03T00:00:00.000Z'));
    expect(full.benchmarks.map((b) => b.name)).toEqual(['book a']);
  });

  it('interleaves contenders in rotating order and drops warm-up rounds', () => {
    const order: string[] = [];
    const mk = (name: string, ns: number) => () => {
      order.push(name);
      return ns;
    };
    const s = interleave({ a: mk('a', 1), b: mk('b', 2), c: mk('c', 3) }, { warmup: 1, runs: 3 });
    expect(s).toEqual({ a: [1, 1, 1], b: [2, 2, 2], c: [3, 3, 3] });
    expect(order.join('')).toBe('abcbcacababc');
  });
});
