import type { Logger } from '../core/logger.js';
import type { DepthSync } from '../book/sync.js';
import { venueSymbols, type Config } from '../config/config.js';
import { instrumentKey, type EpochMs, type InstrumentKey, type Venue } from '../core/types.js';
import { PaperExchange, type ExchangeOrderSpec, type ExchangeReport, type RestingState } from '../execution/paper/exchange.js';
import { FeedLatency } from '../execution/paper/latency.js';
import { FeedLagTracker } from '../risk/feed-lag.js';
import type { FeeModel, ImpactModel, LatencyModel, QueueModel } from '../execution/paper/models.js';
import type { MarketEvent } from '../model/events.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../model/instrument.js';
import { isTerminal, transition, type Fill, type Order, type OrderIntent } from '../model/order.js';
import type { FeedSink, InputLog } from '../marketdata/binance/processor.js';
import { Portfolio, type PortfolioState } from '../portfolio/portfolio.js';
import { MetricsRecorder, type RecordedEquity, type RecorderState } from '../portfolio/recorder.js';
import { jsonSafe, sessionPerformance } from '../portfolio/performance.js';
import { summarize, type Summary } from '../portfolio/stats.js';
import { RiskGateway, type RiskControlState } from '../risk/gateway.js';
import { StopTracker } from '../risk/stops.js';
import type { Store } from '../store/db.js';
import type { Broker, BrokerReport, EngineCorrection } from '../execution/broker.js';
import { parseScaled } from '../core/decimal.js';
import type { Strategy, StrategyContext } from '../strategy/strategy.js';
import { Scheduler } from './scheduler.js';
import { DECISION_STAGES, TickToDecision } from './tick-to-decision.js';

// stage indices of the tick-to-decision record (DECISION_STAGES)
const STAGE_DUE = DECISION_STAGES.indexOf('due');
const STAGE_DECODE = DECISION_STAGES.indexOf('decode');
const STAGE_MARKET = DECISION_STAGES.indexOf('market');
const STAGE_STRATEGY = DECISION_STAGES.indexOf('strategy');
const STAGE_SUBMIT = DECISION_STAGES.indexOf('submit');

export type EngineLogger = Logger;

/** The paper exchange's models, chosen by configuration (see presets.ts). */
export interface ExchangeModels {
  queue: QueueModel;
  fees: FeeModel;
  impact: (inst: Instrument) => ImpactModel;
  latency: LatencyModel;
}

export interface EngineOptions {
  config: Config;
  sessionId: string;
  store: Store;
  strategy: Strategy;
  models: ExchangeModels;
  logger: EngineLogger;
  startedAt: EpochMs;
  /** the venue whose books the strategy trades (the other venue is data only) */
  tradeVenue: Venue;
  /** where timer ticks are written (the session's event log); feeds write their own inputs */
  inputLog?: InputLog | null;
  /** log every order report at info level (live); backtests keep quiet */
  logOrders?: boolean;
  /** controls kept from before (kill switch, pause, breakers): they survive a restart */
  controls?: Partial<RiskControlState> | null;
  /** the trading schedule (Shabbat, market hours): when it pauses strategies */
  schedule?: TradingSchedule | null;
  /** builds the strategy of a shadow variant by name (promotion); null when there is no such variant */
  variantStrategy?: (name: string) => Strategy | null;
  /** symbols traded by a promoted variant instead of the configured strategy (from before a restart) */
  promoted?: Record<string, string> | null;
  /**
   * Venues whose orders go to an outside broker (Alpaca) instead of the paper exchange; their books are
   * traded too. Reports come back through `brokerReport` and `applyCorrections`.
   */
  brokers?: Partial<Record<Venue, Broker>>;
  /** venues traded on the paper exchange besides tradeVenue (shadows of an Alpaca session trade its symbols on paper) */
  alsoTrade?: readonly Venue[];
  /** market hours of some instruments (US stocks on Alpaca): closed = a pause for those instruments only */
  marketHours?: InstrumentSchedule | null;
  /**
   * Live only: the receive clock (`receiveTime`). With it, the engine records the tick-to-decision latency of
   * every intent the risk gateway approves while it handles an input (see `tickToDecision`); backtests and
   * replays pass none and record nothing.
   */
  decisionClock?: () => number;
  /**
   * Live only: runs what only reports on an input (order log lines, notices to observers) after the input's
   * decisions and its store writes (`DeferredWrites.later`); without it they run at once.
   */
  defer?: (fn: () => void) => void;
}

/** A schedule that applies to some instruments only (market hours of a stock exchange). */
export interface InstrumentSchedule {
  appliesTo(inst: Instrument): boolean;
  pauseAt(t: EpochMs): { reason: string; until: EpochMs } | null;
  describe(t: EpochMs): Record<string, unknown>;
  /** the next instant after `t` when the answer of pauseAt changes */
  nextChange(t: EpochMs): EpochMs;
  /** close the positions of those instruments when the pause begins (else held) */
  readonly flattenOnPause: boolean;
}

/** A schedule that pauses strategies at times (engine time in, a pause and its end out). */
export interface TradingSchedule {
  pauseAt(t: EpochMs): { reason: string; until: EpochMs } | null;
  /** what the schedule says next, for /status */
  describe(t: EpochMs): Record<string, unknown>;
  /** flatten positions when a pause begins (else they are held) */
  readonly flattenOnPause: boolean;
}

/** What a checkpoint keeps besides the database's own rows (orders, fills, controls). */
export interface EngineCheckpoint {
  version: 1;
  time: EpochMs;
  orderSeq: number;
  strategy: unknown;
  /** stop trackers (bars and ATR) per instrument key */
  stops: Record<string, unknown>;
  /** queue places of resting orders */
  queues: RestingState[];
  /** the metrics recorder's marks (high-water mark, worst drawdown); absent in older checkpoints */
  metrics?: RecorderState;
}

/**
 * What the engine tells observers at the edge (live stream, notifications). Observers see copies,
 * are called after the state changed, and cannot change what the engine decides: their errors are
 * logged and swallowed. Replays have no observers.
 */
export type EngineNotice =
  | { type: 'order'; time: EpochMs; order: Order }
  | { type: 'fill'; time: EpochMs; fill: Fill; order: Order }
  | { type: 'denial'; time: EpochMs; venue: Venue; symbol: string; strategy: string; check: string; reason: string }
  | { type: 'risk'; time: EpochMs; state: RiskControlState; previous: RiskControlState }
  | { type: 'equity'; time: EpochMs; equity: RecordedEquity };
export type EngineObserver = (n: EngineNotice) => void;

type JsonSafe<T> = T extends number ? number | null : T extends object ? { [K in keyof T]: JsonSafe<T[K]> } : T;
type JsonPerformance = JsonSafe<ReturnType<typeof sessionPerformance>>;
/**
 * GET /metrics: the session summary, counters, and the statistics (NaN and infinities as null). The summary's
 * `sharpe` and `maxDrawdown` are `overall.returns.sharpe` and `overall.maxDrawdown` (one definition).
 */
export type MetricsView = Summary & { orders: number; fills: number; denials: number } & JsonPerformance;

/** A working order as the database has it, with its fills (prices and quantities as stored). */
export interface RestoredOrder {
  order: Order;
  fills: { price: number; qty: number }[];
}

/** Where a continued session starts from (a restart, or the replay of a restarted run). */
export interface RestoreState {
  portfolio: PortfolioState;
  orders: RestoredOrder[];
  orderSeq: number;
  controls: Partial<RiskControlState> | null;
  checkpoint: EngineCheckpoint | null;
}

/** An operator's command (API or Telegram): part of the inputs, so it is in the event log. */
export type ControlCommand =
  | { cmd: 'kill'; flatten: boolean; reason: string }
  | { cmd: 'pause'; reason: string }
  | { cmd: 'resume' }
  | { cmd: 'reset-breaker' }
  | { cmd: 'promote'; variant: string; symbols: string[] };

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

/** An order the engine has sent and not yet seen end, with exact integer running totals. */
interface Working {
  order: Order;
  inst: Instrument;
  filledUnits: number;
  /** sum of price units x qty units of the fills */
  notional: number;
  fills: number;
}

type Action =
  | { kind: 'arrive'; spec: ExchangeOrderSpec; inst: Instrument }
  | { kind: 'cancel'; orderId: string }
  | { kind: 'report'; report: ExchangeReport };

