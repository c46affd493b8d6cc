import type { L2Book } from '../book/book.js';
import type { BookState } from '../book/book.js';
import type { EpochMs } from '../core/types.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../model/instrument.js';
import type { OrderIntent } from '../model/order.js';
import { SlidingRateLimiter } from './rate-limiter.js';

declare const approved: unique symbol;
/** An order intent that passed every check. Only this module can make one; brokers accept nothing else. */
export type ApprovedOrder = OrderIntent & { readonly [approved]: true };

export type RiskCheck =
  | 'halted'
  | 'unknown_symbol'
  | 'not_trading'
  | 'book_not_synced'
  | 'book_stale'
  | 'quantity_filter'
  | 'price_filter'
  | 'notional_filter'
  | 'price_band'
  | 'max_order_notional'
  | 'position_limit'
  | 'drawdown_breaker'
  | 'rate_limit';

export type RiskDecision =
  | { readonly approved: true; readonly order: ApprovedOrder }
  | { readonly approved: false; readonly check: RiskCheck; readonly reason: string };

export interface RiskLimits {
  maxPosition: number;
  maxDrawdown: number;
  maxOrderNotional: number;
  priceBand: number;
  bookStaleMs: number;
  ordersPerSecond: number;
  ordersPerMinute: number;
  ordersPerHour: number;
}

/** What the gateway needs to know about the world at decision time. */
export interface RiskInputs {
  now: EpochMs;
  instrument: Instrument | undefined;
  book: L2Book | undefined;
  bookState: BookState | undefined;
  /** signed position, base units */
  position: number;
  /** base units still working in open orders, per side (sent but not yet filled or ended) */
  openBuy?: number;
  openSell?: number;
  equity: number;
}

/**
 * Every order intent passes here. Each check returns a reason or nothing; the first reason denies.
 * The gateway never throws for a denial: it returns a decision, which the engine stores and counts.
 */
export class RiskGateway {
  readonly limiter: SlidingRateLimiter;
  highWaterMark = -Infinity;
  /** drawdown breaker: once tripped, only risk-reducing orders pass until reset */
  breakerTripped = false;
  breakerTrippedAt: EpochMs | null = null;
  halted = false;
  haltReason = '';
  readonly denials: Record<string, number> = {};
  approvedCount = 0;

  constructor(readonly limits: Readonly<RiskLimits>) {
    this.limiter = new SlidingRateLimiter([
      { windowMs: 1_000, limit: limits.ordersPerSecond, label: 'second' },
      { windowMs: 60_000, limit: limits.ordersPerMinute, label: 'minute' },
      { windowMs: 3_600_000, limit: limits.ordersPerHour, label: 'hour' },
    ]);
  }

  /** Feeds the equity curve to the drawdown breaker. */
  observeEquity(equity: number, now: EpochMs): void {
    if (equity > this.highWaterMark) this.highWaterMark = equity;
    if (!this.breakerTripped && equity < (1 - this.limits.maxDrawdown) * this.highWaterMark) {
      this.breakerTripped = true;
      this.breakerTrippedAt = now;
    }
  }

  /** Current drawdown from the high-water mark, as a non-positive fraction. */
  drawdown(equity: number): number {
    return this.highWaterMark > 0 ? Math.min(0, equity / this.highWaterMark - 1) : 0;
  }

  check(intent: OrderIntent, x: RiskInputs): RiskDecision {
    const denial = this.firstDenial(intent, x);
    if (denial) {
      this.denials[denial.check] = (this.denials[denial.check] ?? 0) + 1;
      return { approved: false, ...denial };
    }
    this.limiter.record(x.now);
    this.approvedCount++;
    return { approved: true, order: intent as ApprovedOrder };
  }

