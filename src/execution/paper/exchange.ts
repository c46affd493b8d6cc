import type { L2Book } from '../../book/book.js';
import type { BookSide } from '../../book/side.js';
import type { EpochMs, InstrumentKey, Side } from '../../core/types.js';
import { instrumentKey } from '../../core/types.js';
import type { Instrument } from '../../model/instrument.js';
import type { OrderType, TimeInForce } from '../../model/order.js';
import type { FeeModel, ImpactModel, Liquidity, QueueModel, QueuePos } from './models.js';

/** An order as it reaches the simulated exchange (after risk approval and entry latency). */
export interface ExchangeOrderSpec {
  readonly id: string;
  readonly side: Side;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  /** LIMIT_MAKER: rejected if it would take liquidity */
  readonly postOnly: boolean;
  readonly qtyUnits: number;
  /** NaN for market orders */
  readonly priceUnits: number;
}

/** What the exchange tells the client. Each report leaves the exchange at `time` (exchange side). */
export type ExchangeReport =
  | { readonly kind: 'accepted'; readonly orderId: string; readonly time: EpochMs }
  | { readonly kind: 'rejected'; readonly orderId: string; readonly time: EpochMs; readonly reason: string }
  | {
      readonly kind: 'fill';
      readonly orderId: string;
      readonly time: EpochMs;
      readonly priceUnits: number;
      readonly qtyUnits: number;
      /** quantity still open after this fill */
      readonly leavesUnits: number;
      readonly liquidity: Liquidity;
      /** fee rate applied (negative = rebate) */
      readonly feeRate: number;
    }
  | { readonly kind: 'canceled'; readonly orderId: string; readonly time: EpochMs }
  | { readonly kind: 'expired'; readonly orderId: string; readonly time: EpochMs; readonly reason: string }
  | { readonly kind: 'cancel_rejected'; readonly orderId: string; readonly time: EpochMs; readonly reason: string };

export interface PaperExchangeOptions {
  queue: QueueModel;
  fees: FeeModel;
  /** one impact model per instrument */
  impact: (inst: Instrument) => ImpactModel;
  /** receives every report, in the order the exchange produced them */
  emit: (report: ExchangeReport) => void;
}

/** Where a resting order stands (checkpoints). */
export interface RestingState {
  orderId: string;
  ahead: number;
  tradedSinceDepth: number;
  levelQty: number;
  filledUnits: number;
}

/** A resting order inside the simulated exchange. */
interface Resting {
  readonly spec: ExchangeOrderSpec;
  readonly inst: Instrument;
  filled: number;
  readonly queue: QueuePos;
  /** displayed quantity at the order's price last time we looked */
  levelQty: number;
  /**
   * The last change of the level, and the queue just before it: a trade that arrives after a depth update
   * which already included it (separate streams) is replayed as if it had come first. Invalid once the
   * queue moved otherwise (a later trade, a fill).
   */
  /** exchange time of the book the order joined */
  readonly joined: EpochMs;
  readonly last: { valid: boolean; ahead: number; traded: number; prev: number; next: number; time: EpochMs; prevTime: EpochMs };
}

interface Venue {
  inst: Instrument;
  /** the queue model, for this instrument's lot size */
  queue: QueueModel;
  impact: ImpactModel;
  resting: Resting[];
}

/**
 * The paper exchange: a deterministic matcher over the real L2 book, written as a synchronous state
 * machine (time and book in, reports out). It never edits the book it is given.
 *
 * - Taking liquidity (market orders and the crossing part of limit orders) walks the opposite side level
 *   by level, each level offering what the impact model says is still available to us; every fill pays the
 *   taker rate.
 * - The rest of a GTC limit order rests, joining the queue behind the displayed quantity at its price.
 *   Trades at its price advance it (and fill it once the queue ahead is used up, partially when the trade
 *   is smaller than what remains); changes of the level move it according to the queue model; a trade
 *   through its price, or the opposite side reaching its price (with lots the impact model says are
 *   available to us), fills what remains. Those fills are maker
 *   fills at the order's price.
 * - Our own resting orders are virtual: they never appear in the displayed book, so two of our orders at
 *   one price do not queue behind each other.
 */
