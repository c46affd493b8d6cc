import { resolve } from 'node:path';
import ccxt from 'ccxt';
import { normalizeBookChanges, OrderBook as TardisOrderBook } from 'tardis-dev';
import type { BinanceVenue } from '../src/core/types.js';
import { DepthSync } from '../src/book/sync.js';
import { BinanceDecoder, decodeSnapshot } from '../src/marketdata/binance/decode.js';
import { referenceInstrument } from '../src/marketdata/binance/reference.js';
import type { Instrument } from '../src/model/instrument.js';
import { readRecordingLines, sharedData } from './data.js';
import { interleave, median, result, sig, type BenchResult } from './harness.js';

/**
 * Book benchmark: decode + apply of the recorded Binance depth streams (spot BTCUSDT depth@100ms over
 * both spot files, USD-M BTCUSDT depth@0ms), from the recorded REST snapshot, four ways in one run:
 *
 *  - ours:       BinanceDecoder.decode (text scanner onto the integer grid) + DepthSync.onDiff;
 *  - JSON.parse: bare JSON.parse of the same lines (no book at all);
 *  - ccxt:       JSON.parse of the frame, then ccxt.pro binance's own handleOrderBook (sequence checks,
 *                handleDeltas → safeFloat → OrderBookSide.store) on its OrderBook;
 *  - tardis-dev: JSON.parse of the frame, tardis-dev's own normalizer normalizeBookChanges('binance' |
 *                'binance-futures') into book_change objects, then OrderBook.update.
 *
 * Every contender starts each round from the same snapshot (loaded untimed) and must end with the same
 * book, level for level (prices and quantities as numbers), or the benchmark throws.
 */

export const BOOK_DATASETS = [
  'binance/spot/btcusdt_20240808.gz',
  'binance/spot/btcusdt_20240809.gz',
  'binance/usdm/btcusdt_20240808.gz',
];

interface Case {
  venue: BinanceVenue;
  files: string[];
  stream: string;
  /** ccxt exchange class, market, and the WebSocket URL its handler tells spot from futures by */
  ccxtClass: 'binance' | 'binanceusdm';
  ccxtMarket: Record<string, unknown>;
  ccxtUrl: string;
  tardisExchange: 'binance' | 'binance-futures';
}

const CASES: Case[] = [
  {
    venue: 'spot',
    files: ['binance/spot/btcusdt_20240808.gz', 'binance/spot/btcusdt_20240809.gz'],
    stream: 'btcusdt@depth@100ms',
    ccxtClass: 'binance',
    ccxtMarket: { id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', type: 'spot', spot: true, swap: false, future: false, option: false, margin: false, contract: false, linear: undefined, inverse: undefined, active: true, precision: {}, limits: {}, info: {} },
    ccxtUrl: 'wss://stream.binance.com:9443/stream',
    tardisExchange: 'binance',
  },
  {
    venue: 'usdm',
    files: ['binance/usdm/btcusdt_20240808.gz'],
    stream: 'btcusdt@depth@0ms',
    ccxtClass: 'binanceusdm',
    ccxtMarket: { id: 'BTCUSDT', symbol: 'BTC/USDT:USDT', base: 'BTC', quote: 'USDT', settle: 'USDT', baseId: 'BTC', quoteId: 'USDT', settleId: 'USDT', type: 'swap', spot: false, swap: true, future: false, option: false, margin: false, contract: true, linear: true, inverse: false, contractSize: 1, active: true, precision: {}, limits: {}, info: {} },
    ccxtUrl: 'wss://fstream.binance.com/ws',
    tardisExchange: 'binance-futures',
  },
];

/** A book as numbers, best level first: [price, qty, price, qty, ...] per side. */
interface FlatBook {
  bids: number[];
  asks: number[];
}

/** The slice of ccxt's (untyped, generated) WebSocket exchange this benchmark drives. */
interface CcxtProExchange {
  orderbooks: Record<string, CcxtBook>;
  orderBook(snapshot?: object, depth?: number): CcxtBook;
  setMarkets(markets: object[], currencies?: object): void;
  parseOrderBook(ob: object, symbol: string, timestamp?: number): Record<string, unknown>;
  handleOrderBook(client: object, message: object): void;
}
interface CcxtSide {
  length: number;
  [i: number]: [number, number];
}
interface CcxtBook {
  bids: CcxtSide;
  asks: CcxtSide;
  reset(snapshot: object): void;
}

function flattenCcxt(ob: CcxtBook): FlatBook {
  const side = (s: CcxtSide) => {
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) out.push(s[i]![0], s[i]![1]);
    return out;
  };
  return { bids: side(ob.bids), asks: side(ob.asks) };
}

function flattenTardis(ob: TardisOrderBook): FlatBook {
  const side = (it: Iterable<{ price: number; amount: number }>) => {
    const out: number[] = [];
    for (const l of it) out.push(l.price, l.amount);
    return out;
  };
  return { bids: side(ob.bids()), asks: side(ob.asks()) };
}

