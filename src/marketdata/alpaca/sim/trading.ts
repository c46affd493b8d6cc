/**
 * Trading REST routes of the simulator (paths under /v2): orders, account, positions, assets (assets.ts),
 * clock, calendar. Pure request -> reply (plus trade_updates events); the server does HTTP, auth, rate limits, faults.
 */
import { assetsRoute, type AssetSource } from './assets.js';
import { formatEastern, easternOffsetMinutes } from './bars.js';
import { orderJson, type Broker, type SimOrder, type TradeUpdate } from './broker.js';
import { fmtDec, parseDec } from './fixed.js';

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteResult {
  reply: Reply;
  events: TradeUpdate[];
}

export interface TradingContext {
  broker: Broker;
  /** replay time of the equities (for clock/calendar), epoch ms */
  marketTime(): number;
  /** first and last replayed equities day, YYYY-MM-DD */
  dataDays(): [string, string] | undefined;
  /** the data is shifted to the wall clock: the clock reports the market open */
  alwaysOpen?: boolean;
  /** the replayed symbols, for /v2/assets (none when absent) */
  assets?: () => readonly AssetSource[];
}

const err = (status: number, code: number, message: string): RouteResult => ({ reply: { status, body: { code, message } }, events: [] });
const okr = (body: unknown, events: TradeUpdate[] = [], status = 200): RouteResult => ({ reply: { status, body }, events });

function parseTime(v: string | null): number | undefined | null {
  if (v === null || v === '') return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

function listOrders(broker: Broker, q: URLSearchParams): RouteResult {
  const status = q.get('status') ?? 'open';
  if (!['open', 'closed', 'all'].includes(status)) return err(422, 40010001, 'invalid status');
  const limit = q.get('limit') === null ? 50 : Number(q.get('limit'));
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) return err(422, 40010001, 'limit must be 1..500');
  const direction = q.get('direction') ?? 'desc';
  if (direction !== 'asc' && direction !== 'desc') return err(422, 40010001, 'invalid direction');
  const after = parseTime(q.get('after'));
  const until = parseTime(q.get('until'));
  if (after === undefined || until === undefined) return err(422, 40010001, 'invalid after/until');
  const symbols = q.get('symbols')?.split(',').map((s) => s.trim()).filter(Boolean);
  const wanted = symbols ? new Set(symbols.flatMap((s) => [s, s.replace('/', '')])) : undefined;
  const side = q.get('side');
  let orders = broker.all().filter((o) => {
    const open = broker.isOpen(o);
    if (status === 'open' && !open) return false;
    if (status === 'closed' && open) return false;
    if (after !== null && o.createdAt <= after) return false;
    if (until !== null && o.createdAt >= until) return false;
    if (wanted && !wanted.has(o.symbol) && !wanted.has(o.symbol.replace('/', ''))) return false;
    if (side && o.side !== side) return false;
    return true;
  });
  orders.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
  if (direction === 'desc') orders.reverse();
  orders = orders.slice(0, limit);
  return okr(orders.map(orderJson));
}

function ymd(ms: number): string {
  return new Date(ms + easternOffsetMinutes(ms) * 60_000).toISOString().slice(0, 10);
}

/** 09:30 or 16:00 Eastern of a YYYY-MM-DD as epoch ms. */
function eastern(day: string, hh: number, mm: number): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const asUtc = Date.UTC(y, m - 1, d, hh, mm);
  return asUtc - easternOffsetMinutes(asUtc + 300 * 60_000) * 60_000;
}

