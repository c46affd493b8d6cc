import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { L2Book } from '../book/book.js';
import type { DepthSync } from '../book/sync.js';
import type { Logger } from '../core/logger.js';
import { instrumentKey, BINANCE_VENUES as VENUES, type EpochMs, type InstrumentKey, type Side, type Venue } from '../core/types.js';
import { firstReceiveTime, forEachMergedLine, inspectRecording, nsToMs, type RecordingInfo } from './offline.js';
import { VenueProcessor, type FeedSink } from '../marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../marketdata/binance/reference.js';
import type { ReadStats } from '../marketdata/recording/format.js';
import type { MarketEvent, TradeEvent } from '../model/events.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../model/instrument.js';
import { PaperExchange, type ExchangeReport } from '../execution/paper/exchange.js';
import { NoImpact } from '../execution/paper/impact.js';
import type { FeeModel } from '../execution/paper/models.js';
import { parseQueueModel, QUEUE_MODEL_FORMS } from '../execution/paper/queue.js';

/**
 * `papertape fill-report`: a calibration of the paper exchange on a recording (see docs/fill-report.md).
 *
 * The recordings are read exactly as `runBacktest` reads them (same merge, same VenueProcessor, same book
 * procedure), but the sink is this module's own: no engine, strategy, risk or latency. Every `probeEveryMs`
 * of market time (receive time) on a synced book it
 *
 * - places a virtual post-only limit order at the best bid and one at the best ask in one PaperExchange per
 *   queue model (NoImpact, no fees), forwards every book update and trade to each exchange, and records when
 *   each probe is completely filled; at each horizon it notes whether an unfilled probe is still at the touch
 *   or the market moved away from it (a better price on its own side), and cancels it at the longest horizon;
 * - sends market orders of each quote size, both sides, to a taker PaperExchange (NoImpact, no fees) and
 *   measures the average fill price against the mid and against the touch.
 *
 * Everything runs on the instrument's integer units; only the summary figures are floating point.
 */

export const DEFAULT_PROBE_EVERY_MS = 1000;
export const DEFAULT_HORIZONS_MS: readonly number[] = [1000, 10_000, 60_000];
export const DEFAULT_SIZES_QUOTE: readonly number[] = [1000, 10_000, 50_000, 100_000, 500_000];

/** the N values the default comparison uses for the forms of QUEUE_MODEL_FORMS that take one */
const REPRESENTATIVE_N: Readonly<Record<string, readonly number[]>> = { 'prob-power:N': [1, 2, 3], 'prob-power2:N': [2] };

/** Every form of QUEUE_MODEL_FORMS, with N replaced by representative values. */
export const DEFAULT_QUEUE_MODELS: readonly string[] = QUEUE_MODEL_FORMS.flatMap((f) =>
  f.endsWith(':N') ? (REPRESENTATIVE_N[f] ?? [2]).map((n) => `${f.slice(0, -1)}${n}`) : [f],
);

export interface FillReportOptions {
  /** market time between two probe times, ms (default 1000) */
  probeEveryMs?: number;
  /** horizons for the passive probes, ms (default 1 s, 10 s, 60 s); the longest is when probes are cancelled */
  horizonsMs?: readonly number[];
  /** market order sizes in the quote asset (default 1k, 10k, 50k, 100k, 500k) */
  sizesQuote?: readonly number[];
  /** queue model specs (default DEFAULT_QUEUE_MODELS) */
  queueModels?: readonly string[];
  /** quote notional of each passive probe; default: the smallest order the venue accepts (min qty and min notional) */
  probeNotional?: number;
  logger?: Logger;
  /** keep every counted probe's outcome in the report (`group.probes`) */
  keepProbes?: boolean;
}

export interface Quantiles {
  mean: number;
  p50: number;
  p90: number;
}

export interface HorizonFigures {
  horizonMs: number;
  /** share of the counted probes completely filled within the horizon */
  filled: number;
  /** the same for the bid probes and the ask probes alone */
  filledBid: number;
  filledAsk: number;
  /** share not filled and no longer at the touch at the horizon (a better price on the probe's side) */
  movedAway: number;
  /** share not filled and still at the touch at the horizon (filled + movedAway + waiting = 1) */
  waiting: number;
}

