import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../core/logger.js';
import { BINANCE_VENUES as VENUES, type BinanceVenue, type EpochMs, type Venue } from '../core/types.js';
import { venueSymbols, type Config } from '../config/config.js';
import type { Broker, BrokerReport, EngineCorrection } from '../execution/broker.js';
import type { AlpacaCalendarDay } from '../execution/alpaca/decode.js';
import { AlpacaProcessor } from '../marketdata/alpaca/processor.js';
import { stockMarketHours } from './alpaca.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import { VenueProcessor } from '../marketdata/binance/processor.js';
import { envelopeStream, parseRecordLine, readGzipLineBatches, readRecording, type ReadStats } from '../marketdata/recording/format.js';
import { summarize } from '../portfolio/stats.js';
import { Store } from '../store/db.js';
import { readEventLog, readSessionHeader, type EventLogReadOptions, type SessionHeader } from '../store/eventlog.js';
import type { RiskControlState } from '../risk/gateway.js';
import type { ParamsEvent } from '../strategy/anomaly/params.js';
import type { ControlCommand, Engine, RestoreState } from './engine.js';
import { EngineGroup } from './fanout.js';
import { createEngine, createShadows, loadShadowParams, loadStrategyParams } from './presets.js';

/** What one recording file holds. */
export interface RecordingInfo {
  file: string;
  venue: BinanceVenue;
  symbol: string;
}

/**
 * Finds a recording's venue and symbol from its content: the stream names of its envelopes, and on a
 * depth message the USD-M `pu` field. Falls back to the path (`/usdm/`) and file name (`btcusdt_...`).
 */
export async function inspectRecording(file: string): Promise<RecordingInfo> {
  let symbol: string | null = null;
  let venue: Venue | null = null;
  let n = 0;
  let first: EpochMs | null = null;
  for await (const r of readRecording(file)) {
    first ??= nsToMs(String(r.recvNs));
    const stream = envelopeStream(r.text);
    if (stream !== null) {
      symbol ??= stream.split('@')[0]!.toUpperCase();
      if (stream.includes('@depth')) venue = r.text.includes('"pu":') ? 'usdm' : 'spot';
      else if (stream.includes('@markPrice') || stream.includes('@forceOrder')) venue = 'usdm';
    }
    if ((symbol !== null && venue !== null) || ++n > 5000) break;
  }
  venue ??= /(^|[/\\_-])usdm([/\\_.-]|$)/i.test(file) ? 'usdm' : 'spot';
  symbol ??= /^([a-z0-9]+)_/i.exec(basename(file))?.[1]?.toUpperCase() ?? null;
  if (symbol === null) throw new Error(`${file}: cannot tell which symbol it records (no stream messages, no SYMBOL_ file name)`);
  const info = { file, venue, symbol };
  if (first !== null) firstSeen.set(info, first);
  return info;
}

/** The first receive time inspectRecording saw, by the info it returned: firstReceiveTime need not read the file again. */
const firstSeen = new WeakMap<RecordingInfo, EpochMs>();

/** One file being read: the current chunk of lines and where we are in it. */
interface Cursor {
  info: RecordingInfo;
  it: AsyncIterator<string[]>;
  lines: string[];
  i: number;
  done: boolean;
  /** receive time (ns, as digits) and payload of the current line */
  ns: string;
  text: string;
}

/**
 * Reads several recordings merged by receive time (ties: the order of the files given) and calls `onLine`
 * for each line, synchronously. Reading is chunked: one await per decompressed chunk, not per line, and
 * receive times are compared as digit strings (no BigInt per line). Lines that are not `<digits> <json>`
 * are counted in stats.malformed.
 */
