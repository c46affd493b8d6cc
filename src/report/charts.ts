/**
 * Report charts as Vega-Lite specs, rendered to SVG in-process by Vega (no canvas, no browser, no network).
 *
 * Every spec carries its data inline; the loader refuses every URL, so a spec can never fetch anything.
 * The same input gives byte-identical SVG (SVG definition ids are reset before each render; times are
 * formatted in UTC whatever the process time zone).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface TimePoint {
  /** epoch ms */
  time: number;
  value: number;
}

/** One chart: its file name in the report directory, its title and its spec. */
export interface ChartSpec {
  name: string;
  title: string;
  spec: TopLevelSpec;
}

export const CHART_WIDTH = 720;
export const CHART_HEIGHT = 260;
/** Line charts keep at most about this many points (min and max of each bucket are kept: no peak or trough is lost). */
export const MAX_LINE_POINTS = 4000;

const GREEN = '#2e7d32';
const RED = '#c62828';
const BLUE = '#1f5fa8';

const CONFIG = {
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  view: { stroke: '#ccc' },
  title: { fontSize: 15, anchor: 'start' as const, subtitleColor: '#555' },
  axis: { titleFontSize: 12, labelFontSize: 11, gridColor: '#eee' },
} as const;

/** The d3 time format for an axis spanning `spanMs`, and what the axis title says about it. */
export function timeAxisFormat(startMs: number, endMs: number): { format: string; title: string } {
  const span = endMs - startMs;
  const day = (t: number): string => new Date(t).toISOString().slice(0, 10);
  if (span <= 10 * 60_000) return { format: '%H:%M:%S', title: `time (UTC, ${day(startMs)}${day(endMs) !== day(startMs) ? ` – ${day(endMs)}` : ''})` };
  if (span <= 36 * 3_600_000) return { format: '%H:%M', title: `time (UTC, ${day(startMs)}${day(endMs) !== day(startMs) ? ` – ${day(endMs)}` : ''})` };
  if (span <= 60 * 86_400_000) return { format: '%m-%d %H:%M', title: `time (UTC, ${new Date(startMs).getUTCFullYear()})` };
  return { format: '%Y-%m-%d', title: 'date (UTC)' };
}

/**
 * At most about `max` points of a time series: the first and last point, and in each of max/2 buckets
 * (by index) its lowest and highest point, in time order. Deterministic; shorter series come back as they are.
 */
export function decimate(points: readonly TimePoint[], max = MAX_LINE_POINTS): TimePoint[] {
  if (points.length <= max) return [...points];
  const buckets = Math.max(1, Math.floor((max - 2) / 2));
  const inner = points.length - 2;
  const out: TimePoint[] = [points[0]!];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets);
    const to = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (points[i]!.value < points[lo]!.value) lo = i;
      if (points[i]!.value > points[hi]!.value) hi = i;
    }
    if (lo === hi) out.push(points[lo]!);
    else if (lo < hi) out.push(points[lo]!, points[hi]!);
    else out.push(points[hi]!, points[lo]!);
  }
  out.push(points[points.length - 1]!);
  return out;
}

/** Drawdown in percent at each point: 100 × (value / running peak − 1), 0 at a new high and while the peak is not positive. */
export function drawdownPercent(points: readonly TimePoint[]): TimePoint[] {
  let peak = Number.NEGATIVE_INFINITY;
  return points.map((p) => {
    if (p.value > peak) peak = p.value;
    return { time: p.time, value: peak > 0 ? (p.value / peak - 1) * 100 : 0 };
  });
}

/** A y scale that shows a flat series as a line in the middle rather than a degenerate domain. */
function yScale(values: readonly number[], zero: boolean): Record<string, unknown> {
  if (values.length === 0) return { zero };
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi > lo) return { zero };
  const pad = Math.max(1, Math.abs(lo) * 0.001);
  return { zero: false, domain: zero && lo === 0 ? [-pad, pad] : [lo - pad, hi + pad] };
}

function timeX(points: readonly TimePoint[]): Record<string, unknown> {
  const first = points[0]?.time ?? 0;
  const last = points[points.length - 1]?.time ?? first;
  const { format, title } = timeAxisFormat(first, last);
  return { field: 'time', type: 'temporal', title, scale: { type: 'utc' }, axis: { format, labelOverlap: true, labelFlush: true, tickCount: 8 } };
}

/**
 * Equity over time: a step line (equity is recorded when it changes, so each value holds until the next);
 * `points` oldest first, already including the session's start and end.
 */
export function equityChart(points: readonly TimePoint[], currency: string, subtitle?: string): ChartSpec {
  const data = decimate(points).map((p) => ({ time: p.time, equity: p.value }));
  return {
    name: 'equity.svg',
    title: 'Equity curve',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Equity curve', ...(subtitle ? { subtitle } : {}) },
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      config: CONFIG,
      data: { values: data },
      mark: { type: 'line', color: BLUE, strokeWidth: 1.5, interpolate: 'step-after' },
      encoding: {
        x: timeX(points),
        y: { field: 'equity', type: 'quantitative', title: `equity (${currency})`, scale: yScale(data.map((d) => d.equity), false) },
      },
    } as TopLevelSpec,
  };
}

