/**
 * Session report: the statistics of src/portfolio/performance.ts as Markdown tables, with the charts of
 * ./charts.ts, and the short summary that `papertape report --readme` puts between the METRICS markers of a
 * README. Reading the store is {@link loadSession}; everything else here is pure (data in, text out) apart
 * from rendering the SVGs.
 */
import path from 'node:path';
import { err, ok, type Result } from '../core/result.js';
import type { Fill } from '../model/order.js';
import { jsonSafe, sessionPerformance, type Performance } from '../portfolio/performance.js';
import type { RoundTrip } from '../portfolio/portfolio.js';
import type { SessionInfo, Store } from '../store/db.js';
import { dailyPnlChart, drawdownChart, equityChart, renderSvg, tradeDistributionChart, type ChartSpec, type DailyPnl, type TimePoint } from './charts.js';

export const METRICS_START = '<!-- METRICS_START -->';
export const METRICS_END = '<!-- METRICS_END -->';
export const REPORT_FILE = 'report.md';
export const STATS_FILE = 'stats.json';

/** Everything a report is made of, as read from the store. */
export interface SessionData {
  session: SessionInfo;
  /** epoch ms: the session's start */
  start: number;
  /** epoch ms: its end, or the last equity point while it has no end (still running, or killed) */
  end: number;
  /** false when `end` is the last equity point because the session recorded no end */
  ended: boolean;
  /** oldest first */
  equity: { time: number; equity: number }[];
  /** oldest first (by opening time) */
  trips: RoundTrip[];
  /** in the order they were written */
  fills: Fill[];
  /** quote currency of the account (from the symbols), e.g. USDT */
  currency: string;
}

export type LoadErrorCode = 'no-sessions' | 'no-session';

const QUOTES = ['FDUSD', 'USDT', 'USDC', 'BUSD', 'TUSD', 'USD', 'EUR', 'BTC', 'ETH', 'BNB'];

/** The quote asset all `symbols` share (USDT for BTCUSDT and ETHUSDT), or "quote" when they share none. */
export function quoteCurrency(symbols: readonly string[]): string {
  if (symbols.length === 0) return 'quote';
  const q = QUOTES.find((c) => symbols.every((s) => s.length > c.length && s.endsWith(c)));
  return q ?? 'quote';
}

function configSymbols(config: unknown): string[] {
  if (config === null || typeof config !== 'object') return [];
  const s = (config as Record<string, unknown>)['SYMBOLS'];
  if (Array.isArray(s)) return s.filter((x): x is string => typeof x === 'string');
  if (typeof s === 'string') return s.split(',').map((x) => x.trim()).filter(Boolean);
  return [];
}

/**
 * The session to report on: `sessionId` when given, else the newest session that is not a shadow variant
 * (ids with `~`, which a backtest writes after its trading session), else the newest of all.
 */
export function chooseSession(store: Store, sessionId?: string): Result<SessionInfo, LoadErrorCode> {
  if (sessionId !== undefined) {
    const s = store.getSession(sessionId);
    if (s) return ok(s);
    const known = store.listSessions(6).map((x) => x.id);
    if (known.length === 0) return err('no-sessions', `database ${store.file} has no sessions`);
    return err('no-session', `database ${store.file} has no session ${JSON.stringify(sessionId)} (newest: ${known.slice(0, 5).join(', ')}${known.length > 5 ? ', ...' : ''})`);
  }
  const latest = store.latestSession();
  if (!latest) return err('no-sessions', `database ${store.file} has no sessions: run papertape (run or backtest) to make one`);
  if (!latest.id.includes('~')) return ok(latest);
  return ok(store.listSessions(1000).find((s) => !s.id.includes('~')) ?? latest);
}

/** Reads one session's equity curve, round trips and fills (nothing is written). */
export function loadSession(store: Store, sessionId?: string): Result<SessionData, LoadErrorCode> {
  const chosen = chooseSession(store, sessionId);
  if (!chosen.ok) return chosen;
  const session = chosen.value;
  const equity = store.equityCurve(session.id).map((r) => ({ time: r.time, equity: r.equity }));
  const trips = store.listTrades(session.id, { limit: Number.MAX_SAFE_INTEGER }).reverse();
  const fills = store.allFills(session.id);
  const last = equity.length > 0 ? equity[equity.length - 1]!.time : session.startedAt;
  const end = Math.max(session.startedAt, session.endedAt ?? last);
  const symbols = [...new Set([...fills.map((f) => f.symbol), ...trips.map((t) => t.symbol)])];
  return ok({
    session,
    start: session.startedAt,
    end,
    ended: session.endedAt !== null,
    equity,
    trips,
    fills,
    currency: quoteCurrency(symbols.length > 0 ? symbols : configSymbols(session.config)),
  });
}

