import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fill, Order } from '../model/order.js';
import type { AccountSnapshot, RoundTrip } from '../portfolio/portfolio.js';
import { Store } from './db.js';
import { csvField, EXPORT_COLUMNS, exportTable, parseIsoTime, plainNumber, type ExportRequest } from './export.js';
import { LATEST_VERSION, migrate, MIGRATIONS } from './migrations.js';

const T = (iso: string): number => Date.parse(iso);

let dir: string;
let file: string;

const A = 'sess-a';
const B = 'sess-b';

function order(id: string, patch: Partial<Order>): Order {
  return {
    id, venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', postOnly: false, qty: 1, price: 61000.5,
    strategy: 'obi@1', reason: 'imbalance', status: 'ACCEPTED', filledQty: 0, avgPrice: 0, createdAt: 0, updatedAt: 0, ...patch,
  };
}

function fill(id: string, orderId: string, patch: Partial<Fill>): Fill {
  return {
    id, orderId, venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', price: 0, qty: 0, fee: 0, liquidity: 'maker', strategy: 'obi@1',
    time: 0, receivedAt: 0, realizedPnl: 0, ...patch,
  };
}

function trip(patch: Partial<RoundTrip>): RoundTrip {
  return {
    id: 'spot:BTCUSDT:1', venue: 'spot', symbol: 'BTCUSDT', strategy: 'obi@1', direction: 'LONG', status: 'OPEN', qty: 0.5,
    entryPrice: 61000.5, exitPrice: null, openedAt: T('2024-08-08T23:55:00.250Z'), closedAt: null, realizedPnl: 0, fees: 3.05,
    netPnl: -3.05, fills: 1, ...patch,
  };
}

function snap(time: number, patch: Partial<AccountSnapshot>): AccountSnapshot {
  return { time, cash: 0, equity: 0, realizedPnl: 0, unrealizedPnl: 0, fees: 0, initialCash: 100_000, grossExposure: 0, ...patch };
}

/**
 * Session A: a post-only limit buy filled in two parts (the second exactly at 2024-08-09T00:00Z), then a
 * market sell closing the round trip. Session B: a rejected order and an ETH fill at the same midnight.
 */
