import { createReadStream, existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Temporal } from 'temporal-polyfill';
import { BookSide } from '../../book/side.js';
import type { EpochMs } from '../../core/types.js';

/**
 * LOBSTER (lobsterdata.com) Nasdaq files, read into the same book and trade shapes the feature engine takes
 * from Binance. Format (LOBSTER_SampleFiles_ReadMe.txt):
 *
 * - message file `TICKER_YYYY-MM-DD_START_END_message_LEVELS.csv`, no header: time (seconds after midnight,
 *   New York time, up to ns decimals), type (1 new limit order, 2 partial cancel, 3 delete, 4 visible
 *   execution, 5 hidden execution, 7 trading halt), order id, size (shares), price (dollars × 10000),
 *   direction (1 buy limit order, −1 sell limit order; an execution of a sell order is a buyer-initiated
 *   trade);
 * - orderbook file `..._orderbook_LEVELS.csv`: row i is the book after message i, `ask price 1, ask size 1,
 *   bid price 1, bid size 1, ask price 2, ...`; empty levels are −9999999999 / 9999999999 with size 0.
 *
 * With an orderbook file beside the message file, every book is that file's row (exact, LEVELS deep). Without
 * one (the 1-hour AAPL sample ships only messages), the book is rebuilt from the order messages: each new
 * order adds its size at its price, cancels, deletes and visible executions take it away again. Orders that
 * rested before the file starts are unknown: messages about them are counted (`unknownOrders`) and change
 * nothing, unless `initialBook` gives the book after the first message (an orderbook file of the same day
 * and start, e.g. the 10-level excerpt), which seeds the levels it holds.
 */

/** Prices in the files are dollars × 10000; Nasdaq's tick is one cent = 100 of those units. */
export const LOBSTER_INSTRUMENT = { tickUnits: 100, priceDecimals: 4, qtyDecimals: 0, tickSize: 0.01 } as const;
export const LOBSTER_TIME_ZONE = 'America/New_York';

export interface LobsterFiles {
  message: string;
  /** the orderbook file beside it, when there is one */
  orderbook: string | null;
  ticker: string;
  date: string;
  levels: number;
}

const NAME = /^([A-Za-z0-9.^-]+)_(\d{4}-\d{2}-\d{2})_(\d+)_(\d+)_(message|orderbook)_(\d+)\.csv$/;

/** Parses a LOBSTER file name and finds the orderbook file that belongs to a message file. */
export function lobsterFiles(messageFile: string): LobsterFiles {
  const m = NAME.exec(basename(messageFile));
  if (!m) throw new Error(`${messageFile}: not a LOBSTER file name (TICKER_YYYY-MM-DD_START_END_message_LEVELS.csv)`);
  if (m[5] !== 'message') throw new Error(`${messageFile}: give the message file; its orderbook file is found beside it`);
  const ob = join(dirname(messageFile), basename(messageFile).replace('_message_', '_orderbook_'));
  return { message: messageFile, orderbook: existsSync(ob) ? ob : null, ticker: m[1]!, date: m[2]!, levels: Number(m[6]) };
}

/** Epoch ms of midnight in New York on a date (the zero of LOBSTER's times). */
export function lobsterDayStart(date: string): EpochMs {
  return Temporal.PlainDate.from(date).toZonedDateTime({ timeZone: LOBSTER_TIME_ZONE }).epochMilliseconds;
}

/** "34200.004241176" -> nanoseconds after midnight (exact; digits past the 9th decimal are rounded away). */
export function parseLobsterTime(text: string): number {
  const dot = text.indexOf('.');
  const sec = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  if (!/^\d+$/.test(sec) || !/^\d*$/.test(frac)) throw new Error(`bad LOBSTER time ${text}`);
  // some copies print binary float noise past the nanoseconds (35821.088778456004): rounded to the ns
  const ns = Number(sec) * 1e9 + Number(frac.slice(0, 9).padEnd(9, '0'));
  return frac.length > 9 && frac.charCodeAt(9) >= 53 /* '5' */ ? ns + 1 : ns;
}

export interface LobsterMessage {
  /** ns after midnight */
  ns: number;
  type: number;
  orderId: number;
  size: number;
  price: number;
  direction: number;
}