export interface QueueModelFigures {
  model: string;
  /** counted probes (bid and ask) */
  probes: number;
  horizons: HorizonFigures[];
  /** time from placement to complete fill, ms, among the probes filled within the longest reported horizon */
  timeToFillMs: (Quantiles & { filled: number }) | null;
  /**
   * what completed those fills: `queue` trades at the probe's price used up the queue ahead (the only case
   * where the queue model matters); `tradeThrough` a trade at a worse price for the aggressor than the probe's;
   * `bookCross` the opposite side of the book reached the probe's price
   */
  fillsBy: { queue: number; tradeThrough: number; bookCross: number };
}

export interface MarketOrderFigures {
  /** the order's size in the quote asset (converted to base at the mid, rounded down to the step) */
  quote: number;
  /** market orders sent (one buy and one sell per probe time) */
  orders: number;
  /** orders the visible book could not fill completely (left out of the slippage figures) */
  notFilled: number;
  notFilledShare: number;
  /** average fill price vs the mid, basis points, adverse positive (includes the half spread) */
  vsMidBp: Quantiles | null;
  /** average fill price vs the best price on the side taken, basis points (>= 0) */
  vsTouchBp: Quantiles | null;
  /** mean slippage vs the mid of the buys and of the sells alone */
  buyVsMidBpMean: number | null;
  sellVsMidBpMean: number | null;
}

export interface ProbeOutcome {
  side: Side;
  price: number;
  placedAt: EpochMs;
  /** ms from placement to complete fill per queue model (in `queueModels` order); null: not filled while it rested */
  fillMs: (number | null)[];
  /** per requested horizon: not at the touch any more when the horizon passed */
  awayAt: boolean[];
}

export interface FillReportGroup {
  venue: Venue;
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  files: string[];
  /** receive times of the group's first and last event */
  startTime: EpochMs;
  endTime: EpochMs;
  spanMs: number;
  /** when the book first synced (null: never) */
  syncedAt: EpochMs | null;
  /** size of each passive probe, base asset, and its value at the first probe's mid */
  probeQty: number;
  probeNotional: number;
  probeTimes: {
    /** probe slots from the first sync to the end of the data (one every probeEveryMs) */
    slots: number;
    /**
     * slots with a probe placed (a bid and an ask), at the first book update in the slot; the others had no
     * book update, an unsynced book or a crossed book
     */
    placed: number;
    /** slots whose first book update showed a crossed or one-sided book */
    crossedBook: number;
    /** placed and observed for the longest reported horizon before the data ended: the figures' population */
    counted: number;
  };
  /** probes dropped because the book lost sync while they rested, or the exchange rejected them */
  interruptedProbes: number;
  rejectedProbes: number;
  horizonsMs: number[];
  /** requested horizons longer than half the synced data: not reported */
  droppedHorizonsMs: number[];
  /** the touch at the placed probe times */
  touch: { spreadTicksMean: number; spreadBpMean: number; bidQtyMean: number; askQtyMean: number } | null;
  passive: QueueModelFigures[];
  market: MarketOrderFigures[];
  probes?: ProbeOutcome[];
}

export interface FillReport {
  files: RecordingInfo[];
  probeEveryMs: number;
  horizonsMs: number[];
  sizesQuote: number[];
  queueModels: string[];
  /** probe size: 'min-order' or the quote notional asked for */
  probeSize: 'min-order' | number;
  groups: FillReportGroup[];
  events: number;
  malformed: number;
  elapsedMs: number;
}

const SILENT: Logger = { info() {}, warn() {}, error() {} };
const NO_FEES: FeeModel = { rate: () => 0 };
/** what completed a probe's fill */
const QUEUE = 1;
const TRADE_THROUGH = 2;
const BOOK_CROSS = 3;
/** tolerance of float divisions of integer units before rounding to a whole step */
const EPS = 1e-9;

/** a difference of two receive times (ms at µs resolution) without the float noise of the subtraction */
function us(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** nearest-rank quantile of an ascending array: the smallest value with at least q of the values at or below it */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function quantiles(values: number[]): Quantiles | null {
  if (values.length === 0) return null;
  const s = values.slice().sort((a, b) => a - b);
  let sum = 0;
  for (const v of s) sum += v;
  return { mean: sum / s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9) };
}

function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

interface Probe {
  readonly side: Side;
  readonly priceUnits: number;
  readonly placedAt: EpochMs;
  readonly awayAt: boolean[];
  interrupted: boolean;
  rejected: boolean;
}

interface SizeSamples {
  readonly quote: number;
  orders: number;
  notFilled: number;
  vsMid: number[];
  vsTouch: number[];
  buyVsMid: number[];
  sellVsMid: number[];
}

