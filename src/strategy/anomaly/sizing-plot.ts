import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sizeFraction, strengthForFraction } from './grid.js';

/**
 * The sizing curve f(x) = 1 - (1 - x^level)^(1/level) for documentation: the level table of
 * docs/strategies.md and the plot docs/sizing.svg (plain SVG paths, no plotting library). Both are
 * deterministic text; sizing-plot.test.ts checks that the committed files match what this module makes.
 *
 *   npm run build && node dist/src/strategy/anomaly/sizing-plot.js docs/sizing.svg
 */

/** Levels shown in the plot. */
export const PLOT_LEVELS: readonly number[] = [0.25, 0.5, 1, 2, 4];
/** Levels in the table. */
export const TABLE_LEVELS: readonly number[] = [0.25, 0.5, 0.75, 1, 1.5, 2, 4, 8];
/** Anomaly strengths x in the table. */
export const DOC_POINTS: readonly number[] = [0.1, 0.25, 0.5, 0.75, 0.9];

/** Fractions of the budget whose strength x the table gives. */
export const DOC_FRACTIONS: readonly number[] = [0.1, 0.5, 0.9];

/**
 * Behaviour of a level, as docs/strategies.md classifies it from the table: up to 0.3, f(0.1) >= 0.9 (the
 * first signal commits nearly everything); below 1, concave (f(x) > x); 1, linear; above 1, convex
 * (f(x) < x); from 5 on, 10% of the budget needs x >= 0.836 (nothing until |d| is close to max_range).
 */
export function behaviour(level: number): string {
  if (level <= 0.3) return 'all-or-nothing at the first signal';
  if (level < 1) return 'aggressive';
  if (level === 1) return 'linear';
  if (level < 5) return 'sniper';
  return 'all-or-nothing at max_range';
}

/** The Markdown level table: f at DOC_POINTS, the x that commits DOC_FRACTIONS of the budget, the behaviour. */
export function levelTable(levels: readonly number[] = TABLE_LEVELS): string {
  const head = `| level | ${DOC_POINTS.map((x) => `f(${x})`).join(' | ')} | ${DOC_FRACTIONS.map((y) => `x for ${y * 100}%`).join(' | ')} | behaviour |`;
  const rule = `|---:|${DOC_POINTS.map(() => '---:').join('|')}|${DOC_FRACTIONS.map(() => '---:').join('|')}|---|`;
  const rows = levels.map(
    (l) =>
      `| ${l} | ${DOC_POINTS.map((x) => sizeFraction(x, l).toFixed(4)).join(' | ')} | ` +
      `${DOC_FRACTIONS.map((y) => strengthForFraction(y, l).toFixed(4)).join(' | ')} | ${behaviour(l)} |`,
  );
  return [head, rule, ...rows].join('\n');
}

const COLORS = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4', '#9467bd', '#8c564b', '#e377c2'];

/** x values to sample: a uniform grid plus dense points near 0 and 1, where the curves are steep. */
function samples(): number[] {
  const xs = new Set<number>();
  for (let i = 0; i <= 200; i++) xs.add(i / 200);
  for (let e = -8; e < -2; e += 0.25) {
    xs.add(10 ** e);
    xs.add(1 - 10 ** e);
  }
  return [...xs].sort((a, b) => a - b);
}

/** The SVG plot of f(x) for the given levels. */
export function sizingSvg(levels: readonly number[] = PLOT_LEVELS): string {
  const W = 720;
  const H = 480;
  const m = { left: 60, right: 250, top: 40, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const px = (x: number): string => (m.left + x * pw).toFixed(2);
  const py = (y: number): string => (m.top + (1 - y) * ph).toFixed(2);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${px(0.5)}" y="22" text-anchor="middle" font-size="15">Anomaly sizing: f(x) = 1 − (1 − x^level)^(1/level)</text>`);
  // grid and ticks
  for (let i = 0; i <= 10; i++) {
    const t = i / 10;
    const major = i % 5 === 0;
    const stroke = major ? '#bbbbbb' : '#e5e5e5';
    out.push(`<line x1="${px(t)}" y1="${py(0)}" x2="${px(t)}" y2="${py(1)}" stroke="${stroke}" stroke-width="1"/>`);
    out.push(`<line x1="${px(0)}" y1="${py(t)}" x2="${px(1)}" y2="${py(t)}" stroke="${stroke}" stroke-width="1"/>`);
    if (i % 2 === 0) {
      out.push(`<text x="${px(t)}" y="${(m.top + ph + 18).toFixed(2)}" text-anchor="middle">${t.toFixed(1)}</text>`);
      out.push(`<text x="${(m.left - 8).toFixed(2)}" y="${(Number(py(t)) + 4).toFixed(2)}" text-anchor="end">${t.toFixed(1)}</text>`);
    }
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333" stroke-width="1"/>`);
  out.push(`<text x="${px(0.5)}" y="${H - 12}" text-anchor="middle">x = min(|d| / max_range, 1)</text>`);
  out.push(`<text x="16" y="${py(0.5)}" text-anchor="middle" transform="rotate(-90 16 ${py(0.5)})">fraction of max_position</text>`);
  // curves
  const xs = samples();
  levels.forEach((level, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = xs.map((x, j) => `${j === 0 ? 'M' : 'L'}${px(x)} ${py(sizeFraction(x, level))}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${level === 1 ? ' stroke-dasharray="6 4"' : ''}/>`);
    const ly = m.top + 20 + i * 22;
    const lx = m.left + pw + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${color}" stroke-width="2"${level === 1 ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 36}" y="${ly + 4}">level ${level}: ${level <= 0.3 ? 'all-or-nothing' : behaviour(level)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// run as a script: writes the SVG to the path given (default docs/sizing.svg)
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? 'docs/sizing.svg';
  writeFileSync(path, sizingSvg());
  process.stdout.write(`wrote ${path}\n${levelTable()}\n`);
}