export async function forEachMergedLine(
  files: readonly RecordingInfo[],
  stats: ReadStats,
  onLine: (ns: string, text: string, info: RecordingInfo) => void,
): Promise<void> {
  const cursors: Cursor[] = files.map((info) => ({ info, it: readGzipLineBatches(info.file, stats)[Symbol.asyncIterator](), lines: [], i: 0, done: false, ns: '', text: '' }));
  const advance = async (c: Cursor): Promise<void> => {
    for (;;) {
      while (c.i >= c.lines.length) {
        const r = await c.it.next();
        if (r.done) {
          c.done = true;
          return;
        }
        c.lines = r.value;
        c.i = 0;
      }
      const rec = parseRecordLine(c.lines[c.i]!, true);
      if (rec !== null) {
        c.ns = rec.ns;
        c.text = rec.text;
        return;
      }
      stats.malformed++;
      c.i++;
    }
  };
  for (const c of cursors) await advance(c);
  const live = cursors.filter((c) => !c.done);
  while (live.length > 0) {
    let best = live[0]!;
    for (let k = 1; k < live.length; k++) {
      const c = live[k]!;
      if (c.ns.length < best.ns.length || (c.ns.length === best.ns.length && c.ns < best.ns)) best = c;
    }
    onLine(best.ns, best.text, best.info);
    best.i++;
    if (best.i < best.lines.length) {
      // fast path: the next line of the same chunk
      const rec = parseRecordLine(best.lines[best.i]!, true);
      if (rec !== null) {
        best.ns = rec.ns;
        best.text = rec.text;
        continue;
      }
      stats.malformed++;
      best.i++;
    }
    await advance(best);
    if (best.done) live.splice(live.indexOf(best), 1);
  }
}

/** The earliest first receive time of the recordings (engine time starts there); throws if all are empty. */
export async function firstReceiveTime(infos: readonly RecordingInfo[]): Promise<EpochMs> {
  let startTime = Infinity;
  for (const i of infos) {
    const seen = firstSeen.get(i);
    if (seen !== undefined) {
      startTime = Math.min(startTime, seen);
      continue;
    }
    for await (const r of readRecording(i.file)) {
      startTime = Math.min(startTime, nsToMs(String(r.recvNs)));
      break;
    }
  }
  if (startTime === Infinity) throw new Error('the recordings hold no messages');
  return startTime;
}

/** A receive time in ns (digits) as engine time: ms at microsecond resolution, like the live feed. */
export function nsToMs(ns: string): EpochMs {
  // the microseconds summed digit by digit: exact, hence equal to Number(ns.slice(0, -3)), while below
  // 2^53 (15 digits always are); no substring and no string-to-number conversion per line
  const n = ns.length - 3;
  if (n > 15) return Number(ns.slice(0, -3)) / 1000;
  let us = 0;
  for (let i = 0; i < n; i++) us = us * 10 + (ns.charCodeAt(i) - 48);
  return us / 1000;
}

export interface OfflineSummary {
  sessionId: string;
  database: string;
  events: number;
  orders: number;
  fills: number;
  trades: number;
  pnl: number;
  fees: number;
  finalEquity: number;
  initialBalance: number;
  denials: number;
  rejected: number;
  openOrders: number;
  winRate: number | null;
  sharpe: number | null;
  maxDrawdown: number | null;
  startTime: EpochMs;
  endTime: EpochMs;
  /** market time covered, ms */
  spanMs: number;
  elapsedMs: number;
  /** market time / wall time */
  speed: number;
  malformed: number;
  /** receive time minus exchange event time of depth diffs and trades, per venue (ms) */
  feedLatencyMs: ReturnType<Engine['executionStatus']>['feedLatencyMs'];
  /** the shadow variants (SHADOW): their own virtual accounts */
  shadows?: ShadowSummary[];
}

export interface ShadowSummary {
  name: string;
  sessionId: string;
  strategy: string;
  orders: number;
  fills: number;
  pnl: number;
  fees: number;
}