  private firstDenial(intent: OrderIntent, x: RiskInputs): { check: RiskCheck; reason: string } | null {
    const signed = intent.side === 'BUY' ? 1 : -1;
    const inst = x.instrument;
    if (this.halted) return { check: 'halted', reason: `trading halted: ${this.haltReason}` };
    if (!inst || inst.venue !== intent.venue || inst.symbol !== intent.symbol) return { check: 'unknown_symbol', reason: `${intent.venue}:${intent.symbol} is not a known instrument` };
    if (inst.status !== 'TRADING') return { check: 'not_trading', reason: `${inst.symbol} status is ${inst.status}` };
    if (!x.book || x.bookState !== 'synced') return { check: 'book_not_synced', reason: `${inst.symbol} book is ${x.bookState ?? 'missing'}` };
    const age = x.now - x.book.lastRecvTime;
    if (age > this.limits.bookStaleMs) return { check: 'book_stale', reason: `${inst.symbol} book has had no update for ${Math.round(age)} ms` };

    // exchange filters (integer units: exact)
    const q = intent.qtyUnits;
    const maxQty = intent.type === 'MARKET' ? inst.marketMaxQtyUnits : inst.maxQtyUnits;
    if (!Number.isInteger(q) || q <= 0 || q % inst.stepUnits !== 0 || q < inst.minQtyUnits || q > maxQty) {
      return { check: 'quantity_filter', reason: `quantity ${qtyToNumber(inst, q)} is off the LOT_SIZE rule (step ${qtyToNumber(inst, inst.stepUnits)}, min ${qtyToNumber(inst, inst.minQtyUnits)}, max ${qtyToNumber(inst, maxQty)})` };
    }
    const mid = priceToNumber(inst, x.book.mid());
    if (!Number.isFinite(mid)) return { check: 'book_not_synced', reason: `${inst.symbol} book has an empty side` };
    let price: number;
    if (intent.type === 'LIMIT') {
      const p = intent.priceUnits ?? NaN;
      if (!Number.isInteger(p) || p % inst.tickUnits !== 0 || p < inst.minPriceUnits || (inst.maxPriceUnits > 0 && p > inst.maxPriceUnits)) {
        return { check: 'price_filter', reason: `price ${priceToNumber(inst, p)} is off the PRICE_FILTER rule (tick ${priceToNumber(inst, inst.tickUnits)})` };
      }
      price = priceToNumber(inst, p);
      if (Math.abs(price / mid - 1) > this.limits.priceBand) {
        return { check: 'price_band', reason: `price ${price} is more than ${this.limits.priceBand * 100}% from the mid ${mid}` };
      }
    } else {
      // a market order executes around the touch: check the touch it will take
      const touch = priceToNumber(inst, signed > 0 ? x.book.bestAsk() : x.book.bestBid());
      if (Math.abs(touch / mid - 1) > this.limits.priceBand) {
        return { check: 'price_band', reason: `touch ${touch} is more than ${this.limits.priceBand * 100}% from the mid ${mid}` };
      }
      price = mid;
    }
    const qty = qtyToNumber(inst, q);
    const notional = qty * price;
    const checkMin = intent.type === 'LIMIT' || inst.applyMinNotionalToMarket;
    if ((checkMin && inst.minNotional > 0 && notional < inst.minNotional) || (inst.maxNotional > 0 && notional > inst.maxNotional)) {
      return { check: 'notional_filter', reason: `notional ${notional.toFixed(2)} is outside [${inst.minNotional}, ${inst.maxNotional || '∞'}]` };
    }
    if (notional > this.limits.maxOrderNotional) {
      return { check: 'max_order_notional', reason: `notional ${notional.toFixed(2)} exceeds the per-order limit ${this.limits.maxOrderNotional}` };
    }

    // position and drawdown: reducing orders are always allowed. Open orders on the same side count as
    // if they had filled, so a burst of orders cannot slip past the limit while fills are in flight.
    const base = x.position + (signed > 0 ? x.openBuy ?? 0 : -(x.openSell ?? 0));
    const after = base + signed * qty;
    const reduces = Math.abs(after) < Math.abs(base) - 1e-12 && Math.sign(after) !== -Math.sign(base);
    if (!reduces && Math.abs(after) > this.limits.maxPosition + 1e-12) {
      return { check: 'position_limit', reason: `position would be ${after.toFixed(8)} (limit ±${this.limits.maxPosition})` };
    }
    if (this.breakerTripped && !reduces) {
      return { check: 'drawdown_breaker', reason: `drawdown breaker tripped: equity fell more than ${this.limits.maxDrawdown * 100}% below the high-water mark ${this.highWaterMark.toFixed(2)}; only reducing orders pass` };
    }
    const window = this.limiter.wouldExceed(x.now);
    if (window) return { check: 'rate_limit', reason: `more than ${window.limit} orders per ${window.label}` };
    return null;
  }
}
