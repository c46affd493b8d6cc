import type { Logger } from '../core/logger.js';
import type { DepthSync } from '../book/sync.js';
import type { Config } from '../config/config.js';
import { instrumentKey, type EpochMs, type InstrumentKey, type Venue } from '../core/types.js';
import type { Broker } from '../execution/broker.js';
import type { MarketEvent } from '../model/events.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../model/instrument.js';
import type { Fill, Order, OrderIntent } from '../model/order.js';
import type { FeedSink } from '../marketdata/binance/feed.js';
import { Portfolio } from '../portfolio/portfolio.js';
import { summarize } from '../portfolio/stats.js';
import { RiskGateway } from '../risk/gateway.js';
import type { Store } from '../store/db.js';
import type { Strategy } from '../strategy/strategy.js';

export type EngineLogger = Logger;

export interface EngineOptions {
  config: Config;
  sessionId: string;
  store: Store;
  broker: Broker;
  strategy: Strategy;
  logger: EngineLogger;
  startedAt: EpochMs;
}

interface FuturesState {
  markPrice: number | null;
  indexPrice: number | null;
  fundingRate: number | null;
  nextFundingTime: number | null;
  openInterest: number | null;
  openInterestTime: number | null;
  liquidations: number;
  lastLiquidationAt: number | null;
}

/**
 * The event loop's heart: every decoded event from every feed arrives here synchronously, in order.
 * Spot books drive the strategy; each intent goes through the risk gateway; approved orders go to the
 * broker; fills update the portfolio and are written to SQLite in one transaction each.
 */
export class Engine implements FeedSink {
  readonly instruments = new Map<InstrumentKey, Instrument>();
  readonly books = new Map<InstrumentKey, DepthSync>();
  readonly portfolio: Portfolio;
  readonly gateway: RiskGateway;
  readonly futures = new Map<string, FuturesState>();
  readonly counters = {
    events: 0,
    bookUpdates: 0,
    trades: 0,
    tickers: 0,
    intents: 0,
    orders: 0,
    fills: 0,
    denials: 0,
    /** intents dropped because the book was not synced (never sent) */
    unsyncedSkips: 0,
    resyncs: 0,
    errors: 0,
  };
  readonly lastTrade = new Map<InstrumentKey, { price: number; time: number }>();
  private lastEquitySample = -Infinity;
  private lastEquity = NaN;
  now: EpochMs;

  constructor(private readonly options: EngineOptions) {
    const opts = options;
    const c = opts.config;
    this.portfolio = new Portfolio(c.INITIAL_BALANCE);
    this.gateway = new RiskGateway({
      maxPosition: c.RISK_MAX_POSITION,
      maxDrawdown: c.RISK_MAX_DRAWDOWN,
      maxOrderNotional: c.RISK_MAX_ORDER_NOTIONAL,
      priceBand: c.RISK_PRICE_BAND,
      bookStaleMs: c.BOOK_STALE_MS,
      ordersPerSecond: c.RISK_ORDERS_PER_SECOND,
      ordersPerMinute: c.RISK_ORDERS_PER_MINUTE,
      ordersPerHour: c.RISK_ORDERS_PER_HOUR,
    });
    this.gateway.observeEquity(c.INITIAL_BALANCE, opts.startedAt);
    this.now = opts.startedAt;
  }

  get sessionId(): string {
    return this.options.sessionId;
  }
  /** the wiring this engine was built with (read-only use) */
  opts(): Readonly<EngineOptions> {
    return this.options;
  }
  get strategy(): Strategy {
    return this.options.strategy;
  }

  // ---- FeedSink ----

  onInstruments(venue: Venue, instruments: Instrument[]): void {
    for (const inst of instruments) this.instruments.set(instrumentKey(venue, inst.symbol), inst);
  }

  onBookState(sync: DepthSync, recvTime: number): void {
    this.advance(recvTime);
    const key = instrumentKey(sync.venue, sync.symbol);
    this.books.set(key, sync);
    if (sync.state !== 'synced') this.counters.resyncs++;
  }

  onBook(sync: DepthSync, recvTime: number): void {
    this.advance(recvTime);
    this.counters.events++;
    this.counters.bookUpdates++;
    const key = instrumentKey(sync.venue, sync.symbol);
    if (this.books.get(key) !== sync) this.books.set(key, sync);
    const inst = this.instruments.get(key);
    if (!inst) return;
    const book = sync.book;
    if (sync.venue === 'spot') {
      const mid = book.mid();
      if (Number.isFinite(mid)) this.portfolio.mark('spot', inst.symbol, priceToNumber(inst, mid));
      const intent = this.options.strategy.onBook(book, inst, {
        now: this.now,
        position: (i) => this.portfolio.position(i.venue, i.symbol)?.qty ?? 0,
      });
      if (intent) this.submit(intent);
    }
    this.sampleEquity(false);
  }

