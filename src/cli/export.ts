/**
 * `papertape export`: orders, fills, round trips or the equity curve from the SQLite store, as CSV, JSON
 * or JSON Lines, to stdout or a file (see src/store/export.ts for rows, columns and value formats).
 * Bad input (options, dates, database) -> a message on stderr and exit code 2, nothing written.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { environmentWithDotenv, VARIABLES } from '../config/config.js';
import {
  EXPORT_FORMATS,
  EXPORT_TABLES,
  exportTable,
  isExportFormat,
  isExportWhat,
  isoTime,
  parseIsoTime,
  type ExportRequest,
} from '../store/export.js';

/** The options as commander hands them over (strings; validated here). */
export interface ExportCliOptions {
  what?: string;
  format?: string;
  from?: string;
  to?: string;
  session?: string;
  db?: string;
  out?: string;
}

const TIME_HELP = 'an ISO 8601 date or date-time such as 2024-08-08, 2024-08-08T23:55:00Z or 2024-08-08T23:55:00+03:00';

/** Checks the options (every problem at once); the database file is not looked at here. */
export function exportRequestFromOptions(
  opts: ExportCliOptions,
  env: Record<string, string | undefined>,
): { ok: true; value: ExportRequest & { out?: string } } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const what = opts.what ?? 'fills';
  if (!isExportWhat(what)) problems.push(`--what must be one of ${EXPORT_TABLES.join(', ')} (got ${JSON.stringify(what)})`);
  const format = opts.format ?? 'csv';
  if (!isExportFormat(format)) problems.push(`--format must be one of ${EXPORT_FORMATS.join(', ')} (got ${JSON.stringify(format)})`);
  const time = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const t = parseIsoTime(v);
    if (t === undefined) problems.push(`${name} must be ${TIME_HELP} (got ${JSON.stringify(v)})`);
    return t;
  };
  const from = time('--from', opts.from);
  const to = time('--to', opts.to);
  if (from !== undefined && to !== undefined && from >= to) {
    problems.push(`--from (${isoTime(from)}) must be before --to (${isoTime(to)}): --from is inclusive, --to exclusive`);
  }
  if (opts.session !== undefined && opts.session.trim() === '') problems.push('--session must not be empty');
  if (opts.db !== undefined && opts.db.trim() === '') problems.push('--db must not be empty');
  if (opts.out !== undefined && opts.out.trim() === '') problems.push('--out must not be empty');
  if (problems.length > 0) return { ok: false, problems };

  const dataDir = env['DATA_DIR']?.trim() || VARIABLES.DATA_DIR.default;
  const file = path.resolve(opts.db ?? path.join(dataDir, 'papertape.db'));
  const out = opts.out === undefined ? undefined : path.resolve(opts.out);
  if (out !== undefined && out === file) return { ok: false, problems: [`--out ${opts.out} is the database itself`] };
  const req: ExportRequest & { out?: string } = { file, what: what as ExportRequest['what'], format: format as ExportRequest['format'] };
  if (from !== undefined) req.from = from;
  if (to !== undefined) req.to = to;
  if (opts.session !== undefined) req.session = opts.session;
  if (out !== undefined) req.out = out;
  return { ok: true, value: req };
}

function fail(problems: readonly string[]): void {
  for (const p of problems) process.stderr.write(`papertape export: ${p}\n`);
  process.exitCode = 2;
}

/** A file written under a temporary name, fsynced and renamed into place only when complete. */
interface OutFile {
  stream: Writable;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

function openOutFile(out: string): OutFile | string {
  const dir = path.dirname(out);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) return `--out: no directory ${dir}`;
  if (fs.existsSync(out) && fs.statSync(out).isDirectory()) return `--out: ${out} is a directory`;
  const tmp = path.join(dir, `.${path.basename(out)}.${process.pid}.partial`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx');
  } catch (e) {
    return `--out: cannot write in ${dir}: ${(e as Error).message}`;
  }
  // the stream closes the descriptor when destroyed (autoClose off: not before we fsynced it)
  const stream = fs.createWriteStream(tmp, { fd, autoClose: false });
  stream.on('error', () => {}); // surfaced by the export (while it writes) and by end() in commit
  const close = async (): Promise<void> => {
    if (stream.closed) return;
    const closed = once(stream, 'close').catch(() => undefined);
    stream.destroy();
    await closed;
  };
  return {
    stream,
    async commit() {
      await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
      fs.fsyncSync(fd);
      await close();
      fs.renameSync(tmp, out);
    },
    async discard() {
      await close();
      fs.rmSync(tmp, { force: true });
    },
  };
}

export async function runExportCli(opts: ExportCliOptions): Promise<void> {
  const env = environmentWithDotenv(process.env);
  const parsed = exportRequestFromOptions(opts, env);
  if (!parsed.ok) return fail(parsed.problems);
  const { out, ...req } = parsed.value;
  if (!fs.existsSync(req.file)) {
    if (opts.db !== undefined) return fail([`--db: no database at ${req.file}`]);
    const dataDir = env['DATA_DIR']?.trim() || VARIABLES.DATA_DIR.default;
    return fail([`no database at ${req.file} (DATA_DIR/papertape.db with DATA_DIR=${dataDir}); choose one with --db FILE`]);
  }

  let file: OutFile | undefined;
  if (out !== undefined) {
    const f = openOutFile(out);
    if (typeof f === 'string') return fail([f]);
    file = f;
  } else {
    // a reader that stops early (| head): stop quietly
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      process.stderr.write(`papertape export: cannot write to stdout: ${e.message}\n`);
      process.exit(1);
    });
  }

  let committed = false;
  try {
    const r = await exportTable(req, file ? file.stream : process.stdout);
    if (!r.ok) return fail([r.message]);
    if (file && out !== undefined) {
      await file.commit();
      committed = true;
      process.stderr.write(`papertape export: ${r.value.rows} rows of ${r.value.what} -> ${out}\n`);
    }
  } finally {
    if (file && !committed) await file.discard();
  }
}
