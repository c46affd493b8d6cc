import type { L2Book } from '../../book/book.js';
import { microprice, weightedImbalance } from '../../features/book-math.js';
import type { MlGate } from '../../ml/gate.js';
import type { TradeEvent } from '../../model/events.js';
import { floorToStep, priceToNumber, qtyToNumber, type Instrument } from '../../model/instrument.js';
import type { OrderIntent } from '../../model/order.js';
import { paramsHash, type FuturesEvent, type Strategy, type StrategyContext } from '../strategy.js';

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
  /** momentum confirmation: the microprice must have moved at least momentumTicks in the signal's direction over this window (0 = off) */
  momentumMs: number;
  momentumTicks: number;
  /** realized-volatility band for entries: std of 1-second mid log returns over volWindowMs, in bp (max 0 = no upper bound) */
  volWindowMs: number;
  minVolBps: number;
  maxVolBps: number;
  /** open-interest confirmation: entries need open interest not falling over oiWindowMs (unknown passes) */
  oiConfirm: boolean;
  oiWindowMs: number;
  /** liquidation-cascade guard: this many liquidations within liqWindowMs block entries (0 = off) */
  liqMax: number;
  liqWindowMs: number;
  /** time stop: a position held this long is closed (0 = off) */
  maxHoldMs: number;
  /** an opposite signal closes the whole position first (else it steps by one order) */
  exitOnOpposite: boolean;
}

export type ObiOrderType = 'market' | 'limit' | 'post-only';
export const OBI_ORDER_TYPES: readonly ObiOrderType[] = ['market', 'limit', 'post-only'];

// the signal's book math is the feature engine's (one definition: training and trading cannot drift apart)
export { microprice, weightedImbalance };

interface SymbolState {
  direction: -1 | 0 | 1;
  streak: number;
  lastOrderAt: number;
  lastImbalance: number;
  /** why the last signal sent nothing (a filter), for /status */
  lastBlock: string | null;
}

/**
 * Microprice samples over a short window (momentum) and 1-second mid returns over a longer one (realized
 * volatility), in fixed ring buffers: no allocation per book update.
 */
export class MarketTracker {
  private readonly t = new Float64Array(1024);
  private readonly v = new Float64Array(1024);
  private head = 0;
  private count = 0;
  private readonly rets: Float64Array;
  private rHead = 0;
  private rCount = 0;
  private sum = 0;
  private sumSq = 0;
  private second = NaN;
  private lastMidOfSecond = NaN;
  private prevSecondMid = NaN;

  constructor(readonly volWindowMs: number) {
    this.rets = new Float64Array(Math.max(2, Math.ceil(volWindowMs / 1000)));
  }

  observe(now: number, micro: number, mid: number): void {
    this.t[this.head] = now;
    this.v[this.head] = micro;
    this.head = (this.head + 1) & 1023;
    if (this.count < 1024) this.count++;
    const sec = Math.floor(now / 1000);
    if (sec !== this.second) {
      if (this.second === this.second && this.prevSecondMid === this.prevSecondMid && this.lastMidOfSecond > 0) {
        this.pushReturn(Math.log(this.lastMidOfSecond / this.prevSecondMid));
      }
      if (this.lastMidOfSecond === this.lastMidOfSecond) this.prevSecondMid = this.lastMidOfSecond;
      this.second = sec;
    }
    this.lastMidOfSecond = mid;
  }

  private pushReturn(r: number): void {
    const cap = this.rets.length;
    if (this.rCount === cap) {
      const old = this.rets[this.rHead]!;
      this.sum -= old;
      this.sumSq -= old * old;
    } else this.rCount++;
    this.rets[this.rHead] = r;
    this.rHead = (this.rHead + 1) % cap;
    this.sum += r;
    this.sumSq += r * r;
  }

  /** microprice change over the last `windowMs` (NaN when the history is shorter) */
  momentum(now: number, windowMs: number): number {
    if (this.count === 0) return NaN;
    const last = this.v[(this.head - 1) & 1023]!;
    for (let i = 2; i <= this.count; i++) {
      const k = (this.head - i) & 1023;
      if (this.t[k]! <= now - windowMs) return last - this.v[k]!;
    }
    return NaN;
  }