/** Underwater chart: drawdown from the running high-water mark, in percent (≤ 0). */
export function drawdownChart(points: readonly TimePoint[], subtitle?: string): ChartSpec {
  const data = decimate(drawdownPercent(points)).map((p) => ({ time: p.time, drawdown: p.value }));
  return {
    name: 'drawdown.svg',
    title: 'Drawdown (underwater)',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Drawdown (underwater)', ...(subtitle ? { subtitle } : {}) },
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      config: CONFIG,
      data: { values: data },
      mark: { type: 'area', color: RED, opacity: 0.35, interpolate: 'step-after', line: { color: RED, strokeWidth: 1 } },
      encoding: {
        x: timeX(points),
        y: { field: 'drawdown', type: 'quantitative', title: 'drawdown from high-water mark (%)', scale: yScale(data.map((d) => d.drawdown), true) },
      },
    } as TopLevelSpec,
  };
}

export interface DailyPnl {
  /** YYYY-MM-DD (UTC) */
  day: string;
  pnl: number;
}

/** One bar per UTC day: the change of equity over the day (green gain, red loss). */
export function dailyPnlChart(days: readonly DailyPnl[], currency: string, subtitle?: string): ChartSpec {
  const data = days.map((d) => ({ day: d.day, pnl: d.pnl }));
  return {
    name: 'daily-pnl.svg',
    title: 'Daily P&L',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Daily P&L', ...(subtitle ? { subtitle } : {}) },
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      config: CONFIG,
      data: { values: data },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'day', type: 'ordinal', sort: null, title: 'day (UTC)', axis: { labelAngle: days.length > 10 ? -45 : 0, labelOverlap: true } },
        y: { field: 'pnl', type: 'quantitative', title: `P&L (${currency}, change of equity)`, scale: yScale(data.map((d) => d.pnl), true) },
        color: { condition: { test: 'datum.pnl < 0', value: RED }, value: GREEN },
      },
    } as TopLevelSpec,
  };
}

export interface Bin {
  start: number;
  end: number;
  count: number;
}

/** 1, 2 or 5 × 10^k, the smallest at or above x (> 0). */
function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p;
  return 10 * p;
}

/**
 * Equal-width bins with a nice step (1, 2 or 5 × 10^k) whose edges are multiples of the step, so 0 is
 * always an edge and no bin mixes gains and losses. Each bin counts values in [start, end); the last
 * also counts its end. No values: no bins.
 */
export function histogramBins(values: readonly number[], maxBins = 20): Bin[] {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return [];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.01;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / maxBins);
  const first = Math.floor(lo / step);
  let last = Math.ceil(hi / step);
  if (last === first) last = first + 1;
  const bins: Bin[] = [];
  for (let k = first; k < last; k++) bins.push({ start: k * step, end: (k + 1) * step, count: 0 });
  for (const v of finite) {
    let i = Math.floor(v / step) - first;
    if (i >= bins.length) i = bins.length - 1;
    if (i < 0) i = 0;
    bins[i]!.count += 1;
  }
  // edges as decimals (k × 0.1 would otherwise print as 0.30000000000000004)
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (const b of bins) {
    b.start = Number(b.start.toFixed(digits));
    b.end = Number(b.end.toFixed(digits));
  }
  return bins;
}

/** Histogram of the net P&L of closed round trips (losses red, gains green). */
export function tradeDistributionChart(netPnls: readonly number[], currency: string, subtitle?: string): ChartSpec {
  const bins = histogramBins(netPnls);
  const data = bins.map((b) => ({ start: b.start, end: b.end, count: b.count }));
  const empty = bins.length === 0;
  return {
    name: 'trade-distribution.svg',
    title: 'Trade distribution',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: { text: 'Trade distribution (net P&L of closed round trips)', subtitle: empty ? 'no closed round trips' : (subtitle ?? `${netPnls.length} round trips`) },
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      config: CONFIG,
      data: { values: data },
      mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
      encoding: {
        x: {
          field: 'start', type: 'quantitative', bin: { binned: true }, title: `net P&L per round trip (${currency})`,
          ...(empty ? { scale: { domain: [-1, 1] } } : {}),
        },
        x2: { field: 'end' },
        y: { field: 'count', type: 'quantitative', title: 'round trips', axis: { tickMinStep: 1 }, ...(empty ? { scale: { domain: [0, 1] } } : {}) },
        color: { condition: { test: 'datum.end <= 0', value: RED }, value: GREEN },
      },
    } as TopLevelSpec,
  };
}

/** A loader that refuses every URL and file (specs carry their data inline); what it was asked for goes to `refused`. */
function offlineLoader(refused: string[]): vega.Loader {
  const loader = vega.loader();
  const refuse = async (uri: string): Promise<never> => {
    refused.push(uri);
    throw new Error(`report charts load nothing (asked for ${JSON.stringify(uri)}): data must be inline`);
  };
  loader.load = refuse;
  loader.sanitize = refuse;
  loader.http = refuse;
  loader.file = refuse;
  return loader;
}

/** A Vega logger that prints nothing and keeps the errors (Vega reports a failed load or a bad expression there instead of throwing). */
function quietLogger(errors: string[]): vega.LoggerInterface {
  let level = vega.Error;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: readonly unknown[]) {
      errors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
      return logger;
    },
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  return logger as unknown as vega.LoggerInterface;
}

/**
 * Renders a Vega-Lite spec to an SVG document (deterministic for the same spec). Rejects when the spec asked
 * for data from anywhere (nothing is fetched) or Vega reported an error.
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const errors: string[] = [];
  const refused: string[] = [];
  const logger = quietLogger(errors);
  const compiled = compile(spec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: offlineLoader(refused), logger });
  try {
    vega.resetSVGDefIds();
    const svg = await view.toSVG();
    if (refused.length > 0) throw new Error(`report charts load nothing (asked for ${refused.map((u) => JSON.stringify(u)).join(', ')}): data must be inline`);
    if (errors.length > 0) throw new Error(`chart rendering failed: ${errors.join('; ')}`);
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}
