import type { L2Book } from '../../book/book.js';
import type { BookSide } from '../../book/side.js';
import { floorToStep, priceToNumber, qtyToNumber, type Instrument } from '../../model/instrument.js';
import type { OrderIntent } from '../../model/order.js';
import { paramsHash, type Strategy, type StrategyContext } from '../strategy.js';

export interface ObiParams {
  /** levels per side in the imbalance */
  levels: number;
  /** weight of level i is decay^i */
  decay: number;
  /** |imbalance| needed for a directional observation */
  threshold: number;
  /** consecutive observations in the same direction before a signal */
  persistence: number;
  /** no orders when the spread is wider than this many ticks */
  maxSpreadTicks: number;
  /** notional of one order, quote currency */
  orderNotional: number;
  /** largest absolute position the strategy aims for, base units */
  maxPosition: number;
  /** minimum time between two orders on one symbol */
  cooldownMs: number;
}

/** Weighted imbalance over the top `levels` levels: (bid - ask) / (bid + ask) with weights decay^i. */
export function weightedImbalance(bids: BookSide, asks: BookSide, levels: number, decay: number): number {
  let b = 0;
  let a = 0;
  let w = 1;
  for (let i = 0; i < levels; i++) {
    b += w * bids.qty(i);
    a += w * asks.qty(i);
    w *= decay;
  }
  const total = b + a;
  return total > 0 ? (b - a) / total : 0;
}

interface SymbolState {
  direction: -1 | 0 | 1;
  streak: number;
  lastOrderAt: number;
  lastImbalance: number;
}

/**
 * Order book imbalance, first cut: a persistent imbalance on the bid side buys, on the ask side sells
 * (market orders), stepping the position toward ±maxPosition by one order at a time; the opposite
 * signal reduces and then reverses the position.
 */
export class ObiStrategy implements Strategy {
  readonly name = 'obi';
  readonly version = '0.1.0';
  readonly id: string;
  private readonly state = new Map<string, SymbolState>();

  constructor(readonly params: Readonly<ObiParams>) {
    this.id = `${this.name}@${this.version}#${paramsHash(params as unknown as Record<string, unknown>)}`;
  }

  /** Last imbalance per symbol (for /status). */
  imbalance(symbol: string): number | null {
    return this.state.get(symbol)?.lastImbalance ?? null;
  }

  onBook(book: L2Book, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    const p = this.params;
    let st = this.state.get(inst.symbol);
    if (!st) {
      st = { direction: 0, streak: 0, lastOrderAt: -Infinity, lastImbalance: 0 };
      this.state.set(inst.symbol, st);
    }
    if (book.bids.size === 0 || book.asks.size === 0) return null;
    const imb = weightedImbalance(book.bids, book.asks, p.levels, p.decay);
    st.lastImbalance = imb;
    const dir: -1 | 0 | 1 = imb > p.threshold ? 1 : imb < -p.threshold ? -1 : 0;
    if (dir === 0) {
      st.direction = 0;
      st.streak = 0;
      return null;
    }
    st.streak = dir === st.direction ? st.streak + 1 : 1;
    st.direction = dir;
    if (st.streak < p.persistence) return null;
    if (ctx.now - st.lastOrderAt < p.cooldownMs) return null;
    const spreadTicks = book.spread() / inst.tickUnits;
    if (!(spreadTicks <= p.maxSpreadTicks)) return null;

    const mid = priceToNumber(inst, book.mid());
    const position = ctx.position(inst);
    const step = qtyToNumber(inst, inst.stepUnits);
    // room toward the target, never past it
    const room = dir > 0 ? p.maxPosition - position : p.maxPosition + position;
    const wanted = Math.min(p.orderNotional / mid, room);
    const qtyUnits = wanted >= step ? floorToStep(inst, wanted) : 0;
    if (qtyUnits <= 0) return null;
    st.lastOrderAt = ctx.now;
    st.streak = 0;
    const reducing = (dir > 0 && position < 0) || (dir < 0 && position > 0);
    return {
      venue: inst.venue,
      symbol: inst.symbol,
      side: dir > 0 ? 'BUY' : 'SELL',
      type: 'MARKET',
      qtyUnits,
      strategy: this.id,
      reason: `imbalance ${imb.toFixed(3)} for ${p.persistence}+ observations${reducing ? ' (reduces position)' : ''}`,
      createdAt: ctx.now,
    };
  }
}
