import { afterEach, describe, expect, it } from 'vitest';
import type { Fill, Order } from '../model/order.js';
import type { RoundTrip } from '../portfolio/portfolio.js';
import { Store } from '../store/db.js';
import {
  buildReport,
  dailyPnl,
  equitySeries,
  formatCount,
  formatDuration,
  formatMoney,
  formatPercent,
  formatRatio,
  loadSession,
  METRICS_END,
  METRICS_START,
  quoteCurrency,
  readmeSummary,
  relativeLink,
  replaceMetricsBlock,
  reportCharts,
  statRows,
  type SessionData,
} from './report.js';

const T0 = Date.parse('2024-08-08T22:00:00Z');
const H = 3_600_000;

let stores: Store[] = [];
afterEach(() => {
  for (const s of stores) s.close();
  stores = [];
});

function memoryStore(): Store {
  const s = Store.open(':memory:');
  stores.push(s);
  return s;
}

/** Records a fill (with its order, the trip it closes, and an equity point) as the engine would. */
function fill(store: Store, session: string, n: number, o: { time: number; symbol?: string; strategy?: string; side: 'BUY' | 'SELL'; price: number; equity: number; trip?: Partial<RoundTrip> }): void {
  const symbol = o.symbol ?? 'BTCUSDT';
  const strategy = o.strategy ?? 'obi@1';
  const order: Order = {
    id: `${session}-${n}`, venue: 'spot', symbol, side: o.side, type: 'MARKET', timeInForce: 'IOC', postOnly: false, qty: 0.01, price: null,
    strategy, reason: 'test', status: 'FILLED', filledQty: 0.01, avgPrice: o.price, createdAt: o.time - 30, updatedAt: o.time,
  };
  const f: Fill = {
    id: `f${n}`, orderId: order.id, venue: 'spot', symbol, side: o.side, price: o.price, qty: 0.01, fee: o.price * 0.01 * 0.001, liquidity: 'taker',
    strategy, time: o.time, receivedAt: o.time + 30, realizedPnl: 0,
  };
  const trips: RoundTrip[] = o.trip
    ? [{
        id: `spot:${symbol}:${n}`, venue: 'spot', symbol, strategy, direction: 'LONG', status: 'CLOSED', qty: 0.01, entryPrice: 60_000, exitPrice: o.price,
        openedAt: o.time - 60_000, closedAt: o.time, realizedPnl: 0, fees: 1, netPnl: 0, fills: 2, ...o.trip,
      }]
    : [];
  store.recordFill(session, f, order, trips, { time: o.time, cash: o.equity, equity: o.equity, realizedPnl: 0, unrealizedPnl: 0, fees: 0, initialCash: 10_000, grossExposure: 0 });
}