/** The probes and market orders of one instrument (venue:symbol). */
class GroupRun {
  inst: Instrument | null = null;
  readonly files: string[] = [];
  first = NaN;
  last = NaN;
  syncedAt: EpochMs | null = null;
  private nextProbeAt = NaN;
  private probeQtyUnits = 0;
  private probeNotional = 0;
  placed = 0;
  crossed = 0;
  readonly probes: Probe[] = [];
  readonly key: InstrumentKey;
  /** the instrument's book (the same object for the whole run; set at the first book update) */
  private book: L2Book | null = null;
  /** per queue model: receive time of each probe's complete fill (NaN: none) */
  private readonly fillAt: number[][];
  /** per queue model: what completed each probe's fill (QUEUE, TRADE_THROUGH or BOOK_CROSS) */
  private readonly fillCause: number[][];
  /** what the exchanges are being shown: a book update, or a trade at this price */
  private showing: 'book' | 'trade' = 'book';
  private tradePrice = NaN;
  private readonly exchanges: PaperExchange[];
  private readonly taker: PaperExchange;
  /** per horizon: the first probe whose checkpoint at that horizon has not been evaluated */
  private readonly ck: number[];
  private readonly sizes: SizeSamples[];
  private spreadTicks = 0;
  private spreadBp = 0;
  private bidQty = 0;
  private askQty = 0;
  /** market order accounting (the taker exchange reports synchronously) */
  private mSumPQ = 0;
  private mSumQ = 0;
  private mExpired = false;

  constructor(
    readonly venue: Venue,
    readonly symbol: string,
    private readonly o: Required<Pick<FillReportOptions, 'probeEveryMs' | 'horizonsMs' | 'sizesQuote' | 'queueModels'>> & { probeNotional: number | undefined },
  ) {
    this.key = instrumentKey(venue, symbol);
    this.fillAt = o.queueModels.map(() => []);
    this.fillCause = o.queueModels.map(() => []);
    this.exchanges = o.queueModels.map(
      (spec, m) =>
        new PaperExchange({
          queue: parseQueueModel(spec),
          fees: NO_FEES,
          impact: () => new NoImpact(),
          emit: (r) => this.onProbeReport(m, r),
        }),
    );
    this.taker = new PaperExchange({ queue: parseQueueModel('risk-averse'), fees: NO_FEES, impact: () => new NoImpact(), emit: (r) => this.onTakerReport(r) });
    this.ck = o.horizonsMs.map(() => 0);
    this.sizes = o.sizesQuote.map((quote) => ({ quote, orders: 0, notFilled: 0, vsMid: [], vsTouch: [], buyVsMid: [], sellVsMid: [] }));
  }

  private seen(t: EpochMs): void {
    if (this.first !== this.first) this.first = t;
    if (!(t <= this.last)) this.last = t;
  }

  private onProbeReport(m: number, r: ExchangeReport): void {
    if (r.kind === 'fill') {
      if (r.leavesUnits <= 0) {
        const i = Number(r.orderId);
        this.fillAt[m]![i] = r.time;
        this.fillCause[m]![i] = this.showing === 'book' ? BOOK_CROSS : this.tradePrice === this.probes[i]!.priceUnits ? QUEUE : TRADE_THROUGH;
      }
    } else if (r.kind === 'rejected') {
      this.probes[Number(r.orderId)]!.rejected = true;
    }
  }

  private onTakerReport(r: ExchangeReport): void {
    if (r.kind === 'fill') {
      this.mSumPQ += r.priceUnits * r.qtyUnits;
      this.mSumQ += r.qtyUnits;
    } else if (r.kind === 'expired' || r.kind === 'rejected') {
      this.mExpired = true;
    }
  }

  onEvent(ev: MarketEvent): void {
    this.seen(ev.recvTime);
    if (ev.kind === 'trade') this.onTrade(ev);
  }

  private onTrade(ev: TradeEvent): void {
    this.showing = 'trade';
    this.tradePrice = ev.priceUnits;
    for (const ex of this.exchanges) ex.onTrade(this.key, ev.priceUnits, ev.qtyUnits, ev.buyerIsMaker, ev.recvTime, ev.eventTime);
  }

  onBook(sync: DepthSync, t: EpochMs): void {
    this.seen(t);
    this.showing = 'book';
    for (const ex of this.exchanges) ex.onBook(this.key, sync.book, t);
    this.maybeProbe(sync.book, t);
  }

