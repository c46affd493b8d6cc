/**
 * Streaming export of the SQLite store for analysis: orders, fills, round trips (trades) or the equity
 * curve as CSV (RFC 4180), one JSON array, or JSON Lines.
 *
 * The database is opened read-only (a live session may keep writing; WAL lets us read beside it) and
 * rows are pulled one at a time with `.iterate()`, so a large table never sits in memory; output is
 * written in chunks that respect the stream's backpressure.
 *
 * Rows: every session unless `session` is given; `from` (inclusive) and `to` (exclusive) filter on the
 * table's natural time column (orders: created_at, fills: time, trades: opened_at, equity: time); rows
 * come oldest first (time, then insertion order).
 *
 * Columns (stable; see EXPORT_COLUMNS): `session_id`, then every column of the table in snake_case as
 * stored, in the order of the schema, each time column (epoch ms, as stored) followed by `<name>_iso`
 * (ISO 8601 UTC with milliseconds). Columns a future migration adds come after these, in schema order;
 * columns an older database lacks are exported empty (null).
 *
 * Values: numbers as plain decimals (the shortest representation that reads back as the same double,
 * never with an exponent in CSV), booleans as true/false, null as an empty CSV field / JSON null, an
 * empty string as `""` in CSV (so it differs from null).
 */
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import type { EpochMs } from '../core/types.js';
import { err, ok, type Result } from '../core/result.js';
import { LATEST_VERSION } from './migrations.js';

export const EXPORT_TABLES = ['fills', 'orders', 'trades', 'equity'] as const;
export type ExportWhat = (typeof EXPORT_TABLES)[number];
export const EXPORT_FORMATS = ['csv', 'json', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface TableSpec {
  /** columns as stored, in schema order (migrations 1..3) */
  readonly columns: readonly string[];
  /** the column --from/--to filter on and rows are ordered by */
  readonly timeColumn: string;
  /** epoch-ms columns that get a `<name>_iso` companion */
  readonly timeColumns: readonly string[];
  /** INTEGER 0/1 columns exported as false/true */
  readonly booleanColumns: readonly string[];
}

const TABLES: Record<ExportWhat, TableSpec> = {
  orders: {
    columns: [
      'session_id', 'id', 'venue', 'symbol', 'side', 'type', 'time_in_force', 'qty', 'price', 'strategy', 'reason', 'status',
      'filled_qty', 'avg_price', 'created_at', 'updated_at', 'reject_reason', 'post_only', 'cancel_requested_at',
    ],
    timeColumn: 'created_at',
    timeColumns: ['created_at', 'updated_at', 'cancel_requested_at'],
    booleanColumns: ['post_only'],
  },
  fills: {
    columns: [
      'session_id', 'id', 'order_id', 'venue', 'symbol', 'side', 'price', 'qty', 'fee', 'liquidity', 'strategy', 'realized_pnl', 'time',
      'received_at',
    ],
    timeColumn: 'time',
    timeColumns: ['time', 'received_at'],
    booleanColumns: [],
  },
  trades: {
    columns: [
      'session_id', 'id', 'venue', 'symbol', 'strategy', 'direction', 'status', 'qty', 'entry_price', 'exit_price', 'opened_at',
      'closed_at', 'realized_pnl', 'fees', 'net_pnl', 'fills',
    ],
    timeColumn: 'opened_at',
    timeColumns: ['opened_at', 'closed_at'],
    booleanColumns: [],
  },
  equity: {
    columns: ['session_id', 'time', 'cash', 'equity', 'realized_pnl', 'unrealized_pnl', 'fees', 'gross_exposure', 'high_water_mark', 'drawdown'],
    timeColumn: 'time',
    timeColumns: ['time'],
    booleanColumns: [],
  },
};

function outputColumns(spec: TableSpec, stored: readonly string[]): string[] {
  return stored.flatMap((c) => (spec.timeColumns.includes(c) ? [c, `${c}_iso`] : [c]));
}

/** The documented output columns of each export, in order (for a database of the current schema). */
export const EXPORT_COLUMNS: Readonly<Record<ExportWhat, readonly string[]>> = {
  orders: outputColumns(TABLES.orders, TABLES.orders.columns),
  fills: outputColumns(TABLES.fills, TABLES.fills.columns),
  trades: outputColumns(TABLES.trades, TABLES.trades.columns),
  equity: outputColumns(TABLES.equity, TABLES.equity.columns),
};

/** The column --from/--to filter on, per export. */
export const EXPORT_TIME_COLUMN: Readonly<Record<ExportWhat, string>> = {
  orders: TABLES.orders.timeColumn,
  fills: TABLES.fills.timeColumn,
  trades: TABLES.trades.timeColumn,
  equity: TABLES.equity.timeColumn,
};

export function isExportWhat(v: string): v is ExportWhat {
  return (EXPORT_TABLES as readonly string[]).includes(v);
}
export function isExportFormat(v: string): v is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(v);
}