function buildDatabase(f: string): void {
  const store = Store.open(f);
  try {
    store.startSession({ id: A, startedAt: T('2024-08-08T23:50:00Z'), config: {}, initialCash: 100_000, version: '0.1.0' });
    store.startSession({ id: B, startedAt: T('2024-08-09T00:00:00Z'), config: {}, initialCash: 50_000, version: '0.1.0' });

    const o1 = order('o1', { postOnly: true, reason: 'imbalance 0.42, "strong"', createdAt: T('2024-08-08T23:55:00Z'), updatedAt: T('2024-08-08T23:55:00Z') });
    const f1 = fill('f1', 'o1', { price: 61000.5, qty: 0.5, fee: 3.05, time: T('2024-08-08T23:55:00.250Z'), receivedAt: T('2024-08-08T23:55:00.250Z') + 12.5 });
    Object.assign(o1, { status: 'PARTIALLY_FILLED', filledQty: 0.5, avgPrice: 61000.5, updatedAt: f1.time });
    store.recordFill(A, f1, o1, [trip({})], snap(f1.time, { cash: 69496.7, equity: 99996.95, fees: 3.05, grossExposure: 30500.25 }));

    const f2 = fill('f2', 'o1', { price: 61001.5, qty: 0.5, fee: 1.5e-7, time: T('2024-08-09T00:00:00Z'), receivedAt: T('2024-08-09T00:00:00Z') + 3 });
    Object.assign(o1, { status: 'FILLED', filledQty: 1, avgPrice: 61001, updatedAt: f2.time });
    store.recordFill(A, f2, o1, [trip({ qty: 1, entryPrice: 61001, fees: 3.05000015, netPnl: -3.05000015, fills: 2 })],
      snap(f2.time, { cash: 38995.94999985, equity: 99996.94999985, unrealizedPnl: 0.5, fees: 3.05000015, grossExposure: 61001.5 }));

    const o2 = order('o2', { side: 'SELL', type: 'MARKET', timeInForce: 'IOC', price: null, reason: 'take profit', createdAt: T('2024-08-09T00:10:00Z'), updatedAt: T('2024-08-09T00:10:00Z') });
    const f3 = fill('f3', 'o2', { side: 'SELL', price: 61101, qty: 1, fee: 6.1, liquidity: 'taker', time: T('2024-08-09T00:10:00.005Z'), receivedAt: T('2024-08-09T00:10:00.025Z'), realizedPnl: 100 });
    Object.assign(o2, { status: 'FILLED', filledQty: 1, avgPrice: 61101, updatedAt: f3.time });
    store.recordFill(A, f3, o2, [trip({ status: 'CLOSED', qty: 1, entryPrice: 61001, exitPrice: 61101, closedAt: f3.time, realizedPnl: 100, fees: 9.15000015, netPnl: 90.84999985, fills: 3 })],
      snap(f3.time, { cash: 100090.84999985, equity: 100090.84999985, realizedPnl: 100, fees: 9.15000015 }));

    store.upsertOrder(B, order('o3', {
      type: 'MARKET', timeInForce: 'IOC', price: null, qty: 0.25, reason: 'x', status: 'REJECTED', rejectReason: 'insufficient cash\nretry later',
      createdAt: T('2024-08-09T00:00:00Z'), updatedAt: T('2024-08-09T00:00:00.001Z'),
    }));
    const o4 = order('o4', { venue: 'usdm', symbol: 'ETHUSDT', type: 'MARKET', timeInForce: 'IOC', price: null, qty: 2, reason: '', createdAt: T('2024-08-09T00:00:00Z'), updatedAt: T('2024-08-09T00:00:00Z') });
    o4.cancelRequestedAt = T('2024-08-09T00:00:00Z');
    const f4 = fill('f4', 'o4', { venue: 'usdm', symbol: 'ETHUSDT', price: 2500.25, qty: 2, fee: 2.0002, liquidity: 'taker', time: T('2024-08-09T00:00:00Z'), receivedAt: T('2024-08-09T00:00:00Z') });
    Object.assign(o4, { status: 'FILLED', filledQty: 2, avgPrice: 2500.25 });
    store.recordFill(B, f4, o4, [trip({ id: 'usdm:ETHUSDT:1', venue: 'usdm', symbol: 'ETHUSDT', qty: 2, entryPrice: 2500.25, openedAt: f4.time, fees: 2.0002, netPnl: -2.0002 })],
      snap(f4.time, { initialCash: 50_000, cash: 49997.9998, equity: 49997.9998, fees: 2.0002, grossExposure: 5000.5 }));
    store.insertEquity(B, { ...snap(T('2024-08-09T00:05:00Z'), { cash: 1e21, equity: 1e21 }), highWaterMark: 1e21, drawdown: -0.25 });
  } finally {
    store.close();
  }
}

class Collect extends Writable {
  readonly chunks: string[] = [];
  constructor(opts: { highWaterMark?: number; delayMs?: number } = {}) {
    super({
      highWaterMark: opts.highWaterMark ?? 16 * 1024,
      decodeStrings: false,
      write: (chunk: string | Buffer, _enc, cb) => {
        this.chunks.push(chunk.toString());
        if (opts.delayMs === undefined) cb();
        else setTimeout(cb, opts.delayMs);
      },
    });
  }
  text(): string {
    return this.chunks.join('');
  }
}

async function exportText(req: Partial<ExportRequest>, db = file): Promise<string> {
  const out = new Collect();
  const r = await exportTable({ file: db, what: 'fills', format: 'csv', ...req }, out);
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return out.text();
}