describe('replaceMetricsBlock', () => {
  const readme = `# Title\n\nIntro text.\n\n## Measured figures\n\n${METRICS_START}\nold summary\nmore\n${METRICS_END}\n\nTail | with a table |\n`;

  it('replaces what is between the markers and keeps every other byte', () => {
    const r = replaceMetricsBlock(readme, '| a | b |\n|---|---|');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const text = r.value;
    expect(text).toBe(`# Title\n\nIntro text.\n\n## Measured figures\n\n${METRICS_START}\n| a | b |\n|---|---|\n${METRICS_END}\n\nTail | with a table |\n`);
    expect(text.slice(0, text.indexOf(METRICS_START))).toBe(readme.slice(0, readme.indexOf(METRICS_START)));
    expect(text.slice(text.indexOf(METRICS_END))).toBe(readme.slice(readme.indexOf(METRICS_END)));
  });

  it('is idempotent: a second run over its own output changes nothing', () => {
    const once = replaceMetricsBlock(readme, 'summary');
    expect(once.ok).toBe(true);
    if (!once.ok) return;
    const twice = replaceMetricsBlock(once.value, 'summary');
    expect(twice).toEqual(once);
  });

  it('keeps CRLF line endings in a CRLF file', () => {
    const crlf = readme.replace(/\n/g, '\r\n');
    const r = replaceMetricsBlock(crlf, 'line 1\nline 2');
    expect(r.ok && r.value).toBe(crlf.replace('old summary\r\nmore', 'line 1\r\nline 2'));
  });

  it('counts a marker only on a line of its own, so the text may mention the markers', () => {
    const doc = `Put \`${METRICS_START}\` and \`${METRICS_END}\` in your README.\n\n  ${METRICS_START}  \nold\n${METRICS_END}\ntail`;
    const r = replaceMetricsBlock(doc, 'x');
    expect(r.ok && r.value).toBe(`Put \`${METRICS_START}\` and \`${METRICS_END}\` in your README.\n\n  ${METRICS_START}  \nx\n${METRICS_END}\ntail`);
  });

  it.each([
    { name: 'no markers', text: '# Title\n\nNothing here.\n', code: 'no-markers', message: /no line with just <!-- METRICS_START --> and <!-- METRICS_END -->/ },
    { name: 'only the start marker', text: `a\n${METRICS_START}\nb\n`, code: 'no-markers', message: /no line with just <!-- METRICS_END -->:/ },
    { name: 'only the end marker', text: `a\n${METRICS_END}\nb\n`, code: 'no-markers', message: /no line with just <!-- METRICS_START -->:/ },
    { name: 'reversed markers', text: `a\n${METRICS_END}\nb\n${METRICS_START}\nc\n`, code: 'markers-order', message: /comes before/ },
    { name: 'a repeated marker', text: `${METRICS_START}\n${METRICS_END}\n${METRICS_START}\n${METRICS_END}\n`, code: 'markers-repeated', message: /must each have one line \(found 2 and 2\)/ },
  ])('refuses $name', ({ text, code, message }) => {
    const r = replaceMetricsBlock(text, 'x');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.code).toBe(code);
    expect(r.message).toMatch(message);
  });
});

describe('number formats', () => {
  it.each([
    [formatPercent, 0.123456, '12.35%'],
    [formatPercent, -0.000117, '-0.0117%'],
    [formatPercent, 0, '0.00%'],
    [formatPercent, -0.0, '0.00%'],
    [formatPercent, 0.005, '0.500%'],
    [formatPercent, 123456, '1.23e+7%'],
    [formatPercent, Number.NaN, 'n/a'],
    [formatMoney, -1234.567, '-1,234.57'],
    [formatMoney, 0.03456, '0.0346'],
    [formatMoney, -0.5, '-0.50'],
    [formatMoney, 0.235, '0.235'],
    [formatMoney, 0.0000123, '0.0000123'],
    [formatMoney, 0, '0.00'],
    [formatMoney, Number.NaN, 'n/a'],
    [formatRatio, -218.5905, '-218.59'],
    [formatRatio, 1.004e7, '1.00e+7'],
    [formatRatio, Infinity, '∞'],
    [formatRatio, -Infinity, '-∞'],
    [formatCount, 12345, '12,345'],
    [formatDuration, 350, '350 ms'],
    [formatDuration, 12_345, '12.3 s'],
    [formatDuration, 245_000, '4 m 05 s'],
    [formatDuration, 2 * H + 3 * 60_000, '2 h 03 m'],
    [formatDuration, 76 * H, '3 d 04 h'],
    [formatDuration, Number.NaN, 'n/a'],
  ] as const)('%o(%d) = %s', (fn, x, want) => {
    expect((fn as (x: number) => string)(x)).toBe(want);
  });

  it('names the quote currency the symbols share', () => {
    expect(quoteCurrency(['BTCUSDT', 'ETHUSDT'])).toBe('USDT');
    expect(quoteCurrency(['BTCFDUSD'])).toBe('FDUSD');
    expect(quoteCurrency(['BTCUSDT', 'ETHBTC'])).toBe('quote');
    expect(quoteCurrency([])).toBe('quote');
  });
});

