import type { L2Book } from '../../book/book.js';
import { assertNever, type EpochMs } from '../../core/types.js';
import { TradeBars } from '../../features/atr.js';
import type { TradeEvent } from '../../model/events.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../../model/instrument.js';
import type { OrderIntent } from '../../model/order.js';
import { paramsHash, type Strategy, type StrategyContext } from '../strategy.js';
import { asymptoticSize, Ema, moveCell } from './grid.js';
import { checkParams, DEFAULT_ANOMALY_PARAMS, type AnomalyParams, type ParamsError, type ParamsEvent } from './params.js';

/**
 * What the last observation of a symbol led to:
 * - seed: the first price (no ratio yet);
 * - warmup: the first cell (it seeds the EMA: no prediction yet);
 * - none: |d| below min_margin;
 * - cooldown: a signal within cooldown_ms of the last order;
 * - zero-size: a signal whose size rounds down to zero lots;
 * - at-target: the position (with working orders) is already at or beyond the target in the signal's direction;
 * - too-small: the order toward the target is below the step, the minimum quantity or the minimum notional;
 * - buy / sell: an order was sent.
 */
export type AnomalyDecision = 'seed' | 'warmup' | 'none' | 'cooldown' | 'zero-size' | 'at-target' | 'too-small' | 'buy' | 'sell';

interface SymbolState {
  /** the instrument as last seen (null for a state restored from a checkpoint, until its first trade) */
  inst: Instrument | null;
  /** 10^qtyDecimals and 10^priceDecimals of the instrument (no pow on the hot path) */
  qtyScale: number;
  priceScale: number;
  /** last price, integer price units; NaN before the first */
  prevPriceUnits: number;
  ema: Ema;
  /** time bars (source = bars), else null */
  bars: TradeBars | null;
  lastOrderAt: EpochMs;
  // the last observation, for status (updated in place: no allocation per price)
  at: EpochMs;
  priceUnits: number;
  r: number;
  cell: number;
  prediction: number;
  d: number;
  decision: AnomalyDecision;
  /** target position of the last signal, quantity units (NaN when none) */
  targetUnits: number;
}

/** One observation of a symbol as status and tests see it (decimal numbers; null for "not yet"). */
export interface AnomalyObservation {
  at: EpochMs | null;
  price: number | null;
  r: number | null;
  cell: number | null;
  prediction: number | null;
  d: number | null;
  decision: AnomalyDecision | null;
  /** signed target position of the last signal, base units */
  target: number | null;
  lastOrderAt: EpochMs | null;
  observations: number;
}

const STATE_VERSION = 1;
/** d >= min_margin and x are decided with this tolerance, so decimal ties behave as written in the docs */
const EPS = 1e-9;

/**
 * The EMA range-grid anomaly strategy (docs/strategies.md, section 2). On each new price (a trade, or the
 * close of a time bar built from trades):
 *
 *   r = price / previous price;  cell = grid cell of r;  prediction = EMA of the previous cells;
 *   d = cell - prediction;       d >= min_margin: sell;  d <= -min_margin: buy
 *   x = min(|d| / max_range, 1); size = floor(max_position × (1 - (1 - x^level)^(1/level)) / step) × step
 *
 * The size is a target position (-size for a sell, +size for a buy), and a MARKET order moves the
 * position (counting working orders) toward it, only ever in the signal's direction: a sell signal never
 * buys. So the absolute position never exceeds max_position. Parameters change only through setParams /
 * onParamsEvent: the strategy itself reads no file.
 */
export class AnomalyStrategy implements Strategy {
  readonly name = 'anomaly';
  readonly version = '0.1.0';
  private p: AnomalyParams;
  private idText: string;
  private readonly state = new Map<string, SymbolState>();
  /** the same states by instrument object: the hot path finds its state without building a key string */
  private readonly byInst = new WeakMap<Instrument, SymbolState>();
  private paramsError: ParamsError | null = null;
  private paramsSource: { path: string; contentHash: string; loadedAt: EpochMs } | null = null;

