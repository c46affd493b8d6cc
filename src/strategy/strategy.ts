import { createHash } from 'node:crypto';
import type { L2Book } from '../book/book.js';
import type { EpochMs } from '../core/types.js';
import type { LiquidationEvent, MarkPriceEvent, OpenInterestEvent, TradeEvent } from '../model/events.js';
import type { Instrument } from '../model/instrument.js';
import type { Order, OrderIntent } from '../model/order.js';

/** USD-M futures data for a symbol, as the engine has seen it (engine time). */
export interface FuturesView {
  fundingRate: number | null;
  openInterest: number | null;
  /** relative change of open interest over the last `windowMs` (null: not enough samples) */
  openInterestChange(windowMs: number): number | null;
  /** liquidations received in the last `windowMs` */
  liquidations(windowMs: number): number;
}

/** The USD-M futures events a strategy may be given (`Strategy.onFutures`). */
export type FuturesEvent = MarkPriceEvent | LiquidationEvent | OpenInterestEvent;

/** What a strategy may look at besides the book: no I/O, no wall clock. */
export interface StrategyContext {
  readonly now: EpochMs;
  /** signed position in base units (fills the strategy has been told about) */
  position(inst: Instrument): number;
  /** the open position: signed quantity, average entry, when it was opened (null when flat) */
  positionInfo(inst: Instrument): { qty: number; avgEntry: number; openedAt: EpochMs | null };
  /** USD-M data for a symbol (funding, open interest, liquidations) */
  futures(symbol: string): FuturesView;
  /** the strategy's orders on this instrument that are still working (sent, not yet ended) */
  openOrders(inst: Instrument): readonly Order[];
  /** asks the exchange to cancel an order; the answer comes back later through onOrderUpdate */
  cancel(orderId: string): void;
}

/** A deterministic decision function: market state in, order intents out. */
export interface Strategy {
  readonly name: string;
  readonly version: string;
  /** name@version#paramsHash: recorded on every order and fill */
  readonly id: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** the instrument's book changed (every applied diff of the traded venue) */
  onBook(book: L2Book, inst: Instrument, ctx: StrategyContext): OrderIntent | null;
  /** a trade printed on the traded venue (strategies that work on prices or bars built from trades) */
  onTrade?(trade: TradeEvent, inst: Instrument, ctx: StrategyContext): OrderIntent | null;
  /**
   * USD-M futures context of the strategy's symbol `ev.symbol` (mark price and funding, a liquidation, open
   * interest), at engine time `ctx.now` (the receive time, as `papertape dataset` feeds its FeatureEngine).
   * Futures data of USD-M symbol X applies to the traded symbol X (spot BTCUSDT is traded with USD-M BTCUSDT).
   */
  onFutures?(ev: FuturesEvent, ctx: StrategyContext): void;
  /** facts for /status (e.g. a parameter file that failed to load) */
  status?(): Record<string, unknown>;
  /** the instrument's book left the synced state (a gap, a resync): its book-derived state is stale */
  onResync?(inst: Instrument, ctx: StrategyContext): void;
  /** an order of this strategy changed (acknowledged, filled, canceled, ...), after the response latency */
  onOrderUpdate?(order: Order, ctx: StrategyContext): void;
  /** its state as JSON-safe data, for checkpoints (restarts continue from it) */
  saveState?(): unknown;
  /** takes back a saved state; ignores what it does not understand */
  loadState?(state: unknown): void;
}

/** Short stable hash of a parameter set, so two runs with different parameters never share an id. */
export function paramsHash(params: Readonly<Record<string, unknown>>): string {
  const canonical = JSON.stringify(Object.keys(params).sort().map((k) => [k, params[k]]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}
