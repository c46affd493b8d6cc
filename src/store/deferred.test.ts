import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Order } from '../model/order.js';
import { Store } from './db.js';
import { DeferredWrites } from './deferred.js';
import { guardStore } from './guard.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'papertape-deferred-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('DeferredWrites', () => {
  it('holds writes back until end, then runs them in order in one transaction; outside a frame they run at once', () => {
    const file = join(tmp(), 'p.db');
    const store = Store.open(file);
    const deferred = new DeferredWrites(store);
    // another connection sees only committed data
    const reader = new Database(file, { readonly: true });
    const read = (key: string): unknown => {
      const row = reader.prepare('SELECT value_json AS value FROM controls WHERE key = ?').get(key) as { value: string } | undefined;
      return row === undefined ? undefined : JSON.parse(row.value);
    };
    store.putControl('now', { v: 0 }, 1);
    expect(read('now')).toEqual({ v: 0 });
    deferred.begin();
    store.putControl('k', { v: 1 }, 2);
    store.putControl('k', { v: 2 }, 3); // the later write wins, as it would have
    store.putControl('other', { v: 3 }, 4);
    expect(deferred.pending).toBe(3);
    expect(read('k')).toBeUndefined();
    expect(store.getControl('k')).toBeUndefined();
    deferred.end();
    expect(deferred.pending).toBe(0);
    expect(read('k')).toEqual({ v: 2 });
    expect(read('other')).toEqual({ v: 3 });
    // after end: written at once again
    store.putControl('after', { v: 4 }, 5);
    expect(read('after')).toEqual({ v: 4 });
    reader.close();
    store.close();
  });

  it('later: runs after the frame’s writes are committed, in order; each runs even when one throws; at once outside a frame', () => {
    const file = join(tmp(), 'p.db');
    const store = Store.open(file);
    const deferred = new DeferredWrites(store);
    const reader = new Database(file, { readonly: true });
    const seen: unknown[] = [];
    const read = (): unknown => (reader.prepare('SELECT value_json AS value FROM controls WHERE key = ?').get('k') as { value: string } | undefined)?.value;
    deferred.begin();
    store.putControl('k', { v: 1 }, 1);
    deferred.later(() => seen.push(['first', read()]));
    deferred.later(() => {
      throw new Error('an observer failed');
    });
    deferred.later(() => seen.push(['third', read()]));
    expect(seen).toEqual([]);
    expect(deferred.pending).toBe(4);
    expect(() => deferred.end()).toThrow('an observer failed');
    // both ran after the commit (another connection already saw the write), the one after the throw too
    expect(seen).toEqual([
      ['first', '{"v":1}'],
      ['third', '{"v":1}'],
    ]);
    expect(deferred.pending).toBe(0);
    deferred.later(() => seen.push('outside'));
    expect(seen.at(-1)).toBe('outside');
    reader.close();
    store.close();
  });

  it('a storage failure at end is the guard’s safe halt: one failure call, earlier data intact', () => {
    const file = join(tmp(), 'p.db');
    const store = Store.open(file);
    const failures: string[] = [];
    guardStore(store, (m) => failures.push(m));
    const deferred = new DeferredWrites(store);
    store.putControl('before', { v: 1 }, 1);
    store.limitSize(0); // no room for another page: every write fails like a full disk
    deferred.begin();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 3; i++) store.putControl(`k${i}`, big, 2 + i);
    expect(failures).toHaveLength(0);
    expect(() => deferred.end()).not.toThrow();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/^SQLITE_FULL/);
    expect(store.getControl('before')).toEqual({ v: 1 });
    expect(store.getControl('k0')).toBeUndefined();
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('tells which orders were in a batch the disk refused (none of them is in the database), and nothing for a batch it took', () => {
    const file = join(tmp(), 'p.db');
    const store = Store.open(file);
    store.startSession({ id: 's', startedAt: 1, config: {}, initialCash: 1000, version: 'test' });
    const refused: string[] = [];
    const guard = guardStore(store, () => {}, (method, args) => refused.push(method === 'upsertOrder' ? `upsertOrder ${(args[1] as Order).id}` : method));
    const lost: string[][] = [];
    const deferred = new DeferredWrites(store, { failedWrites: () => guard.failedWrites, orders: (ids) => lost.push([...ids]) });
    const order = (id: string): Order => ({
      id, venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', timeInForce: 'IOC', postOnly: false, qty: 1, price: null,
      strategy: 'obi@1', reason: 'test', status: 'NEW', filledQty: 0, avgPrice: 0, createdAt: 1, updatedAt: 1,
    });
    deferred.begin();
    store.upsertOrder('s', order('o1'));
    deferred.end();
    expect(lost).toEqual([]);
    expect(store.listOrders('s', { limit: 100 }).map((o) => o.id)).toEqual(['o1']);
    store.limitSize(0); // every write from now on fails like a full disk
    deferred.begin();
    store.upsertOrder('s', order('o2'));
    store.putControl('big', 'x'.repeat(64 * 1024), 2);
    store.upsertOrder('s', order('o3'));
    deferred.end();
    expect(guard.failedWrites).toBeGreaterThan(0);
    // the failed write rolled the transaction back (o2 with it); o3, small, then went in on its own
    const inDb = store.listOrders('s', { limit: 100 }).map((o) => o.id).sort();
    expect(inDb).toContain('o1');
    expect(inDb).not.toContain('o2');
    expect(lost).toEqual([['o1', 'o2', 'o3'].filter((id) => !inDb.includes(id))]);
    // written at once outside a frame, a refused order row is heard of by the guard's callback
    store.upsertOrder('s', { ...order('o4'), reason: 'x'.repeat(64 * 1024) });
    expect(refused).toContain('upsertOrder o4');
    store.close();
  });
});
