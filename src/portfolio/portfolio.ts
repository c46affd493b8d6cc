/**
 * Portfolio accounting: cash, signed positions with average entry, realized / unrealized P&L,
 * fees and round trips. Pure and synchronous: fills and marks in, state out. Time only arrives
 * with the fills and with `snapshot(time)`.
 */
import { instrumentKey, sideSign, type EpochMs, type InstrumentKey, type Venue } from '../core/types.js';
import type { Fill } from '../model/order.js';

export interface Position {
  venue: Venue;
  symbol: string;
  /** signed base units: + long, - short, 0 flat */
  qty: number;
  /** average entry price of the open position; 0 when flat */
  avgEntry: number;
  /** gross realized P&L of this symbol over the whole session */
  realizedPnl: number;
  /** all fees paid on this symbol (quote currency) */
  fees: number;
  /** last mark price, NaN if never marked */
  mark: number;
  /** time the current position was opened, null when flat */
  openedAt: EpochMs | null;
}

export type TripDirection = 'LONG' | 'SHORT';
export type TripStatus = 'OPEN' | 'CLOSED';

export interface RoundTrip {
  /** `${venue}:${symbol}:${n}`, n counting from 1 per instrument */
  id: string;
  venue: Venue;
  symbol: string;
  /** strategy of the opening fill */
  strategy: string;
  direction: TripDirection;
  status: TripStatus;
  /** largest absolute size reached */
  qty: number;
  /** average entry price */
  entryPrice: number;
  /** average price of the closing fills, null before the first one */
  exitPrice: number | null;
  openedAt: EpochMs;
  closedAt: EpochMs | null;
  /** gross, from the closing fills */
  realizedPnl: number;
  /** fees of all fills of the trip, opening and closing (a flip's fee is split by quantity) */
  fees: number;
  /** realizedPnl - fees */
  netPnl: number;
  /** fills that touched the trip (a flip counts in both trips) */
  fills: number;
}

export interface AccountSnapshot {
  time: EpochMs;
  cash: number;
  equity: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  initialCash: number;
  /** Σ |qty · mark| */
  grossExposure: number;
}

export interface FillResult {
  /** gross realized P&L of the fill (its closing part) */
  realizedPnl: number;
  /** trips opened, updated or closed by the fill: 1, or 2 for a flip (the closed trip, then the new one) */
  trips: RoundTrip[];
}

/** Everything a Portfolio holds, as plain JSON (NaN written as null): checkpoints and restarts. */
/** How many closed round trips a portfolio keeps in memory at least (it keeps up to twice as many). */
export const CLOSED_KEPT = 1000;

export interface PortfolioState {
  initialCash: number;
  cash: number;
  realizedPnl: number;
  fees: number;
  instruments: {
    pos: Omit<Position, 'mark'> & { mark: number | null };
    lastPrice: number | null;
    tripSeq: number;
    trip: (RoundTrip & { exitQty: number; exitNotional: number }) | null;
  }[];
  closed: (RoundTrip & { exitQty: number; exitNotional: number })[];
}

const nanToNull = (x: number): number | null => (Number.isNaN(x) ? null : x);
const nullToNan = (x: number | null): number => (x === null ? Number.NaN : x);

interface TripState extends RoundTrip {
  exitQty: number;
  exitNotional: number;
}

interface Instrument {
  pos: Position;
  lastPrice: number;
  tripSeq: number;
  trip: TripState | null;
}

/**
 * Relative tolerance under which a residual quantity counts as zero, so that decimal dust
 * (0.1 + 0.2 - 0.3) closes a position instead of leaving a 5e-17 one open forever.
 */
const QTY_EPS = 1e-9;

function copyTrip(t: TripState): RoundTrip {
  return {
    id: t.id, venue: t.venue, symbol: t.symbol, strategy: t.strategy, direction: t.direction, status: t.status,
    qty: t.qty, entryPrice: t.entryPrice, exitPrice: t.exitPrice, openedAt: t.openedAt, closedAt: t.closedAt,
    realizedPnl: t.realizedPnl, fees: t.fees, netPnl: t.netPnl, fills: t.fills,
  };
}

/** The price a position is valued at: its mark, else its average entry, else the last fill price. */
function valuationPrice(inst: Instrument): number {
  const { pos } = inst;
  if (Number.isFinite(pos.mark)) return pos.mark;
  if (pos.qty !== 0) return pos.avgEntry;
  return inst.lastPrice;
}

export class Portfolio {
  readonly initialCash: number;
  private cashBalance: number;
  private totalRealized = 0;
  private totalFees = 0;
  private readonly instruments = new Map<InstrumentKey, Instrument>();
  /** marks received for instruments that have not traded yet */
  private readonly pendingMarks = new Map<InstrumentKey, number>();
  /** the most recent closed trips (CLOSED_KEPT to twice that; the database keeps every one) */
  private readonly closed: TripState[] = [];