// ---- number formats ----

const NA = 'n/a';

function nonFinite(x: number): string | undefined {
  if (Number.isNaN(x)) return NA;
  if (x === Infinity) return '∞';
  if (x === -Infinity) return '-∞';
  return undefined;
}

function grouped(x: number, decimals: number): string {
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: true });
}

/** Negative zero and values that round to zero print without a sign. */
function unsignedZero(s: string): string {
  return /^-[0.,]+$/.test(s) ? s.slice(1) : s;
}

/**
 * A fraction as a percentage: 2 decimals from 1 % on ("12.34%"), 3 significant digits below ("-0.0117%",
 * "0.500%"; short sessions move by basis points), an exponent from a million percent on ("1.23e+8%"); NaN as n/a.
 */
export function formatPercent(x: number): string {
  const bad = nonFinite(x);
  if (bad !== undefined) return bad;
  const v = x * 100;
  const a = Math.abs(v);
  if (a >= 1e6) return `${v.toExponential(2)}%`;
  if (a === 0 || a >= 1) return `${unsignedZero(grouped(v, 2))}%`;
  return `${v.toPrecision(3)}%`;
}

/**
 * An amount of money: 2 decimals from 1 on ("-1,234.56"), 2 to 4 decimals below ("-0.50", "0.0345"), 3
 * significant digits below 0.0001 ("0.0000123"); NaN as n/a.
 */
export function formatMoney(x: number): string {
  const bad = nonFinite(x);
  if (bad !== undefined) return bad;
  const a = Math.abs(x);
  if (a >= 1e15) return x.toExponential(3);
  if (a === 0 || a >= 1) return unsignedZero(grouped(x, 2));
  if (a >= 1e-4) {
    const [int, frac] = x.toFixed(4).split('.') as [string, string];
    return unsignedZero(`${int}.${frac.replace(/0+$/, '').padEnd(2, '0')}`);
  }
  return x.toPrecision(3);
}

/** A ratio (Sharpe, profit factor, ...): 2 decimals, an exponent from a million on; NaN as n/a, ±Infinity as ±∞. */
export function formatRatio(x: number): string {
  const bad = nonFinite(x);
  if (bad !== undefined) return bad;
  if (Math.abs(x) >= 1e6) return x.toExponential(2);
  return unsignedZero(grouped(x, 2));
}

export function formatCount(x: number): string {
  const bad = nonFinite(x);
  return bad ?? grouped(x, 0);
}

/** A duration: "350 ms", "12.3 s", "4 m 05 s", "2 h 03 m", "3 d 04 h"; NaN as n/a. */
export function formatDuration(ms: number): string {
  const bad = nonFinite(ms);
  if (bad !== undefined) return bad;
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  const s = Math.round(a / 1000);
  if (s < 3600) return `${sign}${Math.floor(s / 60)} m ${two(s % 60)} s`;
  const m = Math.round(a / 60_000);
  if (m < 24 * 60) return `${sign}${Math.floor(m / 60)} h ${two(m % 60)} m`;
  const h = Math.round(a / 3_600_000);
  return `${sign}${Math.floor(h / 24)} d ${two(h % 24)} h`;
}

/** "2024-08-08 23:00:00" (UTC, whole seconds). */
export function formatTime(ms: number): string {
  return new Date(Math.floor(ms)).toISOString().slice(0, 19).replace('T', ' ');
}

function formatPeriod(start: number, end: number): string {
  const a = formatTime(start);
  const b = formatTime(end);
  return `${a} – ${b.slice(0, 10) === a.slice(0, 10) ? b.slice(11) : b} UTC (${formatDuration(end - start)})`;
}

// ---- the statistics table ----

export interface StatRow {
  /** label in the table */
  label: string;
  value: (p: Performance) => number;
  format: (x: number) => string;
}