/**
 * The event loop's heart. Every input (market events from the venues, timer ticks) arrives here
 * synchronously, in order, each with its receive time; engine time is the latest of them. Orders travel
 * like on a real venue: strategy intent -> risk gateway -> (entry latency) -> paper exchange -> (response
 * latency) -> acknowledgements and fills, which reach the portfolio, the store and the strategy only then.
 * Timed actions run before any input that comes at or after their due time, so the same inputs always
 * give the same orders and fills, live or replayed.
 */
export class Engine implements FeedSink {
  readonly instruments = new Map<InstrumentKey, Instrument>();
  readonly books = new Map<InstrumentKey, DepthSync>();
  portfolio: Portfolio;
  readonly gateway: RiskGateway;
  readonly exchange: PaperExchange;
  readonly futures = new Map<string, FuturesState>();
  private readonly futuresHist = new Map<string, { liquidations: number[]; oiTimes: number[]; oiValues: number[] }>();
  readonly counters = {
    events: 0,
    bookUpdates: 0,
    trades: 0,
    tickers: 0,
    ticks: 0,
    intents: 0,
    orders: 0,
    fills: 0,
    denials: 0,
    /** intents dropped because the book was not synced (never sent) */
    unsyncedSkips: 0,
    resyncs: 0,
    cancels: 0,
    cancelRejects: 0,
    rejected: 0,
    errors: 0,
    /** reports of an outside broker about an order that already ended here (late or repeated: nothing to do) */
    lateReports: 0,
    /** corrections applied after reconciling with an outside broker */
    corrections: 0,
    /** orders not sent because their record could not be written (storage failure): see withdrawUnrecorded */
    withdrawn: 0,
  };
  readonly lastTrade = new Map<InstrumentKey, { price: number; time: number }>();
  /** feed latency per venue, measured from the data: receive time minus exchange event time */
  readonly feedLatency: Record<Venue, FeedLatency> = { spot: new FeedLatency(), usdm: new FeedLatency(), alpaca: new FeedLatency() };
  /** how late the Binance books' updates arrive, over each feed's baseline (the risk gateway's feed_lag check) */
  private readonly feedLag: Record<'spot' | 'usdm', FeedLagTracker>;
  /** the latest denial, for /status */
  private lastDenial: { time: EpochMs; venue: Venue; symbol: string; check: string; reason: string } | null = null;
  private readonly working = new Map<string, Working>();
  /** a small integer per instrument, for models that follow each instrument's mid separately */
  private readonly streamIds = new Map<InstrumentKey, number>();
  private readonly scheduler = new Scheduler<Action>();
  /** reports leave in order: a later report never overtakes an earlier one */
  private lastReportDue = -Infinity;
  /** requests (orders, cancels) reach the exchange in the order they were sent: a cancel never overtakes its order */
  private lastEntryDue = -Infinity;
  private orderSeq = 0;
  private lastEquitySample = -Infinity;
  /** high-water mark, drawdown; decides when an equity row is written */
  readonly recorder: MetricsRecorder;
  private observers: EngineObserver[] = [];
  private metricsCache: { key: string; value: MetricsView } | null = null;
  private readonly ctx: StrategyContext;
  /** book updates per instrument (warm-up) */
  private readonly dataPoints = new Map<InstrumentKey, number>();
  private readonly stops = new Map<InstrumentKey, StopTracker>();
  /** the schedule's pause in force, if any */
  private schedulePause: { reason: string; until: EpochMs } | null = null;
  /** the market-hours pause in force for the instruments it applies to, if any */
  private marketPause: { reason: string; until: EpochMs } | null = null;
  private marketOpenUntil = -Infinity;
  /** ended orders of outside brokers, kept a while: a late execution of them is still booked */
  private readonly endedExternal = new Map<string, Working>();
  private readonly paperBroker: Broker;
  private lastControlJson = '';
  /** per symbol, the promoted variant trading it instead of the configured strategy */
  private readonly promotedStrategies = new Map<string, { variant: string; strategy: Strategy }>();
  /** a kill with flatten is in force: fills of orders still in flight are closed out too */
  private flattening = false;
  /** orders carried over from before a restart, waiting for their instrument, then for a synced book */
  private restoredOrders: RestoredOrder[] = [];
  private readonly awaitingBook = new Map<InstrumentKey, Working[]>();
  private savedQueues = new Map<string, RestingState>();
  now: EpochMs;
  /** live: input receive time to approved intent (empty without `decisionClock`) */
  readonly tickToDecision = new TickToDecision();
  /** the receive time of the input whose strategy decisions are being made; NaN outside (timer ticks, commands) */
  private deciding = NaN;

