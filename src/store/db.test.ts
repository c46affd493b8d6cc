import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Side } from '../core/types.js';
import type { Fill, Order } from '../model/order.js';
import { Portfolio } from '../portfolio/portfolio.js';
import { Store } from './db.js';

let dir: string;
let file: string;
let store: Store;
const S = 'sess-1';

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'papertape-store-'));
  file = path.join(dir, 'nested', 'deeper', 'papertape.db');
  store = Store.open(file);
  store.startSession({ id: S, startedAt: 1_000, config: { venue: 'spot', symbols: ['BTCUSDT'] }, initialCash: 10_000, version: '0.1.0' });
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function order(id: string, patch: Partial<Order> = {}): Order {
  return {
    id, venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', postOnly: false, qty: 1, price: 100,
    strategy: 'obi@1', reason: 'imbalance', status: 'ACCEPTED', filledQty: 0, avgPrice: 0, createdAt: 1_000, updatedAt: 1_000, ...patch,
  };
}

function fill(id: string, orderId: string, side: Side, qty: number, price: number, time: number, patch: Partial<Fill> = {}): Fill {
  return {
    id, orderId, venue: 'spot', symbol: 'BTCUSDT', side, price, qty, fee: 0.01 * price * qty / 100, liquidity: 'taker',
    strategy: 'obi@1', time, receivedAt: time + 5, realizedPnl: 0, ...patch,
  };
}

/** Applies a fill to the portfolio and records it, as the engine would. */
function book(p: Portfolio, f: Fill, o: Order): void {
  const { trips } = p.applyFill(f);
  o.status = o.filledQty + f.qty >= o.qty ? 'FILLED' : 'PARTIALLY_FILLED';
  o.avgPrice = (o.avgPrice * o.filledQty + f.price * f.qty) / (o.filledQty + f.qty);
  o.filledQty += f.qty;
  o.updatedAt = f.time;
  store.recordFill(S, f, o, trips, p.snapshot(f.time));
}

