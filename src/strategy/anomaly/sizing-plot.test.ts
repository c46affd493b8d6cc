import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sizeFraction, strengthForFraction } from './grid.js';
import { behaviour, levelTable, PLOT_LEVELS, sizingSvg } from './sizing-plot.js';

const docs = (name: string): string => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

describe('sizing documentation', () => {
  it('docs/sizing.svg is what sizing-plot.ts draws (regenerate it when this fails)', () => {
    expect(docs('sizing.svg')).toBe(sizingSvg());
  });

  it('draws one curve per level between (0, 0) and (1, 1) of the plot area', () => {
    const svg = sizingSvg();
    const paths = [...svg.matchAll(/<path d="M([\d.]+) ([\d.]+) .* L([\d.]+) ([\d.]+)" fill="none"/g)];
    expect(paths).toHaveLength(PLOT_LEVELS.length);
    for (const p of paths) expect(p.slice(1).map(Number)).toEqual([60, 425, 470, 40]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('docs/strategies.md carries the current level table', () => {
    const md = docs('strategies.md');
    const table = md.split('<!-- level-table:start -->\n')[1]?.split('\n<!-- level-table:end -->')[0];
    expect(table).toBe(levelTable());
  });

  it('classifies levels as the table shows', () => {
    // all-or-nothing at the first signal: f(0.1) >= 0.9
    for (const l of [0.1, 0.2, 0.3]) {
      expect(behaviour(l)).toBe('all-or-nothing at the first signal');
      expect(sizeFraction(0.1, l)).toBeGreaterThanOrEqual(0.9);
    }
    expect(sizeFraction(0.1, 0.4)).toBeLessThan(0.9);
    for (const l of [0.4, 0.5, 0.9]) expect(behaviour(l)).toBe('aggressive');
    expect(behaviour(1)).toBe('linear');
    for (const l of [1.5, 2, 4, 4.9]) expect(behaviour(l)).toBe('sniper');
    // all-or-nothing at max_range: 10% of the budget needs x >= 0.836
    for (const l of [5, 8, 20]) {
      expect(behaviour(l)).toBe('all-or-nothing at max_range');
      expect(strengthForFraction(0.1, l)).toBeGreaterThanOrEqual(0.836);
    }
    expect(strengthForFraction(0.1, 4.9)).toBeLessThan(0.836);
  });
});
