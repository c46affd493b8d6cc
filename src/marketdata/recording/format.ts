/**
 * The Binance recording format (see ../shared/data/README.md):
 * gzip text, one message per line: `<local receive time, ns since epoch> <raw JSON exactly as received>`.
 * Stream messages are combined-stream envelopes `{"stream":"btcusdt@depth@100ms","data":{...}}`;
 * REST depth snapshots are bare `{"lastUpdateId":..,"bids":..,"asks":..}` lines.
 *
 * This module only deals with lines; it never parses the JSON payloads.
 */
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, type WriteStream } from 'node:fs';
import { basename, join } from 'node:path';
import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';

export interface RecordLine {
  /** Local receive time, ns since the Unix epoch. */
  recvNs: bigint;
  /** The raw JSON text, exactly as recorded. */
  text: string;
}

export interface ReadStats {
  /** Non-empty lines seen (well-formed or not). */
  lines: number;
  /** Lines that did not look like `<digits> <json>` and were skipped. */
  malformed: number;
  /** Set when the gzip stream ended early (e.g. a recorder was killed); everything readable was yielded. */
  truncated?: boolean;
  /** Compressed bytes read from the file so far (progress). */
  compressedBytes?: number;
}

/** Parse one recording line; null when it is not `<digits> <json>`. */
export function parseRecordLine(line: string): RecordLine | null;
/** The same, keeping the receive time as its digits (no BigInt: the backtest's hot loop). */
export function parseRecordLine(line: string, digits: true): { ns: string; text: string } | null;
export function parseRecordLine(line: string, digits = false): RecordLine | { ns: string; text: string } | null {
  const sp = line.indexOf(' ');
  if (sp <= 0 || sp > 24) return null;
  for (let i = 0; i < sp; i++) {
    const c = line.charCodeAt(i);
    if (c < 48 || c > 57) return null;
  }
  let end = line.length;
  while (end > sp + 1 && isWs(line.charCodeAt(end - 1))) end--;
  const first = line.charCodeAt(sp + 1);
  const last = line.charCodeAt(end - 1);
  // cheap shape check: a JSON object or array
  if (!((first === 123 && last === 125) || (first === 91 && last === 93))) return null;
  const text = end === line.length ? line.slice(sp + 1) : line.slice(sp + 1, end);
  return digits ? { ns: line.slice(0, sp), text } : { recvNs: BigInt(line.slice(0, sp)), text };
}

function isWs(c: number): boolean {
  return c === 13 || c === 32 || c === 9;
}

function isTruncationError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  return !!e && (e.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e.message ?? ''));
}

function isZlibError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * A gzip file that could not be read to its end for another reason than truncation: `corrupt` (bad
 * gzip data, a failed checksum) or `unreadable` (the file could not be opened or read). `linesRead` is
 * the number of lines of this file that were yielded before the failure.
 */
export class GzipFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: 'corrupt' | 'unreadable',
    readonly linesRead: number,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      reason === 'corrupt'
        ? `${file}: corrupt gzip data (${detail}) after ${linesRead} complete line${linesRead === 1 ? '' : 's'}; the rest of the file cannot be read`
        : `${file}: cannot be read (${detail})`,
      options,
    );
    this.name = 'GzipFileError';
  }
}

function gzipFileError(file: string, err: unknown, linesRead: number): GzipFileError {
  const e = err as { message?: string } | null;
  return new GzipFileError(file, isZlibError(err) ? 'corrupt' : 'unreadable', linesRead, e?.message ?? String(err), { cause: err });
}

export interface GzipCheck {
  /** `ok`: a complete gzip file whose checksums match; `truncated`: it ends early (a writer was killed). */
  status: 'ok' | 'truncated' | 'corrupt' | 'unreadable';
  /** Uncompressed bytes that could be decompressed. */
  bytes: number;
  /** What went wrong (zlib's or the file system's message); absent when `ok`. */
  detail?: string;
}

/**
 * Decompresses a whole gzip file without keeping anything, to learn whether it is complete and
 * undamaged before any of it is used: gzip's CRC is only checked at the end of the file, so damaged
 * data is otherwise noticed only after its lines have been read.
 */
export async function checkGzipFile(file: string): Promise<GzipCheck> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  src.on('error', (err) => gunzip.destroy(err));
  src.pipe(gunzip);
  let bytes = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) bytes += chunk.length;
    return { status: 'ok', bytes };
  } catch (err) {
    const detail = (err as { message?: string } | null)?.message ?? String(err);
    if (isTruncationError(err)) return { status: 'truncated', bytes, detail };
    return { status: isZlibError(err) ? 'corrupt' : 'unreadable', bytes, detail };
  } finally {
    src.destroy();
    gunzip.destroy();
  }
}

