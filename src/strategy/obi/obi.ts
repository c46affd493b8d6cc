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
  /** notional of one order, quote currency (raised to the instrument's minimum notional if below it) */
  orderNotional: number;
  /** largest absolute position the strategy aims for, base units */
  maxPosition: number;
  /** minimum time between two orders on one symbol */
  cooldownMs: number;
  /**
   * 'market': market orders. 'limit': a limit order at the opposite touch (takes what is there, the rest
   * rests). 'post-only': joins the queue at its own touch and only ever makes liquidity.
   */
  orderType: ObiOrderType;
  /** a limit order still working after this long is canceled (limit and post-only modes) */
  orderTtlMs: number;
}

export type ObiOrderType = 'market' | 'limit' | 'post-only';
export const OBI_ORDER_TYPES: readonly ObiOrderType[] = ['market', 'limit', 'post-only'];

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
 * Order book imbalance: a persistent imbalance on the bid side buys, on the ask side sells, stepping the
 * position toward ±maxPosition by one order at a time; the opposite signal reduces and then reverses the
 * position. With limit orders, one order per symbol works at a time: it is canceled when the signal turns
 * against it or when it has worked longer than orderTtlMs.
 */
export class ObiStrategy implements Strategy {
  readonly name = 'obi';
  readonly version = '0.2.0';
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
    if (p.orderType !== 'market') {
      const open = ctx.openOrders(inst);
      if (open.length > 0) {
        for (const o of open) {
          if (o.cancelRequestedAt !== undefined) continue;
          const against = (o.side === 'BUY' && dir < 0) || (o.side === 'SELL' && dir > 0);
          if (against || ctx.now - o.createdAt >= p.orderTtlMs) ctx.cancel(o.id);
        }
        // keep counting the signal, but send nothing while an order works
        this.observe(st, dir);
        return null;
      }
    }
    if (!this.observe(st, dir)) return null;
    if (ctx.now - st.lastOrderAt < p.cooldownMs) return null;
    const spreadTicks = book.spread() / inst.tickUnits;
    if (!(spreadTicks <= p.maxSpreadTicks)) return null;

    const mid = priceToNumber(inst, book.mid());
    const position = ctx.position(inst);
    const step = qtyToNumber(inst, inst.stepUnits);
    // room toward the target, never past it
    const room = dir > 0 ? p.maxPosition - position : p.maxPosition + position;
    // the order notional, raised to the venue's minimum notional when it falls short (USD-M: 100 USDT)
    const minQty = inst.minNotional > 0 ? Math.ceil(inst.minNotional / mid / step - 1e-9) * step : 0;
    const wanted = Math.min(Math.max(p.orderNotional / mid, minQty), room);
    const qtyUnits = wanted >= step ? floorToStep(inst, wanted) : 0;
    if (qtyUnits <= 0) return null;
    st.lastOrderAt = ctx.now;
    st.streak = 0;
    const reducing = (dir > 0 && position < 0) || (dir < 0 && position > 0);
    const side = dir > 0 ? 'BUY' : 'SELL';
    const limit =
      p.orderType === 'market'
        ? {}
        : p.orderType === 'limit'
          ? { priceUnits: dir > 0 ? book.bestAsk() : book.bestBid(), timeInForce: 'GTC' as const }
          : { priceUnits: dir > 0 ? book.bestBid() : book.bestAsk(), timeInForce: 'GTC' as const, postOnly: true };
    return {
      venue: inst.venue,
      symbol: inst.symbol,
      side,
      type: p.orderType === 'market' ? 'MARKET' : 'LIMIT',
      ...limit,
      qtyUnits,
      strategy: this.id,
      reason: `imbalance ${imb.toFixed(3)} for ${p.persistence}+ observations${reducing ? ' (reduces position)' : ''}`,
      createdAt: ctx.now,
    };
  }

  saveState(): unknown {
    return Object.fromEntries([...this.state].map(([k, s]) => [k, { ...s, lastOrderAt: Number.isFinite(s.lastOrderAt) ? s.lastOrderAt : null }]));
  }

  loadState(state: unknown): void {
    if (typeof state !== 'object' || state === null) return;
    for (const [symbol, v] of Object.entries(state as Record<string, Partial<SymbolState> & { lastOrderAt?: number | null }>)) {
      if (typeof v !== 'object' || v === null) continue;
      const dir = v.direction === 1 || v.direction === -1 ? v.direction : 0;
      this.state.set(symbol, {
        direction: dir,
        streak: Number.isInteger(v.streak) ? v.streak! : 0,
        lastOrderAt: typeof v.lastOrderAt === 'number' ? v.lastOrderAt : -Infinity,
        lastImbalance: typeof v.lastImbalance === 'number' ? v.lastImbalance : 0,
      });
    }
  }

  /** Counts one observation; true when the signal has persisted long enough. */
  private observe(st: SymbolState, dir: -1 | 0 | 1): boolean {
    if (dir === 0) {
      st.direction = 0;
      st.streak = 0;
      return false;
    }
    st.streak = dir === st.direction ? st.streak + 1 : 1;
    st.direction = dir;
    return st.streak >= this.params.persistence;
  }
}