/** The rows of the statistics table, in order. */
export function statRows(currency: string): StatRow[] {
  const money = (label: string, value: (p: Performance) => number): StatRow => ({ label: `${label} (${currency})`, value, format: formatMoney });
  const pct = (label: string, value: (p: Performance) => number): StatRow => ({ label, value, format: formatPercent });
  const ratio = (label: string, value: (p: Performance) => number): StatRow => ({ label, value, format: formatRatio });
  return [
    pct('Total return', (p) => p.totalReturn),
    money('Net P&L', (p) => p.netPnl),
    money('Final equity', (p) => p.finalEquity),
    pct('Annual return (CAGR)', (p) => p.returns.annualReturn),
    pct('Annual volatility', (p) => p.returns.annualVolatility),
    ratio('Sharpe ratio', (p) => p.returns.sharpe),
    ratio('Sortino ratio', (p) => p.returns.sortino),
    ratio('Calmar ratio', (p) => p.returns.calmar),
    ratio('Omega ratio', (p) => p.returns.omega),
    ratio('Tail ratio', (p) => p.returns.tailRatio),
    ratio('Stability (R²)', (p) => p.returns.stability),
    pct('Downside risk (annual)', (p) => p.returns.downsideRisk),
    pct('Max drawdown', (p) => p.maxDrawdown),
    { label: 'Max drawdown duration', value: (p) => p.maxDrawdownDurationMs, format: formatDuration },
    pct('Current drawdown', (p) => p.currentDrawdown),
    money('High-water mark', (p) => p.highWaterMark),
    { label: 'Round trips (closed)', value: (p) => p.trades, format: formatCount },
    { label: 'Wins', value: (p) => p.wins, format: formatCount },
    { label: 'Losses', value: (p) => p.losses, format: formatCount },
    pct('Win rate', (p) => p.winRate),
    ratio('Profit factor', (p) => p.profitFactor),
    money('Expectancy per trip', (p) => p.expectancy),
    money('Average win', (p) => p.averageWin),
    money('Average loss', (p) => p.averageLoss),
    money('Largest win', (p) => p.largestWin),
    money('Largest loss', (p) => p.largestLoss),
    { label: 'Average hold', value: (p) => p.averageHoldMs, format: formatDuration },
    pct('Exposure (time in a position)', (p) => p.exposure),
    { label: 'Turnover (× average equity)', value: (p) => p.turnover, format: formatRatio },
    money('Traded notional', (p) => p.tradedNotional),
    money('Fees', (p) => p.fees),
    { label: 'Return periods', value: (p) => p.returns.periods, format: formatCount },
  ];
}

/** One column of the statistics table: its heading and its performance. */
export interface StatColumn {
  heading: string;
  performance: Performance;
}

function escapeCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table: one row per statistic, one column per scope. */
export function statisticsTable(columns: readonly StatColumn[], currency: string): string {
  const head = `| Statistic | ${columns.map((c) => escapeCell(c.heading)).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---:|').join('')}`;
  const rows = statRows(currency).map((r) => `| ${escapeCell(r.label)} | ${columns.map((c) => escapeCell(r.format(r.value(c.performance)))).join(' | ')} |`);
  return [head, rule, ...rows].join('\n');
}

// ---- charts ----

/** The equity curve drawn: initial cash at the start, every recorded point in [start, end], the last value at the end. */
export function equitySeries(data: SessionData): TimePoint[] {
  const out: TimePoint[] = [{ time: data.start, value: data.session.initialCash }];
  for (const p of data.equity) if (p.time >= data.start && p.time <= data.end) out.push({ time: p.time, value: p.equity });
  const last = out[out.length - 1]!;
  if (data.end > last.time) out.push({ time: data.end, value: last.value });
  return out;
}

const DAY_MS = 86_400_000;

/**
 * Change of equity over each UTC day from the start's day to the end's: the last equity point before the next
 * midnight (and at or before the end) minus the previous day's close; the first day starts at the initial cash.
 */
export function dailyPnl(data: SessionData): DailyPnl[] {
  const points = data.equity.filter((p) => p.time >= data.start && p.time <= data.end);
  const out: DailyPnl[] = [];
  let prev = data.session.initialCash;
  let value = prev;
  let i = 0;
  for (let day = Math.floor(data.start / DAY_MS) * DAY_MS; day <= data.end; day += DAY_MS) {
    const next = day + DAY_MS;
    while (i < points.length && points[i]!.time < next) value = points[i++]!.equity;
    out.push({ day: new Date(day).toISOString().slice(0, 10), pnl: value - prev });
    prev = value;
  }
  return out;
}