function isWeekday(day: string): boolean {
  const wd = new Date(`${day}T12:00:00Z`).getUTCDay();
  return wd !== 0 && wd !== 6;
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** GET /v2/clock: the equities replay time; sessions are weekdays 09:30–16:00 ET (no holiday table). */
export function clockJson(now: number, alwaysOpen = false): Record<string, unknown> {
  const today = ymd(now);
  const open = eastern(today, 9, 30);
  const close = eastern(today, 16, 0);
  const isOpen = alwaysOpen || (isWeekday(today) && now >= open && now < close);
  let d = today;
  if (!isWeekday(d) || now >= open) do d = nextDay(d); while (!isWeekday(d));
  let c = today;
  if (!isWeekday(c) || now >= close) do c = nextDay(c); while (!isWeekday(c));
  return { timestamp: formatEastern(now), is_open: isOpen, next_open: formatEastern(eastern(d, 9, 30)), next_close: formatEastern(eastern(c, 16, 0)) };
}

function calendar(ctx: TradingContext, q: URLSearchParams): RouteResult {
  const days = ctx.dataDays();
  const start = q.get('start') ?? days?.[0] ?? ymd(ctx.marketTime());
  const end = q.get('end') ?? days?.[1] ?? ymd(ctx.marketTime());
  const re = /^\d{4}-\d{2}-\d{2}$/;
  if (!re.test(start.slice(0, 10)) || !re.test(end.slice(0, 10))) return err(422, 40010001, 'invalid start/end');
  const out: Record<string, string>[] = [];
  for (let d = start.slice(0, 10); d <= end.slice(0, 10) && out.length < 10_000; d = nextDay(d)) {
    // data shifted to the wall clock: the market never closes (every day 00:00-23:59 ET), as the clock says
    if (ctx.alwaysOpen) out.push({ date: d, open: '00:00', close: '23:59', session_open: '0000', session_close: '2359', settlement_date: d });
    else if (isWeekday(d)) out.push({ date: d, open: '09:30', close: '16:00', session_open: '0400', session_close: '2000', settlement_date: d });
  }
  return okr(out);
}

function closePosition(broker: Broker, ps: string, q: URLSearchParams): RouteResult {
  const sym = broker.orderSymbolOfPosition(ps);
  if (sym === undefined) return err(404, 40410000, 'position does not exist');
  const held = broker.positionQty(sym);
  let qty = held;
  const qq = q.get('qty');
  const pct = q.get('percentage');
  if (qq !== null) {
    const v = parseDec(qq);
    if (v === undefined || v === 0n) return err(422, 40010001, 'invalid qty');
    qty = v;
  } else if (pct !== null) {
    const p = parseDec(pct, 9);
    if (p === undefined || p === 0n || p > 100_000_000_000n) return err(422, 40010001, 'percentage must be 0..100');
    qty = (held * p) / 100_000_000_000n;
  }
  const crypto = sym.includes('/');
  const res = broker.submit({ symbol: sym, qty: fmtDec(qty), side: 'sell', type: 'market', time_in_force: crypto ? 'gtc' : 'day' }, { closing: true });
  return res.ok ? okr(orderJson(res.value), res.events) : { reply: { status: res.error.status, body: res.error.body }, events: [] };
}

/** Routes one trading request; undefined when no route matches. */
export function tradingRoute(ctx: TradingContext, method: string, path: string, q: URLSearchParams, body: unknown): RouteResult | undefined {
  const b = ctx.broker;
  const outcome = (r: ReturnType<Broker['submit']>, status = 200): RouteResult =>
    r.ok ? okr(orderJson(r.value), r.events, status) : { reply: { status: r.error.status, body: r.error.body }, events: [] };
  if (path === '/v2/orders') {
    if (method === 'POST') return outcome(b.submit(body));
    if (method === 'GET') return listOrders(b, q);
    if (method === 'DELETE') {
      const events: TradeUpdate[] = [];
      const res = b
        .all()
        .filter((o) => b.isOpen(o))
        .map((o: SimOrder) => {
          const r = b.cancel(o.id);
          if (r.ok) events.push(...r.events);
          return r.ok ? { id: o.id, status: 200, body: orderJson(o) } : { id: o.id, status: r.error.status, body: r.error.body };
        });
      return okr(res, events, 207);
    }
    return undefined;
  }
  if (path === '/v2/orders:by_client_order_id' && method === 'GET') {
    const o = b.getByClientId(q.get('client_order_id') ?? '');
    return o ? okr(orderJson(o)) : err(404, 40410000, 'order not found');
  }
  const om = /^\/v2\/orders\/([^/]+)$/.exec(path);
  if (om) {
    const id = decodeURIComponent(om[1]!);
    if (method === 'GET') {
      const o = b.get(id);
      return o ? okr(orderJson(o)) : err(404, 40410000, 'order not found');
    }
    if (method === 'DELETE') {
      const r = b.cancel(id);
      return r.ok ? { reply: { status: 204 }, events: r.events } : { reply: { status: r.error.status, body: r.error.body }, events: [] };
    }
    if (method === 'PATCH') return outcome(b.replace(id, body));
    return undefined;
  }
  if (path === '/v2/account' && method === 'GET') return okr(b.accountJson());
  if (path === '/v2/positions') {
    if (method === 'GET') return okr(b.positionList());
    if (method === 'DELETE') {
      const events: TradeUpdate[] = [];
      if (q.get('cancel_orders') === 'true') for (const o of b.all()) if (b.isOpen(o)) events.push(...(b.cancel(o.id) as { events: TradeUpdate[] }).events);
      const res = b.positionList().map((p) => {
        const r = closePosition(b, p.symbol as string, new URLSearchParams());
        events.push(...r.events);
        return { symbol: p.symbol, status: r.reply.status, body: r.reply.body };
      });
      return okr(res, events, 207);
    }
    return undefined;
  }
  const pm = /^\/v2\/positions\/([^/]+)$/.exec(path);
  if (pm) {
    const ps = decodeURIComponent(pm[1]!);
    if (method === 'GET') {
      const p = b.positionJson(ps);
      return p ? okr(p) : err(404, 40410000, 'position does not exist');
    }
    if (method === 'DELETE') return closePosition(b, ps, q);
    return undefined;
  }
  if (path === '/v2/assets' || path.startsWith('/v2/assets/')) {
    const a = assetsRoute(ctx.assets?.() ?? [], method, path, q);
    return a ? { reply: a, events: [] } : undefined;
  }
  if (path === '/v2/clock' && method === 'GET') return okr(clockJson(ctx.marketTime(), ctx.alwaysOpen));
  if (path === '/v2/calendar' && method === 'GET') return calendar(ctx, q);
  return undefined;
}
