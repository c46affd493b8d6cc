import { collectDefaultMetrics, Counter, Gauge, Registry, type Metric } from 'prom-client';
import { VENUES, type Venue } from '../core/types.js';
import type { Engine } from '../engine/engine.js';
import type { FeedLatencyDistribution } from '../execution/paper/latency.js';
import type { FeedStatus } from '../marketdata/binance/feed.js';

/**
 * GET /metrics/prometheus: the engine, its feeds and the process in Prometheus' text exposition format.
 *
 * Nothing here runs on the hot path: every value is read at scrape time, in the metrics' `collect()`
 * callbacks, from one view of the engine taken when the scrape begins. The registry is this server's own
 * (never prom-client's global one); process metrics (prom-client's default metrics) live in one registry
 * per process, made at the first scrape, since they describe the process and not one server.
 */

export interface PrometheusSource {
  engine: Engine;
  feeds: () => FeedStatus[];
  shadows?: () => { name: string; engine: Engine }[];
  version: string;
  startedAt: number;
  /** wall clock (ms) */
  now: () => number;
}

/** What one scrape reads, taken once when it begins. */
interface ScrapeView {
  time: number;
  feeds: FeedStatus[];
  account: ReturnType<Engine['account']>;
  positions: ReturnType<Engine['positions']>;
  risk: ReturnType<Engine['riskStatus']>;
  books: { venue: string; symbol: string; state: string; bestBid: number | null; bestAsk: number | null; ageMs: number | null; resyncs: number }[];
  latency: { venue: Venue; d: FeedLatencyDistribution }[];
  shadows: { name: string; engine: Engine }[];
}

type Labels = Record<string, string>;

let processRegistry: Registry | null = null;
/** prom-client's default metrics (CPU, memory, event loop lag, GC, handles) on a registry of their own, one per process. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * A histogram whose buckets are read at scrape time from the feed-latency HdrHistograms (prom-client's
 * Histogram can only observe values one by one). Registered like prom-client's own metrics.
 */
class FeedLatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly view: () => ScrapeView,
  ) {}
  get() {
    const values: { metricName: string; labels: Labels; value: number }[] = [];
    for (const { venue, d } of this.view().latency) {
      let cumulative = 0;
      d.buckets.le.forEach((leMs, i) => {
        cumulative += d.buckets.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { venue, le: String(leMs / 1000) }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { venue, le: '+Inf' }, value: d.count });
      values.push({ metricName: `${this.name}_sum`, labels: { venue }, value: d.sumMs / 1000 });
      values.push({ metricName: `${this.name}_count`, labels: { venue }, value: d.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

type SummaryValue = { metricName?: string; labels: Labels; value: number };

/**
 * A Prometheus summary read at scrape time from the live engine's tick-to-decision HdrHistograms (quantiles over
 * the whole session, µs converted to seconds): `values` gives the samples.
 */
abstract class EngineSummaryMetric {
  readonly type = 'summary';
  readonly aggregator = 'sum';
  abstract readonly name: string;
  abstract readonly help: string;
  constructor(protected readonly engine: Engine) {}
  protected abstract values(): SummaryValue[];
  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.values() };
  }
}

/** quantile samples in seconds from percentiles in µs (absent ones left out) */
function quantiles(labels: Labels, qs: readonly (readonly [string, number | null])[]): SummaryValue[] {
  return qs.filter(([, us]) => us !== null).map(([quantile, us]) => ({ labels: { ...labels, quantile }, value: us! / 1e6 }));
}

/** The tick-to-decision latency (input receive time to approved intent), with _sum and _count. */
class TickToDecisionSummaryMetric extends EngineSummaryMetric {
  readonly name = 'papertape_tick_to_decision_seconds';
  readonly help = 'Live: from the receive time of a market-data frame to the risk gateway approving the order intent it led to (session quantiles, HdrHistogram)';
  protected values(): SummaryValue[] {
    const t = this.engine.tickToDecision;
    const s = t.summary();
    return [
      ...quantiles({}, [['0.5', s.p50Us], ['0.9', s.p90Us], ['0.99', s.p99Us], ['0.999', s.p999Us]]),
      { metricName: `${this.name}_sum`, labels: {}, value: t.sumSeconds() },
      { metricName: `${this.name}_count`, labels: {}, value: s.count },
    ];
  }
}

/** The stages of tick-to-decision (GET /latency decisionStages), a summary per stage: p50, p90, p99. */
class DecisionStageMetric extends EngineSummaryMetric {
  readonly name = 'papertape_tick_to_decision_stage_seconds';
  readonly help = 'Live: time of each stage of the frame path (receive, due, decode, market, strategy, submit, risk) in the decisions made on a market-data frame (session quantiles, HdrHistogram)';
  protected values(): SummaryValue[] {
    return Object.entries(this.engine.tickToDecision.stages().stages).flatMap(([stage, s]) => quantiles({ stage }, [['0.5', s.p50Us], ['0.9', s.p90Us], ['0.99', s.p99Us]]));
  }
}

const bool = (b: boolean): number => (b ? 1 : 0);
const finite = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private current: ScrapeView | null = null;
  /** per venue: messages at the previous rate sample, and the rate then */
  private readonly rates = new Map<string, { time: number; messages: number; rate: number }>();

  constructor(private readonly src: PrometheusSource) {
    this.define();
  }

  /** The exposition text: this server's metrics, then the process metrics. */
  async text(): Promise<string> {
    this.current = this.takeView();
    try {
      const own = await this.registry.metrics();
      const proc = await processMetrics().metrics();
      return `${own}\n${proc}`;
    } finally {
      this.current = null;
    }
  }

  private view(): ScrapeView {
    // a scrape of the registry alone (not through text()) still gets values
    return this.current ?? this.takeView();
  }

  private takeView(): ScrapeView {
    const { engine } = this.src;
    const books: ScrapeView['books'] = [];
    for (const [key, b] of Object.entries(engine.bookStatus())) {
      const s = b as { state: string; bestBid: number | null; bestAsk: number | null; lastUpdateAgeMs: number | null; resyncs: number };
      const i = key.indexOf(':');
      books.push({ venue: key.slice(0, i), symbol: key.slice(i + 1), state: s.state, bestBid: s.bestBid, bestAsk: s.bestAsk, ageMs: s.lastUpdateAgeMs, resyncs: s.resyncs });
    }
    const feeds = this.src.feeds();
    // venues with a feed, and any other whose latency was measured (replays)
    const venues = new Set<Venue>(feeds.map((f) => f.venue));
    for (const v of VENUES) if (engine.feedLatency[v].summary().count > 0) venues.add(v);
    return {
      time: this.src.now(),
      feeds,
      account: engine.account(),
      positions: engine.positions(),
      risk: engine.riskStatus(),
      books,
      latency: [...venues].map((venue) => ({ venue, d: engine.feedLatency[venue].distribution() })),
      shadows: this.src.shadows?.() ?? [],
    };
  }

  /** Messages per second per venue since the previous sample at least a second old (the first: since start). */
  private messageRate(venue: string, messages: number, now: number): number {
    const prev = this.rates.get(venue);
    if (!prev) {
      const secs = Math.max(1, (now - this.src.startedAt) / 1000);
      const rate = messages / secs;
      this.rates.set(venue, { time: now, messages, rate });
      return rate;
    }
    if (now - prev.time < 1000) return prev.rate;
    const rate = Math.max(0, messages - prev.messages) / ((now - prev.time) / 1000);
    this.rates.set(venue, { time: now, messages, rate });
    return rate;
  }

  private define(): void {
    const reg = this.registry;
    const view = () => this.view();
    const gauge = (name: string, help: string, labelNames: string[], values: (v: ScrapeView) => Iterable<[Labels, number | null]>) =>
      new Gauge({
        name, help, labelNames, registers: [reg],
        collect() {
          this.reset();
          for (const [l, x] of values(view())) if (finite(x)) (labelNames.length ? this.set(l, x) : this.set(x));
        },
      });
    const counter = (name: string, help: string, labelNames: string[], values: (v: ScrapeView) => Iterable<[Labels, number]>) =>
      new Counter({
        name, help, labelNames, registers: [reg],
        collect() {
          this.reset();
          for (const [l, x] of values(view())) if (finite(x) && x >= 0) (labelNames.length ? this.inc(l, x) : this.inc(x));
        },
      });
    const one = (x: number | null): [Labels, number | null][] => [[{}, x]];
    const { engine, version, startedAt } = this.src;

    gauge('papertape_info', 'Constant 1, labelled with the version, session and strategy', ['version', 'session', 'strategy'], () => [
      [{ version, session: engine.sessionId, strategy: engine.strategy.id }, 1],
    ]);
    gauge('papertape_uptime_seconds', 'Seconds since the engine started', [], (v) => one((v.time - startedAt) / 1000));
    gauge('papertape_engine_time_seconds', 'Engine time (the latest input), epoch seconds', [], () => one(engine.now / 1000));

    // ---- feeds ----
    counter('papertape_feed_messages_total', 'Market-data messages received, per venue', ['venue'], (v) => v.feeds.map((f) => [{ venue: f.venue }, f.messages]));
    counter('papertape_feed_malformed_total', 'Malformed market-data messages, per venue and kind', ['venue', 'kind'], (v) =>
      v.feeds.flatMap((f) => Object.entries(f.malformed).map(([kind, n]) => [{ venue: f.venue, kind }, n] as [Labels, number])),
    );
    gauge('papertape_feed_message_rate', 'Market-data messages per second, per venue, since the previous scrape at least 1 s before (the first scrape: since start)', ['venue'], (v) =>
      v.feeds.map((f) => [{ venue: f.venue }, this.messageRate(f.venue, f.messages, v.time)]),
    );
    gauge('papertape_feed_up', '1 when the venue feed is up (every connection and book healthy), else 0', ['venue'], (v) => v.feeds.map((f) => [{ venue: f.venue }, bool(f.state === 'up')]));
    gauge('papertape_feed_state', 'The feed state per venue: 1 on the current state (up, degraded, down)', ['venue', 'state'], (v) =>
      v.feeds.flatMap((f) => (['up', 'degraded', 'down'] as const).map((s) => [{ venue: f.venue, state: s }, bool(f.state === s)] as [Labels, number])),
    );
    counter('papertape_feed_reconnects_total', 'WebSocket reconnections, per venue', ['venue'], (v) =>
      v.feeds.map((f) => [{ venue: f.venue }, f.connections.reduce((a, c) => a + c.reconnects, 0)]),
    );
    gauge('papertape_feed_rest_weight_1m', 'REST request weight used in the current minute (venue header), per venue', ['venue'], (v) => v.feeds.map((f) => [{ venue: f.venue }, f.rest.usedWeight1m]));
    reg.registerMetric(
      new FeedLatencyHistogram('papertape_feed_latency_seconds', 'Feed latency (local receive time minus exchange event time), per venue; buckets exact to the microsecond up to 2 ms, within 0.1% above', view) as unknown as Metric,
    );
    counter('papertape_feed_latency_negative_total', 'Messages received before their exchange time (local clock behind the exchange), per venue', ['venue'], (v) =>
      v.latency.map(({ venue, d }) => [{ venue }, d.negative]),
    );

    // ---- engine counters ----
    const c = engine.counters;
    const counters: [string, string, () => number][] = [
      ['papertape_events_total', 'Market events handled by the engine', () => c.events],
      ['papertape_book_updates_total', 'Order book updates applied', () => c.bookUpdates],
      ['papertape_market_trades_total', 'Market trades seen', () => c.trades],
      ['papertape_ticks_total', 'Timer ticks', () => c.ticks],
      ['papertape_intents_total', 'Order intents from strategies, stops and the kill switch', () => c.intents],
      ['papertape_orders_total', 'Orders sent (approved by the risk gateway)', () => c.orders],
      ['papertape_fills_total', 'Fills', () => c.fills],
      ['papertape_rejects_total', 'Orders rejected by the (paper) exchange', () => c.rejected],
      ['papertape_cancels_total', 'Cancels sent', () => c.cancels],
      ['papertape_cancel_rejects_total', 'Cancels that lost the race with the order ending', () => c.cancelRejects],
      ['papertape_unsynced_skips_total', 'Intents dropped because the book was not synced', () => c.unsyncedSkips],
      ['papertape_resyncs_total', 'Order book resynchronizations', () => c.resyncs],
      ['papertape_errors_total', 'Broken invariants caught by the engine (should stay 0)', () => c.errors],
      ['papertape_orders_withdrawn_total', 'Orders not sent because their record could not be written (storage failure)', () => c.withdrawn],
    ];
    for (const [name, help, f] of counters) counter(name, help, [], () => [[{}, f()]]);
    counter('papertape_denials_total', 'Intents denied by the risk gateway, per check', ['check'], (v) => Object.entries(v.risk.denials).map(([check, n]) => [{ check }, n]));
    counter('papertape_approvals_total', 'Intents approved by the risk gateway', [], (v) => [[{}, v.risk.approved]]);
    reg.registerMetric(new TickToDecisionSummaryMetric(engine) as unknown as Metric);
    reg.registerMetric(new DecisionStageMetric(engine) as unknown as Metric);

    // ---- account ----
    gauge('papertape_equity', 'Account equity (quote currency)', [], (v) => one(v.account.equity));
    gauge('papertape_cash', 'Cash (quote currency)', [], (v) => one(v.account.cash));
    gauge('papertape_realized_pnl', 'Realized P&L, gross of fees (quote currency)', [], (v) => one(v.account.realizedPnl));
    gauge('papertape_unrealized_pnl', 'Unrealized P&L at the marks (quote currency)', [], (v) => one(v.account.unrealizedPnl));
    gauge('papertape_fees', 'Fees paid (quote currency)', [], (v) => one(v.account.fees));
    gauge('papertape_gross_exposure', 'Sum of |position notional| (quote currency)', [], (v) => one(v.account.grossExposure));
    gauge('papertape_high_water_mark', "The account's highest equity", [], (v) => one(v.account.highWaterMark));
    gauge('papertape_drawdown_ratio', 'Equity / high-water mark - 1 (0 at a high, negative below)', [], (v) => one(v.account.drawdown));
    gauge('papertape_max_drawdown_ratio', 'Worst drawdown of the session (negative)', [], (v) => one(v.account.maxDrawdown));
    gauge('papertape_position_qty', 'Signed position (base units), per instrument', ['venue', 'symbol'], (v) => v.positions.map((p) => [{ venue: p.venue, symbol: p.symbol }, p.qty]));
    gauge('papertape_position_notional', 'Signed position notional at the mark (quote currency), per instrument', ['venue', 'symbol'], (v) =>
      v.positions.map((p) => [{ venue: p.venue, symbol: p.symbol }, p.notional]),
    );
    gauge('papertape_position_unrealized_pnl', 'Unrealized P&L per instrument (quote currency)', ['venue', 'symbol'], (v) =>
      v.positions.map((p) => [{ venue: p.venue, symbol: p.symbol }, p.unrealizedPnl]),
    );
    gauge('papertape_open_orders', 'Working orders (sent, not ended)', [], () => one(engine.executionStatus().openOrders));
    gauge('papertape_in_flight', 'Requests and reports travelling through the latency model', [], () => one(engine.executionStatus().inFlight));

    // ---- risk ----
    gauge('papertape_halted', '1 while the kill switch holds every strategy', [], (v) => one(bool(v.risk.halted)));
    gauge('papertape_paused', '1 while strategies are paused (API, Telegram)', [], (v) => one(bool(v.risk.paused)));
    gauge('papertape_breaker_tripped', '1 while the drawdown breaker is tripped', [], (v) => one(bool(v.risk.drawdownBreaker.tripped)));
    gauge('papertape_schedule_paused', '1 while the trading schedule (Shabbat, market hours) pauses strategies', [], (v) => {
      const s = v.risk.schedule as { paused?: unknown } | null;
      return one(s && typeof s.paused === 'boolean' ? bool(s.paused) : null);
    });
    gauge('papertape_breaker_drawdown_ratio', "The drawdown breaker's drawdown (from its own high-water mark, which a reset restarts)", [], (v) => one(v.risk.drawdown));
    gauge('papertape_loss_streak', 'Losing round trips in a row', [], (v) => one(v.risk.lossStreak.current));

    // ---- books ----
    gauge('papertape_book_synced', '1 when the order book is synced with the venue, per instrument', ['venue', 'symbol'], (v) => v.books.map((b) => [{ venue: b.venue, symbol: b.symbol }, bool(b.state === 'synced')]));
    gauge('papertape_book_state', 'The order book state per instrument: 1 on the current state (synced, syncing, resyncing)', ['venue', 'symbol', 'state'], (v) =>
      v.books.flatMap((b) => (['synced', 'syncing', 'resyncing'] as const).map((s) => [{ venue: b.venue, symbol: b.symbol, state: s }, bool(b.state === s)] as [Labels, number])),
    );
    gauge('papertape_book_best_bid', 'Best bid per instrument', ['venue', 'symbol'], (v) => v.books.map((b) => [{ venue: b.venue, symbol: b.symbol }, b.bestBid]));
    gauge('papertape_book_best_ask', 'Best ask per instrument', ['venue', 'symbol'], (v) => v.books.map((b) => [{ venue: b.venue, symbol: b.symbol }, b.bestAsk]));
    gauge('papertape_book_update_age_seconds', 'Engine time since the last book change, per instrument', ['venue', 'symbol'], (v) =>
      v.books.map((b) => [{ venue: b.venue, symbol: b.symbol }, b.ageMs === null ? null : b.ageMs / 1000]),
    );
    counter('papertape_book_resyncs_total', 'Resynchronizations per instrument', ['venue', 'symbol'], (v) => v.books.map((b) => [{ venue: b.venue, symbol: b.symbol }, b.resyncs]));

    // ---- shadow variants ----
    gauge('papertape_variant_equity', 'Equity of each shadow variant (SHADOW) in its virtual account', ['variant'], (v) => v.shadows.map((s) => [{ variant: s.name }, s.engine.equity()]));
    counter('papertape_variant_fills_total', 'Fills of each shadow variant', ['variant'], (v) => v.shadows.map((s) => [{ variant: s.name }, s.engine.counters.fills]));
  }
}
