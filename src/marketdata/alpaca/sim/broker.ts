/**
 * The simulated paper account: orders (Alpaca's order object and lifecycle), matching against the
 * replayed trades, positions and cash, all exact (fixed.ts). Synchronous: requests and ticks in,
 * results and trade_updates events out; the server does the I/O.
 *
 * Fill rules (documented in the README):
 * - market: fills at the last synthesized trade price when accepted (and later parts at later ticks);
 * - limit: fills at once at the last trade price if marketable on arrival (buy: price ≤ limit, sell: ≥);
 *   otherwise rests and fills at its limit price on the first later trade that reaches it;
 * - stop / stop_limit: trigger when a trade reaches the stop (buy ≥ stop, sell ≤ stop), then act as
 *   market / limit;
 * - partial fills: with `partialFills = k` every fill is split into k parts (whole shares when the qty is
 *   whole), one part per tick while the price allows; `fok` always fills in one part or cancels;
 * - `ioc` fills one part at once (if marketable) and cancels the rest; `day` orders expire when the
 *   equities replay reaches a new trading day; no shorting (sells need the position).
 * Order rules (the asset objects of assets.ts say the same): stock limit/stop prices at most 2 decimals
 * (4 below $1), else 422 "sub-penny increment"; a crypto `qty` must be ≥ min_order_size and a multiple of
 * min_trade_increment (both 1 coin), else 422 (notional orders and position closes are exempt).
 * Account: multiplier 1, buying_power = cash − Σ open buys' remaining × (limit | stop | last price).
 */
import { randomUUID } from 'node:crypto';
import { CRYPTO_INCREMENT_Q, CRYPTO_MIN_ORDER_Q, CRYPTO_MIN_ORDER_SIZE, CRYPTO_MIN_TRADE_INCREMENT } from './assets.js';
import type { AssetClass } from './bars.js';
import { divPrice, fmtDec, M, mul, ONE_Q, parseDec, Q, toQ } from './fixed.js';
import { type ApiError, assetId, fail, OPEN, orderJson, positionSymbol, TIFS, TYPES, type OrderType, type Outcome, type SimOrder, type Tif, type TradeEvent, type TradeUpdate } from './order.js';

export * from './order.js';

interface Position {
  symbol: string;
  assetClass: AssetClass;
  qty: bigint;
  cost: bigint;
}

export interface BrokerMarket {
  /** last trade price on the 1e-9 grid, undefined if the symbol is unknown */
  price(symbol: string): bigint | undefined;
  assetClass(symbol: string): AssetClass | undefined;
}

export interface BrokerOptions {
  cash?: string;
  partialFills?: number;
  now?: () => number;
  /** emit `pending_new` before `new` */
  pendingNew?: boolean;
}

export class Broker {
  private readonly orders = new Map<string, SimOrder>();
  private readonly byClient = new Map<string, SimOrder>();
  private readonly positions = new Map<string, Position>();
  private cash: bigint;
  private readonly initialCash: bigint;
  private readonly k: number;
  private readonly now: () => number;
  private seq = 0;
  /** faults: reject the next n accepted orders (200, then a `rejected` event) */
  rejectNext = 0;

  constructor(
    private readonly market: BrokerMarket,
    private readonly opts: BrokerOptions = {},
  ) {
    const cash = parseDec(opts.cash ?? '100000', M);
    if (cash === undefined) throw new Error(`invalid cash ${opts.cash}`);
    this.cash = cash;
    this.initialCash = cash;
    this.k = Math.max(1, Math.floor(opts.partialFills ?? 1));
    this.now = opts.now ?? Date.now;
  }

  get(id: string): SimOrder | undefined {
    return this.orders.get(id);
  }

  getByClientId(cid: string): SimOrder | undefined {
    return this.byClient.get(cid);
  }

  all(): SimOrder[] {
    return [...this.orders.values()];
  }

  isOpen(o: SimOrder): boolean {
    return OPEN.has(o.status);
  }

  private remaining(o: SimOrder): bigint {
    return o.total - o.filledQty;
  }