  /** standard deviation of the 1-second mid log returns in the window, in basis points (NaN with < 2) */
  volatilityBps(): number {
    const n = this.rCount;
    if (n < 2) return NaN;
    const mean = this.sum / n;
    const variance = Math.max(0, (this.sumSq - n * mean * mean) / (n - 1));
    return Math.sqrt(variance) * 1e4;
  }
}

/**
 * Order book imbalance: a persistent imbalance on the bid side buys, on the ask side sells, stepping the
 * position toward ±maxPosition by one order at a time; the opposite signal reduces and then reverses the
 * position. With limit orders, one order per symbol works at a time: it is canceled when the signal turns
 * against it or when it has worked longer than orderTtlMs.
 *
 * With an ML gate (MODEL_PATH), an entry also needs the model's probability of its direction (up for a
 * buy, down for a sell) to reach MIN_CONFIDENCE; the gate is asked last, once every other filter passed.
 * Orders that reduce the position (exits, time stops) never wait for the model. The gate runs its own
 * FeatureEngine per instrument on the book updates, trades and USD-M futures events this strategy is given.
 */
export class ObiStrategy implements Strategy {
  readonly name = 'obi';
  readonly version = '0.4.0';
  readonly id: string;
  private readonly state = new Map<string, SymbolState>();
  private readonly trackers = new Map<string, MarketTracker>();

  constructor(
    readonly params: Readonly<ObiParams>,
    readonly gate: MlGate | null = null,
  ) {
    // the gate's model and confidence are part of the decision function: they change the id
    const hashed: Record<string, unknown> = gate ? { ...params, mlModel: gate.model.id, minConfidence: gate.minConfidence } : { ...params };
    this.id = `${this.name}@${this.version}#${paramsHash(hashed)}`;
  }

  /** Last imbalance per symbol (for /status). */
  imbalance(symbol: string): number | null {
    return this.state.get(symbol)?.lastImbalance ?? null;
  }

