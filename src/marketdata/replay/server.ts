/**
 * A local, Binance-compatible replay server for recordings in the Papertape/hftbacktest format
 * (`<recv ns> <raw JSON>` lines, see ../recording/format.ts).
 *
 * It serves, on one port:
 *  - WebSocket market streams like the real exchange: spot `/ws/<s>[/<s>…]` (raw payloads) and
 *    `/stream?streams=a/b` (combined envelopes); USD-M routed paths `/public/...` (depth, bookTicker)
 *    and `/market/...` (everything else) — a stream on the wrong USD-M route is acknowledged and
 *    never delivers, as on the real exchange. Live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS /
 *    SET_PROPERTY / GET_PROPERTY control messages.
 *  - REST market data: time, ping, exchangeInfo, depth (consistent with what was already streamed),
 *    and for USD-M openInterest / premiumIndex; plus `/replay/status`.
 *
 * Playback: message i is sent at `start + (recv_i - recv_0) / speed` (speed Infinity or 0 = as fast as
 * possible, in batches, respecting WebSocket backpressure). The server keeps its own reference book per
 * (venue, symbol) — initialised from the recorded REST snapshot and updated by every recorded diff as
 * playback passes it — so REST depth snapshots agree with the streamed diffs.
 *
 * Derived data (NOT in the recordings, synthesised here so futures clients have something to read):
 *  - `<sym>@markPrice@1s` / `<sym>@markPrice` (3 s): `p` = `i` = `P` = mid of the last recorded USD-M
 *    bookTicker of the symbol; `r` = funding rate in effect at replay time from `restData/funding/<SYM>.csv`
 *    (else "0.00010000"); `T` = next 00/08/16 UTC funding time; `E` = replay exchange time. Only when the
 *    recording itself has no markPrice stream for the symbol (recorded ones are replayed verbatim).
 *  - `/fapi/v1/premiumIndex` and `/fapi/v1/openInterest` are derived the same way.
 *  - `@forceOrder`: nothing is sent unless recorded (the sample recordings have no liquidations).
 *  - Depth at a coarser interval than recorded is aggregated from the recorded diffs the way Binance
 *    does (one message per window: U of the first diff, u of the last, pu of the first, E/T of the last,
 *    last write per price wins), each side's levels in price order, the order the recorded diffs list them in
 *    (USD-M: both sides ascending; spot: bids descending, asks ascending).
 *
 * Looping (`loop` > 1): the recordings are played `loop` times back to back as one continuous market. Pass k
 * (0-based) is the same data with every time (E, T, trade times, the receive times that pace playback,
 * hence the clock, synthesized mark prices and REST answers) moved forward by k × `spanMs` (more than the
 * recordings' span of receive times and of exchange times, whole seconds) and every update id (U, u, pu,
 * lastUpdateId, bookTicker u) and trade id moved up by k × `updateIdShift` (a power of ten above the widest
 * id range of a stream), so nothing goes back. At the seam the book cannot continue, so the server does
 * what an exchange does at a maintenance disconnect: it closes every WebSocket client (code 1000, after
 * what was already queued for it), and its reference books start over from pass k's recorded snapshot,
 * so REST snapshots agree with what pass k streams; clients reconnect and resync on their own.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { REFERENCE_EXCHANGE_INFO } from '../binance/reference.js';
import { envelopeStream, readAll, type ReadStats } from '../recording/format.js';

export type Venue = 'spot' | 'usdm';

export interface ReplayLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface ReplayServerOptions {
  /** Recordings; each is classified spot or usdm (parent dir / file prefix named `usdm`/`spot`, else content). */
  files: string[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral); the actual port is reported. */
  port?: number;
  /** Playback speed multiple of the recorded pace, default 1; Infinity or 0 = as fast as possible. */
  speed?: number;
  /** Default 'first-subscription': the playback clock starts when a WS client first subscribes to any stream. */
  startOn?: 'first-subscription' | 'immediately';
  /**
   * With 'first-subscription': start the clock this many ms after the first subscription, so that a
   * client opening several connections at once (spot + USD-M public + market) gets all of them
   * subscribed before the first message. Default 0.
   */
  startDelayMs?: number;
  /** Optional directory like ../shared/data/binance-usdm-rest (funding/<SYM>.csv, oi_4h/<SYM>.csv). */
  restData?: string;
  /** Fault injection: do not send the index-th (0-based, per venue+symbol, as recorded) depth diff. */
  dropDepth?: { symbol: string; venue: Venue; index: number }[];
  /** Fault injection on command: `POST /_admin/faults` (a {@link FaultCommand}) and `GET /_admin/faults`. Default off. */
  faults?: boolean;
  /**
   * A WebSocket client whose unsent data (ws `bufferedAmount`) exceeds this many bytes is disconnected,
   * as Binance drops a client that cannot keep up, instead of holding playback back for everyone.
   * Default 16 MiB. (At speed max, playback still waits while a client has more than 8 MiB unsent.)
   */
  maxClientBufferBytes?: number;
  /**
   * Play the recordings this many times back to back (default 1: once), shifted in time and update ids
   * and with every client disconnected between passes (see the header comment). At speed max with
   * 'first-subscription', each later pass starts like the first: on the next subscription (plus
   * `startDelayMs`), since nobody is connected at the seam; at a finite speed the clock never stops.
   * `dropDepth` withholds its recorded diff in every pass.
   */
  loop?: number;
  logger?: ReplayLogger;
}

/**
 * Faults injected on command (`POST /_admin/faults`, JSON). Each field adds to what is pending; `venue`
 * limits the command to one venue's WebSocket clients, depth diffs and REST routes (default both).
 */
export interface FaultCommand {
  venue?: Venue;
  /** close every WebSocket client now (the client reconnects on its own) */
  disconnect?: boolean;
  /** half-open: stop sending anything (data and pings) to the current WebSocket clients, sockets stay open */
  halfOpen?: boolean;
  /** send each of the next N depth diffs twice */
  duplicate?: number;
  /** swap the next N pairs of depth diffs of a symbol (the first is sent after the second) */
  reorder?: number;
  /** withhold the next N depth diffs (a sequence gap) */
  drop?: number;
  /** answer the next N REST depth requests with the first snapshot served (older than the stream) */
  staleSnapshot?: number;
  /** answer the next `count` REST depth/exchangeInfo requests with HTTP 429 or 418 and Retry-After (s) */
  rest?: { status: 429 | 418; count: number; retryAfter?: number };
  /**
   * slow link: from now on every stream frame to the venue's WebSocket clients is held back this many ms
   * and then delivered, in order (0 ends it: what is held still goes out in order, then frames flow again)
   */
  lag?: number;
  /** stale stream: withhold one stream kind's messages for `ms` (the connection stays open, other streams flow); a depth stall ends in a sequence gap */
  stall?: { stream?: 'depth' | 'trade'; ms: number };
}

/** Faults injected so far (and, in `pending`, still to come). */
export interface FaultStatus {
  disconnects: number;
  halfOpen: number;
  duplicated: number;
  reordered: number;
  dropped: number;
  staleSnapshots: number;
  restErrors: number;
  /** stream frames delivered late by `lag` */
  lagged: number;
  /** messages withheld by `stall` (depth diffs and trades) */
  stalled: number;
  /** the lag in force per venue (ms) */
  lagMs: Record<Venue, number>;
  /** a stall in force per venue: the stream and the ms it still lasts (null: none) */
  stalling: Record<Venue, { stream: 'depth' | 'trade'; remainingMs: number } | null>;
  pending: Record<Venue, { duplicate: number; reorder: number; drop: number; staleSnapshot: number; rest: number }>;
}

export interface ReplayStatus {
  started: boolean;
  finished: boolean;
  /** Recorded stream messages played so far, over every pass (dropped depth diffs included). */
  sent: number;
  /** Recorded stream messages in the loaded files (REST snapshot lines excluded), times the passes of `loop`. */
  total: number;
  clients: number;
  /** Replay exchange time (ms), null before the start. */
  replayTimeMs: number | null;
  /** Played messages per recorded stream name. */
  perStream: Record<string, number>;
  /** Depth diffs withheld by `dropDepth`. */
  dropped: number;
  venues: Venue[];
  /** With the `faults` option: faults injected on command. */
  faults?: FaultStatus;
  /** WebSocket clients disconnected because their unsent data exceeded `maxClientBufferBytes` */
  slowClientsClosed: number;
  /** With `loop` > 1: the pass being played (1-based; `finished` comes after the last), and each pass's shifts. */
  loop?: LoopStatus;
  /**
   * At a finite speed: the times playback waited for the clock (for the next message or a timer: a depth
   * window to flush, a derived mark price). About one a message or timer; many more would mean it polls.
   */
  waits: number;
  /** Timers fired: aggregated depth windows flushed by the clock, derived mark prices. */
  timersFired: number;
}

export interface LoopStatus {
  pass: number;
  passes: number;
  /** pass k's times are the recorded ones + (k - 1) × spanMs */
  spanMs: number;
  /** pass k's update ids and trade ids are the recorded ones + (k - 1) × updateIdShift */
  updateIdShift: number;
  /** WebSocket clients closed at the seams so far */
  disconnected: number;
  /** at speed max: the next pass waits for a subscription */
  waiting: boolean;
}

