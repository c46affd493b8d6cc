import { existsSync } from 'node:fs';
import type { Logger } from '../core/logger.js';
import { Rng } from '../core/rng.js';
import type { EpochMs, Venue } from '../core/types.js';
import { ConfigError, parseShadows, redactedConfig, variantConfig, venueSymbols, type Config } from '../config/config.js';
import type { Broker } from '../execution/broker.js';
import { parseFeeOverrides, TableFeeModel, type FeeOverride } from '../execution/paper/fees.js';
import { NoImpact, RecoveringImpact } from '../execution/paper/impact.js';
import { createLatencyModel } from '../execution/paper/latency.js';
import { parseQueueModel } from '../execution/paper/queue.js';
import type { LatencyModel } from '../execution/paper/models.js';
import type { InputLog } from '../marketdata/binance/processor.js';
import { DecisionLatency, MlGate } from '../ml/gate.js';
import { loadModelCached, resolveModelPath } from '../ml/model.js';
import { FUTURES_FEATURES } from '../features/schema.js';
import type { Store } from '../store/db.js';
import { AnomalyStrategy } from '../strategy/anomaly/anomaly.js';
import { ParamsFile, type ParamsEvent } from '../strategy/anomaly/params.js';
import { ObiStrategy } from '../strategy/obi/obi.js';
import type { Strategy } from '../strategy/strategy.js';
import { VERSION } from '../version.js';
import type { RiskControlState } from '../risk/gateway.js';
import { ShabbatSchedule, type NightfallRule } from '../risk/schedule.js';
import { Engine, type ExchangeModels, type InstrumentSchedule, type TradingSchedule } from './engine.js';

/** Alpaca's fees when FEE_OVERRIDES names no alpaca entry: stocks commission-free, crypto tier 1 (0.15% maker, 0.25% taker). */
export const ALPACA_DEFAULT_FEES = { stock: { maker: 0, taker: 0 }, crypto: { maker: 0.0015, taker: 0.0025 } } as const;

/** The fee overrides: FEE_OVERRIDES, plus Alpaca's own fees for the Alpaca symbols unless FEE_OVERRIDES has alpaca entries. */
export function feeOverrides(config: Config): FeeOverride[] {
  const given = parseFeeOverrides(config.FEE_OVERRIDES);
  if (given.some((o) => o.venue === 'alpaca')) return given;
  const alpaca = venueSymbols(config).alpaca.map((symbol): FeeOverride => ({ venue: 'alpaca', symbol, ...(symbol.includes('/') ? ALPACA_DEFAULT_FEES.crypto : ALPACA_DEFAULT_FEES.stock) }));
  return [...given, ...alpaca];
}

/** The paper exchange's models as the configuration chooses them; every random draw comes from `rng`. */
export function buildModels(config: Config, rng: Rng): ExchangeModels {
  const fees = new TableFeeModel({ maker: config.FEE_MAKER, taker: config.FEE_TAKER }, feeOverrides(config));
  const latency = createLatencyModel(
    {
      model: config.LATENCY_MODEL,
      entryMs: config.LATENCY_ENTRY_MS,
      responseMs: config.LATENCY_RESPONSE_MS,
      jitterMs: config.LATENCY_JITTER_MS,
      halfLifeMs: config.LATENCY_VOL_HALF_LIFE_MS,
      sensitivity: config.LATENCY_VOL_SENSITIVITY,
      maxMultiplier: config.LATENCY_VOL_MAX_MULTIPLIER,
    },
    rng,
  );
  const recovery = config.IMPACT_RECOVERY_MS;
  const shape = config.IMPACT_SHAPE;
  return {
    queue: parseQueueModel(config.QUEUE_MODEL),
    fees,
    latency,
    impact: () => (recovery > 0 ? new RecoveringImpact(recovery, shape) : new NoImpact()),
  };
}

/** The Shabbat end rule of SHABBAT_END ('degrees:8.5' or 'minutes:72'). */
export function shabbatEnd(text: string): NightfallRule {
  const [kind, value] = text.split(':');
  return kind === 'minutes' ? { kind: 'minutes', minutes: Number(value) } : { kind: 'degrees', degrees: Number(value) };
}