  constructor(params: AnomalyParams = DEFAULT_ANOMALY_PARAMS) {
    assertValid(params);
    this.p = params;
    this.idText = this.makeId();
  }

  /** name@version#paramsHash of the parameters in force: orders after a reload carry the new hash. */
  get id(): string {
    return this.idText;
  }
  get params(): Readonly<AnomalyParams> {
    return this.p;
  }

  /**
   * Puts a parameter set in force (validated: an invalid set is a broken invariant and throws, since
   * files are checked by parseParams before they get here). Returns false when nothing changed.
   * What it resets: a new grid (cell_width, cells) restarts the EMA (its cells meant something else); a
   * new source or bar length (when bars) also drops the previous price and the bar in progress (a ratio
   * over a different time scale). A new ema_period keeps the EMA's value and continues with the new alpha.
   * The other keys apply from the next price.
   */
  setParams(params: AnomalyParams): boolean {
    assertValid(params);
    const old = this.p;
    if (paramsHash(params) === paramsHash(old)) return false;
    const newSource = params.source !== old.source || (params.source === 'bars' && params.barMs !== old.barMs);
    const newGrid = params.cellWidth !== old.cellWidth || params.cells !== old.cells;
    for (const st of this.state.values()) {
      if (params.emaPeriod !== old.emaPeriod) {
        const saved = st.ema.saveState();
        st.ema = new Ema(params.emaPeriod);
        st.ema.loadState(saved);
      }
      if (newGrid || newSource) st.ema.reset();
      if (newSource) {
        st.prevPriceUnits = NaN;
        st.bars = params.source === 'bars' ? new TradeBars(params.barMs) : null;
      }
    }
    this.p = params;
    this.idText = this.makeId();
    return true;
  }

  /** Applies a change of the parameters file, as the engine logged it (see ParamsFile). */
  onParamsEvent(ev: ParamsEvent): void {
    switch (ev.kind) {
      case 'anomaly_params':
        this.setParams(ev.params);
        this.paramsError = null;
        this.paramsSource = { path: ev.path, contentHash: ev.contentHash, loadedAt: ev.at };
        return;
      case 'anomaly_params_error':
        // the parameters in force stay; the error shows in status until a good file replaces it
        this.paramsError = { at: ev.at, message: ev.message, errors: ev.errors };
        return;
      default:
        assertNever(ev, 'parameters event');
    }
  }

  /** The book is not used: the strategy works on trade prices. */
  onBook(_book: L2Book, _inst: Instrument, _ctx: StrategyContext): OrderIntent | null {
    return null;
  }

  onTrade(trade: TradeEvent, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    const st = this.symbolState(inst);
    if (st.bars === null) return this.onPrice(st, inst, trade.priceUnits, ctx);
    const bar = st.bars.onTrade(trade.priceUnits, trade.qtyUnits, trade.eventTime);
    return bar === null ? null : this.onPrice(st, inst, bar.close, ctx);
  }

  /**
   * A bar closed, for venues that deliver bars themselves (Alpaca's bar stream): `closeUnits` is the
   * close in integer price units. Acts whatever `source` says; the engine calls either this or onTrade
   * for a symbol, not both.
   */
  onBarClose(closeUnits: number, inst: Instrument, ctx: StrategyContext): OrderIntent | null {
    return this.onPrice(this.symbolState(inst), inst, closeUnits, ctx);
  }

  /** The last observation of a symbol, or null when it has seen no price. */
  observation(inst: Pick<Instrument, 'venue' | 'symbol'>): AnomalyObservation | null {
    const st = this.state.get(keyOf(inst));
    return st ? observationOf(st) : null;
  }

  status(): Record<string, unknown> {
    return {
      params: this.p,
      paramsHash: paramsHash(this.p),
      paramsFile: this.paramsSource,
      paramsError: this.paramsError,
      symbols: Object.fromEntries([...this.state].map(([k, st]) => [k, observationOf(st)])),
    };
  }

