import { join, resolve } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from '../api/server.js';
import { redactedConfig, SECRET_KEYS, venueSymbols, type Config } from '../config/config.js';
import type { AlpacaBroker } from '../execution/alpaca/broker.js';
import { AlpacaFeed } from '../marketdata/alpaca/feed.js';
import type { FeedStatus } from '../marketdata/binance/feed.js';
import { createAlpacaBroker, prepareAlpaca } from './alpaca.js';
import type { RiskControlState } from '../risk/gateway.js';
import { preciseTime, receiveTime } from '../marketdata/binance/connection.js';
import { DueWake } from './wake.js';
import { BinanceFeed } from '../marketdata/binance/feed.js';
import { Store } from '../store/db.js';
import { EVENT_LOG_FORMAT, EventLogWriter, pruneEventLogs } from '../store/eventlog.js';
import { assertWritableDataDir, guardStore } from '../store/guard.js';
import type { Engine } from './engine.js';
import { EngineGroup } from './fanout.js';
import { DeferredWrites, orderRecorded } from '../store/deferred.js';
import { createEngine, createShadows, loadShadowParams, loadStrategyParams, resolveDecisionLatency } from './presets.js';
import { loadContinuation } from './restart.js';
import { VERSION } from '../version.js';
import { startTelegram, type TelegramService } from '../notify/index.js';

export interface LiveSession {
  engine: Engine;
  feeds: BinanceFeed[];
  /** Alpaca market data and orders, when Alpaca symbols trade */
  alpaca: { feed: AlpacaFeed; broker: AlpacaBroker } | null;
  api: FastifyInstance;
  /** http://host:port the API listens on */
  url: string;
  stop(): Promise<void>;
}