/** The trading schedule as configured (null when SHABBAT_PAUSE is off). */
export function buildSchedule(config: Config): TradingSchedule | null {
  if (!config.SHABBAT_PAUSE) return null;
  const shabbat = new ShabbatSchedule({
    lat: config.SHABBAT_LAT,
    lon: config.SHABBAT_LON,
    tz: config.SHABBAT_TZ,
    candleMinutes: config.SHABBAT_CANDLE_MINUTES,
    end: shabbatEnd(config.SHABBAT_END),
  });
  return {
    flattenOnPause: config.SHABBAT_FLATTEN,
    pauseAt(t) {
      const w = shabbat.windowAt(t);
      return w ? { reason: `Shabbat until ${w.endIso}`, until: w.end } : null;
    },
    describe(t) {
      const w = shabbat.windowAt(t) ?? shabbat.nextWindow(t);
      return { shabbat: { rule: shabbat.describe(), nextPause: w.startIso, nextResume: w.endIso, ...(w.fallback ? { fallback: w.fallback } : {}) } };
    },
  };
}

/**
 * The configured strategy. The anomaly strategy takes its parameters from an event (the parameter file as
 * read at start, logged so a replay never reads the file); without one it uses its defaults.
 */
/**
 * Reads the anomaly strategy's parameter file at start: its parameters, or null when there is no file
 * (the defaults apply). A file that exists but does not parse stops the start, every problem listed.
 */
export function loadStrategyParams(config: Config, now: EpochMs, logger?: Logger): { file: ParamsFile; event: ParamsEvent | null } | null {
  if (config.STRATEGY !== 'anomaly') return null;
  const file = new ParamsFile(config.ANOMALY_PARAMS_FILE, logger);
  const ev = file.load(now);
  if (ev.kind === 'anomaly_params') return { file, event: ev };
  if (!existsSync(config.ANOMALY_PARAMS_FILE)) {
    logger?.warn({ path: config.ANOMALY_PARAMS_FILE }, 'no anomaly parameter file: the defaults apply (the file is read when it appears)');
    return { file, event: null };
  }
  throw new Error(`${config.ANOMALY_PARAMS_FILE}: ${ev.message}${ev.errors.length > 0 ? `\n  - ${ev.errors.join('\n  - ')}` : ''}`);
}

/** What the start knows of the market a gate will see (for the checks of `buildGate`). */
export interface GateStart {
  logger?: Logger;
  /** the instruments the strategy trades (null/absent: not known, no checks) */
  traded?: readonly { venue: string; symbol: string }[] | null;
  /** the symbols with USD-M data (null/absent: not known, no check) */
  futuresSymbols?: readonly string[] | null;
}

/**
 * The obi strategy's ML gate as configured: null when MODEL_PATH is empty (or the strategy is not obi).
 * The model is loaded and checked once per process (feature schema, sha256, parity rows, onnxruntime); a
 * model that fails a check stops the start with the reason. `latency` receives the decision latency of
 * gated entries (see `withDecisionLatency`): ML_DECISION_LATENCY_US, by default (`model`) the model's
 * recorded p50 rounded up to whole µs (a model.json without one stops the start). With `start`: a model
 * that reads futures features stops the start when a traded symbol has no USD-M data (ConfigError), and a
 * traded instrument the model was not trained on is logged as a warning and shown in /status.
 */
export function buildGate(config: Config, latency: DecisionLatency | null, start: GateStart = {}): MlGate | null {
  if (config.STRATEGY !== 'obi' || config.MODEL_PATH === '') return null;
  let model;
  try {
    model = loadModelCached(resolveModelPath(config.MODEL_PATH));
  } catch (e) {
    throw new Error(`MODEL_PATH=${config.MODEL_PATH}: ${(e as Error).message}`);
  }
  const sc = model.sidecar;
  let latencyUs: number;
  let source: string;
  if (config.ML_DECISION_LATENCY_US === 'model') {
    const p50 = sc.latency?.p50Us;
    if (p50 === undefined) {
      throw new ConfigError([
        `MODEL_PATH=${config.MODEL_PATH}: ${model.name}'s model.json records no measured inference latency, which ML_DECISION_LATENCY_US=model charges: run \`papertape model-latency ${model.dir}\` (or set ML_DECISION_LATENCY_US to a number of µs)`,
      ]);
    }
    latencyUs = Math.ceil(p50);
    source = `model.json latency.p50Us ${p50} µs rounded up (papertape model-latency, ${sc.latency!.date}, ${sc.latency!.cpu})`;
  } else {
    latencyUs = config.ML_DECISION_LATENCY_US;
    source = 'ML_DECISION_LATENCY_US';
  }
  const futuresUsed = sc.features.used.filter((n) => (FUTURES_FEATURES as readonly string[]).includes(n));
  if (futuresUsed.length > 0 && start.traded && start.futuresSymbols) {
    const have = new Set(start.futuresSymbols);
    const missing = [...new Set(start.traded.map((i) => i.symbol))].filter((sym) => !have.has(sym));
    if (missing.length > 0) {
      throw new ConfigError([
        `MODEL_PATH=${config.MODEL_PATH}: ${model.name} reads the USD-M futures features ${futuresUsed.join(', ')}, but ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no USD-M data (live: FUTURES=true and a Binance symbol; backtest: a USD-M recording of the symbol): the model would see NaN where it was trained on values`,
      ]);
    }
  }
  const gate = new MlGate(model, config.MIN_CONFIDENCE, latencyUs, latency);
  gate.decisionLatencySource = source;
  const trained = sc.trainedOn;
  for (const i of start.traded ?? []) {
    if (i.venue === trained.venue && i.symbol === trained.symbol) continue;
    const w = `${model.name} was trained on ${trained.venue}:${trained.symbol}, not on the traded ${i.venue}:${i.symbol}: its features there have another scale (order flow in base units) and its probabilities are not calibrated for it`;
    gate.warnings.push(w);
    start.logger?.warn({ model: model.id, instrument: `${i.venue}:${i.symbol}`, trainedOn: `${trained.venue}:${trained.symbol}` }, w);
  }
  return gate;
}

