import { z } from 'zod';
import { parseScaled, POW10 } from '../../core/decimal.js';
import type { EpochMs, Venue } from '../../core/types.js';
import type { Instrument } from '../../model/instrument.js';
import type {
  BookTickerEvent,
  DeferredLevels,
  DepthDiff,
  DepthSnapshot,
  LevelTarget,
  LiquidationEvent,
  MarkPriceEvent,
  MarketEvent,
  TradeEvent,
} from '../../model/events.js';

/**
 * Decoder for Binance combined-stream messages.
 *
 * Hot path: depth diffs, trades and book tickers are scanned straight out of the message text onto the
 * instrument's integer grid, with no JSON.parse and no per-level allocation. A depth message from USD-M
 * BTCUSDT carries up to hundreds of levels; JSON.parse would build an array and two strings per level
 * that are thrown away at once (bench/book.ts: the scanner plus the book update beats bare JSON.parse of
 * the same text).
 *
 * The fast path reads the data object field by field, in one pass, the way Binance writes it: compact
 * JSON, one level of keys, the event type `e` checked, every field the schema requires present, unknown
 * fields only as plain values. It accepts only what the slow path (JSON.parse + zod: the definition of a
 * valid message) accepts, with the same result; anything else (spaces, escapes, nested values, another
 * layout) goes to the slow path, which accepts any valid JSON layout. Only what the slow path rejects
 * counts as malformed. test/fuzz/decoders.ts checks that the two paths agree on mutated real messages.
 *
 * Decoded events are reused between calls (one object per kind): consume or copy before the next call.
 */
export type StreamKind = 'depth' | 'trade' | 'bookTicker' | 'markPrice' | 'forceOrder';

interface Route {
  kind: StreamKind;
  inst: Instrument;
}

export type DecodeOutcome =
  | { ok: true; event: MarketEvent }
  | { ok: false; reason: 'control' | 'unknown_stream' | 'malformed' | 'shutdown'; kind: string; detail?: string };

const CONTROL: DecodeOutcome = { ok: false, reason: 'control', kind: 'control' };

// ---- slow-path schemas (also the definition of what a valid message is) ----
const dec = z.string().regex(/^\d+(\.\d+)?$/);
const level = z.tuple([dec, dec]);
const depthSchema = z.looseObject({
  e: z.literal('depthUpdate'),
  E: z.number().int(),
  s: z.string(),
  U: z.number().int(),
  u: z.number().int(),
  pu: z.number().int().optional(),
  b: z.array(level),
  a: z.array(level),
});
const tradeSchema = z.looseObject({
  e: z.literal('trade'),
  E: z.number().int(),
  s: z.string(),
  t: z.number().int(),
  p: dec,
  q: dec,
  m: z.boolean(),
});
const bookTickerSchema = z.looseObject({ u: z.number().int(), s: z.string(), b: dec, B: dec, a: dec, A: dec });
const signedDec = z.string().regex(/^-?\d+(\.\d+)?$/);
const markPriceSchema = z.looseObject({
  e: z.literal('markPriceUpdate'),
  E: z.number().int(),
  s: z.string(),
  p: dec,
  i: dec,
  r: z.union([signedDec, z.literal('')]),
  T: z.number().int(),
});
const forceOrderSchema = z.looseObject({
  e: z.literal('forceOrder'),
  E: z.number().int(),
  o: z.looseObject({ s: z.string(), S: z.enum(['BUY', 'SELL']), p: dec, q: dec, ap: dec.optional(), z: dec.optional() }),
});
export const snapshotSchema = z.looseObject({
  lastUpdateId: z.number().int(),
  bids: z.array(level),
  asks: z.array(level),
});

/** Where one scan stopped; NaN values mark failure. Reused to return two values without allocating. */
class Cursor {
  pos = 0;
}

/** Parses an unsigned integer at text[pos...]; advances cur.pos; NaN if no digit. */
function scanInt(text: string, cur: Cursor): number {
  let i = cur.pos;
  let v = 0;
  const start = i;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    i++;
  }
  cur.pos = i;
  // a fraction or an exponent (50093240e1) is not an integer as written, and a leading zero (0123) is not
  // JSON: the JSON.parse path decides
  const next = text.charCodeAt(i);
  if (next === 46 || next === 101 || next === 69) return NaN;
  if (i - start > 1 && text.charCodeAt(start) === 48) return NaN;
  return i === start || v > Number.MAX_SAFE_INTEGER ? NaN : v;
}

/**
 * Parses `"<decimal>"` at text[pos] (digits, optionally a point and digits: the schemas' `\d+(\.\d+)?`)
 * into an integer scaled by 10^decimals; advances past the closing quote. NaN if the shape is wrong or the
 * value has precision beyond the grid.
 */
