/**
 * The Alpaca broker: the engine's orders on Alpaca's paper trading account (the `Broker` of
 * src/execution/broker.ts). Everything Alpaca says about an order comes back to the engine as a
 * `BrokerReport` input at its receive time: the REST answer of the submit, every trade_updates event,
 * and what reconciliation finds. Reports carry the order's cumulative fill (Alpaca's own decimals), so a
 * late, repeated or reordered report books nothing twice.
 *
 * No duplicates: the client_order_id is derived from the engine's order id; the trading client retries a
 * timeout/5xx with the same id and looks the order up before a repeat (trading.ts). When even that cannot
 * tell, the order stays NEW and a reconciliation soon after settles it (found: its state is applied; not
 * found for good: rejected).
 *
 * Reconciliation runs at start, every ALPACA_RECONCILE_MS, after trade_updates reconnects (Alpaca does not
 * replay missed events) and after an uncertain submit. Its differences are logged and kept for /status.
 */
import { formatScaled } from '../../core/decimal.js';
import type { EpochMs } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { Credentials } from '../../marketdata/alpaca/http.js';
import { scrub } from '../../marketdata/alpaca/http.js';
import type { Instrument } from '../../model/instrument.js';
import type { Order } from '../../model/order.js';
import type { Broker, BrokerReport, EngineCorrection } from '../broker.js';
import type { ExchangeOrderSpec } from '../paper/exchange.js';
import type { AlpacaAccount, AlpacaOrder, TradeUpdate } from './decode.js';
import { gatherAlpacaState, positionKey, reconcile, type Difference, type OurOrder } from './reconcile.js';
import { TradeUpdatesStream, type TradeUpdatesStatus } from './trade-updates.js';
import { clientOrderIdFor, type AlpacaTradingClient, type OrderRequest, type TimeInForce } from './trading.js';

/** What the broker needs of the engine (inputs go in at their receive time). */
export interface AlpacaBrokerSink {
  report(r: BrokerReport, recvTime: EpochMs): void;
  correct(c: readonly EngineCorrection[], recvTime: EpochMs): number;
  /** the engine's Alpaca orders: working ones and recently ended ones */
  orders(): readonly Order[];
  /** the engine's Alpaca positions (signed base quantity) */
  positions(): readonly { symbol: string; qty: number }[];
  /** the configured Alpaca symbols (DOGE/USD: Alpaca names the position DOGEUSD; this is how it maps back) */
  symbols: readonly string[];
}

export interface AlpacaBrokerOptions {
  client: AlpacaTradingClient;
  tradingUrl: string;
  credentials: Credentials;
  sink: AlpacaBrokerSink;
  logger: Logger;
  /** receive time of an answer (the engine's input clock) */
  clock: () => EpochMs;
  reconcileMs: number;
  accountPollMs: number;
  /** an order not at Alpaca this long after it was sent (and no submit in flight) is rejected as never arrived */
  lostAfterMs?: number;
  /** wait after an uncertain submit before reconciling */
  uncertainReconcileMs?: number;
}

export interface ReconcileRun {
  at: EpochMs;
  why: string;
  differences: Difference[];
  /** reports and corrections it gave the engine */
  applied: number;
  error: string | null;
}

export interface AlpacaAccountView {
  at: EpochMs;
  status: string;
  cryptoStatus: string | null;
  currency: string;
  cash: string;
  equity: string;
  buyingPower: string;
  regtBuyingPower: string | null;
  daytradingBuyingPower: string | null;
  nonMarginableBuyingPower: string | null;
  multiplier: string | null;
  daytradeCount: number | null;
  patternDayTrader: boolean | null;
  tradingBlocked: boolean | null;
  accountBlocked: boolean | null;
  transfersBlocked: boolean | null;
  tradeSuspendedByUser: boolean | null;
  shortingEnabled: boolean | null;
}

export interface AlpacaBrokerStatus {
  tradeUpdates: TradeUpdatesStatus;
  account: AlpacaAccountView | null;
  accountError: string | null;
  submits: { sent: number; inFlight: number; rejected: number; uncertain: number; recovered: number };
  cancels: { sent: number; rejected: number };
  requests: number;
  rateLimitHits: number;
  reconcile: { runs: number; differences: number; last: ReconcileRun | null; recent: Difference[] };
}