/**
 * The paper exchange's latency model with the ML decision latency added to the entry latency of the
 * orders the gate let through (`DecisionLatency`: charged by the strategy, taken by the next entry).
 */
export function withDecisionLatency(inner: LatencyModel, charge: DecisionLatency): LatencyModel {
  return {
    name: inner.name,
    entry: (now) => inner.entry(now) + charge.take(now),
    response: (now) => inner.response(now),
    observeMid: (now, mid, stream) => inner.observeMid(now, mid, stream),
  };
}

/**
 * The configuration with ML_DECISION_LATENCY_US=model resolved to the number of µs it charges, for a live
 * run's session header: a replay then charges what the live run charged, even after the model's latency
 * has been measured again.
 */
export function resolveDecisionLatency(config: Config): Config {
  if (config.ML_DECISION_LATENCY_US !== 'model') return config;
  const gate = buildGate(config, null);
  return gate === null ? config : { ...config, ML_DECISION_LATENCY_US: gate.decisionLatencyMs * 1000 };
}

export function buildStrategy(config: Config, params?: ParamsEvent | null, latency: DecisionLatency | null = null, start: GateStart = {}): Strategy {
  if (config.STRATEGY === 'anomaly') {
    const s = new AnomalyStrategy();
    if (params) s.onParamsEvent(params);
    return s;
  }
  return new ObiStrategy({
    levels: config.OBI_LEVELS,
    decay: config.OBI_DECAY,
    threshold: config.IMBALANCE_THRESHOLD,
    persistence: config.OBI_PERSISTENCE,
    maxSpreadTicks: config.OBI_MAX_SPREAD_TICKS,
    orderNotional: config.ORDER_NOTIONAL,
    maxPosition: config.RISK_MAX_POSITION,
    cooldownMs: config.OBI_COOLDOWN_MS,
    orderType: config.OBI_ORDER_TYPE,
    orderTtlMs: config.OBI_ORDER_TTL_MS,
    momentumMs: config.OBI_MOMENTUM_MS,
    momentumTicks: config.OBI_MOMENTUM_TICKS,
    volWindowMs: config.OBI_VOL_WINDOW_MS,
    minVolBps: config.OBI_MIN_VOL_BPS,
    maxVolBps: config.OBI_MAX_VOL_BPS,
    oiConfirm: config.OBI_OI_CONFIRM,
    oiWindowMs: config.OBI_OI_WINDOW_MS,
    liqMax: config.OBI_LIQ_MAX,
    liqWindowMs: config.OBI_LIQ_WINDOW_MS,
    maxHoldMs: config.OBI_MAX_HOLD_MS,
    exitOnOpposite: config.OBI_EXIT_ON_OPPOSITE,
  }, buildGate(config, latency, start));
}

export interface SessionSpec {
  config: Config;
  sessionId: string;
  startedAt: EpochMs;
  seed: number;
  store: Store;
  logger: Logger;
  tradeVenue: Venue;
  inputLog?: InputLog | null;
  logOrders?: boolean;
  /** extra facts stored with the session's configuration (e.g. the backtest's input files) */
  meta?: Record<string, unknown>;
  controls?: Partial<RiskControlState> | null;
  schedule?: TradingSchedule | null;
  /** the session exists already (a restart continues it): do not start it again */
  continues?: boolean;
  /** the anomaly strategy's parameters as read at start */
  strategyParams?: ParamsEvent | null;
  /** the shadow variants' parameters as read at start, by name (what a promotion builds from) */
  variantParams?: Record<string, ParamsEvent | null>;
  /** symbol -> promoted variant, carried over from before */
  promoted?: Record<string, string> | null;
  /** outside brokers by venue (Alpaca) */
  brokers?: Partial<Record<Venue, Broker>>;
  /** venues traded on the paper exchange besides tradeVenue */
  alsoTrade?: readonly Venue[];
  /** market hours of the instruments they apply to (US stocks) */
  marketHours?: InstrumentSchedule | null;
  /** live only: the receive clock, to record tick-to-decision latency (EngineOptions.decisionClock) */
  decisionClock?: () => number;
  /** live only: what only reports on an input runs after its decisions and writes (EngineOptions.defer) */
  defer?: (fn: () => void) => void;
  /**
   * the market the strategy will see, for the ML gate's start checks (`GateStart`): the traded instruments
   * and the symbols with USD-M data (absent: not checked, e.g. a replay of a session that started)
   */
  market?: { traded: readonly { venue: string; symbol: string }[]; futuresSymbols: readonly string[] } | null;
}

