import type { Logger } from '../core/logger.js';
import type { Config } from '../config/config.js';
import { AlpacaBroker, type AlpacaBrokerSink } from '../execution/alpaca/broker.js';
import { instrumentFromAlpacaAsset } from '../execution/alpaca/instrument.js';
import { alpacaMarketHours, calendarWindow, checkClock } from '../execution/alpaca/market-hours.js';
import { AlpacaTradingClient } from '../execution/alpaca/trading.js';
import type { AlpacaCalendarDay } from '../execution/alpaca/decode.js';
import type { Credentials } from '../marketdata/alpaca/http.js';
import type { Instrument } from '../model/instrument.js';
import type { InstrumentSchedule } from './engine.js';

/** What a live session needs from Alpaca before the engine starts: the trading rules of its symbols and the market hours. */
export interface AlpacaSetup {
  client: AlpacaTradingClient;
  credentials: Credentials;
  instruments: Instrument[];
  /** US stock market hours (null when only crypto trades: 24/7) */
  marketHours: InstrumentSchedule | null;
  /** the calendar rows they were built from (for the event log header: a replay builds the same hours) */
  calendar: AlpacaCalendarDay[] | null;
}

/** The stock market hours of an Alpaca calendar (empty: NYSE rules), as the engine's instrument schedule. */
export function stockMarketHours(calendar: readonly AlpacaCalendarDay[], flattenOnPause: boolean): InstrumentSchedule {
  const hours = alpacaMarketHours(calendar, { flattenOnPause });
  return {
    appliesTo: (inst) => inst.venue === 'alpaca' && !inst.symbol.includes('/'),
    pauseAt: (t) => hours.pauseAt(t),
    describe: (t) => hours.describe(t),
    nextChange: (t) => hours.nextChange(t),
    flattenOnPause: hours.flattenOnPause,
  };
}

/** Thrown when Alpaca cannot be used as configured; the message lists every problem. */
export class AlpacaSetupError extends Error {
  constructor(readonly problems: string[]) {
    super(`Alpaca cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'AlpacaSetupError';
  }
}

export function alpacaCredentials(config: Config): Credentials {
  if (!config.APCA_API_KEY_ID || !config.APCA_API_SECRET_KEY) throw new AlpacaSetupError(['APCA_API_KEY_ID and APCA_API_SECRET_KEY are not set']);
  return { keyId: config.APCA_API_KEY_ID, secretKey: config.APCA_API_SECRET_KEY };
}

/**
 * Loads each symbol's asset (tradable? its increments) into an engine instrument, and the US market
 * hours from Alpaca's calendar, cross-checked against its clock. Every problem is listed at once.
 */
export async function prepareAlpaca(config: Config, symbols: readonly string[], logger: Logger): Promise<AlpacaSetup> {
  const credentials = alpacaCredentials(config);
  const client = new AlpacaTradingClient({
    baseUrl: config.ALPACA_TRADING_URL,
    credentials,
    timeoutMs: config.ALPACA_REQUEST_TIMEOUT_MS,
    log: (level, msg, extra) => logger[level](extra ?? {}, msg),
  });
  const problems: string[] = [];
  const instruments: Instrument[] = [];
  for (const symbol of symbols) {
    const a = await client.getAsset(symbol);
    if (!a.ok) {
      if (a.code === 'not_found') problems.push(`${symbol}: Alpaca has no such asset (a crypto pair is written BASE/QUOTE, e.g. DOGE/USD)`);
      else if (a.code === 'unauthorized') problems.push(`${symbol}: Alpaca refused the keys (${a.message}): check APCA_API_KEY_ID, APCA_API_SECRET_KEY and that ALPACA_TRADING_URL is the paper API for paper keys`);
      else problems.push(`${symbol}: asset could not be read from ${config.ALPACA_TRADING_URL}: ${a.message}`);
      continue;
    }
    const inst = instrumentFromAlpacaAsset(a.value);
    if (!inst.ok) problems.push(`${symbol}: ${inst.message}`);
    else if (inst.value.status !== 'TRADING') problems.push(`${symbol}: not tradable at Alpaca (status ${a.value.status}, tradable ${a.value.tradable})`);
    else instruments.push(inst.value);
  }
  if (problems.length > 0) throw new AlpacaSetupError(problems);

  let marketHours: InstrumentSchedule | null = null;
  let calendar: AlpacaCalendarDay[] | null = null;
  if (symbols.some((s) => !s.includes('/'))) {
    const now = Date.now();
    const w = calendarWindow(now);
    const cal = await client.getCalendar(w.start, w.end);
    if (!cal.ok) logger.warn({ error: cal.message }, 'alpaca calendar unavailable: market hours follow the NYSE rules (holidays, early closes)');
    calendar = cal.ok ? cal.value : [];
    const hours = alpacaMarketHours(calendar, { flattenOnPause: config.ALPACA_FLATTEN_AT_CLOSE });
    const clock = await client.getClock();
    if (clock.ok) {
      const diff = checkClock(hours, clock.value);
      if (diff.length > 0) logger.warn({ differences: diff }, 'alpaca clock and calendar disagree: the calendar decides');
    } else logger.warn({ error: clock.message }, 'alpaca clock unavailable');
    marketHours = stockMarketHours(calendar, config.ALPACA_FLATTEN_AT_CLOSE);
  }
  return { client, credentials, instruments, marketHours, calendar };
}

/** The Alpaca broker of a live session. */
export function createAlpacaBroker(config: Config, setup: AlpacaSetup, sink: AlpacaBrokerSink, logger: Logger, clock: () => number): AlpacaBroker {
  return new AlpacaBroker({
    client: setup.client,
    tradingUrl: config.ALPACA_TRADING_URL,
    credentials: setup.credentials,
    sink,
    logger,
    clock,
    reconcileMs: config.ALPACA_RECONCILE_MS,
    accountPollMs: config.ALPACA_ACCOUNT_POLL_MS,
  });
}
