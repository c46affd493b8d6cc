import type { BookSide } from '../book/side.js';
import type { EpochMs } from '../core/types.js';
import type { LiquidationEvent, MarkPriceEvent, OpenInterestEvent, TradeEvent } from '../model/events.js';
import type { Instrument } from '../model/instrument.js';
import { depthSlope, levelOfi, microprice } from './book-math.js';
import { FEATURE_COUNT } from './schema.js';
import { WindowedSums } from './window.js';

/** What the features need of an instrument: its tick and unit scales (any `Instrument` fits). */
export type FeatureInstrument = Pick<Instrument, 'tickUnits' | 'priceDecimals' | 'qtyDecimals'>;
/** What the features read of a book (an `L2Book` fits). */
export interface BookView {
  readonly bids: BookSide;
  readonly asks: BookSide;
}
/** What the features read of a trade (a `TradeEvent` fits). */
export type TradeInput = Pick<TradeEvent, 'priceUnits' | 'qtyUnits' | 'buyerIsMaker'>;
/** USD-M futures context: mark price and funding, liquidations, open interest. */
export type FuturesInput = MarkPriceEvent | LiquidationEvent | OpenInterestEvent;

/** decay of the weighted imbalances (wimb_*): the OBI strategy's default OBI_DECAY */
export const WIMB_DECAY = 0.5;
/** levels of the depth slopes and of the multi-level OFI */
export const SLOPE_LEVELS = 10;
export const MLOFI_LEVELS = 5;
/** time constants of the trade-rate EWMAs, ms */
const RATE_TAU_MS = [1000, 10_000] as const;

// book ring: one entry per book update
const B_OFI = 0;
const B_MLOFI = 1;
const B_R2 = 2;
const B_MID = 3;
const BW_1S = 0;
const BW_5S = 1;
const BW_30S = 2;
const BW_60S = 3;
const BOOK_WINDOWS = [1000, 5000, 30_000, 60_000];
// trade ring: one entry per trade
const T_BUY = 0;
const T_SELL = 1;
const TRADE_WINDOWS = [1000, 5000, 30_000];
// liquidations (60 s) and open interest (5 min)
const L_COUNT = 0;
const L_BUY = 1;
const L_SELL = 2;
const OI_WINDOW_MS = 300_000;

/** (b − a) / (b + a), 0 when both are 0: the imbalance of two sums */
function ratio(b: number, a: number): number {
  const total = b + a;
  return total > 0 ? (b - a) / total : 0;
}

/** book features computed at each book update, in schema order (the first BOOK_FEATURES entries) */
const BOOK_FEATURES = 14;

/**
 * Streaming features of one instrument: the same code live, in backtests and in dataset export, so the
 * vectors a model is trained on and the ones it sees live cannot drift apart. Feed it every book update
 * (`onBook`), trade (`onTrade`) and futures event (`onFutures`) in the order they happened, each with its
 * time `t` (ms, from the data or the engine's clock: never the wall clock); read the vector at any moment
 * with `write` or `values`. Names, order and definitions: FEATURE_SCHEMA, docs/features.md.
 *
 * Nothing is allocated per event: state lives in typed arrays and rings that grow only when a window holds
 * more events than ever before.
 */
export class FeatureEngine {
  private inst: FeatureInstrument | null = null;
  private now = -Infinity;
  private readonly bookVals = new Float64Array(BOOK_FEATURES).fill(NaN);
  private bookValid = false;
  private firstBookTime = NaN;
  private mid = NaN;
  /** the previous book's best MLOFI_LEVELS levels (for the order flow imbalance); hasPrev = false after a resync */
  private hasPrev = false;
  private readonly pb = new Float64Array(MLOFI_LEVELS);
  private readonly pqb = new Float64Array(MLOFI_LEVELS);
  private readonly pa = new Float64Array(MLOFI_LEVELS);
  private readonly pqa = new Float64Array(MLOFI_LEVELS);
  private readonly book = new WindowedSums(BOOK_WINDOWS, 4, 3); // B_MID is kept, not summed
  private readonly trades = new WindowedSums(TRADE_WINDOWS, 2);
  /** trade-rate EWMAs (per ms) as of lastTradeTime */
  private readonly rates = new Float64Array(RATE_TAU_MS.length);
  private lastTradeTime = NaN;
  private futuresSeen = false;
  private fundingRate = NaN;
  private markPrice = NaN;
  private readonly liqs = new WindowedSums([60_000], 3);
  private readonly oi = new WindowedSums([OI_WINDOW_MS], 1, 0);
  private readonly vec = new Float64Array(FEATURE_COUNT);

  /** Forgets everything (a new engine). */
  reset(): void {
    this.inst = null;
    this.now = -Infinity;
    this.bookVals.fill(NaN);
    this.bookValid = false;
    this.firstBookTime = NaN;
    this.mid = NaN;
    this.hasPrev = false;
    this.book.clear();
    this.trades.clear();
    this.rates.fill(0);
    this.lastTradeTime = NaN;
    this.futuresSeen = false;
    this.fundingRate = NaN;
    this.markPrice = NaN;
    this.liqs.clear();
    this.oi.clear();
  }