/** One message line; null when it does not have the six numeric fields. */
export function parseLobsterMessage(line: string, into: LobsterMessage): LobsterMessage | null {
  const f = line.split(',');
  if (f.length < 6) return null;
  into.ns = parseLobsterTime(f[0]!.trim());
  into.type = Number(f[1]);
  into.orderId = Number(f[2]);
  into.size = Number(f[3]);
  into.price = Number(f[4]);
  into.direction = Number(f[5]);
  if (!Number.isFinite(into.type) || !Number.isFinite(into.size) || !Number.isFinite(into.price) || (into.direction !== 1 && into.direction !== -1)) return null;
  return into;
}

/** Dummy prices of empty levels are ±9999999999; anything that far out is not a level. */
const EMPTY_PRICE = 9_999_999_999;

/** Sets both sides of `book` to an orderbook row (levels of size 0 or dummy price are empty). */
export function loadOrderbookRow(line: string, bids: BookSide, asks: BookSide): number {
  const f = line.split(',');
  const levels = Math.floor(f.length / 4);
  bids.clear();
  asks.clear();
  // worst level first: every insert lands on top of the side (its fast path)
  for (let i = levels - 1; i >= 0; i--) {
    const ap = Number(f[4 * i]);
    const as = Number(f[4 * i + 1]);
    const bp = Number(f[4 * i + 2]);
    const bs = Number(f[4 * i + 3]);
    if (as > 0 && Math.abs(ap) < EMPTY_PRICE) asks.set(ap, as);
    if (bs > 0 && Math.abs(bp) < EMPTY_PRICE) bids.set(bp, bs);
  }
  return levels;
}

export interface LobsterBook {
  readonly bids: BookSide;
  readonly asks: BookSide;
}

export interface LobsterTrade {
  priceUnits: number;
  qtyUnits: number;
  /** a buy limit order was executed: the seller was the aggressor */
  buyerIsMaker: boolean;
  /** type 5: a hidden order was executed (no visible book change) */
  hidden: boolean;
}

export interface LobsterHandler {
  /** the book after a message that changed it, usable (both sides present, not halted); `msg` is reused */
  onBook(book: LobsterBook, t: EpochMs, msg: Readonly<LobsterMessage>): void;
  /** the book is not usable (halt, an empty side) until the next onBook */
  onUnsynced(t: EpochMs): void;
  /** an execution (type 4 or 5), before the book it changed */
  onTrade(trade: LobsterTrade, t: EpochMs, msg: Readonly<LobsterMessage>): void;
}

export interface LobsterOptions {
  /** message-only files: an orderbook CSV whose first row is the book after this file's first message */
  initialBook?: string;
}

export interface LobsterStats {
  file: string;
  mode: 'orderbook' | 'messages';
  seeded: boolean;
  messages: number;
  /** messages per type ('1'..'7') */
  byType: Record<string, number>;
  trades: number;
  halts: number;
  /** cancels, deletes and executions of orders the rebuilt book never saw (messages mode) */
  unknownOrders: number;
  malformed: number;
  firstTime: EpochMs;
  lastTime: EpochMs;
}

async function* lines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) if (line.length > 0) yield line;
}

async function firstLine(file: string): Promise<string | null> {
  for await (const l of lines(file)) return l;
  return null;
}

/**
 * Reads one LOBSTER message file (and its orderbook file when present) and reports books, trades and halts
 * to `h` in file order, with times in epoch ms.
 */
