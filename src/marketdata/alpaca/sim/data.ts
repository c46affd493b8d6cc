/**
 * Market-data REST bars of the simulator (warm-up history): only bars completed before the replay
 * cursor are served.
 * - `GET /v2/stocks/{symbol}/bars` -> `{"bars":[…],"symbol":"TSLA","next_page_token":…}`
 * - `GET /v2/stocks/bars?symbols=A,B` and `GET /v1beta3/crypto/us/bars?symbols=DOGE/USD` ->
 *   `{"bars":{"A":[…]},"next_page_token":…}`
 * Query: `timeframe` (required: `{1-59}Min`|`{1-23}Hour`|`1Day`; also `T`/`H`/`D` forms), `start`, `end`
 * (RFC 3339 or YYYY-MM-DD, inclusive; default all history), `limit` (1..10000, default 1000, counted over
 * all symbols), `page_token`, `sort` (`asc` only). Bar: `{t,o,h,l,c,v,n,vw}`. Aggregated bars are
 * aligned to UTC multiples of the timeframe (days: the US/Eastern date for stocks, UTC for crypto).
 */
import { easternOffsetMinutes, type Bar } from './bars.js';
import type { Market } from './market.js';
import { barVwap, TICKS_PER_BAR } from './synth.js';
import type { Reply } from './trading.js';

interface OutBar {
  t: string;
  o: number;
  h: number;
  l: number;
  c: number;
  v: number;
  n: number;
  vw: number;
}

const bad = (message: string): Reply => ({ status: 400, body: { code: 40010001, message } });

function parseTimeframe(tf: string | null): { ms: number; day: boolean } | undefined {
  const m = /^(\d+)(Min|T|Hour|H|Day|D)$/.exec(tf ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[2] === 'Min' || m[2] === 'T') return n >= 1 && n <= 59 ? { ms: n * 60_000, day: false } : undefined;
  if (m[2] === 'Hour' || m[2] === 'H') return n >= 1 && n <= 23 ? { ms: n * 3_600_000, day: false } : undefined;
  return n === 1 ? { ms: 86_400_000, day: true } : undefined;
}

function aggregate(bars: Bar[], tf: { ms: number; day: boolean }, stock: boolean): OutBar[] {
  const out: OutBar[] = [];
  let cur: (OutBar & { key: number; pv: number; ts: number }) | undefined;
  const flush = (): void => {
    if (!cur) return;
    out.push({ t: new Date(cur.ts).toISOString().replace('.000Z', 'Z'), o: cur.o, h: cur.h, l: cur.l, c: cur.c, v: cur.v, n: cur.n, vw: cur.v > 0 ? Number((cur.pv / cur.v).toFixed(6)) : cur.c });
  };
  for (const b of bars) {
    let key: number;
    let ts: number;
    if (tf.day) {
      const local = b.t + (stock ? easternOffsetMinutes(b.t) * 60_000 : 0);
      key = Math.floor(local / 86_400_000);
      const midnightLocal = key * 86_400_000;
      ts = stock ? midnightLocal - easternOffsetMinutes(midnightLocal + 5 * 3_600_000) * 60_000 : midnightLocal;
    } else {
      key = Math.floor(b.t / tf.ms);
      ts = key * tf.ms;
    }
    if (!cur || cur.key !== key) {
      flush();
      cur = { key, ts, t: '', o: b.o, h: b.h, l: b.l, c: b.c, v: 0, n: 0, vw: 0, pv: 0 };
    }
    cur.h = Math.max(cur.h, b.h);
    cur.l = Math.min(cur.l, b.l);
    cur.c = b.c;
    cur.v += b.v;
    cur.n += TICKS_PER_BAR;
    cur.pv += barVwap(b) * b.v;
  }
  flush();
  return out;
}

function parseBound(v: string | null): number | null | undefined {
  if (v === null) return null;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  return Number.isFinite(t) ? t : undefined;
}

/** Token: base64url of `symbol\nt` = continue at this symbol's bar with start time ≥ t. */
function encodeToken(symbol: string, t: string): string {
  return Buffer.from(`${symbol}\n${t}`).toString('base64url');
}

function barsOf(market: Market, symbols: string[], q: URLSearchParams): { reply?: Reply; bars?: Map<string, OutBar[]>; next?: string | null } {
  const tf = parseTimeframe(q.get('timeframe'));
  if (!tf) return { reply: bad('invalid timeframe') };
  const start = parseBound(q.get('start'));
  const end = parseBound(q.get('end'));
  if (start === undefined || end === undefined) return { reply: bad('invalid start or end') };
  const limit = q.get('limit') === null ? 1000 : Number(q.get('limit'));
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) return { reply: bad('invalid limit') };
  if ((q.get('sort') ?? 'asc') !== 'asc') return { reply: bad('only sort=asc is supported') };
  let from: { symbol: string; t: string } | undefined;
  const token = q.get('page_token');
  if (token) {
    const parts = Buffer.from(token, 'base64url').toString().split('\n');
    if (parts.length !== 2) return { reply: bad('invalid page_token') };
    from = { symbol: parts[0]!, t: parts[1]! };
  }
  const sorted = [...new Set(symbols)].sort();
  const out = new Map<string, OutBar[]>();
  let left = limit;
  let next: string | null = null;
  for (const s of sorted) {
    if (from && s < from.symbol) continue;
    const info = market.info(s);
    if (!info) continue;
    const all = aggregate(
      market.history(s).filter((b) => (start === null || b.t >= start) && (end === null || b.t <= end)),
      tf,
      info.assetClass === 'us_equity',
    ).filter((b) => !from || s !== from.symbol || b.t >= from.t);
    if (all.length === 0) continue;
    if (left === 0) {
      next = encodeToken(s, all[0]!.t);
      break;
    }
    const take = all.slice(0, left);
    out.set(s, take);
    left -= take.length;
    if (take.length < all.length) {
      next = encodeToken(s, all[take.length]!.t);
      break;
    }
  }
  return { bars: out, next };
}

/** Routes a market-data REST request; undefined when no route matches. */
export function dataRoute(market: Market, method: string, path: string, q: URLSearchParams): Reply | undefined {
  if (method !== 'GET') return undefined;
  const single = /^\/v2\/stocks\/([^/]+)\/bars$/.exec(path);
  if (single && single[1] !== 'bars') {
    const symbol = decodeURIComponent(single[1]!);
    const r = barsOf(market, [symbol], q);
    if (r.reply) return r.reply;
    return { status: 200, body: { bars: r.bars!.get(symbol) ?? [], symbol, next_page_token: r.next } };
  }
  const crypto = path === '/v1beta3/crypto/us/bars';
  if (path === '/v2/stocks/bars' || crypto) {
    const symbols = (q.get('symbols') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (symbols.length === 0) return bad('symbols is required');
    if (crypto && symbols.some((s) => !/^[A-Z0-9]+\/[A-Z0-9]+$/.test(s))) return bad('invalid symbol');
    const r = barsOf(market, symbols, q);
    if (r.reply) return r.reply;
    return { status: 200, body: { bars: Object.fromEntries(r.bars!), next_page_token: r.next } };
  }
  return undefined;
}