describe('loadSession', () => {
  it('refuses a database without sessions and names an unknown session with the ones it has', () => {
    const store = memoryStore();
    const none = loadSession(store);
    expect(none.ok).toBe(false);
    if (!none.ok) expect(none.code).toBe('no-sessions');
    store.startSession({ id: 'live-1', startedAt: T0, config: {}, initialCash: 10_000, version: '0.1.0' });
    const unknown = loadSession(store, 'ghost');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) {
      expect(unknown.code).toBe('no-session');
      expect(unknown.message).toMatch(/no session "ghost" \(newest: live-1\)/);
    }
  });

  it('takes the newest session that is not a shadow variant, and ends an open session at its last equity point', () => {
    const store = memoryStore();
    store.startSession({ id: 'old', startedAt: T0 - H, config: {}, initialCash: 10_000, version: '0.1.0' });
    store.startSession({ id: 'bt-1', startedAt: T0, config: {}, initialCash: 10_000, version: '0.1.0' });
    store.startSession({ id: 'bt-1~wide', startedAt: T0, config: {}, initialCash: 10_000, version: '0.1.0' });
    fill(store, 'bt-1', 1, { time: T0 + 1000, side: 'BUY', price: 60_000, equity: 9_999 });
    fill(store, 'bt-1', 2, { time: T0 + 5000, side: 'SELL', price: 60_010, equity: 10_000.5, trip: { netPnl: 1.5 } });
    const r = loadSession(store);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.session.id).toBe('bt-1');
    expect(r.value.ended).toBe(false);
    expect(r.value.start).toBe(T0);
    expect(r.value.end).toBe(T0 + 5000);
    expect(r.value.fills).toHaveLength(2);
    expect(r.value.trips.map((t) => t.netPnl)).toEqual([1.5]);
    expect(r.value.currency).toBe('USDT');
    store.endSession('bt-1', T0 + 60_000);
    const ended = loadSession(store, 'bt-1');
    expect(ended.ok && ended.value.end).toBe(T0 + 60_000);
    expect(ended.ok && ended.value.ended).toBe(true);
  });
});

function data(over: Partial<SessionData> = {}): SessionData {
  return {
    session: { id: 's1', startedAt: T0, endedAt: T0 + 30 * H, config: {}, initialCash: 10_000, version: '0.1.0' },
    start: T0,
    end: T0 + 30 * H,
    ended: true,
    equity: [],
    trips: [],
    fills: [],
    currency: 'USDT',
    ...over,
  };
}

describe('series for the charts', () => {
  it('daily P&L is the change of equity over each UTC day, the first from the initial cash', () => {
    // 22:00 on the 8th to 04:00 on the 10th: three UTC days
    const d = data({
      equity: [
        { time: T0 + H, equity: 10_010 }, // 23:00 on the 8th
        { time: T0 + 3 * H, equity: 10_004 }, // 01:00 on the 9th
        { time: T0 + 20 * H, equity: 10_020 }, // 18:00 on the 9th
        { time: T0 + 27 * H, equity: 10_001 }, // 01:00 on the 10th
      ],
    });
    const days = dailyPnl(d);
    expect(days.map((x) => x.day)).toEqual(['2024-08-08', '2024-08-09', '2024-08-10']);
    [10, 10, -19].forEach((want, i) => expect(days[i]!.pnl).toBeCloseTo(want, 9));
  });

  it('the equity curve starts at the initial cash at the start and holds its last value until the end', () => {
    const d = data({ equity: [{ time: T0 + H, equity: 10_010 }] });
    expect(equitySeries(d)).toEqual([
      { time: T0, value: 10_000 },
      { time: T0 + H, value: 10_010 },
      { time: T0 + 30 * H, value: 10_010 },
    ]);
  });
});