export interface ReplayServer {
  /** http://host:port */
  url: string;
  /** ws://host:port */
  wsUrl: string;
  port: number;
  status(): ReplayStatus;
  /** Resolves when all recorded messages were sent (or the server was closed). */
  done: Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// stream names

type Kind = 'depth' | 'trade' | 'aggTrade' | 'bookTicker' | 'markPrice' | 'forceOrder' | 'other';

interface StreamSpec {
  /** lowercase symbol ('' for `!…` all-market streams) */
  sym: string;
  kind: Kind;
  /** interval in ms for depth/markPrice; null = the venue default */
  ms: number | null;
  /** the lowercase rest of the name (for 'other') */
  rest: string;
}

export function parseStreamName(name: string): StreamSpec | null {
  const at = name.indexOf('@');
  if (at <= 0) return null;
  const sym = name.slice(0, at).toLowerCase();
  const rest = name.slice(at + 1).toLowerCase();
  const parts = rest.split('@');
  const p0 = parts[0]!;
  const p1 = parts[1];
  if (parts.length === 1) {
    if (p0 === 'trade') return { sym, kind: 'trade', ms: null, rest };
    if (p0 === 'aggtrade') return { sym, kind: 'aggTrade', ms: null, rest };
    if (p0 === 'bookticker') return { sym, kind: 'bookTicker', ms: null, rest };
    if (p0 === 'forceorder') return { sym, kind: 'forceOrder', ms: null, rest };
    if (p0 === 'depth') return { sym, kind: 'depth', ms: null, rest };
    if (p0 === 'markprice') return { sym, kind: 'markPrice', ms: 3000, rest };
  } else if (parts.length === 2 && p1 !== undefined) {
    if (p0 === 'depth') {
      const m = /^(\d+)ms$/.exec(p1);
      if (m) return { sym, kind: 'depth', ms: Number(m[1]), rest };
    }
    if (p0 === 'markprice' && p1 === '1s') return { sym, kind: 'markPrice', ms: 1000, rest };
  }
  return { sym, kind: 'other', ms: null, rest };
}

const DEFAULT_DEPTH_MS: Record<Venue, number> = { spot: 1000, usdm: 250 };

function topicKey(venue: Venue, spec: StreamSpec): string {
  switch (spec.kind) {
    case 'depth':
      return `${venue}|${spec.sym}|depth|${spec.ms ?? DEFAULT_DEPTH_MS[venue]}`;
    case 'markPrice':
      return `${venue}|${spec.sym}|markPrice|${spec.ms ?? 3000}`;
    case 'other':
      return `${venue}|${spec.sym}|other|${spec.rest}`;
    default:
      return `${venue}|${spec.sym}|${spec.kind}`;
  }
}

/** USD-M route category: /public carries depth + bookTicker, /market the rest. */
function usdmCategory(spec: StreamSpec): 'public' | 'market' {
  if (spec.kind === 'depth' || spec.kind === 'bookTicker') return 'public';
  if (spec.kind === 'other' && /^depth\d+/.test(spec.rest)) return 'public';
  return 'market';
}

// ---------------------------------------------------------------------------------------------
// recorded events

type Level = [string, string];

/** Header of a recorded depth diff; the levels are parsed when the diff is played (keeps the heap small). */
interface DepthDiff {
  U: number;
  u: number;
  pu: number | undefined;
  E: number;
  T: number | undefined;
}

interface Levels {
  b: Level[];
  a: Level[];
}

/** Read U/u/pu/E/T of a depthUpdate without parsing its levels; null if the text has an unexpected shape. */
function depthHeader(text: string, from: number): DepthDiff | null {
  const bIdx = text.indexOf(',"b":', from);
  if (bIdx < 0) return null;
  const num = (key: string): number | undefined => {
    const i = text.indexOf(key, from);
    if (i < 0 || i > bIdx) return undefined;
    const j = i + key.length;
    let end = j;
    while (end < bIdx) {
      const c = text.charCodeAt(end);
      if ((c < 48 || c > 57) && c !== 45) break;
      end++;
    }
    return end > j ? Number(text.slice(j, end)) : undefined;
  };
  const U = num('"U":');
  const u = num('"u":');
  if (U === undefined || u === undefined) return null;
  return { U, u, pu: num('"pu":'), E: num('"E":') ?? 0, T: num('"T":') };
}

function levelsOf(ev: Ev): Levels {
  try {
    const d = (JSON.parse(ev.text) as { data?: { b?: Level[]; a?: Level[] } }).data;
    return { b: d?.b ?? [], a: d?.a ?? [] };
  } catch {
    return { b: [], a: [] };
  }
}

interface Snapshot {
  lastUpdateId: number;
  E: number | undefined;
  T: number | undefined;
  bids: Level[];
  asks: Level[];
}

const EV_STREAM = 0;
const EV_DEPTH = 1;
const EV_SNAPSHOT = 2;

interface Ev {
  /** ms since the earliest loaded line (float) */
  t: number;
  type: number;
  venue: Venue;
  /** uppercase symbol; '' when unknown */
  sym: string;
  /** recorded stream name (stream events) */
  stream: string;
  /** topic key for non-depth stream events */
  topic: string;
  /** the raw recorded line text */
  text: string;
  /** index in text where the `data` JSON starts (-1: compute lazily) */
  dataStart: number;
  depth: DepthDiff | null;
  snap: Snapshot | null;
  drop: boolean;
}

/** The `data` JSON of a recorded line (`text`: the line as recorded, or as shifted for a later pass). */
function dataOf(ev: Ev, text = ev.text): string {
  if (ev.dataStart >= 0) return text.slice(ev.dataStart, text.length - 1);
  try {
    return JSON.stringify((JSON.parse(text) as { data?: unknown }).data ?? null);
  } catch {
    return 'null';
  }
}

// ---------------------------------------------------------------------------------------------
// passes of a loop: times and ids shifted

/** How far one pass of a loop moves the recorded data. */
interface PassShift {
  /** ms added to every time */
  time: number;
  /** added to every update id and trade id */
  id: number;
}

/** Top-level numbers of a payload that move between passes: exchange times, update ids, trade ids (by stream kind). */
const SHIFTED_FIELD = /"(E|T|U|u|pu|lastUpdateId|t|a|f|l)":(\d+)/g;

type IdKind = 'update' | 'trade' | null;
/** What a payload key holds: a time, an update id, a trade id (`t` of a trade; `a`/`f`/`l` of an aggTrade), or nothing to shift. */
function fieldClass(key: string, trades: 'trade' | 'aggTrade' | null): 'time' | IdKind {
  switch (key) {
    case 'E':
    case 'T':
      return 'time';
    case 'U':
    case 'u':
    case 'pu':
    case 'lastUpdateId':
      return 'update';
    case 't':
      return trades === 'trade' ? 'trade' : null;
    default:
      return trades === 'aggTrade' ? 'trade' : null;
  }
}

/** End of a payload's top-level scalars from `from` (its `{`): the first nested array (a diff's levels) or object. */
function scalarsEnd(text: string, from: number): number {
  let end = text.length;
  const arr = text.indexOf('[', from);
  if (arr >= 0) end = arr;
  const obj = text.indexOf('{', from + 1);
  if (obj >= 0 && obj < end) end = obj;
  return end;
}

/** Visits the shiftable top-level numbers of the payload starting at `from`. */
function eachShifted(text: string, from: number, trades: 'trade' | 'aggTrade' | null, f: (cls: 'time' | 'update' | 'trade', v: number) => void): void {
  const head = text.slice(from, scalarsEnd(text, from));
  for (const m of head.matchAll(SHIFTED_FIELD)) {
    const cls = fieldClass(m[1]!, trades);
    if (cls !== null) f(cls, Number(m[2]));
  }
}

/** The payload text (from `from`, its `{`) with its times and ids moved by `sh`; everything else byte for byte. */
function shiftPayload(text: string, from: number, trades: 'trade' | 'aggTrade' | null, sh: PassShift): string {
  const end = scalarsEnd(text, from);
  const head = text.slice(from, end).replace(SHIFTED_FIELD, (m: string, key: string, v: string) => {
    const cls = fieldClass(key, trades);
    if (cls === null) return m;
    return `"${key}":${Number(v) + (cls === 'time' ? sh.time : sh.id)}`;
  });
  return text.slice(0, from) + head + text.slice(end);
}

/** Which trade ids a stream's payload carries. */
function tradeIds(ev: Ev): 'trade' | 'aggTrade' | null {
  return ev.topic.endsWith('|trade') ? 'trade' : ev.topic.endsWith('|aggTrade') ? 'aggTrade' : null;
}

/** A recorded stream line as pass `sh` plays it. */
function shiftLine(ev: Ev, sh: PassShift): string {
  if (ev.dataStart >= 0) return shiftPayload(ev.text, ev.dataStart, tradeIds(ev), sh);
  // an envelope of an unexpected shape: through JSON (top-level numbers of `data` only)
  try {
    const o = JSON.parse(ev.text) as { data?: Record<string, unknown> };
    const d = o.data;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return ev.text;
    for (const [k, v] of Object.entries(d)) {
      const cls = fieldClass(k, tradeIds(ev));
      if (cls !== null && typeof v === 'number' && Number.isInteger(v) && v >= 0) d[k] = v + (cls === 'time' ? sh.time : sh.id);
    }
    return JSON.stringify(o);
  } catch {
    return ev.text;
  }
}

function shiftDiff(d: DepthDiff, sh: PassShift): DepthDiff {
  return {
    U: d.U + sh.id,
    u: d.u + sh.id,
    pu: d.pu === undefined || d.pu < 0 ? d.pu : d.pu + sh.id,
    E: d.E > 0 ? d.E + sh.time : d.E,
    T: d.T === undefined ? undefined : d.T + sh.time,
  };
}

function shiftSnapshot(s: Snapshot, sh: PassShift): Snapshot {
  return {
    lastUpdateId: s.lastUpdateId + sh.id,
    E: s.E === undefined ? undefined : s.E + sh.time,
    T: s.T === undefined ? undefined : s.T + sh.time,
    bids: s.bids,
    asks: s.asks,
  };
}

/**
 * The shifts of a loop over `events` (times in ms since `baseMs`): `spanMs` more than both the receive
 * times' span and the exchange times' span, in whole seconds; `updateIdShift` a power of ten above the
 * widest range of update ids (or trade ids) of any one stream.
 */
function loopShifts(events: Ev[]): { spanMs: number; updateIdShift: number } {
  let tMin = Infinity;
  let tMax = -Infinity;
  let exMin = Infinity;
  let exMax = -Infinity;
  const ranges = new Map<string, { min: number; max: number }>();
  const see = (key: string, v: number) => {
    const r = ranges.get(key);
    if (!r) ranges.set(key, { min: v, max: v });
    else if (v < r.min) r.min = v;
    else if (v > r.max) r.max = v;
  };
  const time = (v: number | undefined) => {
    if (v === undefined || v <= 0) return;
    if (v < exMin) exMin = v;
    if (v > exMax) exMax = v;
  };
  for (const ev of events) {
    if (ev.t < tMin) tMin = ev.t;
    if (ev.t > tMax) tMax = ev.t;
    const upd = `${ev.venue}|${ev.sym}|update`;
    if (ev.type === EV_SNAPSHOT) {
      see(upd, ev.snap!.lastUpdateId);
      time(ev.snap!.E);
      time(ev.snap!.T);
    } else if (ev.type === EV_DEPTH) {
      const d = ev.depth!;
      see(upd, d.U);
      see(upd, d.u);
      time(d.E);
      time(d.T);
    } else {
      const from = ev.dataStart >= 0 ? ev.dataStart : Math.max(0, ev.text.indexOf('"data":') + 7);
      eachShifted(ev.text, from, tradeIds(ev), (cls, v) => (cls === 'time' ? time(v) : see(`${ev.venue}|${ev.sym}|${cls}`, v)));
    }
  }
  const recvSpan = Number.isFinite(tMin) ? tMax - tMin : 0;
  const exSpan = Number.isFinite(exMin) ? exMax - exMin : 0;
  let widest = 0;
  for (const r of ranges.values()) widest = Math.max(widest, r.max - r.min);
  let updateIdShift = 10;
  while (updateIdShift <= widest) updateIdShift *= 10;
  return { spanMs: Math.ceil((Math.max(recvSpan, exSpan) + 1) / 1000) * 1000, updateIdShift };
}

function sigDecimals(s: string): number {
  const dot = s.indexOf('.');
  if (dot < 0) return 0;
  let end = s.length;
  while (end > dot + 1 && s.charCodeAt(end - 1) === 48) end--;
  return end - dot - 1;
}

function rawDecimals(s: string): number {
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

function normPrice(p: string): string {
  const dot = p.indexOf('.');
  let s = p;
  if (dot >= 0) {
    let end = s.length;
    while (end > dot + 1 && s.charCodeAt(end - 1) === 48) end--;
    if (end === dot + 1) end = dot;
    s = s.slice(0, end);
  }
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 48 && s.charCodeAt(i + 1) !== 46) i++;
  return i > 0 ? s.slice(i) : s;
}

function isZeroQty(q: string): boolean {
  for (let i = 0; i < q.length; i++) {
    const c = q.charCodeAt(i);
    if (c !== 48 && c !== 46) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// reference book (independent of src/book on purpose)

class RefBook {
  readonly bids = new Map<string, Level>();
  readonly asks = new Map<string, Level>();
  lastUpdateId = -1;
  E: number | undefined;
  T: number | undefined;
  synced = false;
  /** no diff applied since the last snapshot */
  fresh = false;
  /** decimals of the price strings as recorded; prices written that way are their own map key */
  private dec = -1;

  constructor(readonly venue: Venue) {}

  private key(p: string): string {
    const dot = p.indexOf('.');
    if (this.dec < 0) this.dec = dot < 0 ? 0 : p.length - dot - 1;
    if (dot >= 0 ? p.length - dot - 1 === this.dec && dot > 0 && (p.charCodeAt(0) !== 48 || dot === 1) : this.dec === 0 && (p.length === 1 || p.charCodeAt(0) !== 48))
      return p;
    // canonical: no leading zeros, exactly `dec` decimals
    const n = normPrice(p);
    const nd = n.indexOf('.');
    const frac = nd < 0 ? '' : n.slice(nd + 1);
    const int = nd < 0 ? n : n.slice(0, nd);
    if (frac.length > this.dec) return n; // finer than the recorded grid: cannot collide with grid keys
    return this.dec === 0 ? int : `${int}.${frac.padEnd(this.dec, '0')}`;
  }

  loadSnapshot(s: Snapshot): void {
    this.bids.clear();
    this.asks.clear();
    for (const l of s.bids) if (!isZeroQty(l[1])) this.bids.set(this.key(l[0]), [l[0], l[1]]);
    for (const l of s.asks) if (!isZeroQty(l[1])) this.asks.set(this.key(l[0]), [l[0], l[1]]);
    this.lastUpdateId = s.lastUpdateId;
    this.E = s.E;
    this.T = s.T;
    this.synced = true;
    this.fresh = true;
  }

  /** 'applied' | 'stale' | 'gap' | 'unsynced' */
  apply(d: DepthDiff, lv: Levels): 'applied' | 'stale' | 'gap' | 'unsynced' {
    if (!this.synced) return 'unsynced';
    const id = this.lastUpdateId;
    if (this.venue === 'usdm') {
      if (this.fresh) {
        if (d.u < id) return 'stale';
        // straddles the snapshot (U <= id <= u), or continues it exactly (pu == id)
        if (d.U > id && d.pu !== id) return this.gap();
      } else if (d.pu !== id) {
        if (d.u <= id) return 'stale';
        return this.gap();
      }
    } else {
      if (d.u <= id) return 'stale';
      if (d.U > id + 1) return this.gap();
    }
    for (const l of lv.b) this.set(this.bids, l);
    for (const l of lv.a) this.set(this.asks, l);
    this.lastUpdateId = d.u;
    this.E = d.E;
    this.T = d.T;
    this.fresh = false;
    return 'applied';
  }

  private gap(): 'gap' {
    this.synced = false;
    return 'gap';
  }

  private set(side: Map<string, Level>, l: Level): void {
    const k = this.key(l[0]);
    if (isZeroQty(l[1])) side.delete(k);
    else side.set(k, l);
  }

  top(side: 'bids' | 'asks', limit: number): Level[] {
    const arr = [...(side === 'bids' ? this.bids : this.asks).values()];
    const keyed = arr.map((l) => ({ l, p: Number(l[0]) }));
    if (side === 'bids') keyed.sort((x, y) => y.p - x.p);
    else keyed.sort((x, y) => x.p - y.p);
    return keyed.slice(0, limit).map((x) => x.l);
  }

  best(side: 'bids' | 'asks'): string | null {
    const t = this.top(side, 1);
    return t[0]?.[0] ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// depth aggregation

class DepthAggregator {
  private window = -1;
  private U = 0;
  private u = 0;
  private pu: number | undefined;
  private E = 0;
  private T: number | undefined;
  private readonly b = new Map<string, string>();
  private readonly a = new Map<string, string>();
  /** each side's price order as the recorded diffs list it (null: not seen yet; then the venue's) */
  private bDesc: boolean | null = null;
  private aDesc: boolean | null = null;
  pending = false;
  /** flushes the pending window once the replay clock passes its end */
  timer: Timer | null = null;

  constructor(
    readonly venue: Venue,
    readonly symUpper: string,
    readonly ms: number,
  ) {}

  /** exchange-time end of the pending window */
  get windowEnd(): number {
    return (this.window + 1) * this.ms;
  }

  /** Add a diff; returns the data JSON of a window closed by it, if any. */
  add(d: DepthDiff, lv: Levels): string | null {
    const w = Math.floor(d.E / this.ms);
    let out: string | null = null;
    if (this.pending && w !== this.window) out = this.flush();
    if (!this.pending) {
      this.window = w;
      this.U = d.U;
      this.pu = d.pu;
      this.pending = true;
    }
    this.u = d.u;
    this.E = d.E;
    this.T = d.T;
    for (const l of lv.b) this.b.set(l[0], l[1]);
    for (const l of lv.a) this.a.set(l[0], l[1]);
    if (this.bDesc === null && lv.b.length > 1) this.bDesc = Number(lv.b[0]![0]) > Number(lv.b.at(-1)![0]);
    if (this.aDesc === null && lv.a.length > 1) this.aDesc = Number(lv.a[0]![0]) > Number(lv.a.at(-1)![0]);
    return out;
  }

  flush(): string | null {
    if (!this.pending) return null;
    this.pending = false;
    // one window's levels come from several diffs: in price order, as one diff of Binance's lists them
    const lv = (m: Map<string, string>, desc: boolean) => {
      let s = '[';
      let first = true;
      const sorted = [...m].sort((x, y) => (desc ? Number(y[0]) - Number(x[0]) : Number(x[0]) - Number(y[0])));
      for (const [p, q] of sorted) {
        s += `${first ? '' : ','}[${JSON.stringify(p)},${JSON.stringify(q)}]`;
        first = false;
      }
      return `${s}]`;
    };
    const s = JSON.stringify(this.symUpper);
    const bDesc = this.bDesc ?? this.venue === 'spot';
    const aDesc = this.aDesc ?? false;
    const text =
      this.venue === 'usdm'
        ? `{"e":"depthUpdate","E":${this.E},"T":${this.T ?? this.E},"s":${s},"U":${this.U},"u":${this.u},"pu":${this.pu ?? -1},"b":${lv(this.b, bDesc)},"a":${lv(this.a, aDesc)}}`
        : `{"e":"depthUpdate","E":${this.E},"s":${s},"U":${this.U},"u":${this.u},"b":${lv(this.b, bDesc)},"a":${lv(this.a, aDesc)}}`;
    this.b.clear();
    this.a.clear();
    return text;
  }
}

// ---------------------------------------------------------------------------------------------
// per (venue, symbol) state

interface HeldDepth {
  limit: number;
  respond: (status: number, body: unknown) => void;
}

interface SymState {
  venue: Venue;
  sym: string;
  lower: string;
  recordedDepthMs: number | null;
  depthCount: number;
  hasSnapshot: boolean;
  hasRecordedMarkPrice: boolean;
  priceDecimals: number;
  qtyDecimals: number;
  /** decimals of prices as written (for derived mark prices) */
  rawPriceDecimals: number;
  book: RefBook;
  aggregators: Map<number, DepthAggregator>;
  /** depth intervals (ms) that have ever been subscribed */
  depthMs: number[];
  lastBookTicker: string | null;
  held: HeldDepth[];
  /** played diffs not yet applied to the reference book (applied lazily: on a REST request, a snapshot, or when many) */
  queue: Ev[];
  /** recent diffs seen while the reference book was not synced (applied after the next snapshot) */
  pendingDiffs: Ev[];
  /** fault injection: a diff held back to be sent after the next one (reorder) */
  swapHeld?: Ev;
  /** fault injection: the first REST depth answer (served again as a stale snapshot) */
  firstAnswer?: { lastUpdateId: number };
}

interface Timer {
  /** due, in replay t (ms since the base) */
  due: number;
  fire(): void;
}

// ---------------------------------------------------------------------------------------------
// clients

type Route = 'default' | 'public' | 'market';

interface Sub {
  client: Client;
  name: string;
  prefix: string;
}

interface Client {
  ws: WebSocket;
  venue: Venue;
  route: Route;
  combined: boolean;
  /** name -> topic key ('' when it can never deliver on this route) */
  subs: Map<string, string>;
  ip: string;
  ping: NodeJS.Timeout;
  /** fault injection: half-open, nothing is sent any more */
  mute?: boolean;
  /** fault injection (lag): frames held back, in order, from `lagHead` on, each with its due time (performance.now); null: the close at a seam */
  lagQ?: { due: number; frame: string | null }[];
  lagHead?: number;
  lagTimer?: NodeJS.Timeout | null;
  /** closed at a seam between passes (the close may still wait behind lagged frames) */
  closing?: boolean;
}

const MAX_STREAMS = 1024;
const HIGH_WATER = 8 << 20;
const LOW_WATER = 1 << 20;
const BATCH = 2000;

// ---------------------------------------------------------------------------------------------
// static exchange data

const SPOT_RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
  { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
  { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
];
const USDM_RATE_LIMITS = [
  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 },
  { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
];
const WEIGHT_BUDGET: Record<Venue, number> = { spot: 6000, usdm: 2400 };

interface SpotRules {
  tick: string;
  minPrice: string;
  maxPrice: string;
  step: string;
  minQty: string;
  maxQty: string;
  minNotional: string;
  maxNotional: string;
}
/** The filters of the reference exchangeInfo entry of a symbol, by filter type (the one table of real rules). */
function referenceFilters(venue: Venue, sym: string): Map<string, Record<string, unknown>> | undefined {
  const raw = REFERENCE_EXCHANGE_INFO[venue][sym] as { filters: Record<string, unknown>[] } | undefined;
  return raw ? new Map(raw.filters.map((f) => [String(f['filterType']), f])) : undefined;
}

/** PRICE_FILTER and LOT_SIZE, the rules both venues share. */
function priceAndLot(f: Map<string, Record<string, unknown>>): Pick<SpotRules, 'tick' | 'minPrice' | 'maxPrice' | 'step' | 'minQty' | 'maxQty'> {
  const price = f.get('PRICE_FILTER')!;
  const lot = f.get('LOT_SIZE')!;
  return {
    tick: String(price['tickSize']),
    minPrice: String(price['minPrice']),
    maxPrice: String(price['maxPrice']),
    step: String(lot['stepSize']),
    minQty: String(lot['minQty']),
    maxQty: String(lot['maxQty']),
  };
}

/** Spot rules of the symbols Papertape knows (src/marketdata/binance/reference.ts), else undefined. */
function knownSpotRules(sym: string): SpotRules | undefined {
  const f = referenceFilters('spot', sym);
  if (!f) return undefined;
  const notional = f.get('NOTIONAL')!;
  return {
    ...priceAndLot(f),
    minNotional: String(notional['minNotional']),
    maxNotional: String(notional['maxNotional']),
  };
}

interface UsdmRules {
  tick: string;
  minPrice: string;
  maxPrice: string;
  step: string;
  minQty: string;
  maxQty: string;
  mktMaxQty: string;
  notional: string;
  pricePrecision: number;
  quantityPrecision: number;
}
/** USD-M rules of the symbols Papertape knows (src/marketdata/binance/reference.ts), else undefined. */
function knownUsdmRules(sym: string): UsdmRules | undefined {
  const f = referenceFilters('usdm', sym);
  if (!f) return undefined;
  const info = REFERENCE_EXCHANGE_INFO.usdm[sym] as { pricePrecision: number; quantityPrecision: number };
  return {
    ...priceAndLot(f),
    mktMaxQty: String(f.get('MARKET_LOT_SIZE')!['maxQty']),
    notional: String(f.get('MIN_NOTIONAL')!['notional']),
    pricePrecision: info.pricePrecision,
    quantityPrecision: info.quantityPrecision,
  };
}

function unitStr(decimals: number, width: number): string {
  // 10^-decimals written with `width` decimals (width >= decimals), or minimal when width < 0
  if (decimals <= 0) return width > 0 ? `1.${'0'.repeat(width)}` : '1';
  const s = `0.${'0'.repeat(decimals - 1)}1`;
  return width > decimals ? s + '0'.repeat(width - decimals) : s;
}

const QUOTES = ['FDUSD', 'USDT', 'USDC', 'TUSD', 'BUSD', 'BTC', 'ETH', 'BNB', 'EUR', 'TRY', 'USD'];
function splitSymbol(sym: string): { base: string; quote: string } {
  for (const q of QUOTES) if (sym.endsWith(q) && sym.length > q.length) return { base: sym.slice(0, -q.length), quote: q };
  return { base: sym, quote: '' };
}

function spotSymbolInfo(st: SymState): object {
  const { base, quote } = splitSymbol(st.sym);
  const k = knownSpotRules(st.sym);
  const r: SpotRules = k ?? {
    tick: unitStr(st.priceDecimals, 8),
    minPrice: unitStr(st.priceDecimals, 8),
    maxPrice: '1000000.00000000',
    step: unitStr(st.qtyDecimals, 8),
    minQty: unitStr(st.qtyDecimals, 8),
    maxQty: '9000000.00000000',
    minNotional: '5.00000000',
    maxNotional: '9000000.00000000',
  };
  return {
    symbol: st.sym,
    status: 'TRADING',
    baseAsset: base,
    baseAssetPrecision: 8,
    quoteAsset: quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    baseCommissionPrecision: 8,
    quoteCommissionPrecision: 8,
    orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT'],
    icebergAllowed: true,
    ocoAllowed: true,
    otoAllowed: true,
    quoteOrderQtyMarketAllowed: true,
    allowTrailingStop: true,
    cancelReplaceAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: true,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: r.minPrice, maxPrice: r.maxPrice, tickSize: r.tick },
      { filterType: 'LOT_SIZE', minQty: r.minQty, maxQty: r.maxQty, stepSize: r.step },
      {
        filterType: 'NOTIONAL',
        minNotional: r.minNotional,
        applyMinToMarket: true,
        maxNotional: r.maxNotional,
        applyMaxToMarket: false,
        avgPriceMins: 5,
      },
      { filterType: 'MAX_NUM_ORDERS', maxNumOrders: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', maxNumAlgoOrders: 5 },
    ],
    permissions: [],
    permissionSets: [['SPOT', 'MARGIN']],
    defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
    allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
  };
}

function usdmRules(st: SymState): UsdmRules {
  return (
    knownUsdmRules(st.sym) ?? {
      tick: unitStr(st.priceDecimals, -1),
      minPrice: unitStr(st.priceDecimals, -1),
      maxPrice: '1000000',
      step: unitStr(st.qtyDecimals, -1),
      minQty: unitStr(st.qtyDecimals, -1),
      maxQty: '1000000',
      mktMaxQty: '100000',
      notional: '5',
      pricePrecision: st.priceDecimals,
      quantityPrecision: st.qtyDecimals,
    }
  );
}

function usdmSymbolInfo(st: SymState): object {
  const { base, quote } = splitSymbol(st.sym);
  const r = usdmRules(st);
  return {
    symbol: st.sym,
    pair: st.sym,
    contractType: 'PERPETUAL',
    deliveryDate: 4133404800000,
    onboardDate: 1569398400000,
    status: 'TRADING',
    maintMarginPercent: '2.5000',
    requiredMarginPercent: '5.0000',
    baseAsset: base,
    quoteAsset: quote,
    marginAsset: quote,
    pricePrecision: r.pricePrecision,
    quantityPrecision: r.quantityPrecision,
    baseAssetPrecision: 8,
    quotePrecision: 8,
    underlyingType: 'COIN',
    underlyingSubType: [],
    triggerProtect: '0.0500',
    liquidationFee: '0.012500',
    marketTakeBound: '0.05',
    maxMoveOrderLimit: 10000,
    filters: [
      { filterType: 'PRICE_FILTER', minPrice: r.minPrice, maxPrice: r.maxPrice, tickSize: r.tick },
      { filterType: 'LOT_SIZE', minQty: r.minQty, maxQty: r.maxQty, stepSize: r.step },
      { filterType: 'MARKET_LOT_SIZE', minQty: r.minQty, maxQty: r.mktMaxQty, stepSize: r.step },
      { filterType: 'MAX_NUM_ORDERS', limit: 200 },
      { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
      { filterType: 'MIN_NOTIONAL', notional: r.notional },
      { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
    ],
    orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
    timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
  };
}

// ---------------------------------------------------------------------------------------------
// rest data (funding / open interest CSVs)

interface CsvSeries {
  ts: number[];
  vals: string[];
}

function loadCsv(file: string, column: string): CsvSeries | null {
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim().length > 0);
  const header = lines.shift()?.split(',') ?? [];
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf(column);
  if (ti < 0 || vi < 0) return null;
  const rows = lines
    .map((l) => l.split(','))
    .map((c) => ({ t: Number(c[ti]), v: c[vi] ?? '' }))
    .filter((r) => Number.isFinite(r.t) && r.v !== '')
    .sort((x, y) => x.t - y.t);
  return { ts: rows.map((r) => r.t), vals: rows.map((r) => r.v) };
}

/** index of the last row with ts <= t, or -1 */
function rowAt(s: CsvSeries, t: number): number {
  let lo = 0;
  let hi = s.ts.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (s.ts[mid]! <= t) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

// ---------------------------------------------------------------------------------------------
// loading

interface LoadedFile {
  venue: Venue;
  events: Ev[];
}

function classifyByName(file: string): Venue | null {
  const dir = basename(dirname(file)).toLowerCase();
  if (dir === 'usdm' || dir === 'futures') return 'usdm';
  if (dir === 'spot') return 'spot';
  const b = basename(file).toLowerCase();
  if (b.startsWith('usdm_')) return 'usdm';
  if (b.startsWith('spot_')) return 'spot';
  return null;
}

function classifyByContent(texts: string[]): Venue {
  for (const t of texts) {
    if (t.includes('"e":"depthUpdate"')) return t.includes('"pu":') ? 'usdm' : 'spot';
  }
  for (const t of texts) {
    if (t.includes('"e":"bookTicker"') || t.includes('"e":"markPriceUpdate"')) return 'usdm';
  }
  return 'spot';
}

async function loadFile(file: string, logger: ReplayLogger | undefined): Promise<{ venue: Venue; lines: { recvNs: bigint; text: string }[] }> {
  const stats: ReadStats = { lines: 0, malformed: 0 };
  const lines = await readAll(file, stats);
  if (stats.malformed > 0 || stats.truncated) logger?.warn({ file, ...stats }, 'replay: recording has malformed lines / is truncated');
  const venue = classifyByName(file) ?? classifyByContent(lines.slice(0, 2000).map((l) => l.text));
  return { venue, lines };
}

interface StreamInfo {
  spec: StreamSpec | null;
  sym: string;
  topic: string;
  prefix: string;
}

function buildEvents(file: string, venue: Venue, lines: { recvNs: bigint; text: string }[], baseNs: bigint, logger?: ReplayLogger): LoadedFile {
  const events: Ev[] = [];
  const symbols = new Set<string>();
  const snapIdx: number[] = [];
  const infos = new Map<string, StreamInfo>();
  for (const { recvNs, text } of lines) {
    const t = Number(recvNs - baseNs) / 1e6;
    const stream = envelopeStream(text);
    if (stream === null) {
      if (!text.includes('"lastUpdateId"')) continue;
      let s: { lastUpdateId?: number; E?: number; T?: number; bids?: Level[]; asks?: Level[] };
      try {
        s = JSON.parse(text) as typeof s;
      } catch {
        continue;
      }
      if (typeof s.lastUpdateId !== 'number' || !Array.isArray(s.bids) || !Array.isArray(s.asks)) continue;
      snapIdx.push(events.length);
      events.push({
        t,
        type: EV_SNAPSHOT,
        venue,
        sym: '',
        stream: '',
        topic: '',
        text,
        dataStart: -1,
        depth: null,
        snap: { lastUpdateId: s.lastUpdateId, E: s.E, T: s.T, bids: s.bids, asks: s.asks },
        drop: false,
      });
      continue;
    }
    let info = infos.get(stream);
    if (!info) {
      const spec = parseStreamName(stream);
      info = {
        spec,
        sym: spec ? spec.sym.toUpperCase() : '',
        topic: spec ? topicKey(venue, spec) : `${venue}||other|${stream}`,
        prefix: `{"stream":${JSON.stringify(stream)},"data":`,
      };
      infos.set(stream, info);
    }
    const { spec, sym } = info;
    const ev: Ev = {
      t,
      type: EV_STREAM,
      venue,
      sym,
      stream,
      topic: info.topic,
      text,
      dataStart: text.startsWith(info.prefix) && text.charCodeAt(text.length - 1) === 125 ? info.prefix.length : -1,
      depth: null,
      snap: null,
      drop: false,
    };
    if (spec?.kind === 'depth') {
      let h = depthHeader(text, Math.max(0, ev.dataStart));
      if (!h) {
        try {
          const x = (JSON.parse(text) as { data?: { E?: number; T?: number; U?: number; u?: number; pu?: number } }).data;
          if (x && typeof x.U === 'number' && typeof x.u === 'number') h = { U: x.U, u: x.u, pu: x.pu, E: x.E ?? 0, T: x.T };
        } catch {
          /* not JSON */
        }
      }
      if (!h) continue;
      ev.type = EV_DEPTH;
      ev.depth = h;
      symbols.add(sym);
    }
    events.push(ev);
  }
  // attribute bare snapshot lines to a symbol
  const fromName = /^([a-z0-9]+)_\d{8}/i.exec(basename(file))?.[1]?.toUpperCase();
  for (const i of snapIdx) {
    const ev = events[i]!;
    if (symbols.size === 1) ev.sym = [...symbols][0]!;
    else if (symbols.size === 0) ev.sym = fromName && fromName !== 'SPOT' && fromName !== 'USDM' ? fromName : '';
    else ev.sym = attributeSnapshot(events, i, venue, symbols);
    if (!ev.sym) logger?.warn({ file }, 'replay: cannot tell which symbol a snapshot line belongs to; ignored');
  }
  return { venue, events };
}

/** Multi-symbol file: the snapshot belongs to the symbol whose diff stream straddles its lastUpdateId soonest after it. */
function attributeSnapshot(events: Ev[], i: number, venue: Venue, symbols: Set<string>): string {
  const lid = events[i]!.snap!.lastUpdateId;
  const found = new Map<string, { dt: number; straddles: boolean; dist: number }>();
  for (let j = i + 1; j < events.length && found.size < symbols.size; j++) {
    const e = events[j]!;
    if (e.type !== EV_DEPTH || found.has(e.sym)) continue;
    const d = e.depth!;
    if (venue === 'usdm' ? d.u < lid : d.u <= lid) continue;
    const straddles = venue === 'usdm' ? d.U <= lid : d.U <= lid + 1;
    found.set(e.sym, { dt: e.t - events[i]!.t, straddles, dist: Math.abs(d.U - lid) });
  }
  let best = '';
  let bestScore = Infinity;
  for (const [sym, f] of found) {
    const score = (f.straddles ? 0 : 1e15) + (f.straddles ? f.dt : f.dist);
    if (score < bestScore) {
      bestScore = score;
      best = sym;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------

export async function startReplayServer(opts: ReplayServerOptions): Promise<ReplayServer> {
  const log = opts.logger;
  const host = opts.host ?? '127.0.0.1';
  const speedOpt = opts.speed ?? 1;
  const speed = !Number.isFinite(speedOpt) || speedOpt <= 0 ? Infinity : speedOpt;
  if (opts.files.length === 0) throw new Error('replay: no recording files given');
  const passes = opts.loop ?? 1;
  if (!Number.isSafeInteger(passes) || passes < 1) throw new Error(`replay: loop must be a positive integer (got ${String(opts.loop)})`);

  // ---- load
  const raw = await Promise.all(opts.files.map((f) => loadFile(f, log)));
  let baseNs: bigint | null = null;
  for (const r of raw) {
    const first = r.lines[0];
    if (first && (baseNs === null || first.recvNs < baseNs)) baseNs = first.recvNs;
  }
  if (baseNs === null) throw new Error('replay: the recordings are empty');
  const base = baseNs;
  const baseMs = Number(base / 1_000_000n) + Number(base % 1_000_000n) / 1e6;
  const loaded = raw.map((r, k) => buildEvents(opts.files[k]!, r.venue, r.lines, base, log));
  raw.length = 0;
  const events: Ev[] = [];
  for (const l of loaded) for (const e of l.events) events.push(e);
  events.sort((x, y) => x.t - y.t);

  const venues: Venue[] = [];
  for (const l of loaded) if (!venues.includes(l.venue)) venues.push(l.venue);
  venues.sort(); // spot < usdm
  const defaultVenue: Venue = venues.includes('spot') ? 'spot' : 'usdm';

  // ---- per symbol state
  const syms = new Map<string, SymState>(); // `${venue}|${SYM}`
  const symState = (venue: Venue, sym: string): SymState => {
    const k = `${venue}|${sym}`;
    let s = syms.get(k);
    if (!s) {
      s = {
        venue,
        sym,
        lower: sym.toLowerCase(),
        recordedDepthMs: null,
        depthCount: 0,
        hasSnapshot: false,
        hasRecordedMarkPrice: false,
        priceDecimals: 0,
        qtyDecimals: 0,
        rawPriceDecimals: 0,
        book: new RefBook(venue),
        aggregators: new Map(),
        depthMs: [],
        lastBookTicker: null,
        held: [],
        queue: [],
        pendingDiffs: [],
      };
      syms.set(k, s);
    }
    return s;
  };
  const dropSet = new Set((opts.dropDepth ?? []).map((d) => `${d.venue}|${d.symbol.toUpperCase()}|${d.index}`));
  const offsetSamples: Record<Venue, number[]> = { spot: [], usdm: [] };
  let total = 0;
  for (const ev of events) {
    if (!ev.sym) {
      if (ev.type !== EV_SNAPSHOT) total++;
      continue;
    }
    const st = symState(ev.venue, ev.sym);
    const scanLevels = (ls: Level[]) => {
      for (const l of ls) {
        const pd = sigDecimals(l[0]);
        if (pd > st.priceDecimals) st.priceDecimals = pd;
        const rd = rawDecimals(l[0]);
        if (rd > st.rawPriceDecimals) st.rawPriceDecimals = rd;
        const qd = sigDecimals(l[1]);
        if (qd > st.qtyDecimals) st.qtyDecimals = qd;
      }
    };
    if (ev.type === EV_SNAPSHOT) {
      st.hasSnapshot = true;
      scanLevels(ev.snap!.bids);
      scanLevels(ev.snap!.asks);
      continue;
    }
    total++;
    if (ev.type === EV_DEPTH) {
      const spec = parseStreamName(ev.stream)!;
      st.recordedDepthMs ??= spec.ms ?? DEFAULT_DEPTH_MS[ev.venue];
      if (dropSet.has(`${ev.venue}|${ev.sym}|${st.depthCount}`)) ev.drop = true;
      st.depthCount++;
      const d = ev.depth!;
      if (st.depthCount <= 300 || st.depthCount % 64 === 0) {
        const lv = levelsOf(ev);
        scanLevels(lv.b);
        scanLevels(lv.a);
      }
      if (d.E > 0 && offsetSamples[ev.venue].length < 5000) offsetSamples[ev.venue].push(d.E - (baseMs + ev.t));
    } else if (ev.topic.endsWith('|markPrice|1000') || ev.topic.endsWith('|markPrice|3000')) {
      st.hasRecordedMarkPrice = true;
    }
  }
  // exchange clock = local receive clock + median(E - recv) of the venue
  const offset: Record<Venue, number> = { spot: 0, usdm: 0 };
  for (const v of ['spot', 'usdm'] as const) {
    const s = offsetSamples[v].sort((x, y) => x - y);
    if (s.length > 0) offset[v] = s[Math.floor(s.length / 2)]!;
  }
  if (offset.spot === 0 && offsetSamples.spot.length === 0) offset.spot = offset.usdm;
  if (offset.usdm === 0 && offsetSamples.usdm.length === 0) offset.usdm = offset.spot;
  const tEnd = events.length > 0 ? events[events.length - 1]!.t : 0;
  const t0 = events.length > 0 ? events[0]!.t : 0;

  // ---- passes (loop): pass k plays the events shifted by `shift` = k × (spanMs, updateIdShift)
  const { spanMs, updateIdShift } = passes > 1 ? loopShifts(events) : { spanMs: 0, updateIdShift: 0 };
  const tEndAll = tEnd + (passes - 1) * spanMs;
  let pass = 0;
  let shift: PassShift = { time: 0, id: 0 };
  let seamDisconnects = 0;
  const lineOf = (ev: Ev): string => (pass === 0 ? ev.text : shiftLine(ev, shift));
  const diffOf = (ev: Ev): DepthDiff => (pass === 0 ? ev.depth! : shiftDiff(ev.depth!, shift));
  const snapOf = (ev: Ev): Snapshot => (pass === 0 ? ev.snap! : shiftSnapshot(ev.snap!, shift));

  // ---- rest data
  const funding = new Map<string, CsvSeries | null>();
  const oi = new Map<string, CsvSeries | null>();
  const series = (cache: Map<string, CsvSeries | null>, sub: string, sym: string, col: string): CsvSeries | null => {
    if (!opts.restData) return null;
    if (!cache.has(sym)) cache.set(sym, loadCsv(join(opts.restData, sub, `${sym}.csv`), col));
    return cache.get(sym) ?? null;
  };
  const fundingRate = (sym: string, exMs: number): string => {
    const s = series(funding, 'funding', sym, 'funding_rate');
    if (!s) return '0.00010000';
    const i = rowAt(s, exMs);
    return i >= 0 ? s.vals[i]! : '0.00010000';
  };
  const openInterest = (st: SymState, exMs: number): string => {
    const s = series(oi, 'oi_4h', st.sym, 'sum_open_interest');
    const qp = usdmRules(st).quantityPrecision;
    if (!s || s.ts.length === 0) return (0).toFixed(qp);
    const i = Math.max(0, rowAt(s, exMs)); // before the first row: the nearest known value
    const v = s.vals[i]!;
    const dot = v.indexOf('.');
    if (dot < 0) return qp > 0 ? `${v}.${'0'.repeat(qp)}` : v;
    const frac = v.slice(dot + 1, dot + 1 + qp).padEnd(qp, '0');
    return qp > 0 ? `${v.slice(0, dot)}.${frac}` : v.slice(0, dot);
  };

  // ---- playback state
  let started = false;
  let finished = false;
  let closed = false;
  let startWall = 0;
  let lastT = t0;
  let idx = 0;
  let sent = 0;
  let dropped = 0;
  const perStream = new Map<string, number>();
  const topics = new Map<string, Sub[]>();
  const clients = new Set<Client>();
  const timers: Timer[] = [];
  let nextDue = Infinity;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  /** replay t (ms since base) */
  const clockT = (): number => {
    if (!started) return t0;
    if (finished) return tEndAll;
    if (speed === Infinity) return lastT;
    return Math.min(tEndAll, Math.max(lastT, t0 + (performance.now() - startWall) * speed));
  };
  const exchangeMs = (venue: Venue, t = clockT()): number => Math.round(baseMs + t + offset[venue]);
  const tOfExchange = (venue: Venue, ex: number): number => ex - offset[venue] - baseMs;

  const recomputeDue = () => {
    let m = Infinity;
    for (const tm of timers) if (tm.due < m) m = tm.due;
    nextDue = m;
  };

  const publish = (topic: string, recordedName: string | null, lineText: string | null, data: string) => {
    const subs = topics.get(topic);
    if (!subs) return;
    for (const s of subs) {
      const ws = s.client.ws;
      if (ws.readyState !== WebSocket.OPEN || s.client.mute || s.client.closing) continue;
      if (!s.client.combined) deliver(s.client, data);
      else if (lineText !== null && s.name === recordedName) deliver(s.client, lineText);
      else deliver(s.client, s.prefix + data + '}');
    }
  };

  // ---- slow clients and the lag fault
  const maxClientBuffer = opts.maxClientBufferBytes ?? 16 << 20;
  let slowClientsClosed = 0;
  const lagMs: Record<Venue, number> = { spot: 0, usdm: 0 };
  const send = (c: Client, frame: string) => {
    const ws = c.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame);
    if (ws.bufferedAmount > maxClientBuffer) {
      slowClientsClosed++;
      log?.warn({ venue: c.venue, ip: c.ip, bufferedBytes: ws.bufferedAmount, limit: maxClientBuffer }, 'replay: a client cannot keep up; disconnecting it');
      ws.terminate();
    }
  };
  const deliver = (c: Client, frame: string) => {
    const lag = lagMs[c.venue];
    const q = c.lagQ;
    if (lag <= 0 && (!q || c.lagHead! >= q.length)) return send(c, frame);
    if (!q) {
      c.lagQ = [];
      c.lagHead = 0;
    }
    c.lagQ!.push({ due: performance.now() + lag, frame });
    faultCounts.lagged++;
    if (!c.lagTimer) scheduleLag(c);
  };
  const scheduleLag = (c: Client) => {
    const q = c.lagQ!;
    const head = q[c.lagHead!];
    if (!head) return;
    c.lagTimer = setTimeout(() => flushLag(c), Math.max(0, head.due - performance.now()));
  };
  const flushLag = (c: Client) => {
    c.lagTimer = null;
    const q = c.lagQ!;
    const now = performance.now();
    let i = c.lagHead!;
    // in order: a frame waits for the ones before it even if its own time has come (the lag was lowered)
    while (i < q.length && q[i]!.due <= now && c.ws.readyState === WebSocket.OPEN) {
      const frame = q[i++]!.frame;
      if (frame === null) c.ws.close(1000);
      else send(c, frame);
    }
    if (i >= q.length || c.ws.readyState !== WebSocket.OPEN) {
      c.lagQ = undefined;
      c.lagHead = 0;
      return;
    }
    if (i > 4096) {
      q.splice(0, i);
      i = 0;
    }
    c.lagHead = i;
    scheduleLag(c);
  };

  const ensureAggregator = (st: SymState, ms: number) => {
    if (st.aggregators.has(ms)) return;
    const agg = new DepthAggregator(st.venue, st.sym, ms);
    st.aggregators.set(ms, agg);
    const key = `${st.venue}|${st.lower}|depth|${ms}`;
    const timer: Timer = {
      due: Infinity,
      fire() {
        timer.due = Infinity;
        const out = agg.flush();
        if (out) publish(key, null, null, out);
      },
    };
    agg.timer = timer;
    timers.push(timer);
  };
  /** a window is flushed by the clock a little after its end (recv-time jitter), or by a diff of a later window */
  const aggAdd = (st: SymState, ms: number, agg: DepthAggregator, d: DepthDiff, lv: Levels) => {
    const out = agg.add(d, lv);
    if (out) publish(`${st.venue}|${st.lower}|depth|${ms}`, null, null, out);
    if (agg.timer) {
      agg.timer.due = tOfExchange(st.venue, agg.windowEnd + Math.min(ms, 100));
      if (agg.timer.due < nextDue) nextDue = agg.timer.due;
    }
  };
  const aggFlush = (st: SymState, ms: number, agg: DepthAggregator) => {
    if (agg.timer) agg.timer.due = Infinity;
    const out = agg.flush();
    if (out) publish(`${st.venue}|${st.lower}|depth|${ms}`, null, null, out);
  };

  // derived mark price streams (see the header comment)
  const markPriceMid = (st: SymState): string | null => {
    let b: string | null = null;
    let a: string | null = null;
    if (st.lastBookTicker) {
      try {
        const d = JSON.parse(st.lastBookTicker) as { data?: { b?: string; a?: string } };
        b = d.data?.b ?? null;
        a = d.data?.a ?? null;
      } catch {
        /* fall through */
      }
    }
    if (b === null || a === null) catchUp(st);
    if ((b === null || a === null) && st.book.synced) {
      b = st.book.best('bids');
      a = st.book.best('asks');
    }
    if (b === null || a === null) return null;
    const dec = Math.max(st.rawPriceDecimals, rawDecimals(b), rawDecimals(a));
    const toInt = (s: string) => {
      const dot = s.indexOf('.');
      const int = dot < 0 ? s : s.slice(0, dot);
      const frac = dot < 0 ? '' : s.slice(dot + 1);
      return BigInt(int + frac.padEnd(dec, '0'));
    };
    const sum = toInt(b) + toInt(a);
    const mid = (sum + 1n) / 2n; // half up
    const str = mid.toString().padStart(dec + 1, '0');
    return dec > 0 ? `${str.slice(0, -dec)}.${str.slice(-dec)}` : str;
  };
  const nextFunding = (exMs: number): number => Math.floor(exMs / 28_800_000) * 28_800_000 + 28_800_000;
  for (const st of syms.values()) {
    if (st.venue !== 'usdm' || st.hasRecordedMarkPrice) continue;
    for (const ms of [1000, 3000]) {
      const key = `usdm|${st.lower}|markPrice|${ms}`;
      let tick = Math.ceil((baseMs + t0 + offset.usdm) / ms) * ms;
      const timer: Timer = {
        due: tOfExchange('usdm', tick),
        fire() {
          if (topics.get(key)?.length) {
            const p = markPriceMid(st);
            if (p !== null) {
              const data = `{"e":"markPriceUpdate","E":${tick},"s":"${st.sym}","p":"${p}","i":"${p}","P":"${p}","r":"${fundingRate(st.sym, tick)}","T":${nextFunding(tick)}}`;
              publish(key, null, null, data);
            }
          }
          tick += ms;
          timer.due = tOfExchange('usdm', tick);
        },
      };
      timers.push(timer);
    }
  }
  recomputeDue();

  let timersFired = 0;
  let waits = 0;
  const runTimers = (t: number) => {
    while (nextDue <= t) {
      let best: Timer | null = null;
      for (const tm of timers) if (tm.due <= t && (!best || tm.due < best.due)) best = tm;
      if (!best) {
        // nextDue is a lower bound: a depth window's timer moves later as its diffs come (aggAdd) or is
        // cleared (aggFlush) without recomputing it. Left stale in the past, playback took every gap as
        // a timer due now and turned the event loop until the next event (82% of a core at 1x).
        recomputeDue();
        break;
      }
      best.fire();
      timersFired++;
      recomputeDue();
    }
  };

  const answerDepth = (st: SymState, limit: number): object => {
    catchUp(st);
    const b = st.book;
    const bids = b.top('bids', limit);
    const asks = b.top('asks', limit);
    if (st.venue === 'usdm') return { lastUpdateId: b.lastUpdateId, E: b.E ?? exchangeMs('usdm'), T: b.T ?? exchangeMs('usdm'), bids, asks };
    return { lastUpdateId: b.lastUpdateId, bids, asks };
  };
  const releaseHeld = (st: SymState) => {
    if (!st.book.synced || st.held.length === 0) return;
    const held = st.held.splice(0);
    for (const h of held) h.respond(200, answerDepth(st, h.limit));
  };

  const catchUp = (st: SymState) => {
    const q = st.queue;
    for (let i = 0; i < q.length; i++) {
      const ev = q[i]!;
      const d = diffOf(ev);
      const r = st.book.synced ? st.book.apply(d, levelsOf(ev)) : 'unsynced';
      if (r === 'gap') log?.warn({ venue: st.venue, symbol: st.sym, U: d.U, u: d.u }, 'replay: recorded depth gap; reference book waits for the next snapshot');
      if (r === 'unsynced' || r === 'gap') {
        st.pendingDiffs.push(ev);
        if (st.pendingDiffs.length > 1000) st.pendingDiffs.splice(0, 500);
      }
    }
    q.length = 0;
  };

  const processEvent = (ev: Ev) => {
    if (ev.type === EV_SNAPSHOT) {
      if (!ev.sym) return;
      const st = symState(ev.venue, ev.sym);
      catchUp(st);
      if (!st.book.synced) {
        st.book.loadSnapshot(snapOf(ev));
        // diffs received before the (slower) REST answer may already be newer than it
        for (const p of st.pendingDiffs) if (st.book.apply(diffOf(p), levelsOf(p)) === 'gap') break;
        st.pendingDiffs.length = 0;
        if (st.book.synced) releaseHeld(st);
      }
      return;
    }
    sent++;
    const psKey = ev.venue === 'usdm' ? `usdm:${ev.stream}` : ev.stream;
    perStream.set(psKey, (perStream.get(psKey) ?? 0) + 1);
    if (ev.type === EV_DEPTH) {
      const st = symState(ev.venue, ev.sym);
      // the exchange's truth: dropped diffs are applied too
      st.queue.push(ev);
      if (st.queue.length >= 20_000) catchUp(st);
      const fp = faultPending[ev.venue];
      const stalled = stallUntil[ev.venue].depth > 0 && stalling(ev.venue, 'depth');
      if (ev.drop || fp.drop > 0 || stalled) {
        if (stalled) faultCounts.stalled++;
        else if (!ev.drop) {
          fp.drop--;
          faultCounts.dropped++;
        }
        dropped++;
        // a dropped diff must be visible as a gap on aggregated streams too
        for (const [ms, agg] of st.aggregators) aggFlush(st, ms, agg);
        return;
      }
      if (st.swapHeld) {
        const held = st.swapHeld;
        st.swapHeld = undefined;
        emitDepth(st, ev);
        emitDepth(st, held);
        return;
      }
      if (fp.reorder > 0) {
        fp.reorder--;
        faultCounts.reordered++;
        st.swapHeld = ev;
        return;
      }
      emitDepth(st, ev);
      if (fp.duplicate > 0) {
        fp.duplicate--;
        faultCounts.duplicated++;
        emitDepth(st, ev);
      }
      return;
    }
    if (ev.sym && ev.venue === 'usdm' && ev.topic.endsWith('|bookTicker')) symState('usdm', ev.sym).lastBookTicker = ev.text;
    if (stallUntil[ev.venue].trade > 0 && ev.topic.endsWith('|trade') && stalling(ev.venue, 'trade')) {
      faultCounts.stalled++;
      return;
    }
    const subs = topics.get(ev.topic);
    if (subs && subs.length > 0) {
      const text = lineOf(ev);
      publish(ev.topic, ev.stream, text, dataOf(ev, text));
    }
  };

  // ---- fault injection (on command)
  const faultCounts = { disconnects: 0, halfOpen: 0, duplicated: 0, reordered: 0, dropped: 0, staleSnapshots: 0, restErrors: 0, lagged: 0, stalled: 0 };
  /** a stall in force ends at this performance.now() (0: none) */
  const stallUntil: Record<Venue, { depth: number; trade: number }> = { spot: { depth: 0, trade: 0 }, usdm: { depth: 0, trade: 0 } };
  const stalling = (v: Venue, stream: 'depth' | 'trade'): boolean => {
    if (stallUntil[v][stream] > performance.now()) return true;
    if (stallUntil[v][stream] > 0) {
      stallUntil[v][stream] = 0;
      log?.warn({ venue: v, stream }, 'replay: stall over');
    }
    return false;
  };
  const stallStatus = (v: Venue): { stream: 'depth' | 'trade'; remainingMs: number } | null => {
    const now = performance.now();
    for (const stream of ['depth', 'trade'] as const) if (stallUntil[v][stream] > now) return { stream, remainingMs: Math.round(stallUntil[v][stream] - now) };
    return null;
  };
  const noFaults = () => ({ duplicate: 0, reorder: 0, drop: 0, staleSnapshot: 0, rest: 0 });
  const faultPending: Record<Venue, ReturnType<typeof noFaults>> = { spot: noFaults(), usdm: noFaults() };
  const restFault: Record<Venue, { status: number; retryAfter: number }> = { spot: { status: 429, retryAfter: 1 }, usdm: { status: 429, retryAfter: 1 } };
  const faultStatus = (): FaultStatus => ({
    ...faultCounts,
    lagMs: { ...lagMs },
    stalling: { spot: stallStatus('spot'), usdm: stallStatus('usdm') },
    pending: { spot: { ...faultPending.spot }, usdm: { ...faultPending.usdm } },
  });
  const msArg = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 600_000 ? Math.round(v) : null);
  const count = (v: unknown): number => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, 1_000_000) : 0);
  const applyFaults = (f: FaultCommand): string | null => {
    if (typeof f !== 'object' || f === null) return 'expected a JSON object';
    if (f.venue !== undefined && f.venue !== 'spot' && f.venue !== 'usdm') return 'venue must be spot or usdm';
    if (f.rest !== undefined && (typeof f.rest !== 'object' || f.rest === null || (f.rest.status !== 429 && f.rest.status !== 418) || count(f.rest.count) === 0))
      return 'rest must be {status: 429|418, count: N, retryAfter?: seconds}';
    if (f.lag !== undefined && msArg(f.lag) === null) return 'lag must be a delay in ms (0..600000)';
    if (f.stall !== undefined && (typeof f.stall !== 'object' || f.stall === null || !msArg(f.stall.ms) || (f.stall.stream !== undefined && f.stall.stream !== 'depth' && f.stall.stream !== 'trade')))
      return "stall must be {ms: 1..600000, stream?: 'depth'|'trade'}";
    const vs: Venue[] = f.venue ? [f.venue] : ['spot', 'usdm'];
    for (const v of vs) {
      const p = faultPending[v];
      p.duplicate += count(f.duplicate);
      p.reorder += count(f.reorder);
      p.drop += count(f.drop);
      p.staleSnapshot += count(f.staleSnapshot);
      if (f.rest) {
        p.rest += count(f.rest.count);
        restFault[v] = { status: f.rest.status, retryAfter: Math.max(1, Math.round(Number(f.rest.retryAfter ?? 1)) || 1) };
      }
      if (f.lag !== undefined) lagMs[v] = msArg(f.lag)!;
      if (f.stall) stallUntil[v][f.stall.stream ?? 'depth'] = performance.now() + msArg(f.stall.ms)!;
    }
    for (const c of [...clients]) {
      if (!vs.includes(c.venue)) continue;
      if (f.halfOpen && !c.mute) {
        c.mute = true;
        faultCounts.halfOpen++;
      }
      if (f.disconnect) {
        faultCounts.disconnects++;
        c.ws.terminate();
      }
    }
    log?.warn({ faults: f }, 'replay: faults injected');
    return null;
  };

  const emitDepth = (st: SymState, ev: Ev) => {
    {
      const rec = st.recordedDepthMs ?? 0;
      let text: string | null = null;
      let data: string | null = null;
      for (const ms of st.depthMs) {
        if (ms <= rec) {
          const key = `${ev.venue}|${st.lower}|depth|${ms}`;
          if (!topics.get(key)?.length) continue;
          text ??= lineOf(ev);
          data ??= dataOf(ev, text);
          publish(key, ev.stream, text, data);
        }
      }
      if (st.aggregators.size > 0) {
        const lv = levelsOf(ev);
        const d = diffOf(ev);
        for (const [ms, agg] of st.aggregators) aggAdd(st, ms, agg, d, lv);
      }
    }
  };

  // ---- the playback loop
  let wake: (() => void) | null = null;
  let wakeTimer: NodeJS.Timeout | null = null;
  // A wait under a millisecond (most gaps between recorded events at 1x and faster; Node's timers count
  // whole milliseconds) blocks on a futex for that long, then lets the event loop turn once. It used to
  // turn the loop (setImmediate) until the time came, which kept a core 82-84% busy at 1x with one client
  // (measured: /proc CPU time over 15 s) and took it from the engine under test on a 2-core machine. The
  // futex wakes up to ~0.1 ms late on this VM; playback times stay absolute, so lateness does not add up.
  const futex = new Int32Array(new SharedArrayBuffer(4));
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      if (ms >= 1) wakeTimer = setTimeout(resolve, ms);
      else {
        if (ms >= 0.02) Atomics.wait(futex, 0, 0, ms);
        setImmediate(resolve);
      }
    }).finally(() => {
      wake = null;
      wakeTimer = null;
    });

  // At speed max the clients' reading pace sets the pace; at a finite speed a client that falls behind
  // is disconnected past maxClientBufferBytes (see send) and playback never waits for it.
  const backpressure = async () => {
    if (speed !== Infinity) return;
    let waited = 0;
    for (;;) {
      let over = false;
      for (const c of clients) {
        if (c.ws.readyState === WebSocket.OPEN && c.ws.bufferedAmount > (waited === 0 ? HIGH_WATER : LOW_WATER)) {
          over = true;
          break;
        }
      }
      if (!over || closed) return;
      await sleep(2);
      waited += 2;
      if (waited % 10_000 === 0) log?.warn({ waitedMs: waited }, 'replay: a slow client is holding playback back');
    }
  };

  // Frames of one batch go out in one write per socket: cork the sockets while a batch is sent.
  type Corkable = { cork(): void; uncork(): void; destroyed?: boolean };
  const corked: Corkable[] = [];
  const cork = () => {
    for (const c of clients) {
      const sock = (c.ws as unknown as { _socket?: Corkable | null })._socket;
      if (sock && !sock.destroyed && typeof sock.cork === 'function') {
        sock.cork();
        corked.push(sock);
      }
    }
  };
  const uncork = () => {
    for (const sock of corked) sock.uncork();
    corked.length = 0;
  };

  /** At speed max, between passes: starts the next pass (set while it waits for a subscription). */
  let seamResume: (() => void) | null = null;

  /**
   * Between two passes, what an exchange does at a maintenance disconnect: every client is closed
   * (code 1000, after what was queued for it; a half-open one stays as it is), the reference books start
   * over (pass k's recorded snapshot syncs them again) and the next pass's shifts apply.
   */
  const seam = async () => {
    for (const st of syms.values()) for (const [ms, agg] of st.aggregators) aggFlush(st, ms, agg);
    for (const c of [...clients]) {
      if (c.mute || c.closing || c.ws.readyState !== WebSocket.OPEN) continue;
      c.closing = true;
      seamDisconnects++;
      unsubscribe(c, [...c.subs.keys()]);
      if (c.lagQ && c.lagHead! < c.lagQ.length) c.lagQ.push({ due: performance.now() + lagMs[c.venue], frame: null });
      else c.ws.close(1000);
    }
    pass++;
    shift = { time: pass * spanMs, id: pass * updateIdShift };
    idx = 0;
    for (const st of syms.values()) {
      st.book = new RefBook(st.venue);
      st.queue.length = 0;
      st.pendingDiffs.length = 0;
      st.swapHeld = undefined;
      st.firstAnswer = undefined;
    }
    log?.info({ pass: pass + 1, passes, disconnected: seamDisconnects, spanMs, updateIdShift }, 'replay: next pass; clients disconnected');
    if (speed === Infinity && opts.startOn !== 'immediately') await new Promise<void>((resolve) => (seamResume = resolve));
  };

  const play = async () => {
    let budget = 0;
    const n = events.length;
    try {
      for (;;) {
        while (idx < n && !closed) {
          const ev = events[idx]!;
          // the replay time of the event in this pass
          const t = ev.t + shift.time;
          if (speed !== Infinity) {
            const now = t0 + (performance.now() - startWall) * speed;
            if (t > now) {
              runTimers(now);
              const nextT = Math.min(t, nextDue);
              budget = 0;
              uncork();
              await backpressure();
              waits++;
              await sleep((nextT - now) / speed);
              continue;
            }
          }
          if (budget === 0) cork();
          if (t >= nextDue) runTimers(t);
          processEvent(ev);
          lastT = t;
          idx++;
          if (++budget >= BATCH) {
            budget = 0;
            uncork();
            await backpressure();
            await sleep(0);
          }
        }
        if (closed || pass + 1 >= passes) break;
        budget = 0;
        uncork();
        await seam();
      }
    } finally {
      uncork();
    }
    if (closed) return;
    // end of the recording: flush partial windows
    for (const st of syms.values()) for (const [ms, agg] of st.aggregators) aggFlush(st, ms, agg);
    finished = true;
    for (const st of syms.values()) {
      if (st.held.length > 0 && !st.book.synced) {
        for (const h of st.held.splice(0)) h.respond(503, { code: -1, msg: 'No depth snapshot for this symbol in the recording.' });
      }
    }
    log?.info({ sent, total, dropped }, 'replay: finished');
    resolveDone();
  };

  const start = () => {
    if (started || closed) return;
    started = true;
    startWall = performance.now();
    log?.info({ total, speed }, 'replay: playback started');
    // deferred, so that the reply to the SUBSCRIBE that started playback goes out first
    setImmediate(() => {
      play().catch((err: unknown) => {
        log?.warn({ err: String(err) }, 'replay: playback failed');
        resolveDone();
      });
    });
  };

  let startTimer: NodeJS.Timeout | null = null;
  /** the first start, or (speed max) the next pass after a seam */
  const go = () => {
    const resume = seamResume;
    seamResume = null;
    if (resume) resume();
    else start();
  };
  const requestStart = () => {
    if ((started && !seamResume) || closed || startTimer) return;
    const delay = opts.startDelayMs ?? 0;
    if (delay <= 0) return go();
    startTimer = setTimeout(() => {
      startTimer = null;
      go();
    }, delay);
  };

  // ---- subscriptions
  const subscribe = (c: Client, names: string[]): string | null => {
    const fresh = names.filter((n) => !c.subs.has(n));
    if (c.subs.size + new Set(fresh).size > MAX_STREAMS) return `Invalid request: too many streams (max ${MAX_STREAMS} per connection)`;
    for (const name of fresh) {
      if (c.subs.has(name)) continue;
      const spec = parseStreamName(name);
      let key = '';
      if (spec && (c.venue === 'spot' || c.route === 'default' || usdmCategory(spec) === c.route)) {
        key = topicKey(c.venue, spec);
        if (spec.kind === 'depth' && spec.sym) {
          const st = syms.get(`${c.venue}|${spec.sym.toUpperCase()}`);
          if (st) {
            const ms = spec.ms ?? DEFAULT_DEPTH_MS[c.venue];
            if (!st.depthMs.includes(ms)) st.depthMs.push(ms);
            if (ms > (st.recordedDepthMs ?? Infinity)) ensureAggregator(st, ms);
          }
        }
        let arr = topics.get(key);
        if (!arr) topics.set(key, (arr = []));
        arr.push({ client: c, name, prefix: `{"stream":${JSON.stringify(name)},"data":` });
      } else if (spec && c.venue === 'usdm') {
        log?.warn({ stream: name, route: c.route }, 'replay: USD-M stream subscribed on the wrong route; it will never deliver');
      }
      c.subs.set(name, key);
    }
    if (names.length > 0 && opts.startOn !== 'immediately') requestStart();
    return null;
  };
  const unsubscribe = (c: Client, names: string[]) => {
    for (const name of names) {
      const key = c.subs.get(name);
      if (key === undefined) continue;
      c.subs.delete(name);
      if (!key) continue;
      const arr = topics.get(key);
      if (!arr) continue;
      const i = arr.findIndex((s) => s.client === c && s.name === name);
      if (i >= 0) arr.splice(i, 1);
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 16, perMessageDeflate: false });

  const reply = (c: Client, o: object) => {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(o));
  };
  const validId = (id: unknown): boolean =>
    id === null ||
    (typeof id === 'number' && Number.isSafeInteger(id)) ||
    (typeof id === 'string' && /^[A-Za-z0-9_-]{1,36}$/.test(id));

  const onControl = (c: Client, data: RawData) => {
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      const m = /position (\d+)/.exec(String((err as Error).message));
      const pos = m ? Number(m[1]) : text.length;
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      reply(c, { code: 3, msg: `Invalid JSON: expected value at line ${line} column ${col}`, id: null });
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      reply(c, { code: 2, msg: 'Invalid request: expected a JSON object', id: null });
      return;
    }
    const m = msg as { method?: unknown; params?: unknown; id?: unknown };
    const id = m.id === undefined ? null : m.id;
    if (!('id' in m) || !validId(m.id)) {
      reply(c, { code: 2, msg: 'Invalid request: request ID must be an unsigned integer or an alphanumeric string of up to 36 characters', id: validId(id) ? id : null });
      return;
    }
    if (typeof m.method !== 'string') {
      reply(c, { code: 2, msg: 'Invalid request: missing field `method`', id });
      return;
    }
    const params = m.params;
    const strParams = (): string[] | null =>
      Array.isArray(params) && params.every((p) => typeof p === 'string' && p.length > 0) ? (params as string[]) : null;
    switch (m.method) {
      case 'SUBSCRIBE': {
        const ps = strParams();
        if (!ps) return reply(c, { code: 2, msg: 'Invalid request: params must be an array of stream names', id });
        const err = subscribe(c, ps);
        return reply(c, err ? { code: 2, msg: err, id } : { result: null, id });
      }
      case 'UNSUBSCRIBE': {
        const ps = strParams();
        if (!ps) return reply(c, { code: 2, msg: 'Invalid request: params must be an array of stream names', id });
        unsubscribe(c, ps);
        return reply(c, { result: null, id });
      }
      case 'LIST_SUBSCRIPTIONS':
        return reply(c, { result: [...c.subs.keys()], id });
      case 'SET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 2 || typeof params[0] !== 'string')
          return reply(c, { code: 2, msg: 'Invalid request: property name must be a string', id });
        if (params[0] !== 'combined') return reply(c, { code: 0, msg: 'Unknown property', id });
        if (typeof params[1] !== 'boolean') return reply(c, { code: 1, msg: 'Invalid value type: expected Boolean', id });
        c.combined = params[1];
        return reply(c, { result: null, id });
      }
      case 'GET_PROPERTY': {
        if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'string')
          return reply(c, { code: 2, msg: 'Invalid request: property name must be a string', id });
        if (params[0] !== 'combined') return reply(c, { code: 0, msg: 'Unknown property', id });
        return reply(c, { result: c.combined, id });
      }
      default:
        return reply(c, { code: 2, msg: `Invalid request: unknown variant \`${m.method}\``, id });
    }
  };