export function newSessionId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Live paper trading: Binance feeds -> engine -> paper exchange, with the API on HOST:PORT. */
export async function startLive(config: Config, logger: Logger, opts: { fresh?: boolean } = {}): Promise<LiveSession> {
  const startedAt = receiveTime();
  const symbols = venueSymbols(config);
  // Alpaca first: its symbols' trading rules and the market hours, or a clear error before anything starts
  const alpacaSetup = symbols.alpaca.length > 0 ? await prepareAlpaca(config, symbols.alpaca, logger.child({ component: 'alpaca' })) : null;
  const dataDir = resolve(config.DATA_DIR);
  assertWritableDataDir(dataDir);
  const dbFile = resolve(dataDir, 'papertape.db');
  const store = Store.open(dbFile);
  if (config.DB_MAX_MB > 0) store.limitSize(config.DB_MAX_MB * 2 ** 20);
  if (config.DB_SYNCHRONOUS === 'full') store.setSynchronous('full');
  // a full disk or a database that can no longer be written halts trading (kill switch), never crashes:
  // what was written stays intact (SQLite rolls the failed write back), /status says why
  let onStorageFailure = (_message: string): void => {};
  // orders whose row could not be written: withdrawn before they reach the paper exchange (withdrawLost)
  const lostOrders = new Set<string>();
  let withdrawLater: NodeJS.Immediate | null = null;
  let withdrawLost = (): void => {};
  const loseOrders = (ids: readonly string[]): void => {
    for (const id of ids) lostOrders.add(id);
    withdrawLater ??= setImmediate(() => withdrawLost());
  };
  const storage = guardStore(store, (message) => onStorageFailure(message), (method, args) => {
    if (method !== 'upsertOrder') return;
    // refused on its own (outside a frame's batch): lost unless an earlier write of it went in
    const id = (args[1] as { id: string }).id;
    if (!orderRecorded(store, args[0] as string, id)) loseOrders([id]);
  });
  // a restart continues the latest session (unless --fresh): same account, orders, fills, controls
  const cont = opts.fresh ? null : loadContinuation(store, logger);
  const requestedBalance = config.INITIAL_BALANCE;
  const sessionId = cont?.sessionId ?? newSessionId(Date.now());
  const runId = newSessionId(Date.now());
  const seed = config.SEED ?? randomInt(0, 2 ** 32 - 1);
  const strategyFile = loadStrategyParams(config, startedAt, logger.child({ component: 'strategy' }));
  const shadowParams = loadShadowParams(config, startedAt, logger.child({ component: 'strategy' }));
  // symbols a promoted shadow variant trades: kept in SQLite, carried over
  const promoted = store.getControl<Record<string, string>>('promoted') ?? null;
  if (cont) config = { ...config, INITIAL_BALANCE: cont.initialCash };
  // the decision latency the session charges, as a number in its header (replays charge the same)
  config = resolveDecisionLatency(config);
  const configForLog: Record<string, unknown> = { ...config };
  for (const k of SECRET_KEYS) delete configForLog[k];
  // the kill switch, a pause and a tripped breaker survive a restart, also into a fresh session
  const controls = cont?.restore.controls ?? store.getControl<RiskControlState>('risk') ?? null;
  if (controls?.halted || controls?.paused || controls?.breakerTripped) logger.warn({ controls }, 'controls carried over from the last run: trading stays stopped until POST /resume (or /risk/reset-breaker)');
  if (cont) {
    if (cont.initialCash !== requestedBalance) logger.warn({ sessionId, initialCash: cont.initialCash, INITIAL_BALANCE: requestedBalance }, 'continuing a session: its initial balance stays; start with --fresh for a new account');
    store.reopenSession(sessionId);
    logger.info({ sessionId, ...cont.summary }, 'continuing the last session');
  }
  const eventLog = config.EVENT_LOG
    ? new EventLogWriter(join(dataDir, 'sessions', runId), {
        format: EVENT_LOG_FORMAT, sessionId, runId, startedAt, version: VERSION, seed, database: dbFile, config: configForLog,
        controls: controls as Record<string, unknown> | null,
        restore: (cont?.restore ?? null) as Record<string, unknown> | null,
        strategyParams: (strategyFile?.event ?? null) as Record<string, unknown> | null,
        shadowParams: shadowParams as Record<string, unknown>,
        promoted,
        alpaca: alpacaSetup ? { calendar: alpacaSetup.calendar, flattenOnPause: config.ALPACA_FLATTEN_AT_CLOSE } : null,
      }, { maxFileBytes: config.EVENT_LOG_MAX_FILE_MB * 2 ** 20, onFailure: (message) => onStorageFailure(`event log: ${message}`), queued: true })
    : null;
  // event log housekeeping: retention by age and a cap on the total size, at start and every hour
  const pruneLogs = (): void => {
    try {
      const r = pruneEventLogs(join(dataDir, 'sessions'), {
        retentionDays: config.EVENT_LOG_RETENTION_DAYS,
        maxTotalBytes: config.EVENT_LOG_MAX_TOTAL_GB * 2 ** 30,
        now: Date.now(),
        keep: eventLog ? [eventLog.dir] : [],
      });
      if (r.deleted.length > 0) logger.info({ deleted: r.deleted.map((s) => ({ dir: s.dir, bytes: s.bytes, reason: s.reason })), freedBytes: r.freedBytes, remainingBytes: r.remainingBytes }, 'old event logs deleted');
      if (r.overCap) logger.warn({ remainingBytes: r.remainingBytes }, 'event logs above EVENT_LOG_MAX_TOTAL_GB: the running session alone is larger');
      for (const e of r.errors) logger.warn(e, 'event log could not be deleted');
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'event log housekeeping failed');
    }
  };
  pruneLogs();
  const pruner = setInterval(pruneLogs, 3_600_000);
  // the Alpaca broker reports to the trading engine (created just below) at each answer's receive time
  let engineRef: Engine | null = null;
  const broker = alpacaSetup
    ? createAlpacaBroker(config, alpacaSetup, {
        report: (r, t) => engineRef?.brokerReport('alpaca', r, t),
        correct: (c, t) => engineRef?.applyCorrections('alpaca', c, t) ?? 0,
        orders: () => engineRef?.venueOrders('alpaca') ?? [],
        positions: () => (engineRef?.portfolio.positions() ?? []).filter((p) => p.venue === 'alpaca').map((p) => ({ symbol: p.symbol, qty: p.qty })),
        symbols: symbols.alpaca,
      }, logger.child({ component: 'alpaca' }), receiveTime)
    : null;
  // a frame's writes (fills of earlier orders, order rows, equity, denials) wait until its decisions are
  // made, then go in one transaction, and its log lines and notices to observers follow them
  // (docs/performance.md, "Tick-to-decision"); patched after guardStore
  const deferred = new DeferredWrites(store, { failedWrites: () => storage.failedWrites, orders: loseOrders });
  const defer = (fn: () => void): void => deferred.later(fn);
  const engine: Engine = createEngine({
    config,
    sessionId,
    startedAt,
    seed,
    store,
    logger: logger.child({ component: 'engine' }),
    tradeVenue: config.TRADE_VENUE,
    inputLog: eventLog,
    logOrders: true,
    controls,
    continues: cont !== null,
    strategyParams: strategyFile?.event ?? null,
    variantParams: shadowParams,
    promoted,
    brokers: broker ? { alpaca: broker } : {},
    marketHours: alpacaSetup?.marketHours ?? null,
    // for the ML gate's start checks: what is traded, and which symbols have USD-M data (the futures feed below)
    market: {
      traded: [...symbols.binance.map((symbol) => ({ venue: config.TRADE_VENUE, symbol })), ...symbols.alpaca.map((symbol) => ({ venue: 'alpaca', symbol }))],
      futuresSymbols: config.FUTURES || config.TRADE_VENUE === 'usdm' ? symbols.binance : [],
    },
    // frame receive time to approved intent, and its stages, in HdrHistograms (GET /latency)
    decisionClock: preciseTime,
    defer,
  });
  engineRef = engine;
  let storageFailed = false;
  onStorageFailure = (message) => {
    // the database and the event log share the disk: the first failure halts, the others are logged
    if (storageFailed) {
      logger.error({ err: message, dataDir }, 'storage write failed too (trading already halted)');
      return;
    }
    storageFailed = true;
    const reason = `storage failure: ${message}`;
    logger.error({ err: message, dataDir }, 'database write failed: trading halted (kill switch); fix the disk, then restart');
    // no strategy order passes from now on; the kill (cancels, event log) follows outside the failed write
    engine.gateway.halt(reason);
    setImmediate(() => {
      try {
        engine.control({ cmd: 'kill', flatten: false, reason }, receiveTime());
      } catch (e) {
        logger.error({ err: (e as Error).message }, 'kill after a storage failure failed');
      }
    });
  };
  if (cont) engine.restore(cont.restore);
  // a write that failed while the engine was being created (starting or reopening the session) halts it now
  if (storage.error !== null) onStorageFailure(storage.error);
  // shadow variants: the same inputs, their own virtual accounts (one session each per run)
  const shadows = createShadows({ config, sessionId, startedAt, seed, store, defer, logger: logger.child({ component: 'shadow' }), tradeVenue: config.TRADE_VENUE, alsoTrade: alpacaSetup ? ['alpaca'] : [], marketHours: alpacaSetup?.marketHours ?? null }, runId, shadowParams);
  const group = new EngineGroup(engine, shadows);
  // no order reaches the paper exchange without its record: after a storage failure, the orders whose rows
  // were refused (or rolled back with their batch) and whose entry latency is still running are not sent
  withdrawLost = () => {
    if (withdrawLater) clearImmediate(withdrawLater);
    withdrawLater = null;
    if (lostOrders.size === 0) return;
    const ids = new Set(lostOrders);
    lostOrders.clear();
    const reason = `not sent: its record could not be written (${storage.error ?? 'storage failure'})`;
    const withdrawn = [engine, ...shadows.map((s) => s.engine)].flatMap((e) => e.withdrawUnrecorded(ids, reason));
    // their commit was refused: if the disk took it after all (an I/O error leaves that open), their rows are
    // there after a repair, as NEW orders that no exchange saw
    if (withdrawn.length > 0) logger.error({ orders: withdrawn }, 'orders whose records could not be written were not sent');
  };

  // timed actions (order arrivals, fills) run when due, between frames, not in the next frame's path
  // (their writes go in one transaction, their log lines and notices after, as a frame's)
  const dueWake = new DueWake({
    nextDue: () => group.nextDue(),
    now: receiveTime,
    tick: (t) => {
      deferred.begin();
      try {
        group.tick(t);
      } finally {
        deferred.end();
        withdrawLost();
      }
    },
  });
  let frameAt = NaN;
  const frame = {
    begin: () => {
      frameAt = receiveTime();
      deferred.begin();
    },
    end: () => {
      try {
        deferred.end();
      } finally {
        // before anything runs what is due: an order withdrawn here never arrives
        withdrawLost();
        dueWake.input(frameAt);
      }
    },
  };
  const feeds: BinanceFeed[] = [];
  if (symbols.binance.length > 0) feeds.push(
    new BinanceFeed({
      venue: 'spot',
      symbols: symbols.binance,
      wsUrl: config.BINANCE_SPOT_WS_URL,
      restUrl: config.BINANCE_SPOT_REST_URL,
      sink: group,
      logger: logger.child({ component: 'feed' }),
      inputLog: eventLog,
      idleTimeoutMs: config.BINANCE_WS_IDLE_TIMEOUT_MS,
      frame,
    }),
  );
  if (symbols.binance.length > 0 && (config.FUTURES || config.TRADE_VENUE === 'usdm')) {
    feeds.push(
      new BinanceFeed({
        venue: 'usdm',
        symbols: symbols.binance,
        wsUrl: config.BINANCE_FUTURES_WS_URL,
        restUrl: config.BINANCE_FUTURES_REST_URL,
        sink: group,
        logger: logger.child({ component: 'feed' }),
        openInterestPollMs: config.OPEN_INTEREST_POLL_MS,
        inputLog: eventLog,
        idleTimeoutMs: config.BINANCE_WS_IDLE_TIMEOUT_MS,
        frame,
      }),
    );
  }

  const alpacaFeed = alpacaSetup
    ? new AlpacaFeed({
        symbols: symbols.alpaca,
        instruments: alpacaSetup.instruments,
        streamUrl: config.ALPACA_STREAM_URL,
        dataUrl: config.ALPACA_DATA_URL,
        feed: config.ALPACA_FEED,
        credentials: alpacaSetup.credentials,
        sink: group,
        logger: logger.child({ component: 'feed' }),
        inputLog: eventLog,
        backfillMinutes: config.ALPACA_BACKFILL_MINUTES,
      })
    : null;
  const feedStatus = (): FeedStatus[] => [...feeds.map((f) => f.status()), ...(alpacaFeed ? [alpacaFeed.status() as FeedStatus] : [])];

  // Telegram (TELEGRAM_BOT_TOKEN + TELEGRAM_CHAT_ID): started once the API listens, its counters in /status
  let telegram: TelegramService | null = null;
  const api = buildApi({
    engine,
    feeds: feedStatus,
    ...(broker ? { alpaca: () => broker.status() } : {}),
    version: VERSION,
    startedAt,
    apiToken: config.API_TOKEN,
    rateLimit: config.API_RATE_LIMIT,
    clock: receiveTime,
    shadows: () => shadows.map((s) => ({ name: s.name, engine: s.engine })),
    session: () => ({ seed, storage: { ok: storage.error === null, error: storage.error, failedWrites: storage.failedWrites }, eventLog: eventLog ? { dir: eventLog.dir, lines: eventLog.lines, bytes: eventLog.bytes, error: eventLog.error, droppedLines: eventLog.droppedLines } : null, telegram: telegram?.stats() ?? null }),
  });
  await api.listen({ host: config.HOST, port: config.PORT });
  const addr = api.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  logger.info({ url, sessionId, seed, eventLog: eventLog?.dir ?? null, symbols, strategy: engine.strategy.id, config: redactedConfig(config) }, 'papertape running');
  telegram = startTelegram({
    config,
    engine,
    logger: logger.child({ component: 'telegram' }),
    clock: receiveTime, // commands are engine inputs at their receive time, as the API's
    startedAt,
    feeds: () => feedStatus().map((f) => ({ venue: f.venue, state: f.state })),
    startText: `${config.SYMBOLS.join(', ')}, strategy ${engine.strategy.id}, API ${url}`,
  });

  // Feeds start in the background: one venue being unreachable never blocks the other.
  for (const f of feeds) {
    f.start().catch((e: unknown) => logger.error({ venue: f.venue, err: (e as Error).message }, 'feed failed to start'));
  }
  // Alpaca: the broker listens to trade_updates (and reconciles once listening), the feed warms up then streams
  broker?.start();
  alpacaFeed?.start().catch((e: unknown) => logger.error({ venue: 'alpaca', err: (e as Error).message }, 'feed failed to start'));
  // Engine time moves with the inputs; these timers only make sure that, in a quiet market, what is
  // due (order arrivals, acknowledgements, fills) happens on time. Every tick goes to the event log.
  const ticker = setInterval(() => {
    group.tick(receiveTime());
    eventLog?.flush();
  }, 1000);
  // a fallback for what is scheduled outside a frame (commands from the API, Telegram, the Alpaca broker)
  const wake = setInterval(() => {
    const t = receiveTime();
    if (group.nextDue() <= t) group.tick(t);
    dueWake.arm();
  }, 5);

  // checkpoints: strategy and indicator state, queue places (the database has orders, fills, controls)
  const checkpoint = (): void => {
    try {
      store.writeCheckpoint(sessionId, engine.now, engine.checkpointState());
    } catch (e) {
      logger.error({ err: (e as Error).message }, 'checkpoint failed');
    }
  };
  const checkpointer = setInterval(checkpoint, config.CHECKPOINT_MS);
  // the anomaly strategy's parameter file: a change is an input of the engine (logged, replayed)
  const paramsPoller = strategyFile
    ? setInterval(() => {
        const ev = strategyFile.file.poll(Date.now());
        if (ev) engine.strategyParams(ev, receiveTime());
      }, config.ANOMALY_PARAMS_POLL_MS)
    : null;

  let stopped = false;
  return {
    engine,
    feeds,
    alpaca: alpacaFeed && broker ? { feed: alpacaFeed, broker } : null,
    api,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      clearInterval(wake);
      dueWake.stop();
      clearInterval(checkpointer);
      clearInterval(pruner);
      if (paramsPoller) clearInterval(paramsPoller);
      const t0 = performance.now();
      // stop intake (feeds, then the API: open connections are closed, not waited for), then write the
      // state a restart needs, then finish the event log files
      for (const f of feeds) f.stop();
      alpacaFeed?.stop();
      broker?.stop();
      await api.close();
      // no more Telegram commands or notices before the store closes; the last messages go out below
      await telegram?.quiesce();
      group.flush();
      checkpoint();
      store.endSession(sessionId, engine.now);
      for (const s of shadows) store.endSession(s.engine.sessionId, s.engine.now);
      store.close();
      const tState = performance.now();
      // the event log's last files and Telegram's last messages (a bounded wait) finish side by side
      await Promise.all([eventLog?.close(), telegram?.close({ drainMs: 1500 })]);
      logger.info({ sessionId, stateMs: Math.round(tState - t0), totalMs: Math.round(performance.now() - t0) }, 'papertape stopped');
    },
  };
}