  onBookState(sync: DepthSync, t: EpochMs): void {
    this.seen(t);
    if (sync.synced) {
      this.syncedAt ??= t;
      this.showing = 'book';
      for (const ex of this.exchanges) ex.onBook(this.key, sync.book, t);
      this.maybeProbe(sync.book, t);
      return;
    }
    // the book is gone: what the probes would have done meanwhile is unknown
    const from = this.ck[this.ck.length - 1]!;
    for (let i = from; i < this.probes.length; i++) {
      const p = this.probes[i]!;
      if (p.interrupted) continue;
      p.interrupted = true;
      for (const ex of this.exchanges) if (ex.isOpen(String(i))) ex.cancel(String(i), t);
    }
  }

  /**
   * Evaluates the horizon checkpoints due before `t` (before the input at `t` is applied), or at or before
   * `t` when `inclusive` (the end of the data). The probe's last checkpoint also cancels it.
   */
  advance(t: EpochMs, inclusive: boolean): void {
    const H = this.o.horizonsMs;
    const lastK = H.length - 1;
    for (let k = 0; k <= lastK; k++) {
      const h = H[k]!;
      let i = this.ck[k]!;
      for (; i < this.probes.length; i++) {
        const p = this.probes[i]!;
        const due = p.placedAt + h;
        if (inclusive ? due > t : due >= t) break;
        if (p.interrupted) continue;
        p.awayAt[k] = this.isAway(p);
        if (k === lastK) for (const ex of this.exchanges) if (ex.isOpen(String(i))) ex.cancel(String(i), due);
      }
      this.ck[k] = i;
    }
  }

  /** a better price than the probe's on its own side of the displayed book */
  private isAway(p: Probe): boolean {
    const b = this.book;
    if (!b) return false;
    if (p.side === 'BUY') return !b.bids.empty && b.bestBid() > p.priceUnits;
    return !b.asks.empty && b.bestAsk() < p.priceUnits;
  }

  private maybeProbe(book: L2Book, t: EpochMs): void {
    this.book = book;
    const inst = this.inst;
    if (!inst) return;
    const P = this.o.probeEveryMs;
    if (this.nextProbeAt !== this.nextProbeAt) this.nextProbeAt = t;
    if (t < this.nextProbeAt) return;
    // the next slot after t (slots without a book update are skipped)
    this.nextProbeAt += (Math.floor((t - this.nextProbeAt) / P) + 1) * P;
    if (book.bids.empty || book.asks.empty) {
      this.crossed++;
      return;
    }
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (bid >= ask) {
      this.crossed++;
      return;
    }
    this.placed++;
    const mid = (bid + ask) / 2;
    const scale = 10 ** (inst.priceDecimals + inst.qtyDecimals);
    if (this.probeQtyUnits === 0) {
      const minByNotional = Math.ceil((inst.minNotional * scale) / (mid * inst.stepUnits) - EPS) * inst.stepUnits;
      const minOrder = Math.max(Math.ceil(inst.minQtyUnits / inst.stepUnits - EPS) * inst.stepUnits, minByNotional, inst.stepUnits);
      const wanted = this.o.probeNotional === undefined ? 0 : Math.round((this.o.probeNotional * scale) / (mid * inst.stepUnits)) * inst.stepUnits;
      this.probeQtyUnits = Math.max(minOrder, wanted);
      this.probeNotional = (this.probeQtyUnits * mid) / scale;
    }
    this.spreadTicks += (ask - bid) / inst.tickUnits;
    this.spreadBp += ((ask - bid) / mid) * 1e4;
    this.bidQty += qtyToNumber(inst, book.bids.qty(0));
    this.askQty += qtyToNumber(inst, book.asks.qty(0));

    // passive probes: a bid and an ask at the touch, in every queue model's exchange
    for (const [side, px] of [['BUY', bid], ['SELL', ask]] as const) {
      const idx = this.probes.length;
      this.probes.push({ side, priceUnits: px, placedAt: t, awayAt: this.o.horizonsMs.map(() => false), interrupted: false, rejected: false });
      const spec = { id: String(idx), side, type: 'LIMIT', timeInForce: 'GTC', postOnly: true, qtyUnits: this.probeQtyUnits, priceUnits: px } as const;
      for (let m = 0; m < this.exchanges.length; m++) {
        this.fillAt[m]![idx] = NaN;
        this.exchanges[m]!.place(spec, inst, book, t);
      }
    }

    // market orders of each size, both sides, on the book as it is
    for (const s of this.sizes) {
      const qtyUnits = Math.floor((s.quote * scale) / (mid * inst.stepUnits) + EPS) * inst.stepUnits;
      if (qtyUnits < inst.minQtyUnits || qtyUnits <= 0) continue;
      for (const side of ['BUY', 'SELL'] as const) {
        this.mSumPQ = 0;
        this.mSumQ = 0;
        this.mExpired = false;
        this.taker.place({ id: 'm', side, type: 'MARKET', timeInForce: 'IOC', postOnly: false, qtyUnits, priceUnits: NaN }, inst, book, t);
        s.orders++;
        if (this.mExpired || this.mSumQ < qtyUnits) {
          s.notFilled++;
          continue;
        }
        const avg = this.mSumPQ / this.mSumQ;
        const buy = side === 'BUY';
        const vsMid = ((buy ? avg - mid : mid - avg) / mid) * 1e4;
        const vsTouch = buy ? ((avg - ask) / ask) * 1e4 : ((bid - avg) / bid) * 1e4;
        s.vsMid.push(vsMid);
        s.vsTouch.push(vsTouch);
        (buy ? s.buyVsMid : s.sellVsMid).push(vsMid);
      }
    }
  }

