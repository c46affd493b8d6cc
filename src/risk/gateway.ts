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
  | 'paused'
  | 'schedule'
  | 'unknown_symbol'
  | 'not_trading'
  | 'book_not_synced'
  | 'book_stale'
  | 'feed_lag'
  | 'quantity_filter'
  | 'price_filter'
  | 'notional_filter'
  | 'price_band'
  | 'max_order_notional'
  | 'position_limit'
  | 'total_notional'
  | 'drawdown_breaker'
  | 'loss_streak'
  | 'warmup'
  | 'funding'
  | 'rate_limit';

export type RiskDecision =
  | { readonly approved: true; readonly order: ApprovedOrder }
  | { readonly approved: false; readonly check: RiskCheck; readonly reason: string };

export interface RiskLimits {
  maxPosition: number;
  maxDrawdown: number;
  maxOrderNotional: number;
  /** gross exposure (sum of |position x mark|) after the order, quote currency; Infinity = off */
  maxTotalNotional?: number;
  priceBand: number;
  bookStaleMs: number;
  /** the book's last update arrived this much later than the feed's usual (ms over its baseline, see FeedLagTracker); 0 or absent = off */
  maxFeedLagMs?: number;
  ordersPerSecond: number;
  ordersPerMinute: number;
  ordersPerHour: number;
  /** the drawdown breaker resets itself this long after tripping; 0 = only by an explicit reset */
  breakerCooldownMs?: number;
  /** this many losing round trips in a row pause new risk; 0 = off */
  lossStreak?: number;
  lossStreakPauseMs?: number;
  /** no new risk until this long after the start ... */
  warmupMs?: number;
  /** ... and this many book updates of the symbol */
  warmupPoints?: number;
  /** |funding rate| above this blocks new risk on the side that pays it; Infinity = off */
  maxFundingRate?: number;
}

/** What the gateway needs to know about the world at decision time. */
export interface RiskInputs {
  now: EpochMs;
  instrument: Instrument | undefined;
  book: L2Book | undefined;
  bookState: BookState | undefined;
  /** how late the book's last update arrived (ms over the feed's baseline; see FeedLagTracker); undefined = not measured */
  feedLagMs?: number;
  /** signed position, base units */
  position: number;
  /** base units still working in open orders, per side (sent but not yet filled or ended) */
  openBuy?: number;
  openSell?: number;
  equity: number;
  /** sum of |position x mark| over every instrument, quote currency */
  grossExposure?: number;
  /** book updates seen for this symbol (warm-up) */
  dataPoints?: number;
  /** latest funding rate of the symbol's perpetual (null/undefined: unknown) */
  fundingRate?: number | null;
  /** set while the trading schedule pauses new orders (e.g. Shabbat), with why */
  scheduleReason?: string | null;
}

/** The gateway's state that must survive a restart (stored by the engine). */
export interface RiskControlState {
  halted: boolean;
  haltReason: string;
  paused: boolean;
  pauseReason: string;
  breakerTripped: boolean;
  breakerTrippedAt: EpochMs | null;
  highWaterMark: number;
  lossStreak: number;
  lossPauseUntil: EpochMs | null;
}

/**
 * Every order intent passes here. Each check returns a reason or nothing; the first reason denies.
 * The gateway never throws for a denial: it returns a decision, which the engine stores and counts.
 *
 * Intents carry a purpose. A halt (kill switch), a pause and the trading schedule stop strategies only:
 * protective stops and the kill switch's flattening orders still pass them (they only reduce risk), and
 * every order, whoever sends it, passes the exchange filters, the book and rate checks.
 */
export class RiskGateway {
  readonly limiter: SlidingRateLimiter;
  highWaterMark = -Infinity;
  /** drawdown breaker: once tripped, only risk-reducing orders pass until reset */
  breakerTripped = false;
  breakerTrippedAt: EpochMs | null = null;
  halted = false;
  haltReason = '';
  paused = false;
  pauseReason = '';
  /** losing round trips in a row, and until when new risk is paused because of them */
  lossStreak = 0;
  lossPauseUntil: EpochMs | null = null;
  readonly denials: Record<string, number> = {};
  approvedCount = 0;
  private readonly startedAt: EpochMs;

  constructor(
    readonly limits: Readonly<RiskLimits>,
    startedAt: EpochMs = 0,
  ) {
    this.startedAt = startedAt;
    this.limiter = new SlidingRateLimiter([
      { windowMs: 1_000, limit: limits.ordersPerSecond, label: 'second' },
      { windowMs: 60_000, limit: limits.ordersPerMinute, label: 'minute' },
      { windowMs: 3_600_000, limit: limits.ordersPerHour, label: 'hour' },
    ]);
  }

  /** Feeds the equity curve to the drawdown breaker (and lets its cool-down run out). */
  observeEquity(equity: number, now: EpochMs): void {
    const cool = this.limits.breakerCooldownMs ?? 0;
    if (this.breakerTripped && cool > 0 && this.breakerTrippedAt !== null && now - this.breakerTrippedAt >= cool) this.resetBreaker(equity);
    if (equity > this.highWaterMark) this.highWaterMark = equity;
    if (!this.breakerTripped && equity < (1 - this.limits.maxDrawdown) * this.highWaterMark) {
      this.breakerTripped = true;
      this.breakerTrippedAt = now;
    }
  }

  /** Clears the drawdown breaker; the high-water mark starts again from the current equity. */
  resetBreaker(equity: number): void {
    this.breakerTripped = false;
    this.breakerTrippedAt = null;
    this.highWaterMark = equity;
  }