  constructor(initialCash: number) {
    if (!Number.isFinite(initialCash)) throw new Error(`initial cash must be finite, got ${initialCash}`);
    this.initialCash = initialCash;
    this.cashBalance = initialCash;
  }

  get cash(): number {
    return this.cashBalance;
  }

  /** The whole state as JSON-safe data; `Portfolio.fromState` gives back an identical portfolio. */
  toState(): PortfolioState {
    return {
      initialCash: this.initialCash,
      cash: this.cashBalance,
      realizedPnl: this.totalRealized,
      fees: this.totalFees,
      instruments: [...this.instruments.values()].map((i) => ({
        pos: { ...i.pos, mark: nanToNull(i.pos.mark) },
        lastPrice: nanToNull(i.lastPrice),
        tripSeq: i.tripSeq,
        trip: i.trip ? { ...i.trip } : null,
      })),
      closed: this.closed.map((t) => ({ ...t })),
    };
  }

  static fromState(s: PortfolioState): Portfolio {
    const p = new Portfolio(s.initialCash);
    p.cashBalance = s.cash;
    p.totalRealized = s.realizedPnl;
    p.totalFees = s.fees;
    for (const i of s.instruments) {
      p.instruments.set(instrumentKey(i.pos.venue, i.pos.symbol), {
        pos: { ...i.pos, mark: nullToNan(i.pos.mark) },
        lastPrice: nullToNan(i.lastPrice),
        tripSeq: i.tripSeq,
        trip: i.trip ? { ...i.trip } : null,
      });
    }
    for (const t of s.closed) p.closed.push({ ...t });
    return p;
  }
  /** gross realized P&L of the session */
  get realizedPnl(): number {
    return this.totalRealized;
  }
  get fees(): number {
    return this.totalFees;
  }

  /** Books a fill: cash, position, realized P&L, round trips. Also sets `fill.realizedPnl`. */
  applyFill(fill: Fill): FillResult {
    if (!(fill.qty > 0) || !Number.isFinite(fill.qty)) throw new Error(`fill ${fill.id}: qty must be a positive number, got ${fill.qty}`);
    if (!(fill.price > 0) || !Number.isFinite(fill.price)) throw new Error(`fill ${fill.id}: price must be a positive number, got ${fill.price}`);
    if (!Number.isFinite(fill.fee)) throw new Error(`fill ${fill.id}: fee must be finite, got ${fill.fee}`);

    const inst = this.instrument(fill.venue, fill.symbol);
    const { pos } = inst;
    const s = sideSign(fill.side);
    const q = fill.qty;
    const p = fill.price;
    const f = fill.fee;

    this.cashBalance -= s * p * q + f;
    pos.fees += f;
    this.totalFees += f;
    inst.lastPrice = p;

    const q0 = pos.qty;
    const trips: RoundTrip[] = [];
    let realized = 0;

    if (q0 === 0 || Math.sign(q0) === s) {
      // open or increase
      const abs0 = Math.abs(q0);
      pos.avgEntry = q0 === 0 ? p : (abs0 * pos.avgEntry + q * p) / (abs0 + q);
      pos.qty = q0 + s * q;
      if (q0 === 0) {
        pos.openedAt = fill.time;
        trips.push(copyTrip(this.startTrip(inst, fill, q, f)));
      } else {
        const trip = this.requireTrip(inst);
        trip.entryPrice = pos.avgEntry;
        trip.qty = Math.max(trip.qty, Math.abs(pos.qty));
        trip.fees += f;
        trip.fills += 1;
        trip.netPnl = trip.realizedPnl - trip.fees;
        trips.push(copyTrip(trip));
      }
    } else {
      // reduce, close, or flip through zero
      const abs0 = Math.abs(q0);
      const closesAll = q >= abs0 || Math.abs(q - abs0) <= QTY_EPS * Math.max(q, abs0);
      const closeQty = closesAll ? abs0 : q;
      const remainder = closesAll ? Math.max(0, q - abs0) : 0;
      const flips = remainder > QTY_EPS * q;
      const closeFee = flips ? (f * closeQty) / q : f;
      realized = (p - pos.avgEntry) * closeQty * Math.sign(q0);

      const trip = this.requireTrip(inst);
      trip.realizedPnl += realized;
      trip.exitQty += closeQty;
      trip.exitNotional += closeQty * p;
      trip.exitPrice = trip.exitNotional / trip.exitQty;
      trip.fees += closeFee;
      trip.fills += 1;
      trip.netPnl = trip.realizedPnl - trip.fees;

      if (closesAll) {
        trip.status = 'CLOSED';
        trip.closedAt = fill.time;
        this.closed.push(trip);
        // a session of weeks closes millions: only the recent ones stay in memory (amortized O(1))
        if (this.closed.length > 2 * CLOSED_KEPT) this.closed.splice(0, this.closed.length - CLOSED_KEPT);
        inst.trip = null;
        trips.push(copyTrip(trip));
        pos.qty = 0;
        pos.avgEntry = 0;
        pos.openedAt = null;
        if (flips) {
          pos.qty = s * remainder;
          pos.avgEntry = p;
          pos.openedAt = fill.time;
          trips.push(copyTrip(this.startTrip(inst, fill, remainder, f - closeFee)));
        }
      } else {
        pos.qty = q0 + s * q;
        trips.push(copyTrip(trip));
      }
    }

    pos.realizedPnl += realized;
    this.totalRealized += realized;
    fill.realizedPnl = realized;
    return { realizedPnl: realized, trips };
  }