  summary(keepProbes: boolean): FillReportGroup {
    const inst = this.inst!;
    const H = this.o.horizonsMs;
    const observable = this.syncedAt === null ? 0 : this.last - this.syncedAt;
    const reported = H.filter((h) => h <= observable / 2);
    const dropped = H.filter((h) => !(h <= observable / 2));
    const hMax = reported.length > 0 ? reported[reported.length - 1]! : Infinity;
    const counted: number[] = [];
    let interrupted = 0;
    let rejected = 0;
    for (let i = 0; i < this.probes.length; i++) {
      const p = this.probes[i]!;
      if (p.interrupted) interrupted++;
      else if (p.rejected) rejected++;
      else if (p.placedAt + hMax <= this.last) counted.push(i);
    }
    const n = counted.length;
    const passive: QueueModelFigures[] = this.o.queueModels.map((model, m) => {
      const fillAt = this.fillAt[m]!;
      const horizons: HorizonFigures[] = reported.map((h) => {
        const k = H.indexOf(h);
        let filled = 0;
        let filledBid = 0;
        let filledAsk = 0;
        let bids = 0;
        let away = 0;
        for (const i of counted) {
          const p = this.probes[i]!;
          if (p.side === 'BUY') bids++;
          if (fillAt[i]! - p.placedAt <= h) {
            filled++;
            if (p.side === 'BUY') filledBid++;
            else filledAsk++;
          } else if (p.awayAt[k]) away++;
        }
        const asks = n - bids;
        return {
          horizonMs: h,
          filled: n > 0 ? filled / n : NaN,
          filledBid: bids > 0 ? filledBid / bids : NaN,
          filledAsk: asks > 0 ? filledAsk / asks : NaN,
          movedAway: n > 0 ? away / n : NaN,
          waiting: n > 0 ? (n - filled - away) / n : NaN,
        };
      });
      const ttf: number[] = [];
      const fillsBy = { queue: 0, tradeThrough: 0, bookCross: 0 };
      for (const i of counted) {
        const d = us(fillAt[i]! - this.probes[i]!.placedAt);
        if (!(d <= hMax)) continue;
        ttf.push(d);
        const c = this.fillCause[m]![i];
        if (c === QUEUE) fillsBy.queue++;
        else if (c === TRADE_THROUGH) fillsBy.tradeThrough++;
        else fillsBy.bookCross++;
      }
      const q = quantiles(ttf);
      return { model, probes: n, horizons, timeToFillMs: q && { ...q, filled: ttf.length }, fillsBy };
    });
    const market: MarketOrderFigures[] = this.sizes.map((s) => ({
      quote: s.quote,
      orders: s.orders,
      notFilled: s.notFilled,
      notFilledShare: s.orders > 0 ? s.notFilled / s.orders : NaN,
      vsMidBp: quantiles(s.vsMid),
      vsTouchBp: quantiles(s.vsTouch),
      buyVsMidBpMean: mean(s.buyVsMid),
      sellVsMidBpMean: mean(s.sellVsMid),
    }));
    const g: FillReportGroup = {
      venue: this.venue,
      symbol: this.symbol,
      baseAsset: inst.baseAsset,
      quoteAsset: inst.quoteAsset,
      files: this.files,
      startTime: this.first,
      endTime: this.last,
      spanMs: us(this.last - this.first),
      syncedAt: this.syncedAt,
      probeQty: qtyToNumber(inst, this.probeQtyUnits),
      probeNotional: this.probeNotional,
      probeTimes: {
        slots: this.syncedAt === null ? 0 : Math.floor((this.last - this.syncedAt) / this.o.probeEveryMs) + 1,
        placed: this.placed,
        crossedBook: this.crossed,
        counted: new Set(counted.map((i) => this.probes[i]!.placedAt)).size,
      },
      interruptedProbes: interrupted,
      rejectedProbes: rejected,
      horizonsMs: reported,
      droppedHorizonsMs: dropped,
      touch:
        this.placed > 0
          ? {
              spreadTicksMean: this.spreadTicks / this.placed,
              spreadBpMean: this.spreadBp / this.placed,
              bidQtyMean: this.bidQty / this.placed,
              askQtyMean: this.askQty / this.placed,
            }
          : null,
      passive,
      market,
    };
    if (keepProbes) {
      g.probes = counted.map((i) => {
        const p = this.probes[i]!;
        return {
          side: p.side,
          price: priceToNumber(inst, p.priceUnits),
          placedAt: p.placedAt,
          fillMs: this.fillAt.map((f) => (f[i]! - p.placedAt <= hMax ? us(f[i]! - p.placedAt) : null)),
          awayAt: p.awayAt.slice(),
        };
      });
    }
    return g;
  }
}