const crlf = (...lines: string[]): string => lines.map((l) => `${l}\r\n`).join('');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'papertape-export-'));
  file = path.join(dir, 'papertape.db');
  buildDatabase(file);
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('export columns', () => {
  it('are documented in a stable order', () => {
    expect(EXPORT_COLUMNS).toEqual({
      orders: [
        'session_id', 'id', 'venue', 'symbol', 'side', 'type', 'time_in_force', 'qty', 'price', 'strategy', 'reason', 'status',
        'filled_qty', 'avg_price', 'created_at', 'created_at_iso', 'updated_at', 'updated_at_iso', 'reject_reason', 'post_only',
        'cancel_requested_at', 'cancel_requested_at_iso',
      ],
      fills: [
        'session_id', 'id', 'order_id', 'venue', 'symbol', 'side', 'price', 'qty', 'fee', 'liquidity', 'strategy', 'realized_pnl',
        'time', 'time_iso', 'received_at', 'received_at_iso',
      ],
      trades: [
        'session_id', 'id', 'venue', 'symbol', 'strategy', 'direction', 'status', 'qty', 'entry_price', 'exit_price', 'opened_at',
        'opened_at_iso', 'closed_at', 'closed_at_iso', 'realized_pnl', 'fees', 'net_pnl', 'fills',
      ],
      equity: ['session_id', 'time', 'time_iso', 'cash', 'equity', 'realized_pnl', 'unrealized_pnl', 'fees', 'gross_exposure', 'high_water_mark', 'drawdown'],
    });
  });

  it.each(['orders', 'fills', 'trades', 'equity'] as const)('cover every stored column of %s, in schema order', async (what) => {
    const db = new Database(file, { readonly: true });
    const stored = (db.pragma(`table_info(${what})`) as Array<{ name: string }>).map((c) => c.name);
    db.close();
    expect(EXPORT_COLUMNS[what].filter((c) => !c.endsWith('_iso'))).toEqual(stored);
    const header = (await exportText({ what })).split('\r\n')[0];
    expect(header).toBe(EXPORT_COLUMNS[what].join(','));
  });
});