describe('buildReport', () => {
  it('reports an empty session with flat charts and "no trades"', async () => {
    const r = await buildReport(data());
    expect([...r.svgs.keys()]).toEqual(['equity.svg', 'drawdown.svg', 'daily-pnl.svg', 'trade-distribution.svg']);
    expect(r.markdown).toMatch(/No trades in this session/);
    for (const name of r.svgs.keys()) expect(r.markdown).toContain(`](${name})`);
    expect(r.svgs.get('trade-distribution.svg')).toContain('no closed round trips');
    expect(r.svgs.get('trade-distribution.svg')).not.toContain('aria-roledescription="bar"');
    expect(r.markdown).toMatch(/^\| Round trips \(closed\) \| 0 \|$/m);
    expect(r.markdown).toMatch(/^\| Total return \| 0\.00% \|$/m);
    expect(r.markdown).toMatch(/^\| Profit factor \| n\/a \|$/m);
    expect(JSON.parse(r.json).overall.returns.sharpe).toBeNull();
  });

  it('has one column per symbol and per strategy, each cell the formatted statistic', async () => {
    const store = memoryStore();
    store.startSession({ id: 'bt-2', startedAt: T0, config: {}, initialCash: 10_000, version: '0.1.0' });
    fill(store, 'bt-2', 1, { time: T0 + 60_000, side: 'BUY', price: 60_000, equity: 9_999 });
    fill(store, 'bt-2', 2, { time: T0 + 120_000, side: 'SELL', price: 60_300, equity: 10_002, trip: { netPnl: 3 } });
    fill(store, 'bt-2', 3, { time: T0 + 180_000, symbol: 'ETHUSDT', strategy: 'obi@2', side: 'BUY', price: 2_500, equity: 10_001 });
    fill(store, 'bt-2', 4, { time: T0 + 400_000, symbol: 'ETHUSDT', strategy: 'obi@2', side: 'SELL', price: 2_490, equity: 9_999.5, trip: { netPnl: -2.5 } });
    store.endSession('bt-2', T0 + 600_000);
    const loaded = loadSession(store);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const r = await buildReport(loaded.value);
    const header = r.markdown.split('\n').find((l) => l.startsWith('| Statistic |'))!;
    expect(header).toBe('| Statistic | Overall | symbol BTCUSDT | symbol ETHUSDT | strategy obi@1 | strategy obi@2 |');
    const perf = r.performance;
    const scopes = [perf.overall, perf.bySymbol['BTCUSDT']!, perf.bySymbol['ETHUSDT']!, perf.byStrategy['obi@1']!, perf.byStrategy['obi@2']!];
    for (const row of statRows('USDT')) {
      const line = r.markdown.split('\n').find((l) => l.startsWith(`| ${row.label} |`));
      expect(line, row.label).toBeDefined();
      expect(line).toBe(`| ${row.label} | ${scopes.map((p) => row.format(row.value(p))).join(' | ')} |`);
    }
    expect(perf.overall.trades).toBe(2);
    expect(r.markdown).toMatch(/^\| Round trips \(closed\) \| 2 \| 1 \| 1 \| 1 \| 1 \|$/m);
    expect(r.markdown).toMatch(/^\| Net P&L \(USDT\) \| -0\.50 \| 3\.00 \| -2\.50 \| 3\.00 \| -2\.50 \|$/m);
    // the trade histogram holds both trips
    const hist = reportCharts(loaded.value)[3]!.spec as { data: { values: { count: number }[] } };
    expect(hist.data.values.reduce((s, b) => s + b.count, 0)).toBe(2);
    // the same data gives the same bytes
    const again = await buildReport(loaded.value);
    expect(again.markdown).toBe(r.markdown);
    for (const [k, v] of r.svgs) expect(again.svgs.get(k)).toBe(v);
  });
});

describe('readmeSummary', () => {
  it('links the report and the charts relative to the README', async () => {
    const d = data();
    const r = await buildReport(d);
    const inside = readmeSummary(d, r.performance, r.charts, '/repo', '/repo/docs/report');
    expect(inside).toContain('[report.md](docs/report/report.md)');
    expect(inside).toContain('![Equity curve](docs/report/equity.svg)');
    expect(inside).toContain('![Trade distribution](docs/report/trade-distribution.svg)');
    expect(inside).toMatch(/^\| Total return \| 0\.00% \|$/m);
    const outside = readmeSummary(d, r.performance, r.charts, '/repo/sub', '/elsewhere/out');
    expect(outside).toContain('![Drawdown (underwater)](../../elsewhere/out/drawdown.svg)');
    expect(relativeLink('/a', '/a')).toBe('.');
  });
});