/** The four charts of a report, in the order the report shows them. */
export function reportCharts(data: SessionData): ChartSpec[] {
  const series = equitySeries(data);
  const closed = data.trips.filter((t) => t.status === 'CLOSED' && t.closedAt !== null && t.closedAt >= data.start && t.closedAt <= data.end);
  const sub = `session ${data.session.id}`;
  return [
    equityChart(series, data.currency, sub),
    drawdownChart(series, sub),
    dailyPnlChart(dailyPnl(data), data.currency, sub),
    tradeDistributionChart(
      closed.map((t) => t.netPnl),
      data.currency,
      closed.length > 0 ? `${sub}: ${closed.length} closed round trip${closed.length === 1 ? '' : 's'}` : undefined,
    ),
  ];
}

// ---- the report ----

export type SessionPerformance = ReturnType<typeof sessionPerformance>;

export function computePerformance(data: SessionData): SessionPerformance {
  return sessionPerformance({ initialCash: data.session.initialCash, equity: data.equity, trips: data.trips, fills: data.fills, start: data.start, end: data.end });
}

export interface Report {
  /** report.md */
  markdown: string;
  /** file name -> SVG document */
  svgs: Map<string, string>;
  /** stats.json: the performance with NaN and ±Infinity as null */
  json: string;
  performance: SessionPerformance;
  charts: ChartSpec[];
}

function statColumns(perf: SessionPerformance): StatColumn[] {
  return [
    { heading: 'Overall', performance: perf.overall },
    ...Object.entries(perf.bySymbol).map(([k, p]) => ({ heading: `symbol ${k}`, performance: p })),
    ...Object.entries(perf.byStrategy).map(([k, p]) => ({ heading: `strategy ${k}`, performance: p })),
  ];
}

/** report.md for `data`, with the charts as files beside it. */
export function reportMarkdown(data: SessionData, perf: SessionPerformance, charts: readonly ChartSpec[]): string {
  const s = data.session;
  const o = perf.overall;
  const cur = data.currency;
  const closed = o.trades;
  const open = data.trips.filter((t) => t.status === 'OPEN').length;
  const symbols = Object.keys(perf.bySymbol);
  const strategies = Object.keys(perf.byStrategy);
  const lines: string[] = [
    `# Papertape report: session \`${s.id}\``,
    '',
    '| | |',
    '|---|---|',
    `| Session | \`${s.id}\` (papertape ${escapeCell(s.version)}) |`,
    `| Period | ${formatPeriod(data.start, data.end)} |`,
    `| End | ${data.ended ? 'recorded by the session' : 'no end recorded (running, or stopped without one): the last equity point'} |`,
    `| Initial cash | ${formatMoney(s.initialCash)} ${cur} |`,
    `| Final equity | ${formatMoney(o.finalEquity)} ${cur} (${formatPercent(o.totalReturn)}) |`,
    `| Fills | ${formatCount(data.fills.length)} |`,
    `| Round trips | ${formatCount(closed)} closed${open > 0 ? `, ${formatCount(open)} open` : ''} |`,
    `| Symbols | ${symbols.length > 0 ? symbols.map(escapeCell).join(', ') : 'none'} |`,
    `| Strategies | ${strategies.length > 0 ? strategies.map((x) => `\`${escapeCell(x)}\``).join(', ') : 'none'} |`,
    '',
    '## Charts',
    '',
    ...charts.flatMap((c) => [`![${c.title}](${c.name})`, '']),
    '## Statistics',
    '',
  ];
  if (data.fills.length === 0) lines.push('No trades in this session: no fills, so no round trips, fees or exposure; the equity stayed at the initial cash.', '');
  lines.push(
    statisticsTable(statColumns(perf), cur),
    '',
    `Return statistics use the equity at the end of each ${formatDuration(o.periodMs)} period from the session's start ` +
      `(${formatCount(o.returns.periods)} periods), annualized over ${formatCount(o.periodsPerYear)} periods a year (365 days: crypto trades every day), ` +
      'with the definitions of empyrical (docs/statistics.md). Drawdowns run over every recorded equity point. ' +
      'A symbol\'s or strategy\'s column uses its own closed round trips: initial cash plus their cumulative net P&L. ' +
      'n/a: not defined for this data (e.g. no losing period, fewer than two periods, no closed trips).',
    '',
  );
  return lines.join('\n');
}