function shadowSummaries(shadows: readonly { name: string; engine: Engine }[]): ShadowSummary[] {
  return shadows.map(({ name, engine }) => {
    const a = engine.account();
    return { name, sessionId: engine.sessionId, strategy: engine.strategy.id, orders: engine.counters.orders, fills: engine.counters.fills, pnl: a.totalPnl, fees: a.fees };
  });
}

function summary(engine: Engine, store: Store, db: string, events: number, startTime: EpochMs, elapsedMs: number, malformed: number): OfflineSummary {
  const id = engine.sessionId;
  const acct = engine.account();
  const trips = store.listTrades(id, { limit: 10_000_000 });
  const curve = store.equityCurve(id, {}).map((p) => ({ time: p.time, equity: p.equity }));
  const stats = summarize(trips, curve, acct.initialBalance);
  const spanMs = Math.max(0, engine.now - startTime);
  return {
    sessionId: id,
    database: db,
    events,
    orders: engine.counters.orders,
    fills: engine.counters.fills,
    trades: trips.filter((t) => t.status === 'CLOSED').length,
    pnl: acct.totalPnl,
    fees: acct.fees,
    finalEquity: acct.equity,
    initialBalance: acct.initialBalance,
    denials: engine.counters.denials,
    rejected: engine.counters.rejected,
    openOrders: engine.allOpenOrders().length,
    winRate: stats.winRate,
    sharpe: stats.sharpe,
    maxDrawdown: stats.maxDrawdown,
    startTime,
    endTime: engine.now,
    spanMs,
    elapsedMs,
    speed: elapsedMs > 0 ? spanMs / elapsedMs : Infinity,
    malformed,
    feedLatencyMs: engine.executionStatus().feedLatencyMs,
  };
}

function freshDatabase(file: string): Store {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) rmSync(f);
  // rebuilt from the inputs on every run: no waiting for the disk (the same content)
  return Store.open(file, { scratch: true });
}

export interface BacktestOptions {
  config: Config;
  /** true when TRADE_VENUE was set explicitly; otherwise spot is traded if recorded, else USD-M */
  tradeVenueSet: boolean;
  seed: number;
  /** the SQLite file to write (replaced if it exists), or a function of the session id */
  database: string | ((sessionId: string) => string);
  logger: Logger;
  /** called now and then with the fraction of input read (0..1) */
  onProgress?: (fraction: number, events: number) => void;
}

/**
 * Runs the live engine in-process over recordings, as fast as it goes: no sockets, the same decoder,
 * book procedure, strategy, risk gateway and paper exchange. Instruments come from the reference
 * exchangeInfo (recordings do not carry it). The same files, configuration and seed give the same
 * session id, orders, fills and database.
 */
/** Inspects every recording file (venue, symbol, first time); throws on an empty list or a missing file. */
export async function inspectRecordings(files: readonly string[]): Promise<RecordingInfo[]> {
  if (files.length === 0) throw new Error('no recording files given');
  const infos: RecordingInfo[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`${f}: no such file`);
    infos.push(await inspectRecording(f));
  }
  return infos;
}