export class PaperExchange {
  private readonly venues = new Map<InstrumentKey, Venue>();
  private readonly byId = new Map<string, Resting>();

  constructor(private readonly opts: PaperExchangeOptions) {}

  private venue(inst: Instrument): Venue {
    const key = instrumentKey(inst.venue, inst.symbol);
    let v = this.venues.get(key);
    if (!v) {
      const q = this.opts.queue;
      v = { inst, queue: q.forLotSize ? q.forLotSize(10 ** -inst.qtyDecimals) : q, impact: this.opts.impact(inst), resting: [] };
      this.venues.set(key, v);
    }
    return v;
  }

  /** number of orders resting on this instrument (the engine skips onBook/onTrade when it is 0) */
  restingCount(key: InstrumentKey): number {
    return this.venues.get(key)?.resting.length ?? 0;
  }

  isOpen(orderId: string): boolean {
    return this.byId.has(orderId);
  }

  /** A new order reaches the exchange at `now`; `book` is the market as we see it then (null: no book). */
  place(spec: ExchangeOrderSpec, inst: Instrument, book: L2Book | null, now: EpochMs): void {
    const emit = this.opts.emit;
    if (!book || book.bids.empty || book.asks.empty) {
      emit({ kind: 'rejected', orderId: spec.id, time: now, reason: 'paper exchange has no order book to match against (feed resyncing)' });
      return;
    }
    const buy = spec.side === 'BUY';
    const limit = spec.type === 'LIMIT' ? spec.priceUnits : NaN;
    if (spec.type === 'LIMIT' && !(limit > 0)) {
      emit({ kind: 'rejected', orderId: spec.id, time: now, reason: 'limit order without a price' });
      return;
    }
    const crosses = spec.type === 'MARKET' || (buy ? limit >= book.bestAsk() : limit <= book.bestBid());
    if (spec.postOnly && crosses) {
      emit({ kind: 'rejected', orderId: spec.id, time: now, reason: 'post-only order would immediately match and take' });
      return;
    }
    const v = this.venue(inst);
    const opposite = buy ? book.asks : book.bids;
    if (spec.timeInForce === 'FOK' && this.takeable(v, opposite, buy, limit, spec.qtyUnits, now) < spec.qtyUnits) {
      emit({ kind: 'accepted', orderId: spec.id, time: now });
      emit({ kind: 'expired', orderId: spec.id, time: now, reason: 'fill-or-kill: not enough liquidity' });
      return;
    }
    emit({ kind: 'accepted', orderId: spec.id, time: now });
    let filled = 0;
    if (crosses) filled = this.take(v, spec, opposite, buy, limit, now);
    const leaves = spec.qtyUnits - filled;
    if (leaves <= 0) return;
    if (spec.type === 'MARKET' || spec.timeInForce !== 'GTC') {
      emit({ kind: 'expired', orderId: spec.id, time: now, reason: spec.type === 'MARKET' ? 'market order: book exhausted' : 'immediate-or-cancel: remainder canceled' });
      return;
    }
    const own = buy ? book.bids : book.asks;
    const levelQty = own.qtyAt(limit);
    const r: Resting = {
      spec, inst, filled, queue: { ahead: 0, tradedSinceDepth: 0 }, levelQty, joined: book.lastEventTime,
      last: { valid: false, ahead: 0, traded: 0, prev: 0, next: 0, time: book.lastEventTime, prevTime: -Infinity },
    };
    v.queue.onNew(r.queue, levelQty);
    v.resting.push(r);
    this.byId.set(spec.id, r);
  }

  /** The queue places of the resting orders (checkpoints). */
  restingState(): RestingState[] {
    const out: RestingState[] = [];
    for (const r of this.byId.values()) out.push({ orderId: r.spec.id, ahead: r.queue.ahead, tradedSinceDepth: r.queue.tradedSinceDepth, levelQty: r.levelQty, filledUnits: r.filled });
    return out;
  }

