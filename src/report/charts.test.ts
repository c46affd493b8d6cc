import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterEach, describe, expect, it } from 'vitest';
import type { TopLevelSpec } from 'vega-lite';
import {
  dailyPnlChart,
  decimate,
  drawdownChart,
  drawdownPercent,
  equityChart,
  histogramBins,
  MAX_LINE_POINTS,
  renderSvg,
  timeAxisFormat,
  tradeDistributionChart,
  type TimePoint,
} from './charts.js';

const T0 = Date.parse('2024-08-08T23:00:00Z');

/** A deterministic wobbly equity curve of n points, 700 ms apart. */
function curve(n: number, seed = 1): TimePoint[] {
  let s = seed;
  const rnd = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  let e = 10_000;
  const out: TimePoint[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ time: T0 + i * 700, value: e });
    e += (rnd() - 0.52) * 3;
  }
  return out;
}

/** Every element (tag name + attributes) of an SVG document, depth first. */
function elements(svg: string): { tag: string; attrs: Record<string, string>; text?: string }[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, trimValues: false });
  const out: { tag: string; attrs: Record<string, string>; text?: string }[] = [];
  const walk = (nodes: unknown[]): void => {
    for (const node of nodes as Record<string, unknown>[]) {
      const tag = Object.keys(node).find((k) => k !== ':@');
      if (tag === undefined || tag === '#text') continue;
      const children = node[tag] as Record<string, unknown>[];
      const text = children.find((c) => '#text' in c)?.['#text'];
      out.push({ tag, attrs: (node[':@'] ?? {}) as Record<string, string>, ...(text !== undefined ? { text: String(text) } : {}) });
      walk(children);
    }
  };
  walk(parser.parse(svg) as unknown[]);
  return out;
}

function parseSvg(svg: string): ReturnType<typeof elements> {
  expect(XMLValidator.validate(svg)).toBe(true);
  const els = elements(svg);
  expect(els[0]!.tag).toBe('svg');
  expect(els[0]!.attrs['xmlns']).toBe('http://www.w3.org/2000/svg');
  return els;
}

const texts = (els: ReturnType<typeof elements>): string[] => els.filter((e) => e.tag === 'text' && e.text !== undefined).map((e) => e.text!);
const marks = (els: ReturnType<typeof elements>, role: string) => els.filter((e) => e.tag === 'path' && e.attrs['aria-roledescription'] === role);
/** vertices of an SVG path made of M/L commands */
const vertices = (d: string): number => (d.match(/[ML]/g) ?? []).length;

const TZ = process.env['TZ'];
afterEach(() => {
  if (TZ === undefined) delete process.env['TZ'];
  else process.env['TZ'] = TZ;
});

describe('equity chart', () => {
  it('draws every point as a step line with titled axes in UTC', async () => {
    const pts = curve(50);
    const els = parseSvg(await renderSvg(equityChart(pts, 'USDT', 'session s1').spec));
    const t = texts(els);
    expect(t).toContain('Equity curve');
    expect(t).toContain('session s1');
    expect(t).toContain('equity (USDT)');
    expect(t).toContain('time (UTC, 2024-08-08)');
    // 50 points as steps: a move to the first, then a horizontal and a vertical segment to each next one
    const lines = marks(els, 'line mark');
    expect(lines).toHaveLength(1);
    expect(vertices(lines[0]!.attrs['d']!)).toBe(1 + 2 * 49);
    // 23:00:00 .. 23:00:34: tick labels are UTC clock times
    expect(t.filter((x) => /^23:00:\d\d$/.test(x)).length).toBeGreaterThanOrEqual(3);
  });

  it('is byte-identical for the same input, whatever the process time zone', async () => {
    const spec = equityChart(curve(300), 'USDT').spec;
    process.env['TZ'] = 'UTC';
    const a = await renderSvg(spec);
    const b = await renderSvg(spec);
    process.env['TZ'] = 'America/New_York';
    const c = await renderSvg(spec);
    // another chart in between must not shift ids or anything else
    await renderSvg(drawdownChart(curve(10)).spec);
    const d = await renderSvg(spec);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(d).toBe(a);
    expect(a).toContain('>23:00:00<');
  });

  it('keeps a long series to about MAX_LINE_POINTS points', async () => {
    const spec = equityChart(curve(20_000), 'USDT').spec as { data: { values: unknown[] } };
    expect(spec.data.values.length).toBeLessThanOrEqual(MAX_LINE_POINTS);
    expect(spec.data.values.length).toBeGreaterThan(MAX_LINE_POINTS - 10);
  });

  it('shows a flat curve (no trades) as a line, not a degenerate axis', async () => {
    const flat = [{ time: T0, value: 10_000 }, { time: T0 + 3_600_000, value: 10_000 }];
    const els = parseSvg(await renderSvg(equityChart(flat, 'USDT').spec));
    const lines = marks(els, 'line mark');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.attrs['d']).not.toMatch(/NaN/);
    expect(texts(els)).toContain('10,000');
  });
});

describe('drawdown chart', () => {
  it('is an area at or below zero, in percent of the high-water mark', async () => {
    const pts = [
      { time: T0, value: 100 },
      { time: T0 + 1000, value: 90 },
      { time: T0 + 2000, value: 110 },
      { time: T0 + 3000, value: 99 },
    ];
    const dd = drawdownPercent(pts).map((p) => p.value);
    [0, -10, 0, -10].forEach((want, i) => expect(dd[i]).toBeCloseTo(want, 9));
    const els = parseSvg(await renderSvg(drawdownChart(pts).spec));
    expect(marks(els, 'area mark')).toHaveLength(1);
    expect(texts(els)).toContain('drawdown from high-water mark (%)');
    expect(texts(els)).toContain('Drawdown (underwater)');
  });

  it('keeps the deepest point of a long series when it thins it out', () => {
    const pts = curve(30_000, 7);
    const full = drawdownPercent(pts);
    const worst = Math.min(...full.map((p) => p.value));
    const spec = drawdownChart(pts).spec as { data: { values: { drawdown: number }[] } };
    expect(Math.min(...spec.data.values.map((v) => v.drawdown))).toBe(worst);
  });
});