function count(table: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('Store', () => {
  it('creates the parent directory and runs in WAL mode', () => {
    expect(fs.existsSync(file)).toBe(true);
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
  });

  it('round-trips a session', () => {
    expect(store.getSession(S)).toEqual({
      id: S, startedAt: 1_000, endedAt: null, config: { venue: 'spot', symbols: ['BTCUSDT'] }, initialCash: 10_000, version: '0.1.0',
    });
    store.endSession(S, 9_000);
    expect(store.getSession(S)?.endedAt).toBe(9_000);
    store.startSession({ id: 'sess-2', startedAt: 10_000, config: null, initialCash: 5, version: '0.2.0' });
    expect(store.listSessions(10).map((s) => s.id)).toEqual(['sess-2', S]);
    expect(store.getSession('nope')).toBeUndefined();
    expect(() => store.endSession('nope', 1)).toThrow(/no session nope/);
    expect(() => store.startSession({ id: S, startedAt: 1, config: {}, initialCash: 1, version: 'x' })).toThrow();
  });

  it('upserts orders and lists them newest first, by symbol, with a limit', () => {
    const a = order('o1', { createdAt: 1_000 });
    store.upsertOrder(S, a);
    store.upsertOrder(S, order('o2', { createdAt: 2_000, symbol: 'ETHUSDT', type: 'MARKET', price: null, timeInForce: 'IOC' }));
    store.upsertOrder(S, order('o3', { createdAt: 3_000 }));
    a.status = 'REJECTED';
    a.updatedAt = 1_500;
    a.rejectReason = 'post-only would cross';
    store.upsertOrder(S, a);

    expect(store.listOrders(S, { limit: 10 }).map((o) => o.id)).toEqual(['o3', 'o2', 'o1']);
    expect(store.listOrders(S, { limit: 10, symbol: 'BTCUSDT' }).map((o) => o.id)).toEqual(['o3', 'o1']);
    expect(store.listOrders(S, { limit: 1 }).map((o) => o.id)).toEqual(['o3']);
    expect(store.getOrder(S, 'o1')).toEqual(a);
    expect(store.getOrder(S, 'o2')).toEqual(order('o2', { createdAt: 2_000, symbol: 'ETHUSDT', type: 'MARKET', price: null, timeInForce: 'IOC' }));
    expect(store.getOrder(S, 'o2')).not.toHaveProperty('rejectReason');
    expect(store.listOrders('other-session', { limit: 10 })).toEqual([]);
  });

  it('records fills with their order, round trips and equity, and reads them back', () => {
    const p = new Portfolio(10_000);
    const o1 = order('o1', { qty: 2 });
    const o2 = order('o2', { side: 'SELL', qty: 3, createdAt: 3_000, updatedAt: 3_000 });
    const fills = [
      fill('f1', 'o1', 'BUY', 1, 100, 2_000),
      fill('f2', 'o1', 'BUY', 1, 110, 2_500),
      fill('f3', 'o2', 'SELL', 3, 120, 3_500), // flips: closes the long, opens a short of 1
    ];
    book(p, fills[0]!, o1);
    book(p, fills[1]!, o1);
    book(p, fills[2]!, o2);

    expect(store.listFills(S, { limit: 10 })).toEqual([...fills].reverse());
    expect(fills[2]!.realizedPnl).toBe(30); // (120 - 105) * 2
    expect(store.listFills(S, { limit: 10, symbol: 'ETHUSDT' })).toEqual([]);
    expect(store.getOrder(S, 'o1')).toMatchObject({ status: 'FILLED', filledQty: 2, avgPrice: 105, updatedAt: 2_500 });

    const trades = store.listTrades(S, { limit: 10 });
    expect(trades).toEqual([p.openTrip('spot', 'BTCUSDT'), ...p.closedTrips()]);
    expect(store.listTrades(S, { limit: 10, status: 'CLOSED' })).toEqual(p.closedTrips());
    expect(store.listTrades(S, { limit: 10, status: 'OPEN' }).map((t) => t.id)).toEqual(['spot:BTCUSDT:2']);

    const curve = store.equityCurve(S);
    expect(curve.map((e) => e.time)).toEqual([2_000, 2_500, 3_500]);
    const { initialCash: _ignored, ...last } = p.snapshot(3_500);
    // rows written from a plain snapshot carry no marks
    expect(curve[2]).toEqual({ ...last, highWaterMark: null, drawdown: null });

    const totals = store.fillTotals(S);
    expect(totals.count).toBe(3);
    expect(totals.buyNotional).toBeCloseTo(210, 9);
    expect(totals.sellNotional).toBeCloseTo(360, 9);
    expect(totals.fees).toBeCloseTo(p.fees, 12);
    expect(totals.realizedPnl).toBeCloseTo(30, 9);
  });

  it('stores nothing of a fill whose id is a duplicate: one transaction', () => {
    const p = new Portfolio(10_000);
    const o1 = order('o1', { qty: 2 });
    book(p, fill('f1', 'o1', 'BUY', 1, 100, 2_000), o1);
    const before = { order: store.getOrder(S, 'o1'), trades: store.listTrades(S, { limit: 10 }), equity: store.equityCurve(S) };

    const dup = fill('f1', 'o1', 'BUY', 1, 101, 2_100);
    const { trips } = p.applyFill(dup);
    const o1After = { ...o1, status: 'FILLED' as const, filledQty: 2, updatedAt: 2_100 };
    expect(() => store.recordFill(S, dup, o1After, trips, p.snapshot(2_100))).toThrow(/duplicate fill f1 in session sess-1/);

    expect(count('fills')).toBe(1);
    expect(count('equity')).toBe(1);
    expect(store.getOrder(S, 'o1')).toEqual(before.order);
    expect(store.listTrades(S, { limit: 10 })).toEqual(before.trades);
    expect(store.equityCurve(S)).toEqual(before.equity);
    expect(store.listFills(S, { limit: 10 }).map((f) => f.price)).toEqual([100]);
  });

  it('keeps sessions apart: the same fill id may appear in two sessions', () => {
    store.startSession({ id: 'sess-2', startedAt: 5_000, config: {}, initialCash: 10_000, version: '0.1.0' });
    for (const s of [S, 'sess-2']) {
      const p = new Portfolio(10_000);
      const f = fill('f1', 'o1', 'BUY', 1, 100, 6_000);
      const { trips } = p.applyFill(f);
      store.recordFill(s, f, order('o1'), trips, p.snapshot(6_000));
    }
    expect(store.listFills(S, { limit: 10 })).toHaveLength(1);
    expect(store.listFills('sess-2', { limit: 10 })).toHaveLength(1);
    expect(store.fillTotals('sess-3')).toEqual({ count: 0, buyNotional: 0, sellNotional: 0, fees: 0, realizedPnl: 0 });
  });

  it('refuses rows of an unknown session (foreign keys on) and a fill of another order', () => {
    const p = new Portfolio(1);
    const f = fill('f1', 'o1', 'BUY', 1, 100, 1);
    const { trips } = p.applyFill(f);
    expect(() => store.recordFill('ghost', f, order('o1'), trips, p.snapshot(1))).toThrow(/FOREIGN KEY/);
    expect(() => store.recordFill(S, f, order('o2'), trips, p.snapshot(1))).toThrow(/belongs to order o1/);
    expect(count('orders')).toBe(0);
  });

  it.each([
    { name: 'the whole curve', opts: {}, times: [1, 2, 3, 4, 5] },
    { name: 'points since a time (inclusive)', opts: { since: 3 }, times: [3, 4, 5] },
    { name: 'the latest points, oldest first', opts: { limit: 2 }, times: [4, 5] },
    { name: 'the latest points since a time', opts: { since: 2, limit: 3 }, times: [3, 4, 5] },
    { name: 'nothing with limit 0', opts: { limit: 0 }, times: [] },
  ])('equityCurve returns $name', ({ opts, times }) => {
    for (const t of [3, 1, 5, 2, 4]) {
      store.insertEquity(S, { time: t, cash: t, equity: 10 * t, realizedPnl: 0, unrealizedPnl: 0, fees: 0, initialCash: 1, grossExposure: 0 });
    }
    const curve = store.equityCurve(S, opts);
    expect(curve.map((e) => e.time)).toEqual(times);
    expect(curve.map((e) => e.equity)).toEqual(times.map((t) => 10 * t));
  });

  it('records risk denials, counts them per check and lists them newest first', () => {
    const intent = { venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 5, strategy: 'obi@1', reason: 'x', createdAt: 1 };
    const base = { venue: 'spot' as const, symbol: 'BTCUSDT', strategy: 'obi@1', intent };
    const id1 = store.insertDenial(S, { ...base, time: 1, check: 'maxPosition', reason: 'position 5 > 2' });
    store.insertDenial(S, { ...base, time: 2, check: 'killSwitch', reason: 'kill switch on' });
    store.insertDenial(S, { ...base, time: 3, check: 'maxPosition', reason: 'position 6 > 2' });
    expect(store.denialCounts(S)).toEqual({ killSwitch: 1, maxPosition: 2 });
    expect(store.denialCounts('other')).toEqual({});
    const list = store.listDenials(S, { limit: 2 });
    expect(list.map((d) => [d.time, d.check])).toEqual([[3, 'maxPosition'], [2, 'killSwitch']]);
    expect(list[0]).toEqual({ ...base, id: id1 + 2, time: 3, check: 'maxPosition', reason: 'position 6 > 2' });
  });

  it('keeps everything across close and re-open', () => {
    const p = new Portfolio(10_000);
    book(p, fill('f1', 'o1', 'BUY', 1, 100, 2_000), order('o1'));
    store.insertDenial(S, { time: 1, venue: 'spot', symbol: 'BTCUSDT', strategy: 's', check: 'c', reason: 'r', intent: null });
    store.close();
    store = Store.open(file);
    expect(store.listFills(S, { limit: 5 }).map((f) => f.id)).toEqual(['f1']);
    expect(store.listTrades(S, { limit: 5 })).toHaveLength(1);
    expect(store.equityCurve(S)).toHaveLength(1);
    expect(store.listDenials(S, { limit: 5 })[0]?.intent).toBeNull();
  });

  it('rejects a negative or fractional limit', () => {
    expect(() => store.listFills(S, { limit: -1 })).toThrow(RangeError);
    expect(() => store.listOrders(S, { limit: 1.5 })).toThrow(RangeError);
  });
});

describe('controls', () => {
  it('stores, replaces and reads back a control value; an unreadable row reads as missing', () => {
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-controls-'));
    const s = Store.open(path.join(dir2, 'c.db'));
    expect(s.getControl('risk')).toBeUndefined();
    s.putControl('risk', { halted: true, haltReason: 'kill' }, 1);
    s.putControl('risk', { halted: false, haltReason: '' }, 2);
    expect(s.getControl('risk')).toEqual({ halted: false, haltReason: '' });
    s.close();
    const raw = new Database(path.join(dir2, 'c.db'));
    raw.prepare(`UPDATE controls SET value_json = '{broken' WHERE key = 'risk'`).run();
    raw.close();
    const t = Store.open(path.join(dir2, 'c.db'));
    expect(t.getControl('risk')).toBeUndefined();
    t.close();
    fs.rmSync(dir2, { recursive: true, force: true });
  });
});

describe('checkpoints', () => {
  it('keeps the newest N, and falls back past a damaged one to the previous good one', () => {
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'pt-cp-'));
    const file = path.join(dir2, 'c.db');
    const s = Store.open(file);
    s.startSession({ id: 'x', startedAt: 1, config: {}, initialCash: 1, version: 't' });
    expect(s.latestCheckpoint('x')).toEqual({ skipped: [] });
    for (let i = 1; i <= 5; i++) s.writeCheckpoint('x', i * 1000, { n: i }, 3);
    expect(s.latestCheckpoint<{ n: number }>('x').checkpoint).toMatchObject({ time: 5000, state: { n: 5 } });
    s.close();
    const raw = new Database(file);
    expect(raw.prepare(`SELECT COUNT(*) AS n FROM checkpoints`).get()).toEqual({ n: 3 });
    // damage the newest two: one altered (checksum), one truncated JSON with a matching checksum
    const ids = (raw.prepare(`SELECT id FROM checkpoints ORDER BY id DESC`).all() as { id: number }[]).map((r) => r.id);
    raw.prepare(`UPDATE checkpoints SET state_json = '{"n":55}' WHERE id = ?`).run(ids[0]);
    const broken = '{"n":4';
    raw.prepare(`UPDATE checkpoints SET state_json = ?, sha256 = ? WHERE id = ?`).run(broken, createHash('sha256').update(broken).digest('hex'), ids[1]);
    raw.close();
    const t = Store.open(file);
    const r = t.latestCheckpoint<{ n: number }>('x');
    expect(r.checkpoint).toMatchObject({ time: 3000, state: { n: 3 } });
    expect(r.skipped).toEqual([`checkpoint ${ids[0]}: checksum mismatch`, expect.stringMatching(new RegExp(`^checkpoint ${ids[1]}: `))]);
    t.close();
    fs.rmSync(dir2, { recursive: true, force: true });
  });
});
