import type { EpochMs, Venue } from '../core/types.js';
import type { DepthDiff, DepthSnapshot } from '../model/events.js';
import { L2Book, type BookState } from './book.js';

/**
 * Binance's local order book procedure, as a synchronous state machine (no I/O): diffs and snapshots
 * in, signals out. The adapter fetches a snapshot whenever `needsSnapshot` is true.
 *
 * Spot (binance-spot.md §4): drop buffered events with u <= lastUpdateId; the first applied event has
 *   U <= lastUpdateId + 1 <= u; afterwards an event with u < id is stale and U > id + 1 is a gap.
 * USD-M (binance-futures.md §2.4): drop buffered events with u < lastUpdateId; the first applied event
 *   has U <= lastUpdateId <= u; afterwards every event's pu must equal the previous event's u.
 * Any gap discards the book and starts over from a fresh snapshot, keeping the event that revealed it.
 */
/** 'malformed': a lazily decoded diff to keep (buffered) turned out malformed past its best levels: not kept */
export type DiffOutcome = 'applied' | 'buffered' | 'stale' | 'gap' | 'malformed';
export type SnapshotOutcome = 'synced' | 'too_old' | 'gap';

const MAX_BUFFER = 50_000;

/** A diff to keep (the decoder reuses its arrays), with every level; null when its deferred levels are malformed. */
function copyDiff(d: DepthDiff): DepthDiff | null {
  if (d.rest && !d.rest.materialize()) return null;
  return {
    ...d,
    bids: d.bids.slice(0, d.bidCount * 2),
    asks: d.asks.slice(0, d.askCount * 2),
    rest: null,
  };
}

export class DepthSync {
  readonly book: L2Book;
  state: BookState = 'syncing';
  private buffer: DepthDiff[] = [];
  /** USD-M: the next event is the first after a snapshot */
  private awaitingFirst = false;
  /** counters */
  resyncs = 0;
  gaps = 0;
  staleDropped = 0;
  snapshotsTooOld = 0;
  bufferOverflows = 0;
  lastSyncedAt: EpochMs = 0;

  constructor(
    readonly venue: Venue,
    readonly symbol: string,
  ) {
    this.book = new L2Book(venue, symbol);
  }

  get synced(): boolean {
    return this.state === 'synced';
  }

  /** True while the book waits for a REST snapshot. */
  get needsSnapshot(): boolean {
    return this.state !== 'synced';
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Discards the book and starts over (reconnect, or the adapter gave up on a snapshot). */
  reset(state: BookState = 'resyncing'): void {
    this.state = state;
    this.buffer = [];
    this.awaitingFirst = false;
    this.book.clear();
  }

  onDiff(d: DepthDiff): DiffOutcome {
    if (this.state !== 'synced') {
      const kept = copyDiff(d);
      if (kept === null) return 'malformed';
      if (this.buffer.length >= MAX_BUFFER) {
        this.buffer.shift();
        this.bufferOverflows++;
      }
      this.buffer.push(kept);
      return 'buffered';
    }
    const outcome = this.step(d);
    if (outcome === 'gap') this.startResync(d);
    return outcome;
  }

  /** One event on a synced book. */
  private step(d: DepthDiff): DiffOutcome {
    const id = this.book.lastUpdateId;
    if (this.venue === 'spot') {
      if (d.lastId <= id) {
        this.staleDropped++;
        return 'stale';
      }
      if (d.firstId > id + 1) return 'gap';
    } else if (this.awaitingFirst) {
      if (d.lastId < id) {
        this.staleDropped++;
        return 'stale';
      }
      if (d.firstId > id) return 'gap';
      this.awaitingFirst = false;
    } else {
      if (d.lastId <= id) {
        this.staleDropped++;
        return 'stale';
      }
      if (d.prevLastId !== id) return 'gap';
    }
    this.book.applyLevels(d);
    return 'applied';
  }

  private startResync(revealing: DepthDiff): void {
    this.gaps++;
    this.resyncs++;
    this.book.clear();
    this.state = 'resyncing';
    this.awaitingFirst = false;
    const kept = copyDiff(revealing);
    this.buffer = kept === null ? [] : [kept];
  }

  /**
   * A REST snapshot arrived. 'too_old': it predates the first buffered event (fetch again);
   * 'gap': the buffered events do not continue it (fetch again); 'synced': the book is live.
   */
  onSnapshot(s: DepthSnapshot, now: EpochMs): SnapshotOutcome {
    const first = this.buffer[0];
    if (first !== undefined && s.lastUpdateId < (this.venue === 'spot' ? first.firstId - 1 : first.firstId)) {
      // Spot: lastUpdateId + 1 must reach the first buffered U. USD-M: the first event must have U <= lastUpdateId.
      this.snapshotsTooOld++;
      return 'too_old';
    }
    this.book.loadSnapshot(s);
    this.awaitingFirst = this.venue === 'usdm';
    this.state = 'synced';
    const pending = this.buffer;
    this.buffer = [];
    for (let i = 0; i < pending.length; i++) {
      const d = pending[i]!;
      if (this.step(d) === 'gap') {
        // The buffered stream does not continue this snapshot: keep what is left and fetch again.
        this.book.clear();
        this.state = 'resyncing';
        this.awaitingFirst = false;
        this.buffer = pending.slice(i);
        this.gaps++;
        return 'gap';
      }
    }
    this.lastSyncedAt = now;
    return 'synced';
  }
}