  /** Sets the mark price of an instrument; the basis of its unrealized P&L and exposure. */
  mark(venue: Venue, symbol: string, price: number): void {
    if (!(price > 0) || !Number.isFinite(price)) throw new Error(`mark ${venue}:${symbol}: price must be a positive number, got ${price}`);
    const key = instrumentKey(venue, symbol);
    const inst = this.instruments.get(key);
    if (inst) inst.pos.mark = price;
    else this.pendingMarks.set(key, price);
  }

  position(venue: Venue, symbol: string): Position | undefined {
    const inst = this.instruments.get(instrumentKey(venue, symbol));
    return inst ? { ...inst.pos } : undefined;
  }

  /** Every instrument that ever traded: open positions first, then flat ones, each in first-trade order. */
  positions(): Position[] {
    const all = [...this.instruments.values()];
    const open = all.filter((i) => i.pos.qty !== 0);
    const flat = all.filter((i) => i.pos.qty === 0);
    return [...open, ...flat].map((i) => ({ ...i.pos }));
  }

  openTrip(venue: Venue, symbol: string): RoundTrip | undefined {
    const trip = this.instruments.get(instrumentKey(venue, symbol))?.trip;
    return trip ? copyTrip(trip) : undefined;
  }

  /** The most recent closed round trips (at least the last CLOSED_KEPT), in the order they closed; the store has them all. */
  closedTrips(): RoundTrip[] {
    return this.closed.map(copyTrip);
  }

  /** Open round trips, in first-trade order of their instruments. */
  openTrips(): RoundTrip[] {
    const out: RoundTrip[] = [];
    for (const inst of this.instruments.values()) if (inst.trip) out.push(copyTrip(inst.trip));
    return out;
  }

  snapshot(time: EpochMs): AccountSnapshot {
    let value = 0;
    let unrealized = 0;
    let gross = 0;
    for (const inst of this.instruments.values()) {
      const { qty, avgEntry } = inst.pos;
      if (qty === 0) continue;
      const px = valuationPrice(inst);
      value += qty * px;
      unrealized += (px - avgEntry) * qty;
      gross += Math.abs(qty * px);
    }
    return {
      time,
      cash: this.cashBalance,
      equity: this.cashBalance + value,
      realizedPnl: this.totalRealized,
      unrealizedPnl: unrealized,
      fees: this.totalFees,
      initialCash: this.initialCash,
      grossExposure: gross,
    };
  }

  private instrument(venue: Venue, symbol: string): Instrument {
    const key = instrumentKey(venue, symbol);
    let inst = this.instruments.get(key);
    if (!inst) {
      const mark = this.pendingMarks.get(key) ?? Number.NaN;
      this.pendingMarks.delete(key);
      inst = {
        pos: { venue, symbol, qty: 0, avgEntry: 0, realizedPnl: 0, fees: 0, mark, openedAt: null },
        lastPrice: Number.NaN,
        tripSeq: 0,
        trip: null,
      };
      this.instruments.set(key, inst);
    }
    return inst;
  }

  private startTrip(inst: Instrument, fill: Fill, qty: number, fee: number): TripState {
    inst.tripSeq += 1;
    const trip: TripState = {
      id: `${fill.venue}:${fill.symbol}:${inst.tripSeq}`,
      venue: fill.venue,
      symbol: fill.symbol,
      strategy: fill.strategy,
      direction: fill.side === 'BUY' ? 'LONG' : 'SHORT',
      status: 'OPEN',
      qty,
      entryPrice: fill.price,
      exitPrice: null,
      openedAt: fill.time,
      closedAt: null,
      realizedPnl: 0,
      fees: fee,
      netPnl: -fee,
      fills: 1,
      exitQty: 0,
      exitNotional: 0,
    };
    inst.trip = trip;
    return trip;
  }

  private requireTrip(inst: Instrument): TripState {
    if (!inst.trip) throw new Error(`${inst.pos.venue}:${inst.pos.symbol}: open position without an open round trip`);
    return inst.trip;
  }
}