describe('exportTable', () => {
  it('writes fills of every session as CSV, oldest first (same time: in insertion order)', async () => {
    expect(await exportText({})).toBe(
      crlf(
        'session_id,id,order_id,venue,symbol,side,price,qty,fee,liquidity,strategy,realized_pnl,time,time_iso,received_at,received_at_iso',
        'sess-a,f1,o1,spot,BTCUSDT,BUY,61000.5,0.5,3.05,maker,obi@1,0,1723161300250,2024-08-08T23:55:00.250Z,1723161300262.5,2024-08-08T23:55:00.262Z',
        'sess-a,f2,o1,spot,BTCUSDT,BUY,61001.5,0.5,0.00000015,maker,obi@1,0,1723161600000,2024-08-09T00:00:00.000Z,1723161600003,2024-08-09T00:00:00.003Z',
        'sess-b,f4,o4,usdm,ETHUSDT,BUY,2500.25,2,2.0002,taker,obi@1,0,1723161600000,2024-08-09T00:00:00.000Z,1723161600000,2024-08-09T00:00:00.000Z',
        'sess-a,f3,o2,spot,BTCUSDT,SELL,61101,1,6.1,taker,obi@1,100,1723162200005,2024-08-09T00:10:00.005Z,1723162200025,2024-08-09T00:10:00.025Z',
      ),
    );
  });

  it('quotes CSV fields with a comma, quote or line break (quotes doubled); null empty, "" for an empty string, booleans', async () => {
    expect(await exportText({ what: 'orders' })).toBe(
      crlf(
        EXPORT_COLUMNS.orders.join(','),
        'sess-a,o1,spot,BTCUSDT,BUY,LIMIT,GTC,1,61000.5,obi@1,"imbalance 0.42, ""strong""",FILLED,1,61001,1723161300000,2024-08-08T23:55:00.000Z,1723161600000,2024-08-09T00:00:00.000Z,,true,,',
        'sess-b,o3,spot,BTCUSDT,BUY,MARKET,IOC,0.25,,obi@1,x,REJECTED,0,0,1723161600000,2024-08-09T00:00:00.000Z,1723161600001,2024-08-09T00:00:00.001Z,"insufficient cash\nretry later",false,,',
        'sess-b,o4,usdm,ETHUSDT,BUY,MARKET,IOC,2,,obi@1,"",FILLED,2,2500.25,1723161600000,2024-08-09T00:00:00.000Z,1723161600000,2024-08-09T00:00:00.000Z,,false,1723161600000,2024-08-09T00:00:00.000Z',
        'sess-a,o2,spot,BTCUSDT,SELL,MARKET,IOC,1,,obi@1,take profit,FILLED,1,61101,1723162200000,2024-08-09T00:10:00.000Z,1723162200005,2024-08-09T00:10:00.005Z,,false,,',
      ),
    );
  });

  it('writes round trips and the equity curve (no exponent in CSV)', async () => {
    expect(await exportText({ what: 'trades', session: A })).toBe(
      crlf(
        EXPORT_COLUMNS.trades.join(','),
        'sess-a,spot:BTCUSDT:1,spot,BTCUSDT,obi@1,LONG,CLOSED,1,61001,61101,1723161300250,2024-08-08T23:55:00.250Z,1723162200005,2024-08-09T00:10:00.005Z,100,9.15000015,90.84999985,3',
      ),
    );
    expect(await exportText({ what: 'equity', session: B })).toBe(
      crlf(
        EXPORT_COLUMNS.equity.join(','),
        'sess-b,1723161600000,2024-08-09T00:00:00.000Z,49997.9998,49997.9998,0,0,2.0002,5000.5,,',
        'sess-b,1723161900000,2024-08-09T00:05:00.000Z,1000000000000000000000,1000000000000000000000,0,0,0,0,1000000000000000000000,-0.25',
      ),
    );
  });

  it('writes one JSON array with typed values', async () => {
    const text = await exportText({ what: 'orders', format: 'json', session: A, to: T('2024-08-09T00:00:00Z') });
    expect(text).toBe(
      '[\n' +
        '{"session_id":"sess-a","id":"o1","venue":"spot","symbol":"BTCUSDT","side":"BUY","type":"LIMIT","time_in_force":"GTC","qty":1,' +
        '"price":61000.5,"strategy":"obi@1","reason":"imbalance 0.42, \\"strong\\"","status":"FILLED","filled_qty":1,"avg_price":61001,' +
        '"created_at":1723161300000,"created_at_iso":"2024-08-08T23:55:00.000Z","updated_at":1723161600000,"updated_at_iso":"2024-08-09T00:00:00.000Z",' +
        '"reject_reason":null,"post_only":true,"cancel_requested_at":null,"cancel_requested_at_iso":null}' +
        '\n]\n',
    );
    const all = JSON.parse(await exportText({ format: 'json' })) as Array<Record<string, unknown>>;
    expect(all.map((r) => r['id'])).toEqual(['f1', 'f2', 'f4', 'f3']);
    expect(Object.keys(all[0]!)).toEqual(EXPORT_COLUMNS.fills);
    expect(all[1]).toMatchObject({ fee: 1.5e-7, received_at: 1723161600003, received_at_iso: '2024-08-09T00:00:00.003Z' });
  });

  it('writes JSON Lines: one object per line', async () => {
    const text = await exportText({ what: 'equity', format: 'jsonl', session: B });
    expect(text).toBe(
      '{"session_id":"sess-b","time":1723161600000,"time_iso":"2024-08-09T00:00:00.000Z","cash":49997.9998,"equity":49997.9998,"realized_pnl":0,"unrealized_pnl":0,"fees":2.0002,"gross_exposure":5000.5,"high_water_mark":null,"drawdown":null}\n' +
        '{"session_id":"sess-b","time":1723161900000,"time_iso":"2024-08-09T00:05:00.000Z","cash":1e+21,"equity":1e+21,"realized_pnl":0,"unrealized_pnl":0,"fees":0,"gross_exposure":0,"high_water_mark":1e+21,"drawdown":-0.25}\n',
    );
  });

  it.each([
    { format: 'csv' as const, empty: crlf(EXPORT_COLUMNS.fills.join(',')) },
    { format: 'json' as const, empty: '[]\n' },
    { format: 'jsonl' as const, empty: '' },
  ])('writes an empty $format export when nothing matches', async ({ format, empty }) => {
    expect(await exportText({ format, from: T('2030-01-01T00:00:00Z') })).toBe(empty);
  });

  const ids = async (req: Partial<ExportRequest>): Promise<string[]> =>
    (JSON.parse(await exportText({ ...req, format: 'json' })) as Array<{ id: string }>).map((r) => r.id);

  it.each([
    { name: 'from is inclusive', req: { from: T('2024-08-09T00:00:00Z') }, expected: ['f2', 'f4', 'f3'] },
    { name: 'to is exclusive', req: { to: T('2024-08-09T00:00:00Z') }, expected: ['f1'] },
    { name: 'one millisecond later', req: { from: T('2024-08-09T00:00:00.001Z') }, expected: ['f3'] },
    { name: 'a window', req: { from: T('2024-08-08T23:55:00.250Z'), to: T('2024-08-09T00:10:00.005Z') }, expected: ['f1', 'f2', 'f4'] },
    { name: 'an offset, same instant', req: { from: parseIsoTime('2024-08-09T03:00:00+03:00')! }, expected: ['f2', 'f4', 'f3'] },
    { name: 'a date', req: { from: parseIsoTime('2024-08-08')!, to: parseIsoTime('2024-08-09')! }, expected: ['f1'] },
  ])('filters on the time column: $name', async ({ req, expected }) => {
    expect(await ids(req)).toEqual(expected);
  });

  it('filters orders on created_at and trades on opened_at', async () => {
    expect(await ids({ what: 'orders', from: T('2024-08-09T00:00:00Z'), to: T('2024-08-09T00:10:00Z') })).toEqual(['o3', 'o4']);
    expect(await ids({ what: 'trades', from: T('2024-08-09T00:00:00Z') })).toEqual(['usdm:ETHUSDT:1']);
  });

  it('restricts to one session', async () => {
    expect(await ids({ session: A })).toEqual(['f1', 'f2', 'f3']);
    expect(await ids({ session: B })).toEqual(['f4']);
    expect(await ids({ session: B, what: 'orders' })).toEqual(['o3', 'o4']);
  });

  it('streams a large table in chunks, waiting for a slow reader', async () => {
    const big = path.join(dir, 'big.db');
    const store = Store.open(big);
    store.startSession({ id: 'big', startedAt: 0, config: {}, initialCash: 1, version: 'x' });
    store.beginBatch();
    for (let i = 0; i < 20_000; i++) {
      store.insertEquity('big', snap(1_700_000_000_000 + i, { cash: i * 0.1, equity: 1 + i / 3 }));
    }
    store.commitBatch();
    store.close();
    const out = new Collect({ highWaterMark: 1024, delayMs: 1 });
    const r = await exportTable({ file: big, what: 'equity', format: 'jsonl' }, out);
    expect(r.ok && r.value.rows).toBe(20_000);
    expect(out.chunks.length).toBeGreaterThan(10);
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(JSON.parse(lines[12_345]!)).toMatchObject({ time: 1_700_000_012_345, cash: 12_345 * 0.1, equity: 1 + 12_345 / 3 });
  });

  it('rejects when the output fails, and leaves the database usable', async () => {
    const out = new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) });
    out.on('error', () => {});
    await expect(exportTable({ file, what: 'fills', format: 'csv' }, out)).rejects.toThrow(/disk full/);
    expect(await ids({ session: B })).toEqual(['f4']);
  });
});