  onEvent(ev: MarketEvent): void {
    this.advance(ev.recvTime);
    this.counters.events++;
    switch (ev.kind) {
      case 'trade': {
        this.counters.trades++;
        const inst = this.instruments.get(instrumentKey(ev.venue, ev.symbol));
        if (inst) this.lastTrade.set(instrumentKey(ev.venue, ev.symbol), { price: priceToNumber(inst, ev.priceUnits), time: ev.eventTime });
        break;
      }
      case 'bookTicker':
        this.counters.tickers++;
        break;
      case 'markPrice': {
        const f = this.futuresState(ev.symbol);
        f.markPrice = ev.markPrice;
        f.indexPrice = ev.indexPrice;
        f.fundingRate = ev.fundingRate;
        f.nextFundingTime = ev.nextFundingTime;
        break;
      }
      case 'liquidation': {
        const f = this.futuresState(ev.symbol);
        f.liquidations++;
        f.lastLiquidationAt = ev.eventTime;
        break;
      }
      case 'openInterest': {
        const f = this.futuresState(ev.symbol);
        f.openInterest = ev.openInterest;
        f.openInterestTime = ev.time;
        break;
      }
      case 'depth':
      case 'snapshot':
        break; // books arrive through onBook/onBookState
    }
  }

  /** Periodic call from the edge (timer): equity sampling when the market is quiet. */
  tick(now: EpochMs): void {
    this.advance(now);
    this.sampleEquity(false);
  }

  private advance(t: number): void {
    if (t > this.now) this.now = t;
  }

  private futuresState(symbol: string): FuturesState {
    let f = this.futures.get(symbol);
    if (!f) {
      f = { markPrice: null, indexPrice: null, fundingRate: null, nextFundingTime: null, openInterest: null, openInterestTime: null, liquidations: 0, lastLiquidationAt: null };
      this.futures.set(symbol, f);
    }
    return f;
  }

  // ---- orders ----

  /** Sends one intent through the gateway to the broker. Returns the execution, or null if denied. */
  submit(intent: OrderIntent): { order: Order; fills: Fill[] } | null {
    this.counters.intents++;
    const key = instrumentKey(intent.venue, intent.symbol);
    const sync = this.books.get(key);
    const inst = this.instruments.get(key);
    const position = this.portfolio.position(intent.venue, intent.symbol)?.qty ?? 0;
    const decision = this.gateway.check(intent, {
      now: this.now,
      instrument: inst,
      book: sync?.book,
      bookState: sync?.state,
      position,
      equity: this.equity(),
    });
    if (!decision.approved) {
      this.counters.denials++;
      if (decision.check === 'book_not_synced') this.counters.unsyncedSkips++;
      this.options.store.insertDenial(this.options.sessionId, {
        time: this.now,
        venue: intent.venue,
        symbol: intent.symbol,
        strategy: intent.strategy,
        check: decision.check,
        reason: decision.reason,
        intent: { ...intent, qty: inst ? qtyToNumber(inst, intent.qtyUnits) : null },
      });
      return null;
    }
    // the gateway has checked the book and the instrument
    const exec = this.options.broker.submit(decision.order, inst!, sync!.book, this.now);
    this.counters.orders++;
    this.options.store.upsertOrder(this.options.sessionId, exec.order);
    for (const fill of exec.fills) this.applyFill(fill, exec.order);
    this.options.logger.info(
      { orderId: exec.order.id, venue: exec.order.venue, symbol: exec.order.symbol, side: exec.order.side, qty: exec.order.qty, filledQty: exec.order.filledQty, avgPrice: exec.order.avgPrice, status: exec.order.status, strategy: exec.order.strategy },
      'paper order',
    );
    return exec;
  }

  private applyFill(fill: Fill, order: Order): void {
    const { trips } = this.portfolio.applyFill(fill);
    this.counters.fills++;
    const snap = this.portfolio.snapshot(this.now);
    this.options.store.recordFill(this.options.sessionId, fill, order, trips, snap);
    this.gateway.observeEquity(snap.equity, this.now);
    this.lastEquity = snap.equity;
  }

  equity(): number {
    return this.portfolio.snapshot(this.now).equity;
  }

