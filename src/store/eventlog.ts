import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochMs } from '../core/types.js';
import { readGzipLines, RecordingWriter, type ReadStats } from '../marketdata/recording/format.js';

/**
 * The session event log: every input the engine saw, with its receive time, so that `papertape
 * replay-log DIR` can feed the same inputs to the same code and get the same orders and fills.
 *
 * A session directory holds `session.json` (format, session id, start time, version, seed and the
 * configuration without secrets) and `events_<YYYYMMDD>_<HH>.gz` files (UTC hour of the receive time),
 * one input per line:
 *
 *   <receive time, ns since epoch> <source> <payload>
 *
 * where source is `tick`, `control` (an operator's command, JSON), or `<venue> msg`, `<venue> info`, `<venue> snap <SYMBOL>`,
 * `<venue> oi <SYMBOL>`, `<venue> reset <syncing|resyncing>`; the payload is the raw WebSocket text or
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
}

/** Receive time at the log's resolution (microseconds): live code stamps inputs with this. */
export function quantizeTime(t: number): EpochMs {
  return Math.round(t * 1000) / 1000;
}

export class EventLogWriter {
  private readonly out: RecordingWriter;
  closed = false;

  constructor(readonly dir: string, header: SessionHeader) {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'session.json');
    if (existsSync(file)) throw new Error(`${file} exists: an event log is never overwritten`);
    writeFileSync(file, `${JSON.stringify(header, null, 2)}\n`, { flag: 'wx' });
    this.out = new RecordingWriter({ dir, prefix: 'events', level: 1 });
  }

  get lines(): number {
    return this.out.stats.messages;
  }
  get bytes(): number {
    return this.out.stats.bytes;
  }

  write(recvTime: EpochMs, source: string, payload: string): void {
    if (this.closed) return;
    const ns = BigInt(Math.round(recvTime * 1000)) * 1000n;
    if (payload.includes('\n') || payload.includes('\r')) {
      const sp = source.indexOf(' ', source.indexOf(' ') + 1);
      const escaped = sp < 0 ? `${source}~` : `${source.slice(0, sp)}~${source.slice(sp)}`;
      this.out.write(ns, `${escaped} ${JSON.stringify(payload)}`);
    } else this.out.write(ns, `${source} ${payload}`);
  }

  flush(): void {
    if (!this.closed) this.out.flush();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.out.close();
  }
}

export function readSessionHeader(dir: string): SessionHeader {
  const file = join(dir, 'session.json');
  if (!existsSync(file)) throw new Error(`${dir} is not a session event log (no session.json)`);
  const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<SessionHeader>;
  if (h.format !== EVENT_LOG_FORMAT) throw new Error(`${file}: unsupported event log format ${String(h.format)} (this version reads ${EVENT_LOG_FORMAT})`);
  if (typeof h.sessionId !== 'string' || typeof h.startedAt !== 'number' || typeof h.seed !== 'number' || typeof h.config !== 'object' || h.config === null) {
    throw new Error(`${file}: missing sessionId, startedAt, seed or config`);
  }
  return h as SessionHeader;
}

/** The event files of a session directory, oldest first (`events_<day>_<hour>[.<n>].gz`). */
export function eventFiles(dir: string): string[] {
  const files = readdirSync(dir)
    .map((name) => ({ name, m: /^events_(\d{8})_(\d{2})(?:\.(\d+))?\.gz$/.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null);
  files.sort((a, b) => (a.m[1]! + a.m[2]! < b.m[1]! + b.m[2]! ? -1 : a.m[1]! + a.m[2]! > b.m[1]! + b.m[2]! ? 1 : Number(a.m[3] ?? 0) - Number(b.m[3] ?? 0)));
  return files.map((f) => join(dir, f.name));
}

export type LoggedInput =
  | { kind: 'tick'; time: EpochMs }
  | { kind: 'control'; time: EpochMs; payload: string }
  | { kind: 'msg'; time: EpochMs; venue: string; payload: string }
  | { kind: 'info'; time: EpochMs; venue: string; payload: string }
  | { kind: 'snap'; time: EpochMs; venue: string; symbol: string; payload: string }
  | { kind: 'oi'; time: EpochMs; venue: string; symbol: string; payload: string }
  | { kind: 'reset'; time: EpochMs; venue: string; state: 'syncing' | 'resyncing'; symbols: string[] };

/** Reads a session's inputs in order. Lines that cannot be understood throw, naming file and line. */
export async function* readEventLog(dir: string, stats?: ReadStats): AsyncGenerator<LoggedInput> {
  for (const file of eventFiles(dir)) {
    let n = 0;
    for await (const line of readGzipLines(file, stats)) {
      n++;
      const input = parseLine(line);
      if (typeof input === 'string') throw new Error(`${file}:${n}: ${input}`);
      yield input;
    }
  }
}

function parseLine(line: string): LoggedInput | string {
  const sp1 = line.indexOf(' ');
  if (sp1 <= 0) return 'no receive time';
  const ns = line.slice(0, sp1);
  if (!/^\d+$/.test(ns)) return 'bad receive time';
  const time = Number(BigInt(ns) / 1000n) / 1000;
  const sp2 = line.indexOf(' ', sp1 + 1);
  const first = sp2 < 0 ? line.slice(sp1 + 1) : line.slice(sp1 + 1, sp2);
  if (first === 'tick') return { kind: 'tick', time };
  if (first === 'control') {
    if (sp2 < 0) return 'control without a command';
    return { kind: 'control', time, payload: line.slice(sp2 + 1) };
  }
  const venue = first;
  if (sp2 < 0) return 'no input kind';
  const sp3 = line.indexOf(' ', sp2 + 1);
  if (sp3 < 0) return 'no payload';
  let kind = line.slice(sp2 + 1, sp3);
  const escaped = kind.endsWith('~');
  if (escaped) kind = kind.slice(0, -1);
  const decode = (p: string): string => (escaped ? (JSON.parse(p) as string) : p);
  switch (kind) {
    case 'msg':
    case 'info':
      return { kind, time, venue, payload: decode(line.slice(sp3 + 1)) };
    case 'snap':
    case 'oi':
    case 'reset': {
      const sp4 = line.indexOf(' ', sp3 + 1);
      const arg = sp4 < 0 ? line.slice(sp3 + 1) : line.slice(sp3 + 1, sp4);
      const payload = sp4 < 0 ? '' : decode(line.slice(sp4 + 1));
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