/** Alpaca's statuses after which an order never fills again, as the report that ends it. */
function endReport(o: AlpacaOrder, orderId: string, time: EpochMs): BrokerReport | null {
  switch (o.status) {
    case 'canceled':
      return { kind: 'canceled', orderId, time, reason: 'canceled at Alpaca' };
    case 'replaced':
      return { kind: 'canceled', orderId, time, reason: `replaced at Alpaca by ${o.replaced_by ?? 'another order'}` };
    case 'expired':
      return { kind: 'expired', orderId, time, reason: 'expired at Alpaca' };
    case 'rejected':
      return { kind: 'rejected', orderId, time, reason: 'rejected by Alpaca' };
    default:
      return null;
  }
}

/**
 * The reports that bring the engine's order to the state of an Alpaca order snapshot: acknowledged, the
 * cumulative fill (with this execution's own quantity and price when given), then its end.
 */
export function reportsForSnapshot(o: AlpacaOrder, orderId: string, time: EpochMs, execution?: { qty: string | null; price: string | null }): BrokerReport[] {
  const out: BrokerReport[] = [];
  if (o.status !== 'pending_new' && o.status !== 'rejected') out.push({ kind: 'accepted', orderId, time, venueOrderId: o.id });
  if (o.filled_avg_price !== null && Number(o.filled_qty) > 0) {
    out.push({ kind: 'execution', orderId, time, cumQty: o.filled_qty, avgPrice: o.filled_avg_price, qty: execution?.qty ?? null, price: execution?.price ?? null, final: o.status === 'filled' });
  }
  const end = endReport(o, orderId, time);
  if (end) out.push(end);
  return out;
}

