import { createHash } from 'node:crypto';
/**
 * SQLite store (better-sqlite3, WAL): sessions, orders, fills, round trips, equity curve and risk
 * denials. Every table is keyed by session. Statements are prepared once, at open.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { EpochMs, Side, Venue } from '../core/types.js';
import type { Fill, Order, OrderStatus, OrderType, TimeInForce } from '../model/order.js';
import type { AccountSnapshot, RoundTrip, TripDirection, TripStatus } from '../portfolio/portfolio.js';
import { LATEST_VERSION, migrate, schemaVersion } from './migrations.js';

export interface SessionStart {
  id: string;
  startedAt: EpochMs;
  /** configuration with secrets already removed by the caller; stored as JSON */
  config: unknown;
  initialCash: number;
  /** papertape version */
  version: string;
}

export interface SessionInfo extends SessionStart {
  endedAt: EpochMs | null;
}

export interface RiskDenial {
  time: EpochMs;
  venue: Venue;
  symbol: string;
  strategy: string;
  /** name of the check that denied */
  check: string;
  reason: string;
  /** the denied intent; stored as JSON */
  intent: unknown;
}

export interface StoredDenial extends RiskDenial {
  id: number;
}

/** One row of the equity curve: an account snapshot without the (per-session) initial cash. */
export type EquityRow = Omit<AccountSnapshot, 'initialCash'> & {
  /** the account's high-water mark and drawdown (non-positive fraction) when the row was written; null in rows older than schema v6 */
  highWaterMark?: number | null;
  drawdown?: number | null;
};

export interface FillTotals {
  count: number;
  buyNotional: number;
  sellNotional: number;
  fees: number;
  realizedPnl: number;
}

export interface ListOptions {
  limit: number;
  symbol?: string;
}
export interface TradeListOptions extends ListOptions {
  status?: TripStatus;
}
export interface EquityOptions {
  /** only points at or after this time */
  since?: EpochMs;
  /** only the latest `limit` points (still returned oldest first) */
  limit?: number;
}

// ---- row shapes (snake_case, as stored) ----

interface SessionRow {
  id: string; started_at: number; ended_at: number | null; config_json: string; initial_cash: number; version: string;
}
interface OrderRow {
  id: string; venue: string; symbol: string; side: string; type: string; time_in_force: string; qty: number;
  price: number | null; strategy: string; reason: string; status: string; filled_qty: number; avg_price: number;
  created_at: number; updated_at: number; reject_reason: string | null; post_only: number; cancel_requested_at: number | null;
}
interface FillRow {
  id: string; order_id: string; venue: string; symbol: string; side: string; price: number; qty: number; fee: number;
  liquidity: string; strategy: string; realized_pnl: number; time: number; received_at: number | null;
}
interface TradeRow {
  id: string; venue: string; symbol: string; strategy: string; direction: string; status: string; qty: number;
  entry_price: number; exit_price: number | null; opened_at: number; closed_at: number | null; realized_pnl: number;
  fees: number; net_pnl: number; fills: number;
}
interface EquityDbRow {
  time: number; cash: number; equity: number; realized_pnl: number; unrealized_pnl: number; fees: number; gross_exposure: number;
  high_water_mark: number | null; drawdown: number | null;
}
interface DenialRow {
  id: number; time: number; venue: string; symbol: string; strategy: string; check_name: string; reason: string; intent_json: string;
}

function toOrder(r: OrderRow): Order {
  const o: Order = {
    id: r.id, venue: r.venue as Venue, symbol: r.symbol, side: r.side as Side, type: r.type as OrderType,
    timeInForce: r.time_in_force as TimeInForce, postOnly: r.post_only === 1, qty: r.qty, price: r.price, strategy: r.strategy, reason: r.reason,
    status: r.status as OrderStatus, filledQty: r.filled_qty, avgPrice: r.avg_price, createdAt: r.created_at, updatedAt: r.updated_at,
  };
  if (r.reject_reason !== null) o.rejectReason = r.reject_reason;
  if (r.cancel_requested_at !== null) o.cancelRequestedAt = r.cancel_requested_at;
  return o;
}