// ---- time arguments ----

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

/**
 * Parses an ISO 8601 date or date-time to epoch ms: `2024-08-08` (midnight UTC), `2024-08-08T23:55`,
 * `2024-08-08T23:55:00Z`, `2024-08-08T23:55:00.250+03:00` (also `+0300`, `+03`). A date-time without
 * an offset is UTC. Fractions finer than a millisecond are kept (stored times may carry them).
 * Returns undefined for anything else, including impossible dates (2024-02-30) and times (24:00).
 */
export function parseIsoTime(text: string): EpochMs | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  let offsetMin = 0;
  if (sign !== undefined) {
    const offH = Number(oh);
    const offM = om === undefined ? 0 : Number(om);
    if (offH > 23 || offM > 59) return undefined;
    offsetMin = (sign === '-' ? -1 : 1) * (offH * 60 + offM);
  }
  // integer nanoseconds / 1e6: exact for whole milliseconds, correctly rounded below
  const fracMs = frac === undefined ? 0 : Number(frac.padEnd(9, '0')) / 1e6;
  const ms = date.getTime() + ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 + fracMs;
  return Number.isFinite(ms) ? ms : undefined;
}

/** ISO 8601 UTC with milliseconds (floored), or null for null / a time outside Date's range. */
export function isoTime(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  const d = new Date(Math.floor(ms));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

// ---- value formatting ----

/**
 * A number as a plain decimal: the shortest digits that read back as the same double (String(n)),
 * with any exponent written out (1e-7 -> 0.0000001, 1e21 -> 1000000000000000000000).
 */
export function plainNumber(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s; // already plain (or Infinity / NaN)
  const sign = m[1]!;
  const digits = m[2]! + (m[3] ?? '');
  const point = Number(m[4]) + 1; // the decimal point sits after this many digits
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; quotes doubled. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return plainNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === '') return '""';
  return NEEDS_QUOTES.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

type Cell = string | number | boolean | null;

function sqliteValue(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return String(v);
}

// ---- the export ----

export interface ExportRequest {
  /** the SQLite file */
  file: string;
  what: ExportWhat;
  format: ExportFormat;
  /** inclusive */
  from?: EpochMs;
  /** exclusive */
  to?: EpochMs;
  session?: string;
}

export interface ExportSummary {
  what: ExportWhat;
  format: ExportFormat;
  rows: number;
  columns: string[];
}

export type ExportErrorCode = 'bad-range' | 'no-database' | 'not-a-database' | 'newer-schema' | 'no-table' | 'no-session';

/** How one output column is produced from the raw row. */
type ColumnKind = { kind: 'plain'; src: number } | { kind: 'bool'; src: number } | { kind: 'iso'; src: number };

interface Plan {
  columns: string[];
  kinds: ColumnKind[];
  sql: string;
  params: Record<string, unknown>;
}

function openReadonly(file: string): Result<Database.Database, ExportErrorCode> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return err('no-database', `no database at ${file}`);
  }
  if (!stat.isFile()) return err('no-database', `${file} is not a database file`);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('user_version', { simple: true }); // reads the header: fails here for a file that is no SQLite database
    return ok(db);
  } catch (e) {
    db?.close();
    return err('not-a-database', `cannot read ${file} as a SQLite database: ${(e as Error).message}`);
  }
}

function plan(db: Database.Database, req: ExportRequest): Result<Plan, ExportErrorCode> {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > LATEST_VERSION) {
    return err(
      'newer-schema',
      `database ${req.file} has schema version ${version}, newer than this papertape knows (${LATEST_VERSION}): upgrade papertape to export it`,
    );
  }
  const spec = TABLES[req.what];
  const stored = (db.pragma(`table_info(${req.what})`) as Array<{ name: string }>).map((c) => c.name);
  if (stored.length === 0) {
    return err('no-table', `database ${req.file} has no ${req.what} table (schema version ${version}): is it a papertape database?`);
  }
  if (!stored.includes(spec.timeColumn) || !stored.includes('session_id')) {
    return err('no-table', `database ${req.file}: table ${req.what} lacks ${spec.timeColumn} or session_id: is it a papertape database?`);
  }
  if (req.session !== undefined) {
    const hasSessions = (db.pragma('table_info(sessions)') as unknown[]).length > 0;
    const known = hasSessions && db.prepare('SELECT 1 FROM sessions WHERE id = ?').get(req.session) !== undefined;
    if (!known) return err('no-session', `database ${req.file} has no session ${JSON.stringify(req.session)}`);
  }
  if (req.from !== undefined && req.to !== undefined && req.from >= req.to) {
    return err('bad-range', `--from (${isoTime(req.from)}) must be before --to (${isoTime(req.to)})`);
  }

  // documented columns first (NULL where an older schema lacks them), then any a newer migration added
  const sourceCols = [...spec.columns, ...stored.filter((c) => !spec.columns.includes(c))];
  const q = (c: string): string => `"${c.replace(/"/g, '""')}"`;
  const select = sourceCols.map((c) => (stored.includes(c) ? q(c) : `NULL AS ${q(c)}`));
  const columns: string[] = [];
  const kinds: ColumnKind[] = [];
  sourceCols.forEach((c, src) => {
    columns.push(c);
    kinds.push(spec.booleanColumns.includes(c) ? { kind: 'bool', src } : { kind: 'plain', src });
    if (spec.timeColumns.includes(c)) {
      columns.push(`${c}_iso`);
      kinds.push({ kind: 'iso', src });
    }
  });

  const where: string[] = [];
  const params: Record<string, unknown> = {};
  if (req.session !== undefined) {
    where.push('session_id = @session');
    params['session'] = req.session;
  }
  if (req.from !== undefined) {
    where.push(`${q(spec.timeColumn)} >= @from`);
    params['from'] = req.from;
  }
  if (req.to !== undefined) {
    where.push(`${q(spec.timeColumn)} < @to`);
    params['to'] = req.to;
  }
  const sql =
    `SELECT ${select.join(', ')} FROM ${q(req.what)}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY ${q(spec.timeColumn)}, rowid`;
  return ok({ columns, kinds, sql, params });
}