/**
 * Stream the lines of a recording (gzip). Empty lines are skipped; malformed lines are counted in
 * `stats.malformed` and skipped. A truncated gzip file (writer killed) yields every complete line
 * and sets `stats.truncated`; other I/O errors are thrown.
 */
export async function* readRecording(file: string, stats?: ReadStats): AsyncGenerator<RecordLine> {
  const st: ReadStats = stats ?? { lines: 0, malformed: 0 };
  for await (const line of readGzipLines(file, st)) {
    const rec = parseRecordLine(line);
    if (rec) yield rec;
    else st.malformed++;
  }
}

/**
 * Stream the non-empty lines of any gzip text file (recordings, event logs), counting them in
 * `stats.lines`. A truncated file yields every complete line, counts the partial last one as
 * malformed and sets `stats.truncated`; bad gzip data or a file that cannot be read throws a
 * GzipFileError naming the file (after the lines read before the damage have been yielded).
 */
export async function* readGzipLines(file: string, stats?: ReadStats): AsyncGenerator<string> {
  for await (const batch of readGzipLineBatches(file, stats)) yield* batch;
}

/**
 * Like readGzipLines, a decompressed chunk's lines at a time: the hot loop of a backtest then awaits once
 * per chunk instead of once per line.
 */
export async function* readGzipLineBatches(file: string, stats?: ReadStats): AsyncGenerator<string[]> {
  const st: ReadStats = stats ?? { lines: 0, malformed: 0 };
  // 64 KiB chunks: a chunk's string then stays in V8's young generation; from 128 KiB on, every chunk's
  // string is a large object of its own (measured: the whole file read ~1.5x slower with 256 KiB chunks,
  // docs/performance.md, Backtest)
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  st.compressedBytes ??= 0;
  src.on('data', (b) => {
    st.compressedBytes! += b.length;
  });
  src.on('error', (err) => gunzip.destroy(err));
  src.pipe(gunzip);
  const decoder = new StringDecoder('utf8');
  // ASCII chunks (recordings are ASCII JSON) are copied into a one-byte string directly (latin1 = ASCII
  // there; measured ~4% faster reading than the UTF-8 decoder); after the first non-ASCII chunk the
  // UTF-8 decoder takes every chunk, since it may hold the first bytes of a character split between chunks
  let utf8 = false;
  const lines0 = st.lines;
  let carry = '';
  let truncated = false;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (!utf8 && !isAscii(chunk)) utf8 = true;
      const s = carry + (utf8 ? decoder.write(chunk) : chunk.toString('latin1'));
      let start = 0;
      const batch: string[] = [];
      for (;;) {
        const nl = s.indexOf('\n', start);
        if (nl < 0) break;
        if (nl > start) {
          const line = handle(s.slice(start, nl), st);
          if (line !== null) batch.push(line);
        }
        start = nl + 1;
      }
      carry = start === 0 ? s : s.slice(start);
      if (batch.length > 0) yield batch;
    }
  } catch (err) {
    if (!isTruncationError(err)) throw gzipFileError(file, err, st.lines - lines0);
    truncated = true;
  } finally {
    src.destroy();
    gunzip.destroy();
  }
  const rest = carry + decoder.end();
  if (truncated) {
    st.truncated = true;
    // the last partial line of a truncated file cannot be trusted
    if (rest.trim().length > 0) {
      st.lines++;
      st.malformed++;
    }
    return;
  }
  if (rest.length > 0) {
    const line = handle(rest, st);
    if (line !== null) yield [line];
  }
}

function handle(line: string, st: ReadStats): string | null {
  if (line.length === 0 || (line.length === 1 && line === '\r')) return null;
  if (line.trim().length === 0) return null;
  st.lines++;
  return line;
}

/** Read a whole recording into memory. */
export async function readAll(file: string, stats?: ReadStats): Promise<RecordLine[]> {
  const out: RecordLine[] = [];
  for await (const r of readRecording(file, stats)) out.push(r);
  return out;
}

/**
 * Cheaply extract the stream name of a combined-stream envelope (`{"stream":"x","data":..}`)
 * without JSON.parse; null for bare lines (REST snapshots) or other shapes.
 */
export function envelopeStream(text: string): string | null {
  const key = '"stream":"';
  const i = text.indexOf(key);
  if (i < 0 || i > 16) return null;
  const j = text.indexOf('"', i + key.length);
  if (j < 0) return null;
  return text.slice(i + key.length, j);
}

