import type { EpochMs, Venue } from '../core/types.js';

/**
 * One depth diff, decoded onto the instrument's integer grid. Level arrays are views the decoder may
 * reuse for the next message: a consumer that keeps a diff (the sync buffer) must copy it.
 */
export interface DepthDiff {
  readonly kind: 'depth';
  venue: Venue;
  symbol: string;
  /** exchange event time */
  eventTime: EpochMs;
  /** local receive time */
  recvTime: EpochMs;
  firstId: number; // U
  lastId: number; // u
  /** pu (USD-M only; -1 on spot) */
  prevLastId: number;
  bidCount: number;
  askCount: number;
  /** interleaved [price, qty, price, qty, ...] in integer units */
  bids: Float64Array;
  asks: Float64Array;
  /**
   * Levels of the message not in `bids`/`asks` yet (a large message decoded lazily: its best levels first);
   * null or absent when the arrays hold every level. See `DeferredLevels`.
   */
  rest?: DeferredLevels | null;
}

/** Where deferred levels go: one book's two sides (`set` of an absolute quantity, 0 removes). */
export interface LevelTarget {
  readonly bids: { set(price: number, qty: number): void };
  readonly asks: { set(price: number, qty: number): void };
}

/**
 * The levels of a large depth message that come after its best ones, not decoded yet. The decoder parses the
 * best levels of each side into the diff and defers the rest; every deferred level lies at or below its
 * side's frontier (the best deferred price), so once the decoded levels are applied, every level better
 * than the frontier is final and can be read before the rest is decoded (`L2Book` settles the rest at the
 * first read that is not). Owned by the decoder and valid until its next message.
 */
export interface DeferredLevels {
  /** price (units) of the best deferred bid / ask; NaN when that side has none deferred */
  readonly bidFrontier: number;
  readonly askFrontier: number;
  /** the book applied the decoded levels and will call `applyTo` when it settles */
  attach(book: { settle(): void }): void;
  /** the book was cleared before it settled: nothing of this message is to be applied any more */
  detach(): void;
  /** decodes the deferred levels and applies them to `target`, after the decoded ones */
  applyTo(target: LevelTarget): void;
  /** puts every level of the message, in message order, into the diff's arrays (nothing applied): false when malformed */
  materialize(): boolean;
  /** the message is done with: settles the book it was applied to, or checks the levels never applied; false when malformed */
  finish(): boolean;
}

export interface DepthSnapshot {
  readonly kind: 'snapshot';
  venue: Venue;
  symbol: string;
  lastUpdateId: number;
  recvTime: EpochMs;
  bids: Float64Array; // interleaved price, qty, best first
  asks: Float64Array;
}

export interface TradeEvent {
  readonly kind: 'trade';
  venue: Venue;
  symbol: string;
  eventTime: EpochMs;
  recvTime: EpochMs;
  tradeId: number;
  priceUnits: number;
  qtyUnits: number;
  /** true when the buyer was the maker, i.e. the aggressor sold */
  buyerIsMaker: boolean;
}

export interface BookTickerEvent {
  readonly kind: 'bookTicker';
  venue: Venue;
  symbol: string;
  recvTime: EpochMs;
  updateId: number;
  bidPriceUnits: number;
  bidQtyUnits: number;
  askPriceUnits: number;
  askQtyUnits: number;
}

export interface MarkPriceEvent {
  readonly kind: 'markPrice';
  venue: 'usdm';
  symbol: string;
  eventTime: EpochMs;
  recvTime: EpochMs;
  markPrice: number;
  indexPrice: number;
  fundingRate: number;
  nextFundingTime: EpochMs;
}

export interface LiquidationEvent {
  readonly kind: 'liquidation';
  venue: 'usdm';
  symbol: string;
  eventTime: EpochMs;
  recvTime: EpochMs;
  side: 'BUY' | 'SELL';
  price: number;
  qty: number;
}

export interface OpenInterestEvent {
  readonly kind: 'openInterest';
  venue: 'usdm';
  symbol: string;
  time: EpochMs;
  recvTime: EpochMs;
  openInterest: number;
}

export type MarketEvent =
  | DepthDiff
  | DepthSnapshot
  | TradeEvent
  | BookTickerEvent
  | MarkPriceEvent
  | LiquidationEvent
  | OpenInterestEvent;
