import type { EpochMs, Venue } from '../core/types.js';
import type { DeferredLevels, DepthDiff, DepthSnapshot } from '../model/events.js';
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
  /** the deferred levels of the last message, applied at the first read past a frontier or by `settle()` */
  private pending: DeferredLevels | null = null;

  constructor(
    readonly venue: Venue,
    readonly symbol: string,
  ) {}

  clear(): void {
    if (this.pending !== null) {
      this.pending.detach();
      this.pending = null;
    }
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
    // a message still half applied is finished first (the processor settles each before the next comes)
    this.settle();
    const { bids, asks, bidCount, askCount } = d;
    for (let i = 0; i < bidCount; i++) this.bids.set(bids[2 * i]!, bids[2 * i + 1]!);
    for (let i = 0; i < askCount; i++) this.asks.set(asks[2 * i]!, asks[2 * i + 1]!);
    this.lastUpdateId = d.lastId;
    this.lastEventTime = d.eventTime;
    this.lastRecvTime = d.recvTime;
    const rest = d.rest;
    if (rest !== undefined && rest !== null) {
      this.pending = rest;
      rest.attach(this);
      if (rest.bidFrontier === rest.bidFrontier) this.bids.pend(rest.bidFrontier, this);
      if (rest.askFrontier === rest.askFrontier) this.asks.pend(rest.askFrontier, this);
    }
  }

  /** Applies the deferred levels of the last message, if any are still pending (reads call it when they need to). */
  settle(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    this.bids.settled();
    this.asks.settled();
    p.applyTo(this);
  }

  /** Levels of the last message are still to be applied. */
  get unsettled(): boolean {
    return this.pending !== null;
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
