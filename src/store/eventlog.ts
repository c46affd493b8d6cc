import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { EpochMs } from '../core/types.js';
import { checkGzipFile, GzipFileError, readGzipLineBatches, RecordingWriter, type ReadStats } from '../marketdata/recording/format.js';

/**
 * The session event log: every input the engine saw, with its receive time, so that `papertape
 * replay-log DIR` can feed the same inputs to the same code and get the same orders and fills.
 *
 * A session directory holds `session.json` (format, session id, start time, version, seed and the
 * configuration without secrets) and `events_<YYYYMMDD>_<HH>[.<n>].gz` files, one input per line. A
 * file is named after the UTC hour of its first input's receive time; a new file starts with every UTC
 * hour and when the current one would pass its size limit (EVENT_LOG_MAX_FILE_MB, uncompressed), as
 * `.1`, `.2`, ... of the same hour. Reading the files in name order (hour, then number) gives the inputs
 * in the order they were written (see eventFiles). A line is:
 *
 *   <receive time, ns since epoch> <source> <payload>
 *
 * where source is `tick`, `control` (an operator's command, JSON), or `<venue> msg`, `<venue> info`, `<venue> snap <SYMBOL>`,
 * `<venue> oi <SYMBOL>`, `<venue> reset <syncing|resyncing>`, and for Alpaca `alpaca md|info|warm|reset` (market data as
 * decoded, see AlpacaProcessor), `alpaca order` (a broker report, JSON) and `alpaca rec` (corrections, JSON); the payload is the raw WebSocket text or
 * the REST body (JSON), or the comma-separated symbols of a reset. A payload containing a line break is
 * written JSON-encoded with `~` appended to its source's kind (`spot msg~`), so no input is ever lost.
 * Receive times are kept at microsecond resolution, which both the live engine and the replay use.
 */

export const EVENT_LOG_FORMAT = 1;

export interface SessionHeader {
  format: number;
  sessionId: string;
  startedAt: EpochMs;
  version: string;
  seed: number;
  /** the live session's SQLite file, for comparing a replay with it */
  database: string | null;
  /** the configuration without secrets */
  config: Record<string, unknown>;
  /** controls carried over from before the session (kill switch, pause, breaker) */
  controls?: Record<string, unknown> | null;
  /** this run's id (a session can continue over several runs, one event log each) */
  runId?: string;
  /** the state a restarted run continued from (portfolio, working orders, checkpoint), for the replay */
  restore?: Record<string, unknown> | null;
  /** the strategy's parameters as read at start (anomaly: the parameter file), for the replay */
  strategyParams?: Record<string, unknown> | null;
  /** the same for each shadow variant, by name */
  shadowParams?: Record<string, unknown> | null;
  /** symbol -> promoted shadow variant trading it at the start of the run */
  promoted?: Record<string, string> | null;
  /** Alpaca as the run found it at start: the market calendar its stock market hours were built from */
  alpaca?: { calendar: unknown[] | null; flattenOnPause: boolean } | null;
}

/** Receive time at the log's resolution (microseconds): live code stamps inputs with this. */
export function quantizeTime(t: number): EpochMs {
  return Math.round(t * 1000) / 1000;
}

/** Default size limit of one event log file, uncompressed (EVENT_LOG_MAX_FILE_MB's default, 256 MiB). */
export const DEFAULT_EVENT_LOG_MAX_FILE_BYTES = 256 * 2 ** 20;

export interface EventLogWriterOptions {
  /** Start a new file when the current one would pass this many uncompressed bytes (default 256 MiB). */
  maxFileBytes?: number;
  /**
   * Called once with the first write error (disk full, read-only or failing disk). The writer then stops
   * writing (later lines are counted in `droppedLines`) instead of throwing into its callers: the live
   * engine halts trading on it, like on a failed database write. Without it, errors are thrown.
   */
  onFailure?: (message: string) => void;
  /**
   * Queue each line as it is written and format it and hand it to the file after the current turn of the
   * event loop (live: a WebSocket frame's line is taken before the frame is processed, as before, but its
   * formatting no longer delays the frame's decisions). Needs `onFailure`: an error then cannot reach the
   * caller of `write`. A line is taken only while the log has not failed, so nothing is decided on an input
   * after the log is known to have failed.
   */
  queued?: boolean;
}