export async function runBacktest(files: readonly string[], o: BacktestOptions): Promise<OfflineSummary> {
  const started = performance.now();
  const infos = await inspectRecordings(files);
  const venues = VENUES.filter((v) => infos.some((i) => i.venue === v));
  const tradeVenue: Venue = o.tradeVenueSet || venues.includes(o.config.TRADE_VENUE) ? o.config.TRADE_VENUE : venues[0]!;
  const symbols = [...new Set(infos.map((i) => i.symbol))];
  for (const i of infos) {
    if (REFERENCE_EXCHANGE_INFO[i.venue][i.symbol] === undefined) {
      throw new Error(`${i.file}: no reference exchangeInfo for ${i.venue}:${i.symbol} (known: ${VENUES.flatMap((v) => Object.keys(REFERENCE_EXCHANGE_INFO[v]).map((s) => `${v}:${s}`)).join(', ')})`);
    }
  }
  const totalBytes = infos.reduce((s, i) => s + statSync(i.file).size, 0);
  const identity = createHash('sha256')
    .update(JSON.stringify({ files: infos.map((i) => [basename(i.file), statSync(i.file).size]), seed: o.seed, config: o.config, tradeVenue }))
    .digest('hex')
    .slice(0, 12);
  const sessionId = `bt-${identity}`;

  // engine time starts at the first receive time of the data
  const startTime = await firstReceiveTime(infos);
  const stats: ReadStats = { lines: 0, malformed: 0 };

  // for the ML gate's start checks: the traded instruments and the symbols with a USD-M recording
  const market = {
    traded: [...new Set(infos.filter((i) => i.venue === tradeVenue).map((i) => i.symbol))].map((symbol) => ({ venue: tradeVenue, symbol })),
    futuresSymbols: [...new Set(infos.filter((i) => i.venue === 'usdm').map((i) => i.symbol))],
  };
  const database = typeof o.database === 'string' ? o.database : o.database(sessionId);
  const store = freshDatabase(database);
  try {
    const strategyParams = loadStrategyParams(o.config, startTime, o.logger)?.event ?? null;
    const variantParams = loadShadowParams(o.config, startTime, o.logger);
    const engine = createEngine({
      config: o.config,
      strategyParams,
      variantParams,
      sessionId,
      startedAt: startTime,
      seed: o.seed,
      store,
      logger: o.logger,
      tradeVenue,
      meta: { backtest: { files: infos.map((i) => ({ file: basename(i.file), venue: i.venue, symbol: i.symbol })) } },
      market,
    });
    const shadows = createShadows({ config: o.config, sessionId, startedAt: startTime, seed: o.seed, store, logger: o.logger, tradeVenue, market }, sessionId, variantParams);
    const group = new EngineGroup(engine, shadows);
    const processors = new Map<Venue, VenueProcessor>();
    for (const v of venues) {
      const p = new VenueProcessor({ venue: v, sink: group, logger: o.logger, symbols });
      const err = p.onExchangeInfo({ symbols: symbols.map((s) => REFERENCE_EXCHANGE_INFO[v][s]).filter((x) => x !== undefined) }, startTime);
      if (err) throw new Error(`${v}: ${err}`);
      processors.set(v, p);
    }
    let events = 0;
    let unknownLines = 0;
    store.beginBatch();
    await forEachMergedLine(infos, stats, (ns, text, info) => {
      events++;
      const t = nsToMs(ns);
      const p = processors.get(info.venue)!;
      if (text.startsWith('{"stream"')) p.onMessage(text, t);
      else if (text.startsWith('{"lastUpdateId"')) p.onSnapshot(info.symbol, JSON.parse(text) as unknown, t);
      else unknownLines++;
      if ((events & 0x3fff) === 0) {
        store.commitBatch();
        store.beginBatch();
        o.onProgress?.(Math.min(1, (stats.compressedBytes ?? 0) / totalBytes), events);
      }
    });
    store.commitBatch();
    // what is still in flight at the end of the data arrives at its time
    group.tick(Math.max(engine.now, group.nextDue() === Infinity ? engine.now : group.nextDue()));
    group.flush();
    store.endSession(sessionId, engine.now);
    for (const s of shadows) store.endSession(s.engine.sessionId, s.engine.now);
    o.onProgress?.(1, events);
    let malformed = stats.malformed + unknownLines;
    for (const p of processors.values()) malformed += Object.values(p.decoder.malformed).reduce((a, b) => a + b, 0);
    return { ...summary(engine, store, database, events, startTime, performance.now() - started, malformed), shadows: shadowSummaries(shadows) };
  } finally {
    store.close();
  }
}

export interface ReplayOptions {
  database: string;
  logger: Logger;
  onProgress?: (events: number) => void;
  /** How to read the event log: skip corrupt files, lenient lines, problems reported (readEventLog). */
  read?: EventLogReadOptions;
}

