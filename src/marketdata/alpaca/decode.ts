import { z } from 'zod';
import { type AlpacaMarketEvent, type AssetClass, parseRfc3339 } from './events.js';

/**
 * Pure decoder of Alpaca Market Data WebSocket frames (stocks /v2/{feed}, crypto /v1beta3/crypto/us).
 * Every server frame is a JSON array of messages keyed by `T`. Control messages (success,
 * subscription, error) come back as values; data messages become venue-neutral events; anything
 * that does not validate is counted by reason and skipped (network input never throws).
 */

const finite = z.number().finite();
const time = z.string().transform((s, ctx) => {
  const t = parseRfc3339(s);
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: 'custom', message: 'bad timestamp' });
    return z.NEVER;
  }
  return t;
});
const symbol = z.string().min(1).max(32);

const tradeMsg = z.object({ T: z.literal('t'), S: symbol, p: finite, s: finite, t: time, i: finite.optional(), tks: z.string().optional() });
const quoteMsg = z.object({ T: z.literal('q'), S: symbol, bp: finite, bs: finite, ap: finite, as: finite, t: time });
const barMsg = z.object({
  T: z.enum(['b', 'u']),
  S: symbol,
  o: finite,
  h: finite,
  l: finite,
  c: finite,
  v: finite,
  t: time,
  n: finite.optional(),
  vw: finite.optional(),
});
const successMsg = z.object({ T: z.literal('success'), msg: z.string() });
const errorMsg = z.object({ T: z.literal('error'), code: z.number().int(), msg: z.string().default('') });
const channelList = z.array(z.string()).optional();
const subscriptionMsg = z.object({ T: z.literal('subscription'), trades: channelList, quotes: channelList, bars: channelList, updatedBars: channelList });

export type Control =
  | { type: 'success'; msg: string }
  | { type: 'error'; code: number; msg: string }
  | { type: 'subscription'; trades: string[]; quotes: string[]; bars: string[] };

export interface DecodedFrame {
  events: AlpacaMarketEvent[];
  controls: Control[];
}

/** Message types we do not subscribe to or use (statuses, lulds, corrections, …): skipped, not malformed. */
const IGNORED_TYPES = new Set(['d', 's', 'l', 'c', 'x', 'i', 'o', 'n']);

export class MarketDataDecoder {
  /** malformed input by reason: not JSON, not an array, a message that failed validation, unknown T */
  readonly malformed: Record<string, number> = {};
  ignored = 0;

  constructor(readonly assetClass: AssetClass) {}

  private bad(reason: string): void {
    this.malformed[reason] = (this.malformed[reason] ?? 0) + 1;
  }

  malformedTotal(): number {
    let n = 0;
    for (const v of Object.values(this.malformed)) n += v;
    return n;
  }

  decode(text: string, recvTime: number): DecodedFrame {
    const out: DecodedFrame = { events: [], controls: [] };
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.bad('json');
      return out;
    }
    if (!Array.isArray(raw)) {
      this.bad('not_array');
      return out;
    }
    for (const m of raw) this.decodeOne(m, recvTime, out);
    return out;
  }

  private decodeOne(m: unknown, recvTime: number, out: DecodedFrame): void {
    if (!m || typeof m !== 'object' || typeof (m as { T?: unknown }).T !== 'string') {
      this.bad('no_type');
      return;
    }
    const T = (m as { T: string }).T;
    const ac = this.assetClass;
    switch (T) {
      case 't': {
        const r = tradeMsg.safeParse(m);
        if (!r.success) return this.bad('trade');
        const d = r.data;
        const takerSide = d.tks === 'B' ? 'buy' : d.tks === 'S' ? 'sell' : null;
        out.events.push({ kind: 'print', assetClass: ac, symbol: d.S, time: d.t, recvTime, tradeId: d.i ?? null, price: d.p, size: d.s, takerSide });
        return;
      }
      case 'q': {
        const r = quoteMsg.safeParse(m);
        if (!r.success) return this.bad('quote');
        const d = r.data;
        out.events.push({ kind: 'quote', assetClass: ac, symbol: d.S, time: d.t, recvTime, bidPrice: d.bp, bidSize: d.bs, askPrice: d.ap, askSize: d.as });
        return;
      }
      case 'b':
      case 'u': {
        const r = barMsg.safeParse(m);
        if (!r.success) return this.bad('bar');
        out.events.push(barEvent(r.data, ac, recvTime, T === 'u'));
        return;
      }
      case 'success': {
        const r = successMsg.safeParse(m);
        if (!r.success) return this.bad('success');
        out.controls.push({ type: 'success', msg: r.data.msg });
        return;
      }
      case 'error': {
        const r = errorMsg.safeParse(m);
        if (!r.success) return this.bad('error');
        out.controls.push({ type: 'error', code: r.data.code, msg: r.data.msg });
        return;
      }
      case 'subscription': {
        const r = subscriptionMsg.safeParse(m);
        if (!r.success) return this.bad('subscription');
        out.controls.push({ type: 'subscription', trades: r.data.trades ?? [], quotes: r.data.quotes ?? [], bars: r.data.bars ?? [] });
        return;
      }
      default:
        if (IGNORED_TYPES.has(T)) this.ignored++;
        else this.bad('unknown_type');
    }
  }
}

/** The REST bar object (`t,o,h,l,c,v,n,vw`) — same keys as the stream's. */
export const restBar = z.object({ t: time, o: finite, h: finite, l: finite, c: finite, v: finite, n: finite.optional(), vw: finite.optional() });

export function barEvent(
  d: { S?: string; t: number; o: number; h: number; l: number; c: number; v: number; n?: number | undefined; vw?: number | undefined },
  assetClass: AssetClass,
  recvTime: number,
  updated: boolean,
  symbolOverride?: string,
): AlpacaMarketEvent {
  return {
    kind: 'bar',
    assetClass,
    symbol: symbolOverride ?? d.S ?? '',
    start: d.t,
    open: d.o,
    high: d.h,
    low: d.l,
    close: d.c,
    volume: d.v,
    trades: d.n ?? null,
    vwap: d.vw ?? null,
    updated,
    recvTime,
  };
}

/** What an `error` message means for the connection (the doc's table of codes). */
export type ErrorAction = 'fatal' | 'reconnect' | 'report';

export function classifyStreamError(code: number): ErrorAction {
  switch (code) {
    case 402: // auth failed: wrong keys; retrying cannot help
    case 405: // symbol limit exceeded: the configuration asks for too much
    case 406: // connection limit exceeded: another connection uses these keys
    case 408: // v2 not enabled (older accounts)
    case 409: // insufficient subscription (e.g. sip without a plan)
    case 410: // invalid subscribe action for this feed
      return 'fatal';
    case 401: // not authenticated (we spoke before auth completed)
    case 404: // auth timeout
    case 407: // slow client
    case 500: // internal error
      return 'reconnect';
    default: // 400 invalid syntax, 403 already authenticated, unknown codes
      return 'report';
  }
}

export const STREAM_ERROR_TEXT: Record<number, string> = {
  400: 'invalid syntax',
  401: 'not authenticated',
  402: 'auth failed (check APCA_API_KEY_ID / APCA_API_SECRET_KEY and the environment)',
  403: 'already authenticated',
  404: 'auth timeout',
  405: 'symbol limit exceeded (reduce the symbols)',
  406: 'connection limit exceeded (another connection uses these keys)',
  407: 'slow client',
  408: 'v2 not enabled',
  409: 'insufficient subscription (the feed needs a plan, try ALPACA_FEED=iex)',
  410: 'invalid subscribe action for this feed',
  500: 'internal error',
};