/** Each shadow variant's strategy parameters as read now (anomaly variants: their parameter file). */
export function loadShadowParams(config: Config, now: EpochMs, logger?: Logger): Record<string, ParamsEvent | null> {
  const out: Record<string, ParamsEvent | null> = {};
  for (const v of parseShadows(config.SHADOW)) out[v.name] = loadStrategyParams(variantConfig(config, v), now, logger)?.event ?? null;
  return out;
}

/**
 * The shadow engines of SHADOW: each variant's strategy on its own virtual account (session
 * `<runKey>~<name>`), the same data and fill models, no event log, no operator controls. Anomaly variants
 * read their parameter file once, at start (`params`, by variant name, lets a replay pass what was read).
 */
export function createShadows(s: SessionSpec, runKey: string, params?: Record<string, ParamsEvent | null>): { name: string; engine: Engine; params: ParamsEvent | null }[] {
  return parseShadows(s.config.SHADOW).map((v) => {
    const config = variantConfig(s.config, v);
    const p = params !== undefined ? params[v.name] ?? null : loadStrategyParams(config, s.startedAt, s.logger)?.event ?? null;
    const engine = createEngine({
      config,
      sessionId: `${runKey}~${v.name}`,
      startedAt: s.startedAt,
      seed: s.seed,
      store: s.store,
      logger: s.logger,
      tradeVenue: s.tradeVenue,
      // no outside broker: a shadow trades the Alpaca symbols on its paper exchange, under the same market hours
      alsoTrade: [...(s.alsoTrade ?? []), ...(Object.keys(s.brokers ?? {}) as Venue[])],
      marketHours: s.marketHours ?? null,
      market: s.market ?? null,
      strategyParams: p,
      meta: { shadowOf: s.sessionId, variant: v.name, overrides: v.overrides },
      ...(s.defer ? { defer: s.defer } : {}),
    });
    return { name: v.name, engine, params: p };
  });
}

/** One engine, wired the same way live, in a backtest and in a replay: only the inputs differ. */
export function createEngine(s: SessionSpec): Engine {
  // the decision latency of model-gated entries goes from the strategy (and a promoted variant) to the entry latency
  const decision = new DecisionLatency();
  // first the strategy: a model that fails its checks stops the start before a session is recorded
  const strategy = buildStrategy(s.config, s.strategyParams ?? null, decision, { logger: s.logger, ...(s.market ?? {}) });
  if (!s.continues) s.store.startSession({
    id: s.sessionId,
    startedAt: s.startedAt,
    config: { ...redactedConfig(s.config), seed: s.seed, tradeVenue: s.tradeVenue, ...(s.meta ?? {}) },
    initialCash: s.config.INITIAL_BALANCE,
    version: VERSION,
  });
  const models = buildModels(s.config, new Rng(s.seed));
  return new Engine({
    config: s.config,
    sessionId: s.sessionId,
    store: s.store,
    strategy,
    models: { ...models, latency: withDecisionLatency(models.latency, decision) },
    logger: s.logger,
    startedAt: s.startedAt,
    tradeVenue: s.tradeVenue,
    inputLog: s.inputLog ?? null,
    logOrders: s.logOrders ?? false,
    controls: s.controls ?? null,
    schedule: s.schedule !== undefined ? s.schedule : buildSchedule(s.config),
    promoted: s.promoted ?? null,
    brokers: s.brokers ?? {},
    alsoTrade: s.alsoTrade ?? [],
    marketHours: s.marketHours ?? null,
    ...(s.decisionClock ? { decisionClock: s.decisionClock } : {}),
    ...(s.defer ? { defer: s.defer } : {}),
    variantStrategy: (name) => {
      const v = parseShadows(s.config.SHADOW).find((x) => x.name === name);
      return v ? buildStrategy(variantConfig(s.config, v), s.variantParams?.[name] ?? null, decision) : null;
    },
  });
}