  /** Time of the last input (ms). */
  get time(): EpochMs {
    return this.now;
  }

  /** Moves the engine's clock to `t` (windows slide); earlier times are ignored. */
  advanceTo(t: EpochMs): void {
    if (!(t > this.now)) return;
    this.now = t;
    this.book.advance(t);
    this.trades.advance(t);
    this.liqs.advance(t);
    this.oi.advance(t);
  }

  /**
   * The book lost sync (a gap, a reconnect): the next book update starts a new sequence, so no order flow or
   * return is computed across the gap. Book features read NaN until then.
   */
  onResync(t: EpochMs): void {
    this.advanceTo(t);
    this.hasPrev = false;
    this.bookValid = false;
    this.mid = NaN;
    this.bookVals.fill(NaN);
  }

  /** A book update (after it was applied). A book with an empty side reads as no book (NaN features). */
  onBook(book: BookView, inst: FeatureInstrument, t: EpochMs): void {
    this.advanceTo(t);
    this.inst = inst;
    const bids = book.bids;
    const asks = book.asks;
    if (bids.empty || asks.empty) {
      this.onResync(t);
      return;
    }
    const bb = bids.price(0);
    const ba = asks.price(0);
    const qb = bids.qty(0);
    const qa = asks.qty(0);
    const mid = (bb + ba) / 2;
    const v = this.bookVals;
    // the seven imbalances in one pass over the best 10 levels (same sums, same order as weightedImbalance)
    let b = 0;
    let a = 0;
    let wb = 0;
    let wa = 0;
    let w = 1;
    for (let i = 0; i < 10; i++) {
      const qbi = bids.qty(i);
      const qai = asks.qty(i);
      b += qbi;
      a += qai;
      wb += w * qbi;
      wa += w * qai;
      w *= WIMB_DECAY;
      if (i === 0) v[0] = ratio(b, a);
      else if (i === 2) {
        v[1] = ratio(b, a);
        v[4] = ratio(wb, wa);
      } else if (i === 4) {
        v[2] = ratio(b, a);
        v[5] = ratio(wb, wa);
      }
    }
    v[3] = ratio(b, a);
    v[6] = ratio(wb, wa);
    const off = microprice(bb, qb, ba, qa) - mid;
    v[7] = off / inst.tickUnits;
    v[8] = (off / mid) * 1e4;
    v[9] = (ba - bb) / inst.tickUnits;
    v[10] = ((ba - bb) / mid) * 1e4;
    const scale = 10 ** inst.qtyDecimals;
    const sb = depthSlope(bids, mid, SLOPE_LEVELS) / scale;
    const sa = depthSlope(asks, mid, SLOPE_LEVELS) / scale;
    v[11] = sb;
    v[12] = sa;
    v[13] = Math.log(sb / sa);
    this.bookValid = true;

    // order flow since the previous book, and the mid's log return
    let ofi = 0;
    let mlofi = 0;
    const pb = this.pb;
    const pqb = this.pqb;
    const pa = this.pa;
    const pqa = this.pqa;
    for (let i = 0; i < MLOFI_LEVELS; i++) {
      // price(i) is NaN past the last level
      const bp = bids.price(i);
      const ap = asks.price(i);
      const b = bp === bp ? bp : -Infinity;
      const a = ap === ap ? ap : Infinity;
      const bq = bids.qty(i);
      const aq = asks.qty(i);
      if (this.hasPrev) {
        const e = levelOfi(b, bq, a, aq, pb[i]!, pqb[i]!, pa[i]!, pqa[i]!);
        if (i === 0) ofi = e;
        mlofi += e;
      }
      pb[i] = b;
      pqb[i] = bq;
      pa[i] = a;
      pqa[i] = aq;
    }
    const r = this.hasPrev ? Math.log(mid / this.mid) : 0;
    const ring = this.book;
    ring.push(t);
    if (ofi !== 0) ring.add(B_OFI, ofi);
    if (mlofi !== 0) ring.add(B_MLOFI, mlofi);
    if (r !== 0) ring.add(B_R2, r * r);
    ring.add(B_MID, mid);
    this.mid = mid;
    this.hasPrev = true;
    if (this.firstBookTime !== this.firstBookTime) this.firstBookTime = t;
  }

  /** A trade (the aggressor bought unless `buyerIsMaker`). */
  onTrade(trade: TradeInput, t: EpochMs): void {
    this.advanceTo(t);
    const tr = this.trades;
    tr.push(t);
    tr.add(trade.buyerIsMaker ? T_SELL : T_BUY, trade.qtyUnits);
    const when = this.now; // t, or the engine's time when t came late
    const dt = this.lastTradeTime === this.lastTradeTime ? when - this.lastTradeTime : 0;
    for (let k = 0; k < RATE_TAU_MS.length; k++) {
      const tau = RATE_TAU_MS[k]!;
      this.rates[k] = this.rates[k]! * Math.exp(-dt / tau) + 1 / tau;
    }
    this.lastTradeTime = when;
  }

