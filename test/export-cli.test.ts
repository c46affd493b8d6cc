import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fill, Order } from '../src/model/order.js';
import { Store } from '../src/store/db.js';
import { EXPORT_COLUMNS } from '../src/store/export.js';
import { LATEST_VERSION } from '../src/store/migrations.js';
import { papertape } from './support/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-export-cli-'));
const db = join(dir, 'papertape.db');
const START = Date.parse('2024-08-08T23:00:00Z');
const N = 600;

/** Runs `papertape export ...` (the built CLI) to the end. */
async function exportCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = papertape(['export', ...args], env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else field += text[i++];
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a quoted field at ${i}`);
      if (field === '') field = '\u0000empty'; // "" is an empty string, not null
    } else if (c === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 2;
    } else {
      if (c === '\n' || c === '\r') throw new Error(`bare line break at ${i}`);
      field += c;
      i++;
    }
  }
  if (field !== '' || record.length > 0) throw new Error('last record without CRLF');
  return records.map((r) => r.map((f) => (f === '\u0000empty' ? '' : f)));
}

/** A small deterministic generator (numbers with long fractions, tiny fees, negative P&L). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function buildDatabase(file: string): void {
  const rnd = lcg(42);
  const store = Store.open(file);
  try {
    for (const [k, id] of ['live-1', 'live-2'].entries()) {
      store.startSession({ id, startedAt: START + k * 60_000, config: {}, initialCash: 10_000, version: '0.1.0' });
      for (let i = 0; i < N / 2; i++) {
        const t = START + k * 60_000 + i * 997 + rnd() * 3;
        const side = rnd() < 0.5 ? 'BUY' : 'SELL';
        const price = 61000 + rnd() * 100;
        const qty = Math.round(rnd() * 1e5) / 1e8 + 1e-8;
        const o: Order = {
          id: `${id}-${i}`, venue: 'spot', symbol: 'BTCUSDT', side, type: 'LIMIT', timeInForce: 'GTC', postOnly: i % 3 === 0, qty, price,
          strategy: 'obi@1', reason: i % 7 === 0 ? `imbalance ${rnd().toFixed(3)}, "strong"\nsecond line` : 'imbalance', status: 'FILLED',
          filledQty: qty, avgPrice: price, createdAt: t, updatedAt: t + 1,
        };
        const f: Fill = {
          id: `f-${i}`, orderId: o.id, venue: 'spot', symbol: 'BTCUSDT', side, price, qty, fee: price * qty * 0.0001, liquidity: 'maker',
          strategy: 'obi@1', time: t + 1, receivedAt: t + 1 + rnd() * 10, realizedPnl: (rnd() - 0.5) * 1e-6 * i,
        };
        const cash = 10_000 - price * qty * i * 0.1;
        store.recordFill(id, f, o, [], {
          time: f.time, cash, equity: cash + qty * price, realizedPnl: f.realizedPnl, unrealizedPnl: -rnd(), fees: f.fee * i, initialCash: 10_000,
          grossExposure: qty * price,
        });
      }
    }
  } finally {
    store.close();
  }
}

function dbRows(file: string, sql: string, ...params: unknown[]): Array<Record<string, unknown>> {
  const d = new Database(file, { readonly: true });
  try {
    return d.prepare(sql).all(...params) as Array<Record<string, unknown>>;
  } finally {
    d.close();
  }
}

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

beforeAll(() => buildDatabase(db));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('papertape export', () => {
  it('writes fills as CSV that parses back to the same numbers, and leaves the database as it was', async () => {
    const before = sha(db);
    const r = await exportCli(['--db', db]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [header, ...records] = parseCsv(r.stdout);
    expect(header).toEqual(EXPORT_COLUMNS.fills);
    const stored = dbRows(db, 'SELECT * FROM fills ORDER BY time, rowid');
    expect(records).toHaveLength(N);
    const numeric = ['price', 'qty', 'fee', 'realized_pnl', 'time', 'received_at'];
    records.forEach((rec, i) => {
      const row = Object.fromEntries(header!.map((h, j) => [h, rec[j]!]));
      const want = stored[i]!;
      for (const c of ['session_id', 'id', 'order_id', 'venue', 'symbol', 'side', 'liquidity', 'strategy']) expect(row[c]).toBe(want[c]);
      for (const c of numeric) {
        expect(row[c], c).toMatch(/^-?\d+(\.\d+)?$/); // plain decimals, no exponent
        expect(Number(row[c]), c).toBe(want[c]);
      }
      expect(row['time_iso']).toBe(new Date(Math.floor(want['time'] as number)).toISOString());
      expect(row['received_at_iso']).toBe(new Date(Math.floor(want['received_at'] as number)).toISOString());
    });
    expect(records.some((rec) => /e/i.test(rec[header!.indexOf('fee')]!))).toBe(false);
    expect(sha(db)).toBe(before);
  });

  it('quotes reasons with commas, quotes and line breaks so they read back intact', async () => {
    const r = await exportCli(['--db', db, '--what', 'orders', '--session', 'live-2']);
    expect(r.code).toBe(0);
    const [header, ...records] = parseCsv(r.stdout);
    expect(header).toEqual(EXPORT_COLUMNS.orders);
    const stored = dbRows(db, `SELECT * FROM orders WHERE session_id = 'live-2' ORDER BY created_at, rowid`);
    expect(records.map((rec) => rec[header!.indexOf('reason')])).toEqual(stored.map((s) => s['reason']));
    expect(records.map((rec) => rec[header!.indexOf('post_only')])).toEqual(stored.map((s) => (s['post_only'] === 1 ? 'true' : 'false')));
    expect(records.map((rec) => rec[header!.indexOf('reject_reason')])).toEqual(stored.map(() => ''));
    expect(records.some((rec) => rec[header!.indexOf('reason')]!.includes('"strong"\n'))).toBe(true);
  });

  it('filters by --from (inclusive) and --to (exclusive) in any offset, and writes JSON Lines', async () => {
    const stored = dbRows(db, `SELECT time FROM equity ORDER BY time, rowid`).map((r) => r['time'] as number);
    const from = new Date(Math.ceil(stored[100]!)).toISOString(); // whole ms: the first point at or after it is #101 (or #100 if integral)
    const to = '2024-08-09T02:10:00+03:00'; // 23:10Z
    const r = await exportCli(['--db', db, '--what', 'equity', '--format', 'jsonl', '--from', from, '--to', to]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
    const fromMs = Date.parse(from);
    const toMs = Date.parse('2024-08-08T23:10:00Z');
    const expected = stored.filter((t) => t >= fromMs && t < toMs);
    expect(expected.length).toBeGreaterThan(100);
    expect(lines.map((l) => l['time'])).toEqual(expected);
    expect(Object.keys(lines[0]!)).toEqual(EXPORT_COLUMNS.equity);
  });

  it('reads DATA_DIR/papertape.db by default, beside a writer that keeps it open', async () => {
    const writer = Store.open(db);
    try {
      writer.insertEquity('live-1', { time: START - 1, cash: 1, equity: 2, realizedPnl: 0, unrealizedPnl: 0, fees: 0, initialCash: 1, grossExposure: 0 });
      const r = await exportCli(['--what', 'equity', '--format', 'json', '--to', '2024-08-08T23:00:00Z'], { DATA_DIR: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([
        {
          session_id: 'live-1', time: START - 1, time_iso: '2024-08-08T22:59:59.999Z', cash: 1, equity: 2, realized_pnl: 0, unrealized_pnl: 0,
          fees: 0, gross_exposure: 0, high_water_mark: null, drawdown: null,
        },
      ]);
    } finally {
      writer.close();
    }
  });

  it('--out writes the same bytes as stdout, via a temporary file renamed at the end', async () => {
    const out = join(dir, 'out', 'trades.csv');
    mkdirSync(join(dir, 'out'), { recursive: true });
    const [toFile, toStdout] = await Promise.all([exportCli(['--db', db, '--what', 'fills', '--out', out]), exportCli(['--db', db, '--what', 'fills'])]);
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('');
    expect(toFile.stderr).toBe(`papertape export: ${N} rows of fills -> ${out}\n`);
    expect(readFileSync(out, 'utf8')).toBe(toStdout.stdout);
    expect(readdirSync(join(dir, 'out'))).toEqual(['trades.csv']);
  });
});

describe('papertape export refuses bad input (exit 2, a message, no stack trace)', () => {
  const newer = join(dir, 'newer.db');
  const notDb = join(dir, 'not-a.db');
  beforeAll(() => {
    copyFileSync(db, newer);
    const d = new Database(newer);
    d.pragma(`user_version = ${LATEST_VERSION + 1}`);
    d.close();
    writeFileSync(notDb, 'date,price\n2024-08-08,61000\n'.repeat(20));
  });

  it.each([
    { name: 'a bad --from', args: ['--from', 'yesterday'], message: /--from must be an ISO 8601 date or date-time .* \(got "yesterday"\)/ },
    { name: 'an impossible date', args: ['--to', '2024-02-30'], message: /--to must be an ISO 8601 date/ },
    { name: 'a date-time without minutes', args: ['--from', '2024-08-08T23'], message: /--from must be an ISO 8601 date/ },
    {
      name: '--from equal to --to',
      args: ['--from', '2024-08-09', '--to', '2024-08-09T03:00:00+03:00'],
      message: /--from \(2024-08-09T00:00:00.000Z\) must be before --to \(2024-08-09T00:00:00.000Z\)/,
    },
    { name: '--from after --to', args: ['--from', '2024-08-10', '--to', '2024-08-09'], message: /must be before --to/ },
    { name: 'an unknown --what', args: ['--what', 'positions'], message: /--what must be one of fills, orders, trades, equity \(got "positions"\)/ },
    { name: 'an unknown --format', args: ['--format', 'xlsx'], message: /--format must be one of csv, json, jsonl \(got "xlsx"\)/ },
    { name: 'an unknown session', args: ['--session', 'ghost'], message: /has no session "ghost"/ },
    { name: 'an unknown option', args: ['--bogus'], message: /unknown option '--bogus'/ },
    { name: 'a missing option value', args: ['--from'], message: /argument missing/ },
    { name: '--out into a missing directory', args: ['--out', join(dir, 'nope', 'x.csv')], message: /--out: no directory .*nope/ },
    { name: '--out onto the database', args: ['--out', db], message: /--out .* is the database itself/ },
  ])('$name', async ({ args, message }) => {
    const r = await exportCli(['--db', db, ...args]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('reports every problem of the options at once', async () => {
    const r = await exportCli(['--db', db, '--what', 'x', '--format', 'y', '--from', 'z']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(3);
  });

  it.each([
    { name: 'a missing --db file', db: () => join(dir, 'missing.db'), message: /--db: no database at .*missing\.db/ },
    { name: 'a file that is no database', db: () => notDb, message: /cannot read .*not-a\.db as a SQLite database/ },
    {
      name: 'a database with a newer schema',
      db: () => newer,
      message: new RegExp(`schema version ${LATEST_VERSION + 1}, newer than this papertape knows \\(${LATEST_VERSION}\\): upgrade papertape`),
    },
  ])('$name', async ({ db: file, message }) => {
    const out = join(dir, 'refused.csv');
    const r = await exportCli(['--db', file(), '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('a missing default database names DATA_DIR', async () => {
    const empty = mkdtempSync(join(dir, 'empty-'));
    const r = await exportCli([], { DATA_DIR: empty });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`papertape export: no database at ${join(empty, 'papertape.db')} (DATA_DIR/papertape.db with DATA_DIR=${empty}); choose one with --db FILE\n`);
  });
});