/** Dispatches a venue's feed to the instruments' GroupRuns. */
class ReportSink implements FeedSink {
  constructor(
    private readonly venue: Venue,
    private readonly groups: Map<InstrumentKey, GroupRun>,
    private readonly make: (venue: Venue, symbol: string) => GroupRun,
  ) {}

  private group(symbol: string): GroupRun {
    const key = instrumentKey(this.venue, symbol);
    let g = this.groups.get(key);
    if (!g) {
      g = this.make(this.venue, symbol);
      this.groups.set(key, g);
    }
    return g;
  }

  onInstruments(_venue: Venue, instruments: Instrument[]): void {
    for (const inst of instruments) this.group(inst.symbol).inst = inst;
  }
  onBook(sync: DepthSync, recvTime: number): void {
    this.group(sync.symbol).onBook(sync, recvTime);
  }
  onBookState(sync: DepthSync, recvTime: number): void {
    this.group(sync.symbol).onBookState(sync, recvTime);
  }
  onEvent(ev: MarketEvent): void {
    if (ev.kind === 'snapshot' || ev.kind === 'depth') return;
    this.group(ev.symbol).onEvent(ev);
  }
}

function checkPositive(what: string, values: readonly number[]): void {
  if (values.length === 0) throw new Error(`${what}: at least one value is needed`);
  for (const v of values) if (!(Number.isFinite(v) && v > 0)) throw new Error(`${what}: ${v} is not a positive number`);
}

/**
 * Runs the fill report over recordings (several files of one instrument are merged by receive time, as
 * in a backtest). One section per venue:symbol.
 */