export interface ReplayResult {
  header: SessionHeader;
  summary: OfflineSummary;
}

/**
 * Replays a live session's event log through the same code: the same inputs at the same receive times,
 * the same configuration and seed, hence the same orders and fills (ids, prices, quantities, times).
 */
export async function replayEventLog(dir: string, o: ReplayOptions): Promise<ReplayResult> {
  const started = performance.now();
  const header = readSessionHeader(dir);
  const config = header.config as unknown as Config;
  const store = freshDatabase(o.database);
  try {
    // Alpaca: the orders' fate is in the log (broker reports), so the replay's broker sends nothing; the
    // stock market hours come from the calendar the run started with
    const alpaca = venueSymbols(config).alpaca.length > 0;
    const recorded: Broker = { name: 'alpaca', place: () => undefined, cancel: () => undefined };
    const marketHours = header.alpaca?.calendar ? stockMarketHours(header.alpaca.calendar as AlpacaCalendarDay[], header.alpaca.flattenOnPause) : null;
    const engine = createEngine({
      config,
      sessionId: header.sessionId,
      startedAt: header.startedAt,
      seed: header.seed,
      store,
      logger: o.logger,
      tradeVenue: config.TRADE_VENUE,
      meta: { replayOf: header.sessionId, runId: header.runId ?? header.sessionId },
      controls: (header.controls ?? null) as Partial<RiskControlState> | null,
      strategyParams: (header.strategyParams ?? null) as ParamsEvent | null,
      variantParams: (header.shadowParams ?? {}) as Record<string, ParamsEvent | null>,
      promoted: header.promoted ?? null,
      brokers: alpaca ? { alpaca: recorded } : {},
      marketHours,
    });
    // a run that continued a session starts from the state it continued from
    if (header.restore) engine.restore(header.restore as unknown as RestoreState);
    const runKey = header.runId ?? header.sessionId;
    const shadows = createShadows(
      { config, sessionId: header.sessionId, startedAt: header.startedAt, seed: header.seed, store, logger: o.logger, tradeVenue: config.TRADE_VENUE, alsoTrade: alpaca ? ['alpaca'] : [], marketHours },
      runKey,
      (header.shadowParams ?? {}) as Record<string, ParamsEvent | null>,
    );
    const group = new EngineGroup(engine, shadows);
    const processors = new Map<string, VenueProcessor>();
    const processor = (venue: string): VenueProcessor => {
      let p = processors.get(venue);
      if (!p) {
        if (venue !== 'spot' && venue !== 'usdm') throw new Error(`event log names an unknown venue ${venue}`);
        p = new VenueProcessor({ venue, sink: group, logger: o.logger, symbols: venueSymbols(config).binance });
        processors.set(venue, p);
      }
      return p;
    };
    const alpacaData = new AlpacaProcessor({ sink: group, instruments: [] });
    const stats: ReadStats = { lines: 0, malformed: 0 };
    let events = 0;
    for await (const input of readEventLog(dir, stats, o.read)) {
      events++;
      switch (input.kind) {
        case 'tick':
          group.tick(input.time);
          break;
        case 'control':
          engine.control(JSON.parse(input.payload) as ControlCommand, input.time);
          break;
        case 'params':
          engine.strategyParams(JSON.parse(input.payload) as unknown, input.time);
          break;
        case 'msg':
          processor(input.venue).onMessage(input.payload, input.time);
          break;
        case 'info':
          processor(input.venue).onExchangeInfo(JSON.parse(input.payload) as unknown, input.time);
          break;
        case 'snap':
          processor(input.venue).onSnapshot(input.symbol, JSON.parse(input.payload) as unknown, input.time);
          break;
        case 'oi':
          processor(input.venue).onOpenInterest(input.symbol, JSON.parse(input.payload) as unknown, input.time);
          break;
        case 'reset':
          processor(input.venue).onReset(input.symbols, input.state, input.time);
          break;
        case 'alpaca':
          if (input.source === 'alpaca order') engine.brokerReport('alpaca', JSON.parse(input.payload) as BrokerReport, input.time);
          else if (input.source === 'alpaca rec') engine.applyCorrections('alpaca', JSON.parse(input.payload) as EngineCorrection[], input.time);
          else alpacaData.replay(input.source, input.payload, input.time);
          break;
      }
      if (o.onProgress && (events & 0x3fff) === 0) o.onProgress(events);
    }
    group.flush();
    store.endSession(header.sessionId, engine.now);
    for (const s of shadows) store.endSession(s.engine.sessionId, s.engine.now);
    let malformed = stats.malformed;
    for (const p of processors.values()) malformed += Object.values(p.decoder.malformed).reduce((a, b) => a + b, 0);
    malformed += Object.values(alpacaData.counters.malformed).reduce((a, b) => a + b, 0);
    return { header, summary: { ...summary(engine, store, o.database, events, header.startedAt, performance.now() - started, malformed), shadows: shadowSummaries(shadows) } };
  } finally {
    store.close();
  }
}