  /** A round trip closed with this net P&L: feeds the loss-streak breaker. */
  observeTrip(netPnl: number, now: EpochMs): void {
    const n = this.limits.lossStreak ?? 0;
    if (netPnl < 0) this.lossStreak++;
    else this.lossStreak = 0;
    if (n > 0 && this.lossStreak >= n) {
      this.lossPauseUntil = now + (this.limits.lossStreakPauseMs ?? 0);
      this.lossStreak = 0;
    }
  }

  halt(reason: string): void {
    this.halted = true;
    this.haltReason = reason;
  }
  pause(reason: string): void {
    this.paused = true;
    this.pauseReason = reason;
  }
  /** Ends a halt and a pause (not the drawdown breaker: that has its own reset). */
  resume(): void {
    this.halted = false;
    this.haltReason = '';
    this.paused = false;
    this.pauseReason = '';
  }

  controlState(): RiskControlState {
    return {
      halted: this.halted,
      haltReason: this.haltReason,
      paused: this.paused,
      pauseReason: this.pauseReason,
      breakerTripped: this.breakerTripped,
      breakerTrippedAt: this.breakerTrippedAt,
      highWaterMark: this.highWaterMark,
      lossStreak: this.lossStreak,
      lossPauseUntil: this.lossPauseUntil,
    };
  }

  restore(s: Partial<RiskControlState>): void {
    if (s.halted !== undefined) this.halted = s.halted;
    if (s.haltReason !== undefined) this.haltReason = s.haltReason;
    if (s.paused !== undefined) this.paused = s.paused;
    if (s.pauseReason !== undefined) this.pauseReason = s.pauseReason;
    if (s.breakerTripped !== undefined) this.breakerTripped = s.breakerTripped;
    if (s.breakerTrippedAt !== undefined) this.breakerTrippedAt = s.breakerTrippedAt;
    if (s.highWaterMark !== undefined && s.highWaterMark !== null) this.highWaterMark = s.highWaterMark;
    if (s.lossStreak !== undefined) this.lossStreak = s.lossStreak;
    if (s.lossPauseUntil !== undefined) this.lossPauseUntil = s.lossPauseUntil;
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
    const purpose = intent.purpose ?? 'strategy';
    if (this.halted && purpose === 'strategy') return { check: 'halted', reason: `trading halted: ${this.haltReason}` };
    if (!inst || inst.venue !== intent.venue || inst.symbol !== intent.symbol) return { check: 'unknown_symbol', reason: `${intent.venue}:${intent.symbol} is not a known instrument` };
    if (inst.status !== 'TRADING') return { check: 'not_trading', reason: `${inst.symbol} status is ${inst.status}` };
    if (!x.book || x.bookState !== 'synced') return { check: 'book_not_synced', reason: `${inst.symbol} book is ${x.bookState ?? 'missing'}` };
    const age = x.now - x.book.lastRecvTime;
    if (age > this.limits.bookStaleMs) return { check: 'book_stale', reason: `${inst.symbol} book has had no update for ${Math.round(age)} ms` };
    const maxLag = this.limits.maxFeedLagMs ?? 0;
    if (maxLag > 0 && x.feedLagMs !== undefined && x.feedLagMs > maxLag) {
      return { check: 'feed_lag', reason: `${inst.venue} feed lags: the ${inst.symbol} book's last update came ${Math.round(x.feedLagMs)} ms late (limit ${maxLag} ms)` };
    }
    if (purpose === 'strategy') {
      if (this.paused) return { check: 'paused', reason: `trading paused: ${this.pauseReason}` };
      if (x.scheduleReason) return { check: 'schedule', reason: x.scheduleReason };
    }
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
    const maxTotal = this.limits.maxTotalNotional ?? Infinity;
    if (!reduces && (x.grossExposure ?? 0) + notional > maxTotal + 1e-9) {
      return { check: 'total_notional', reason: `gross exposure would be ${((x.grossExposure ?? 0) + notional).toFixed(2)} (limit ${maxTotal})` };
    }
    if (this.breakerTripped && !reduces) {
      return { check: 'drawdown_breaker', reason: `drawdown breaker tripped: equity fell more than ${this.limits.maxDrawdown * 100}% below the high-water mark ${this.highWaterMark.toFixed(2)}; only reducing orders pass` };
    }
    if (!reduces && this.lossPauseUntil !== null && x.now < this.lossPauseUntil) {
      return { check: 'loss_streak', reason: `${this.limits.lossStreak} losing trades in a row: new risk paused until ${new Date(this.lossPauseUntil).toISOString()}` };
    }
    if (!reduces && purpose === 'strategy') {
      const warmMs = this.limits.warmupMs ?? 0;
      const warmPts = this.limits.warmupPoints ?? 0;
      const points = x.dataPoints ?? Infinity;
      if (x.now - this.startedAt < warmMs || points < warmPts) {
        return { check: 'warmup', reason: `warming up: ${Math.round((x.now - this.startedAt) / 1000)} s of ${warmMs / 1000} s, ${points} of ${warmPts} data points` };
      }
      const maxFunding = this.limits.maxFundingRate ?? Infinity;
      const f = x.fundingRate;
      // positive funding: longs pay shorts, the long side is crowded (and the reverse)
      if (f !== null && f !== undefined && Math.abs(f) > maxFunding && Math.sign(f) === signed) {
        return { check: 'funding', reason: `funding rate ${(f * 100).toFixed(4)}% is beyond ±${(maxFunding * 100).toFixed(4)}%: no new ${signed > 0 ? 'long' : 'short'} risk on the crowded side` };
      }
    }
    const window = this.limiter.wouldExceed(x.now);
    if (window) return { check: 'rate_limit', reason: `more than ${window.limit} orders per ${window.label}` };
    return null;
  }
}
