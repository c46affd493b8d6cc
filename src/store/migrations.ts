/**
 * Schema migrations, applied in order at open, each in its own transaction. The schema version
 * lives in `PRAGMA user_version`. Never edit a released migration: append a new one.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  started_at   REAL NOT NULL,
  ended_at     REAL,
  config_json  TEXT NOT NULL,
  initial_cash REAL NOT NULL,
  version      TEXT NOT NULL
);

CREATE TABLE orders (
  session_id    TEXT NOT NULL REFERENCES sessions(id),
  id            TEXT NOT NULL,
  venue         TEXT NOT NULL,
  symbol        TEXT NOT NULL,
  side          TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
  type          TEXT NOT NULL,
  time_in_force TEXT NOT NULL,
  qty           REAL NOT NULL,
  price         REAL,
  strategy      TEXT NOT NULL,
  reason        TEXT NOT NULL,
  status        TEXT NOT NULL,
  filled_qty    REAL NOT NULL,
  avg_price     REAL NOT NULL,
  created_at    REAL NOT NULL,
  updated_at    REAL NOT NULL,
  reject_reason TEXT,
  PRIMARY KEY (session_id, id)
);
CREATE INDEX orders_session_time ON orders (session_id, created_at);

CREATE TABLE fills (
  session_id   TEXT NOT NULL REFERENCES sessions(id),
  id           TEXT NOT NULL,
  order_id     TEXT NOT NULL,
  venue        TEXT NOT NULL,
  symbol       TEXT NOT NULL,
  side         TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
  price        REAL NOT NULL,
  qty          REAL NOT NULL,
  fee          REAL NOT NULL,
  liquidity    TEXT NOT NULL CHECK (liquidity IN ('maker', 'taker')),
  strategy     TEXT NOT NULL,
  realized_pnl REAL NOT NULL,
  time         REAL NOT NULL,
  PRIMARY KEY (session_id, id),
  FOREIGN KEY (session_id, order_id) REFERENCES orders (session_id, id)
);
CREATE INDEX fills_session_time ON fills (session_id, time);
CREATE INDEX fills_session_order ON fills (session_id, order_id);

CREATE TABLE trades (
  session_id   TEXT NOT NULL REFERENCES sessions(id),
  id           TEXT NOT NULL,
  venue        TEXT NOT NULL,
  symbol       TEXT NOT NULL,
  strategy     TEXT NOT NULL,
  direction    TEXT NOT NULL CHECK (direction IN ('LONG', 'SHORT')),
  status       TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
  qty          REAL NOT NULL,
  entry_price  REAL NOT NULL,
  exit_price   REAL,
  opened_at    REAL NOT NULL,
  closed_at    REAL,
  realized_pnl REAL NOT NULL,
  fees         REAL NOT NULL,
  net_pnl      REAL NOT NULL,
  fills        INTEGER NOT NULL,
  PRIMARY KEY (session_id, id)
);
CREATE INDEX trades_session_time ON trades (session_id, opened_at);

CREATE TABLE equity (
  session_id     TEXT NOT NULL REFERENCES sessions(id),
  time           REAL NOT NULL,
  cash           REAL NOT NULL,
  equity         REAL NOT NULL,
  realized_pnl   REAL NOT NULL,
  unrealized_pnl REAL NOT NULL,
  fees           REAL NOT NULL,
  gross_exposure REAL NOT NULL
);
CREATE INDEX equity_session_time ON equity (session_id, time);

CREATE TABLE risk_denials (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id  TEXT NOT NULL REFERENCES sessions(id),
  time        REAL NOT NULL,
  venue       TEXT NOT NULL,
  symbol      TEXT NOT NULL,
  strategy    TEXT NOT NULL,
  check_name  TEXT NOT NULL,
  reason      TEXT NOT NULL,
  intent_json TEXT NOT NULL
);
CREATE INDEX risk_denials_session_time ON risk_denials (session_id, time);
`,
  },
  {
    version: 2,
    name: 'post-only orders, cancel requests, fill receive times',
    sql: `
ALTER TABLE orders ADD COLUMN post_only INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN cancel_requested_at REAL;
ALTER TABLE fills ADD COLUMN received_at REAL;
`,
  },
  {
    version: 3,
    name: 'controls that survive a restart (kill switch, pause, breakers)',
    sql: `
CREATE TABLE controls (
  key        TEXT PRIMARY KEY,
  value_json TEXT NOT NULL,
  updated_at REAL NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'checkpoints: strategy, indicator and queue state for restarts',
    sql: `
CREATE TABLE checkpoints (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id TEXT NOT NULL REFERENCES sessions(id),
  time       REAL NOT NULL,
  state_json TEXT NOT NULL,
  sha256     TEXT NOT NULL
);
CREATE INDEX checkpoints_session ON checkpoints (session_id, id);
`,
  },
  {
    version: 5,
    name: 'strategy changes: promotions of shadow variants to trading',
    sql: `
CREATE TABLE strategy_changes (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  session_id   TEXT NOT NULL REFERENCES sessions(id),
  time         REAL NOT NULL,
  symbols_json TEXT NOT NULL,
  variant      TEXT NOT NULL,
  strategy     TEXT NOT NULL
);
`,
  },
  {
    version: 6,
    name: 'equity rows carry the high-water mark and drawdown (metrics recorder)',
    sql: `
ALTER TABLE equity ADD COLUMN high_water_mark REAL;
ALTER TABLE equity ADD COLUMN drawdown REAL;
`,
  },
];

export const LATEST_VERSION: number = MIGRATIONS.length === 0 ? 0 : MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** A migration list must count 1, 2, 3, … without gaps. */
function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list broken: entry ${i} ("${m.name}") has version ${m.version}, expected ${i + 1}`);
  });
}

/**
 * Brings the database to the newest version of `migrations`; returns the versions applied.
 * A database newer than the list is refused: this code does not know its schema.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS, label = 'database'): number[] {
  checkList(migrations);
  const latest = migrations.length;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new Error(
      `${label} has schema version ${current}, newer than this code knows (${latest}); ` +
        'it was written by a newer papertape: upgrade papertape or use another database file',
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    // IMMEDIATE takes the write lock first; the version is read again under it, so two processes
    // opening the same file at once apply each migration once.
    const ran = db
      .transaction(() => {
        if (schemaVersion(db) >= m.version) return false;
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
        return true;
      })
      .immediate();
    if (ran) applied.push(m.version);
  }
  return applied;
}