  onBook(book: L2Book, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    const p = this.params;
    const gate = this.gate;
    if (gate) {
      gate.beginEvent();
      gate.onBook(inst.symbol, book, inst, ctx.now);
    }
    let st = this.state.get(inst.symbol);
    if (!st) {
      st = { direction: 0, streak: 0, lastOrderAt: -Infinity, lastImbalance: 0, lastBlock: null };
      this.state.set(inst.symbol, st);
    }
    if (book.bids.empty || book.asks.empty) return null;
    let tracker = this.trackers.get(inst.symbol);
    if (!tracker) this.trackers.set(inst.symbol, (tracker = new MarketTracker(p.volWindowMs)));
    const micro = microprice(book.bestBid(), book.bids.qty(0), book.bestAsk(), book.asks.qty(0));
    tracker.observe(ctx.now, micro, book.mid());
    const imb = weightedImbalance(book.bids, book.asks, p.levels, p.decay);
    st.lastImbalance = imb;
    const dir: -1 | 0 | 1 = imb > p.threshold ? 1 : imb < -p.threshold ? -1 : 0;
    // time stop: a position held too long is closed, whatever the signal
    const held = ctx.positionInfo(inst);
    if (p.maxHoldMs > 0 && held.qty !== 0 && held.openedAt !== null && ctx.now - held.openedAt >= p.maxHoldMs && ctx.openOrders(inst).length === 0 && ctx.now - st.lastOrderAt >= p.cooldownMs) {
      const qtyUnits = floorToStep(inst, Math.abs(held.qty));
      if (qtyUnits > 0) {
        st.lastOrderAt = ctx.now;
        return { venue: inst.venue, symbol: inst.symbol, side: held.qty > 0 ? 'SELL' : 'BUY', type: 'MARKET', qtyUnits, strategy: this.id, reason: `time stop: held ${Math.round((ctx.now - held.openedAt) / 1000)} s`, createdAt: ctx.now };
      }
    }
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
    const reducing = (dir > 0 && position < 0) || (dir < 0 && position > 0);
    let gated = false;
    if (!reducing) {
      let block = this.entryBlock(dir as 1 | -1, tracker, inst, ctx);
      if (block === null && gate) {
        const v = gate.check(inst.symbol, dir as 1 | -1, ctx.now);
        block = v.reason;
        gated = v.pass;
      }
      st.lastBlock = block;
      if (block !== null) return null;
    }
    const step = qtyToNumber(inst, inst.stepUnits);
    let wanted: number;
    if (reducing && p.exitOnOpposite) {
      // the signal turned against the position: close it all
      wanted = Math.abs(position);
    } else {
      // room toward the target, never past it
      const room = dir > 0 ? p.maxPosition - position : p.maxPosition + position;
      // the order notional, raised to the venue's minimum notional when it falls short (USD-M: 100 USDT)
      const minQty = inst.minNotional > 0 ? Math.ceil(inst.minNotional / mid / step - 1e-9) * step : 0;
      wanted = Math.min(Math.max(p.orderNotional / mid, minQty), room);
    }
    const qtyUnits = wanted >= step ? floorToStep(inst, wanted) : 0;
    if (qtyUnits <= 0) return null;
    st.lastOrderAt = ctx.now;
    st.streak = 0;
    if (gated) gate!.charge(ctx.now);
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
      reason: `imbalance ${imb.toFixed(3)} for ${p.persistence}+ observations${reducing ? ' (reduces position)' : ''}${gated ? `, model p=${gate!.lastProbability(inst.symbol).toFixed(3)}` : ''}`,
      createdAt: ctx.now,
    };
  }

  /** Trades of the traded venue feed the ML gate's features (nothing else here uses them). */
  onTrade(trade: TradeEvent, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    const gate = this.gate;
    if (gate) {
      gate.beginEvent();
      gate.onTrade(inst.symbol, trade, ctx.now);
    }
    return null;
  }

  /** USD-M futures events of the symbol feed the ML gate's futures features (funding, basis, OI, liquidations). */
  onFutures(ev: FuturesEvent, ctx: StrategyContext): void {
    const gate = this.gate;
    if (gate) {
      gate.beginEvent();
      gate.onFutures(ev.symbol, ev, ctx.now);
    }
  }

  /**
   * The instrument's book lost sync (call it when the engine sees a resync): the gate's features restart
   * their order flow and returns, and its warm-up begins again.
   */
  onResync(inst: Instrument, ctx: StrategyContext): void {
    this.gate?.onResync(inst.symbol, ctx.now);
  }

  /** Why an entry in direction `dir` must wait (momentum, volatility band, open interest, liquidations), or null. */
  private entryBlock(dir: 1 | -1, tracker: MarketTracker, inst: Instrument, ctx: StrategyContext): string | null {
    const p = this.params;
    if (p.momentumMs > 0) {
      const m = tracker.momentum(ctx.now, p.momentumMs) / inst.tickUnits;
      if (!(dir * m >= p.momentumTicks)) return `momentum ${Number.isNaN(m) ? 'unknown' : `${m.toFixed(2)} ticks`} does not confirm`;
    }
    if (p.minVolBps > 0 || p.maxVolBps > 0) {
      const v = tracker.volatilityBps();
      if (!Number.isFinite(v)) return 'volatility not known yet';
      if (v < p.minVolBps) return `volatility ${v.toFixed(2)} bp below ${p.minVolBps}`;
      if (p.maxVolBps > 0 && v > p.maxVolBps) return `volatility ${v.toFixed(2)} bp above ${p.maxVolBps}`;
    }
    const f = ctx.futures(inst.symbol);
    if (p.liqMax > 0) {
      const n = f.liquidations(p.liqWindowMs);
      if (n >= p.liqMax) return `${n} liquidations in ${p.liqWindowMs / 1000} s: cascade guard`;
    }
    if (p.oiConfirm) {
      const c = f.openInterestChange(p.oiWindowMs);
      if (c !== null && c < 0) return `open interest falling (${(c * 100).toFixed(3)}%)`;
    }
    return null;
  }

  status(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [symbol, st] of this.state) {
      const t = this.trackers.get(symbol);
      out[symbol] = { imbalance: st.lastImbalance, direction: st.direction, streak: st.streak, lastBlock: st.lastBlock, volatilityBps: t ? t.volatilityBps() : null };
    }
    return this.gate ? { symbols: out, ml: this.gate.status() } : { symbols: out };
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
        lastBlock: null,
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
