import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from '../api/server.js';
import { redactedConfig, type Config } from '../config/config.js';
import { PaperBroker } from '../execution/paper/broker.js';
import { BinanceFeed } from '../marketdata/binance/feed.js';
import { Store } from '../store/db.js';
import { ObiStrategy } from '../strategy/obi/obi.js';
import { Engine } from './engine.js';
import { VERSION } from '../version.js';

export interface LiveSession {
  engine: Engine;
  feeds: BinanceFeed[];
  api: FastifyInstance;
  /** http://host:port the API listens on */
  url: string;
  stop(): Promise<void>;
}

export function newSessionId(now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Live paper trading: Binance feeds -> engine -> paper broker, with the API on HOST:PORT. */
export async function startLive(config: Config, logger: Logger): Promise<LiveSession> {
  const startedAt = Date.now();
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const store = Store.open(resolve(dataDir, 'papertape.db'));
  const sessionId = newSessionId(startedAt);
  const strategy = new ObiStrategy({
    levels: config.OBI_LEVELS,
    decay: config.OBI_DECAY,
    threshold: config.IMBALANCE_THRESHOLD,
    persistence: config.OBI_PERSISTENCE,
    maxSpreadTicks: config.OBI_MAX_SPREAD_TICKS,
    orderNotional: config.ORDER_NOTIONAL,
    maxPosition: config.RISK_MAX_POSITION,
    cooldownMs: config.OBI_COOLDOWN_MS,
  });
  store.startSession({ id: sessionId, startedAt, config: redactedConfig(config), initialCash: config.INITIAL_BALANCE, version: VERSION });
  const engine = new Engine({
    config,
    sessionId,
    store,
    broker: new PaperBroker({ takerFee: config.TAKER_FEE, idPrefix: sessionId }),
    strategy,
    logger: logger.child({ component: 'engine' }),
    startedAt,
  });

  const feeds: BinanceFeed[] = [
    new BinanceFeed({
      venue: 'spot',
      symbols: config.SYMBOLS,
      wsUrl: config.BINANCE_SPOT_WS_URL,
      restUrl: config.BINANCE_SPOT_REST_URL,
      sink: engine,
      logger: logger.child({ component: 'feed' }),
    }),
  ];
  if (config.FUTURES) {
    feeds.push(
      new BinanceFeed({
        venue: 'usdm',
        symbols: config.SYMBOLS,
        wsUrl: config.BINANCE_FUTURES_WS_URL,
        restUrl: config.BINANCE_FUTURES_REST_URL,
        sink: engine,
        logger: logger.child({ component: 'feed' }),
        openInterestPollMs: config.OPEN_INTEREST_POLL_MS,
      }),
    );
  }

  const api = buildApi({ engine, feeds: () => feeds.map((f) => f.status()), version: VERSION, startedAt });
  await api.listen({ host: config.HOST, port: config.PORT });
  const addr = api.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  logger.info({ url, sessionId, symbols: config.SYMBOLS, strategy: strategy.id, config: redactedConfig(config) }, 'papertape running');

  // Feeds start in the background: one venue being unreachable never blocks the other.
  for (const f of feeds) {
    f.start().catch((e: unknown) => logger.error({ venue: f.venue, err: (e as Error).message }, 'feed failed to start'));
  }
  const ticker = setInterval(() => engine.tick(Date.now()), 1000);

  let stopped = false;
  return {
    engine,
    feeds,
    api,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      for (const f of feeds) f.stop();
      await api.close();
      engine.flush();
      store.endSession(sessionId, Date.now());
      store.close();
      logger.info({ sessionId }, 'papertape stopped');
    },
  };
}