  const rejectUpgrade = (socket: Duplex, status: number, msg: string) => {
    socket.end(`HTTP/1.1 ${status} ${msg}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(msg)}\r\n\r\n${msg}`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closed) return rejectUpgrade(socket, 503, 'Service Unavailable');
    const u = new URL(req.url ?? '/', 'http://x');
    let path = u.pathname;
    let route: Route = 'default';
    if (path.startsWith('/public/') || path === '/public') {
      route = 'public';
      path = path.slice(7);
    } else if (path.startsWith('/market/') || path === '/market') {
      route = 'market';
      path = path.slice(7);
    }
    let venue: Venue = defaultVenue;
    if (route !== 'default') {
      if (!venues.includes('usdm')) return rejectUpgrade(socket, 404, 'Not Found');
      venue = 'usdm';
    }
    let combined: boolean;
    let names: string[];
    if (path === '/ws' || path.startsWith('/ws/')) {
      combined = false;
      try {
        names = path.slice(4).split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        return rejectUpgrade(socket, 400, 'Bad Request');
      }
    } else if (path === '/stream' || path === '/stream/') {
      combined = true;
      names = (u.searchParams.get('streams') ?? '').split('/').filter(Boolean);
    } else return rejectUpgrade(socket, 404, 'Not Found');
    if (new Set(names).size > MAX_STREAMS) return rejectUpgrade(socket, 400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const c: Client = {
        ws,
        venue,
        route,
        combined,
        subs: new Map(),
        ip: req.socket.remoteAddress ?? '',
        ping: setInterval(() => {
          if (ws.readyState === WebSocket.OPEN && !c.mute) ws.ping();
        }, venue === 'usdm' ? 180_000 : 20_000),
      };
      c.ping.unref();
      clients.add(c);
      ws.on('message', (data) => {
        if (c.closing) return;
        try {
          onControl(c, data);
        } catch (err) {
          log?.warn({ err: String(err) }, 'replay: control message failed');
        }
      });
      ws.on('error', () => {});
      ws.on('close', () => {
        clearInterval(c.ping);
        if (c.lagTimer) clearTimeout(c.lagTimer);
        c.lagQ = undefined;
        unsubscribe(c, [...c.subs.keys()]);
        clients.delete(c);
      });
      subscribe(c, names);
    });
  };

  // ---- REST
  const weights = new Map<string, { q: { at: number; w: number }[]; sum: number }>();
  const usedWeight = (venue: Venue, ip: string, now: number) => {
    const k = `${venue}|${ip}`;
    let e = weights.get(k);
    if (!e) weights.set(k, (e = { q: [], sum: 0 }));
    while (e.q.length > 0 && e.q[0]!.at <= now - 60_000) e.sum -= e.q.shift()!.w;
    return e;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const path = u.pathname.replace(/\/+$/, '') || '/';
    const q = u.searchParams;
    const ip = req.socket.remoteAddress ?? '';
    const isSpot = path.startsWith('/api/');
    const isUsdm = path.startsWith('/fapi/');
    const venue: Venue = isSpot ? 'spot' : isUsdm ? 'usdm' : defaultVenue;
    const now = Date.now();
    let weightHeader = 0;
    const send = (status: number, body: unknown, extra?: Record<string, string>) => {
      if (res.headersSent || res.writableEnded) return;
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json;charset=UTF-8',
        'Content-Length': Buffer.byteLength(text),
        'X-MBX-USED-WEIGHT-1M': String(weightHeader),
        ...extra,
      });
      res.end(text);
    };
    const notFound = () => send(404, { code: -1, msg: `Unknown endpoint ${req.method ?? 'GET'} ${u.pathname}` });
    const badSymbol = () => send(400, { code: -1121, msg: 'Invalid symbol.' });
    if (path === '/_admin/faults' && opts.faults) {
      if (req.method === 'GET') return send(200, faultStatus());
      if (req.method !== 'POST') return notFound();
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        if (body.length < 65_536) body += d;
      });
      req.on('end', () => {
        let cmd: FaultCommand;
        try {
          cmd = JSON.parse(body || '{}') as FaultCommand;
        } catch {
          return send(400, { error: 'body is not JSON' });
        }
        const e = applyFaults(cmd);
        return e ? send(400, { error: e }) : send(200, faultStatus());
      });
      return;
    }
    if (opts.faults && req.method === 'GET' && /^\/(api\/v3|fapi\/v1)\/(depth|exchangeInfo)$/.test(path) && faultPending[venue].rest > 0) {
      faultPending[venue].rest--;
      faultCounts.restErrors++;
      const rf = restFault[venue];
      return send(rf.status, { code: -1003, msg: rf.status === 418 ? 'IP banned (fault injection).' : 'Too many requests (fault injection).' }, { 'Retry-After': String(rf.retryAfter) });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      weightHeader = usedWeight(venue, ip, now).sum;
      return notFound();
    }
    if ((isSpot && !venues.includes('spot')) || (isUsdm && !venues.includes('usdm'))) {
      weightHeader = usedWeight(venue, ip, now).sum;
      return notFound();
    }

    // weights
    let weight = 1;
    let spotLimit = 100;
    let usdmLimit = 500;
    const symParam = q.get('symbol');
    switch (path) {
      case '/api/v3/exchangeInfo':
        weight = 20;
        break;
      case '/api/v3/depth':
      case '/fapi/v1/depth': {
        const l = q.get('limit');
        if (l !== null && (!/^\d{1,20}$/.test(l) || Number(l) < 1)) {
          weightHeader = usedWeight(venue, ip, now).sum;
          return send(400, { code: -1100, msg: "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'." });
        }
        if (path === '/api/v3/depth') {
          if (l !== null) spotLimit = Math.min(5000, Number(l));
          weight = spotLimit <= 100 ? 5 : spotLimit <= 500 ? 25 : spotLimit <= 1000 ? 50 : 250;
        } else {
          if (l !== null) usdmLimit = [5, 10, 20, 50, 100, 500, 1000].find((x) => x >= Number(l)) ?? 1000;
          weight = usdmLimit <= 50 ? 2 : usdmLimit <= 100 ? 5 : usdmLimit <= 500 ? 10 : 20;
        }
        break;
      }
      case '/fapi/v1/premiumIndex':
        weight = symParam ? 1 : 10;
        break;
      case '/replay/status':
        weight = 0;
        break;
    }
    const wq = usedWeight(venue, ip, now);
    if (wq.sum + weight > WEIGHT_BUDGET[venue]) {
      // seconds until enough weight has left the 60 s window
      let need = wq.sum + weight - WEIGHT_BUDGET[venue];
      let until = now + 1000;
      for (const e of wq.q) {
        need -= e.w;
        until = e.at + 60_000;
        if (need <= 0) break;
      }
      weightHeader = wq.sum;
      const limit = WEIGHT_BUDGET[venue];
      return send(
        429,
        {
          code: -1003,
          msg: `Too much request weight used; current limit is ${limit} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.`,
        },
        { 'Retry-After': String(Math.max(1, Math.ceil((until - now) / 1000))) },
      );
    }
    if (weight > 0) {
      wq.q.push({ at: now, w: weight });
      wq.sum += weight;
    }
    weightHeader = wq.sum;

    const symbolsOf = (v: Venue) => [...syms.values()].filter((s) => s.venue === v && s.sym !== '');
    const lookup = (v: Venue, s: string | null): SymState | null => (s ? (syms.get(`${v}|${s.toUpperCase()}`) ?? null) : null);

    switch (path) {
      case '/api/v3/ping':
      case '/fapi/v1/ping':
        return send(200, {});
      case '/api/v3/time':
      case '/fapi/v1/time':
        return send(200, { serverTime: exchangeMs(venue) });
      case '/replay/status':
        return send(200, status());
      case '/api/v3/exchangeInfo':
      case '/fapi/v1/exchangeInfo': {
        let list = symbolsOf(venue);
        const one = q.get('symbol');
        const many = q.get('symbols');
        if (one !== null) {
          const st = lookup(venue, one);
          if (!st) return badSymbol();
          list = [st];
        } else if (many !== null) {
          let arr: unknown;
          try {
            arr = JSON.parse(many);
          } catch {
            return send(400, { code: -1100, msg: "Illegal characters found in parameter 'symbols'." });
          }
          if (!Array.isArray(arr)) return send(400, { code: -1100, msg: "Illegal characters found in parameter 'symbols'." });
          const out: SymState[] = [];
          for (const s of arr) {
            const st = typeof s === 'string' ? lookup(venue, s) : null;
            if (!st) return badSymbol();
            out.push(st);
          }
          list = out;
        }
        if (venue === 'spot') {
          return send(200, {
            timezone: 'UTC',
            serverTime: exchangeMs('spot'),
            rateLimits: SPOT_RATE_LIMITS,
            exchangeFilters: [],
            symbols: list.map(spotSymbolInfo),
          });
        }
        return send(200, {
          timezone: 'UTC',
          serverTime: exchangeMs('usdm'),
          futuresType: 'U_MARGINED',
          rateLimits: USDM_RATE_LIMITS,
          exchangeFilters: [],
          assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
          symbols: list.map(usdmSymbolInfo),
        });
      }
      case '/api/v3/depth':
      case '/fapi/v1/depth': {
        if (!symParam) return send(400, { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." });
        const st = lookup(venue, symParam);
        if (!st) return badSymbol();
        const limit = venue === 'spot' ? spotLimit : usdmLimit;
        catchUp(st);
        if (st.book.synced) {
          const answer = answerDepth(st, limit) as { lastUpdateId: number };
          if (opts.faults) {
            const first = st.firstAnswer;
            if (first === undefined) st.firstAnswer = answer;
            else if (faultPending[venue].staleSnapshot > 0 && first.lastUpdateId < answer.lastUpdateId) {
              faultPending[venue].staleSnapshot--;
              faultCounts.staleSnapshots++;
              return send(200, first);
            }
          }
          return send(200, answer);
        }
        if (!st.hasSnapshot || finished || closed) return send(503, { code: -1, msg: 'No depth snapshot for this symbol in the recording.' });
        // like a slow exchange: answer once playback has reached the recorded snapshot
        const h: HeldDepth = { limit, respond: (s, b) => send(s, b) };
        st.held.push(h);
        res.on('close', () => {
          const i = st.held.indexOf(h);
          if (i >= 0) st.held.splice(i, 1);
        });
        return;
      }
      case '/fapi/v1/openInterest': {
        if (!symParam) return send(400, { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." });
        const st = lookup('usdm', symParam);
        if (!st) return badSymbol();
        const ex = exchangeMs('usdm');
        return send(200, { openInterest: openInterest(st, ex), symbol: st.sym, time: ex });
      }
      case '/fapi/v1/premiumIndex': {
        const one = (st: SymState) => {
          const ex = exchangeMs('usdm');
          const mid = markPriceMid(st) ?? '0';
          return {
            symbol: st.sym,
            markPrice: mid,
            indexPrice: mid,
            estimatedSettlePrice: mid,
            lastFundingRate: fundingRate(st.sym, ex),
            interestRate: '0.00010000',
            nextFundingTime: nextFunding(ex),
            time: ex,
          };
        };
        if (symParam) {
          const st = lookup('usdm', symParam);
          if (!st) return badSymbol();
          return send(200, one(st));
        }
        return send(200, symbolsOf('usdm').map(one));
      }
      default:
        return notFound();
    }
  };

  const status = (): ReplayStatus => ({
    started,
    finished,
    sent,
    total: total * passes,
    clients: clients.size,
    replayTimeMs: started ? exchangeMs(defaultVenue) : null,
    perStream: Object.fromEntries(perStream),
    dropped,
    venues: [...venues],
    ...(opts.faults ? { faults: faultStatus() } : {}),
    slowClientsClosed,
    waits,
    timersFired,
    ...(passes > 1 ? { loop: { pass: pass + 1, passes, spanMs, updateIdShift, disconnected: seamDisconnects, waiting: seamResume !== null } } : {}),
  });

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log?.warn({ err: String(err) }, 'replay: request failed');
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ code: -1000, msg: 'An unknown error occurred while processing the request.' }));
      }
    }
  });
  server.on('upgrade', onUpgrade);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  log?.info({ port, venues, total, files: opts.files.length }, 'replay: listening');
  if (opts.startOn === 'immediately') start();

  const close = async () => {
    if (closed) return;
    closed = true;
    if (startTimer) clearTimeout(startTimer);
    if (wakeTimer) clearTimeout(wakeTimer);
    (wake as (() => void) | null)?.();
    (seamResume as (() => void) | null)?.();
    seamResume = null;
    for (const st of syms.values()) for (const h of st.held.splice(0)) h.respond(503, { code: -1, msg: 'Server is shutting down.' });
    for (const c of clients) {
      clearInterval(c.ping);
      if (c.lagTimer) clearTimeout(c.lagTimer);
      c.ws.terminate();
    }
    clients.clear();
    wss.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    resolveDone();
  };

  return {
    url: `http://${hostForUrl}:${port}`,
    wsUrl: `ws://${hostForUrl}:${port}`,
    port,
    status,
    done,
    close,
  };
}