  /**
   * Puts back an order that rested before a restart (no acknowledgement: it was acknowledged then). It
   * keeps its saved place in the queue, never more than the level now shows, or joins at the back when
   * nothing was saved. If the market reached its price meanwhile, it fills at its own price.
   */
  restore(spec: ExchangeOrderSpec, inst: Instrument, book: L2Book, filledUnits: number, saved: { ahead: number } | null, now: EpochMs): void {
    if (this.byId.has(spec.id) || filledUnits >= spec.qtyUnits) return;
    const v = this.venue(inst);
    const buy = spec.side === 'BUY';
    const levelQty = (buy ? book.bids : book.asks).qtyAt(spec.priceUnits);
    const r: Resting = {
      spec, inst, filled: filledUnits, queue: { ahead: 0, tradedSinceDepth: 0 }, levelQty, joined: book.lastEventTime,
      last: { valid: false, ahead: 0, traded: 0, prev: 0, next: 0, time: book.lastEventTime, prevTime: -Infinity },
    };
    v.queue.onNew(r.queue, levelQty);
    if (saved && saved.ahead < r.queue.ahead) r.queue.ahead = Math.max(0, saved.ahead);
    v.resting.push(r);
    this.byId.set(spec.id, r);
    const crossed = buy ? !book.asks.empty && book.bestAsk() <= spec.priceUnits : !book.bids.empty && book.bestBid() >= spec.priceUnits;
    if (crossed) this.fillResting(v, r, spec.qtyUnits - r.filled, now);
  }

  /** A cancel request reaches the exchange at `now`. */
  cancel(orderId: string, now: EpochMs): void {
    const r = this.byId.get(orderId);
    if (!r) {
      this.opts.emit({ kind: 'cancel_rejected', orderId, time: now, reason: 'unknown order (already filled, expired or canceled)' });
      return;
    }
    this.remove(r);
    this.opts.emit({ kind: 'canceled', orderId, time: now });
  }

  /** The instrument's book changed (a diff was applied, or it was reloaded from a snapshot). */
  onBook(key: InstrumentKey, book: L2Book, now: EpochMs): void {
    const v = this.venues.get(key);
    if (!v || v.resting.length === 0) return;
    const bestBid = book.bestBid();
    const bestAsk = book.bestAsk();
    // iterate backwards: a full fill removes the order from the array
    for (let i = v.resting.length - 1; i >= 0; i--) {
      const r = v.resting[i]!;
      const buy = r.spec.side === 'BUY';
      const px = r.spec.priceUnits;
      if ((buy ? bestAsk <= px : bestBid >= px) && this.reaches(v, buy ? book.asks : book.bids, buy, px, now)) {
        // the opposite side reached our price: everything in front of and at our level traded
        this.fillResting(v, r, r.spec.qtyUnits - r.filled, now);
        continue;
      }
      const qty = (buy ? book.bids : book.asks).qtyAt(px);
      if (qty !== r.levelQty) {
        const l = r.last;
        l.valid = true;
        l.ahead = r.queue.ahead;
        l.traded = r.queue.tradedSinceDepth;
        l.prev = r.levelQty;
        l.next = qty;
        l.prevTime = l.time;
        l.time = book.lastEventTime;
        v.queue.onDepth(r.queue, r.levelQty, qty);
        r.levelQty = qty;
      }
    }
  }

  /**
   * A trade printed on the instrument: `buyerIsMaker` means the aggressor sold. `eventTime` is the
   * exchange's time of the trade: a trade older than the last depth change of the order's level was
   * already part of that change (trades and depth come on separate streams), so the change is replayed
   * with the trade first instead of counting the same volume twice; a trade older than the book the order
   * joined is ignored (the order queued behind what was left after it). Without a time, a trade is new.
   */
  onTrade(key: InstrumentKey, priceUnits: number, qtyUnits: number, buyerIsMaker: boolean, now: EpochMs, eventTime = Infinity): void {
    const v = this.venues.get(key);
    if (!v || v.resting.length === 0) return;
    for (let i = v.resting.length - 1; i >= 0; i--) {
      const r = v.resting[i]!;
      const buy = r.spec.side === 'BUY';
      // only an aggressor on the other side can reach a resting order, and only after the order joined
      if (buy !== buyerIsMaker || eventTime <= r.joined) continue;
      const px = r.spec.priceUnits;
      const leaves = r.spec.qtyUnits - r.filled;
      if (buy ? priceUnits < px : priceUnits > px) {
        // the aggressor traded through our price: our level was used up
        this.fillResting(v, r, leaves, now);
      } else if (priceUnits === px) {
        const l = r.last;
        if (l.valid && eventTime <= l.time && eventTime > l.prevTime) {
          r.queue.ahead = l.ahead;
          r.queue.tradedSinceDepth = l.traded;
          v.queue.onTrade(r.queue, qtyUnits);
          l.ahead = r.queue.ahead;
          l.traded = r.queue.tradedSinceDepth;
          v.queue.onDepth(r.queue, l.prev, l.next);
        } else {
          l.valid = false;
          v.queue.onTrade(r.queue, qtyUnits);
        }
        // whole lots beyond the queue ahead trade against us; a fraction stays for the next trade
        const exec = Math.min(Math.floor(-r.queue.ahead + 1e-9), leaves);
        if (exec > 0) {
          r.queue.ahead += exec;
          r.last.valid = false;
          this.fillResting(v, r, exec, now);
        }
      }
    }
  }