  private sampleEquity(force: boolean): void {
    if (!force && this.now - this.lastEquitySample < this.options.config.EQUITY_SNAPSHOT_MS) return;
    this.lastEquitySample = this.now;
    const snap = this.portfolio.snapshot(this.now);
    this.gateway.observeEquity(snap.equity, this.now);
    // write only when the account changed (or once per minute, to keep the curve's time axis honest)
    if (force || snap.equity !== this.lastEquity || this.now - this.lastEquityWrite >= 60_000) {
      this.options.store.insertEquity(this.options.sessionId, snap);
      this.lastEquity = snap.equity;
      this.lastEquityWrite = this.now;
    }
  }
  private lastEquityWrite = -Infinity;

  /** Writes a final equity point (shutdown). */
  flush(): void {
    this.sampleEquity(true);
  }

  // ---- read models for the API ----

  account() {
    const s = this.portfolio.snapshot(this.now);
    const totals = this.options.store.fillTotals(this.options.sessionId);
    return {
      sessionId: this.options.sessionId,
      time: this.now,
      quoteCurrency: 'USDT',
      initialBalance: s.initialCash,
      cash: s.cash,
      equity: s.equity,
      realizedPnl: s.realizedPnl,
      unrealizedPnl: s.unrealizedPnl,
      fees: s.fees,
      totalPnl: s.equity - s.initialCash,
      grossExposure: s.grossExposure,
      highWaterMark: this.gateway.highWaterMark,
      drawdown: this.gateway.drawdown(s.equity),
      fills: totals.count,
      buyNotional: totals.buyNotional,
      sellNotional: totals.sellNotional,
    };
  }

  positions() {
    return this.portfolio.positions().map((p) => ({
      venue: p.venue,
      symbol: p.symbol,
      qty: p.qty,
      side: p.qty > 0 ? 'LONG' : p.qty < 0 ? 'SHORT' : 'FLAT',
      avgEntryPrice: p.qty !== 0 ? p.avgEntry : null,
      markPrice: Number.isFinite(p.mark) ? p.mark : null,
      notional: Number.isFinite(p.mark) ? p.qty * p.mark : null,
      unrealizedPnl: p.qty !== 0 && Number.isFinite(p.mark) ? (p.mark - p.avgEntry) * p.qty : 0,
      realizedPnl: p.realizedPnl,
      fees: p.fees,
    }));
  }

  metrics() {
    const curve = this.options.store.equityCurve(this.options.sessionId, {});
    const s = summarize(this.options.store.listTrades(this.options.sessionId, { limit: 1_000_000 }), curve.map((p) => ({ time: p.time, equity: p.equity })), this.options.config.INITIAL_BALANCE);
    return { ...s, orders: this.counters.orders, fills: this.counters.fills, denials: this.counters.denials };
  }

  book(venue: Venue, symbol: string, depth: number) {
    const key = instrumentKey(venue, symbol);
    const sync = this.books.get(key);
    const inst = this.instruments.get(key);
    if (!sync || !inst) return null;
    const side = (s: typeof sync.book.bids): [number, number][] => {
      const n = Math.min(depth, s.size);
      const out: [number, number][] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = [priceToNumber(inst, s.price(i)), qtyToNumber(inst, s.qty(i))];
      return out;
    };
    return {
      symbol,
      venue,
      state: sync.state,
      lastUpdateId: sync.book.lastUpdateId,
      lastUpdateTime: sync.book.lastRecvTime || null,
      bids: side(sync.book.bids),
      asks: side(sync.book.asks),
    };
  }

  riskStatus() {
    const equity = this.equity();
    return {
      halted: this.gateway.halted,
      drawdownBreaker: { tripped: this.gateway.breakerTripped, trippedAt: this.gateway.breakerTrippedAt, maxDrawdown: this.gateway.limits.maxDrawdown },
      highWaterMark: this.gateway.highWaterMark,
      drawdown: this.gateway.drawdown(equity),
      limits: this.gateway.limits,
      rateLimiter: this.gateway.limiter.usage(this.now),
      approved: this.gateway.approvedCount,
      denials: { ...this.gateway.denials },
    };
  }

  bookStatus() {
    const out: Record<string, unknown> = {};
    for (const [key, sync] of this.books) {
      const inst = this.instruments.get(key);
      out[key] = {
        state: sync.state,
        lastUpdateId: sync.book.lastUpdateId,
        bestBid: inst && sync.book.bids.size ? priceToNumber(inst, sync.book.bestBid()) : null,
        bestAsk: inst && sync.book.asks.size ? priceToNumber(inst, sync.book.bestAsk()) : null,
        levels: { bids: sync.book.bids.size, asks: sync.book.asks.size },
        lastUpdateAgeMs: sync.book.lastRecvTime ? Math.max(0, Math.round(this.now - sync.book.lastRecvTime)) : null,
        resyncs: sync.resyncs,
      };
    }
    return out;
  }
}