  constructor(private readonly options: EngineOptions) {
    const opts = options;
    const c = opts.config;
    this.portfolio = new Portfolio(c.INITIAL_BALANCE);
    this.recorder = new MetricsRecorder(c.INITIAL_BALANCE, opts.startedAt);
    this.gateway = new RiskGateway(
      {
        maxPosition: c.RISK_MAX_POSITION,
        maxDrawdown: c.RISK_MAX_DRAWDOWN,
        maxOrderNotional: c.RISK_MAX_ORDER_NOTIONAL,
        maxTotalNotional: c.RISK_MAX_TOTAL_NOTIONAL,
        priceBand: c.RISK_PRICE_BAND,
        bookStaleMs: c.BOOK_STALE_MS,
        maxFeedLagMs: c.RISK_MAX_FEED_LAG_MS,
        ordersPerSecond: c.RISK_ORDERS_PER_SECOND,
        ordersPerMinute: c.RISK_ORDERS_PER_MINUTE,
        ordersPerHour: c.RISK_ORDERS_PER_HOUR,
        breakerCooldownMs: c.RISK_BREAKER_COOLDOWN_MS,
        lossStreak: c.RISK_LOSS_STREAK,
        lossStreakPauseMs: c.RISK_LOSS_STREAK_PAUSE_MS,
        warmupMs: c.WARMUP_SECONDS * 1000,
        warmupPoints: c.WARMUP_POINTS,
        maxFundingRate: c.RISK_MAX_FUNDING_RATE,
      },
      opts.startedAt,
    );
    // the high-water mark starts from this session's equity; halts, pauses and a tripped breaker carry over
    if (opts.controls) {
      const { highWaterMark: _hwm, ...carried } = opts.controls;
      this.gateway.restore(carried);
    }
    this.gateway.observeEquity(c.INITIAL_BALANCE, opts.startedAt);
    this.feedLag = { spot: new FeedLagTracker(c.BINANCE_FEED_TIME_SCALE), usdm: new FeedLagTracker(c.BINANCE_FEED_TIME_SCALE) };
    this.lastControlJson = JSON.stringify(this.gateway.controlState());
    for (const [symbol, variant] of Object.entries(opts.promoted ?? {})) {
      const s = opts.variantStrategy?.(variant);
      if (s) this.promotedStrategies.set(symbol, { variant, strategy: s });
      else opts.logger.warn({ symbol, variant }, 'a promoted variant is no longer configured (SHADOW): the configured strategy trades');
    }
    this.exchange = new PaperExchange({
      queue: opts.models.queue,
      fees: opts.models.fees,
      impact: opts.models.impact,
      emit: (r) => this.onReport(r),
    });
    this.paperBroker = {
      name: 'paper',
      place: (_order, spec, inst) => this.scheduler.push(this.entryDue(), { kind: 'arrive', spec, inst }),
      cancel: (order) => this.scheduler.push(this.entryDue(), { kind: 'cancel', orderId: order.id }),
    };
    this.now = opts.startedAt;
    const engine = this;
    this.ctx = {
      get now() {
        return engine.now;
      },
      position: (i) => this.portfolio.position(i.venue, i.symbol)?.qty ?? 0,
      positionInfo: (i) => {
        const p = this.portfolio.position(i.venue, i.symbol);
        return p ? { qty: p.qty, avgEntry: p.avgEntry, openedAt: p.openedAt } : { qty: 0, avgEntry: 0, openedAt: null };
      },
      futures: (symbol) => this.futuresView(symbol),
      openOrders: (i) => this.openOrders(i.venue, i.symbol),
      cancel: (id) => this.cancel(id),
    };
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
  /** the strategy trading a symbol: a promoted variant, or the configured one */
  strategyFor(symbol: string): Strategy {
    return this.promotedStrategies.get(symbol)?.strategy ?? this.options.strategy;
  }
  /** symbol -> promoted variant name */
  promoted(): Record<string, string> {
    return Object.fromEntries([...this.promotedStrategies].map(([k, v]) => [k, v.variant]));
  }
  /** the broker of a venue's orders: an outside one (Alpaca), else the paper exchange */
  brokerFor(venue: Venue): Broker {
    return this.options.brokers?.[venue] ?? this.paperBroker;
  }
  /** the strategy trades this venue's books (the configured Binance venue, and every venue with an outside broker) */
  traded(venue: Venue): boolean {
    return venue === this.options.tradeVenue || this.options.brokers?.[venue] !== undefined || (this.options.alsoTrade?.includes(venue) ?? false);
  }
  private external(venue: Venue): boolean {
    return this.options.brokers?.[venue] !== undefined;
  }

  /** engine time of the next timed action (order arrival, report), or Infinity */
  nextDue(): EpochMs {
    return this.scheduler.nextDue();
  }

  // ---- FeedSink ----

  advanceTo(recvTime: EpochMs): void {
    const clock = this.options.decisionClock;
    if (clock === undefined) {
      this.advance(recvTime);
      return;
    }
    // live: the stages of the frame's path (tickToDecision.stages)
    this.tickToDecision.begin(recvTime, clock());
    this.advance(recvTime);
    this.tickToDecision.mark(STAGE_DUE, clock());
  }

  onInstruments(venue: Venue, instruments: Instrument[]): void {
    for (const inst of instruments) {
      const key = instrumentKey(venue, inst.symbol);
      this.instruments.set(key, inst);
      if (!this.streamIds.has(key)) this.streamIds.set(key, this.streamIds.size);
      // restored working orders of this instrument: known again, managed as soon as its book is synced
      const mine = this.restoredOrders.filter((r) => r.order.venue === venue && r.order.symbol === inst.symbol);
      if (mine.length === 0) continue;
      this.restoredOrders = this.restoredOrders.filter((r) => !mine.includes(r));
      const list = this.awaitingBook.get(key) ?? [];
      const qUnit = 10 ** inst.qtyDecimals;
      const pUnit = 10 ** inst.priceDecimals;
      for (const r of mine) {
        let filledUnits = 0;
        let notional = 0;
        for (const f of r.fills) {
          const q = Math.round(f.qty * qUnit);
          filledUnits += q;
          notional += Math.round(f.price * pUnit) * q;
        }
        const w: Working = { order: r.order, inst, filledUnits, notional, fills: r.fills.length };
        this.working.set(r.order.id, w);
        list.push(w);
      }
      this.awaitingBook.set(key, list);
    }
  }

  // ---- restarts ----

  /** State for a checkpoint (the database holds the rest: orders, fills, controls). */
  checkpointState(): EngineCheckpoint {
    const stops: Record<string, unknown> = {};
    for (const [k, s] of this.stops) stops[k] = s.saveState();
    return {
      version: 1,
      time: this.now,
      orderSeq: this.orderSeq,
      strategy: this.options.strategy.saveState?.() ?? null,
      stops,
      queues: this.exchange.restingState(),
      metrics: this.recorder.state(this.now),
    };
  }

  /** Adds an observer at the edge (see EngineNotice); returns the function that removes it. */
  observe(fn: EngineObserver): () => void {
    this.observers = [...this.observers, fn];
    return () => {
      this.observers = this.observers.filter((o) => o !== fn);
    };
  }

  /** What only reports on the input being handled: after its decisions with `options.defer` (live), else at once. */
  private later(fn: () => void): void {
    const defer = this.options.defer;
    if (defer) defer(fn);
    else fn();
  }

  private notify(n: EngineNotice): void {
    this.later(() => this.dispatch(n));
  }

  private dispatch(n: EngineNotice): void {
    for (const fn of this.observers) {
      try {
        fn(n);
      } catch (e) {
        this.options.logger.error({ err: (e as Error).message, notice: n.type }, 'an engine observer failed');
      }
    }
  }

  /**
   * Continues a session from before a restart: the portfolio (rebuilt from every fill), the working
   * orders as the database has them, the controls, and what the checkpoint kept (strategy and indicator
   * state, queue places). Call before any input. Working orders are managed again once their book is
   * synced: resting ones go back into the paper exchange at their saved queue place (or at the back),
   * ones that never reached it are sent again if they are GTC limits and expire otherwise.
   */
  restore(r: RestoreState): void {
    this.portfolio = Portfolio.fromState(r.portfolio);
    this.orderSeq = Math.max(this.orderSeq, r.orderSeq, r.checkpoint?.orderSeq ?? 0);
    if (r.controls) this.gateway.restore(r.controls);
    this.gateway.observeEquity(this.portfolio.snapshot(this.now).equity, this.now);
    this.lastControlJson = JSON.stringify(this.gateway.controlState());
    if (r.checkpoint?.metrics) this.recorder.restore(r.checkpoint.metrics);
    this.recorder.observe(this.portfolio.snapshot(this.now));
    this.restoredOrders = r.orders.map((o) => ({ fills: o.fills, order: { ...o.order } }));
    const cp = r.checkpoint;
    if (cp) {
      if (cp.strategy !== null && cp.strategy !== undefined) this.options.strategy.loadState?.(cp.strategy);
      for (const [k, s] of Object.entries(cp.stops ?? {})) this.stopTracker(k as InstrumentKey).loadState(s);
      this.savedQueues = new Map((cp.queues ?? []).map((q) => [q.orderId, q]));
    }
  }

  /** Restored orders of an instrument whose book is now synced go back to work. */
  private resumeRestored(key: InstrumentKey, sync: DepthSync): void {
    const list = this.awaitingBook.get(key);
    if (!list || !sync.synced) return;
    this.awaitingBook.delete(key);
    for (const w of list) {
      const o = w.order;
      // an outside broker's order stays working as it was: reconciliation with the venue settles it
      if (this.external(o.venue)) continue;
      const limit = o.type === 'LIMIT' && o.price !== null;
      const spec: ExchangeOrderSpec = {
        id: o.id,
        side: o.side,
        type: o.type,
        timeInForce: o.timeInForce,
        postOnly: o.postOnly,
        qtyUnits: Math.round(o.qty * 10 ** w.inst.qtyDecimals),
        priceUnits: limit ? Math.round(o.price! * 10 ** w.inst.priceDecimals) : NaN,
      };
      if (o.status === 'NEW') {
        if (limit && o.timeInForce === 'GTC') this.scheduler.push(this.entryDue(), { kind: 'arrive', spec, inst: w.inst });
        else {
          // it was on its way when the process stopped: it never got an answer, so it counts as not executed
          o.rejectReason = 'in flight when the engine stopped: not executed';
          transition(o, 'REJECTED', this.now);
          this.working.delete(o.id);
          this.options.store.upsertOrder(this.options.sessionId, o);
        }
        continue;
      }
      const saved = this.savedQueues.get(o.id);
      this.exchange.restore(spec, w.inst, sync.book, w.filledUnits, saved && saved.filledUnits === w.filledUnits ? saved : null, this.now);
      if (o.cancelRequestedAt !== undefined) this.scheduler.push(this.entryDue(), { kind: 'cancel', orderId: o.id });
    }
  }

  onBookState(sync: DepthSync, recvTime: number): void {
    this.advance(recvTime);
    const key = instrumentKey(sync.venue, sync.symbol);
    this.books.set(key, sync);
    if (sync.state !== 'synced') {
      this.counters.resyncs++;
      const inst = this.instruments.get(key);
      if (inst && this.traded(sync.venue)) this.strategyFor(sync.symbol).onResync?.(inst, this.ctx);
    } else {
      this.exchange.onBook(key, sync.book, this.now);
      if (this.awaitingBook.size > 0) this.resumeRestored(key, sync);
    }
  }

  onBook(sync: DepthSync, recvTime: number): void {
    const clock = this.options.decisionClock;
    const staged = clock !== undefined && this.tickToDecision.current(recvTime);
    if (staged) this.tickToDecision.mark(STAGE_DECODE, clock());
    this.advance(recvTime);
    this.counters.events++;
    this.counters.bookUpdates++;
    const key = instrumentKey(sync.venue, sync.symbol);
    if (this.books.get(key) !== sync) this.books.set(key, sync);
    const inst = this.instruments.get(key);
    if (!inst) return;
    const book = sync.book;
    if (sync.venue !== 'alpaca') this.feedLag[sync.venue].observe(book.lastEventTime, recvTime);
    if (this.exchange.restingCount(key) > 0) this.exchange.onBook(key, book, this.now);
    this.dataPoints.set(key, (this.dataPoints.get(key) ?? 0) + 1);
    this.deciding = recvTime;
    if (this.traded(sync.venue)) {
      const mid = book.mid();
      if (Number.isFinite(mid)) {
        const px = priceToNumber(inst, mid);
        this.portfolio.mark(inst.venue, inst.symbol, px);
        this.options.models.latency.observeMid(this.now, px, this.streamIds.get(key));
        this.checkStop(key, inst, px);
      }
      if (staged) this.tickToDecision.mark(STAGE_MARKET, clock());
      const intent = this.strategyFor(inst.symbol).onBook(book, inst, this.ctx);
      if (intent) this.submit(intent);
    }
    this.deciding = NaN;
    // statistics only (GET /latency): after the decision
    this.feedLatency[sync.venue].observe(book.lastEventTime, recvTime);
    this.sampleEquity(false);
  }

  onEvent(ev: MarketEvent): void {
    const clock = this.options.decisionClock;
    const staged = clock !== undefined && this.tickToDecision.current(ev.recvTime);
    if (staged) this.tickToDecision.mark(STAGE_DECODE, clock());
    this.advance(ev.recvTime);
    this.counters.events++;
    switch (ev.kind) {
      case 'trade': {
        this.counters.trades++;
        this.feedLatency[ev.venue].observe(ev.eventTime, ev.recvTime);
        const key = instrumentKey(ev.venue, ev.symbol);
        const inst = this.instruments.get(key);
        if (inst) {
          const price = priceToNumber(inst, ev.priceUnits);
          this.lastTrade.set(key, { price, time: ev.eventTime });
          if (this.traded(ev.venue)) {
            this.stopTracker(key).onTrade(price, qtyToNumber(inst, ev.qtyUnits), ev.eventTime);
            const s = this.strategyFor(inst.symbol);
            if (s.onTrade) {
              this.deciding = ev.recvTime;
              if (staged) this.tickToDecision.mark(STAGE_MARKET, clock());
              const intent = s.onTrade(ev, inst, this.ctx);
              if (intent) this.submit(intent);
              this.deciding = NaN;
            }
          }
        }
        if (this.exchange.restingCount(key) > 0) this.exchange.onTrade(key, ev.priceUnits, ev.qtyUnits, ev.buyerIsMaker, this.now, ev.eventTime);
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
        this.strategyFor(ev.symbol).onFutures?.(ev, this.ctx);
        break;
      }
      case 'liquidation': {
        const f = this.futuresState(ev.symbol);
        f.liquidations++;
        f.lastLiquidationAt = ev.eventTime;
        pushCapped(this.futuresHistory(ev.symbol).liquidations, this.now, 512);
        this.strategyFor(ev.symbol).onFutures?.(ev, this.ctx);
        break;
      }
      case 'openInterest': {
        const f = this.futuresState(ev.symbol);
        f.openInterest = ev.openInterest;
        f.openInterestTime = ev.time;
        const h = this.futuresHistory(ev.symbol);
        pushCapped(h.oiTimes, this.now, 256);
        pushCapped(h.oiValues, ev.openInterest, 256);
        this.strategyFor(ev.symbol).onFutures?.(ev, this.ctx);
        break;
      }
      case 'depth':
      case 'snapshot':
        break; // books arrive through onBook/onBookState
    }
  }

  /** A timer tick from the edge: runs what is due, follows the schedule, samples equity when quiet. */
  tick(now: EpochMs): void {
    this.options.inputLog?.write(now, 'tick', '');
    this.counters.ticks++;
    this.deciding = NaN;
    this.advance(now);
    // a kill with flatten keeps closing what is still open: a closing order refused on a resyncing book, or
    // one that filled only in part, is sent again on the next tick until every position is flat
    if (this.flattening) this.flattenAll('flatten', 'kill switch: closing what is still open');
    this.sampleEquity(false);
  }

  // ---- controls, schedule, stops ----

  /** An operator's command, applied at once (it is an input: written to the event log). */
  control(c: ControlCommand, recvTime: EpochMs): { ok: true; at: EpochMs; state: RiskControlState; canceled?: number; flattening?: number } {
    this.options.inputLog?.write(recvTime, 'control', JSON.stringify(c));
    this.advance(recvTime);
    let canceled: number | undefined;
    let flattening: number | undefined;
    switch (c.cmd) {
      case 'kill':
        this.gateway.halt(c.reason);
        canceled = this.cancelAll();
        if (c.flatten) {
          this.flattening = true;
          flattening = this.flattenAll('flatten', `kill switch: ${c.reason}`);
        }
        break;
      case 'pause':
        this.gateway.pause(c.reason);
        break;
      case 'resume':
        this.gateway.resume();
        this.flattening = false;
        break;
      case 'reset-breaker':
        this.gateway.resetBreaker(this.equity());
        break;
      case 'promote': {
        // the symbols' working strategy orders are canceled; the promoted variant starts from its own state
        let n = 0;
        for (const symbol of c.symbols) {
          for (const w of [...this.working.values()]) if (w.order.symbol === symbol && w.order.strategy !== 'risk' && this.cancel(w.order.id)) n++;
          if (c.variant === 'configured') {
            this.promotedStrategies.delete(symbol);
            continue;
          }
          const s = this.options.variantStrategy?.(c.variant);
          if (!s) {
            this.options.logger.warn({ variant: c.variant }, 'promote: no such shadow variant; nothing changed');
            continue;
          }
          this.promotedStrategies.set(symbol, { variant: c.variant, strategy: s });
        }
        canceled = n;
        this.options.store.putControl('promoted', this.promoted(), this.now);
        this.options.store.recordStrategyChange(this.options.sessionId, { time: this.now, symbols: c.symbols, variant: c.variant, strategy: c.variant === 'configured' ? this.options.strategy.id : this.strategyFor(c.symbols[0]!).id });
        break;
      }
      default:
        assertNeverControl(c);
    }
    this.options.logger.warn({ control: c, state: this.gateway.controlState() }, 'control command');
    this.persistControls();
    return { ok: true, at: this.now, state: this.gateway.controlState(), ...(canceled !== undefined ? { canceled } : {}), ...(flattening !== undefined ? { flattening } : {}) };
  }

  /**
   * New strategy parameters (a reloaded parameter file, or its error): an input like any other, written to
   * the event log, so a replay applies the same parameters at the same point without reading the file.
   */
  strategyParams(ev: unknown, recvTime: EpochMs): void {
    this.options.inputLog?.write(recvTime, 'params', JSON.stringify(ev));
    this.advance(recvTime);
    const s = this.options.strategy as Strategy & { onParamsEvent?: (e: unknown) => void };
    s.onParamsEvent?.(ev);
    this.options.logger.warn({ strategy: s.id, event: ev }, 'strategy parameters');
  }

  /**
   * Sends a closing market order for every open position that has none working yet (purpose 'flatten'
   * or 'stop'); returns how many it sent.
   */
  flattenAll(purpose: 'flatten' | 'stop', reason: string): number {
    let n = 0;
    for (const p of this.portfolio.positions()) if (this.flatten(p.venue, p.symbol, purpose, reason)) n++;
    return n;
  }

  private flatten(venue: Venue, symbol: string, purpose: 'flatten' | 'stop', reason: string): boolean {
    const p = this.portfolio.position(venue, symbol);
    const inst = this.instruments.get(instrumentKey(venue, symbol));
    if (!p || p.qty === 0 || !inst) return false;
    for (const w of this.working.values()) if (w.order.venue === venue && w.order.symbol === symbol && w.order.strategy === 'risk') return false;
    const units = Math.round(Math.abs(p.qty) * 10 ** inst.qtyDecimals);
    const qtyUnits = units - (units % inst.stepUnits);
    if (qtyUnits <= 0) return false;
    return this.submit({ venue, symbol, side: p.qty > 0 ? 'SELL' : 'BUY', type: 'MARKET', qtyUnits, strategy: 'risk', reason, purpose, createdAt: this.now }) !== null;
  }

  private stopTracker(key: InstrumentKey): StopTracker {
    let s = this.stops.get(key);
    if (!s) {
      const c = this.options.config;
      s = new StopTracker({ stopAtr: c.RISK_STOP_ATR, takeProfitAtr: c.RISK_TAKE_PROFIT_ATR, barMs: c.RISK_ATR_BAR_MS, period: c.RISK_ATR_PERIOD });
      this.stops.set(key, s);
    }
    return s;
  }

  /** Stop loss / take profit: one closing market order at a time per instrument. */
  private checkStop(key: InstrumentKey, inst: Instrument, price: number): void {
    const pos = this.portfolio.position(inst.venue, inst.symbol);
    if (!pos || pos.qty === 0) return;
    const trigger = this.stops.get(key)?.check(pos.qty, pos.avgEntry, price);
    if (!trigger) return;
    const d = inst.priceDecimals;
    const what = trigger.kind === 'stop_loss' ? 'stop loss' : 'take profit';
    this.flatten(inst.venue, inst.symbol, 'stop', `${what}: price ${price} crossed ${trigger.level.toFixed(d)} (entry ${pos.avgEntry.toFixed(d)}, ATR ${trigger.atr.toFixed(d)})`);
  }

  /** Enters and leaves the schedule's pauses; entering one cancels the strategies' orders. */
  private followSchedule(): void {
    const s = this.options.schedule;
    if (!s) return;
    const p = s.pauseAt(this.now);
    if (p && !this.schedulePause) {
      this.schedulePause = p;
      const canceled = this.cancelAll();
      const flattening = s.flattenOnPause ? this.flattenAll('flatten', p.reason) : 0;
      this.options.logger.warn({ reason: p.reason, until: new Date(p.until).toISOString(), canceled, flattening }, 'schedule: trading paused');
    } else if (!p && this.schedulePause) {
      this.options.logger.warn({ reason: this.schedulePause.reason }, 'schedule: trading resumed');
      this.schedulePause = null;
    } else if (p) this.schedulePause = p;
  }

  /** Enters and leaves the market-hours pause of the instruments it applies to (US stocks on Alpaca). */
  private followMarketHours(): void {
    const m = this.options.marketHours!;
    // the answer only changes at the pause's end, or when the market closes: cheap on every input
    if (this.marketPause ? this.now < this.marketPause.until : this.now < this.marketOpenUntil) return;
    const p = m.pauseAt(this.now);
    if (!p) this.marketOpenUntil = m.nextChange(this.now);
    if (p && !this.marketPause) {
      this.marketPause = p;
      let canceled = 0;
      let flattening = 0;
      for (const w of [...this.working.values()]) if (m.appliesTo(w.inst) && this.cancel(w.order.id)) canceled++;
      if (m.flattenOnPause) {
        for (const pos of this.portfolio.positions()) {
          const inst = this.instruments.get(instrumentKey(pos.venue, pos.symbol));
          if (inst && m.appliesTo(inst) && this.flatten(pos.venue, pos.symbol, 'flatten', p.reason)) flattening++;
        }
      }
      this.options.logger.warn({ reason: p.reason, until: new Date(p.until).toISOString(), canceled, flattening }, 'market hours: trading paused for the instruments of that market');
    } else if (!p && this.marketPause) {
      this.options.logger.warn({ reason: this.marketPause.reason }, 'market hours: the market is open, trading resumed');
      this.marketPause = null;
    } else if (p) this.marketPause = p;
  }

  /** why trading an instrument is paused by a schedule now (Shabbat for all, market hours for some), or null */
  private pauseReason(inst: Instrument | undefined): string | null {
    if (this.schedulePause) return this.schedulePause.reason;
    if (this.marketPause && inst && this.options.marketHours?.appliesTo(inst)) return this.marketPause.reason;
    return null;
  }

  /** Writes the controls to the store when they changed (they outlive the session). */
  private persistControls(): void {
    const state = this.gateway.controlState();
    const json = JSON.stringify(state);
    if (json === this.lastControlJson) return;
    const previous = this.lastControlJson;
    this.lastControlJson = json;
    this.options.store.putControl('risk', state, this.now);
    if (this.observers.length > 0) this.notify({ type: 'risk', time: this.now, state, previous: JSON.parse(previous) as RiskControlState });
  }

  scheduleStatus(): Record<string, unknown> | null {
    const s = this.options.schedule;
    const m = this.options.marketHours;
    if (!s && !m) return null;
    const pause = (p: { reason: string; until: EpochMs } | null) => (p ? { reason: p.reason, until: new Date(p.until).toISOString() } : null);
    return {
      paused: pause(this.schedulePause),
      ...(s?.describe(this.now) ?? {}),
      ...(m ? { marketHoursPaused: pause(this.marketPause), ...m.describe(this.now) } : {}),
    };
  }

  /** Runs every timed action due at or before `t`, then moves engine time to `t`. */
  private advance(t: number): void {
    while (this.scheduler.nextDue() <= t) {
      const due = this.scheduler.nextDue();
      const action = this.scheduler.pop()!;
      if (due > this.now) this.now = due;
      this.run(action);
    }
    if (t > this.now) this.now = t;
    if (this.options.schedule) this.followSchedule();
    if (this.options.marketHours) this.followMarketHours();
  }

  private run(a: Action): void {
    switch (a.kind) {
      case 'arrive': {
        const sync = this.books.get(instrumentKey(a.inst.venue, a.inst.symbol));
        this.exchange.place(a.spec, a.inst, sync?.synced ? sync.book : null, this.now);
        break;
      }
      case 'cancel':
        this.exchange.cancel(a.orderId, this.now);
        break;
      case 'report':
        this.deliver(a.report);
        break;
      default:
        assertNeverAction(a);
    }
  }

  private futuresHistory(symbol: string): { liquidations: number[]; oiTimes: number[]; oiValues: number[] } {
    let h = this.futuresHist.get(symbol);
    if (!h) this.futuresHist.set(symbol, (h = { liquidations: [], oiTimes: [], oiValues: [] }));
    return h;
  }

  /** What a strategy sees of a symbol's USD-M data. */
  futuresView(symbol: string): import('../strategy/strategy.js').FuturesView {
    const f = this.futures.get(symbol);
    const h = this.futuresHist.get(symbol);
    const now = this.now;
    return {
      fundingRate: f?.fundingRate ?? null,
      openInterest: f?.openInterest ?? null,
      openInterestChange: (windowMs) => {
        if (!h || h.oiTimes.length < 2) return null;
        const last = h.oiValues[h.oiValues.length - 1]!;
        // the newest sample at least windowMs old, else the oldest one
        let i = h.oiTimes.length - 2;
        while (i > 0 && h.oiTimes[i]! > now - windowMs) i--;
        const base = h.oiValues[i]!;
        return base > 0 ? last / base - 1 : null;
      },
      liquidations: (windowMs) => {
        if (!h) return 0;
        let n = 0;
        for (let i = h.liquidations.length - 1; i >= 0 && h.liquidations[i]! > now - windowMs; i--) n++;
        return n;
      },
    };
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

  /** Working orders (sent, not ended) on one instrument. */
  openOrders(venue: Venue, symbol: string): Order[] {
    const out: Order[] = [];
    for (const w of this.working.values()) if (w.order.venue === venue && w.order.symbol === symbol) out.push(w.order);
    return out;
  }

  /** An outside broker's orders of a venue: the working ones and the ended ones still remembered (reconciliation). */
  venueOrders(venue: Venue): Order[] {
    const out: Order[] = [];
    for (const w of this.working.values()) if (w.order.venue === venue) out.push(w.order);
    for (const w of this.endedExternal.values()) if (w.order.venue === venue) out.push(w.order);
    return out;
  }

  /**
   * Storage failed while the rows of these orders were being written. Those that have not reached the paper
   * exchange yet (their entry latency still running) are not sent: their arrival is dropped and they end
   * REJECTED with `reason`, so no order reaches the exchange without its record. The others (already there,
   * or not ours) are left to the kill switch. Returns the ids of those withdrawn.
   */
  withdrawUnrecorded(ids: ReadonlySet<string>, reason: string): string[] {
    if (ids.size === 0) return [];
    const dropped = this.scheduler.removeWhere((a) => a.kind === 'arrive' && ids.has(a.spec.id) && this.working.has(a.spec.id));
    const out: string[] = [];
    for (const a of dropped) {
      if (a.kind !== 'arrive') continue;
      const w = this.working.get(a.spec.id)!;
      this.counters.withdrawn++;
      out.push(w.order.id);
      // ended here, never seen by the exchange (not one of its rejections)
      w.order.rejectReason = reason;
      transition(w.order, 'REJECTED', this.now);
      this.afterReport(w, false, false);
    }
    return out;
  }

  /** Every working order. */
  allOpenOrders(): Order[] {
    return [...this.working.values()].map((w) => w.order);
  }

  /**
   * Sends one intent through the gateway. Approved, it becomes an order (status NEW) that reaches the
   * paper exchange after the entry latency. Returns the order, or null if the gateway denied it.
   */
  submit(intent: OrderIntent): Order | null {
    const clock = this.options.decisionClock;
    const deciding = clock !== undefined && this.deciding === this.deciding;
    if (deciding) this.tickToDecision.mark(STAGE_STRATEGY, clock());
    this.counters.intents++;
    const key = instrumentKey(intent.venue, intent.symbol);
    const sync = this.books.get(key);
    const inst = this.instruments.get(key);
    const position = this.portfolio.position(intent.venue, intent.symbol)?.qty ?? 0;
    let openBuy = 0;
    let openSell = 0;
    for (const w of this.working.values()) {
      if (w.order.venue !== intent.venue || w.order.symbol !== intent.symbol) continue;
      const left = qtyToNumber(w.inst, qtyUnitsOf(w) - w.filledUnits);
      if (w.order.side === 'BUY') openBuy += left;
      else openSell += left;
    }
    const snap = this.portfolio.snapshot(this.now);
    if (deciding) this.tickToDecision.mark(STAGE_SUBMIT, clock());
    const decision = this.gateway.check(intent, {
      now: this.now,
      instrument: inst,
      book: sync?.book,
      bookState: sync?.state,
      // Binance books only (the Alpaca simulator's clock is stepped by tests)
      feedLagMs: sync && intent.venue !== 'alpaca' && sync.book.lastEventTime > 0 ? this.feedLag[intent.venue].lagOf(sync.book.lastEventTime, sync.book.lastRecvTime) : undefined,
      position,
      openBuy,
      openSell,
      equity: snap.equity,
      grossExposure: snap.grossExposure,
      dataPoints: this.dataPoints.get(key) ?? 0,
      fundingRate: this.futures.get(intent.symbol)?.fundingRate ?? null,
      // kept current by advance(), which every input and timed action goes through
      scheduleReason: this.pauseReason(inst),
    });
    if (!decision.approved) {
      this.counters.denials++;
      if (decision.check === 'book_not_synced') this.counters.unsyncedSkips++;
      this.lastDenial = { time: this.now, venue: intent.venue, symbol: intent.symbol, check: decision.check, reason: decision.reason };
      this.options.store.insertDenial(this.options.sessionId, {
        time: this.now,
        venue: intent.venue,
        symbol: intent.symbol,
        strategy: intent.strategy,
        check: decision.check,
        reason: decision.reason,
        intent: { ...intent, qty: inst ? qtyToNumber(inst, intent.qtyUnits) : null },
      });
      if (this.observers.length > 0) this.notify({ type: 'denial', time: this.now, venue: intent.venue, symbol: intent.symbol, strategy: intent.strategy, check: decision.check, reason: decision.reason });
      return null;
    }
    if (deciding) this.tickToDecision.decide(this.deciding, clock());
    // the gateway has checked the instrument
    const approved = decision.order;
    const instrument = inst!;
    const id = `${this.options.sessionId}-${++this.orderSeq}`;
    const limit = approved.type === 'LIMIT';
    const order: Order = {
      id,
      venue: approved.venue,
      symbol: approved.symbol,
      side: approved.side,
      type: approved.type,
      timeInForce: limit ? approved.timeInForce ?? 'GTC' : 'IOC',
      postOnly: limit && approved.postOnly === true,
      qty: qtyToNumber(instrument, approved.qtyUnits),
      price: limit ? priceToNumber(instrument, approved.priceUnits ?? NaN) : null,
      strategy: approved.strategy,
      reason: approved.reason,
      status: 'NEW',
      filledQty: 0,
      avgPrice: 0,
      createdAt: this.now,
      updatedAt: this.now,
    };
    this.working.set(id, { order, inst: instrument, filledUnits: 0, notional: 0, fills: 0 });
    this.counters.orders++;
    this.options.store.upsertOrder(this.options.sessionId, order);
    if (this.observers.length > 0) this.notify({ type: 'order', time: this.now, order: { ...order } });
    const spec: ExchangeOrderSpec = {
      id,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      postOnly: order.postOnly,
      qtyUnits: approved.qtyUnits,
      priceUnits: limit ? approved.priceUnits ?? NaN : NaN,
    };
    this.brokerFor(order.venue).place(order, spec, instrument);
    return order;
  }

  /** Asks the exchange to cancel a working order (it arrives after the entry latency). */
  cancel(orderId: string): boolean {
    const w = this.working.get(orderId);
    if (!w || w.order.cancelRequestedAt !== undefined) return false;
    w.order.cancelRequestedAt = this.now;
    this.counters.cancels++;
    this.options.store.upsertOrder(this.options.sessionId, w.order);
    if (this.observers.length > 0) this.notify({ type: 'order', time: this.now, order: { ...w.order } });
    this.brokerFor(w.order.venue).cancel(w.order);
    return true;
  }

  /** Cancels every working order (optionally of one instrument); returns how many cancels were sent. */
  cancelAll(venue?: Venue, symbol?: string): number {
    let n = 0;
    for (const w of [...this.working.values()]) {
      if (venue !== undefined && w.order.venue !== venue) continue;
      if (symbol !== undefined && w.order.symbol !== symbol) continue;
      if (this.cancel(w.order.id)) n++;
    }
    return n;
  }

  /** When a request sent now reaches the exchange: after the entry latency, never before an earlier request. */
  private entryDue(): EpochMs {
    const due = Math.max(this.now + this.options.models.latency.entry(this.now), this.lastEntryDue);
    this.lastEntryDue = due;
    return due;
  }

  /** The exchange produced a report: it reaches us after the response latency, never overtaking another. */
  private onReport(r: ExchangeReport): void {
    const due = Math.max(r.time + this.options.models.latency.response(r.time), this.lastReportDue);
    this.lastReportDue = due;
    this.scheduler.push(due, { kind: 'report', report: r });
  }

  private deliver(r: ExchangeReport): void {
    const w = this.working.get(r.orderId);
    if (!w && r.kind === 'cancel_rejected') {
      // the cancel lost the race: the order ended (filled, rejected, expired) before the cancel arrived
      this.counters.cancelRejects++;
      return;
    }
    if (!w) {
      // a report for an order that already ended here: a broken invariant of the paper exchange
      this.counters.errors++;
      this.options.logger.error({ report: r }, 'report for an unknown order');
      return;
    }
    const order = w.order;
    const now = this.now;
    switch (r.kind) {
      case 'accepted':
        transition(order, 'ACCEPTED', now);
        break;
      case 'rejected':
        order.rejectReason = r.reason;
        this.counters.rejected++;
        transition(order, 'REJECTED', now);
        break;
      case 'canceled':
        transition(order, 'CANCELED', now);
        break;
      case 'expired':
        order.rejectReason = r.reason;
        transition(order, 'EXPIRED', now);
        break;
      case 'cancel_rejected':
        this.counters.cancelRejects++;
        break;
      case 'fill': {
        w.filledUnits += r.qtyUnits;
        w.notional += r.priceUnits * r.qtyUnits;
        w.fills++;
        const price = priceToNumber(w.inst, r.priceUnits);
        const qty = qtyToNumber(w.inst, r.qtyUnits);
        order.filledQty = qtyToNumber(w.inst, w.filledUnits);
        order.avgPrice = w.notional / w.filledUnits / 10 ** w.inst.priceDecimals;
        transition(order, r.leavesUnits > 0 ? 'PARTIALLY_FILLED' : 'FILLED', now);
        this.applyFill(this.fillOf(w, price, qty, r.feeRate, r.liquidity, r.time), order);
        break;
      }
      default:
        assertNeverReport(r);
    }
    this.afterReport(w, r.kind === 'fill', r.kind === 'cancel_rejected');
  }

  /** What follows every report of an order: forget it when ended, store it, tell observers, the log and its strategy. */
  private afterReport(w: Working, filled: boolean, cancelRejected: boolean): void {
    const order = w.order;
    if (isTerminal(order.status)) {
      this.working.delete(order.id);
      if (this.external(order.venue)) this.rememberEnded(w);
    }
    // after a kill with flatten, whatever was still in flight and filled is closed out as well
    if (this.flattening && (filled || isTerminal(order.status))) this.flatten(order.venue, order.symbol, 'flatten', 'kill switch: closing a fill that was in flight');
    if (!filled && !cancelRejected) {
      this.options.store.upsertOrder(this.options.sessionId, order);
      if (this.observers.length > 0) this.notify({ type: 'order', time: this.now, order: { ...order } });
    }
    if (this.options.logOrders && (isTerminal(order.status) || filled)) {
      // the line as the order is now; written after the input's decisions (options.defer)
      const line = { orderId: order.id, venue: order.venue, symbol: order.symbol, side: order.side, type: order.type, qty: order.qty, price: order.price, filledQty: order.filledQty, avgPrice: order.avgPrice, status: order.status, reason: order.rejectReason, strategy: order.strategy };
      const msg = this.external(order.venue) ? `${order.venue} order` : 'paper order';
      const logger = this.options.logger;
      this.later(() => logger.info(line, msg));
    }
    this.strategyFor(order.symbol).onOrderUpdate?.(order, this.ctx);
  }

  private rememberEnded(w: Working): void {
    this.endedExternal.set(w.order.id, w);
    if (this.endedExternal.size > 1000) this.endedExternal.delete(this.endedExternal.keys().next().value!);
  }

  // ---- outside brokers (Alpaca) ----

  /**
   * A report of an outside broker about one of our orders: an input (written to the event log), applied
   * at its receive time. Reports may come late, twice or out of order (a fill before the acknowledgement):
   * an acknowledgement is implied by any later state, and an execution books only the part of the
   * order's cumulative quantity not booked yet.
   */
  brokerReport(venue: Venue, r: BrokerReport, recvTime: EpochMs): void {
    this.options.inputLog?.write(recvTime, `${venue} order`, JSON.stringify(r));
    this.advance(recvTime);
    const w = this.working.get(r.orderId);
    if (!w) {
      const ended = this.endedExternal.get(r.orderId);
      // an execution of an order that ended here (canceled, then the venue says it filled first) is still booked
      const booked = ended !== undefined && r.kind === 'execution' && this.externalExecution(ended, r.cumQty, r.avgPrice, r.qty ?? null, r.price ?? null, r.time);
      if (!booked) this.counters.lateReports++;
      return;
    }
    const order = w.order;
    const now = this.now;
    if (w.order.venue !== venue) {
      this.counters.errors++;
      this.options.logger.error({ venue, report: r }, 'a broker reported an order of another venue');
      return;
    }
    switch (r.kind) {
      case 'accepted':
        if (order.status !== 'NEW') {
          this.counters.lateReports++;
          return;
        }
        transition(order, 'ACCEPTED', now);
        break;
      case 'rejected':
        order.rejectReason = r.reason;
        this.counters.rejected++;
        // a rejection after the acknowledgement ends the order as canceled, with the venue's reason
        transition(order, order.status === 'NEW' ? 'REJECTED' : 'CANCELED', now);
        break;
      case 'canceled':
        if (r.reason) order.rejectReason = r.reason;
        this.acknowledge(order);
        transition(order, 'CANCELED', now);
        break;
      case 'expired':
        order.rejectReason = r.reason;
        this.acknowledge(order);
        transition(order, 'EXPIRED', now);
        break;
      case 'cancel_rejected':
        this.counters.cancelRejects++;
        break;
      case 'execution':
        // booked (with its own afterReport), or nothing new: a late or repeated report
        if (!this.externalExecution(w, r.cumQty, r.avgPrice, r.qty ?? null, r.price ?? null, r.time)) this.counters.lateReports++;
        return;
      default:
        assertNeverBrokerReport(r);
    }
    this.afterReport(w, false, r.kind === 'cancel_rejected');
  }

  private acknowledge(order: Order): void {
    if (order.status === 'NEW') transition(order, 'ACCEPTED', this.now);
  }

  /**
   * Books the part of an order's cumulative fill (venue's decimal strings) not booked yet; false when
   * there is none (a late or repeated report). The part's price is the execution's own when the report
   * gave exactly that part, else what the venue's cumulative average implies for it.
   */
  private externalExecution(w: Working, cumQty: string, avgPrice: string, qty: string | null, price: string | null, time: EpochMs): boolean {
    const inst = w.inst;
    const cum = parseScaled(cumQty, inst.qtyDecimals);
    const avg = Number(avgPrice);
    if (Number.isNaN(cum) || !Number.isFinite(avg) || avg <= 0) {
      this.counters.errors++;
      this.options.logger.error({ orderId: w.order.id, cumQty, avgPrice }, 'broker execution with a quantity or price that is not a decimal of the instrument');
      return false;
    }
    const partUnits = cum - w.filledUnits;
    if (partUnits <= 0) return false;
    const part = qtyToNumber(inst, partUnits);
    const own = qty !== null && price !== null && parseScaled(qty, inst.qtyDecimals) === partUnits ? Number(price) : NaN;
    const before = qtyToNumber(inst, w.filledUnits);
    const partPrice = Number.isFinite(own) && own > 0 ? own : (qtyToNumber(inst, cum) * avg - before * w.order.avgPrice) / part;
    this.bookExternalFill(w, partUnits, partPrice, time, cum >= qtyUnitsOf(w) ? 'FILLED' : 'PARTIALLY_FILLED', avg);
    return true;
  }

  /** One fill of an outside broker's order, booked like a paper fill (fees from the fee table). */
  private bookExternalFill(w: Working, partUnits: number, price: number, time: EpochMs, to: 'FILLED' | 'PARTIALLY_FILLED', avgPrice: number | null): void {
    const order = w.order;
    const inst = w.inst;
    const wasWorking = this.working.has(order.id);
    // Alpaca does not say who provided liquidity: a GTC limit order that was acknowledged before and fills
    // at exactly its limit price is taken to have rested (maker); anything else took liquidity (taker)
    const rested = order.type === 'LIMIT' && order.timeInForce === 'GTC' && order.status !== 'NEW' && order.price !== null && Math.abs(price - order.price) < 1e-9 * Math.max(1, price);
    const liquidity = rested ? 'maker' : 'taker';
    if (wasWorking) this.acknowledge(order);
    const qty = qtyToNumber(inst, partUnits);
    const total = w.filledUnits + partUnits;
    order.avgPrice = avgPrice ?? (qtyToNumber(inst, w.filledUnits) * order.avgPrice + qty * price) / qtyToNumber(inst, total);
    w.filledUnits = total;
    w.fills++;
    order.filledQty = qtyToNumber(inst, total);
    if (wasWorking) transition(order, to, this.now);
    else order.updatedAt = this.now;
    this.applyFill(this.fillOf(w, price, qty, this.options.models.fees.rate(order.venue, order.symbol, liquidity), liquidity, time), order);
    if (wasWorking) this.afterReport(w, true, false);
    else this.options.store.upsertOrder(this.options.sessionId, order);
  }

  /**
   * Applies what reconciling with an outside broker found beyond order reports (an input, written to the
   * event log): positions that differ for reasons no fill explains, traded at the mark as a correction
   * order of strategy `reconcile`, so cash and equity stay consistent.
   */
  applyCorrections(venue: Venue, corrections: readonly EngineCorrection[], recvTime: EpochMs): number {
    this.options.inputLog?.write(recvTime, `${venue} rec`, JSON.stringify(corrections));
    this.advance(recvTime);
    let applied = 0;
    for (const c of corrections) if (this.adoptPosition(venue, c)) applied++;
    this.counters.corrections += applied;
    return applied;
  }

  private adoptPosition(venue: Venue, c: EngineCorrection): boolean {
    const inst = this.instruments.get(instrumentKey(venue, c.symbol));
    const target = inst ? parseScaled(c.qty.replace(/^-/, ''), inst.qtyDecimals) : NaN;
    if (!inst || Number.isNaN(target)) return false;
    const want = c.qty.startsWith('-') ? -target : target;
    const have = Math.round((this.portfolio.position(venue, c.symbol)?.qty ?? 0) * 10 ** inst.qtyDecimals);
    const diff = want - have;
    const mark = this.markPrice(inst);
    if (diff === 0 || !(mark > 0)) return false;
    const id = `${this.options.sessionId}-${++this.orderSeq}`;
    const order: Order = {
      id, venue, symbol: c.symbol, side: diff > 0 ? 'BUY' : 'SELL', type: 'MARKET', timeInForce: 'IOC', postOnly: false,
      qty: qtyToNumber(inst, Math.abs(diff)), price: null, strategy: 'reconcile',
      reason: `position at ${venue} is ${c.qty}, ours was ${qtyToNumber(inst, have)}: the difference booked at the mark`,
      status: 'NEW', filledQty: 0, avgPrice: 0, createdAt: this.now, updatedAt: this.now,
    };
    const w: Working = { order, inst, filledUnits: 0, notional: 0, fills: 0 };
    this.working.set(id, w);
    this.options.store.upsertOrder(this.options.sessionId, order);
    this.bookExternalFill(w, Math.abs(diff), mark, this.now, 'FILLED', null);
    return true;
  }

  /** the instrument's mid, else its last trade, else NaN */
  private markPrice(inst: Instrument): number {
    const key = instrumentKey(inst.venue, inst.symbol);
    const sync = this.books.get(key);
    const mid = sync?.synced ? sync.book.mid() : NaN;
    if (Number.isFinite(mid)) return priceToNumber(inst, mid);
    return this.lastTrade.get(key)?.price ?? NaN;
  }

  /** The w.fills-th fill of a working order, received now. */
  private fillOf(w: Working, price: number, qty: number, feeRate: number, liquidity: Fill['liquidity'], time: EpochMs): Fill {
    const o = w.order;
    return {
      id: `${o.id}-${w.fills}`,
      orderId: o.id,
      venue: o.venue,
      symbol: o.symbol,
      side: o.side,
      price,
      qty,
      fee: price * qty * feeRate,
      liquidity,
      strategy: o.strategy,
      time,
      receivedAt: this.now,
      realizedPnl: 0,
    };
  }

  private applyFill(fill: Fill, order: Order): void {
    const { trips } = this.portfolio.applyFill(fill);
    this.counters.fills++;
    const snap = this.portfolio.snapshot(this.now);
    // a fill always writes its equity row (in the fill's transaction)
    const row = this.recorder.observe(snap, true)!;
    this.options.store.recordFill(this.options.sessionId, fill, order, trips, row);
    for (const t of trips) if (t.status === 'CLOSED') this.gateway.observeTrip(t.netPnl, this.now);
    this.gateway.observeEquity(snap.equity, this.now);
    if (this.observers.length > 0) {
      this.notify({ type: 'fill', time: this.now, fill: { ...fill }, order: { ...order } });
      this.notify({ type: 'equity', time: this.now, equity: row });
    }
    this.persistControls();
  }

  equity(): number {
    return this.portfolio.snapshot(this.now).equity;
  }

  private sampleEquity(force: boolean): void {
    if (!force && this.now - this.lastEquitySample < this.options.config.EQUITY_SNAPSHOT_MS) return;
    this.lastEquitySample = this.now;
    const snap = this.portfolio.snapshot(this.now);
    this.gateway.observeEquity(snap.equity, this.now);
    this.persistControls();
    // written only when the account changed (and at shutdown)
    const row = this.recorder.observe(snap, force);
    if (row) {
      this.options.store.insertEquity(this.options.sessionId, row);
      if (this.observers.length > 0) this.notify({ type: 'equity', time: this.now, equity: row });
    }
  }
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
      // the accounting currency: USDT with Binance symbols, USD when only Alpaca's trade
      quoteCurrency: venueSymbols(this.options.config).binance.length === 0 ? 'USD' : 'USDT',
      initialBalance: s.initialCash,
      cash: s.cash,
      equity: s.equity,
      realizedPnl: s.realizedPnl,
      unrealizedPnl: s.unrealizedPnl,
      fees: s.fees,
      totalPnl: s.equity - s.initialCash,
      grossExposure: s.grossExposure,
      // the account's marks (the drawdown breaker keeps its own, which a reset starts again)
      ...this.accountMarks(s),
      fills: totals.count,
      buyNotional: totals.buyNotional,
      sellNotional: totals.sellNotional,
    };
  }