export async function readLobster(messageFile: string, h: LobsterHandler, opts: LobsterOptions = {}): Promise<LobsterStats> {
  if (!existsSync(messageFile)) throw new Error(`${messageFile}: no such file`);
  const files = lobsterFiles(messageFile);
  const day = lobsterDayStart(files.date);
  const bids = new BookSide(1);
  const asks = new BookSide(-1);
  const book: LobsterBook = { bids, asks };
  const stats: LobsterStats = {
    file: basename(messageFile), mode: files.orderbook ? 'orderbook' : 'messages', seeded: false, messages: 0, byType: {}, trades: 0, halts: 0,
    unknownOrders: 0, malformed: 0, firstTime: NaN, lastTime: NaN,
  };
  const trade: LobsterTrade = { priceUnits: 0, qtyUnits: 0, buyerIsMaker: false, hidden: false };
  const msg: LobsterMessage = { ns: 0, type: 0, orderId: 0, size: 0, price: 0, direction: 1 };
  /** messages mode: resting size of each known order */
  const orders = new Map<number, number>();
  const obLines = files.orderbook ? lines(files.orderbook) : null;
  let seedPending = false;
  if (opts.initialBook !== undefined) {
    if (files.orderbook) throw new Error(`${messageFile}: has its own orderbook file; --initial-book is for message-only files`);
    if (!existsSync(opts.initialBook)) throw new Error(`${opts.initialBook}: no such file`);
    const row = await firstLine(opts.initialBook);
    if (row === null) throw new Error(`${opts.initialBook}: empty`);
    // the seed must be the book after this file's first message: compare with the seed's own message file
    const seedMessages = opts.initialBook.replace(/_orderbook_(\d+)\.csv$/, '_message_$1.csv');
    if (seedMessages !== opts.initialBook && existsSync(seedMessages)) {
      const [a, b] = [await firstLine(seedMessages), await firstLine(messageFile)];
      if (a !== b) throw new Error(`${opts.initialBook}: its first message (${a}) is not this file's first message (${b}): not the book after it`);
    }
    loadOrderbookRow(row, bids, asks);
    stats.seeded = true;
    seedPending = true;
  }
  let usable = false;
  let halted = false;
  const unusable = (t: number): void => {
    if (usable) h.onUnsynced(t);
    usable = false;
  };
  for await (const line of lines(messageFile)) {
    const obLine = obLines ? (await obLines.next()).value : undefined;
    if (obLines && obLine === undefined) throw new Error(`${files.orderbook}: fewer rows than ${messageFile} has messages`);
    const m = parseLobsterMessage(line, msg);
    if (m === null) {
      stats.malformed++;
      continue;
    }
    stats.messages++;
    stats.byType[m.type] = (stats.byType[m.type] ?? 0) + 1;
    const t = day + m.ns / 1e6;
    if (stats.firstTime !== stats.firstTime) stats.firstTime = t;
    stats.lastTime = t;
    if (m.type === 7) {
      // price -1: halt; 0: quoting resumes (still no trading); 1: trading resumes
      if (m.price === -1) stats.halts++;
      halted = m.price !== 1;
      if (halted) unusable(t);
      continue;
    }
    if (m.type === 4 || m.type === 5) {
      stats.trades++;
      trade.priceUnits = m.price;
      trade.qtyUnits = m.size;
      trade.buyerIsMaker = m.direction === 1;
      trade.hidden = m.type === 5;
      h.onTrade(trade, t, m);
      if (m.type === 5) continue; // hidden orders are not in the book
    }
    if (obLine !== undefined) loadOrderbookRow(obLine, bids, asks);
    else if (seedPending) {
      // the seed already holds this message's effect: only learn the order
      seedPending = false;
      if (m.type === 1) orders.set(m.orderId, m.size);
    } else applyMessage(m, m.direction === 1 ? bids : asks, orders, stats);
    if (halted) continue;
    if (bids.size > 0 && asks.size > 0) {
      usable = true;
      h.onBook(book, t, m);
    } else unusable(t);
  }
  return stats;
}

/** Messages mode: one order message onto its side of the rebuilt book. */
function applyMessage(m: LobsterMessage, side: BookSide, orders: Map<number, number>, stats: LobsterStats): void {
  switch (m.type) {
    case 1:
      orders.set(m.orderId, (orders.get(m.orderId) ?? 0) + m.size);
      side.set(m.price, side.qtyAt(m.price) + m.size);
      return;
    case 2:
    case 3:
    case 4: {
      const resting = orders.get(m.orderId);
      let take: number;
      if (resting === undefined) {
        stats.unknownOrders++;
        if (!stats.seeded) return;
        // an order from before the file: it can only be part of a seeded level
        take = Math.min(m.size, side.qtyAt(m.price));
      } else {
        // a delete takes the whole order, whatever size it names
        take = m.type === 3 ? resting : Math.min(m.size, resting);
        if (resting - take > 0 && m.type !== 3) orders.set(m.orderId, resting - take);
        else orders.delete(m.orderId);
      }
      if (take > 0) side.set(m.price, side.qtyAt(m.price) - take);
      return;
    }
    default:
      stats.malformed++;
  }
}