/** Decimal text without trailing zeros ("10.000000" -> "10", "0.50" -> "0.5"). */
function plain(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

export class AlpacaBroker implements Broker {
  readonly name = 'alpaca' as const;
  private readonly stream: TradeUpdatesStream;
  /** client_order_id -> engine order id */
  private readonly byCid = new Map<string, string>();
  /** engine order id -> Alpaca order id */
  private readonly alpacaIds = new Map<string, string>();
  /** engine order ids whose submit has not answered yet */
  private readonly inFlight = new Set<string>();
  /** cancels asked for while the submit was in flight */
  private readonly cancelAfterSubmit = new Set<string>();
  /** symbols (position key) with a report since the running reconciliation began: its position is not adopted this round */
  private readonly touched = new Set<string>();
  private reconciling: Promise<void> | null = null;
  private reconcileAgain: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private uncertainTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private account: AlpacaAccountView | null = null;
  private accountError: string | null = null;
  private readonly counts = { sent: 0, rejected: 0, uncertain: 0, recovered: 0, cancels: 0, cancelRejected: 0 };
  private readonly runs: { n: number; differences: number; last: ReconcileRun | null; recent: Difference[] } = { n: 0, differences: 0, last: null, recent: [] };

  constructor(private readonly opts: AlpacaBrokerOptions) {
    this.stream = new TradeUpdatesStream({
      tradingUrl: opts.tradingUrl,
      credentials: opts.credentials,
      onUpdate: (u) => this.onUpdate(u),
      // connected (again): what happened while we were not listening is only in Alpaca's REST state
      onListening: () => this.requestReconcile('trade_updates listening'),
      log: (level, msg, extra) => opts.logger[level](extra ?? {}, msg),
    });
  }

  /** Knows the engine's working orders (after a restart) by their client_order_id; starts the stream and the timers. */
  start(): void {
    for (const o of this.opts.sink.orders()) this.byCid.set(clientOrderIdFor(o.id), o.id);
    this.stream.start();
    this.timers.push(setInterval(() => this.requestReconcile('periodic'), this.opts.reconcileMs));
    this.timers.push(setInterval(() => void this.pollAccount(), this.opts.accountPollMs));
    void this.pollAccount();
  }

  stop(): void {
    this.stopped = true;
    this.stream.stop();
    for (const t of this.timers) clearInterval(t);
    if (this.uncertainTimer) clearTimeout(this.uncertainTimer);
    this.timers = [];
  }

  /** Waits for a reconciliation in progress (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.reconciling) await this.reconciling;
  }

  // ---- Broker ----

  place(order: Readonly<Order>, spec: ExchangeOrderSpec, inst: Instrument): void {
    const cid = clientOrderIdFor(order.id);
    this.byCid.set(cid, order.id);
    this.touched.add(positionKey(order.symbol));
    const crypto = order.symbol.includes('/');
    // a market order is meant to fill whole: it lives for the day (stocks) or until filled (crypto, which
    // knows only gtc and ioc), never ioc, which would drop the rest after a partial fill
    let tif: TimeInForce;
    if (order.type === 'MARKET') tif = crypto ? 'gtc' : 'day';
    else if (order.timeInForce === 'IOC') tif = 'ioc';
    else if (order.timeInForce === 'FOK') tif = crypto ? 'ioc' : 'fok';
    else tif = 'gtc';
    const req: OrderRequest = {
      engineOrderId: order.id,
      symbol: order.symbol,
      side: order.side === 'BUY' ? 'buy' : 'sell',
      type: order.type === 'LIMIT' ? 'limit' : 'market',
      timeInForce: tif,
      qty: plain(formatScaled(spec.qtyUnits, inst.qtyDecimals)),
      ...(order.type === 'LIMIT' ? { limitPrice: plain(formatScaled(spec.priceUnits, inst.priceDecimals)) } : {}),
    };
    this.inFlight.add(order.id);
    this.counts.sent++;
    void this.submit(order.id, req);
  }

  private async submit(orderId: string, req: OrderRequest): Promise<void> {
    const r = await this.opts.client.submitOrder(req);
    this.inFlight.delete(orderId);
    if (this.stopped) return;
    const now = this.opts.clock();
    if (r.ok) {
      if (r.value.recovered) this.counts.recovered++;
      this.alpacaIds.set(orderId, r.value.order.id);
      for (const rep of reportsForSnapshot(r.value.order, orderId, now)) this.opts.sink.report(rep, now);
      if (this.cancelAfterSubmit.delete(orderId)) void this.cancelAtAlpaca(orderId, r.value.order.id);
      return;
    }
    if (r.code === 'uncertain' || r.code === 'invalid_response') {
      // the order may exist: it stays NEW until a reconciliation finds it (or proves it never arrived)
      this.counts.uncertain++;
      this.opts.logger.warn({ orderId, clientOrderId: clientOrderIdFor(orderId), error: r.message }, 'alpaca submit: outcome unknown, reconciling');
      if (!this.uncertainTimer) {
        this.uncertainTimer = setTimeout(() => {
          this.uncertainTimer = null;
          this.requestReconcile('uncertain submit');
        }, this.opts.uncertainReconcileMs ?? 2000);
      }
      return;
    }
    // 403/422 (Alpaca's message), 401, or still 429/5xx after every attempt: the order was not placed
    this.counts.rejected++;
    this.cancelAfterSubmit.delete(orderId);
    this.opts.sink.report({ kind: 'rejected', orderId, time: now, reason: `Alpaca: ${r.message}` }, now);
  }

  cancel(order: Readonly<Order>): void {
    const id = this.alpacaIds.get(order.id);
    if (id) void this.cancelAtAlpaca(order.id, id);
    else if (this.inFlight.has(order.id)) this.cancelAfterSubmit.add(order.id);
    else void this.cancelByClientId(order.id);
  }

  private async cancelByClientId(orderId: string): Promise<void> {
    const found = await this.opts.client.getOrderByClientId(clientOrderIdFor(orderId));
    if (this.stopped) return;
    const now = this.opts.clock();
    if (found.ok) {
      this.alpacaIds.set(orderId, found.value.id);
      return this.cancelAtAlpaca(orderId, found.value.id);
    }
    this.counts.cancelRejected++;
    this.opts.sink.report({ kind: 'cancel_rejected', orderId, time: now, reason: `Alpaca: ${found.message}` }, now);
    if (found.code === 'not_found') this.requestReconcile('cancel of an order Alpaca does not know');
  }

  private async cancelAtAlpaca(orderId: string | null, alpacaId: string): Promise<void> {
    this.counts.cancels++;
    const r = await this.opts.client.cancelOrder(alpacaId);
    if (r.ok || this.stopped) return; // the canceled event follows on trade_updates (or the next reconciliation)
    this.counts.cancelRejected++;
    const now = this.opts.clock();
    if (orderId) this.opts.sink.report({ kind: 'cancel_rejected', orderId, time: now, reason: `Alpaca: ${r.message}` }, now);
    else this.opts.logger.warn({ alpacaOrderId: alpacaId, error: r.message }, 'alpaca: cancel of an untracked order failed');
  }

  // ---- trade_updates ----

  private engineId(cid: string): string | null {
    const known = this.byCid.get(cid);
    if (known) return known;
    // an order of ours from before a restart that is no longer working: `pt-<engine id>`
    return cid.startsWith('pt-') && !/^pt-[0-9a-f]{45}$/.test(cid) ? cid.slice(3) : null;
  }

  private onUpdate(u: TradeUpdate): void {
    const orderId = this.engineId(u.order.client_order_id);
    if (!orderId) return; // not ours (placed by hand): reconciliation reports it
    this.alpacaIds.set(orderId, u.order.id);
    this.touched.add(positionKey(u.order.symbol));
    const time = u.recvTime;
    const t = u.timestamp ?? time;
    if (u.event === 'order_cancel_rejected') {
      this.counts.cancelRejected++;
      this.opts.sink.report({ kind: 'cancel_rejected', orderId, time: t, reason: 'Alpaca rejected the cancel' }, time);
      return;
    }
    const execution = u.event === 'fill' || u.event === 'partial_fill' ? { qty: u.qty, price: u.price } : undefined;
    for (const rep of reportsForSnapshot(u.order, orderId, t, execution)) this.opts.sink.report(rep, time);
  }

  // ---- reconciliation ----

  /** Starts a reconciliation now, or right after the one running. */
  requestReconcile(why: string): void {
    if (this.stopped) return;
    if (this.reconciling) {
      this.reconcileAgain = why;
      return;
    }
    this.reconciling = this.reconcileOnce(why).finally(() => {
      this.reconciling = null;
      const again = this.reconcileAgain;
      this.reconcileAgain = null;
      if (again) this.requestReconcile(again);
    });
  }

  private async reconcileOnce(why: string): Promise<void> {
    this.touched.clear();
    const sink = this.opts.sink;
    // orders whose submit is still in flight are left out: they cannot be judged yet
    const ourOrders: OurOrder[] = sink.orders().filter((o) => !this.inFlight.has(o.id));
    // every configured symbol is named, flat if we hold nothing: a position Alpaca reports as DOGEUSD maps to DOGE/USD
    const held = sink.positions();
    const flat = sink.symbols.filter((s) => !held.some((p) => positionKey(p.symbol) === positionKey(s))).map((symbol) => ({ symbol, qty: 0 }));
    const ours = { orders: ourOrders, positions: [...held, ...flat] };
    const theirs = await gatherAlpacaState(this.opts.client, ours);
    if (this.stopped) return;
    const at = this.opts.clock();
    if (!theirs.ok) {
      const run: ReconcileRun = { at, why, differences: [], applied: 0, error: theirs.message };
      this.runs.n++;
      this.runs.last = run;
      this.opts.logger.warn({ why, error: theirs.message }, 'alpaca reconciliation failed: will try again');
      return;
    }
    const byCid = new Map(theirs.value.orders.map((o) => [o.client_order_id, o] as const));
    const rec = reconcile(ours, theirs.value);
    let applied = 0;
    const corrections: EngineCorrection[] = [];
    const engineOrders = new Map(sink.orders().map((o) => [o.id, o] as const));
    for (const d of rec.differences) {
      switch (d.kind) {
        case 'filledQtyMismatch':
        case 'endedAtVenue': {
          // the order's whole state at Alpaca, as reports: cumulative, so nothing is booked twice
          const a = byCid.get(clientOrderIdFor(d.orderId));
          if (!a) break;
          this.alpacaIds.set(d.orderId, a.id);
          for (const rep of reportsForSnapshot(a, d.orderId, at)) {
            sink.report(rep, at);
            applied++;
          }
          break;
        }
        case 'notFoundAtVenue': {
          const o = engineOrders.get(d.orderId);
          if (o && o.status === 'NEW' && !this.inFlight.has(d.orderId) && at - o.createdAt >= (this.opts.lostAfterMs ?? 30_000)) {
            sink.report({ kind: 'rejected', orderId: d.orderId, time: at, reason: 'not at Alpaca: the order never arrived' }, at);
            applied++;
          }
          break;
        }
        case 'openAtVenue':
        case 'unknownOrder':
          if (d.kind === 'openAtVenue' || d.origin === 'lost') void this.cancelAtAlpaca(d.kind === 'openAtVenue' ? d.orderId : null, d.alpacaOrderId);
          break;
        case 'positionMismatch':
          // adopted only when no missing fill explains it and nothing traded the symbol meanwhile
          if (!d.explainedByFills && !this.touched.has(positionKey(d.symbol))) {
            const theirsQty = rec.corrections.find((c) => c.kind === 'adoptPosition' && c.symbol === d.symbol);
            if (theirsQty?.kind === 'adoptPosition') corrections.push({ kind: 'adoptPosition', symbol: d.symbol, qty: theirsQty.qty });
          }
          break;
      }
    }
    if (corrections.length > 0) applied += sink.correct(corrections, this.opts.clock());
    const run: ReconcileRun = { at, why, differences: rec.differences, applied, error: null };
    this.runs.n++;
    this.runs.differences += rec.differences.length;
    this.runs.last = run;
    this.runs.recent = [...rec.differences, ...this.runs.recent].slice(0, 50);
    for (const d of rec.differences) this.opts.logger.warn({ why, difference: d }, 'alpaca reconciliation: difference');
    if (rec.differences.length > 0 || why !== 'periodic') this.opts.logger.info({ why, differences: rec.differences.length, applied }, 'alpaca reconciliation done');
  }

  // ---- account ----

  private async pollAccount(): Promise<void> {
    const r = await this.opts.client.getAccount();
    if (this.stopped) return;
    if (!r.ok) {
      this.accountError = scrub(r.message, this.opts.credentials);
      return;
    }
    this.accountError = null;
    this.account = accountView(r.value, this.opts.clock());
  }

  /** the last account read (null before the first answer) */
  accountStatus(): AlpacaAccountView | null {
    return this.account;
  }

  status(): AlpacaBrokerStatus {
    return {
      tradeUpdates: this.stream.status(),
      account: this.account,
      accountError: this.accountError,
      submits: { sent: this.counts.sent, inFlight: this.inFlight.size, rejected: this.counts.rejected, uncertain: this.counts.uncertain, recovered: this.counts.recovered },
      cancels: { sent: this.counts.cancels, rejected: this.counts.cancelRejected },
      requests: this.opts.client.requests,
      rateLimitHits: this.opts.client.rateLimitHits,
      reconcile: { runs: this.runs.n, differences: this.runs.differences, last: this.runs.last, recent: this.runs.recent },
    };
  }
}

function accountView(a: AlpacaAccount, at: EpochMs): AlpacaAccountView {
  return {
    at,
    status: a.status,
    cryptoStatus: a.crypto_status ?? null,
    currency: a.currency,
    cash: a.cash,
    equity: a.equity,
    buyingPower: a.buying_power,
    regtBuyingPower: a.regt_buying_power,
    daytradingBuyingPower: a.daytrading_buying_power,
    nonMarginableBuyingPower: a.non_marginable_buying_power,
    multiplier: a.multiplier,
    daytradeCount: a.daytrade_count ?? null,
    patternDayTrader: a.pattern_day_trader ?? null,
    tradingBlocked: a.trading_blocked,
    accountBlocked: a.account_blocked,
    transfersBlocked: a.transfers_blocked ?? null,
    tradeSuspendedByUser: a.trade_suspended_by_user ?? null,
    shortingEnabled: a.shorting_enabled ?? null,
  };
}