describe('exportTable refuses', () => {
  const refuse = async (req: Partial<ExportRequest>, db = file): Promise<{ code: string; message: string }> => {
    const out = new Collect();
    const r = await exportTable({ file: db, what: 'fills', format: 'csv', ...req }, out);
    expect(out.text()).toBe('');
    if (r.ok) throw new Error('expected a refusal');
    return { code: r.code, message: r.message };
  };

  it('a missing file, a file that is no database, a database without the table', async () => {
    expect(await refuse({}, path.join(dir, 'nope.db'))).toEqual({ code: 'no-database', message: `no database at ${path.join(dir, 'nope.db')}` });
    const text = path.join(dir, 'text.db');
    fs.writeFileSync(text, 'this is not a database, just text that is long enough to have a header of a hundred bytes or so, really it is\n');
    expect(await refuse({}, text)).toMatchObject({ code: 'not-a-database', message: expect.stringMatching(/cannot read .* as a SQLite database/) });
    const empty = path.join(dir, 'empty.db');
    new Database(empty).close();
    expect(await refuse({}, empty)).toMatchObject({ code: 'no-table', message: expect.stringContaining('no fills table') });
  });

  it('a database with a newer schema', async () => {
    const newer = path.join(dir, 'newer.db');
    buildDatabase(newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    expect(await refuse({}, newer)).toEqual({
      code: 'newer-schema',
      message: `database ${newer} has schema version ${LATEST_VERSION + 1}, newer than this papertape knows (${LATEST_VERSION}): upgrade papertape to export it`,
    });
  });

  it('an unknown session, and from >= to', async () => {
    expect(await refuse({ session: 'ghost' })).toEqual({ code: 'no-session', message: `database ${file} has no session "ghost"` });
    expect(await refuse({ from: T('2024-08-09T00:00:00Z'), to: T('2024-08-09T00:00:00Z') })).toEqual({
      code: 'bad-range', message: '--from (2024-08-09T00:00:00.000Z) must be before --to (2024-08-09T00:00:00.000Z)',
    });
  });
});

describe('exportTable on other schemas', () => {
  it('exports an older database read-only, without migrating it: missing columns are empty', async () => {
    const old = path.join(dir, 'v1.db');
    const db = new Database(old);
    migrate(db, MIGRATIONS.slice(0, 1));
    db.prepare(`INSERT INTO sessions VALUES ('s', 0, NULL, '{}', 1, 'v')`).run();
    db.prepare(`INSERT INTO orders VALUES ('s', 'o1', 'spot', 'BTCUSDT', 'BUY', 'LIMIT', 'GTC', 1, 100, 'obi@1', 'r', 'ACCEPTED', 0, 0, 5, 5, NULL)`).run();
    db.close();
    expect(await exportText({ what: 'orders' }, old)).toBe(
      crlf(EXPORT_COLUMNS.orders.join(','), 's,o1,spot,BTCUSDT,BUY,LIMIT,GTC,1,100,obi@1,r,ACCEPTED,0,0,5,1970-01-01T00:00:00.005Z,5,1970-01-01T00:00:00.005Z,,,,'),
    );
    const after = new Database(old, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(1);
    after.close();
  });

  it('appends columns it does not document yet, in schema order', async () => {
    const extra = path.join(dir, 'extra.db');
    buildDatabase(extra);
    const db = new Database(extra);
    db.exec(`ALTER TABLE fills ADD COLUMN venue_trade_id TEXT; UPDATE fills SET venue_trade_id = 'vt-' || id`);
    db.close();
    const lines = (await exportText({ session: B }, extra)).split('\r\n');
    expect(lines[0]).toBe(`${EXPORT_COLUMNS.fills.join(',')},venue_trade_id`);
    expect(lines[1]!.endsWith(',vt-f4')).toBe(true);
  });
});

describe('parseIsoTime', () => {
  it.each([
    ['2024-08-08', '2024-08-08T00:00:00.000Z'],
    ['2024-08-08T23:55:00Z', '2024-08-08T23:55:00.000Z'],
    ['2024-08-08T23:55Z', '2024-08-08T23:55:00.000Z'],
    ['2024-08-08T23:55:00', '2024-08-08T23:55:00.000Z'],
    ['2024-08-08 23:55:00.5Z', '2024-08-08T23:55:00.500Z'],
    ['2024-08-08T23:55:00.123+03:00', '2024-08-08T20:55:00.123Z'],
    ['2024-08-08T23:55:00-0530', '2024-08-09T05:25:00.000Z'],
    ['2024-08-08T23:55:00+02', '2024-08-08T21:55:00.000Z'],
    ['2024-02-29T00:00:00z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(new Date(parseIsoTime(text)!).toISOString()).toBe(iso);
  });

  it('keeps sub-millisecond fractions', () => {
    expect(parseIsoTime('1970-01-01T00:00:00.0125Z')).toBe(12.5);
  });

  it.each(['', 'yesterday', '2024-8-8', '2024-02-30', '2023-02-29', '2024-13-01', '2024-08-08T24:00:00Z', '2024-08-08T23:60Z',
    '2024-08-08T23:55:61Z', '2024-08-08T23', '2024-08-08T23:55:00+24:00', '2024-08-08Z', '1723161300000', '2024-08-08T23:55:00 Z'])(
    'refuses %j',
    (text) => {
      expect(parseIsoTime(text)).toBeUndefined();
    },
  );
});

describe('value formatting', () => {
  it.each([
    [0, '0'], [-0, '0'], [61000.5, '61000.5'], [1.5e-7, '0.00000015'], [-1.5e-7, '-0.00000015'], [1e-7, '0.0000001'],
    [1e21, '1000000000000000000000'], [1.2345e22, '12345000000000000000000'], [-2.5e-10, '-0.00000000025'], [0.1 + 0.2, '0.30000000000000004'],
  ])('plainNumber(%d) = %s', (n, s) => {
    expect(plainNumber(n)).toBe(s);
  });

  it('plainNumber reads back as the same double, without an exponent', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const s = plainNumber(n);
        expect(s).toMatch(/^-?\d+(\.\d+)?$/);
        expect(Number(s)).toBe(n === 0 ? 0 : n);
      }),
    );
  });

  it.each([
    [null, ''], ['', '""'], ['plain', 'plain'], ['a,b', '"a,b"'], ['say "hi"', '"say ""hi"""'], ['two\nlines', '"two\nlines"'],
    ['cr\r', '"cr\r"'], [true, 'true'], [false, 'false'], [3.05, '3.05'],
  ] as const)('csvField(%j) = %s', (v, s) => {
    expect(csvField(v)).toBe(s);
  });
});
