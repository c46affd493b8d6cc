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