  saveState(): unknown {
    const symbols: Record<string, unknown> = {};
    for (const [k, st] of this.state) {
      symbols[k] = {
        prevPriceUnits: Number.isFinite(st.prevPriceUnits) ? st.prevPriceUnits : null,
        ema: st.ema.saveState(),
        bar: st.bars ? st.bars.saveState() : null,
        lastOrderAt: Number.isFinite(st.lastOrderAt) ? st.lastOrderAt : null,
      };
    }
    return { version: STATE_VERSION, grid: this.gridKey(), symbols };
  }

  /**
   * Takes back a saved state. The EMA, previous price and bar in progress are taken only when they were
   * made on the same grid and source as the parameters now in force (else the strategy warms up again);
   * the time of the last order is always taken (cooldown). What it does not understand it ignores.
   */
  loadState(state: unknown): void {
    if (!isRecord(state) || state['version'] !== STATE_VERSION || !isRecord(state['symbols'])) return;
    const sameGrid = JSON.stringify(state['grid']) === JSON.stringify(this.gridKey());
    for (const [key, v] of Object.entries(state['symbols'])) {
      if (!isRecord(v)) continue;
      let st = this.state.get(key);
      if (st === undefined) {
        st = this.fresh(null);
        this.state.set(key, st);
      }
      if (typeof v['lastOrderAt'] === 'number') st.lastOrderAt = v['lastOrderAt'];
      if (!sameGrid) continue;
      if (typeof v['prevPriceUnits'] === 'number' && v['prevPriceUnits'] > 0) st.prevPriceUnits = v['prevPriceUnits'];
      st.ema.loadState(v['ema']);
      if (st.bars && isBarState(v['bar'])) st.bars.loadState(v['bar']);
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private onPrice(st: SymbolState, inst: Instrument, priceUnits: number, ctx: StrategyContext): OrderIntent | null {
    const p = this.p;
    if (!(priceUnits > 0)) return null;
    const prev = st.prevPriceUnits;
    st.prevPriceUnits = priceUnits;
    st.at = ctx.now;
    st.priceUnits = priceUnits;
    st.targetUnits = NaN;
    if (!(prev > 0)) {
      st.r = st.cell = st.prediction = st.d = NaN;
      st.decision = 'seed';
      return null;
    }
    const cell = moveCell(prev, priceUnits, p.cellWidth, p.cells);
    const predicted = st.ema.count > 0 ? st.ema.value : NaN;
    st.ema.update(cell);
    st.r = priceUnits / prev;
    st.cell = cell;
    st.prediction = predicted;
    if (Number.isNaN(predicted)) {
      st.d = NaN;
      st.decision = 'warmup';
      return null;
    }
    const d = cell - predicted;
    st.d = d;
    // +1 buy (the price fell further than predicted), -1 sell
    const dir = d >= p.minMargin - EPS ? -1 : d <= -p.minMargin + EPS ? 1 : 0;
    if (dir === 0) {
      st.decision = 'none';
      return null;
    }
    if (ctx.now - st.lastOrderAt < p.cooldownMs) {
      st.decision = 'cooldown';
      return null;
    }
    const step = inst.stepUnits;
    // x = 1 from |d| = max_range on (within EPS: at the top of a sniper curve a hair below 1 costs lots)
    const x = Math.abs(d) >= p.maxRange - EPS ? 1 : Math.abs(d) / p.maxRange;
    const scale = st.qtyScale;
    // max_position in quantity units as it is (not rounded to the step first: the size formula rounds once)
    const size = asymptoticSize(x, p.level, p.maxPosition * scale, step);
    if (size <= 0) {
      st.decision = 'zero-size';
      return null;
    }
    const target = dir * size;
    st.targetUnits = target;
    let position = Math.round(ctx.position(inst) * scale);
    for (const o of ctx.openOrders(inst)) position += (o.side === 'BUY' ? 1 : -1) * Math.round((o.qty - o.filledQty) * scale);
    const need = (target - position) * dir; // > 0: room toward the target in the signal's direction
    if (need <= 0) {
      st.decision = 'at-target';
      return null;
    }
    let qty = need - (need % step);
    const cap = inst.marketMaxQtyUnits > 0 ? inst.marketMaxQtyUnits - (inst.marketMaxQtyUnits % step) : qty;
    if (qty > cap) qty = cap;
    if (qty < step || qty < inst.minQtyUnits || (inst.minNotional > 0 && inst.applyMinNotionalToMarket && (qty / scale) * (priceUnits / st.priceScale) < inst.minNotional)) {
      st.decision = 'too-small';
      return null;
    }
    st.lastOrderAt = ctx.now;
    st.decision = dir > 0 ? 'buy' : 'sell';
    return {
      venue: inst.venue,
      symbol: inst.symbol,
      side: dir > 0 ? 'BUY' : 'SELL',
      type: 'MARKET',
      qtyUnits: qty,
      strategy: this.idText,
      reason:
        `anomaly d=${d.toFixed(3)} cells (cell ${cell}, predicted ${predicted.toFixed(3)}, r=${st.r.toFixed(6)}), ` +
        `x=${x.toFixed(3)}, target ${qtyToNumber(inst, target)} (position ${qtyToNumber(inst, position)})`,
      createdAt: ctx.now,
    };
  }

  private symbolState(inst: Instrument): SymbolState {
    let st = this.byInst.get(inst);
    if (st !== undefined) return st;
    const key = keyOf(inst);
    st = this.state.get(key);
    if (st === undefined) {
      st = this.fresh(inst);
      this.state.set(key, st);
    } else {
      // restored by loadState before the instrument was seen, or a new Instrument object
      st.inst = inst;
      st.qtyScale = 10 ** inst.qtyDecimals;
      st.priceScale = 10 ** inst.priceDecimals;
    }
    this.byInst.set(inst, st);
    return st;
  }

  private fresh(inst: Instrument | null): SymbolState {
    return {
      inst,
      qtyScale: inst ? 10 ** inst.qtyDecimals : 1,
      priceScale: inst ? 10 ** inst.priceDecimals : 1,
      prevPriceUnits: NaN,
      ema: new Ema(this.p.emaPeriod),
      bars: this.p.source === 'bars' ? new TradeBars(this.p.barMs) : null,
      lastOrderAt: -Infinity,
      at: NaN,
      priceUnits: NaN,
      r: NaN,
      cell: NaN,
      prediction: NaN,
      d: NaN,
      decision: 'seed',
      targetUnits: NaN,
    };
  }

  /** What a saved EMA / previous price / bar depends on. */
  private gridKey(): Record<string, unknown> {
    const p = this.p;
    return { cellWidth: p.cellWidth, cells: p.cells, source: p.source, barMs: p.source === 'bars' ? p.barMs : null };
  }

  private makeId(): string {
    return `${this.name}@${this.version}#${paramsHash(this.p)}`;
  }
}

function keyOf(inst: Pick<Instrument, 'venue' | 'symbol'>): string {
  return `${inst.venue}:${inst.symbol}`;
}

function assertValid(p: AnomalyParams): void {
  const errors = checkParams(p);
  if (errors.length > 0) throw new RangeError(`invalid anomaly parameters: ${errors.join('; ')}`);
}

function fin(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function observationOf(st: SymbolState): AnomalyObservation {
  const inst = st.inst;
  return {
    at: fin(st.at),
    price: inst && st.priceUnits > 0 ? priceToNumber(inst, st.priceUnits) : null,
    r: fin(st.r),
    cell: fin(st.cell),
    prediction: fin(st.prediction),
    d: fin(st.d),
    decision: Number.isFinite(st.at) ? st.decision : null,
    target: inst && Number.isFinite(st.targetUnits) ? qtyToNumber(inst, st.targetUnits) : null,
    lastOrderAt: fin(st.lastOrderAt),
    observations: st.ema.count,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type BarState = ReturnType<TradeBars['saveState']>;
function isBarState(v: unknown): v is BarState {
  if (!isRecord(v) || !isRecord(v['cur'])) return false;
  const cur = v['cur'];
  return ['start', 'open', 'high', 'low', 'close', 'volume'].every((k) => cur[k] === null || typeof cur[k] === 'number');
}