export class EventLogWriter {
  private readonly out: RecordingWriter;
  closed = false;
  /** the first write error (with `onFailure`), null while writes succeed */
  error: string | null = null;
  /** lines not written since the first error */
  droppedLines = 0;
  private readonly onFailure: ((message: string) => void) | undefined;
  /** queued lines (options.queued): receive time, source, payload, flat */
  private readonly queue: (number | string)[] | null;
  private queueScheduled: NodeJS.Immediate | null = null;

  constructor(readonly dir: string, header: SessionHeader, options: EventLogWriterOptions = {}) {
    if (options.queued && !options.onFailure) throw new Error('EventLogWriter: queued needs onFailure (a write error cannot reach the caller)');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'session.json');
    if (existsSync(file)) throw new Error(`${file} exists: an event log is never overwritten`);
    writeFileSync(file, `${JSON.stringify(header, null, 2)}\n`, { flag: 'wx' });
    this.out = new RecordingWriter({ dir, prefix: 'events', level: 1, maxBytes: options.maxFileBytes ?? DEFAULT_EVENT_LOG_MAX_FILE_BYTES });
    this.onFailure = options.onFailure;
    this.queue = options.queued ? [] : null;
  }

  private fail(e: unknown): void {
    if (!this.onFailure) throw e;
    if (this.error !== null) return;
    const err = e as NodeJS.ErrnoException;
    this.error = `${err.code ?? 'error'}: ${err.message}`;
    this.onFailure(this.error);
  }

  get lines(): number {
    return this.out.stats.messages + (this.queue ? this.queue.length / 3 : 0);
  }
  get bytes(): number {
    return this.out.stats.bytes;
  }
  /** The event files opened so far, oldest first. */
  get files(): readonly string[] {
    return this.out.stats.files;
  }

  write(recvTime: EpochMs, source: string, payload: string): void {
    if (this.closed) return;
    if (this.error !== null) {
      this.droppedLines++;
      return;
    }
    const q = this.queue;
    if (q !== null) {
      // the file's own errors arrive asynchronously: one known now fails this line, as a write would
      const failure = this.out.failure;
      if (failure !== null) {
        this.droppedLines++;
        this.fail(failure);
        return;
      }
      q.push(recvTime, source, payload);
      this.queueScheduled ??= setImmediate(() => {
        this.queueScheduled = null;
        this.drainQueue();
      });
      return;
    }
    this.writeNow(recvTime, source, payload);
  }

  /** The queued lines to the file, in order (options.queued). */
  private drainQueue(): void {
    const q = this.queue;
    if (q === null || q.length === 0) return;
    if (this.queueScheduled !== null) {
      clearImmediate(this.queueScheduled);
      this.queueScheduled = null;
    }
    const n = q.length;
    for (let i = 0; i < n; i += 3) {
      if (this.error !== null) {
        this.droppedLines += (n - i) / 3;
        break;
      }
      this.writeNow(q[i] as number, q[i + 1] as string, q[i + 2] as string);
    }
    q.splice(0, n);
  }

  private writeNow(recvTime: EpochMs, source: string, payload: string): void {
    const ns = BigInt(Math.round(recvTime * 1000)) * 1000n;
    try {
      if (payload.includes('\n') || payload.includes('\r')) {
        const sp = source.indexOf(' ', source.indexOf(' ') + 1);
        const escaped = sp < 0 ? `${source}~` : `${source.slice(0, sp)}~${source.slice(sp)}`;
        this.out.write(ns, `${escaped} ${JSON.stringify(payload)}`);
      } else this.out.write(ns, `${source} ${payload}`);
    } catch (e) {
      this.droppedLines++;
      this.fail(e);
    }
  }

  flush(): void {
    if (this.closed || this.error !== null) return;
    this.drainQueue();
    if (this.error !== null) return;
    try {
      this.out.flush();
    } catch (e) {
      this.fail(e);
    }
  }

  async close(): Promise<void> {
    if (!this.closed) this.drainQueue();
    this.closed = true;
    try {
      await this.out.close();
    } catch (e) {
      // already reported: what could be written is on disk, the rest is lost
      if (this.error === null) this.fail(e);
    }
  }
}