  /** USD-M context of the instrument's symbol: mark price and funding, a liquidation, open interest. */
  onFutures(ev: FuturesInput, t: EpochMs): void {
    this.advanceTo(t);
    this.futuresSeen = true;
    switch (ev.kind) {
      case 'markPrice':
        this.fundingRate = ev.fundingRate;
        this.markPrice = ev.markPrice;
        break;
      case 'liquidation': {
        const l = this.liqs;
        l.push(t);
        l.add(L_COUNT, 1);
        l.add(ev.side === 'BUY' ? L_BUY : L_SELL, ev.price * ev.qty);
        break;
      }
      case 'openInterest':
        this.oi.push(t);
        this.oi.add(0, ev.openInterest);
        break;
      default: {
        const never: never = ev;
        throw new Error(`unexpected futures event ${JSON.stringify(never)}`);
      }
    }
  }

  /** Writes the FEATURE_COUNT features, in FEATURE_SCHEMA order, as of the last input. */
  write(out: Float64Array, offset = 0): void {
    const v = this.bookVals;
    const bookOk = this.bookValid;
    for (let i = 0; i < BOOK_FEATURES; i++) out[offset + i] = bookOk ? v[i]! : NaN;
    let o = offset + BOOK_FEATURES;
    const inst = this.inst;
    const ring = this.book;
    const scale = inst === null ? NaN : 10 ** inst.qtyDecimals;
    // ofi_1s, ofi_5s, ofi_30s, mlofi_1s, mlofi_5s, mlofi_30s (base units)
    out[o++] = ring.sum(BW_1S, B_OFI) / scale;
    out[o++] = ring.sum(BW_5S, B_OFI) / scale;
    out[o++] = ring.sum(BW_30S, B_OFI) / scale;
    out[o++] = ring.sum(BW_1S, B_MLOFI) / scale;
    out[o++] = ring.sum(BW_5S, B_MLOFI) / scale;
    out[o++] = ring.sum(BW_30S, B_MLOFI) / scale;
    // trade_imb_1s, _5s, _30s
    const tr = this.trades;
    for (let w = 0; w < TRADE_WINDOWS.length; w++) {
      const b = tr.sum(w, T_BUY);
      const s = tr.sum(w, T_SELL);
      out[o++] = b + s > 0 ? (b - s) / (b + s) : 0;
    }
    // trade_rate_1s, _10s (trades per second)
    const since = this.lastTradeTime === this.lastTradeTime ? Math.max(0, this.now - this.lastTradeTime) : 0;
    for (let k = 0; k < RATE_TAU_MS.length; k++) out[o++] = this.rates[k]! * Math.exp(-since / RATE_TAU_MS[k]!) * 1000;
    // rv_5s, rv_30s, rv_60s (bp): NaN until the book history covers the window
    const hist = this.now - this.firstBookTime;
    out[o++] = hist >= 5000 ? Math.sqrt(Math.max(0, ring.sum(BW_5S, B_R2))) * 1e4 : NaN;
    out[o++] = hist >= 30_000 ? Math.sqrt(Math.max(0, ring.sum(BW_30S, B_R2))) * 1e4 : NaN;
    out[o++] = hist >= 60_000 ? Math.sqrt(Math.max(0, ring.sum(BW_60S, B_R2))) * 1e4 : NaN;
    // ret_1s, ret_5s, ret_30s (bp)
    const mid = this.mid;
    out[o++] = Math.log(mid / ring.valueBefore(BW_1S, B_MID)) * 1e4;
    out[o++] = Math.log(mid / ring.valueBefore(BW_5S, B_MID)) * 1e4;
    out[o++] = Math.log(mid / ring.valueBefore(BW_30S, B_MID)) * 1e4;
    // funding_rate_bp, mark_basis_bp
    out[o++] = this.fundingRate * 1e4;
    const midNum = inst === null ? NaN : mid / 10 ** inst.priceDecimals;
    out[o++] = ((this.markPrice - midNum) / midNum) * 1e4;
    // oi_change_5m_bp
    const oiNow = this.oi.last(0);
    const oiThen = this.oi.valueBefore(0, 0);
    out[o++] = ((oiNow - oiThen) / oiThen) * 1e4;
    // liq_count_60s, liq_imb_60s
    if (this.futuresSeen) {
      const l = this.liqs;
      out[o++] = l.sum(0, L_COUNT);
      const b = l.sum(0, L_BUY);
      const s = l.sum(0, L_SELL);
      out[o++] = b + s > 0 ? (b - s) / (b + s) : 0;
    } else {
      out[o++] = NaN;
      out[o++] = NaN;
    }
  }

  /** The feature vector as of the last input, in an array the engine reuses (copy what you keep). */
  values(): Float64Array {
    this.write(this.vec, 0);
    return this.vec;
  }

  /** The mid (price units) of the last book update; NaN without a valid book. */
  get lastMid(): number {
    return this.mid;
  }
}