  private accountMarks(s: { equity: number; time: EpochMs }) {
    const m = this.recorder.state(this.now);
    const hwm = Math.max(m.highWaterMark, s.equity);
    const drawdown = hwm > 0 ? Math.min(0, s.equity / hwm - 1) : 0;
    return { highWaterMark: hwm, drawdown, maxDrawdown: Math.min(m.maxDrawdown, drawdown), drawdownSince: drawdown < 0 ? m.drawdownSince : null, longestDrawdownMs: m.longestDrawdownMs };
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

  /**
   * The session's statistics (docs/statistics.md): the summary fields, then `overall`, `bySymbol` and
   * `byStrategy` (per strategy version). Read from the store; recomputed when a fill or an equity row
   * was added, or the minute changed (the resampled curve grows with time).
   */
  metrics() {
    const store = this.options.store;
    const id = this.options.sessionId;
    const key = `${this.counters.fills}:${this.recorder.latest()?.time ?? 0}:${Math.floor(this.now / 60_000)}`;
    if (this.metricsCache?.key === key) return this.metricsCache.value;
    const curve = store.equityCurve(id, {}).map((p) => ({ time: p.time, equity: p.equity }));
    const trips = store.listTrades(id, { limit: 1_000_000 });
    const initialCash = this.options.config.INITIAL_BALANCE;
    const s = summarize(trips, curve, initialCash);
    const start = store.getSession(id)?.startedAt ?? this.options.startedAt;
    const perf = sessionPerformance({ initialCash, equity: curve, trips, fills: store.allFills(id), start, end: Math.max(start, this.now) });
    const stats = jsonSafe(perf) as JsonPerformance;
    // one definition: the top-level Sharpe and max drawdown are exactly `overall`'s (kept for older clients)
    const value: MetricsView = {
      ...s,
      sharpe: stats.overall.returns.sharpe,
      maxDrawdown: perf.overall.maxDrawdown,
      orders: this.counters.orders,
      fills: this.counters.fills,
      denials: this.counters.denials,
      ...stats,
    };
    this.metricsCache = { key, value };
    return value;
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
      haltReason: this.gateway.haltReason || null,
      paused: this.gateway.paused,
      pauseReason: this.gateway.pauseReason || null,
      lossStreak: { current: this.gateway.lossStreak, limit: this.gateway.limits.lossStreak, pausedUntil: this.gateway.lossPauseUntil },
      schedule: this.scheduleStatus(),
      drawdownBreaker: { tripped: this.gateway.breakerTripped, trippedAt: this.gateway.breakerTrippedAt, maxDrawdown: this.gateway.limits.maxDrawdown },
      highWaterMark: this.gateway.highWaterMark,
      drawdown: this.gateway.drawdown(equity),
      limits: this.gateway.limits,
      rateLimiter: this.gateway.limiter.usage(this.now),
      approved: this.gateway.approvedCount,
      denials: { ...this.gateway.denials },
      lastDenial: this.lastDenial,
      feedLag: { spot: this.feedLag.spot.status(), usdm: this.feedLag.usdm.status(), maxLagMs: this.gateway.limits.maxFeedLagMs ?? 0 },
    };
  }