export async function runFillReport(files: readonly string[], opts: FillReportOptions = {}): Promise<FillReport> {
  const started = performance.now();
  const probeEveryMs = opts.probeEveryMs ?? DEFAULT_PROBE_EVERY_MS;
  const horizonsMs = [...new Set(opts.horizonsMs ?? DEFAULT_HORIZONS_MS)].sort((a, b) => a - b);
  const sizesQuote = [...new Set(opts.sizesQuote ?? DEFAULT_SIZES_QUOTE)].sort((a, b) => a - b);
  const queueModels = [...(opts.queueModels ?? DEFAULT_QUEUE_MODELS)].map((s) => parseQueueModel(s).name);
  checkPositive('probe interval', [probeEveryMs]);
  checkPositive('horizons', horizonsMs);
  checkPositive('sizes', sizesQuote);
  if (queueModels.length === 0) throw new Error('queue models: at least one is needed');
  if (opts.probeNotional !== undefined) checkPositive('probe notional', [opts.probeNotional]);
  const logger = opts.logger ?? SILENT;

  if (files.length === 0) throw new Error('no recording files given');
  const infos: RecordingInfo[] = [];
  for (const f of files) {
    if (!existsSync(f)) throw new Error(`${f}: no such file`);
    const info = await inspectRecording(f);
    if (REFERENCE_EXCHANGE_INFO[info.venue][info.symbol] === undefined) {
      throw new Error(`${f}: no reference exchangeInfo for ${info.venue}:${info.symbol}`);
    }
    infos.push(info);
  }

  const groups = new Map<InstrumentKey, GroupRun>();
  const make = (venue: Venue, symbol: string): GroupRun => {
    const g = new GroupRun(venue, symbol, { probeEveryMs, horizonsMs, sizesQuote, queueModels, probeNotional: opts.probeNotional });
    for (const i of infos) if (i.venue === venue && i.symbol === symbol) g.files.push(i.file);
    return g;
  };

  // the first receive time of the data (exchangeInfo is taken as known then)
  const startTime = await firstReceiveTime(infos);

  const processors = new Map<Venue, VenueProcessor>();
  for (const v of VENUES) {
    const symbols = [...new Set(infos.filter((i) => i.venue === v).map((i) => i.symbol))];
    if (symbols.length === 0) continue;
    const p = new VenueProcessor({ venue: v, sink: new ReportSink(v, groups, make), logger, symbols });
    const err = p.onExchangeInfo({ symbols: symbols.map((s) => REFERENCE_EXCHANGE_INFO[v][s]) }, startTime);
    if (err) throw new Error(`${v}: ${err}`);
    processors.set(v, p);
  }

  const stats: ReadStats = { lines: 0, malformed: 0 };
  let events = 0;
  let unknownLines = 0;
  await forEachMergedLine(infos, stats, (ns, text, info) => {
    events++;
    const t = nsToMs(ns);
    // horizon checkpoints see the books as they were before this input
    for (const g of groups.values()) g.advance(t, false);
    const p = processors.get(info.venue)!;
    if (text.startsWith('{"stream"')) p.onMessage(text, t);
    else if (text.startsWith('{"lastUpdateId"')) p.onSnapshot(info.symbol, JSON.parse(text) as unknown, t);
    else unknownLines++;
  });
  for (const g of groups.values()) if (g.last === g.last) g.advance(g.last, true);

  let malformed = stats.malformed + unknownLines;
  for (const p of processors.values()) malformed += Object.values(p.decoder.malformed).reduce((a, b) => a + b, 0);
  const out: FillReportGroup[] = [];
  for (const g of groups.values()) if (g.inst && g.last === g.last) out.push(g.summary(opts.keepProbes === true));
  return {
    files: infos,
    probeEveryMs,
    horizonsMs,
    sizesQuote,
    queueModels,
    probeSize: opts.probeNotional ?? 'min-order',
    groups: out,
    events,
    malformed,
    elapsedMs: performance.now() - started,
  };
}

// ---------------------------------------------------------------- parsing and printing (CLI)

const AMOUNT_RE = /^(\d+(?:\.\d+)?|\.\d+)([kKmM]?)$/;

/** "1000", "1k", "2.5M": a positive amount; throws naming `what`. */
function parseAmount(what: string, text: string): number {
  const m = AMOUNT_RE.exec(text.trim());
  const v = m ? Number(m[1]) * (m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1e3 : 1e6) : NaN;
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`${what}: "${text}" is not a positive number (e.g. 1000, 10k, 1.5M)`);
  return v;
}

/** Comma-separated positive amounts (`1k,10k,50k`); several lists (a repeated option) are joined. */
export function parseAmountList(what: string, lists: string | readonly string[]): number[] {
  const parts = (typeof lists === 'string' ? [lists] : lists).flatMap((l) => l.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`${what}: no value given`);
  return parts.map((p) => parseAmount(what, p));
}