function scanQuotedDecimal(text: string, cur: Cursor, decimals: number): number {
  let i = cur.pos;
  if (text.charCodeAt(i) !== 34) return NaN;
  i++;
  let v = 0;
  let frac = -1;
  let intDigits = 0;
  let fracDigits = 0;
  let bad = false;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 34) break;
    if (c >= 48 && c <= 57) {
      if (frac < 0) {
        v = v * 10 + (c - 48);
        intDigits++;
      } else {
        fracDigits++;
        if (frac < decimals) {
          v = v * 10 + (c - 48);
          frac++;
        } else if (c !== 48) bad = true;
      }
    } else if (c === 46 && frac < 0) frac = 0;
    else return NaN; // includes end of text (NaN charCode)
    i++;
  }
  cur.pos = i + 1;
  if (bad || intDigits === 0 || (frac >= 0 && fracDigits === 0)) return NaN;
  if (frac < 0) frac = 0;
  const units = frac < decimals ? v * POW10[decimals - frac]! : v;
  // past 2^53 units the value cannot be held exactly: malformed, never rounded
  return units > Number.MAX_SAFE_INTEGER ? NaN : units;
}

/**
 * Reads `"<key>":` at cur.pos and returns the key as a number: a one-character key is its char code, a
 * two-character key c1 * 256 + c2, a longer one 0 (no field we read has a longer name); -1 when there is
 * no plain key there (an escape, the end of the text). Leaves cur.pos after the ':'.
 */
function scanKey(text: string, cur: Cursor): number {
  const i = cur.pos;
  if (text.charCodeAt(i) !== 34) return -1;
  const c1 = text.charCodeAt(i + 1);
  if (c1 === 34 || c1 === 92 || c1 < 32 || c1 !== c1) return -1;
  let key: number;
  let j: number;
  const c2 = text.charCodeAt(i + 2);
  if (c2 === 34) {
    key = c1;
    j = i + 3;
  } else if (c2 !== 92 && c2 >= 32 && text.charCodeAt(i + 3) === 34) {
    key = c1 * 256 + c2;
    j = i + 4;
  } else {
    j = i + 2;
    for (;;) {
      const c = text.charCodeAt(j);
      if (c === 34) break;
      if (c === 92 || c < 32 || c !== c) return -1;
      j++;
    }
    key = 0;
    j++;
  }
  if (text.charCodeAt(j) !== 58) return -1;
  cur.pos = j + 1;
  return key;
}

/** Skips a string without escapes or control characters at cur.pos (`"..."`); false if there is none. */
function skipString(text: string, cur: Cursor): boolean {
  let i = cur.pos;
  if (text.charCodeAt(i) !== 34) return false;
  for (i++; ; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) break;
    if (c === 92 || c < 32 || c !== c) return false;
  }
  cur.pos = i + 1;
  return true;
}

/**
 * Skips a plain value at cur.pos: a string without escapes, a number, true, false or null. Objects and
 * arrays are not plain: false (the slow path takes such a message).
 */
function skipScalar(text: string, cur: Cursor): boolean {
  const c = text.charCodeAt(cur.pos);
  if (c === 34) return skipString(text, cur);
  if (c === 116 && text.startsWith('true', cur.pos)) cur.pos += 4;
  else if (c === 102 && text.startsWith('false', cur.pos)) cur.pos += 5;
  else if (c === 110 && text.startsWith('null', cur.pos)) cur.pos += 4;
  else if ((c >= 48 && c <= 57) || c === 45) {
    // the value is not used: only where it ends matters (nextField then wants ',' or '}'); a number JSON.parse
    // would refuse makes the message go to the slow path, which refuses it too
    const end = numberEnd(text, cur.pos);
    if (end < 0) return false;
    cur.pos = end;
  } else return false;
  return true;
}