function toFill(r: FillRow): Fill {
  return {
    id: r.id, orderId: r.order_id, venue: r.venue as Venue, symbol: r.symbol, side: r.side as Side, price: r.price, qty: r.qty,
    fee: r.fee, liquidity: r.liquidity as Fill['liquidity'], strategy: r.strategy, time: r.time, receivedAt: r.received_at ?? r.time, realizedPnl: r.realized_pnl,
  };
}

function toTrip(r: TradeRow): RoundTrip {
  return {
    id: r.id, venue: r.venue as Venue, symbol: r.symbol, strategy: r.strategy, direction: r.direction as TripDirection,
    status: r.status as TripStatus, qty: r.qty, entryPrice: r.entry_price, exitPrice: r.exit_price, openedAt: r.opened_at,
    closedAt: r.closed_at, realizedPnl: r.realized_pnl, fees: r.fees, netPnl: r.net_pnl, fills: r.fills,
  };
}

function toEquity(r: EquityDbRow): EquityRow {
  return {
    time: r.time, cash: r.cash, equity: r.equity, realizedPnl: r.realized_pnl, unrealizedPnl: r.unrealized_pnl,
    fees: r.fees, grossExposure: r.gross_exposure, highWaterMark: r.high_water_mark ?? null, drawdown: r.drawdown ?? null,
  };
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

function isPrimaryKeyViolation(e: unknown): boolean {
  return e instanceof Error && (e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function prepareAll(db: Database.Database) {
  return {
    insertSession: db.prepare(
      `INSERT INTO sessions (id, started_at, ended_at, config_json, initial_cash, version)
       VALUES (@id, @startedAt, NULL, @configJson, @initialCash, @version)`,
    ),
    endSession: db.prepare(`UPDATE sessions SET ended_at = @endedAt WHERE id = @id`),
    putControl: db.prepare(
      `INSERT INTO controls (key, value_json, updated_at) VALUES (@key, @valueJson, @updatedAt)
       ON CONFLICT (key) DO UPDATE SET value_json = excluded.value_json, updated_at = excluded.updated_at`,
    ),
    getControl: db.prepare(`SELECT value_json FROM controls WHERE key = ?`),
    insertCheckpoint: db.prepare(`INSERT INTO checkpoints (session_id, time, state_json, sha256) VALUES (@sessionId, @time, @stateJson, @sha256)`),
    recentCheckpoints: db.prepare(`SELECT id, time, state_json, sha256 FROM checkpoints WHERE session_id = ? ORDER BY id DESC LIMIT ?`),
    pruneCheckpoints: db.prepare(`DELETE FROM checkpoints WHERE session_id = @sessionId AND id <= (SELECT id FROM checkpoints WHERE session_id = @sessionId ORDER BY id DESC LIMIT 1 OFFSET @keep)`),
    insertStrategyChange: db.prepare(`INSERT INTO strategy_changes (session_id, time, symbols_json, variant, strategy) VALUES (@sessionId, @time, @symbolsJson, @variant, @strategy)`),
    listStrategyChanges: db.prepare(`SELECT time, symbols_json, variant, strategy FROM strategy_changes WHERE session_id = ? ORDER BY id`),
    allFills: db.prepare(`SELECT * FROM fills WHERE session_id = ? ORDER BY rowid ASC`),
    openOrders: db.prepare(`SELECT * FROM orders WHERE session_id = ? AND status IN ('NEW', 'ACCEPTED', 'PARTIALLY_FILLED') ORDER BY rowid ASC`),
    orderIds: db.prepare(`SELECT id FROM orders WHERE session_id = ?`),
    latestSession: db.prepare(`SELECT * FROM sessions ORDER BY started_at DESC, rowid DESC LIMIT 1`),
    reopenSession: db.prepare(`UPDATE sessions SET ended_at = NULL WHERE id = ?`),
    getSession: db.prepare(`SELECT * FROM sessions WHERE id = ?`),
    listSessions: db.prepare(`SELECT * FROM sessions ORDER BY started_at DESC, rowid DESC LIMIT ?`),
    upsertOrder: db.prepare(
      `INSERT INTO orders (session_id, id, venue, symbol, side, type, time_in_force, qty, price, strategy, reason,
                           status, filled_qty, avg_price, created_at, updated_at, reject_reason, post_only, cancel_requested_at)
       VALUES (@sessionId, @id, @venue, @symbol, @side, @type, @timeInForce, @qty, @price, @strategy, @reason,
               @status, @filledQty, @avgPrice, @createdAt, @updatedAt, @rejectReason, @postOnly, @cancelRequestedAt)
       ON CONFLICT (session_id, id) DO UPDATE SET
         status = excluded.status, filled_qty = excluded.filled_qty, avg_price = excluded.avg_price,
         updated_at = excluded.updated_at, reject_reason = excluded.reject_reason,
         cancel_requested_at = excluded.cancel_requested_at`,
    ),
    insertFill: db.prepare(
      `INSERT INTO fills (session_id, id, order_id, venue, symbol, side, price, qty, fee, liquidity, strategy, realized_pnl, time, received_at)
       VALUES (@sessionId, @id, @orderId, @venue, @symbol, @side, @price, @qty, @fee, @liquidity, @strategy, @realizedPnl, @time, @receivedAt)`,
    ),
    upsertTrade: db.prepare(
      `INSERT INTO trades (session_id, id, venue, symbol, strategy, direction, status, qty, entry_price, exit_price,
                           opened_at, closed_at, realized_pnl, fees, net_pnl, fills)
       VALUES (@sessionId, @id, @venue, @symbol, @strategy, @direction, @status, @qty, @entryPrice, @exitPrice,
               @openedAt, @closedAt, @realizedPnl, @fees, @netPnl, @fills)
       ON CONFLICT (session_id, id) DO UPDATE SET
         status = excluded.status, qty = excluded.qty, entry_price = excluded.entry_price, exit_price = excluded.exit_price,
         closed_at = excluded.closed_at, realized_pnl = excluded.realized_pnl, fees = excluded.fees,
         net_pnl = excluded.net_pnl, fills = excluded.fills`,
    ),
    insertEquity: db.prepare(
      `INSERT INTO equity (session_id, time, cash, equity, realized_pnl, unrealized_pnl, fees, gross_exposure, high_water_mark, drawdown)
       VALUES (@sessionId, @time, @cash, @equity, @realizedPnl, @unrealizedPnl, @fees, @grossExposure, @highWaterMark, @drawdown)`,
    ),
    insertDenial: db.prepare(
      `INSERT INTO risk_denials (session_id, time, venue, symbol, strategy, check_name, reason, intent_json)
       VALUES (@sessionId, @time, @venue, @symbol, @strategy, @check, @reason, @intentJson)`,
    ),
    listOrders: db.prepare(
      `SELECT * FROM orders WHERE session_id = @sessionId AND (@symbol IS NULL OR symbol = @symbol)
       ORDER BY created_at DESC, rowid DESC LIMIT @limit`,
    ),
    getOrder: db.prepare(`SELECT * FROM orders WHERE session_id = ? AND id = ?`),
    listFills: db.prepare(
      `SELECT * FROM fills WHERE session_id = @sessionId AND (@symbol IS NULL OR symbol = @symbol)
       ORDER BY time DESC, rowid DESC LIMIT @limit`,
    ),
    listTrades: db.prepare(
      `SELECT * FROM trades WHERE session_id = @sessionId AND (@symbol IS NULL OR symbol = @symbol)
         AND (@status IS NULL OR status = @status)
       ORDER BY opened_at DESC, rowid DESC LIMIT @limit`,
    ),
    equityCurve: db.prepare(
      `SELECT * FROM (
         SELECT rowid AS seq, time, cash, equity, realized_pnl, unrealized_pnl, fees, gross_exposure, high_water_mark, drawdown FROM equity
         WHERE session_id = @sessionId AND (@since IS NULL OR time >= @since)
         ORDER BY time DESC, rowid DESC LIMIT @limit
       ) ORDER BY time ASC, seq ASC`,
    ),
    denialCounts: db.prepare(
      `SELECT check_name, COUNT(*) AS n FROM risk_denials WHERE session_id = ? GROUP BY check_name ORDER BY check_name`,
    ),
    listDenials: db.prepare(
      `SELECT * FROM risk_denials WHERE session_id = @sessionId ORDER BY time DESC, id DESC LIMIT @limit`,
    ),
    fillTotals: db.prepare(
      `SELECT COUNT(*) AS count,
              COALESCE(SUM(CASE WHEN side = 'BUY' THEN price * qty ELSE 0 END), 0) AS buyNotional,
              COALESCE(SUM(CASE WHEN side = 'SELL' THEN price * qty ELSE 0 END), 0) AS sellNotional,
              COALESCE(SUM(fee), 0) AS fees,
              COALESCE(SUM(realized_pnl), 0) AS realizedPnl
       FROM fills WHERE session_id = ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepareAll>;

export class Store {
  private readonly stmts: Statements;
  private readonly recordFillTx: (sessionId: string, fill: Fill, order: Order, trips: readonly RoundTrip[], snapshot: AccountSnapshot) => void;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.stmts = prepareAll(db);
    this.recordFillTx = db.transaction((sessionId: string, fill: Fill, order: Order, trips: readonly RoundTrip[], snapshot: AccountSnapshot) => {
      // the order first: a fill references its order
      this.upsertOrder(sessionId, order);
      try {
        this.stmts.insertFill.run({
          sessionId, id: fill.id, orderId: fill.orderId, venue: fill.venue, symbol: fill.symbol, side: fill.side, price: fill.price,
          qty: fill.qty, fee: fill.fee, liquidity: fill.liquidity, strategy: fill.strategy, realizedPnl: fill.realizedPnl, time: fill.time,
          receivedAt: fill.receivedAt,
        });
      } catch (e) {
        if (isPrimaryKeyViolation(e)) throw new Error(`duplicate fill ${fill.id} in session ${sessionId}`, { cause: e });
        throw e;
      }
      for (const t of trips) this.upsertTrip(sessionId, t);
      this.insertEquity(sessionId, snapshot);
    });
  }

  /**
   * Opens (creating it and its parent directory if missing) and migrates a database file.
   * Throws if the file was written by a newer schema than this code knows. `scratch`: a file rebuilt
   * from its inputs (a backtest's or a replay's fresh database): SQLite never waits for the disk
   * (synchronous = OFF); the same content, but a machine crash can leave it damaged (run it again).
   * About 30-50 ms less per backtest on this machine's disk (docs/performance.md, Backtest).
   */
  static open(file: string, opts: { readonly?: boolean; scratch?: boolean } = {}): Store {
    if (opts.readonly) {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      const v = schemaVersion(db);
      if (v !== LATEST_VERSION) {
        db.close();
        throw new Error(`database ${file} has schema version ${v}, this code reads ${LATEST_VERSION}: open it once with papertape to migrate it`);
      }
      db.pragma('busy_timeout = 5000');
      return new Store(db, file);
    }
    const inMemory = file === ':memory:' || file === '';
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const db = new Database(file);
    try {
      // scratch: set before the switch to WAL, whose first write would otherwise be synced too
      if (opts.scratch) db.pragma('synchronous = OFF');
      db.pragma('journal_mode = WAL');
      if (!opts.scratch) db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db, undefined, inMemory ? 'in-memory database' : `database ${file}`);
      return new Store(db, file);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    if (this.db.open) {
      if (this.db.inTransaction) this.db.exec('COMMIT');
      this.db.close();
    }
  }

  /**
   * Groups the writes that follow into one transaction until commitBatch() (backtests: one commit per
   * many events instead of one per statement). Writes inside still use their own savepoints.
   */
  beginBatch(): void {
    if (!this.db.inTransaction) this.db.exec('BEGIN');
  }
  commitBatch(): void {
    if (this.db.inTransaction) this.db.exec('COMMIT');
  }

  /** Caps the database at about `bytes` (SQLite max_page_count): a write beyond fails with SQLITE_FULL, as on a full disk. */
  /**
   * How SQLite waits for the disk (WAL mode): 'normal' (the default) syncs at checkpoints only, so a
   * machine crash or a disk error that aborts the file system's journal can lose the last commits (the
   * database stays consistent); 'full' syncs the WAL at every commit: what was committed survives.
   */
  setSynchronous(mode: 'normal' | 'full'): void {
    this.db.pragma(`synchronous = ${mode === 'full' ? 'FULL' : 'NORMAL'}`);
  }

  limitSize(bytes: number): void {
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(bytes / pageSize))}`);
  }

  get schemaVersion(): number {
    return schemaVersion(this.db);
  }

  // ---- sessions ----

  startSession(s: SessionStart): void {
    this.stmts.insertSession.run({
      id: s.id, startedAt: s.startedAt, configJson: JSON.stringify(s.config ?? null), initialCash: s.initialCash, version: s.version,
    });
  }

  endSession(id: string, endedAt: EpochMs): void {
    const r = this.stmts.endSession.run({ id, endedAt });
    if (r.changes !== 1) throw new Error(`endSession: no session ${id}`);
  }

  getSession(id: string): SessionInfo | undefined {
    const r = this.stmts.getSession.get(id) as SessionRow | undefined;
    return r ? toSession(r) : undefined;
  }

  /** newest first */
  listSessions(limit: number): SessionInfo[] {
    return (this.stmts.listSessions.all(checkLimit(limit)) as SessionRow[]).map(toSession);
  }

  // ---- controls: state that outlives a session (kill switch, pause, breakers) ----

  putControl(key: string, value: unknown, updatedAt: EpochMs): void {
    this.stmts.putControl.run({ key, valueJson: JSON.stringify(value), updatedAt });
  }

  /** The stored value, or undefined (also when it cannot be read: a broken row never stops a start). */
  getControl<T>(key: string): T | undefined {
    const row = this.stmts.getControl.get(key) as { value_json: string } | undefined;
    if (!row) return undefined;
    try {
      return JSON.parse(row.value_json) as T;
    } catch {
      return undefined;
    }
  }

  // ---- checkpoints and restarts ----

  /** Stores a checkpoint with its SHA-256, keeping the newest `keep` of the session. */
  writeCheckpoint(sessionId: string, time: EpochMs, state: unknown, keep = 10): void {
    const stateJson = JSON.stringify(state);
    const sha256 = createHash('sha256').update(stateJson).digest('hex');
    this.db.transaction(() => {
      this.stmts.insertCheckpoint.run({ sessionId, time, stateJson, sha256 });
      this.stmts.pruneCheckpoints.run({ sessionId, keep });
    })();
  }

  /**
   * The newest checkpoint of the session that reads back intact (JSON parses, checksum matches); a
   * damaged one is reported in `skipped` and the previous one is used; `checkpoint` is undefined when none
   * is good.
   */
  latestCheckpoint<T>(sessionId: string): { checkpoint?: { id: number; time: EpochMs; state: T }; skipped: string[] } {
    const skipped: string[] = [];
    for (const row of this.stmts.recentCheckpoints.all(sessionId, 100) as { id: number; time: number; state_json: string; sha256: string }[]) {
      const sum = createHash('sha256').update(row.state_json).digest('hex');
      if (sum !== row.sha256) {
        skipped.push(`checkpoint ${row.id}: checksum mismatch`);
        continue;
      }
      try {
        return { checkpoint: { id: row.id, time: row.time, state: JSON.parse(row.state_json) as T }, skipped };
      } catch (e) {
        skipped.push(`checkpoint ${row.id}: ${(e as Error).message}`);
      }
    }
    return { skipped };
  }

  /** A promotion (or a return to the configured strategy), with its time. */
  recordStrategyChange(sessionId: string, c: { time: EpochMs; symbols: string[]; variant: string; strategy: string }): void {
    this.stmts.insertStrategyChange.run({ sessionId, time: c.time, symbolsJson: JSON.stringify(c.symbols), variant: c.variant, strategy: c.strategy });
  }

  listStrategyChanges(sessionId: string): { time: EpochMs; symbols: string[]; variant: string; strategy: string }[] {
    return (this.stmts.listStrategyChanges.all(sessionId) as { time: number; symbols_json: string; variant: string; strategy: string }[]).map((r) => ({
      time: r.time,
      symbols: JSON.parse(r.symbols_json) as string[],
      variant: r.variant,
      strategy: r.strategy,
    }));
  }

  /** Every fill of the session, in the order they were written. */
  allFills(sessionId: string): Fill[] {
    return (this.stmts.allFills.all(sessionId) as FillRow[]).map(toFill);
  }

  /** Orders of the session still working (NEW, ACCEPTED, PARTIALLY_FILLED), oldest first. */
  openOrders(sessionId: string): Order[] {
    return (this.stmts.openOrders.all(sessionId) as OrderRow[]).map(toOrder);
  }

  /** The largest n of the session's order ids `<session>-<n>` (0 when none). */
  maxOrderSeq(sessionId: string): number {
    let max = 0;
    const prefix = `${sessionId}-`;
    for (const r of this.stmts.orderIds.iterate(sessionId) as Iterable<{ id: string }>) {
      if (!r.id.startsWith(prefix)) continue;
      const n = Number(r.id.slice(prefix.length));
      if (Number.isInteger(n) && n > max) max = n;
    }
    return max;
  }

  latestSession(): SessionInfo | undefined {
    const row = this.stmts.latestSession.get() as SessionRow | undefined;
    return row ? toSession(row) : undefined;
  }

  /** A session continues in a new run: it is open again. */
  reopenSession(id: string): void {
    this.stmts.reopenSession.run(id);
  }

  // ---- writes ----

  upsertOrder(sessionId: string, order: Order): void {
    this.stmts.upsertOrder.run({
      sessionId, id: order.id, venue: order.venue, symbol: order.symbol, side: order.side, type: order.type,
      timeInForce: order.timeInForce, qty: order.qty, price: order.price, strategy: order.strategy, reason: order.reason,
      status: order.status, filledQty: order.filledQty, avgPrice: order.avgPrice, createdAt: order.createdAt,
      updatedAt: order.updatedAt, rejectReason: order.rejectReason ?? null, postOnly: order.postOnly ? 1 : 0,
      cancelRequestedAt: order.cancelRequestedAt ?? null,
    });
  }

  /**
   * Records a fill and its consequences in ONE transaction: the order (upserted), the fill
   * (a duplicate id throws and nothing is written), the round trips it touched, an equity row.
   */
  recordFill(sessionId: string, fill: Fill, order: Order, trips: readonly RoundTrip[], snapshot: AccountSnapshot): void {
    if (fill.orderId !== order.id) throw new Error(`recordFill: fill ${fill.id} belongs to order ${fill.orderId}, not ${order.id}`);
    this.recordFillTx(sessionId, fill, order, trips, snapshot);
  }

  upsertTrip(sessionId: string, t: RoundTrip): void {
    this.stmts.upsertTrade.run({
      sessionId, id: t.id, venue: t.venue, symbol: t.symbol, strategy: t.strategy, direction: t.direction, status: t.status,
      qty: t.qty, entryPrice: t.entryPrice, exitPrice: t.exitPrice, openedAt: t.openedAt, closedAt: t.closedAt,
      realizedPnl: t.realizedPnl, fees: t.fees, netPnl: t.netPnl, fills: t.fills,
    });
  }

  insertEquity(sessionId: string, s: AccountSnapshot | EquityRow): void {
    const marks = s as EquityRow;
    this.stmts.insertEquity.run({
      sessionId, time: s.time, cash: s.cash, equity: s.equity, realizedPnl: s.realizedPnl, unrealizedPnl: s.unrealizedPnl,
      fees: s.fees, grossExposure: s.grossExposure, highWaterMark: marks.highWaterMark ?? null, drawdown: marks.drawdown ?? null,
    });
  }

  /** Returns the id of the stored denial. */
  insertDenial(sessionId: string, d: RiskDenial): number {
    const r = this.stmts.insertDenial.run({
      sessionId, time: d.time, venue: d.venue, symbol: d.symbol, strategy: d.strategy, check: d.check, reason: d.reason,
      intentJson: JSON.stringify(d.intent ?? null),
    });
    return Number(r.lastInsertRowid);
  }

  // ---- queries ----

  /** newest first (by creation time) */
  listOrders(sessionId: string, opts: ListOptions): Order[] {
    const rows = this.stmts.listOrders.all({ sessionId, symbol: opts.symbol ?? null, limit: checkLimit(opts.limit) }) as OrderRow[];
    return rows.map(toOrder);
  }

  getOrder(sessionId: string, id: string): Order | undefined {
    const r = this.stmts.getOrder.get(sessionId, id) as OrderRow | undefined;
    return r ? toOrder(r) : undefined;
  }

  /** newest first */
  listFills(sessionId: string, opts: ListOptions): Fill[] {
    const rows = this.stmts.listFills.all({ sessionId, symbol: opts.symbol ?? null, limit: checkLimit(opts.limit) }) as FillRow[];
    return rows.map(toFill);
  }

  /** newest first (by opening time) */
  listTrades(sessionId: string, opts: TradeListOptions): RoundTrip[] {
    const rows = this.stmts.listTrades.all({
      sessionId, symbol: opts.symbol ?? null, status: opts.status ?? null, limit: checkLimit(opts.limit),
    }) as TradeRow[];
    return rows.map(toTrip);
  }

  /** oldest first; with `limit`, the latest `limit` points */
  equityCurve(sessionId: string, opts: EquityOptions = {}): EquityRow[] {
    const rows = this.stmts.equityCurve.all({
      sessionId, since: opts.since ?? null, limit: opts.limit === undefined ? -1 : checkLimit(opts.limit),
    }) as EquityDbRow[];
    return rows.map(toEquity);
  }

  /** denials per check name */
  denialCounts(sessionId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.stmts.denialCounts.all(sessionId) as Array<{ check_name: string; n: number }>) out[r.check_name] = r.n;
    return out;
  }

  /** newest first */
  listDenials(sessionId: string, opts: { limit: number }): StoredDenial[] {
    const rows = this.stmts.listDenials.all({ sessionId, limit: checkLimit(opts.limit) }) as DenialRow[];
    return rows.map((r) => ({
      id: r.id, time: r.time, venue: r.venue as Venue, symbol: r.symbol, strategy: r.strategy, check: r.check_name,
      reason: r.reason, intent: JSON.parse(r.intent_json) as unknown,
    }));
  }

  fillTotals(sessionId: string): FillTotals {
    return this.stmts.fillTotals.get(sessionId) as FillTotals;
  }
}

function toSession(r: SessionRow): SessionInfo {
  return {
    id: r.id, startedAt: r.started_at, endedAt: r.ended_at, config: JSON.parse(r.config_json) as unknown,
    initialCash: r.initial_cash, version: r.version,
  };
}