  /** the ML gate of the strategy trading each symbol (null: no model, the gate is off) */
  mlStatus(): Record<string, unknown> | null {
    const state = this.options.strategy.status?.() as { ml?: Record<string, unknown> } | undefined;
    return state?.ml ?? null;
  }

  executionStatus() {
    const m = this.options.models;
    const c = this.options.config;
    return {
      tradeVenue: this.options.tradeVenue,
      queueModel: m.queue.name,
      latencyModel: m.latency.name,
      latencyMs: { entry: c.LATENCY_ENTRY_MS, response: c.LATENCY_RESPONSE_MS, jitter: c.LATENCY_JITTER_MS },
      fees: { maker: c.FEE_MAKER, taker: c.FEE_TAKER, overrides: c.FEE_OVERRIDES },
      impact: { recoveryMs: c.IMPACT_RECOVERY_MS, shape: c.IMPACT_SHAPE },
      openOrders: this.working.size,
      inFlight: this.scheduler.size,
      feedLatencyMs: { spot: this.feedLatency.spot.summary(), usdm: this.feedLatency.usdm.summary(), alpaca: this.feedLatency.alpaca.summary() },
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

function qtyUnitsOf(w: Working): number {
  return Math.round(w.order.qty * 10 ** w.inst.qtyDecimals);
}

function assertNeverAction(a: never): never {
  throw new Error(`unknown action ${JSON.stringify(a)}`);
}
function assertNeverReport(r: never): never {
  throw new Error(`unknown report ${JSON.stringify(r)}`);
}
function assertNeverBrokerReport(r: never): never {
  throw new Error(`unknown broker report ${JSON.stringify(r)}`);
}
function assertNeverControl(c: never): never {
  throw new Error(`unknown control ${JSON.stringify(c)}`);
}

/** Appends to a list kept at most `cap` long (drops the oldest). */
function pushCapped(list: number[], v: number, cap: number): void {
  list.push(v);
  if (list.length > cap) list.splice(0, list.length - cap);
}
