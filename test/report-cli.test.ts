import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionPerformance, type Performance } from '../src/portfolio/performance.js';
import { METRICS_END, METRICS_START, statRows } from '../src/report/report.js';
import { Store } from '../src/store/db.js';
import { SPOT_FILES } from './support/data.js';
import { papertape } from './support/procs.js';

/**
 * `papertape report` end to end: a real backtest over the recorded spot BTCUSDT files writes the database, the
 * built CLI (dist/, built by `npm test` / `npm run build`) writes the report.
 */
const dir = mkdtempSync(join(tmpdir(), 'papertape-report-'));
const db = join(dir, 'bt.db');
const out = join(dir, 'out');
const readme = join(dir, 'README.md');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The backtest test's passive OBI (post-only, short cooldown, no warm-up): it trades on these files; one shadow variant beside it. */
const TRADING = { OBI_ORDER_TYPE: 'post-only', OBI_COOLDOWN_MS: '500', LATENCY_JITTER_MS: '4', WARMUP_SECONDS: '0', SHADOW: 'slow:OBI_COOLDOWN_MS=5000' };

const README_HEAD = '# Demo project\n\nSome intro with a | pipe and `code`.\n\n## Measured figures\n\n';
const README_TAIL = '\n\n## Layout\n\nText after the block.\n';
const README = `${README_HEAD}${METRICS_START}\nstale figures\n${METRICS_END}${README_TAIL}`;

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = papertape(args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function expectSvg(file: string): void {
  const text = readFileSync(file, 'utf8');
  expect(XMLValidator.validate(text), file).toBe(true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(text) as Record<string, Record<string, string>>;
  expect(doc['svg'], file).toBeDefined();
  expect(doc['svg']!['xmlns']).toBe('http://www.w3.org/2000/svg');
  expect(Number(doc['svg']!['width'])).toBeGreaterThan(100);
}

/** The statistics table of report.md: label -> cells. */
function statsTable(md: string): { header: string[]; rows: Map<string, string[]> } {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| Statistic |'));
  expect(start).toBeGreaterThan(0);
  const cells = (l: string): string[] => l.slice(2, -2).split(' | ');
  const rows = new Map<string, string[]>();
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const [label, ...rest] = cells(lines[i]!);
    rows.set(label!, rest);
  }
  return { header: cells(lines[start]!), rows };
}

/** A formatted number back to a number: "-1,234.56" -> -1234.56, "12.3%" -> 0.123. */
function parseNumber(s: string): number {
  const pct = s.endsWith('%');
  const n = Number(s.replace(/%$/, '').replace(/,/g, ''));
  return pct ? n / 100 : n;
}

let summary: Record<string, any>;
let perf: ReturnType<typeof sessionPerformance>;

beforeAll(async () => {
  const bt = await run(['backtest', ...SPOT_FILES, '--db', db, '--json', '--no-progress'], { DATA_DIR: dir, ...TRADING });
  expect(bt.code, bt.stderr).toBe(0);
  summary = JSON.parse(bt.stdout) as Record<string, any>;
  expect(summary['fills']).toBeGreaterThan(0);
  expect(summary['trades']).toBeGreaterThan(0);
  // the statistics as src/portfolio/performance.ts computes them, from the store directly
  const store = Store.open(db, { readonly: true });
  try {
    const s = store.getSession(summary['sessionId'] as string)!;
    expect(s.endedAt).not.toBeNull();
    perf = sessionPerformance({
      initialCash: s.initialCash,
      equity: store.equityCurve(s.id),
      trips: store.listTrades(s.id, { limit: 1_000_000 }),
      fills: store.allFills(s.id),
      start: s.startedAt,
      end: s.endedAt!,
    });
  } finally {
    store.close();
  }
}, 120_000);

describe('papertape report', () => {
  it('writes report.md with four valid SVG charts and the statistics of the session, and updates only the README block', async () => {
    writeFileSync(readme, README);
    const before = sha(db);
    const r = await run(['report', '--db', db, '--out', out, '--readme', readme]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`session ${summary['sessionId']}`);

    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`# Papertape report: session \`${summary['sessionId']}\``); // the trading session, not the shadow variant
    const svgs = [...md.matchAll(/!\[[^\]]+\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(svgs).toEqual(['equity.svg', 'drawdown.svg', 'daily-pnl.svg', 'trade-distribution.svg']);
    for (const f of svgs) expectSvg(join(out, f));
    expect(readFileSync(join(out, 'trade-distribution.svg'), 'utf8')).toContain('aria-roledescription="bar"');

    // the table: overall, then per symbol and per strategy version, each cell what sessionPerformance gives
    const { header, rows } = statsTable(md);
    const symbols = Object.keys(perf.bySymbol);
    const strategies = Object.keys(perf.byStrategy);
    expect(symbols).toEqual(['BTCUSDT']);
    expect(strategies.length).toBeGreaterThanOrEqual(1);
    expect(strategies.every((s) => /^[a-z]+@\d/.test(s))).toBe(true);
    expect(header).toEqual(['Statistic', 'Overall', ...symbols.map((s) => `symbol ${s}`), ...strategies.map((s) => `strategy ${s}`)]);
    const scopes: Performance[] = [perf.overall, ...symbols.map((s) => perf.bySymbol[s]!), ...strategies.map((s) => perf.byStrategy[s]!)];
    for (const row of statRows('USDT')) {
      expect(rows.get(row.label), row.label).toEqual(scopes.map((p) => row.format(row.value(p))));
    }
    // and the numbers agree with the backtest's own summary
    const overall = (label: string): string => rows.get(label)![0]!;
    expect(parseNumber(overall('Round trips (closed)'))).toBe(summary['trades']);
    expect(parseNumber(overall('Net P&L (USDT)'))).toBeCloseTo(summary['pnl'] as number, 2);
    expect(parseNumber(overall('Fees (USDT)'))).toBeCloseTo(summary['fees'] as number, 2);
    expect(parseNumber(overall('Total return'))).toBeCloseTo((summary['finalEquity'] - summary['initialBalance']) / summary['initialBalance'], 6);
    expect(md).toMatch(new RegExp(`^\\| Fills \\| ${summary['fills']} \\|$`, 'm'));

    // README: the block replaced, every other byte as it was
    const text = readFileSync(readme, 'utf8');
    expect(text.startsWith(`${README_HEAD}${METRICS_START}\n`)).toBe(true);
    expect(text.endsWith(`\n${METRICS_END}${README_TAIL}`)).toBe(true);
    const block = text.slice(README_HEAD.length + METRICS_START.length, text.length - README_TAIL.length - METRICS_END.length);
    expect(block).not.toContain('stale figures');
    expect(block).toContain(`| Total return | ${overall('Total return')} |`);
    expect(block).toContain(`| Round trips (closed) | ${overall('Round trips (closed)')} |`);
    const links = [...block.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toEqual(['out/report.md', 'out/equity.svg', 'out/drawdown.svg', 'out/daily-pnl.svg', 'out/trade-distribution.svg']);
    for (const l of links) expect(existsSync(resolve(dirname(readme), l)), l).toBe(true);
    expect([...readdirSync(dir), ...readdirSync(out)].filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(sha(db)).toBe(before);
  }, 60_000);

  it('gives the same bytes when run again, and leaves the README as it is', async () => {
    const readmeBefore = readFileSync(readme, 'utf8');
    const files = ['report.md', 'stats.json', 'equity.svg', 'drawdown.svg', 'daily-pnl.svg', 'trade-distribution.svg'];
    const first = files.map((f) => readFileSync(join(out, f), 'utf8'));
    const r = await run(['report', '--db', db, '--out', out, '--readme', readme]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('already up to date');
    expect(readFileSync(readme, 'utf8')).toBe(readmeBefore);
    expect(files.map((f) => readFileSync(join(out, f), 'utf8'))).toEqual(first);
  }, 60_000);

  it('reports a chosen session (a shadow variant) and reads DATA_DIR/papertape.db by default', async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    copyFileSync(db, join(dataDir, 'papertape.db'));
    const shadow = `${summary['sessionId']}~slow`;
    const out2 = join(dir, 'shadow');
    const r = await run(['report', '--session', shadow, '--out', out2], { DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(out2, 'report.md'), 'utf8')).toContain(`# Papertape report: session \`${shadow}\``);
  }, 60_000);

  it('reports a session without fills: flat charts and "no trades"', async () => {
    const empty = join(dir, 'empty.db');
    const store = Store.open(empty);
    store.startSession({ id: 'live-empty', startedAt: Date.parse('2024-08-08T23:00:00Z'), config: { SYMBOLS: ['BTCUSDT'] }, initialCash: 5_000, version: '0.1.0' });
    store.close();
    const out3 = join(dir, 'empty-out');
    const r = await run(['report', '--db', empty, '--out', out3]);
    expect(r.code, r.stderr).toBe(0);
    const md = readFileSync(join(out3, 'report.md'), 'utf8');
    expect(md).toContain('No trades in this session');
    expect(md).toMatch(/^\| Final equity \| 5,000\.00 USDT \(0\.00%\) \|$/m);
    for (const f of ['equity.svg', 'drawdown.svg', 'daily-pnl.svg', 'trade-distribution.svg']) expectSvg(join(out3, f));
    expect(readFileSync(join(out3, 'trade-distribution.svg'), 'utf8')).toContain('no closed round trips');
  }, 60_000);
});

describe('papertape report refuses bad input (exit 2, a message, nothing written)', () => {
  const refusedOut = join(dir, 'refused');
  const notDb = join(dir, 'not-a.db');
  const noSessions = join(dir, 'no-sessions.db');
  beforeAll(() => {
    writeFileSync(notDb, 'date,price\n2024-08-08,61000\n'.repeat(20));
    Store.open(noSessions).close();
  });

  it.each([
    { name: 'a missing --db file', args: () => ['--db', join(dir, 'missing.db')], message: /--db: no database at .*missing\.db/ },
    { name: 'a file that is no database', args: () => ['--db', notDb], message: /cannot read .*not-a\.db as a papertape database/ },
    { name: 'a database without sessions', args: () => ['--db', noSessions], message: /has no sessions/ },
    { name: 'an unknown session', args: () => ['--db', db, '--session', 'ghost'], message: /has no session "ghost" \(newest: bt-/ },
    { name: 'an unknown option', args: () => ['--db', db, '--bogus'], message: /unknown option '--bogus'/ },
    { name: 'an empty --session', args: () => ['--db', db, '--session', ''], message: /--session must not be empty/ },
  ])('$name', async ({ args, message }) => {
    const r = await run(['report', ...args(), '--out', refusedOut]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(refusedOut)).toBe(false);
  });

  it('a missing default database names DATA_DIR', async () => {
    const emptyDir = mkdtempSync(join(dir, 'nodata-'));
    const r = await run(['report', '--out', refusedOut], { DATA_DIR: emptyDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`papertape report: no database at ${join(emptyDir, 'papertape.db')} (DATA_DIR/papertape.db with DATA_DIR=${emptyDir}); choose one with --db FILE\n`);
  });

  it.each([
    { name: 'without markers', text: '# Title\n\nNo markers here.\n', message: /no line with just <!-- METRICS_START --> and <!-- METRICS_END -->/ },
    { name: 'with reversed markers', text: `# T\n${METRICS_END}\nx\n${METRICS_START}\n`, message: /<!-- METRICS_END --> comes before <!-- METRICS_START -->/ },
  ])('a README $name: the README untouched, no report written', async ({ text, message }) => {
    const file = join(dir, 'NOMARKERS.md');
    writeFileSync(file, text);
    const r = await run(['report', '--db', db, '--out', refusedOut, '--readme', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/the file is unchanged/);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(existsSync(refusedOut)).toBe(false);
  });

  it('a missing README', async () => {
    const r = await run(['report', '--db', db, '--out', refusedOut, '--readme', join(dir, 'NOPE.md')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--readme: cannot read .*NOPE\.md: no such file/);
    expect(existsSync(refusedOut)).toBe(false);
  });
});
