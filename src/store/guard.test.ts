import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './db.js';
import { assertWritableDataDir, DataDirError, guardStore, isStorageFailure } from './guard.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'papertape-guard-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('guardStore', () => {
  it('turns a full database into one failure call, keeps what was written, and rethrows other errors', () => {
    const file = join(tmp(), 'p.db');
    const store = Store.open(file);
    const failures: string[] = [];
    const guard = guardStore(store, (m) => failures.push(m));
    store.putControl('before', { v: 1 }, 1);
    store.limitSize(0); // no room for another page
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 5; i++) store.putControl(`k${i}`, big, 2 + i);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^SQLITE_FULL: database or disk is full/);
    expect(guard.error).toBe(failures[0]);
    expect(guard.failedWrites).toBe(5);
    // a bug is not a storage failure: still thrown
    expect(() => store.endSession('no-such-session', 1)).toThrow(/no session/);
    expect(store.getControl('before')).toEqual({ v: 1 });
    expect(store.getControl('k0')).toBeUndefined();
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('knows storage failures by their SQLite code', () => {
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'SQLITE_FULL' }))).toBe(true);
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'SQLITE_IOERR_WRITE' }))).toBe(true);
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'SQLITE_READONLY_DBMOVED' }))).toBe(true);
    expect(isStorageFailure(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' }))).toBe(false);
    expect(isStorageFailure(new Error('x'))).toBe(false);
    expect(isStorageFailure(null)).toBe(false);
  });
});

describe('assertWritableDataDir', () => {
  it('creates a missing directory and leaves no probe behind', () => {
    const dir = join(tmp(), 'a', 'b');
    assertWritableDataDir(dir);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names DATA_DIR and the cause when a file is in the way', () => {
    const file = join(tmp(), 'data');
    writeFileSync(file, 'x');
    expect(() => assertWritableDataDir(file)).toThrow(DataDirError);
    expect(() => assertWritableDataDir(file)).toThrow(`DATA_DIR ${file} is not writable (EEXIST`);
  });
});
