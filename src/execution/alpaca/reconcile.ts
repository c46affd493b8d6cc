/**
 * Reconciliation of the engine's view of its Alpaca orders and positions with Alpaca's own (after a restart,
 * a dropped trade_updates stream, or an `uncertain` submit). `reconcile` is pure: it compares two snapshots
 * and says what differs and what the engine should apply; `gatherAlpacaState` fetches Alpaca's snapshot.
 *
 * Orders are matched by client_order_id (`clientOrderIdFor(engine order id)`, as the trading client sends it).
 * Quantities and prices are compared exactly: Alpaca's decimal strings become bigints in units of 1e-9 (the
 * simulator's fixed-point helpers); the engine's numbers are rounded to that grid first.
 */
import type { Side } from '../../core/types.js';
import { fmtDec, parseDec, Q } from '../../marketdata/alpaca/sim/fixed.js';
import { isTerminal, type OrderStatus } from '../../model/order.js';
import type { AlpacaOrder, AlpacaPosition } from './decode.js';
import { clientOrderIdFor, type AlpacaTradingClient, type TradingResult } from './trading.js';

/** What reconcile needs of an engine order (an `Order` fits). Quantities: base units, prices: quote. */
export interface OurOrder {
  readonly id: string;
  readonly symbol: string;
  readonly side: Side;
  readonly status: OrderStatus;
  readonly filledQty: number | string;
  /** average fill price (0 or anything when nothing is filled) */
  readonly avgPrice: number | string;
}

/** An engine position: signed quantity (negative = short), symbol as the engine writes it (DOGE/USD). */
export interface OurPosition {
  readonly symbol: string;
  readonly qty: number | string;
}

export interface Ours {
  orders: readonly OurOrder[];
  positions: readonly OurPosition[];
}

/**
 * Alpaca's snapshot: its open orders plus, for every engine order it does not list as open, that order as
 * fetched by client_order_id (see gatherAlpacaState); and all its positions.
 */
export interface Theirs {
  orders: readonly AlpacaOrder[];
  positions: readonly AlpacaPosition[];
}

export type Difference =
  /** open at Alpaca, unknown to the engine: `lost` when its client_order_id has our `pt-` prefix, else `foreign` */
  | { kind: 'unknownOrder'; origin: 'lost' | 'foreign'; alpacaOrderId: string; clientOrderId: string; symbol: string; status: string; qty: string | null; filledQty: string }
  /** the engine thinks it open; Alpaca has ended it */
  | { kind: 'endedAtVenue'; orderId: string; alpacaOrderId: string; ourStatus: OrderStatus; status: OrderStatus; alpacaStatus: string; filledQty: string; avgPrice: string | null }
  /** the engine thinks it ended; Alpaca still has it open (a cancel that never landed) */
  | { kind: 'openAtVenue'; orderId: string; alpacaOrderId: string; ourStatus: OrderStatus; alpacaStatus: string }
  /** filled quantities differ (`theirs` > `ours`: missed fills; `ours` > `theirs`: the engine counted fills Alpaca does not have) */
  | { kind: 'filledQtyMismatch'; orderId: string; alpacaOrderId: string; ours: string; theirs: string; theirAvgPrice: string | null }
  /** an engine order Alpaca does not know as open, and that was not fetched by client_order_id */
  | { kind: 'notFoundAtVenue'; orderId: string; clientOrderId: string; ourStatus: OrderStatus }
  /** position sizes differ; `explainedByFills` when the missing fills found above account for all of it */
  | { kind: 'positionMismatch'; symbol: string; ours: string; theirs: string; explainedByFills: boolean };

export type Correction =
  /** book a fill the engine missed (applied before any endOrder of the same order) */
  | { kind: 'applyFill'; orderId: string; symbol: string; side: Side; qty: string; price: string }
  /** move the order to its final status (filled qty and average price as Alpaca has them) */
  | { kind: 'endOrder'; orderId: string; status: OrderStatus; filledQty: string; avgPrice: string | null }
  /** set the engine's position to Alpaca's (after the fills above) */
  | { kind: 'adoptPosition'; symbol: string; qty: string }
  /** cancel an order at Alpaca: ours but no longer tracked, or one we already consider ended */
  | { kind: 'cancelAtVenue'; alpacaOrderId: string; clientOrderId: string; reason: string }
  /** fetch this order by client_order_id (`gatherAlpacaState` does) and reconcile again */
  | { kind: 'lookUpOrder'; orderId: string; clientOrderId: string };

export interface Reconciliation {
  differences: Difference[];
  corrections: Correction[];
}