/** Builds the whole report: statistics, the four charts as SVG, report.md and stats.json. */
export async function buildReport(data: SessionData): Promise<Report> {
  const perf = computePerformance(data);
  const charts = reportCharts(data);
  const svgs = new Map<string, string>();
  for (const c of charts) svgs.set(c.name, await renderSvg(c.spec));
  const json = `${JSON.stringify(jsonSafe({ session: data.session.id, start: data.start, end: data.end, currency: data.currency, ...perf }), null, 2)}\n`;
  return { markdown: reportMarkdown(data, perf, charts), svgs, json, performance: perf, charts };
}

// ---- the README block ----

/** A relative link from `fromDir` to `file`, with forward slashes. */
export function relativeLink(fromDir: string, file: string): string {
  const rel = path.relative(fromDir, file).split(path.sep).join('/');
  return rel === '' ? '.' : rel;
}

/**
 * The summary put between the METRICS markers: the key statistics and the charts, linked relative to the
 * README's directory. Deterministic (no generation time), so a second run over the same data changes nothing.
 */
export function readmeSummary(data: SessionData, perf: SessionPerformance, charts: readonly ChartSpec[], readmeDir: string, outDir: string): string {
  const o = perf.overall;
  const cur = data.currency;
  const link = (name: string): string => relativeLink(readmeDir, path.join(outDir, name));
  const rows: [string, string][] = [
    ['Period', formatPeriod(data.start, data.end)],
    ['Total return', formatPercent(o.totalReturn)],
    [`Net P&L (${cur})`, formatMoney(o.netPnl)],
    ['Sharpe ratio (annualized)', formatRatio(o.returns.sharpe)],
    ['Sortino ratio', formatRatio(o.returns.sortino)],
    ['Max drawdown', formatPercent(o.maxDrawdown)],
    ['Round trips (closed)', formatCount(o.trades)],
    ['Win rate', formatPercent(o.winRate)],
    ['Profit factor', formatRatio(o.profitFactor)],
    [`Fees (${cur})`, formatMoney(o.fees)],
  ];
  return [
    `Session \`${data.session.id}\`, from \`papertape report\` (full report with every statistic per symbol and strategy: [${REPORT_FILE}](${link(REPORT_FILE)})):`,
    '',
    '| Statistic | Value |',
    '|---|---:|',
    ...rows.map(([k, v]) => `| ${escapeCell(k)} | ${escapeCell(v)} |`),
    '',
    charts.map((c) => `![${c.title}](${link(c.name)})`).join('\n'),
  ].join('\n');
}

export type MarkersErrorCode = 'no-markers' | 'markers-order' | 'markers-repeated';

/** Offsets of the lines that hold nothing but `marker` (blanks around it allowed): [line start, offset after its line ending]. */
function markerLines(text: string, marker: string): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  while (from <= text.length) {
    const nl = text.indexOf('\n', from);
    const end = nl === -1 ? text.length : nl + 1;
    if (text.slice(from, nl === -1 ? text.length : nl).trim() === marker) out.push([from, end]);
    if (nl === -1) break;
    from = end;
  }
  return out;
}

/**
 * `text` with the lines between the METRICS_START and METRICS_END marker lines replaced by `block`; the marker
 * lines and everything outside them stay byte for byte. A marker counts only on a line of its own (so a README
 * may mention the markers in its text). The block takes the file's line ending (CRLF when the file uses it).
 * Each marker line must occur exactly once, START before END.
 */
export function replaceMetricsBlock(text: string, block: string): Result<string, MarkersErrorCode> {
  const starts = markerLines(text, METRICS_START);
  const ends = markerLines(text, METRICS_END);
  if (starts.length === 0 || ends.length === 0) {
    const missing = [starts.length === 0 ? METRICS_START : null, ends.length === 0 ? METRICS_END : null].filter(Boolean).join(' and ');
    return err('no-markers', `no line with just ${missing}: put ${METRICS_START} and ${METRICS_END} on lines of their own where the summary should go`);
  }
  if (starts.length > 1 || ends.length > 1) {
    return err('markers-repeated', `${METRICS_START} and ${METRICS_END} must each have one line (found ${starts.length} and ${ends.length})`);
  }
  const [, afterStart] = starts[0]!;
  const [endLine] = ends[0]!;
  if (endLine < afterStart) return err('markers-order', `${METRICS_END} comes before ${METRICS_START}`);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  // the START line ends with a line break: the END line comes after it
  return ok(`${text.slice(0, afterStart)}${block.replace(/\r?\n/g, eol)}${eol}${text.slice(endLine)}`);
}
