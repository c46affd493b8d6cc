import type { EpochMs } from './types.js';

/** Time is injected: the core never reads the wall clock. */
export interface Clock {
  now(): EpochMs;
}

/** A clock that moves only when told to: replays and tests. */
export class ManualClock implements Clock {
  constructor(private current: EpochMs = 0) {}
  now(): EpochMs {
    return this.current;
  }
  set(t: EpochMs): void {
    if (t > this.current) this.current = t;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
