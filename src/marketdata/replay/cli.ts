/**
 * CLI adapter for `papertape serve-replay FILE... [--port P] [--host H] [--speed X] [--rest-data DIR]
 * [--start immediately|first-subscription] [--loop N]`: starts the replay server, prints its URLs, prints a
 * progress line to stderr every second, and runs until SIGINT/SIGTERM (or the abort signal).
 */
import { progressUntilStopped, stderrLogger, type CliIo } from '../../cli/signals.js';
import { startReplayServer, type ReplayStatus, type Venue } from './server.js';

export interface ServeReplayCliOptions {
  files: string[];
  port?: number | string;
  host?: string;
  /** number, or "inf"/"infinity"/"max"/"0" for as fast as possible */
  speed?: number | string;
  restData?: string;
  start?: 'immediately' | 'first-subscription';
  /** alias of `start` (the server option's name) */
  startOn?: 'immediately' | 'first-subscription';
  /** with first-subscription: start the clock this long after the first subscription (default 0) */
  startDelayMs?: number | string;
  /** fault injection, `venue:SYMBOL:index` strings or objects */
  dropDepth?: (string | { symbol: string; venue: Venue; index: number })[];
  /** fault injection on command (POST /_admin/faults) */
  faults?: boolean;
  /** disconnect a client with more than this many bytes unsent (default 16 MiB) */
  maxClientBufferBytes?: number;
  /** play the recordings this many times back to back (default 1), see ReplayServerOptions.loop */
  loop?: number | string;
  /** stop (and resolve) once every recorded message was sent */
  exitWhenDone?: boolean;
  /** log info messages too (warnings are always printed) */
  verbose?: boolean;
}

export type { CliIo };

export function parseSpeed(v: number | string | undefined): number {
  if (v === undefined) return 1;
  if (typeof v === 'number') return v <= 0 ? Infinity : v;
  const s = v.trim().toLowerCase().replace(/x$/, '');
  if (s === 'inf' || s === 'infinity' || s === 'max' || s === '0') return Infinity;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid --speed ${v}`);
  return n === 0 ? Infinity : n;
}

/** `--loop`: a positive integer (default 1). */
export function parseLoop(v: number | string | undefined): number {
  if (v === undefined) return 1;
  const n = typeof v === 'number' ? v : /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`invalid --loop ${String(v)} (expected a positive integer)`);
  return n;
}

function parseDrop(d: string | { symbol: string; venue: Venue; index: number }): { symbol: string; venue: Venue; index: number } {
  if (typeof d !== 'string') return d;
  const m = /^(spot|usdm):([A-Za-z0-9]+):(\d+)$/.exec(d.trim());
  if (!m) throw new Error(`invalid drop-depth ${d} (expected venue:SYMBOL:index)`);
  return { venue: m[1] as Venue, symbol: m[2]!.toUpperCase(), index: Number(m[3]) };
}

export function formatReplayProgress(s: ReplayStatus): string {
  const pct = s.total > 0 ? ((100 * s.sent) / s.total).toFixed(1) : '100.0';
  const t = s.replayTimeMs === null ? 'not started' : new Date(s.replayTimeMs).toISOString();
  const state = s.finished ? ' finished' : s.started ? '' : ' waiting for a subscription';
  const pass = s.loop ? ` pass=${s.loop.pass}/${s.loop.passes}` : '';
  return `replay ${s.sent}/${s.total} (${pct}%)${pass} clients=${s.clients} time=${t}${s.dropped ? ` dropped=${s.dropped}` : ''}${state}`;
}

/** Run the replay server until SIGINT/SIGTERM (or `io.signal`, or the end with `exitWhenDone`). */
export async function runServeReplay(opts: ServeReplayCliOptions, io: CliIo = {}): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  if (!opts.files || opts.files.length === 0) throw new Error('serve-replay: no recording files given');
  const port = opts.port === undefined ? 0 : Number(opts.port);
  const startOn = opts.start ?? opts.startOn ?? 'first-subscription';
  if (startOn !== 'immediately' && startOn !== 'first-subscription') throw new Error(`invalid --start ${String(startOn)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${String(opts.port)}`);
  const loop = parseLoop(opts.loop);
  const server = await startReplayServer({
    files: opts.files,
    host: opts.host ?? '127.0.0.1',
    port,
    speed: parseSpeed(opts.speed),
    startOn,
    startDelayMs: opts.startDelayMs === undefined ? undefined : Number(opts.startDelayMs),
    restData: opts.restData,
    dropDepth: opts.dropDepth?.map(parseDrop),
    faults: opts.faults ?? false,
    maxClientBufferBytes: opts.maxClientBufferBytes,
    loop,
    logger: stderrLogger(err, opts.verbose ?? false),
  });
  const st = server.status();
  out.write(`serve-replay listening on ${server.url}\n`);
  const both = st.venues.length > 1;
  if (st.venues.includes('spot')) out.write(`  spot:  REST ${server.url}/api/v3  WS ${server.wsUrl}/ws/<stream>  ${server.wsUrl}/stream?streams=a/b\n`);
  if (st.venues.includes('usdm'))
    out.write(
      `  usdm:  REST ${server.url}/fapi/v1  WS ${server.wsUrl}/public/stream?streams=  ${server.wsUrl}/market/stream?streams=${both ? '' : `  (also ${server.wsUrl}/stream)`}\n`,
    );
  out.write(`  ${st.total} messages, speed ${parseSpeed(opts.speed)}, start ${startOn}${st.loop ? `, ${st.loop.passes} passes of ${st.loop.spanMs / 1000} s` : ''}\n`);

  await progressUntilStopped(err, () => formatReplayProgress(server.status()), io.progressMs ?? 1000, {
    signal: io.signal,
    done: opts.exitWhenDone ? server.done : undefined,
  });
  err.write(`${formatReplayProgress(server.status())}\n`);
  await server.close();
}