function cells(raw: unknown[], kinds: readonly ColumnKind[]): Cell[] {
  return kinds.map((k) => {
    const v = sqliteValue(raw[k.src]);
    switch (k.kind) {
      case 'plain':
        return v;
      case 'bool':
        return v === null ? null : v !== 0 && v !== '0';
      case 'iso':
        return typeof v === 'number' ? isoTime(v) : null;
      default: {
        const never: never = k;
        throw new Error(`unknown column kind ${JSON.stringify(never)}`);
      }
    }
  });
}

interface Formatter {
  begin(): string;
  row(values: readonly Cell[], index: number): string;
  end(rows: number): string;
}

function formatter(format: ExportFormat, columns: readonly string[]): Formatter {
  const keys = columns.map((c) => `${JSON.stringify(c)}:`);
  const object = (values: readonly Cell[]): string => `{${values.map((v, i) => keys[i]! + JSON.stringify(v)).join(',')}}`;
  switch (format) {
    case 'csv':
      return {
        begin: () => `${columns.map((c) => csvField(c)).join(',')}\r\n`,
        row: (values) => `${values.map(csvField).join(',')}\r\n`,
        end: () => '',
      };
    case 'json':
      return {
        begin: () => '',
        row: (values, i) => (i === 0 ? '[\n' : ',\n') + object(values),
        end: (rows) => (rows === 0 ? '[]\n' : '\n]\n'),
      };
    case 'jsonl':
      return {
        begin: () => '',
        row: (values) => `${object(values)}\n`,
        end: () => '',
      };
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}

const CHUNK = 64 * 1024;

/** Resolves on 'drain'; rejects on 'error' or when the stream closes first. Leaves no listener behind. */
function drained(out: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (e?: Error): void => {
      out.off('drain', onDrain);
      out.off('error', onFail);
      out.off('close', onClose);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = (): void => done();
    const onFail = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('the output closed before the export finished'));
    out.on('drain', onDrain);
    out.on('error', onFail);
    out.on('close', onClose);
  });
}

/**
 * Writes the export to `out` (which it does not end). Expected failures (no database, a newer schema,
 * an unknown session, from >= to) come back before anything is written; a failing stream throws.
 */
export async function exportTable(req: ExportRequest, out: Writable): Promise<Result<ExportSummary, ExportErrorCode>> {
  const opened = openReadonly(req.file);
  if (!opened.ok) return opened;
  const db = opened.value;
  let failure: Error | undefined;
  const onError = (e: Error): void => {
    failure ??= e;
  };
  out.on('error', onError);
  try {
    const p = plan(db, req);
    if (!p.ok) return p;
    const { columns, kinds, sql, params } = p.value;
    const fmt = formatter(req.format, columns);
    let buf = fmt.begin();
    /** Hands the buffer to `out`: waits for 'drain' when it is full, and for the last chunk to be written. */
    const flush = async (last: boolean): Promise<void> => {
      if (failure) throw failure;
      const chunk = buf;
      buf = '';
      if (last) {
        await new Promise<void>((resolve, reject) => {
          out.write(chunk, (e) => (e ? reject(e) : resolve()));
        });
      } else if (!out.write(chunk)) await drained(out);
      if (failure) throw failure;
    };
    let rows = 0;
    for (const raw of db.prepare(sql).raw(true).iterate(params) as IterableIterator<unknown[]>) {
      buf += fmt.row(cells(raw, kinds), rows);
      rows += 1;
      if (buf.length >= CHUNK) await flush(false);
    }
    buf += fmt.end(rows);
    await flush(true);
    return ok({ what: req.what, format: req.format, rows, columns });
  } finally {
    out.off('error', onError);
    db.close();
  }
}