/** Alpaca statuses after which an order never fills again, as the engine's status. */
const ENDED: Record<string, OrderStatus> = {
  filled: 'FILLED',
  canceled: 'CANCELED',
  expired: 'EXPIRED',
  rejected: 'REJECTED',
  // replaced: this order id is over (the engine never replaces, so someone else did); its remainder lives on elsewhere
  replaced: 'CANCELED',
};

/** The engine status of an Alpaca order that has ended, or null while it can still fill (done_for_day, held, ...). */
export function endedStatus(alpacaStatus: string): OrderStatus | null {
  return ENDED[alpacaStatus] ?? null;
}

const OUR_PREFIX = 'pt-';

/** Position key: Alpaca writes crypto positions without the slash (DOGEUSD for DOGE/USD). */
export function positionKey(symbol: string): string {
  return symbol.replace('/', '').toUpperCase();
}

/** Signed decimal (string or engine number) -> bigint of 1e-9 units; throws on text that is not a decimal. */
export function toUnits(v: number | string): bigint {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite quantity: ${v}`);
    return BigInt(Math.round(v * 1e9));
  }
  let s = v.trim();
  const neg = s.startsWith('-');
  if (neg || s.startsWith('+')) s = s.slice(1);
  if (/e/i.test(s)) s = Number(s).toFixed(Q);
  const u = parseDec(s, Q);
  if (u === undefined) throw new RangeError(`not a decimal with at most ${Q} decimals: ${JSON.stringify(v)}`);
  return neg ? -u : u;
}

/** Alpaca's signed position size (short positions may come as a positive qty with side 'short'). */
function theirPositionUnits(p: AlpacaPosition): bigint {
  const u = toUnits(p.qty);
  return p.side === 'short' && u > 0n ? -u : u;
}

/** round(a / b) for b > 0 */
function divRound(a: bigint, b: bigint): bigint {
  const q = a / b;
  const r = a % b;
  if (2n * (r < 0n ? -r : r) >= b) return a < 0n ? q - 1n : q + 1n;
  return q;
}

/**
 * Compares the engine's orders and positions with Alpaca's. Pure and deterministic: differences and
 * corrections come in the order of `ours.orders`, then Alpaca's unknown orders, then positions by symbol.
 */
export function reconcile(ours: Ours, theirs: Theirs): Reconciliation {
  const differences: Difference[] = [];
  const corrections: Correction[] = [];
  const byCid = new Map<string, AlpacaOrder>();
  for (const o of theirs.orders) {
    const prev = byCid.get(o.client_order_id);
    // the same order listed twice (open list + lookup): keep the most advanced view
    if (!prev || (prev.updated_at ?? prev.created_at) <= (o.updated_at ?? o.created_at)) byCid.set(o.client_order_id, o);
  }
  const known = new Set<string>();
  /** signed fill units the corrections add per position key */
  const fillDelta = new Map<string, bigint>();

  for (const o of ours.orders) {
    const cid = clientOrderIdFor(o.id);
    known.add(cid);
    const a = byCid.get(cid);
    const ended = isTerminal(o.status);
    if (!a) {
      if (!ended) {
        differences.push({ kind: 'notFoundAtVenue', orderId: o.id, clientOrderId: cid, ourStatus: o.status });
        corrections.push({ kind: 'lookUpOrder', orderId: o.id, clientOrderId: cid });
      }
      continue;
    }
    const ourFilled = toUnits(o.filledQty);
    const theirFilled = toUnits(a.filled_qty);
    if (ourFilled !== theirFilled) {
      differences.push({ kind: 'filledQtyMismatch', orderId: o.id, alpacaOrderId: a.id, ours: fmtDec(ourFilled), theirs: fmtDec(theirFilled), theirAvgPrice: a.filled_avg_price });
      if (theirFilled > ourFilled && a.filled_avg_price !== null) {
        // the missing part's own price: Alpaca's money minus the engine's, over the missing qty
        const missing = theirFilled - ourFilled;
        const money = theirFilled * toUnits(a.filled_avg_price) - ourFilled * (ourFilled === 0n ? 0n : toUnits(o.avgPrice));
        const price = divRound(money, missing);
        corrections.push({ kind: 'applyFill', orderId: o.id, symbol: o.symbol, side: o.side, qty: fmtDec(missing), price: fmtDec(price < 0n ? 0n : price) });
        const k = positionKey(o.symbol);
        fillDelta.set(k, (fillDelta.get(k) ?? 0n) + (o.side === 'BUY' ? missing : -missing));
      }
    }
    const theirEnd = endedStatus(a.status);
    if (!ended && theirEnd !== null) {
      differences.push({ kind: 'endedAtVenue', orderId: o.id, alpacaOrderId: a.id, ourStatus: o.status, status: theirEnd, alpacaStatus: a.status, filledQty: a.filled_qty, avgPrice: a.filled_avg_price });
      corrections.push({ kind: 'endOrder', orderId: o.id, status: theirEnd, filledQty: a.filled_qty, avgPrice: a.filled_avg_price });
    } else if (ended && theirEnd === null) {
      differences.push({ kind: 'openAtVenue', orderId: o.id, alpacaOrderId: a.id, ourStatus: o.status, alpacaStatus: a.status });
      corrections.push({ kind: 'cancelAtVenue', alpacaOrderId: a.id, clientOrderId: cid, reason: `engine has it ${o.status}` });
    }
  }

  for (const a of theirs.orders) {
    if (known.has(a.client_order_id) || endedStatus(a.status) !== null) continue;
    if (byCid.get(a.client_order_id) !== a) continue; // a duplicate row of the same order
    const origin = a.client_order_id.startsWith(OUR_PREFIX) ? 'lost' : 'foreign';
    differences.push({ kind: 'unknownOrder', origin, alpacaOrderId: a.id, clientOrderId: a.client_order_id, symbol: a.symbol, status: a.status, qty: a.qty, filledQty: a.filled_qty });
    // an order of ours nothing manages any more is canceled; a foreign one (placed by hand) is only reported
    if (origin === 'lost') corrections.push({ kind: 'cancelAtVenue', alpacaOrderId: a.id, clientOrderId: a.client_order_id, reason: 'order of ours the engine does not track' });
  }

  // the engine's spelling of a symbol (DOGE/USD) wins over a position's (DOGEUSD); Alpaca's orders keep the slash
  const names = new Map<string, string>();
  for (const s of [...ours.positions.map((p) => p.symbol), ...ours.orders.map((o) => o.symbol), ...theirs.orders.map((o) => o.symbol)])
    if (!names.has(positionKey(s))) names.set(positionKey(s), s);
  const pos = new Map<string, { symbol: string; ours: bigint; theirs: bigint }>();
  for (const p of ours.positions) {
    const k = positionKey(p.symbol);
    const e = pos.get(k) ?? { symbol: p.symbol, ours: 0n, theirs: 0n };
    e.ours += toUnits(p.qty);
    pos.set(k, e);
  }
  for (const p of theirs.positions) {
    const k = positionKey(p.symbol);
    const e = pos.get(k) ?? { symbol: names.get(k) ?? p.symbol, ours: 0n, theirs: 0n };
    e.theirs += theirPositionUnits(p);
    pos.set(k, e);
  }
  for (const k of [...pos.keys()].sort()) {
    const e = pos.get(k)!;
    if (e.ours === e.theirs) continue;
    const after = e.ours + (fillDelta.get(k) ?? 0n);
    const explainedByFills = after === e.theirs;
    differences.push({ kind: 'positionMismatch', symbol: e.symbol, ours: fmtDec(e.ours), theirs: fmtDec(e.theirs), explainedByFills });
    if (!explainedByFills) corrections.push({ kind: 'adoptPosition', symbol: e.symbol, qty: fmtDec(e.theirs) });
  }

  // fills first, then final statuses, then positions, then venue actions, then lookups
  const rank: Record<Correction['kind'], number> = { applyFill: 0, endOrder: 1, adoptPosition: 2, cancelAtVenue: 3, lookUpOrder: 4 };
  const sorted = corrections.map((c, i) => ({ c, i })).sort((x, y) => rank[x.c.kind] - rank[y.c.kind] || x.i - y.i).map((x) => x.c);
  return { differences, corrections: sorted };
}

/**
 * Alpaca's snapshot for `reconcile`: open orders, positions, and every engine order that is open in the engine
 * but not in Alpaca's open list, fetched by client_order_id (a 404 leaves it out: reconcile then reports it
 * `notFoundAtVenue`). Fails on the first error other than a 404.
 */
export async function gatherAlpacaState(client: AlpacaTradingClient, ours: Ours): Promise<TradingResult<Theirs>> {
  const open = await client.listOpenOrders();
  if (!open.ok) return open;
  const positions = await client.listPositions();
  if (!positions.ok) return positions;
  const orders = [...open.value];
  const listed = new Set(orders.map((o) => o.client_order_id));
  for (const o of ours.orders) {
    if (isTerminal(o.status)) continue;
    const cid = clientOrderIdFor(o.id);
    if (listed.has(cid)) continue;
    const r = await client.getOrderByClientId(cid);
    if (r.ok) orders.push(r.value);
    else if (r.code !== 'not_found') return r;
  }
  return { ok: true, value: { orders, positions: positions.value } };
}