/**
 * Reads a session's `session.json`. Every failure throws an Error that says what is wrong and what to
 * do: no such directory, not a session directory, an unreadable or damaged file, another format.
 */
export function readSessionHeader(dir: string): SessionHeader {
  const file = join(dir, 'session.json');
  const restore = 'restore it from a backup (the live database, papertape.db, also keeps each session\'s configuration, in its sessions table)';
  if (!existsSync(dir)) throw new Error(`${dir}: no such directory. Give the directory of one session, DATA_DIR/sessions/<session id> (e.g. var/sessions/20240808T120000Z-a1b2c3)`);
  if (!existsSync(file)) {
    const hasEvents = statSync(dir).isDirectory() && eventFiles(dir).length > 0;
    throw new Error(
      hasEvents
        ? `${dir}: session.json is missing, and with it the seed and configuration a replay needs (the event files alone cannot be replayed exactly): ${restore}`
        : `${dir} is not a session event log (no session.json). Give the directory of one session, DATA_DIR/sessions/<session id>, as written by a live run with EVENT_LOG=true`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot be read (${(e as Error).message}); check that it is a file you may read`, { cause: e });
  }
  let h: Partial<SessionHeader>;
  try {
    h = JSON.parse(text) as Partial<SessionHeader>;
  } catch (e) {
    throw new Error(`${file}: damaged, not valid JSON (${(e as Error).message}${text.trim() === '' ? ', the file is empty' : ''}). A replay needs its seed and configuration: ${restore}`, { cause: e });
  }
  if (typeof h !== 'object' || h === null) throw new Error(`${file}: damaged, not a JSON object. A replay needs its seed and configuration: ${restore}`);
  if (h.format !== EVENT_LOG_FORMAT) {
    throw new Error(`${file}: unsupported event log format ${String(h.format)} (this version reads ${EVENT_LOG_FORMAT}); replay it with the papertape version that wrote it (${typeof h.version === 'string' ? h.version : 'see "version" in the file'})`);
  }
  if (typeof h.sessionId !== 'string' || typeof h.startedAt !== 'number' || typeof h.seed !== 'number' || typeof h.config !== 'object' || h.config === null) {
    throw new Error(`${file}: missing sessionId, startedAt, seed or config (the file is incomplete or was edited): ${restore}`);
  }
  return h as SessionHeader;
}

const EVENT_FILE = /^events_(\d{8})_(\d{2})(?:\.(\d+))?\.gz$/;

/** `events_<YYYYMMDD>_<HH>[.<n>].gz` -> its hour (UTC, ms since epoch) and number (none = 0); null for other names. */
export function parseEventFileName(name: string): { hour: EpochMs; part: number } | null {
  const m = EVENT_FILE.exec(name);
  if (!m) return null;
  const d = m[1]!;
  const hour = Date.UTC(Number(d.slice(0, 4)), Number(d.slice(4, 6)) - 1, Number(d.slice(6, 8)), Number(m[2]));
  return Number.isFinite(hour) ? { hour, part: m[3] === undefined ? 0 : Number(m[3]) } : null;
}

/**
 * The event files of a session directory in the order they were written: by hour (the name's
 * `<YYYYMMDD>_<HH>`), then by number, numerically (`events_..._23.gz` < `.1.gz` < `.2.gz` < `.10.gz`).
 */
export function eventFiles(dir: string): string[] {
  const files = readdirSync(dir)
    .map((name) => ({ name, m: EVENT_FILE.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ name: f.name, key: `${f.m[1]!}${f.m[2]!}`, part: f.m[3] === undefined ? 0 : Number(f.m[3]) }));
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.part - b.part));
  return files.map((f) => join(dir, f.name));
}

export type LoggedInput =
  | { kind: 'tick'; time: EpochMs }
  | { kind: 'control'; time: EpochMs; payload: string }
  | { kind: 'params'; time: EpochMs; payload: string }
  | { kind: 'msg'; time: EpochMs; venue: string; payload: string }
  | { kind: 'info'; time: EpochMs; venue: string; payload: string }
  | { kind: 'snap'; time: EpochMs; venue: string; symbol: string; payload: string }
  | { kind: 'oi'; time: EpochMs; venue: string; symbol: string; payload: string }
  | { kind: 'reset'; time: EpochMs; venue: string; state: 'syncing' | 'resyncing'; symbols: string[] }
  /** an Alpaca input: market data (`alpaca md|info|warm|reset`), a broker report (`alpaca order`), corrections (`alpaca rec`) */
  | { kind: 'alpaca'; time: EpochMs; source: string; payload: string };

export interface EventLogReadOptions {
  /**
   * Go on with the next file when one is corrupt or cannot be read, or ends early although later files
   * hold inputs (a gap), reporting it (onProblem, stats.problems, stats.skippedFiles) instead of
   * throwing. The replay then misses those inputs and may differ from the live session. Default false.
   */
  skipCorrupt?: boolean;
  /**
   * `strict` (default): a line that cannot be understood throws, naming file and line. `lenient`: it is
   * counted (stats.malformed and stats.badLines), reported, and skipped.
   */
  lines?: 'strict' | 'lenient';
  /**
   * Check each file whole (decompress it and its gzip checksum) before yielding any of its lines, so a
   * damaged file is never partly used: gzip notices most damage only at the end of a file. Costs one
   * more decompression of every file. Default true; false streams and notices damage where it is.
   */
  verify?: boolean;
  /** Told about every problem as it is found (file problems and bad lines alike). */
  onProblem?: (problem: EventLogProblem) => void;
}

export type EventLogProblem =
  /** The file ends early. `last`: nothing after it holds inputs (a crash); otherwise inputs are missing in the middle. */
  | { kind: 'truncated'; file: string; last: boolean; linesRead: number; lastTime: EpochMs | null; message: string }
  /** Bad gzip data or an unreadable file: the whole file (linesRead 0) or its rest was skipped. */
  | { kind: 'corrupt' | 'unreadable'; file: string; linesRead: number; lastTime: EpochMs | null; message: string }
  /** A line that could not be understood (lenient mode), skipped. */
  | { kind: 'bad-line'; file: string; line: number; message: string };

export interface EventLogReadStats extends ReadStats {
  /** Event files opened. */
  files?: number;
  /** Files skipped whole or from the point of their damage (skipCorrupt). */
  skippedFiles?: string[];
  /** Files that ended early (`truncated` is set as well). */
  truncatedFiles?: string[];
  /** Lines that could not be understood and were skipped (lenient mode); also counted in `malformed`. */
  badLines?: number;
  /** Every file problem, and the first 100 bad lines. */
  problems?: EventLogProblem[];
}

/** Thrown by readEventLog for a problem it does not go past (see EventLogReadOptions). */
export class EventLogError extends Error {
  constructor(readonly problem: EventLogProblem) {
    super(problem.message);
    this.name = 'EventLogError';
  }
}

const MAX_KEPT_BAD_LINES = 100;

function iso(t: EpochMs | null): string {
  return t === null ? 'none' : new Date(t).toISOString();
}

/** `received in the hour from 2024-08-08T23:00Z (part 2)`, from the file's name. */
function fileHour(file: string): string {
  const f = parseEventFileName(basename(file));
  if (!f) return 'at an unknown time';
  return `received in the hour from ${new Date(f.hour).toISOString().slice(0, 13)}:00Z${f.part > 0 ? ` (part ${f.part} of that hour)` : ''}`;
}

const SKIP_HINT = 'To go on with the next file instead, read the log with skipCorrupt (the replay then misses those inputs and may differ from the live session).';

/**
 * Reads a session's inputs in order (eventFiles). What it does with damage:
 * - the last file ending early (the session crashed or was killed): every complete line is yielded,
 *   `stats.truncated` is set and a `truncated` problem with `last: true` is reported; never an error;
 * - a file ending early although later files hold inputs, a corrupt file (bad gzip data, a checksum
 *   that does not match) or one that cannot be read: an EventLogError naming the file and the inputs
 *   lost, or with `skipCorrupt` a reported problem and the next file;
 * - a line that cannot be understood: an Error naming file and line, or in `lenient` mode counted and
 *   skipped.
 * Files are checked whole before use unless `verify: false` (see EventLogReadOptions).
 */
export async function* readEventLog(dir: string, stats?: EventLogReadStats, options: EventLogReadOptions = {}): AsyncGenerator<LoggedInput> {
  const st: EventLogReadStats = stats ?? { lines: 0, malformed: 0 };
  const strict = (options.lines ?? 'strict') === 'strict';
  const skip = options.skipCorrupt ?? false;
  const verify = options.verify ?? true;
  const report = (p: EventLogProblem): void => {
    if (p.kind !== 'bad-line' || (st.badLines ?? 0) <= MAX_KEPT_BAD_LINES) (st.problems ??= []).push(p);
    options.onProblem?.(p);
  };
  /** A problem skipCorrupt goes past; `went` says what reading then did. */
  const fileProblem = (p: EventLogProblem, went: string): void => {
    if (!skip) throw new EventLogError({ ...p, message: `${p.message} ${SKIP_HINT}` });
    report({ ...p, message: `${p.message} ${went}` });
    if (p.kind !== 'truncated') (st.skippedFiles ??= []).push(p.file);
  };
  // a file that ended early: an error only once a later file turns out to hold inputs
  let gap: { file: string; linesRead: number; lastTime: EpochMs | null } | null = null;
  let lastTime: EpochMs | null = null; // of the last input yielded
  for (const file of eventFiles(dir)) {
    st.files = (st.files ?? 0) + 1;
    if (verify) {
      const check = await checkGzipFile(file);
      if (check.status === 'corrupt' || check.status === 'unreadable') {
        const what = check.status === 'corrupt' ? `corrupt gzip data (${check.detail ?? ''})` : `cannot be read (${check.detail ?? ''})`;
        fileProblem({ kind: check.status, file, linesRead: 0, lastTime: null, message: `${file}: ${what}; none of its inputs (${fileHour(file)}) can be used.` }, 'The file was skipped.');
        continue;
      }
    }
    const fst: ReadStats = { lines: 0, malformed: 0 };
    let seenLines = 0;
    let seenBytes = 0;
    let n = 0;
    try {
      for await (const batch of readGzipLineBatches(file, fst)) {
        st.lines += fst.lines - seenLines;
        seenLines = fst.lines;
        st.compressedBytes = (st.compressedBytes ?? 0) + (fst.compressedBytes ?? 0) - seenBytes;
        seenBytes = fst.compressedBytes ?? 0;
        for (const line of batch) {
          n++;
          const input = parseLine(line);
          if (typeof input === 'string') {
            if (strict) throw new EventLogError({ kind: 'bad-line', file, line: n, message: `${file}:${n}: ${input} (read the log with lenient lines to skip such lines)` });
            st.malformed++;
            st.badLines = (st.badLines ?? 0) + 1;
            report({ kind: 'bad-line', file, line: n, message: `${file}:${n}: ${input}; line skipped` });
            continue;
          }
          if (gap) {
            const g = gap;
            gap = null;
            fileProblem({
              kind: 'truncated',
              file: g.file,
              last: false,
              linesRead: g.linesRead,
              lastTime: g.lastTime,
              message: `${g.file}: ends early after ${g.linesRead} complete lines, but later files hold inputs: the inputs received between ${g.lastTime === null ? 'the start' : iso(g.lastTime)} and ${iso(input.time)} (the first of ${basename(file)}) are lost.`,
            }, 'Reading went on.');
          }
          lastTime = input.time;
          yield input;
        }
      }
    } catch (err) {
      if (!(err instanceof GzipFileError)) throw err;
      fileProblem({
        kind: err.reason,
        file,
        linesRead: err.linesRead,
        lastTime,
        message: `${file}: ${err.reason === 'corrupt' ? `corrupt gzip data (${err.detail})` : `cannot be read (${err.detail})`} after ${err.linesRead} lines (the last input read was received ${iso(lastTime)}); the rest of the file (inputs ${fileHour(file)}) cannot be used.`,
      }, 'The rest of the file was skipped.');
    }
    st.lines += fst.lines - seenLines;
    st.compressedBytes = (st.compressedBytes ?? 0) + (fst.compressedBytes ?? 0) - seenBytes;
    st.malformed += fst.malformed; // the partial last line of a truncated file
    if (fst.truncated) {
      st.truncated = true;
      (st.truncatedFiles ??= []).push(file);
      // gap still set: this file yielded nothing (an empty crash leftover), the gap stays where it began
      gap ??= { file, linesRead: n, lastTime };
    }
  }
  if (gap) {
    report({
      kind: 'truncated',
      file: gap.file,
      last: true,
      linesRead: gap.linesRead,
      lastTime: gap.lastTime,
      message: `${gap.file}: ends early (the session stopped without closing its log: a crash or a kill); every complete input was read, the last received ${iso(gap.lastTime)}.`,
    });
  }
}

const ALPACA_KINDS = new Set(['md', 'info', 'warm', 'reset', 'order', 'rec']);

function parseLine(line: string): LoggedInput | string {
  const sp1 = line.indexOf(' ');
  if (sp1 <= 0) return 'no receive time';
  const ns = line.slice(0, sp1);
  if (!/^\d+$/.test(ns)) return 'bad receive time';
  const time = Number(BigInt(ns) / 1000n) / 1000;
  const sp2 = line.indexOf(' ', sp1 + 1);
  const first = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
  if (first === 'tick') return { kind: 'tick', time };
  if (first === 'params' || first === 'params~') {
    if (sp2 < 0) return 'params without a payload';
    const payload = first === 'params' ? line.slice(sp2 + 1) : decodeEscaped(line.slice(sp2 + 1));
    return payload === null ? 'bad escaped payload' : { kind: 'params', time, payload };
  }
  if (first === 'control' || first === 'control~') {
    if (sp2 < 0) return 'control without a command';
    const payload = first === 'control' ? line.slice(sp2 + 1) : decodeEscaped(line.slice(sp2 + 1));
    return payload === null ? 'bad escaped payload' : { kind: 'control', time, payload };
  }
  const venue = first;
  if (sp2 < 0) return 'no input kind';
  const sp3 = line.indexOf(' ', sp2 + 1);
  if (sp3 < 0) return 'no payload';
  let kind = line.slice(sp2 + 1, sp3);
  const escaped = kind.endsWith('~');
  if (escaped) kind = kind.slice(0, -1);
  const decode = (p: string): string | null => (escaped ? decodeEscaped(p) : p);
  if (venue === 'alpaca') {
    if (!ALPACA_KINDS.has(kind)) return `unknown Alpaca input kind ${kind}`;
    const payload = decode(line.slice(sp3 + 1));
    return payload === null ? 'bad escaped payload' : { kind: 'alpaca', time, source: `alpaca ${kind}`, payload };
  }
  switch (kind) {
    case 'msg':
    case 'info': {
      const payload = decode(line.slice(sp3 + 1));
      return payload === null ? 'bad escaped payload' : { kind, time, venue, payload };
    }
    case 'snap':
    case 'oi':
    case 'reset': {
      const sp4 = line.indexOf(' ', sp3 + 1);
      const arg = sp4 < 0 ? line.slice(sp3 + 1) : line.slice(sp3 + 1, sp4);
      const payload = sp4 < 0 ? '' : decode(line.slice(sp4 + 1));
      if (payload === null) return 'bad escaped payload';
      if (kind === 'reset') {
        if (arg !== 'syncing' && arg !== 'resyncing') return `bad reset state ${arg}`;
        return { kind, time, venue, state: arg, symbols: payload === '' ? [] : payload.split(',') };
      }
      return { kind, time, venue, symbol: arg, payload };
    }
    default:
      return `unknown input kind ${kind}`;
  }
}

/** A payload written JSON-encoded (it held a line break); null when it is not a JSON string. */
function decodeEscaped(p: string): string | null {
  try {
    const v = JSON.parse(p) as unknown;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Retention

/** One session directory under DATA_DIR/sessions, as housekeeping sees it. */
export interface EventLogSession {
  dir: string;
  /** The directory's name: the id the session (or run) was written under. */
  name: string;
  /** Bytes of every file in the directory (session.json, event files, a replay database...). */
  bytes: number;
  /**
   * When its last input was received, at most: the end of the UTC hour named by its newest event file
   * (`events_<YYYYMMDD>_<HH>`; that file's inputs are all received before it). A session without event
   * files counts from its start (session.json's startedAt), or failing that from the directory's mtime.
   */
  lastEventAt: EpochMs;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The session directories under `sessionsDir`, oldest first (lastEventAt, then name). Only directories
 * holding a session.json or an event file count; anything else there is left alone. A missing
 * `sessionsDir` has no sessions.
 */
export function listEventLogSessions(sessionsDir: string): EventLogSession[] {
  if (!existsSync(sessionsDir)) return [];
  const out: EventLogSession[] = [];
  for (const ent of readdirSync(sessionsDir, { withFileTypes: true })) {
    if (!ent.isDirectory()) continue; // symbolic links are never followed
    const dir = join(sessionsDir, ent.name);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    let newestHour = -Infinity;
    for (const name of names) {
      const f = parseEventFileName(name);
      if (f && f.hour > newestHour) newestHour = f.hour;
    }
    const hasHeader = names.includes('session.json');
    if (newestHour === -Infinity && !hasHeader) continue;
    let lastEventAt: number;
    if (newestHour > -Infinity) lastEventAt = newestHour + HOUR_MS;
    else {
      lastEventAt = NaN;
      try {
        const h = JSON.parse(readFileSync(join(dir, 'session.json'), 'utf8')) as { startedAt?: unknown };
        if (typeof h.startedAt === 'number' && Number.isFinite(h.startedAt)) lastEventAt = h.startedAt;
      } catch {
        // damaged: the directory's time below
      }
      if (Number.isNaN(lastEventAt)) lastEventAt = lstatSync(dir).mtimeMs;
    }
    out.push({ dir, name: ent.name, bytes: treeBytes(dir), lastEventAt });
  }
  out.sort((a, b) => a.lastEventAt - b.lastEventAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

function treeBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    try {
      if (e.isDirectory()) total += treeBytes(p);
      else if (e.isFile()) total += lstatSync(p).size;
    } catch {
      // vanished meanwhile
    }
  }
  return total;
}

export interface PruneOptions {
  /** Delete sessions whose last input is older than this many days (EVENT_LOG_RETENTION_DAYS; 0 = keep forever). */
  retentionDays: number;
  /** Cap on the bytes of all sessions (EVENT_LOG_MAX_TOTAL_GB in bytes; 0 or absent = no cap): over it, the oldest go first. */
  maxTotalBytes?: number;
  /** The present time (ms since epoch). */
  now: EpochMs;
  /** Sessions never deleted, by directory or directory name: the running one (pass EventLogWriter.dir). */
  keep: readonly string[];
}

export interface PrunedSession extends EventLogSession {
  /** `age`: older than the retention; `size`: removed to get under the total size cap. */
  reason: 'age' | 'size';
}

export interface PruneResult {
  /** Sessions deleted, oldest first. */
  deleted: PrunedSession[];
  /** Bytes deleted (the sum of deleted[].bytes). */
  freedBytes: number;
  /** Sessions left, and their bytes (the kept ones included). */
  remainingSessions: number;
  remainingBytes: number;
  /** Still above maxTotalBytes: the sessions that may not be deleted are bigger than the cap alone. */
  overCap: boolean;
  /** Directories that could not be deleted (they stay, and count as remaining). */
  errors: { dir: string; message: string }[];
}

/**
 * Deletes whole session directories under `sessionsDir` (DATA_DIR/sessions): first every session whose
 * last input (EventLogSession.lastEventAt: the end of the hour of its newest event file) is more than
 * `retentionDays` before `now`, then, while all sessions together take more than `maxTotalBytes`, the
 * oldest sessions. Sessions in `keep` are never deleted, nor is anything that is not a session
 * directory. Never throws for a directory that cannot be deleted: see `errors`.
 */
export function pruneEventLogs(sessionsDir: string, options: PruneOptions): PruneResult {
  const { retentionDays, now } = options;
  const maxTotalBytes = options.maxTotalBytes ?? 0;
  if (!(retentionDays >= 0) || !Number.isFinite(retentionDays)) throw new Error(`pruneEventLogs: retentionDays must be a number >= 0 (got ${retentionDays})`);
  if (!(maxTotalBytes >= 0)) throw new Error(`pruneEventLogs: maxTotalBytes must be a number >= 0 (got ${maxTotalBytes})`);
  if (!Number.isFinite(now)) throw new Error(`pruneEventLogs: now must be a time (got ${now})`);
  const keepIds = new Set(options.keep.map((k) => basename(resolve(sessionsDir, k))));
  const keepDirs = new Set(options.keep.map((k) => resolve(sessionsDir, k)));
  const kept = (s: EventLogSession): boolean => keepIds.has(s.name) || keepDirs.has(resolve(s.dir));

  const sessions = listEventLogSessions(sessionsDir);
  const result: PruneResult = { deleted: [], freedBytes: 0, remainingSessions: 0, remainingBytes: 0, overCap: false, errors: [] };
  const remaining: EventLogSession[] = [];
  const remove = (s: EventLogSession, reason: 'age' | 'size'): boolean => {
    try {
      rmSync(s.dir, { recursive: true, force: true });
    } catch (e) {
      result.errors.push({ dir: s.dir, message: (e as Error).message });
      return false;
    }
    result.deleted.push({ ...s, reason });
    result.freedBytes += s.bytes;
    return true;
  };
  const cutoff = now - retentionDays * DAY_MS;
  for (const s of sessions) {
    if (retentionDays > 0 && !kept(s) && s.lastEventAt < cutoff && remove(s, 'age')) continue;
    remaining.push(s);
  }
  let total = remaining.reduce((a, s) => a + s.bytes, 0);
  if (maxTotalBytes > 0) {
    for (let i = 0; i < remaining.length && total > maxTotalBytes; ) {
      const s = remaining[i]!;
      if (!kept(s) && remove(s, 'size')) {
        remaining.splice(i, 1);
        total -= s.bytes;
      } else i++;
    }
    result.overCap = total > maxTotalBytes;
  }
  result.remainingSessions = remaining.length;
  result.remainingBytes = total;
  return result;
}