/** Where the JSON number at text[i] ends (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?); -1 if none starts there. */
function numberEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 45) i++;
  const first = text.charCodeAt(i);
  if (first === 48) i++;
  else if (first >= 49 && first <= 57) while (isDigit(text.charCodeAt(i))) i++;
  else return -1;
  if (text.charCodeAt(i) === 46) {
    if (!isDigit(text.charCodeAt(++i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  if ((text.charCodeAt(i) | 32) === 101) {
    const sign = text.charCodeAt(++i);
    if (sign === 43 || sign === 45) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Reads `true` or `false` at cur.pos: 1, 0, or -1 when neither. */
function scanBool(text: string, cur: Cursor): number {
  if (text.startsWith('true', cur.pos)) {
    cur.pos += 4;
    return 1;
  }
  if (text.startsWith('false', cur.pos)) {
    cur.pos += 5;
    return 0;
  }
  return -1;
}

/**
 * After a field's value: `,` (another field follows) or the data object's closing `}` at its end (then
 * cur.pos = -1: done); true for either. Anything else: false (not the fast path).
 */
function nextField(text: string, cur: Cursor, end: number): boolean {
  const c = text.charCodeAt(cur.pos);
  if (c === 44) {
    cur.pos++;
    return true;
  }
  if (c === 125 && cur.pos === end - 1) {
    cur.pos = -1;
    return true;
  }
  return false;
}

// field names as scanKey returns them
const K_e = 101;
const K_E = 69;
const K_s = 115;
const K_U = 85;
const K_u = 117;
const K_pu = 112 * 256 + 117;
const K_b = 98;
const K_a = 97;
const K_B = 66;
const K_A = 65;
const K_t = 116;
const K_p = 112;
const K_q = 113;
const K_m = 109;

export class BinanceDecoder {
  private readonly routes = new Map<string, Route>();
  private readonly cur = new Cursor();
  /** malformed messages per stream kind */
  readonly malformed: Record<string, number> = {};
  unknownStreams = 0;
  controlMessages = 0;
  /** messages the fast path could not take but the slow path did */
  slowPath = 0;
  /** what the last malformed message was (for rate-limited logging) */
  readonly lastFailure = { kind: '', detail: '' };
  /**
   * Decode large depth messages lazily: the best `LAZY_PREFIX` levels of each side into the diff, the rest
   * as `diff.rest` (`DeferredLevels`), decoded when the book settles (the engine decides on the best levels
   * first). Off by default: a consumer of `decode` that reads the diff's arrays gets every level. The venue
   * processor turns it on. It turns itself off if a message lists a side out of price order.
   */
  lazyDepth = false;
  /** lazily decoded depth messages, and those whose deferred levels were not in price order */
  lazyMessages = 0;
  depthOutOfOrder = 0;
  private readonly deferred: Deferred;
  // the level scanLevel found
  private lp = 0;
  private lq = 0;

  /** the one success outcome, reused: its event is valid until the next decode */
  private readonly success: { ok: true; event: MarketEvent };
  private readonly depth: DepthDiff;
  /** the diff the decoder fills (for its deferred levels) */
  get depthDiff(): DepthDiff {
    return this.depth;
  }
  private readonly trade: TradeEvent;
  private readonly ticker: BookTickerEvent;

  constructor(readonly venue: Venue) {
    this.depth = {
      kind: 'depth', venue, symbol: '', eventTime: 0, recvTime: 0, firstId: 0, lastId: 0, prevLastId: -1,
      bidCount: 0, askCount: 0, bids: new Float64Array(2048), asks: new Float64Array(2048),
    };
    this.trade = {
      kind: 'trade', venue, symbol: '', eventTime: 0, recvTime: 0, tradeId: 0, priceUnits: 0, qtyUnits: 0, buyerIsMaker: false,
    };
    this.ticker = {
      kind: 'bookTicker', venue, symbol: '', recvTime: 0, updateId: 0, bidPriceUnits: 0, bidQtyUnits: 0, askPriceUnits: 0, askQtyUnits: 0,
    };
    this.success = { ok: true, event: this.depth };
    this.deferred = new Deferred(this);
  }

  /** Routes a stream name (as it appears in the envelope) to a kind and an instrument. */
  register(stream: string, kind: StreamKind, inst: Instrument): void {
    this.routes.set(stream, { kind, inst });
  }

  private fail(kind: string, detail: string): DecodeOutcome {
    this.malformed[kind] = (this.malformed[kind] ?? 0) + 1;
    this.lastFailure.kind = kind;
    this.lastFailure.detail = detail;
    return { ok: false, reason: 'malformed', kind, detail };
  }

  /** Decodes one combined-stream message. */
  decode(text: string, recvTime: EpochMs): DecodeOutcome {
    // Fast envelope: {"stream":"<name>","data":{...}}
    if (text.startsWith('{"stream":"')) {
      const nameEnd = text.indexOf('"', 11);
      if (nameEnd > 11 && text.startsWith(',"data":', nameEnd + 1)) {
        const stream = text.slice(11, nameEnd);
        const route = this.routes.get(stream);
        // a stream we did not subscribe to (or one spelled with escapes, btcusdt\u0040depth): the slow path
        // reads the whole envelope, so the answer is the same in any layout
        if (route === undefined) return this.slow(text, recvTime);
        const start = nameEnd + 9; // position of the data object's '{'
        // the envelope closes right after the data object: data's '}' is the last but one character
        const end = text.length - 1;
        if (text.charCodeAt(start) === 123 && text.charCodeAt(end) === 125 && end > start) {
          const ev = this.fast(route, text, start, end, recvTime);
          if (ev !== null) {
            this.success.event = ev;
            return this.success;
          }
        }
        this.slowPath++;
      }
    }
    return this.slow(text, recvTime);
  }

  private unknown(stream: string, text: string): DecodeOutcome {
    if (stream === '!serverShutdown' || text.includes('"serverShutdown"')) {
      return { ok: false, reason: 'shutdown', kind: 'serverShutdown' };
    }
    this.unknownStreams++;
    return { ok: false, reason: 'unknown_stream', kind: stream };
  }

  /** Fast path over data text[start, end); null means "let the slow path decide". */
  private fast(route: Route, text: string, start: number, end: number, recvTime: EpochMs): MarketEvent | null {
    this.cur.pos = start + 1;
    switch (route.kind) {
      case 'depth':
        return this.fastDepth(route.inst, text, end, recvTime);
      case 'trade':
        return this.fastTrade(route.inst, text, end, recvTime);
      case 'bookTicker':
        return this.fastTicker(route.inst, text, end, recvTime);
      case 'markPrice':
      case 'forceOrder':
        return null;
    }
  }

  /** `{"e":"depthUpdate","E":..,"s":"..","U":..,"u":..[,"pu":..],"b":[..],"a":[..]}`, fields in any order. */
  private fastDepth(inst: Instrument, text: string, end: number, recvTime: EpochMs): DepthDiff | null {
    const cur = this.cur;
    const lazy = this.deferred;
    this.depth.rest = null;
    lazy.reset(text, inst, recvTime);
    let e = false;
    let s = false;
    let E = NaN;
    let U = NaN;
    let u = NaN;
    let pu = NaN;
    let bidCount = -1;
    let askCount = -1;
    do {
      switch (scanKey(text, cur)) {
        case K_e:
          if (!text.startsWith('"depthUpdate"', cur.pos)) return null;
          cur.pos += 13;
          e = true;
          break;
        case K_E:
          E = scanInt(text, cur);
          break;
        case K_U:
          U = scanInt(text, cur);
          break;
        case K_u:
          u = scanInt(text, cur);
          break;
        case K_pu:
          pu = scanInt(text, cur);
          if (pu !== pu) return null;
          break;
        case K_s:
          if (!skipString(text, cur)) return null;
          s = true;
          break;
        case K_b:
          if (text.charCodeAt(cur.pos) !== 91) return null;
          bidCount = this.scanSide(text, cur.pos + 1, inst, true);
          if (bidCount < 0) return null;
          cur.pos += 2; // scanLevels stops before the array's ']'
          break;
        case K_a:
          if (text.charCodeAt(cur.pos) !== 91) return null;
          askCount = this.scanSide(text, cur.pos + 1, inst, false);
          if (askCount < 0) return null;
          cur.pos += 2;
          break;
        case -1:
          return null;
        default:
          if (!skipScalar(text, cur)) return null;
      }
      if (!nextField(text, cur, end)) return null;
    } while (cur.pos >= 0);
    if (!e || !s || E !== E || U !== U || u !== u || bidCount < 0 || askCount < 0) return null;
    if (this.venue === 'usdm' && pu !== pu) return null;
    const d = this.depth;
    d.symbol = inst.symbol;
    d.eventTime = E;
    d.recvTime = recvTime;
    d.firstId = U;
    d.lastId = u;
    d.prevLastId = pu === pu ? pu : -1;
    d.bidCount = bidCount;
    d.askCount = askCount;
    if (lazy.b.start >= 0 || lazy.a.start >= 0) {
      lazy.state = PENDING;
      d.rest = lazy;
      this.lazyMessages++;
    }
    return d;
  }

  /**
   * One side's level array at pos (just after its '['): all of it (`scanLevels`), or, for a long array when
   * `lazyDepth` is on, its best `LAZY_PREFIX` levels, best first, with the rest recorded as deferred. The
   * array may list the side best first (asks; spot's bids) or worst first (USD-M's bids): the first and
   * last levels tell which, and a worst-first array is read from its end. The prefix must be strictly in
   * price order, or the whole array is read as usual. Leaves cur.pos as `scanLevels` does; -1 on failure.
   */
  private scanSide(text: string, pos: number, inst: Instrument, bids: boolean): number {
    const span = bids ? this.deferred.b : this.deferred.a;
    span.clear();
    if (!this.lazyDepth) return this.scanWhole(text, pos, inst, bids);
    const close = arrayClose(text, pos);
    if (close < 0 || close - pos < LAZY_MIN_CHARS) return this.scanWhole(text, pos, inst, bids);
    const firstEnd = this.scanLevel(text, pos, inst);
    if (firstEnd < 0) return -1;
    const firstP = this.lp;
    const lastStart = levelStart(text, close, pos);
    if (lastStart <= pos || this.scanLevel(text, lastStart, inst) !== close) return this.scanWhole(text, pos, inst, bids);
    const dir = bids ? 1 : -1;
    const lastK = this.lp * dir;
    const firstK = firstP * dir;
    if (firstK === lastK) return this.scanWhole(text, pos, inst, bids);
    const forward = firstK > lastK;
    const arr = bids ? this.depth.bids : this.depth.asks;
    let n = 0;
    let prev = Infinity;
    let s = forward ? pos : lastStart;
    for (;;) {
      const e = this.scanLevel(text, s, inst);
      if (e < 0) return -1;
      const k = this.lp * dir;
      // not strictly best first: read the array whole, in its order
      if (!(k < prev)) return this.scanWhole(text, pos, inst, bids);
      if (n === LAZY_PREFIX) {
        // the best level not decoded: the frontier. Deferred: from it to the array's end (forward), or from
        // the array's start through it (backward)
        if (forward) span.set(s, close, this.lp, pos, close);
        else span.set(pos, e, this.lp, pos, close);
        break;
      }
      arr[2 * n] = this.lp;
      arr[2 * n + 1] = this.lq;
      n++;
      prev = k;
      if (forward) {
        if (e === close) break; // every level decoded (cannot happen past LAZY_MIN_CHARS, but exact anyway)
        if (text.charCodeAt(e + 1) !== 44) return -1;
        s = e + 2;
      } else {
        if (s === pos) break;
        if (text.charCodeAt(s - 1) !== 44 || text.charCodeAt(s - 2) !== 93) return -1;
        s = levelStart(text, s - 2, pos);
        if (s < pos) return -1;
      }
    }
    this.cur.pos = close;
    return n;
  }

  /** `scanLevels`, noting where the array is (the deferred levels of the other side may need it again). */
  private scanWhole(text: string, pos: number, inst: Instrument, bids: boolean): number {
    const n = this.scanLevels(text, pos, inst, bids);
    if (n >= 0) (bids ? this.deferred.b : this.deferred.a).set(-1, 0, NaN, pos, this.cur.pos);
    return n;
  }

  /** One level `["p","q"]` at i into (lp, lq); the index of its ']', or -1 when it is not one. */
  private scanLevel(text: string, i: number, inst: Instrument): number {
    if (text.charCodeAt(i) !== 91) return -1;
    const cur = this.cur;
    cur.pos = i + 1;
    const p = scanQuotedDecimal(text, cur, inst.priceDecimals);
    if (p !== p || text.charCodeAt(cur.pos) !== 44) return -1;
    cur.pos++;
    const q = scanQuotedDecimal(text, cur, inst.qtyDecimals);
    if (q !== q || text.charCodeAt(cur.pos) !== 93) return -1;
    this.lp = p;
    this.lq = q;
    return cur.pos;
  }

  /**
   * The levels of text[start .. last], where last is the index of the final level's ']': each level's
   * price checked against `bound` (no deferred bid above it, dir = 1; no ask below it, dir = -1) and set on
   * `side` when given. 1: done; 0: a level out of price order; -1: not levels.
   */
  deferredLevels(text: string, start: number, last: number, inst: Instrument, dir: 1 | -1, bound: number, side: LevelTarget['bids'] | null): number {
    const k0 = bound * dir;
    let i = start;
    for (;;) {
      const e = this.scanLevel(text, i, inst);
      if (e < 0 || e > last) return -1;
      if (this.lp * dir > k0) return 0;
      if (side !== null) side.set(this.lp, this.lq);
      if (e === last) return 1;
      if (text.charCodeAt(e + 1) !== 44) return -1;
      i = e + 2;
    }
  }

  /**
   * Every level of the message in message order into the diff's arrays: the fast scan of both whole arrays,
   * or the slow path's decode (which counts a malformed message). False when malformed.
   */
  decodeAllLevels(text: string, inst: Instrument, bArr: number, bClose: number, aArr: number, aClose: number, recvTime: EpochMs): boolean {
    const cur = this.cur;
    const d = this.depth;
    if (bArr >= 0 && aArr >= 0) {
      const nb = this.scanLevels(text, bArr, inst, true);
      const okB = nb >= 0 && cur.pos === bClose;
      const na = okB ? this.scanLevels(text, aArr, inst, false) : -1;
      if (okB && na >= 0 && cur.pos === aClose) {
        d.bidCount = nb;
        d.askCount = na;
        return true;
      }
    }
    const r = this.slow(text, recvTime);
    return r.ok && r.event.kind === 'depth';
  }

  /** Scans `[["p","q"],...]` (pos just after the opening '[') into the diff's level array; -1 on failure. */
  private scanLevels(text: string, pos: number, inst: Instrument, bids: boolean): number {
    const cur = this.cur;
    let arr = bids ? this.depth.bids : this.depth.asks;
    let n = 0;
    let i = pos;
    if (text.charCodeAt(i) === 93) {
      cur.pos = i - 1;
      return 0; // ']'
    }
    for (;;) {
      if (this.scanLevel(text, i, inst) < 0) return -1;
      if (2 * n + 2 > arr.length) {
        const bigger = new Float64Array(arr.length * 2);
        bigger.set(arr);
        arr = bigger;
        if (bids) this.depth.bids = bigger;
        else this.depth.asks = bigger;
      }
      arr[2 * n] = this.lp;
      arr[2 * n + 1] = this.lq;
      n++;
      i = cur.pos + 1;
      const c = text.charCodeAt(i);
      if (c === 93) {
        cur.pos = i - 1; // the last level's ']': the array's ']' follows
        return n;
      }
      if (c !== 44) return -1; // ','
      i++;
    }
  }

  /** `{"e":"trade","E":..,"s":"..","t":..,"p":"..","q":"..","m":true|false,..}`, fields in any order. */
  private fastTrade(inst: Instrument, text: string, end: number, recvTime: EpochMs): TradeEvent | null {
    const cur = this.cur;
    let e = false;
    let s = false;
    let E = NaN;
    let t = NaN;
    let p = NaN;
    let q = NaN;
    let m = -1;
    do {
      switch (scanKey(text, cur)) {
        case K_e:
          if (!text.startsWith('"trade"', cur.pos)) return null;
          cur.pos += 7;
          e = true;
          break;
        case K_E:
          E = scanInt(text, cur);
          break;
        case K_t:
          t = scanInt(text, cur);
          break;
        case K_p:
          p = scanQuotedDecimal(text, cur, inst.priceDecimals);
          break;
        case K_q:
          q = scanQuotedDecimal(text, cur, inst.qtyDecimals);
          break;
        case K_m:
          m = scanBool(text, cur);
          if (m < 0) return null;
          break;
        case K_s:
          if (!skipString(text, cur)) return null;
          s = true;
          break;
        case -1:
          return null;
        default:
          if (!skipScalar(text, cur)) return null;
      }
      if (!nextField(text, cur, end)) return null;
    } while (cur.pos >= 0);
    if (!e || !s || E !== E || t !== t || p !== p || q !== q || m < 0) return null;
    const tr = this.trade;
    tr.symbol = inst.symbol;
    tr.eventTime = E;
    tr.recvTime = recvTime;
    tr.tradeId = t;
    tr.priceUnits = p;
    tr.qtyUnits = q;
    tr.buyerIsMaker = m === 1;
    return tr;
  }

  /** `{"u":..,"s":"..","b":"..","B":"..","a":"..","A":".."}` (USD-M adds e, E, T), fields in any order. */
  private fastTicker(inst: Instrument, text: string, end: number, recvTime: EpochMs): BookTickerEvent | null {
    const cur = this.cur;
    let s = false;
    let u = NaN;
    let b = NaN;
    let B = NaN;
    let a = NaN;
    let A = NaN;
    do {
      switch (scanKey(text, cur)) {
        case K_u:
          u = scanInt(text, cur);
          break;
        case K_b:
          b = scanQuotedDecimal(text, cur, inst.priceDecimals);
          break;
        case K_B:
          B = scanQuotedDecimal(text, cur, inst.qtyDecimals);
          break;
        case K_a:
          a = scanQuotedDecimal(text, cur, inst.priceDecimals);
          break;
        case K_A:
          A = scanQuotedDecimal(text, cur, inst.qtyDecimals);
          break;
        case K_s:
          if (!skipString(text, cur)) return null;
          s = true;
          break;
        case -1:
          return null;
        default:
          if (!skipScalar(text, cur)) return null;
      }
      if (!nextField(text, cur, end)) return null;
    } while (cur.pos >= 0);
    if (!s || u !== u || b !== b || B !== B || a !== a || A !== A) return null;
    const tk = this.ticker;
    tk.symbol = inst.symbol;
    tk.recvTime = recvTime;
    tk.updateId = u;
    tk.bidPriceUnits = b;
    tk.bidQtyUnits = B;
    tk.askPriceUnits = a;
    tk.askQtyUnits = A;
    return tk;
  }

  /** Slow path: any valid JSON layout. */
  private slow(text: string, recvTime: EpochMs): DecodeOutcome {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.fail('json', 'not JSON');
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.fail('json', 'not an object');
    const obj = msg as Record<string, unknown>;
    if (typeof obj['stream'] !== 'string' || typeof obj['data'] !== 'object' || obj['data'] === null) {
      if ('result' in obj || 'id' in obj || 'code' in obj) {
        this.controlMessages++;
        return CONTROL;
      }
      if (obj['e'] === 'serverShutdown') return { ok: false, reason: 'shutdown', kind: 'serverShutdown' };
      return this.fail('envelope', 'no stream/data envelope');
    }
    const stream = obj['stream'];
    const route = this.routes.get(stream);
    if (route === undefined) return this.unknown(stream, text);
    const ev = this.decodeObject(route, obj['data'], recvTime);
    return typeof ev === 'string' ? this.fail(route.kind, ev) : { ok: true, event: ev };
  }

  /** Decodes a parsed payload; returns an error text on failure. */
  decodeObject(route: Route, data: unknown, recvTime: EpochMs): MarketEvent | string {
    const inst = route.inst;
    switch (route.kind) {
      case 'depth': {
        const r = depthSchema.safeParse(data);
        if (!r.success) return r.error.issues[0]?.message ?? 'invalid depth';
        const v = r.data;
        if (this.venue === 'usdm' && v.pu === undefined) return 'USD-M depth without pu';
        const bids = levelsToUnits(v.b, inst);
        const asks = levelsToUnits(v.a, inst);
        if (bids === null || asks === null) return 'price or quantity off the instrument grid';
        const d = this.depth;
        d.rest = null;
        d.symbol = inst.symbol;
        d.eventTime = v.E;
        d.recvTime = recvTime;
        d.firstId = v.U;
        d.lastId = v.u;
        d.prevLastId = v.pu ?? -1;
        d.bids = bids.length > d.bids.length ? new Float64Array(bids.length) : d.bids;
        d.asks = asks.length > d.asks.length ? new Float64Array(asks.length) : d.asks;
        d.bids.set(bids);
        d.asks.set(asks);
        d.bidCount = v.b.length;
        d.askCount = v.a.length;
        return d;
      }
      case 'trade': {
        const r = tradeSchema.safeParse(data);
        if (!r.success) return r.error.issues[0]?.message ?? 'invalid trade';
        const p = parseScaled(r.data.p, inst.priceDecimals);
        const q = parseScaled(r.data.q, inst.qtyDecimals);
        if (p !== p || q !== q) return 'price or quantity off the instrument grid';
        const tr = this.trade;
        tr.symbol = inst.symbol;
        tr.eventTime = r.data.E;
        tr.recvTime = recvTime;
        tr.tradeId = r.data.t;
        tr.priceUnits = p;
        tr.qtyUnits = q;
        tr.buyerIsMaker = r.data.m;
        return tr;
      }
      case 'bookTicker': {
        const r = bookTickerSchema.safeParse(data);
        if (!r.success) return r.error.issues[0]?.message ?? 'invalid bookTicker';
        const v = r.data;
        const vals = [
          parseScaled(v.b, inst.priceDecimals),
          parseScaled(v.B, inst.qtyDecimals),
          parseScaled(v.a, inst.priceDecimals),
          parseScaled(v.A, inst.qtyDecimals),
        ];
        if (vals.some((x) => x !== x)) return 'price or quantity off the instrument grid';
        const tk = this.ticker;
        tk.symbol = inst.symbol;
        tk.recvTime = recvTime;
        tk.updateId = v.u;
        tk.bidPriceUnits = vals[0]!;
        tk.bidQtyUnits = vals[1]!;
        tk.askPriceUnits = vals[2]!;
        tk.askQtyUnits = vals[3]!;
        return tk;
      }
      case 'markPrice': {
        const r = markPriceSchema.safeParse(data);
        if (!r.success) return r.error.issues[0]?.message ?? 'invalid markPriceUpdate';
        const v = r.data;
        const ev: MarkPriceEvent = {
          kind: 'markPrice', venue: 'usdm', symbol: inst.symbol, eventTime: v.E, recvTime,
          markPrice: Number(v.p), indexPrice: Number(v.i), fundingRate: v.r === '' ? 0 : Number(v.r), nextFundingTime: v.T,
        };
        return ev;
      }
      case 'forceOrder': {
        const r = forceOrderSchema.safeParse(data);
        if (!r.success) return r.error.issues[0]?.message ?? 'invalid forceOrder';
        const o = r.data.o;
        const ev: LiquidationEvent = {
          kind: 'liquidation', venue: 'usdm', symbol: inst.symbol, eventTime: r.data.E, recvTime,
          side: o.S, price: Number(o.ap && Number(o.ap) > 0 ? o.ap : o.p), qty: Number(o.z && Number(o.z) > 0 ? o.z : o.q),
        };
        return ev;
      }
    }
  }
}

/**
 * Where the level array starting at pos (after its '[') ends, without reading it: the index of its last
 * level's ']' (the array's ']' follows), or -1 when the text around does not look like it. Levels hold no
 * ':' and no '}', so the array ends before the next field's key (`],"a":`), found by the next ':', or, as the
 * data object's last field (no ':' after it), before the next '}' (`]]}`). Both searches are single characters (memchr-fast;
 * a search for "]]" restarts at every level's ']' and took 6-7 µs for a 6 KB side). A guess that is wrong for
 * some other layout fails the checks that the levels decoded tile the array exactly, at once or when the
 * deferred levels are decoded.
 */
function arrayClose(text: string, pos: number): number {
  const colon = text.indexOf(':', pos);
  if (colon >= 0) {
    // `]],"key":`: the key's opening quote, then ',' and the array's ']'
    if (text.charCodeAt(colon - 1) !== 34) return -1;
    let q = colon - 2;
    while (q > pos && text.charCodeAt(q) !== 34) q--;
    if (text.charCodeAt(q - 1) !== 44 || text.charCodeAt(q - 2) !== 93 || text.charCodeAt(q - 3) !== 93) return -1;
    return q - 3;
  }
  const brace = text.indexOf('}', pos);
  if (brace < 0 || text.charCodeAt(brace - 1) !== 93 || text.charCodeAt(brace - 2) !== 93) return -1;
  return brace - 2;
}

/** The '[' that opens the level whose ']' is at `close` (no earlier than `min`); -1 if none. A loop: `lastIndexOf` is a runtime call here, ~130 ns each. */
function levelStart(text: string, close: number, min: number): number {
  for (let i = close - 1; i >= min; i--) if (text.charCodeAt(i) === 91) return i;
  return -1;
}

/** A side's level array at least this long (characters) is decoded lazily (~70 levels; USD-M's p50 message is ~900) */
const LAZY_MIN_CHARS = 1536;
/** levels of each side decoded before the decision: the strategies and features read 10 at most */
export const LAZY_PREFIX = 32;

const PENDING = 1;
const ATTACHED = 2;
const DONE = 3;

/** Where one side's levels are in the message text. */
class SideSpan {
  /** deferred text [start .. last level's ']']; start -1: nothing deferred on this side */
  start = -1;
  last = 0;
  /** price of the best deferred level (NaN: none) */
  frontier = NaN;
  /** the whole array: after its '[' (-1: not seen) .. its last level's ']' */
  arr = -1;
  close = 0;

  clear(): void {
    this.start = -1;
    this.frontier = NaN;
    this.arr = -1;
  }

  set(start: number, last: number, frontier: number, arr: number, close: number): void {
    this.start = start;
    this.last = last;
    this.frontier = frontier;
    this.arr = arr;
    this.close = close;
  }
}

/**
 * The deferred levels of the decoder's current depth message (one object, reused): where they are in its
 * text, each side's frontier, and what has become of them.
 */
class Deferred implements DeferredLevels {
  text = '';
  inst: Instrument | null = null;
  recvTime = 0;
  state = DONE;
  ok = true;
  private book: { settle(): void } | null = null;
  readonly b = new SideSpan();
  readonly a = new SideSpan();

  constructor(private readonly dec: BinanceDecoder) {}

  get bidFrontier(): number {
    return this.b.frontier;
  }

  get askFrontier(): number {
    return this.a.frontier;
  }

  reset(text: string, inst: Instrument, recvTime: EpochMs): void {
    this.text = text;
    this.inst = inst;
    this.recvTime = recvTime;
    this.state = DONE;
    this.ok = true;
    this.book = null;
    this.b.clear();
    this.a.clear();
  }

  attach(book: { settle(): void }): void {
    if (this.state === PENDING) {
      this.state = ATTACHED;
      this.book = book;
    }
  }

  detach(): void {
    if (this.state === ATTACHED) {
      this.state = PENDING;
      this.book = null;
    }
  }

  applyTo(target: LevelTarget): void {
    if (this.state !== ATTACHED) return;
    this.state = DONE;
    this.book = null;
    this.conclude(this.walk(target), target);
  }

  materialize(): boolean {
    if (this.state === DONE) return this.ok;
    this.state = DONE;
    this.book = null;
    this.ok = this.decodeAll();
    return this.ok;
  }

  finish(): boolean {
    if (this.state === ATTACHED) this.book!.settle();
    else if (this.state === PENDING) {
      this.state = DONE;
      this.conclude(this.walk(null), null);
    }
    return this.ok;
  }

  /** Decodes (and applies, with a target) the deferred levels of both sides: 1 done, 0 out of price order, -1 not levels. */
  private walk(target: LevelTarget | null): number {
    const { dec, text, b, a } = this;
    const inst = this.inst!;
    let r = 1;
    if (b.start >= 0) r = dec.deferredLevels(text, b.start, b.last, inst, 1, b.frontier, target && target.bids);
    if (r === 1 && a.start >= 0) r = dec.deferredLevels(text, a.start, a.last, inst, -1, a.frontier, target && target.asks);
    return r;
  }

  /**
   * After `walk`: when the deferred levels could not be taken as they were (out of price order, or not what
   * the fast scan reads), the whole message's levels, decoded again in message order, and applied over what
   * is there when there is a target. Quantities are absolute, so the book ends as if the message had been
   * applied at once; a malformed message leaves it to the processor to resync.
   */
  private conclude(r: number, target: LevelTarget | null): void {
    if (r === 1) {
      this.ok = true;
      return;
    }
    if (r === 0) this.outOfOrder();
    this.ok = this.decodeAllChecked(r === 0);
    if (!this.ok || target === null) return;
    const d = this.dec.depthDiff;
    for (let i = 0; i < d.bidCount; i++) target.bids.set(d.bids[2 * i]!, d.bids[2 * i + 1]!);
    for (let i = 0; i < d.askCount; i++) target.asks.set(d.asks[2 * i]!, d.asks[2 * i + 1]!);
  }

  private decodeAll(): boolean {
    const { b, a } = this;
    return this.dec.decodeAllLevels(this.text, this.inst!, b.arr, b.close, a.arr, a.close, this.recvTime);
  }

  /**
   * `decodeAll`, and, when the deferred levels were not all read (the fast scan stopped at one it does not
   * take), the order check they would have had: a deferred side holds exactly its prefix's levels above
   * its frontier (the prefix is strictly better than the frontier, and no deferred level may be).
   */
  private decodeAllChecked(known: boolean): boolean {
    if (!this.decodeAll()) return false;
    if (known) return true;
    const d = this.dec.depthDiff;
    const above = (arr: Float64Array, n: number, frontier: number, dir: number): number => {
      let c = 0;
      for (let i = 0; i < n; i++) if (arr[2 * i]! * dir > frontier * dir) c++;
      return c;
    };
    if ((this.b.start >= 0 && above(d.bids, d.bidCount, this.b.frontier, 1) !== LAZY_PREFIX) || (this.a.start >= 0 && above(d.asks, d.askCount, this.a.frontier, -1) !== LAZY_PREFIX)) this.outOfOrder();
    return true;
  }

  private outOfOrder(): void {
    // the levels read before the rest may not have been final: no more lazy decoding on this decoder
    this.dec.depthOutOfOrder++;
    this.dec.lazyDepth = false;
  }
}

function levelsToUnits(levels: readonly (readonly [string, string])[], inst: Instrument): Float64Array | null {
  const out = new Float64Array(levels.length * 2);
  for (let i = 0; i < levels.length; i++) {
    const [p, q] = levels[i]!;
    const pu = parseScaled(p, inst.priceDecimals);
    const qu = parseScaled(q, inst.qtyDecimals);
    if (pu !== pu || qu !== qu) return null;
    out[2 * i] = pu;
    out[2 * i + 1] = qu;
  }
  return out;
}

/** Decodes a REST depth snapshot (spot or USD-M); an error text on failure. */
export function decodeSnapshot(
  venue: Venue,
  inst: Instrument,
  body: unknown,
  recvTime: EpochMs,
): DepthSnapshot | string {
  const r = snapshotSchema.safeParse(body);
  if (!r.success) return `depth snapshot: ${r.error.issues[0]?.message ?? 'invalid'}`;
  const bids = levelsToUnits(r.data.bids, inst);
  const asks = levelsToUnits(r.data.asks, inst);
  if (bids === null || asks === null) return 'depth snapshot: price or quantity off the instrument grid';
  return { kind: 'snapshot', venue, symbol: inst.symbol, lastUpdateId: r.data.lastUpdateId, recvTime, bids, asks };
}