  private reservedBuys(): bigint {
    let r = 0n;
    for (const o of this.orders.values()) {
      if (o.side !== 'buy' || !OPEN.has(o.status)) continue;
      const px = o.limit ?? o.stop ?? this.market.price(o.symbol) ?? 0n;
      r += mul(this.remaining(o), px);
    }
    return r;
  }

  private reservedSells(symbol: string): bigint {
    let r = 0n;
    for (const o of this.orders.values()) if (o.side === 'sell' && o.symbol === symbol && OPEN.has(o.status)) r += this.remaining(o);
    return r;
  }

  buyingPower(): bigint {
    const bp = this.cash - this.reservedBuys();
    return bp < 0n ? 0n : bp;
  }

  positionQty(symbol: string): bigint {
    return this.positions.get(positionSymbol(symbol))?.qty ?? 0n;
  }

  /** POST /v2/orders (`closing`: a position close, DELETE /v2/positions, exempt from the crypto qty rule) */
  submit(body: unknown, opts: { closing?: boolean } = {}): Outcome<SimOrder> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(422, 40010000, 'request body format is invalid');
    const b = body as Record<string, unknown>;
    const symbol = this.normalizeSymbol(b.symbol);
    if (typeof b.symbol !== 'string' || b.symbol === '') return fail(422, 40010001, 'symbol is required');
    if (symbol === undefined) return fail(422, 40010001, `asset "${b.symbol}" not found`);
    const assetClass = this.market.assetClass(symbol)!;
    if (b.side !== 'buy' && b.side !== 'sell') return fail(422, 40010001, 'invalid side');
    const type = b.type ?? 'market';
    if (typeof type !== 'string' || !TYPES.has(type)) return fail(422, 40010001, `invalid order type ${String(type)}`);
    if (typeof b.time_in_force !== 'string' || !TIFS.has(b.time_in_force)) return fail(422, 40010001, 'invalid time_in_force');
    const tif = b.time_in_force as Tif;
    if (assetClass === 'crypto' && tif !== 'gtc' && tif !== 'ioc') return fail(422, 40010001, 'invalid crypto time_in_force');
    if ((b.qty === undefined || b.qty === null) === (b.notional === undefined || b.notional === null)) return fail(422, 40010001, 'qty or notional is required, not both');
    const qty = b.qty == null ? null : parseDec(b.qty);
    const notional = b.notional == null ? null : parseDec(b.notional, 2);
    if (qty === undefined || qty === 0n) return fail(422, 40010001, 'qty must be > 0');
    if (notional === undefined || notional === 0n) return fail(422, 40010001, 'notional must be > 0 with at most 2 decimals');
    if (notional !== null && type !== 'market') return fail(422, 40010001, 'notional orders must be market orders');
    if (notional !== null && assetClass === 'us_equity' && tif !== 'day') return fail(422, 40010001, 'fractional orders must be DAY orders');
    if (qty !== null && assetClass === 'us_equity' && qty % ONE_Q !== 0n && (type !== 'market' || tif !== 'day'))
      return fail(422, 40010001, 'fractional orders must be market DAY orders');
    const limit = b.limit_price == null ? null : parseDec(b.limit_price);
    const stop = b.stop_price == null ? null : parseDec(b.stop_price);
    if (limit === undefined || limit === 0n) return fail(422, 40010001, 'invalid limit_price');
    if (stop === undefined || stop === 0n) return fail(422, 40010001, 'invalid stop_price');
    if ((type === 'limit' || type === 'stop_limit') && limit === null) return fail(422, 40010001, 'limit_price is required');
    if ((type === 'stop' || type === 'stop_limit') && stop === null) return fail(422, 40010001, 'stop_price is required');
    if ((type === 'market' || type === 'stop') && limit !== null) return fail(422, 40010001, `limit_price must not be given for ${type} orders`);
    if ((type === 'market' || type === 'limit') && stop !== null) return fail(422, 40010001, `stop_price must not be given for ${type} orders`);
    const ruleError = orderRuleError(symbol, assetClass, opts.closing ? null : qty, limit, stop);
    if (ruleError) return ruleError;
    let cid: string;
    if (b.client_order_id == null) cid = randomUUID();
    else if (typeof b.client_order_id !== 'string' || b.client_order_id.length === 0 || b.client_order_id.length > 48)
      return fail(422, 40010001, 'client_order_id must be at most 48 characters');
    else cid = b.client_order_id;
    if (this.byClient.has(cid)) return fail(422, 40010001, 'client_order_id must be unique');
    const last = this.market.price(symbol)!;
    let total = qty ?? 0n;
    if (notional !== null) {
      total = (notional * 10n ** BigInt(Q + Q - 2)) / last; // notional (1e-2) / price (1e-9) -> qty (1e-9)
      if (total === 0n) return fail(422, 40010001, 'notional too small');
    }
    if (b.side === 'buy') {
      const px = limit ?? stop ?? last;
      const cost = notional !== null ? notional * 10n ** BigInt(M - 2) : mul(total, px);
      if (cost > this.buyingPower()) return fail(403, 40310000, 'insufficient buying power');
    } else {
      const available = this.positionQty(symbol) - this.reservedSells(symbol);
      if (total > available) {
        const base = symbol.split('/')[0];
        const msg =
          assetClass === 'crypto'
            ? `insufficient balance for ${base} (requested: ${fmtDec(total)}, available: ${fmtDec(available)})`
            : `insufficient qty available for order (requested: ${fmtDec(total)}, available: ${fmtDec(available)})`;
        return fail(403, 40310000, msg);
      }
    }
    const now = this.now();
    const o: SimOrder = {
      id: randomUUID(),
      clientOrderId: cid,
      symbol,
      assetClass,
      side: b.side,
      type: type as OrderType,
      tif,
      qty,
      notional,
      limit,
      stop,
      total,
      ...freshLifecycle(now),
      replaces: null,
      extendedHours: b.extended_hours === true,
      triggered: false,
      partsLeft: 0,
      part: 0n,
      seq: ++this.seq,
    };
    this.plan(o);
    return { ok: true, value: o, events: this.accept(o) };
  }

  private plan(o: SimOrder): void {
    const k = o.tif === 'fok' ? 1 : this.k;
    const unit = o.total % ONE_Q === 0n ? ONE_Q : 1n;
    let part = ((o.total / unit) / BigInt(k)) * unit;
    if (part === 0n) part = unit;
    o.part = part;
    o.partsLeft = Number((o.total + part - 1n) / part) > k ? k : Number((o.total + part - 1n) / part);
  }

  private accept(o: SimOrder): TradeUpdate[] {
    this.orders.set(o.id, o);
    this.byClient.set(o.clientOrderId, o);
    const events: TradeUpdate[] = [];
    if (this.opts.pendingNew) {
      o.status = 'pending_new';
      events.push(this.event('pending_new', o));
      o.status = 'new';
    }
    if (this.rejectNext > 0) {
      this.rejectNext--;
      o.status = 'rejected';
      o.failedAt = o.updatedAt = this.now();
      events.push(this.event('rejected', o));
      return events;
    }
    events.push(this.event('new', o));
    const px = this.market.price(o.symbol)!;
    this.tryFill(o, px, true, events);
    if (OPEN.has(o.status) && (o.tif === 'ioc' || o.tif === 'fok')) this.close(o, 'canceled', events);
    return events;
  }

  private event(event: TradeEvent, o: SimOrder, extra: Partial<TradeUpdate> = {}): TradeUpdate {
    return { event, timestamp: new Date(this.now()).toISOString(), ...extra, order: orderJson(o) };
  }

  private close(o: SimOrder, status: 'canceled' | 'expired', events: TradeUpdate[]): void {
    const now = this.now();
    o.status = status;
    o.updatedAt = now;
    if (status === 'canceled') o.canceledAt = now;
    else o.expiredAt = now;
    events.push(this.event(status, o));
  }

  /** One matching attempt of an open order against a trade price. */
  private tryFill(o: SimOrder, price: bigint, arriving: boolean, events: TradeUpdate[]): void {
    if (!OPEN.has(o.status)) return;
    if ((o.type === 'stop' || o.type === 'stop_limit') && !o.triggered) {
      if (o.side === 'buy' ? price >= o.stop! : price <= o.stop!) o.triggered = true;
      else return;
    }
    let fillPx = price;
    if (o.limit !== null) {
      const crosses = o.side === 'buy' ? price <= o.limit : price >= o.limit;
      if (!crosses) return;
      if (!arriving) fillPx = o.limit;
    }
    const rem = this.remaining(o);
    const q = o.partsLeft <= 1 || o.part >= rem ? rem : o.part;
    this.fill(o, q, fillPx, events);
  }

  private fill(o: SimOrder, q: bigint, px: bigint, events: TradeUpdate[]): void {
    const now = this.now();
    const money = mul(q, px);
    o.filledQty += q;
    o.filledMoney += money;
    o.partsLeft--;
    o.updatedAt = now;
    const done = o.filledQty === o.total;
    o.status = done ? 'filled' : 'partially_filled';
    if (done) o.filledAt = now;
    const ps = positionSymbol(o.symbol);
    const pos = this.positions.get(ps) ?? { symbol: ps, assetClass: o.assetClass, qty: 0n, cost: 0n };
    if (o.side === 'buy') {
      this.cash -= money;
      pos.qty += q;
      pos.cost += money;
    } else {
      this.cash += money;
      pos.cost = pos.qty === q ? 0n : pos.cost - (pos.cost * q) / pos.qty;
      pos.qty -= q;
    }
    if (pos.qty === 0n) this.positions.delete(ps);
    else this.positions.set(ps, pos);
    events.push(this.event(done ? 'fill' : 'partial_fill', o, { price: fmtDec(px), qty: fmtDec(q), position_qty: fmtDec(pos.qty), execution_id: randomUUID() }));
  }

  /** A replayed trade of `symbol`: every open order of the symbol gets one matching attempt. */
  onTrade(symbol: string, price: number): TradeUpdate[] {
    const events: TradeUpdate[] = [];
    const px = toQ(price);
    for (const o of this.orders.values()) if (o.symbol === symbol && OPEN.has(o.status)) this.tryFill(o, px, false, events);
    return events;
  }

  /** End of the equities trading day: open `day` orders expire. */
  expireDay(): TradeUpdate[] {
    const events: TradeUpdate[] = [];
    for (const o of this.orders.values()) if (o.tif === 'day' && OPEN.has(o.status)) this.close(o, 'expired', events);
    return events;
  }

  /** DELETE /v2/orders/{id} */
  cancel(id: string): Outcome<SimOrder> {
    const o = this.orders.get(id);
    if (!o) return fail(404, 40410000, 'order not found');
    if (!OPEN.has(o.status)) return fail(422, 42210000, `order is already in "${o.status}" state`);
    const events: TradeUpdate[] = [];
    this.close(o, 'canceled', events);
    return { ok: true, value: o, events };
  }

  /** PATCH /v2/orders/{id}: a new order replaces the open one (event `replaced` for the old, `new` for the new). */
  replace(id: string, body: unknown): Outcome<SimOrder> {
    const o = this.orders.get(id);
    if (!o) return fail(404, 40410000, 'order not found');
    if (!OPEN.has(o.status)) return fail(422, 42210000, `order is already in "${o.status}" state`);
    if (o.type === 'market') return fail(422, 42210000, 'market orders cannot be replaced');
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const qty = b.qty == null ? o.total - o.filledQty : parseDec(b.qty);
    if (qty === undefined || qty === 0n) return fail(422, 40010001, 'qty must be > 0');
    const limit = b.limit_price == null ? o.limit : parseDec(b.limit_price);
    const stop = b.stop_price == null ? o.stop : parseDec(b.stop_price);
    if (limit === undefined || stop === undefined) return fail(422, 40010001, 'invalid price');
    if (o.limit === null && b.limit_price != null) return fail(422, 40010001, `limit_price must not be given for ${o.type} orders`);
    if (o.stop === null && b.stop_price != null) return fail(422, 40010001, `stop_price must not be given for ${o.type} orders`);
    const ruleError = orderRuleError(o.symbol, o.assetClass, b.qty == null ? null : qty, b.limit_price == null ? null : limit, b.stop_price == null ? null : stop);
    if (ruleError) return ruleError;
    const tif = b.time_in_force == null ? o.tif : b.time_in_force;
    if (typeof tif !== 'string' || !TIFS.has(tif)) return fail(422, 40010001, 'invalid time_in_force');
    const cid = b.client_order_id == null ? randomUUID() : b.client_order_id;
    if (typeof cid !== 'string' || cid.length > 48) return fail(422, 40010001, 'client_order_id must be at most 48 characters');
    if (this.byClient.has(cid)) return fail(422, 40010001, 'client_order_id must be unique');
    if (o.side === 'buy') {
      const px = limit ?? stop ?? this.market.price(o.symbol)!;
      const freed = mul(this.remaining(o), o.limit ?? o.stop ?? this.market.price(o.symbol)!);
      if (mul(qty, px) > this.buyingPower() + freed) return fail(403, 40310000, 'insufficient buying power');
    } else {
      const available = this.positionQty(o.symbol) - this.reservedSells(o.symbol) + this.remaining(o);
      if (qty > available) return fail(403, 40310000, `insufficient qty available for order (requested: ${fmtDec(qty)}, available: ${fmtDec(available)})`);
    }
    const now = this.now();
    const n: SimOrder = {
      ...o,
      id: randomUUID(),
      clientOrderId: cid,
      qty,
      total: qty,
      limit,
      stop,
      tif: tif as Tif,
      ...freshLifecycle(now),
      replaces: o.id,
      seq: ++this.seq,
    };
    this.plan(n);
    o.status = 'replaced';
    o.replacedAt = o.updatedAt = now;
    o.replacedBy = n.id;
    const events = [this.event('replaced', o)];
    this.orders.set(n.id, n);
    this.byClient.set(n.clientOrderId, n);
    events.push(this.event('new', n));
    this.tryFill(n, this.market.price(n.symbol)!, true, events);
    return { ok: true, value: n, events };
  }

  private normalizeSymbol(s: unknown): string | undefined {
    if (typeof s !== 'string') return undefined;
    if (this.market.assetClass(s)) return s;
    // legacy crypto form DOGEUSD -> DOGE/USD
    const m = /^([A-Z]+)(USD|USDT|USDC|BTC)$/.exec(s);
    if (m && this.market.assetClass(`${m[1]}/${m[2]}`)) return `${m[1]}/${m[2]}`;
    return undefined;
  }

  positionJson(ps: string): Record<string, unknown> | undefined {
    const p = this.positions.get(ps);
    if (!p) return undefined;
    const orderSymbol = p.assetClass === 'crypto' ? ps.replace(/(USD|USDT|USDC|BTC)$/, '/$1') : ps;
    const last = this.market.price(orderSymbol) ?? 0n;
    const mv = mul(p.qty, last);
    const upl = mv - p.cost;
    const m = (v: bigint): string => fmtDec(v, M);
    const plpc = p.cost === 0n ? '0' : (Number(upl) / Number(p.cost)).toString();
    return {
      asset_id: assetId(orderSymbol),
      symbol: ps,
      exchange: p.assetClass === 'crypto' ? 'CRYPTO' : 'NASDAQ',
      asset_class: p.assetClass,
      asset_marginable: p.assetClass !== 'crypto',
      avg_entry_price: fmtDec(divPrice(p.cost, p.qty)),
      qty: fmtDec(p.qty),
      qty_available: fmtDec(p.qty - this.reservedSells(orderSymbol)),
      side: p.qty >= 0n ? 'long' : 'short',
      market_value: m(mv),
      cost_basis: m(p.cost),
      unrealized_pl: m(upl),
      unrealized_plpc: plpc,
      unrealized_intraday_pl: m(upl),
      unrealized_intraday_plpc: plpc,
      current_price: fmtDec(last),
      lastday_price: fmtDec(last),
      change_today: '0',
    };
  }

  positionList(): Record<string, unknown>[] {
    return [...this.positions.keys()].sort().map((k) => this.positionJson(k)!);
  }

  /** Position lookup by path symbol (`TSLA`, `DOGEUSD`; `DOGE/USD` is not found, as on Alpaca). */
  hasPosition(ps: string): boolean {
    return this.positions.has(ps);
  }

  orderSymbolOfPosition(ps: string): string | undefined {
    const p = this.positions.get(ps);
    if (!p) return undefined;
    return p.assetClass === 'crypto' ? ps.replace(/(USD|USDT|USDC|BTC)$/, '/$1') : ps;
  }

  equity(): bigint {
    let e = this.cash;
    for (const p of this.positions.values()) {
      const sym = p.assetClass === 'crypto' ? p.symbol.replace(/(USD|USDT|USDC|BTC)$/, '/$1') : p.symbol;
      e += mul(p.qty, this.market.price(sym) ?? 0n);
    }
    return e;
  }

  accountJson(): Record<string, unknown> {
    const m = (v: bigint): string => fmtDec(v, M);
    const equity = this.equity();
    const bp = m(this.buyingPower());
    return {
      id: 'e6fe16f3-64a4-4921-8928-cadf02f92f98',
      account_number: 'PA0PAPERTAPE',
      status: 'ACTIVE',
      crypto_status: 'ACTIVE',
      currency: 'USD',
      cash: m(this.cash),
      portfolio_value: m(equity),
      equity: m(equity),
      last_equity: m(this.initialCash),
      long_market_value: m(equity - this.cash),
      short_market_value: '0',
      buying_power: bp,
      regt_buying_power: bp,
      daytrading_buying_power: '0',
      effective_buying_power: bp,
      non_marginable_buying_power: bp,
      initial_margin: '0',
      maintenance_margin: '0',
      last_maintenance_margin: '0',
      sma: '0',
      multiplier: '1',
      daytrade_count: 0,
      pattern_day_trader: false,
      trading_blocked: false,
      transfers_blocked: false,
      account_blocked: false,
      trade_suspended_by_user: false,
      shorting_enabled: false,
      accrued_fees: '0',
      pending_transfer_in: '0',
      pending_transfer_out: '0',
      created_at: '2024-01-01T00:00:00Z',
    };
  }

  cashValue(): bigint {
    return this.cash;
  }
}

