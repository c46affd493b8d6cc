import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  EVENT_LOG_FORMAT,
  EventLogError,
  EventLogWriter,
  eventFiles,
  listEventLogSessions,
  parseEventFileName,
  pruneEventLogs,
  quantizeTime,
  readEventLog,
  readSessionHeader,
  type EventLogProblem,
  type EventLogReadOptions,
  type EventLogReadStats,
  type LoggedInput,
  type SessionHeader,
} from './eventlog.js';

const tmp = mkdtempSync(join(tmpdir(), 'pt-eventlog-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** 2024-08-08T22:00:00Z */
const T0 = Date.UTC(2024, 7, 8, 22);

function header(id: string, startedAt: number = T0): SessionHeader {
  return { format: EVENT_LOG_FORMAT, sessionId: id, startedAt, version: 'test', seed: 7, database: null, config: { SYMBOLS: ['BTCUSDT'] } };
}

async function collect(dir: string, stats?: EventLogReadStats, options?: EventLogReadOptions): Promise<LoggedInput[]> {
  const out: LoggedInput[] = [];
  for await (const i of readEventLog(dir, stats, options)) out.push(i);
  return out;
}

/** Reads until it throws; returns what was read before and the error. */
async function collectUntilError(dir: string, options?: EventLogReadOptions): Promise<{ got: LoggedInput[]; err: unknown }> {
  const got: LoggedInput[] = [];
  try {
    for await (const i of readEventLog(dir, undefined, options)) got.push(i);
  } catch (err) {
    return { got, err };
  }
  return { got, err: null };
}

/** A pseudo-random payload that does not compress to nothing, so cut files keep many complete lines. */
function payload(h: number, i: number): string {
  let x = (h * 100_003 + i * 7919 + 13) >>> 0;
  let s = '';
  for (let k = 0; k < 6; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += x.toString(36);
  }
  return `{"stream":"btcusdt@trade","data":{"h":${h},"i":${i},"r":"${s}"}}`;
}

/** Writes `hours` hours of `perHour` message inputs; returns what a reader must yield. */
async function writeLog(dir: string, hours: number, perHour: number, maxFileBytes?: number): Promise<{ inputs: LoggedInput[]; files: string[] }> {
  const w = new EventLogWriter(dir, header(basename(dir)), maxFileBytes === undefined ? {} : { maxFileBytes });
  const inputs: LoggedInput[] = [];
  for (let h = 0; h < hours; h++) {
    for (let i = 0; i < perHour; i++) {
      const time = quantizeTime(T0 + h * HOUR + i * 1.001);
      const p = payload(h, i);
      w.write(time, 'spot msg', p);
      inputs.push({ kind: 'msg', time, venue: 'spot', payload: p });
    }
  }
  await w.close();
  return { inputs, files: [...w.files] };
}

function cut(file: string, fraction: number): void {
  const b = readFileSync(file);
  writeFileSync(file, b.subarray(0, Math.floor(b.length * fraction)));
}

describe('event log rotation by size and hour', () => {
  it('splits an hour into numbered parts that eventFiles orders as written, every input read back once', async () => {
    const dir = join(tmp, 'parts');
    const w = new EventLogWriter(dir, header('parts'), { maxFileBytes: 600 });
    const expected: LoggedInput[] = [];
    for (let h = 0; h < 3; h++) {
      for (let i = 0; i < 120; i++) {
        const time = quantizeTime(T0 + h * HOUR + i * 250.125);
        if (i % 10 === 9) {
          w.write(time, 'tick', '');
          expected.push({ kind: 'tick', time });
        } else if (i % 10 === 5) {
          const p = `{"lastUpdateId":${i},"bids":[],"asks":[]}`;
          w.write(time, 'usdm snap ETHUSDT', p);
          expected.push({ kind: 'snap', time, venue: 'usdm', symbol: 'ETHUSDT', payload: p });
        } else {
          const p = payload(h, i);
          w.write(time, 'spot msg', p);
          expected.push({ kind: 'msg', time, venue: 'spot', payload: p });
        }
      }
    }
    await w.close();

    const files = eventFiles(dir);
    expect(files).toEqual(w.files);
    const names = files.map((f) => basename(f));
    expect(names.filter((n) => n.startsWith('events_20240808_22')).length).toBeGreaterThan(11);
    // numeric, not lexical: .2 before .10, and the next hour after every part of this one
    expect(names.indexOf('events_20240808_22.2.gz')).toBeLessThan(names.indexOf('events_20240808_22.10.gz'));
    expect(names.indexOf('events_20240808_22.11.gz')).toBeLessThan(names.indexOf('events_20240808_23.gz'));
    expect(names[names.length - 1]).toMatch(/^events_20240809_00\.\d+\.gz$/);

    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    expect(await collect(dir, stats)).toEqual(expected);
    expect(stats).toMatchObject({ lines: 360, malformed: 0, files: files.length });
    expect(stats.truncated).toBeUndefined();
    expect(stats.problems).toBeUndefined();
  });

  it('sorts event file names by hour, then part number, and ignores other files', () => {
    const dir = join(tmp, 'names');
    mkdirSync(dir);
    const order = [
      'events_20240808_23.gz',
      'events_20240808_23.1.gz',
      'events_20240808_23.2.gz',
      'events_20240808_23.10.gz',
      'events_20240808_23.11.gz',
      'events_20240809_00.gz',
      'events_20240809_00.3.gz',
      'events_20240809_09.gz',
      'events_20240809_10.gz',
      'events_20240810_00.gz',
    ];
    const shuffled = [...order].sort((a, b) => (a.length * 31 + a.charCodeAt(a.length - 5)) % 17 - (b.length * 31 + b.charCodeAt(b.length - 5)) % 17);
    for (const n of [...shuffled, 'session.json', 'replay.db', 'events_x.gz', 'events_20240808_23.gz.tmp']) writeFileSync(join(dir, n), '');
    expect(eventFiles(dir).map((f) => basename(f))).toEqual(order);
    expect(parseEventFileName('events_20240808_23.10.gz')).toEqual({ hour: Date.UTC(2024, 7, 8, 23), part: 10 });
    expect(parseEventFileName('events_20240808_23.gz')).toEqual({ hour: Date.UTC(2024, 7, 8, 23), part: 0 });
    expect(parseEventFileName('spot_20240808_23.gz')).toBeNull();
  });
});

describe('escaped payloads', () => {
  it('round-trips payloads with line breaks for every kind of input', async () => {
    const dir = join(tmp, 'escaped');
    const w = new EventLogWriter(dir, header('escaped'));
    const t = (i: number) => quantizeTime(T0 + i * 0.001 + i);
    const cases: [string, string, LoggedInput][] = [
      ['spot msg', '{"a":\n1}', { kind: 'msg', time: t(0), venue: 'spot', payload: '{"a":\n1}' }],
      ['spot msg', 'crlf\r\nend\\', { kind: 'msg', time: t(1), venue: 'spot', payload: 'crlf\r\nend\\' }],
      ['usdm info', '{"x":"\u2028é\n"}', { kind: 'info', time: t(2), venue: 'usdm', payload: '{"x":"\u2028é\n"}' }],
      ['spot snap BTCUSDT', '{"bids":[\r]}', { kind: 'snap', time: t(3), venue: 'spot', symbol: 'BTCUSDT', payload: '{"bids":[\r]}' }],
      ['usdm oi ETHUSDT', '{"openInterest":"1"}\n', { kind: 'oi', time: t(4), venue: 'usdm', symbol: 'ETHUSDT', payload: '{"openInterest":"1"}\n' }],
      ['control', '{"type":"pause",\n"reason":"two\nlines"}', { kind: 'control', time: t(5), payload: '{"type":"pause",\n"reason":"two\nlines"}' }],
      ['spot reset syncing', 'BTCUSDT,ETHUSDT', { kind: 'reset', time: t(6), venue: 'spot', state: 'syncing', symbols: ['BTCUSDT', 'ETHUSDT'] }],
      ['spot msg', 'tilde~ and "quotes" stay', { kind: 'msg', time: t(7), venue: 'spot', payload: 'tilde~ and "quotes" stay' }],
      ['tick', '', { kind: 'tick', time: t(8) }],
    ];
    for (const [source, p, want] of cases) w.write(want.time, source, p);
    await w.close();
    expect(await collect(dir)).toEqual(cases.map(([, , want]) => want));
  });
});

describe('queued writes (live)', () => {
  it('takes lines at once, writes them after the turn of the event loop, in order, and reads them back the same', async () => {
    const dir = join(tmp, 'queued');
    const failures: string[] = [];
    const w = new EventLogWriter(dir, header('queued'), { queued: true, onFailure: (m) => failures.push(m) });
    const inputs: LoggedInput[] = [];
    for (let i = 0; i < 500; i++) {
      const time = quantizeTime(T0 + i * 1.001);
      const p = i % 50 === 7 ? `{"a":\n${i}}` : payload(0, i);
      w.write(time, 'spot msg', p);
      inputs.push({ kind: 'msg', time, venue: 'spot', payload: p });
    }
    expect(w.lines).toBe(500);
    // taken, not yet formatted: no file yet
    expect(w.files).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(w.files).toHaveLength(1);
    w.write(quantizeTime(T0 + 600), 'tick', '');
    inputs.push({ kind: 'tick', time: quantizeTime(T0 + 600) });
    // close writes what is still queued
    await w.close();
    expect(await collect(dir)).toEqual(inputs);
    expect(failures).toEqual([]);
  });

  it('a file error known before a line fails that line and halts (onFailure once); nothing after it is taken', async () => {
    const dir = join(tmp, 'queued-fail');
    const failures: string[] = [];
    const w = new EventLogWriter(dir, header('queued-fail'), { queued: true, onFailure: (m) => failures.push(m) });
    w.write(quantizeTime(T0), 'spot msg', payload(0, 0));
    w.flush();
    // the file fails the way a disk error surfaces: asynchronously, on the writer's stream
    const out = (w as unknown as { out: { error: Error | null } }).out;
    out.error = Object.assign(new Error('EROFS: read-only file system, write'), { code: 'EROFS' });
    w.write(quantizeTime(T0 + 1), 'spot msg', payload(0, 1));
    w.write(quantizeTime(T0 + 2), 'spot msg', payload(0, 2));
    expect(failures).toEqual(['EROFS: EROFS: read-only file system, write']);
    expect(w.droppedLines).toBe(2);
    expect(w.lines).toBe(1);
    await w.close();
    expect(failures).toHaveLength(1);
    expect(() => new EventLogWriter(join(tmp, 'queued-no-handler'), header('x'), { queued: true })).toThrow(/queued needs onFailure/);
  });
});

describe('reading a damaged event log', () => {
  it('reads a truncated last file up to its last complete input, without an error', async () => {
    const dir = join(tmp, 'trunc-last');
    const { inputs, files } = await writeLog(dir, 2, 3000);
    expect(files).toHaveLength(2);
    cut(files[1]!, 0.6);
    const problems: EventLogProblem[] = [];
    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const got = await collect(dir, stats, { onProblem: (p) => problems.push(p) });
    expect(got.length).toBeGreaterThan(3000 + 100);
    expect(got.length).toBeLessThan(6000);
    expect(got).toEqual(inputs.slice(0, got.length));
    expect(stats.truncated).toBe(true);
    expect(stats.truncatedFiles).toEqual([files[1]]);
    expect(stats.skippedFiles).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: 'truncated', file: files[1], last: true, lastTime: got[got.length - 1]!.time });
    expect(problems[0]!.message).toContain(files[1]!);
    expect(problems[0]!.message).toMatch(/crash/);
    expect(stats.problems).toEqual(problems);
  });

  it('reads exactly what was flushed before a crash', async () => {
    const dir = join(tmp, 'live');
    const crashed = join(tmp, 'crashed');
    mkdirSync(crashed);
    const w = new EventLogWriter(dir, header('live'));
    for (let i = 0; i < 500; i++) w.write(quantizeTime(T0 + i), 'spot msg', payload(0, i));
    w.flush();
    const file = w.files[0]!;
    // copy the file as a crash would leave it, once the flushed bytes have reached it
    const copy = join(crashed, basename(file));
    let stats: EventLogReadStats = { lines: 0, malformed: 0 };
    let got: LoggedInput[] = [];
    for (let k = 0; k < 250 && got.length < 500; k++) {
      await new Promise((r) => setTimeout(r, 20));
      if (!existsSync(file)) continue;
      copyFileSync(file, copy);
      stats = { lines: 0, malformed: 0 };
      got = await collect(crashed, stats);
    }
    for (let i = 500; i < 600; i++) w.write(quantizeTime(T0 + i), 'spot msg', payload(0, i));
    await w.close();

    expect(got).toHaveLength(500);
    expect(stats).toMatchObject({ lines: 500, malformed: 0, truncated: true });
    expect(await collect(dir)).toHaveLength(600);
  });

  it('takes a truncated file followed by an empty leftover as the end of a crashed log', async () => {
    const dir = join(tmp, 'trunc-empty');
    const { inputs, files } = await writeLog(dir, 1, 3000);
    cut(files[0]!, 0.5);
    writeFileSync(join(dir, 'events_20240808_23.gz'), '');
    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const got = await collect(dir, stats);
    expect(got).toEqual(inputs.slice(0, got.length));
    expect(stats.truncatedFiles).toEqual([files[0], join(dir, 'events_20240808_23.gz')]);
    expect(stats.problems).toMatchObject([{ kind: 'truncated', last: true, file: files[0] }]);
  });

  it('stops at a truncated file in the middle, or goes on past it with skipCorrupt', async () => {
    const dir = join(tmp, 'trunc-mid');
    const { inputs, files } = await writeLog(dir, 3, 2000);
    expect(files).toHaveLength(3);
    cut(files[1]!, 0.5);

    const { got, err } = await collectUntilError(dir);
    expect(err).toBeInstanceOf(EventLogError);
    const e = err as EventLogError;
    expect(e.problem).toMatchObject({ kind: 'truncated', file: files[1], last: false });
    expect(e.message).toContain(files[1]!);
    expect(e.message).toContain(new Date(T0 + 2 * HOUR).toISOString()); // the first input after the gap
    expect(e.message).toContain(new Date(got[got.length - 1]!.time).toISOString()); // the last before it
    expect(e.message).toMatch(/skipCorrupt/);
    expect(got.length).toBeGreaterThan(2000);
    expect(got.length).toBeLessThan(4000);

    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const all = await collect(dir, stats, { skipCorrupt: true });
    const n = got.length;
    expect(all).toEqual([...inputs.slice(0, n), ...inputs.slice(4000)]);
    expect(stats.truncatedFiles).toEqual([files[1]]);
    expect(stats.skippedFiles).toBeUndefined();
    expect(stats.problems).toMatchObject([{ kind: 'truncated', file: files[1], last: false }]);
  });

  it('refuses a corrupt file in the middle before using any of it, or skips it whole with skipCorrupt', async () => {
    const dir = join(tmp, 'corrupt-mid');
    const { inputs, files } = await writeLog(dir, 3, 2000);
    const mid = files[1]!;
    const b = readFileSync(mid);
    b.fill(0x55, b.length >> 1, (b.length >> 1) + 64);
    writeFileSync(mid, b);

    const { got, err } = await collectUntilError(dir);
    expect(got).toEqual(inputs.slice(0, 2000)); // nothing of the damaged file
    expect(err).toBeInstanceOf(EventLogError);
    const e = err as EventLogError;
    expect(e.problem).toMatchObject({ kind: 'corrupt', file: mid, linesRead: 0 });
    expect(e.message).toContain(mid);
    expect(e.message).toContain('2024-08-08T23:00Z'); // the hour of inputs lost
    expect(e.message).toMatch(/skipCorrupt/);

    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const problems: EventLogProblem[] = [];
    const all = await collect(dir, stats, { skipCorrupt: true, onProblem: (p) => problems.push(p) });
    expect(all).toEqual([...inputs.slice(0, 2000), ...inputs.slice(4000)]);
    expect(stats.skippedFiles).toEqual([mid]);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/skipped/);
    expect(stats.truncated).toBeUndefined();
  });

  it('without verify notices the damage where it is, keeps the lines before it and skips the rest', async () => {
    const dir = join(tmp, 'corrupt-stream');
    const { inputs, files } = await writeLog(dir, 3, 2000);
    const mid = files[1]!;
    const b = readFileSync(mid);
    b.fill(0x55, b.length >> 1, (b.length >> 1) + 64);
    writeFileSync(mid, b);
    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const all = await collect(dir, stats, { skipCorrupt: true, lines: 'lenient', verify: false });
    expect(all.slice(0, 2000)).toEqual(inputs.slice(0, 2000));
    expect(all.slice(-2000)).toEqual(inputs.slice(4000));
    expect(stats.skippedFiles).toEqual([mid]);
    expect(stats.problems?.find((p) => p.kind === 'corrupt')).toMatchObject({ file: mid });

    // a file that is not gzip at all, strict
    writeFileSync(mid, 'not gzip at all\n');
    const { got, err } = await collectUntilError(dir, { verify: false });
    expect(got).toEqual(inputs.slice(0, 2000));
    expect(err).toBeInstanceOf(EventLogError);
    expect((err as EventLogError).problem).toMatchObject({ kind: 'corrupt', file: mid, linesRead: 0 });
    expect((err as Error).message).toMatch(/header check/);
  });

  it('throws on a line it cannot understand, naming file and line; lenient counts and skips it', async () => {
    const dir = join(tmp, 'bad-lines');
    mkdirSync(dir);
    const file = join(dir, 'events_20240808_22.gz');
    const ns = (i: number) => `${BigInt(T0 + i) * 1_000_000n}`;
    const lines = [
      `${ns(0)} spot msg {"a":1}`,
      'garbage',
      `${ns(2)} tick `,
      `${ns(3)} spot bogus {"b":2}`,
      `${ns(4)} spot msg~ "unterminated`,
      `${ns(5)} control~ 12`,
      `${ns(6)} spot reset later BTCUSDT`,
      `${ns(7)} usdm snap BTCUSDT {"c":3}`,
    ];
    writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));

    const { got, err } = await collectUntilError(dir);
    expect(got).toEqual([{ kind: 'msg', time: T0, venue: 'spot', payload: '{"a":1}' }]);
    expect(err).toBeInstanceOf(EventLogError);
    expect((err as Error).message).toMatch(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}:2: no receive time`));

    const stats: EventLogReadStats = { lines: 0, malformed: 0 };
    const all = await collect(dir, stats, { lines: 'lenient' });
    expect(all).toEqual([
      { kind: 'msg', time: T0, venue: 'spot', payload: '{"a":1}' },
      { kind: 'tick', time: T0 + 2 },
      { kind: 'snap', time: T0 + 7, venue: 'usdm', symbol: 'BTCUSDT', payload: '{"c":3}' },
    ]);
    expect(stats).toMatchObject({ lines: 8, malformed: 5, badLines: 5 });
    expect(stats.problems!.map((p) => (p.kind === 'bad-line' ? p.line : -1))).toEqual([2, 4, 5, 6, 7]);
    expect(stats.problems![1]!.message).toContain(`${file}:4: unknown input kind bogus`);
  });
});

describe('readSessionHeader', () => {
  it('reads what the writer wrote', async () => {
    const dir = join(tmp, 'hdr-ok');
    const w = new EventLogWriter(dir, header('hdr-ok'));
    await w.close();
    expect(readSessionHeader(dir)).toEqual(header('hdr-ok'));
  });

  it.each([
    ['a missing directory', (d: string) => d, /no such directory.*DATA_DIR\/sessions\/<session id>/],
    ['a directory without a log', (d: string) => (mkdirSync(d), d), /not a session event log \(no session\.json\).*DATA_DIR\/sessions\/<session id>/],
    ['event files without session.json', (d: string) => (mkdirSync(d), writeFileSync(join(d, 'events_20240808_22.gz'), ''), d), /session\.json is missing.*restore it from a backup/],
    ['an empty session.json', (d: string) => (mkdirSync(d), writeFileSync(join(d, 'session.json'), ''), d), /damaged, not valid JSON.*empty.*restore it from a backup/],
    ['a cut session.json', (d: string) => (mkdirSync(d), writeFileSync(join(d, 'session.json'), JSON.stringify(header('x')).slice(0, 40)), d), /session\.json: damaged, not valid JSON/],
    ['another format', (d: string) => (mkdirSync(d), writeFileSync(join(d, 'session.json'), JSON.stringify({ ...header('x'), format: 99, version: '9.9.9' })), d), /unsupported event log format 99.*version that wrote it \(9\.9\.9\)/],
    ['missing fields', (d: string) => (mkdirSync(d), writeFileSync(join(d, 'session.json'), JSON.stringify({ format: EVENT_LOG_FORMAT })), d), /missing sessionId.*restore it from a backup/],
    ['a directory named session.json', (d: string) => (mkdirSync(join(d, 'session.json'), { recursive: true }), d), /session\.json: cannot be read/],
  ])('says what is wrong and what to do for %s', (_what, make, message) => {
    const dir = make(join(tmp, `hdr-${_what.replace(/\W+/g, '-')}`));
    expect(() => readSessionHeader(dir)).toThrow(message);
  });
});

describe('pruneEventLogs', () => {
  /** A fake session: session.json and event files for the given hours (ms), each `bytes` long. */
  function session(root: string, name: string, hours: number[], opts: { bytes?: number; startedAt?: number; header?: string | null } = {}): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    if (opts.header !== null) writeFileSync(join(dir, 'session.json'), opts.header ?? JSON.stringify(header(name, opts.startedAt ?? hours[0] ?? T0)));
    for (const h of hours) {
      const d = new Date(h);
      const name = `events_${d.toISOString().slice(0, 10).replace(/-/g, '')}_${d.toISOString().slice(11, 13)}.gz`;
      writeFileSync(join(dir, name), Buffer.alloc(opts.bytes ?? 1000, 1));
    }
    return dir;
  }
  const sizeOf = (dir: string) => readdirSync(dir).reduce((s, n) => s + statSync(join(dir, n)).size, 0);

  it('deletes sessions whose newest event file is older than the retention, never the running one', () => {
    const root = join(tmp, 'prune-age');
    const now = T0 + 40 * DAY;
    const old = session(root, 'old', [T0, T0 + HOUR, T0 + 2 * HOUR]); // last input before T0 + 3h
    const oldButLater = session(root, 'old-but-later', [T0 - 5 * DAY, T0 + 20 * DAY]); // its newest file counts
    const running = session(root, 'running', [T0 - DAY]);
    const noEvents = session(root, 'no-events', [], { startedAt: T0 - 3 * DAY }); // counts from its start
    const damaged = session(root, 'damaged', [], { header: '{"form' }); // counts from the directory's mtime
    utimesSync(damaged, new Date(T0), new Date(T0));
    const fresh = session(root, 'fresh', [now - 2 * HOUR]);
    mkdirSync(join(root, 'notes'));
    writeFileSync(join(root, 'notes', 'readme.txt'), 'not a session');
    writeFileSync(join(root, 'stray.gz'), 'x');
    const before = { old: sizeOf(old), running: sizeOf(running) };

    const r = pruneEventLogs(root, { retentionDays: 30, now, keep: [running] });
    expect(r.deleted.map((s) => s.name)).toEqual(['no-events', 'damaged', 'old']); // oldest first
    expect(r.deleted.every((s) => s.reason === 'age')).toBe(true);
    expect(r.deleted.find((s) => s.name === 'old')).toMatchObject({ dir: old, bytes: before.old, lastEventAt: T0 + 3 * HOUR });
    expect(r.freedBytes).toBe(r.deleted.reduce((s, d) => s + d.bytes, 0));
    for (const d of [old, noEvents, damaged]) expect(existsSync(d)).toBe(false);
    for (const d of [running, oldButLater, fresh, join(root, 'notes'), join(root, 'stray.gz')]) expect(existsSync(d)).toBe(true);
    expect(r).toMatchObject({ remainingSessions: 3, overCap: false, errors: [] });
    expect(r.remainingBytes).toBe(before.running + sizeOf(oldButLater) + sizeOf(fresh));
  });

  it('counts to the end of the newest file hour, and 0 days keeps everything', () => {
    const root = join(tmp, 'prune-edge');
    session(root, 's', [T0]);
    const end = T0 + HOUR + 30 * DAY; // exactly 30 days after the hour of its newest file ended
    expect(pruneEventLogs(root, { retentionDays: 30, now: end, keep: [] }).deleted).toEqual([]);
    expect(pruneEventLogs(root, { retentionDays: 0, now: end + 1000 * DAY, keep: [] }).deleted).toEqual([]);
    expect(pruneEventLogs(root, { retentionDays: 30, now: end + 1, keep: [] }).deleted.map((s) => s.name)).toEqual(['s']);
    expect(pruneEventLogs(join(tmp, 'no-such-dir'), { retentionDays: 30, now: end, keep: [] })).toMatchObject({ deleted: [], remainingSessions: 0, remainingBytes: 0 });
    expect(() => pruneEventLogs(root, { retentionDays: -1, now: end, keep: [] })).toThrow(/retentionDays/);
  });

  it('removes the oldest sessions first while the total is above the cap, never the running one', () => {
    const root = join(tmp, 'prune-size');
    const now = T0 + 10 * DAY;
    // oldest first: running (kept), a, b, c, d; 4 files of 1000 bytes each + session.json
    const running = session(root, 'running', [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
    for (const [i, n] of ['a', 'b', 'c', 'd'].entries()) session(root, n, [1, 2, 3, 4].map((k) => T0 + (i + 1) * DAY + k * HOUR));
    const sessions = listEventLogSessions(root);
    expect(sessions.map((s) => s.name)).toEqual(['running', 'a', 'b', 'c', 'd']);
    const total = sessions.reduce((s, x) => s + x.bytes, 0);
    const each = sessions[1]!.bytes;

    // room for all but two sessions: a and b go (not the older running one)
    const r = pruneEventLogs(root, { retentionDays: 30, maxTotalBytes: total - each - 1, now, keep: ['running'] });
    expect(r.deleted.map((s) => [s.name, s.reason])).toEqual([['a', 'size'], ['b', 'size']]);
    expect(r.remainingBytes).toBe(total - r.freedBytes);
    expect(r.remainingBytes).toBeLessThanOrEqual(total - each - 1);
    expect(r.overCap).toBe(false);
    expect(existsSync(running)).toBe(true);

    // a cap smaller than the running session alone: everything else goes, the running one stays
    const r2 = pruneEventLogs(root, { retentionDays: 0, maxTotalBytes: 10, now, keep: [running] });
    expect(r2.deleted.map((s) => s.name)).toEqual(['c', 'd']);
    expect(r2).toMatchObject({ remainingSessions: 1, overCap: true });
    expect(readdirSync(root)).toEqual(['running']);
  });

  it('prunes by age first, then by size, and with real event logs', async () => {
    const root = join(tmp, 'prune-real');
    await writeLog(join(root, 'one'), 2, 500); // 2024-08-08 22h and 23h
    await writeLog(join(root, 'two'), 1, 500);
    const now = T0 + 2 * HOUR + 31 * DAY;
    const sessions = listEventLogSessions(root);
    expect(sessions.map((s) => [s.name, s.lastEventAt])).toEqual([
      ['two', T0 + HOUR],
      ['one', T0 + 2 * HOUR],
    ]);
    const r = pruneEventLogs(root, { retentionDays: 31, maxTotalBytes: 1, now, keep: [] });
    expect(r.deleted.map((s) => [s.name, s.reason])).toEqual([
      ['two', 'age'],
      ['one', 'size'],
    ]);
    expect(readdirSync(root)).toEqual([]);
  });
});