function flattenOurs(sync: DepthSync, inst: Instrument): FlatBook {
  const pd = 10 ** inst.priceDecimals;
  const qd = 10 ** inst.qtyDecimals;
  const side = (s: DepthSync['book']['bids']) => {
    const out: number[] = [];
    for (let i = 0; i < s.size; i++) out.push(s.price(i) / pd, s.qty(i) / qd);
    return out;
  };
  return { bids: side(sync.book.bids), asks: side(sync.book.asks) };
}

/** Throws unless both books hold the same levels (exact number equality). */
export function assertSameBook(label: string, ours: FlatBook, theirs: FlatBook): void {
  for (const s of ['bids', 'asks'] as const) {
    const a = ours[s];
    const b = theirs[s];
    if (a.length !== b.length) throw new Error(`${label}: ${s} have ${b.length / 2} levels, ours ${a.length / 2}`);
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) {
        throw new Error(`${label}: ${s} level ${i >> 1} ${i % 2 === 0 ? 'price' : 'qty'} ${b[i]} != ours ${a[i]}`);
      }
    }
  }
}

interface Prepared {
  c: Case;
  inst: Instrument;
  snapText: string;
  depth: string[];
  recv: number[];
  levelUpdates: number;
  bytes: number;
}

async function prepare(c: Case): Promise<Prepared> {
  const lines = (await Promise.all(c.files.map((f) => readRecordingLines(resolve(sharedData(), f))))).flat();
  const snapLine = lines.find((l) => l.text.startsWith('{"lastUpdateId"'));
  if (!snapLine) throw new Error(`no snapshot in ${c.files.join(', ')}`);
  const prefix = `{"stream":"${c.stream}"`;
  const depthLines = lines.filter((l) => l.text.startsWith(prefix));
  // each line as its own string, the way the WebSocket client hands a frame over (Buffer → UTF-8 text),
  // not as a slice of the file's decompressed chunk (V8 reads a sliced string through its parent: slower
  // for every contender, JSON.parse included)
  const depth = depthLines.map((l) => Buffer.from(l.text, 'utf8').toString('utf8'));
  const recv = depthLines.map((l) => Number(l.recvNs / 1_000_000n));
  let levelUpdates = 0;
  for (const t of depth) {
    const m = JSON.parse(t) as { data: { b: unknown[]; a: unknown[] } };
    levelUpdates += m.data.b.length + m.data.a.length;
  }
  return {
    c,
    inst: referenceInstrument(c.venue, 'BTCUSDT'),
    snapText: snapLine.text,
    depth,
    recv,
    levelUpdates,
    bytes: depth.reduce((a, t) => a + t.length, 0),
  };
}

export interface BookBenchOptions {
  warmup: number;
  runs: number;
}

export async function benchBook(opts: BookBenchOptions = { warmup: 3, runs: 15 }): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const c of CASES) out.push(...(await benchCase(await prepare(c), opts)));
  return out;
}