/** A new order's lifecycle fields: nothing filled, status new, no end yet (a submit and a replacement alike). */
function freshLifecycle(now: number) {
  return {
    filledQty: 0n,
    filledMoney: 0n,
    status: 'new' as const,
    createdAt: now,
    updatedAt: now,
    filledAt: null,
    canceledAt: null,
    expiredAt: null,
    failedAt: null,
    replacedAt: null,
    replacedBy: null,
  };
}

const SUB_PENNY_Q = 10n ** 7n; // 0.01 in 1e-9 units
const SUB_PENNY_BELOW_DOLLAR_Q = 10n ** 5n; // 0.0001

/**
 * Alpaca's increments: stock prices in cents (1/100 cent below $1); crypto qty ≥ min_order_size and a
 * multiple of min_trade_increment. `qty`/prices null = not checked. Failure as the API reply, else undefined.
 */
export function orderRuleError(symbol: string, assetClass: AssetClass, qty: bigint | null, limit: bigint | null, stop: bigint | null): { ok: false; error: ApiError } | undefined {
  if (assetClass === 'us_equity') {
    for (const [name, px] of [['limit_price', limit], ['stop_price', stop]] as const) {
      if (px === null) continue;
      const step = px < ONE_Q ? SUB_PENNY_BELOW_DOLLAR_Q : SUB_PENNY_Q;
      if (px % step !== 0n) return fail(422, 42210000, `invalid ${name} ${fmtDec(px)}. sub-penny increment does not fulfill minimum pricing criteria`);
    }
    return undefined;
  }
  if (qty === null) return undefined;
  if (qty < CRYPTO_MIN_ORDER_Q) return fail(422, 40010001, `qty ${fmtDec(qty)} is below the min_order_size ${CRYPTO_MIN_ORDER_SIZE} of ${symbol}`);
  if (qty % CRYPTO_INCREMENT_Q !== 0n) return fail(422, 40010001, `qty ${fmtDec(qty)} is not a multiple of the min_trade_increment ${CRYPTO_MIN_TRADE_INCREMENT} of ${symbol}`);
  return undefined;
}