/** `YYYYMMDD` and `HH` (UTC) of a receive time. */
export function utcHourKey(recvNs: bigint): { day: string; hour: string } {
  const d = new Date(Number(recvNs / 1_000_000n));
  const day = `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}`;
  return { day, hour: pad2(d.getUTCHours()) };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Why a RecordingWriter opened a new file: the first write, a new UTC hour, or the size limit. */
export type RotateReason = 'open' | 'hour' | 'size';

export interface RecordingWriterOptions {
  /** Output directory (created if missing). */
  dir: string;
  /** File name prefix, e.g. `spot` / `usdm` / `btcusdt`: files are `<prefix>_<YYYYMMDD>_<HH>.gz`. */
  prefix: string;
  /** Called with the path of every newly opened file (the first one included) and why it was opened. */
  onRotate?: (file: string, reason: RotateReason) => void;
  /** gzip level (default 6). */
  level?: number;
  /**
   * Largest uncompressed size of one file, bytes (default: no limit). A line that would take the current
   * file past it goes to a new file of the same hour, `<prefix>_<YYYYMMDD>_<HH>.<n>.gz`; a single line
   * longer than the limit gets a file of its own.
   */
  maxBytes?: number;
}

export interface RecordingWriterStats {
  /** Lines written. */
  messages: number;
  /** Uncompressed bytes written (including the time prefix and newline). */
  bytes: number;
  /** Files opened so far. */
  files: string[];
  /** Lines per combined-stream name; bare lines (REST snapshots) are counted under `"_bare"`. */
  perStream: Record<string, number>;
}

/**
 * Writes `<recvNs> <text>\n` lines gzip-compressed to `DIR/<prefix>_<YYYYMMDD>_<HH>.gz` (UTC hour of
 * the receive time), rotating when the hour changes and, with `maxBytes`, when a file is full. An
 * existing file is never overwritten: a numbered variant `<prefix>_<YYYYMMDD>_<HH>.<n>.gz` is used
 * instead, numbered above every file of that hour already there, so that ordering the files by hour,
 * then number (none = 0) gives the order the lines were written in. For the same reason a receive time
 * that goes back to an earlier hour stays in the current file (the clock stepped back): a file's name
 * is the hour of its first line. Every file is a complete gzip stream once it has been rotated away
 * from or `close()` has resolved.
 */
const BATCH_BYTES = 64 * 1024;
const HOUR_NS = 3_600_000_000_000n;

export class RecordingWriter {
  readonly stats: RecordingWriterStats = { messages: 0, bytes: 0, files: [], perStream: {} };
  private readonly opts: RecordingWriterOptions;
  private gz: Gzip | null = null;
  private currentKey = '';
  private fileBytes = 0;
  private readonly closing: Promise<void>[] = [];
  private closed = false;
  private error: Error | null = null;
  /**
   * Lines not yet handed to gzip: zlib works chunk by chunk on the thread pool, and one chunk per line
   * (hundreds of thousands a minute in a fast replay) left it so far behind that closing took seconds.
   * Lines go to gzip in batches of about BATCH_BYTES, and at every flush(), rotation and close().
   */
  private pending: string[] = [];
  private pendingBytes = 0;
  /**
   * A full batch goes to gzip on the next turn of the event loop, not inside the write that filled it:
   * joining 64 KiB of lines and handing them to zlib took up to ~0.5 ms, and the live engine writes
   * each WebSocket frame's line before deciding on the frame (docs/performance.md, "Tick-to-decision").
   */
  private drainScheduled: NodeJS.Immediate | null = null;
  /** the UTC hour of the current file as receive-time bounds (ns): most lines need no date arithmetic */
  private hourFrom = 0n;
  private hourTo = -1n;
  private hourKey = '';

  constructor(opts: RecordingWriterOptions) {
    if (opts.maxBytes !== undefined && !(opts.maxBytes > 0)) throw new Error(`RecordingWriter: maxBytes must be > 0 (got ${opts.maxBytes})`);
    this.opts = opts;
    mkdirSync(opts.dir, { recursive: true });
  }

  get messages(): number {
    return this.stats.messages;
  }
  get bytes(): number {
    return this.stats.bytes;
  }
  get perStream(): Record<string, number> {
    return this.stats.perStream;
  }
  /** The file currently written to, if any. */
  get currentFile(): string | null {
    return this.stats.files.length > 0 && this.gz ? (this.stats.files[this.stats.files.length - 1] ?? null) : null;
  }
  /** The first error of the files (they fail asynchronously); every later write throws it. */
  get failure(): Error | null {
    return this.error;
  }
  /** Uncompressed bytes written to the current file. */
  get currentFileBytes(): number {
    return this.gz ? this.fileBytes : 0;
  }

  /** Append one line. Returns false when the gzip buffer is above its high-water mark (advisory). */
  write(recvNs: bigint, text: string): boolean {
    if (this.closed) throw new Error('RecordingWriter: write after close');
    if (this.error) throw this.error;
    if (!(recvNs >= this.hourFrom && recvNs < this.hourTo)) {
      const { day, hour } = utcHourKey(recvNs);
      this.hourKey = `${day}_${hour}`;
      let from = (recvNs / HOUR_NS) * HOUR_NS;
      if (from > recvNs) from -= HOUR_NS; // before 1970: bigint division rounds toward zero
      this.hourFrom = from;
      this.hourTo = from + HOUR_NS;
    }
    const key = this.hourKey;
    const line = `${recvNs} ${text}\n`;
    const len = Buffer.byteLength(line);
    if (!this.gz) this.rotate(key, this.stats.files.length === 0 ? 'open' : 'hour');
    else if (key > this.currentKey) this.rotate(key, 'hour');
    else if (this.opts.maxBytes !== undefined && this.fileBytes > 0 && this.fileBytes + len > this.opts.maxBytes) this.rotate(this.currentKey, 'size');
    const st = this.stats;
    st.messages++;
    st.bytes += len;
    this.fileBytes += len;
    const name = envelopeStream(text) ?? '_bare';
    st.perStream[name] = (st.perStream[name] ?? 0) + 1;
    this.pending.push(line);
    this.pendingBytes += len;
    if (this.pendingBytes >= BATCH_BYTES && this.drainScheduled === null) {
      this.drainScheduled = setImmediate(() => {
        this.drainScheduled = null;
        this.drain();
      });
    }
    // gzip's back-pressure as of its last batch
    return this.gz === null || !this.gz.writableNeedDrain;
  }

  /** Hands the batched lines to gzip; returns gzip's advisory back-pressure flag. */
  private drain(): boolean {
    if (this.drainScheduled !== null) {
      clearImmediate(this.drainScheduled);
      this.drainScheduled = null;
    }
    if (this.pending.length === 0 || !this.gz) return true;
    const chunk = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    return this.gz.write(chunk);
  }

  /** Pushes everything written so far to the file (a crash then loses at most what came after). */
  flush(): void {
    this.drain();
    this.gz?.flush();
  }

  private rotate(key: string, reason: RotateReason): void {
    this.drain();
    if (this.gz) this.closing.push(this.finish(this.gz));
    this.gz = null;
    this.currentKey = key;
    this.fileBytes = 0;
    // above every file of this hour on disk or opened by us (a file being opened may not exist yet)
    const { prefix, dir } = this.opts;
    const start = `${prefix}_${key}`;
    let next = 0;
    const number = (name: string): number => {
      if (!name.startsWith(start) || !name.endsWith('.gz')) return -1;
      const mid = name.slice(start.length, -3);
      return mid === '' ? 0 : /^\.\d+$/.test(mid) ? Number(mid.slice(1)) : -1;
    };
    for (const name of existsSync(dir) ? readdirSync(dir) : []) next = Math.max(next, number(name) + 1);
    for (const f of this.stats.files) next = Math.max(next, number(basename(f)) + 1);
    const file = join(dir, next === 0 ? `${start}.gz` : `${start}.${next}.gz`);
    const gz = createGzip({ level: this.opts.level ?? 6 });
    const out: WriteStream = createWriteStream(file, { flags: 'wx' });
    const onErr = (err: Error) => {
      this.error ??= err;
    };
    gz.on('error', onErr);
    out.on('error', onErr);
    gz.pipe(out);
    (gz as Gzip & { _ptOut?: WriteStream })._ptOut = out;
    this.gz = gz;
    this.stats.files.push(file);
    this.opts.onRotate?.(file, reason);
  }

  private finish(gz: Gzip): Promise<void> {
    const out = (gz as Gzip & { _ptOut?: WriteStream })._ptOut!;
    const p = new Promise<void>((resolve, reject) => {
      out.once('close', () => resolve());
      out.once('error', reject);
      gz.end();
    });
    p.catch(() => {}); // surfaced by close()
    return p;
  }

  /** Flush and close the current file; resolves when every file written is complete on disk. */
  async close(): Promise<void> {
    if (this.closed) {
      await Promise.all(this.closing);
      return;
    }
    this.closed = true;
    this.drain();
    if (this.gz) {
      this.closing.push(this.finish(this.gz));
      this.gz = null;
    }
    await Promise.all(this.closing);
    if (this.error) throw this.error;
  }
}
