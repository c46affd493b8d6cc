/**
 * `papertape report`: a Markdown report of one session of a papertape database (statistics table and four SVG
 * charts, src/report/), and with --readme the short summary between a README's METRICS markers.
 *
 * The database is opened read-only. Bad input (options, a missing or unreadable database, no such session, a
 * README without its markers) -> a message on stderr, exit code 2, nothing written. Every file is written
 * under a temporary name and renamed into place, so a reader never sees half of one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { environmentWithDotenv, VARIABLES } from '../config/config.js';
import { Store } from '../store/db.js';
import { buildReport, loadSession, readmeSummary, replaceMetricsBlock, REPORT_FILE, STATS_FILE } from '../report/report.js';

/** The options as commander hands them over. */
export interface ReportCliOptions {
  db?: string;
  session?: string;
  out?: string;
  readme?: string;
}

export const DEFAULT_OUT = 'report';

function fail(problems: readonly string[]): void {
  for (const p of problems) process.stderr.write(`papertape report: ${p}\n`);
  process.exitCode = 2;
}

/** Writes `content` to `file` through a temporary file in the same directory (fsynced, then renamed); keeps an existing file's mode. */
export function writeFileAtomic(file: string, content: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  let mode: number | undefined;
  try {
    mode = fs.statSync(file).mode & 0o7777;
  } catch {
    mode = undefined;
  }
  const fd = fs.openSync(tmp, 'w', mode ?? 0o666);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  if (mode !== undefined) fs.chmodSync(tmp, mode);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Opens the database read-only; a message for a missing file, a file that is no SQLite database, another schema version. */
function openStore(file: string, named: boolean, dataDir: string): Store | string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return named ? `--db: no database at ${file}` : `no database at ${file} (DATA_DIR/papertape.db with DATA_DIR=${dataDir}); choose one with --db FILE`;
  }
  if (!stat.isFile()) return `${file} is not a database file`;
  try {
    return Store.open(file, { readonly: true });
  } catch (e) {
    const msg = (e as Error).message;
    if (/schema version/.test(msg)) return msg;
    return `cannot read ${file} as a papertape database: ${msg}`;
  }
}

export async function runReportCli(opts: ReportCliOptions): Promise<void> {
  const problems: string[] = [];
  for (const k of ['db', 'session', 'out', 'readme'] as const) if (opts[k] !== undefined && opts[k]!.trim() === '') problems.push(`--${k} must not be empty`);
  if (problems.length > 0) return fail(problems);

  const env = environmentWithDotenv(process.env);
  const dataDir = env['DATA_DIR']?.trim() || VARIABLES.DATA_DIR.default;
  const dbFile = path.resolve(opts.db ?? path.join(dataDir, 'papertape.db'));
  const outDir = path.resolve(opts.out ?? DEFAULT_OUT);
  const readme = opts.readme === undefined ? undefined : path.resolve(opts.readme);

  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) return fail([`--out ${outDir} is not a directory`]);
  // the README is checked before anything is written: a README without markers leaves everything as it was
  if (readme !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(readme, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return fail([`--readme: cannot read ${readme}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`]);
    }
    const check = replaceMetricsBlock(text, '');
    if (!check.ok) return fail([`--readme ${readme}: ${check.message}; the file is unchanged`]);
  }

  const store = openStore(dbFile, opts.db !== undefined, dataDir);
  if (typeof store === 'string') return fail([store]);
  let data;
  try {
    const loaded = loadSession(store, opts.session);
    if (!loaded.ok) return fail([loaded.message]);
    data = loaded.value;
  } finally {
    store.close();
  }

  const report = await buildReport(data);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, svg] of report.svgs) writeFileAtomic(path.join(outDir, name), svg);
  writeFileAtomic(path.join(outDir, STATS_FILE), report.json);
  writeFileAtomic(path.join(outDir, REPORT_FILE), report.markdown);
  process.stdout.write(`papertape report: session ${data.session.id} -> ${path.join(outDir, REPORT_FILE)} (${report.svgs.size} charts, ${STATS_FILE})\n`);

  if (readme !== undefined) {
    const text = fs.readFileSync(readme, 'utf8');
    const replaced = replaceMetricsBlock(text, readmeSummary(data, report.performance, report.charts, path.dirname(readme), outDir));
    if (!replaced.ok) return fail([`--readme ${readme}: ${replaced.message}; the file is unchanged`]);
    if (replaced.value !== text) writeFileAtomic(readme, replaced.value);
    process.stdout.write(`papertape report: ${readme}: summary ${replaced.value !== text ? 'updated' : 'already up to date'}\n`);
  }
}