async function benchCase(p: Prepared, opts: BookBenchOptions): Promise<BenchResult[]> {
  const { c, inst, depth, recv } = p;
  const n = depth.length;
  const snap = decodeSnapshot(c.venue, inst, JSON.parse(p.snapText), 0);
  if (typeof snap === 'string') throw new Error(snap);

  // ---- ours
  let oursBook: FlatBook | null = null;
  let applied = 0;
  const runOurs = (): number => {
    const dec = new BinanceDecoder(c.venue);
    dec.register(c.stream, 'depth', inst);
    const sync = new DepthSync(c.venue, 'BTCUSDT');
    if (sync.onSnapshot(snap, 0) !== 'synced') throw new Error('ours: snapshot did not sync');
    let ok = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = dec.decode(depth[i]!, recv[i]!);
      if (r.ok && r.event.kind === 'depth' && sync.onDiff(r.event) === 'applied') ok++;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    if (dec.slowPath > 0 || !sync.synced) throw new Error(`ours: slow path ${dec.slowPath}, state ${sync.state}`);
    applied = ok;
    oursBook = flattenOurs(sync, inst);
    return ns;
  };

  // ---- ours, decode only (no book): splits our time into scanner and book work, for the detail
  const runOursDecode = (): number => {
    const dec = new BinanceDecoder(c.venue);
    dec.register(c.stream, 'depth', inst);
    let levels = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = dec.decode(depth[i]!, recv[i]!);
      if (r.ok && r.event.kind === 'depth') levels += r.event.bidCount + r.event.askCount;
    }
    const ns = Number(process.hrtime.bigint() - t0);
    if (levels !== p.levelUpdates) throw new Error(`ours: decoded ${levels} levels, expected ${p.levelUpdates}`);
    return ns;
  };

  // ---- bare JSON.parse
  let sink = 0;
  const runParse = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += (JSON.parse(depth[i]!) as { data: { u: number } }).data.u & 1;
    return Number(process.hrtime.bigint() - t0);
  };

  // ---- ccxt (ccxt.pro binance / binanceusdm: its own handleOrderBook on its own OrderBook)
  const ex = new (ccxt.pro[c.ccxtClass] as unknown as new () => CcxtProExchange)();
  ex.setMarkets([c.ccxtMarket]);
  const symbol = c.ccxtMarket['symbol'] as string;
  const client = { url: c.ccxtUrl, resolve: () => undefined, reject: () => undefined, subscriptions: {} };
  let ccxtBook: FlatBook | null = null;
  const runCcxt = (): number => {
    // the snapshot as ccxt's fetchOrderBook returns it, loaded as fetchOrderBookSnapshot does (untimed)
    const raw = JSON.parse(p.snapText) as { lastUpdateId: number; T?: number };
    const parsed = ex.parseOrderBook(raw, symbol, raw.T);
    parsed['nonce'] = raw.lastUpdateId;
    const ob = ex.orderBook({});
    ob.reset(parsed);
    ex.orderbooks[symbol] = ob;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const frame = JSON.parse(depth[i]!) as { data: object };
      ex.handleOrderBook(client, frame.data);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    const live = ex.orderbooks[symbol];
    if (live === undefined) throw new Error('ccxt dropped the order book (sequence error)');
    ccxtBook = flattenCcxt(live);
    return ns;
  };

  // ---- tardis-dev (its Binance normalizer + its OrderBook)
  let tardisBook: FlatBook | null = null;
  const runTardis = (): number => {
    const mapper = normalizeBookChanges(c.tardisExchange, new Date(recv[0]!));
    const book = new TardisOrderBook();
    const snapMsg = { stream: `${c.stream.split('@')[0]}@depthSnapshot`, generated: true, data: JSON.parse(p.snapText) as object };
    for (const bc of mapper.map(snapMsg, new Date(0)) ?? []) book.update(bc);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const msg = JSON.parse(depth[i]!) as object;
      if (!mapper.canHandle(msg)) continue;
      const changes = mapper.map(msg, new Date(recv[i]!));
      if (changes !== undefined) for (const bc of changes) book.update(bc);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    tardisBook = flattenTardis(book);
    return ns;
  };

  const check = (): void => {
    if (oursBook === null) return;
    if (ccxtBook !== null) assertSameBook(`${c.venue} ccxt`, oursBook, ccxtBook);
    if (tardisBook !== null) assertSameBook(`${c.venue} tardis-dev`, oursBook, tardisBook);
  };
  // every run is checked: wrap each peer so its book is compared with ours right after it runs
  const checked = (fn: () => number) => (): number => {
    const ns = fn();
    check();
    return ns;
  };

  const samples = interleave(
    { ours: checked(runOurs), 'ours (decode only)': runOursDecode, 'JSON.parse': runParse, ccxt: checked(runCcxt), 'tardis-dev': checked(runTardis) },
    opts,
  );
  if (sink < 0) console.log(sink);
  const med = (k: string) => median(samples[k]!);
  const perSec = (ns: number) => n / (ns / 1e9);
  const lvlPerSec = (ns: number) => p.levelUpdates / (ns / 1e9);
  const oursNs = med('ours');
  const finalBook = oursBook as FlatBook | null;
  const contenders = Object.keys(samples);
  const detail = {
    files: c.files,
    stream: c.stream,
    messages: n,
    applied,
    levelUpdates: p.levelUpdates,
    bytes: p.bytes,
    finalLevels: finalBook === null ? null : { bids: finalBook.bids.length / 2, asks: finalBook.asks.length / 2 },
    medianNs: Object.fromEntries(contenders.map((k) => [k, Math.round(med(k))])),
    messagesPerSec: Object.fromEntries(contenders.map((k) => [k, sig(perSec(med(k)))])),
    levelUpdatesPerSec: Object.fromEntries(contenders.map((k) => [k, sig(lvlPerSec(med(k)))])),
    nsPerMessage: Object.fromEntries(contenders.map((k) => [k, Math.round(med(k) / n)])),
    /** median over rounds of (reference's time / our time) in the same round: less sensitive to load drift */
    pairedRatio: Object.fromEntries(
      contenders.filter((k) => k !== 'ours').map((k) => [k, sig(median(samples[k]!.map((ns, i) => ns / samples['ours']![i]!)), 3)]),
    ),
    /** (max - min) / median of each contender's measured rounds */
    spread: Object.fromEntries(contenders.map((k) => [k, sig((Math.max(...samples[k]!) - Math.min(...samples[k]!)) / med(k), 2)])),
  };
  const label = `${c.venue} BTCUSDT`;
  const base = `book decode+apply (${label})`;
  return [
    result(base, perSec(oursNs), 'msgs/s', true, { name: 'JSON.parse', value: perSec(med('JSON.parse')) }, detail),
    result(`book level updates (${label})`, lvlPerSec(oursNs), 'levels/s', true, { name: 'JSON.parse', value: lvlPerSec(med('JSON.parse')) }),
    result(`${base} vs ccxt`, perSec(oursNs), 'msgs/s', true, { name: 'ccxt', value: perSec(med('ccxt')) }),
    result(`${base} vs tardis-dev`, perSec(oursNs), 'msgs/s', true, { name: 'tardis-dev', value: perSec(med('tardis-dev')) }),
  ];
}