/** Horizons in ms; a value may carry a unit: `500ms`, `10s`, `1m` (plain numbers are ms). */
export function parseDurationList(what: string, lists: string | readonly string[]): number[] {
  const parts = (typeof lists === 'string' ? [lists] : lists).flatMap((l) => l.split(',')).map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new Error(`${what}: no value given`);
  return parts.map((p) => {
    const m = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m)?$/.exec(p);
    const v = m ? Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1) : NaN;
    if (!(Number.isFinite(v) && v > 0)) throw new Error(`${what}: "${p}" is not a positive duration (ms, or with a unit: 500ms, 10s, 1m)`);
    return v;
  });
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-';
}
function secs(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : `${(ms / 1000).toFixed(2)} s`;
}
function dur(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
function bp(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3);
}
function amount(x: number): string {
  return x >= 1e6 && x % 1e5 === 0 ? `${x / 1e6}M` : x >= 1000 && x % 100 === 0 ? `${x / 1000}k` : String(x);
}
function table(rows: string[][], rightFrom = 1): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i < rightFrom ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}
function iso(t: number): string {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The report as text tables (what the command prints without --json). */
export function formatFillReport(r: FillReport): string {
  const out: string[] = [];
  for (const g of r.groups) {
    const probeSize = r.probeSize === 'min-order' ? 'the smallest order the venue accepts' : `${r.probeSize} ${g.quoteAsset} asked`;
    out.push(`fill report ${g.venue}:${g.symbol}  (${g.files.map((f) => basename(f)).join(', ')})`);
    out.push(`  market time   ${iso(g.startTime)} -> ${iso(g.endTime)} (${(g.spanMs / 1000).toFixed(1)} s), book synced ${g.syncedAt === null ? 'never' : `after ${((g.syncedAt - g.startTime) / 1000).toFixed(1)} s`}`);
    out.push(
      `  probe times   every ${r.probeEveryMs} ms: ${g.probeTimes.placed} placed of ${g.probeTimes.slots} slots (${g.probeTimes.crossedBook} crossed book), ${g.probeTimes.counted} counted (observed for the longest horizon)`,
    );
    if (g.touch) {
      out.push(
        `  touch         spread ${g.touch.spreadTicksMean.toFixed(2)} ticks (${g.touch.spreadBpMean.toFixed(3)} bp) on average; best bid qty ${g.touch.bidQtyMean.toFixed(3)}, best ask qty ${g.touch.askQtyMean.toFixed(3)} ${g.baseAsset}`,
      );
    }
    if (g.interruptedProbes + g.rejectedProbes > 0) out.push(`  dropped       ${g.interruptedProbes} probes interrupted by a resync, ${g.rejectedProbes} rejected`);
    out.push('');
    if (g.horizonsMs.length === 0 || g.probeTimes.counted === 0) {
      out.push(`  resting orders: the data is too short for the horizons asked (${r.horizonsMs.map(dur).join(', ')})`);
    } else {
      out.push(
        `  resting order at the touch: post-only limit, ${g.probeQty} ${g.baseAsset} (${g.probeNotional.toFixed(2)} ${g.quoteAsset}, ${probeSize}), ${2 * g.probeTimes.counted} probes (bid + ask)`,
      );
      const head = ['queue model'];
      for (const h of g.horizonsMs) head.push(`fill≤${dur(h)}`, `away@${dur(h)}`);
      head.push('ttf p50', 'ttf p90', 'via queue');
      const rows = [head];
      for (const m of g.passive) {
        const row = [m.model];
        for (const h of m.horizons) row.push(pct(h.filled), pct(h.movedAway));
        row.push(secs(m.timeToFillMs?.p50), secs(m.timeToFillMs?.p90), m.timeToFillMs ? pct(m.fillsBy.queue / m.timeToFillMs.filled) : '-');
        rows.push(row);
      }
      out.push(...table(rows).map((l) => `    ${l}`));
      if (g.droppedHorizonsMs.length > 0) out.push(`    (not reported, longer than half the synced data: ${g.droppedHorizonsMs.map(dur).join(', ')})`);
    }
    out.push('');
    const orders = g.market[0]?.orders ?? 0;
    out.push(`  market orders: taker, visible book, no impact; ${orders / 2} buys and ${orders / 2} sells per size`);
    const rows = [[`size ${g.quoteAsset}`, 'vs mid mean', 'p90', 'vs touch mean', 'p90', 'buy/sell mean', 'book too thin']];
    for (const s of g.market) {
      rows.push([
        amount(s.quote),
        `${bp(s.vsMidBp?.mean)} bp`,
        bp(s.vsMidBp?.p90),
        `${bp(s.vsTouchBp?.mean)} bp`,
        bp(s.vsTouchBp?.p90),
        `${bp(s.buyVsMidBpMean ?? undefined)}/${bp(s.sellVsMidBpMean ?? undefined)}`,
        s.orders > 0 ? `${s.notFilled} (${pct(s.notFilledShare)})` : '-',
      ]);
    }
    out.push(...table(rows).map((l) => `    ${l}`));
    out.push('');
  }
  out.push(`${r.events} messages (${r.malformed} malformed, skipped) in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  return `${out.join('\n')}\n`;
}
