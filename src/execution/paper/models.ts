import type { EpochMs, Venue } from '../../core/types.js';

/**
 * The paper exchange's pluggable models. Every quantity here is in the instrument's integer lots and
 * every price in integer ticks; times are epoch milliseconds of engine time (never the wall clock).
 * Implementations are pure and deterministic: any randomness comes from the Rng handed to them.
 */

export type Liquidity = 'maker' | 'taker';
/** the side of the book a price level belongs to */
export type BookSideName = 'bid' | 'ask';

// ---------------------------------------------------------------- queue position

/** Where one resting order stands in the queue of its price level (market-by-price data). */
export interface QueuePos {
  /**
   * estimated quantity ahead of the order, in lots; real-valued under the probabilistic models. Negative after
   * a trade: the whole lots of -ahead are executable (the fraction stays, for the next trade).
   */
  ahead: number;
  /** traded quantity at the order's price since the last depth change (avoids counting a trade twice) */
  tradedSinceDepth: number;
}

export interface QueueModel {
  /** configuration name, e.g. 'risk-averse', 'prob-power:2', 'prob-log' */
  readonly name: string;
  /** A new order joins behind everything displayed at its price. */
  onNew(q: QueuePos, levelQty: number): void;
  /** A trade of `qty` lots printed at the order's price: the queue ahead shrinks. */
  onTrade(q: QueuePos, qty: number): void;
  /** The displayed quantity at the order's price changed from `prev` to `next` lots. */
  onDepth(q: QueuePos, prev: number, next: number): void;
  /**
   * The same model for an instrument whose lot is `lotSize` base units, when the model depends on the
   * unit of quantity (log forms: ln(1 + x) must see base units, as in hftbacktest, not lots).
   */
  forLotSize?(lotSize: number): QueueModel;
}

// ---------------------------------------------------------------- latency

export interface LatencyModel {
  readonly name: string;
  /** ms from the strategy's decision until the order (or cancel) reaches the exchange */
  entry(now: EpochMs): number;
  /** ms from the exchange's action until its report (ack, fill, cancel) reaches the strategy */
  response(now: EpochMs): number;
  /** every mid-price change; `stream` tells instruments apart (a small integer per instrument) */
  observeMid(now: EpochMs, mid: number, stream?: number): void;
}

// ---------------------------------------------------------------- fees

export interface FeeModel {
  /** fee rate on notional for one fill; negative is a rebate */
  rate(venue: Venue, symbol: string, liquidity: Liquidity): number;
}

// ---------------------------------------------------------------- market impact

/**
 * Liquidity our own aggressive orders took from the displayed book, and how it comes back (one instance per instrument). The paper
 * exchange never edits the real book; it asks this model how much of a level is still available to us.
 */
export interface ImpactModel {
  /** displayed lots at (side, price) minus what we consumed there and has not come back yet (>= 0) */
  available(side: BookSideName, priceUnits: number, displayed: number, now: EpochMs): number;
  /** we took `qty` lots at (side, price) */
  consume(side: BookSideName, priceUnits: number, qty: number, now: EpochMs): void;
}
