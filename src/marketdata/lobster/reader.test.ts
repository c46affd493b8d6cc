import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../../test/support/data.js';
import { lobsterDayStart, lobsterFiles, parseLobsterTime, readLobster, type LobsterBook, type LobsterHandler } from './reader.js';

const EXCERPT = resolve(SHARED_DATA, 'lobster-aapl-l10-excerpt');
const EXCERPT_MSG = join(EXCERPT, 'AAPL_2012-06-21_34200000_57600000_message_10.csv');
const EXCERPT_OB = join(EXCERPT, 'AAPL_2012-06-21_34200000_57600000_orderbook_10.csv');
const HOUR_MSG = resolve(SHARED_DATA, 'lobster-aapl-1h-messages/AAPL_2012-06-21_34200000_37800000_message_50.csv');

const dir = mkdtempSync(join(tmpdir(), 'papertape-lobster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the top `n` levels of a book as [price, size] pairs, asks then bids, best first */
function top(b: LobsterBook, n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < Math.min(n, b.asks.size); i++) out.push([b.asks.price(i), b.asks.qty(i)]);
  out.push([]);
  for (let i = 0; i < Math.min(n, b.bids.size); i++) out.push([b.bids.price(i), b.bids.qty(i)]);
  return out;
}

/** a LOBSTER orderbook row read independently: asks then bids, best first, empty levels left out */
function rowLevels(row: string): number[][] {
  const f = row.split(',').map(Number);
  const asks: number[][] = [];
  const bids: number[][] = [];
  for (let i = 0; i + 3 < f.length; i += 4) {
    if (f[i + 1]! > 0) asks.push([f[i]!, f[i + 1]!]);
    if (f[i + 3]! > 0) bids.push([f[i + 2]!, f[i + 3]!]);
  }
  return [...asks, [], ...bids];
}

const csvLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

interface Seen {
  books: { line: string; levels: number[][] }[];
  trades: { price: number; qty: number; buyerIsMaker: boolean; hidden: boolean; t: number }[];
  unsynced: number[];
  /** books whose best bid is not below the best ask */
  crossed: number;
  count: number;
}

/** collects what the reader reports; with `only`, the levels of just the books after those messages (keys) */
function collector(levels = 10, only?: Set<string>): { h: LobsterHandler; seen: Seen } {
  const seen: Seen = { books: [], trades: [], unsynced: [], crossed: 0, count: 0 };
  const h: LobsterHandler = {
    onBook(b, _t, m) {
      seen.count++;
      if (!(b.bids.price(0) < b.asks.price(0))) seen.crossed++;
      const line = `${m.ns}|${m.type}|${m.orderId}|${m.size}|${m.price}|${m.direction}`;
      if (only === undefined || only.has(line)) seen.books.push({ line, levels: top(b, levels) });
    },
    onTrade(tr, t) {
      seen.trades.push({ price: tr.priceUnits, qty: tr.qtyUnits, buyerIsMaker: tr.buyerIsMaker, hidden: tr.hidden, t });
    },
    onUnsynced(t) {
      seen.unsynced.push(t);
    },
  };
  return { h, seen };
}

const key = (line: string): string => {
  const [t, ...rest] = line.split(',');
  return [parseLobsterTime(t!), ...rest.map(Number)].join('|');
};

describe('LOBSTER files', () => {
  it('parses the name and finds the orderbook file beside a message file', () => {
    expect(lobsterFiles(EXCERPT_MSG)).toEqual({ message: EXCERPT_MSG, orderbook: EXCERPT_OB, ticker: 'AAPL', date: '2012-06-21', levels: 10 });
    expect(lobsterFiles(HOUR_MSG).orderbook).toBeNull();
    expect(() => lobsterFiles(EXCERPT_OB)).toThrow(/give the message file/);
    expect(() => lobsterFiles('/x/trades.csv')).toThrow(/not a LOBSTER file name/);
  });

  it('times are seconds after midnight in New York, to the nanosecond', () => {
    expect(parseLobsterTime('34200.004241176')).toBe(34_200_004_241_176);
    expect(parseLobsterTime('34200.5')).toBe(34_200_500_000_000);
    expect(parseLobsterTime('34200')).toBe(34_200_000_000_000);
    expect(parseLobsterTime('35821.088778456004')).toBe(35_821_088_778_456);
    expect(parseLobsterTime('35821.0887784566')).toBe(35_821_088_778_457);
    expect(() => parseLobsterTime('3582a.1')).toThrow();
    // 2012-06-21 is summer time: midnight in New York is 04:00 UTC
    expect(lobsterDayStart('2012-06-21')).toBe(Date.UTC(2012, 5, 21, 4));
    expect(lobsterDayStart('2012-01-05')).toBe(Date.UTC(2012, 0, 5, 5));
  });
});

describe('reading LOBSTER with an orderbook file', () => {
  it('gives the orderbook row after each message that changes the book, and every execution as a trade', async () => {
    const { h, seen } = collector();
    const stats = await readLobster(EXCERPT_MSG, h);
    const msgs = csvLines(EXCERPT_MSG);
    const rows = csvLines(EXCERPT_OB);
    expect(stats.mode).toBe('orderbook');
    expect(stats.messages).toBe(msgs.length);
    const visible = msgs.map((l, i) => [l, rows[i]!] as const).filter(([l]) => l.split(',')[1] !== '5');
    expect(seen.books.length).toBe(visible.length);
    seen.books.forEach((b, i) => {
      expect(b.line).toBe(key(visible[i]![0]));
      expect(b.levels).toEqual(rowLevels(visible[i]![1]));
    });
    // executions: type 4 (visible) and 5 (hidden); direction 1 = a buy order was hit (seller aggressed)
    const execs = msgs.filter((l) => ['4', '5'].includes(l.split(',')[1]!));
    expect(seen.trades.length).toBe(execs.length);
    expect(stats.trades).toBe(execs.length);
    execs.forEach((l, i) => {
      const [t, type, , size, price, dir] = l.split(',');
      expect(seen.trades[i]).toEqual({ price: Number(price), qty: Number(size), buyerIsMaker: dir === '1', hidden: type === '5', t: Date.UTC(2012, 5, 21, 4) + parseLobsterTime(t!) / 1e6 });
    });
    expect(seen.unsynced).toEqual([]);
  });
});

describe('reading LOBSTER messages alone (the 1-hour AAPL sample)', () => {
  it('rebuilds the book from the orders; seeded with the excerpt’s first book it equals the excerpt’s 10 levels after every shared message', async () => {
    // the excerpt's 10-level message file is a subset of the 50-level one (events inside the top 10 levels)
    const byLine = new Map<string, number[][]>();
    const msgs = csvLines(EXCERPT_MSG);
    const rows = csvLines(EXCERPT_OB);
    msgs.forEach((l, i) => byLine.set(key(l), rowLevels(rows[i]!)));
    const { h, seen } = collector(10, new Set(byLine.keys()));
    const stats = await readLobster(HOUR_MSG, h, { initialBook: EXCERPT_OB });
    expect(stats.mode).toBe('messages');
    expect(stats.seeded).toBe(true);
    let compared = 0;
    for (const b of seen.books) {
      const want = byLine.get(b.line);
      if (want === undefined || b.line.split('|')[1] === '5') continue;
      expect(b.levels, b.line).toEqual(want);
      compared++;
    }
    expect(compared).toBeGreaterThan(900);
  });

  it('without a seed, orders from before the open are unknown: counted, and the rebuilt book never crosses', async () => {
    const { h, seen } = collector(1, new Set());
    const stats = await readLobster(HOUR_MSG, h);
    expect(stats.messages).toBe(91_997);
    expect(stats.byType).toEqual({ '1': 44_256, '2': 469, '3': 41_004, '4': 4_067, '5': 2_201 });
    expect(stats.unknownOrders).toBeGreaterThan(0);
    expect(stats.unknownOrders).toBeLessThan(200);
    expect(seen.count).toBeGreaterThan(80_000);
    expect(seen.crossed).toBe(0);
    expect(seen.trades.length).toBe(4_067 + 2_201);
  });

  it('refuses a seed that is not the book after the file’s first message', async () => {
    const other = join(dir, 'AAPL_2012-06-21_34200000_57600000_message_10.csv');
    writeFileSync(other, '34200.1,1,1,100,5850000,1\n');
    await expect(readLobster(other, collector().h, { initialBook: EXCERPT_OB })).rejects.toThrow(/not this file's first message/);
  });
});

describe('trading halts and empty sides', () => {
  it('a halt makes the book unusable until trading resumes', async () => {
    const file = join(dir, 'TEST_2012-06-21_0_1_message_1.csv');
    writeFileSync(
      file,
      [
        '36000.0,1,1,100,1000000,1', // bid only: not usable yet
        '36000.1,1,2,100,1010000,-1', // ask: usable
        '36001,7,0,0,-1,-1', // halt
        '36002,1,3,50,1000000,1', // book changes while halted: no onBook
        '36003,7,0,0,0,-1', // quoting
        '36004,7,0,0,1,-1', // trading resumes
        '36004.5,1,5,10,990000,1', // usable again
        '36005,3,2,100,1010000,-1', // the only ask deleted: unusable
        '36006,1,4,10,1010000,-1',
        'garbage',
      ].join('\n'),
    );
    const { h, seen } = collector(1);
    const stats = await readLobster(file, h);
    const day = Date.UTC(2012, 5, 21, 4);
    expect(stats.halts).toBe(1);
    expect(stats.malformed).toBe(1);
    expect(seen.books.map((b) => b.levels)).toEqual([
      [[1010000, 100], [], [1000000, 100]],
      [[1010000, 100], [], [1000000, 150]],
      [[1010000, 10], [], [1000000, 150]],
    ]);
    expect(seen.unsynced).toEqual([day + 36_001_000, day + 36_005_000]);
  });
});