describe('daily P&L chart', () => {
  it('has one bar per day, red for a loss and green for a gain', async () => {
    const days = [
      { day: '2024-08-07', pnl: 12.5 },
      { day: '2024-08-08', pnl: -3 },
      { day: '2024-08-09', pnl: 0.25 },
    ];
    const els = parseSvg(await renderSvg(dailyPnlChart(days, 'USDT').spec));
    const bars = marks(els, 'bar');
    expect(bars).toHaveLength(3);
    expect(bars.map((b) => b.attrs['fill'])).toEqual(['#2e7d32', '#c62828', '#2e7d32']);
    const t = texts(els);
    for (const d of days) expect(t).toContain(d.day);
    expect(t).toContain('day (UTC)');
    expect(t).toContain('P&L (USDT, change of equity)');
  });
});

describe('trade distribution', () => {
  it('bins the net P&L of round trips with 0 as an edge and counts every trip once', () => {
    const values = [-2.3, -1.1, -0.05, 0, 0.04, 0.9, 1.2, 3.7];
    const bins = histogramBins(values, 20);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(values.length);
    expect(bins.some((b) => b.start === 0)).toBe(true);
    for (let i = 1; i < bins.length; i++) expect(bins[i]!.start).toBe(bins[i - 1]!.end);
    expect(bins.length).toBeLessThanOrEqual(20);
    for (const v of values) {
      const b = bins.filter((x) => v >= x.start && (v < x.end || x === bins[bins.length - 1]));
      expect(b.length, String(v)).toBeGreaterThanOrEqual(1);
    }
    // step 0.5: [-2.5, -2) holds -2.3, [0, 0.5) holds 0 and 0.04, [3.5, 4) holds 3.7
    expect(bins[0]).toEqual({ start: -2.5, end: -2, count: 1 });
    expect(bins.find((b) => b.start === 0)!.count).toBe(2);
    expect(bins[bins.length - 1]).toEqual({ start: 3.5, end: 4, count: 1 });
  });

  it.each([
    { name: 'no values', values: [], bins: 0 },
    { name: 'one value', values: [-0.2], bins: 1 },
    { name: 'all equal', values: [5, 5, 5], bins: 1 },
    { name: 'only zeros', values: [0, 0], bins: 1 },
  ])('handles $name', ({ values, bins }) => {
    const b = histogramBins(values);
    expect(b.length).toBeGreaterThanOrEqual(bins);
    expect(b.reduce((s, x) => s + x.count, 0)).toBe(values.length);
    if (values.length === 0) expect(b).toEqual([]);
  });

  it('draws one bar per bin, losses red and gains green', async () => {
    const values = [-2.3, -1.1, -0.05, 0.04, 0.9, 1.2, 3.7];
    const bins = histogramBins(values);
    const els = parseSvg(await renderSvg(tradeDistributionChart(values, 'USDT').spec));
    const bars = marks(els, 'bar');
    expect(bars).toHaveLength(bins.length);
    expect(bars.filter((b) => b.attrs['fill'] === '#c62828')).toHaveLength(bins.filter((b) => b.end <= 0).length);
    expect(texts(els)).toContain('net P&L per round trip (USDT)');
    expect(texts(els)).toContain('round trips');
  });

  it('without trips says so and draws no bar', async () => {
    const els = parseSvg(await renderSvg(tradeDistributionChart([], 'USDT').spec));
    expect(marks(els, 'bar')).toHaveLength(0);
    expect(texts(els)).toContain('no closed round trips');
  });
});

describe('rendering', () => {
  it('never loads anything: a spec that names a URL fails instead of fetching it', async () => {
    const spec = { data: { url: 'http://127.0.0.1:9/data.json' }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } } as TopLevelSpec;
    const svg = renderSvg(spec);
    await expect(svg).rejects.toThrow(/load nothing/);
  });

  it.each([
    { span: 5 * 60_000, format: '%H:%M:%S', title: 'time (UTC, 2024-08-08)' },
    { span: 3 * 3_600_000, format: '%H:%M', title: 'time (UTC, 2024-08-08 – 2024-08-09)' },
    { span: 10 * 86_400_000, format: '%m-%d %H:%M', title: 'time (UTC, 2024)' },
    { span: 400 * 86_400_000, format: '%Y-%m-%d', title: 'date (UTC)' },
  ])('labels a time axis over $span ms as $format', ({ span, format, title }) => {
    expect(timeAxisFormat(T0, T0 + span)).toEqual({ format, title });
  });

  it('decimate returns short series unchanged and keeps the first, last, lowest and highest point of long ones', () => {
    const short = curve(10);
    expect(decimate(short, 100)).toEqual(short);
    const long = curve(5000, 3);
    const d = decimate(long, 200);
    expect(d.length).toBeLessThanOrEqual(200);
    expect(d[0]).toBe(long[0]);
    expect(d[d.length - 1]).toBe(long[long.length - 1]);
    const values = long.map((p) => p.value);
    expect(d.some((p) => p.value === Math.min(...values))).toBe(true);
    expect(d.some((p) => p.value === Math.max(...values))).toBe(true);
    for (let i = 1; i < d.length; i++) expect(d[i]!.time).toBeGreaterThan(d[i - 1]!.time);
  });
});
