import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from './db.js';
import { LATEST_VERSION, MIGRATIONS, migrate, schemaVersion, type Migration } from './migrations.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'papertape-migrations-'));
  file = path.join(dir, 'test.db');
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function tables(db: Database.Database): string[] {
  return (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
}

const V2: Migration = { version: 2, name: 'fill notes', sql: `ALTER TABLE fills ADD COLUMN note TEXT; CREATE TABLE notes (session_id TEXT NOT NULL, body TEXT);` };

function seedV1(db: Database.Database): void {
  db.prepare(`INSERT INTO sessions VALUES ('s1', 1, NULL, '{}', 1000, '0.1.0')`).run();
  // the version-1 columns, named: the rows fit every later schema too
  db.prepare(`INSERT INTO orders (session_id, id, venue, symbol, side, type, time_in_force, qty, price, strategy, reason, status, filled_qty, avg_price, created_at, updated_at, reject_reason)
              VALUES ('s1', 'o1', 'spot', 'BTCUSDT', 'BUY', 'MARKET', 'IOC', 1, NULL, 's@1', 'r', 'FILLED', 1, 100, 1, 2, NULL)`).run();
  db.prepare(`INSERT INTO fills (session_id, id, order_id, venue, symbol, side, price, qty, fee, liquidity, strategy, realized_pnl, time)
              VALUES ('s1', 'f1', 'o1', 'spot', 'BTCUSDT', 'BUY', 100, 1, 0.1, 'taker', 's@1', 0, 2)`).run();
}

describe('migrations', () => {
  it('numbers the shipped migrations 1..n', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_VERSION).toBe(MIGRATIONS.length);
  });

  it('brings an empty database to the latest version', () => {
    const store = Store.open(file);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    store.close();
    const db = new Database(file);
    expect(tables(db)).toEqual(['checkpoints', 'controls', 'equity', 'fills', 'orders', 'risk_denials', 'sessions', 'strategy_changes', 'trades']);
    db.close();
  });

  it('does nothing when re-opened at the latest version', () => {
    Store.open(file).close();
    const db = new Database(file);
    seedV1(db);
    expect(migrate(db)).toEqual([]);
    expect(schemaVersion(db)).toBe(LATEST_VERSION);
    db.close();
    const store = Store.open(file);
    expect(store.listFills('s1', { limit: 10 }).map((f) => f.id)).toEqual(['f1']);
    store.close();
  });

  it('migrates a version-1 database with data without losing rows', () => {
    const db = new Database(file);
    db.pragma('foreign_keys = ON');
    expect(migrate(db, MIGRATIONS.slice(0, 1))).toEqual([1]);
    seedV1(db);
    expect(migrate(db, [...MIGRATIONS.slice(0, 1), V2])).toEqual([2]);
    expect(schemaVersion(db)).toBe(2);
    expect(db.prepare(`SELECT id, order_id, note FROM fills`).all()).toEqual([{ id: 'f1', order_id: 'o1', note: null }]);
    expect(db.prepare(`SELECT COUNT(*) AS n FROM orders`).get()).toEqual({ n: 1 });
    expect(tables(db)).toContain('notes');
    db.close();
  });

  it('brings version-1 rows to the shipped schema with sensible values for the new columns', () => {
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 1));
    seedV1(db);
    db.close();
    const store = Store.open(file);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    expect(store.getOrder('s1', 'o1')).toMatchObject({ postOnly: false, status: 'FILLED' });
    expect(store.getOrder('s1', 'o1')?.cancelRequestedAt).toBeUndefined();
    // a fill from before receive times were stored: received when it happened
    expect(store.listFills('s1', { limit: 10 })[0]).toMatchObject({ id: 'f1', time: 2, receivedAt: 2 });
    store.close();
  });

  it('rolls back a failing migration entirely and keeps the previous version', () => {
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 1));
    seedV1(db);
    const broken: Migration = { version: 2, name: 'broken', sql: `CREATE TABLE half (x); THIS IS NOT SQL;` };
    expect(() => migrate(db, [MIGRATIONS[0]!, broken])).toThrow();
    expect(schemaVersion(db)).toBe(1);
    expect(tables(db)).not.toContain('half');
    expect(db.prepare(`SELECT COUNT(*) AS n FROM fills`).get()).toEqual({ n: 1 });
    db.close();
  });

  it('refuses a database written by a newer schema, with a clear error', () => {
    const db = new Database(file);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    expect(() => Store.open(file)).toThrow(new RegExp(`schema version ${LATEST_VERSION + 1}, newer than this code knows \\(${LATEST_VERSION}\\)`));
    // the file is left as it was
    const again = new Database(file);
    expect(schemaVersion(again)).toBe(LATEST_VERSION + 1);
    expect(tables(again)).toEqual([]);
    again.close();
  });

  it('rejects a migration list with a gap', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [MIGRATIONS[0]!, { ...V2, version: 3 }])).toThrow(/migration list broken/);
    expect(schemaVersion(db)).toBe(0);
    db.close();
  });
});