  // ---- internals ----

  /** How much the opposite side offers up to the limit, after impact (FOK check). */
  private takeable(v: Venue, side: BookSide, buy: boolean, limit: number, want: number, now: EpochMs): number {
    const sideName = buy ? 'ask' : 'bid';
    let total = 0;
    for (let i = 0; side.has(i) && total < want; i++) {
      const px = side.price(i);
      if (limit === limit && (buy ? px > limit : px < limit)) break;
      total += v.impact.available(sideName, px, side.qty(i), now);
    }
    return total;
  }

  /**
   * Whether the opposite side offers, at or through `px`, liquidity still available to us. Lots our own
   * aggressive orders took are still displayed (the book is never edited) but are not there for us until
   * the impact model lets them come back: without this, the resting rest of a crossing limit order
   * would fill again from the very lots it had just taken.
   */
  private reaches(v: Venue, side: BookSide, buy: boolean, px: number, now: EpochMs): boolean {
    const sideName = buy ? 'ask' : 'bid';
    for (let i = 0; side.has(i); i++) {
      const p = side.price(i);
      if (buy ? p > px : p < px) return false;
      if (v.impact.available(sideName, p, side.qty(i), now) > 0) return true;
    }
    return false;
  }

  /** Walks the opposite side as a taker; returns the filled quantity. */
  private take(v: Venue, spec: ExchangeOrderSpec, side: BookSide, buy: boolean, limit: number, now: EpochMs): number {
    const sideName = buy ? 'ask' : 'bid';
    const feeRate = this.opts.fees.rate(v.inst.venue, v.inst.symbol, 'taker');
    let filled = 0;
    for (let i = 0; side.has(i) && filled < spec.qtyUnits; i++) {
      const px = side.price(i);
      if (limit === limit && (buy ? px > limit : px < limit)) break;
      const take = Math.min(spec.qtyUnits - filled, v.impact.available(sideName, px, side.qty(i), now));
      if (take <= 0) continue;
      v.impact.consume(sideName, px, take, now);
      filled += take;
      this.opts.emit({ kind: 'fill', orderId: spec.id, time: now, priceUnits: px, qtyUnits: take, leavesUnits: spec.qtyUnits - filled, liquidity: 'taker', feeRate });
    }
    return filled;
  }

  private fillResting(v: Venue, r: Resting, qty: number, now: EpochMs): void {
    if (qty <= 0) return;
    r.filled += qty;
    const leaves = r.spec.qtyUnits - r.filled;
    if (leaves <= 0) this.remove(r);
    this.opts.emit({
      kind: 'fill',
      orderId: r.spec.id,
      time: now,
      priceUnits: r.spec.priceUnits,
      qtyUnits: qty,
      leavesUnits: leaves,
      liquidity: 'maker',
      feeRate: this.opts.fees.rate(v.inst.venue, v.inst.symbol, 'maker'),
    });
  }

  private remove(r: Resting): void {
    this.byId.delete(r.spec.id);
    const v = this.venues.get(instrumentKey(r.inst.venue, r.inst.symbol))!;
    const i = v.resting.indexOf(r);
    if (i >= 0) v.resting.splice(i, 1);
  }
}
