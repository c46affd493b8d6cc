import type { EpochMs, Venue } from '../core/types.js';
import type { DepthDiff, DepthSnapshot } from '../model/events.js';
import { BookSide } from './side.js';

export type BookState = 'syncing' | 'synced' | 'resyncing';

/** L2 order book of one instrument on integer price and quantity units. */
export class L2Book {
  readonly bids = new BookSide(1);
  readonly asks = new BookSide(-1);
  /** update id of the last applied event (or of the snapshot) */
  lastUpdateId = -1;
  /** exchange time and local receive time of the last applied change */
  lastEventTime: EpochMs = 0;
  lastRecvTime: EpochMs = 0;

  constructor(
    readonly venue: Venue,
    readonly symbol: string,
  ) {}

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.lastUpdateId = -1;
  }

  loadSnapshot(s: DepthSnapshot): void {
    this.clear();
    const { bids, asks } = s;
    for (let i = 0; i + 1 < bids.length; i += 2) this.bids.set(bids[i]!, bids[i + 1]!);
    for (let i = 0; i + 1 < asks.length; i += 2) this.asks.set(asks[i]!, asks[i + 1]!);
    this.lastUpdateId = s.lastUpdateId;
    this.lastRecvTime = s.recvTime;
  }

  applyLevels(d: DepthDiff): void {
    const { bids, asks, bidCount, askCount } = d;
    for (let i = 0; i < bidCount; i++) this.bids.set(bids[2 * i]!, bids[2 * i + 1]!);
    for (let i = 0; i < askCount; i++) this.asks.set(asks[2 * i]!, asks[2 * i + 1]!);
    this.lastUpdateId = d.lastId;
    this.lastEventTime = d.eventTime;
    this.lastRecvTime = d.recvTime;
  }

  bestBid(): number {
    return this.bids.price(0);
  }
  bestAsk(): number {
    return this.asks.price(0);
  }
  /** Mid price in price units (may be fractional); NaN if a side is empty. */
  mid(): number {
    return (this.bids.price(0) + this.asks.price(0)) / 2;
  }
  /** Spread in price units; NaN if a side is empty. */
  spread(): number {
    return this.asks.price(0) - this.bids.price(0);
  }
}