export interface SessionDifference {
  orders: { live: number; replay: number };
  fills: { live: number; replay: number };
  differences: string[];
}

const ORDER_FIELDS = ['id', 'venue', 'symbol', 'side', 'type', 'timeInForce', 'postOnly', 'qty', 'price', 'strategy', 'reason', 'status', 'filledQty', 'avgPrice', 'createdAt', 'updatedAt', 'rejectReason', 'cancelRequestedAt'] as const;
const FILL_FIELDS = ['id', 'orderId', 'venue', 'symbol', 'side', 'price', 'qty', 'fee', 'liquidity', 'strategy', 'time', 'receivedAt', 'realizedPnl'] as const;

/**
 * Compares the orders and fills of one session in two databases, field by field. With `since` (the
 * run's start), only what the run touched: orders updated and fills received from then on.
 */
export function compareSessions(liveDb: string, replayDb: string, sessionId: string, maxDifferences = 20, since = -Infinity): SessionDifference {
  const a = Store.open(liveDb, { readonly: true });
  const b = Store.open(replayDb, { readonly: true });
  try {
    const diffs: string[] = [];
    const all = 100_000_000;
    const compare = <T extends object>(what: string, x: T[], y: T[], fields: readonly (keyof T)[], key: (t: T) => string): void => {
      const byKey = new Map(y.map((t) => [key(t), t]));
      for (const t of x) {
        if (diffs.length >= maxDifferences) return;
        const u = byKey.get(key(t));
        if (!u) {
          diffs.push(`${what} ${key(t)}: in the live session, not in the replay`);
          continue;
        }
        byKey.delete(key(t));
        for (const f of fields) {
          if (!Object.is(t[f] ?? null, u[f] ?? null)) diffs.push(`${what} ${key(t)}: ${String(f)} live ${JSON.stringify(t[f])} replay ${JSON.stringify(u[f])}`);
        }
      }
      for (const k of byKey.keys()) if (diffs.length < maxDifferences) diffs.push(`${what} ${k}: in the replay, not in the live session`);
    };
    const lo = a.listOrders(sessionId, { limit: all }).filter((o) => o.updatedAt >= since);
    const ro = b.listOrders(sessionId, { limit: all }).filter((o) => o.updatedAt >= since);
    const lf = a.listFills(sessionId, { limit: all }).filter((f) => f.receivedAt >= since);
    const rf = b.listFills(sessionId, { limit: all }).filter((f) => f.receivedAt >= since);
    compare('order', lo, ro, ORDER_FIELDS, (o) => o.id);
    compare('fill', lf, rf, FILL_FIELDS, (f) => f.id);
    return { orders: { live: lo.length, replay: ro.length }, fills: { live: lf.length, replay: rf.length }, differences: diffs };
  } finally {
    a.close();
    b.close();
  }
}
