import type { DepthSync } from '../book/sync.js';
import type { EpochMs, Venue } from '../core/types.js';
import type { MarketEvent } from '../model/events.js';
import type { Instrument } from '../model/instrument.js';
import type { FeedSink } from '../marketdata/binance/processor.js';
import type { Engine } from './engine.js';

/**
 * The trading engine and its shadows, fed the same inputs: every market event goes to the trading engine
 * first, then to each shadow, in the same order. Shadows keep their own virtual accounts and paper
 * exchanges and never touch the trading account; only the trading engine writes the event log (the
 * shadows are rebuilt from the configuration in a replay and see the same inputs).
 */
export class EngineGroup implements FeedSink {
  constructor(
    readonly trading: Engine,
    readonly shadows: readonly { name: string; engine: Engine }[],
  ) {}

  advanceTo(t: EpochMs): void {
    this.trading.advanceTo(t);
    for (const s of this.shadows) s.engine.advanceTo(t);
  }
  onInstruments(venue: Venue, instruments: Instrument[]): void {
    this.trading.onInstruments(venue, instruments);
    for (const s of this.shadows) s.engine.onInstruments(venue, instruments);
  }
  onBook(sync: DepthSync, recvTime: number): void {
    this.trading.onBook(sync, recvTime);
    for (const s of this.shadows) s.engine.onBook(sync, recvTime);
  }
  onBookState(sync: DepthSync, recvTime: number): void {
    this.trading.onBookState(sync, recvTime);
    for (const s of this.shadows) s.engine.onBookState(sync, recvTime);
  }
  onEvent(ev: MarketEvent): void {
    this.trading.onEvent(ev);
    for (const s of this.shadows) s.engine.onEvent(ev);
  }
  tick(t: EpochMs): void {
    this.trading.tick(t);
    for (const s of this.shadows) s.engine.tick(t);
  }
  nextDue(): EpochMs {
    let due = this.trading.nextDue();
    for (const s of this.shadows) due = Math.min(due, s.engine.nextDue());
    return due;
  }
  flush(): void {
    this.trading.flush();
    for (const s of this.shadows) s.engine.flush();
  }
}
