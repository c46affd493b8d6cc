import type { EpochMs } from '../../core/types.js';
import type { BookSideName, ImpactModel } from './models.js';

/** The displayed book is all there is: our own aggressive orders leave no trace. */
export class NoImpact implements ImpactModel {
  available(_side: BookSideName, _priceUnits: number, displayed: number, _now: EpochMs): number {
    return displayed > 0 ? displayed : 0;
  }

  consume(_side: BookSideName, _priceUnits: number, _qty: number, _now: EpochMs): void {}
}

export type RecoveryShape = 'linear' | 'exponential';

const BID = 0;
const ASK = 1;
const INITIAL_CAPACITY = 64;

/**
 * Remembers the liquidity our aggressive orders took at each (side, price) of one instrument and
 * lets it come back over time, so a second order right after the first cannot take the same lots.
 *
 * For an entry with `q0` lots outstanding at time `t0`, the outstanding amount at `now` is
 * - linear:      q0 · max(0, 1 − (now − t0) / recoveryMs)   (all back after recoveryMs)
 * - exponential: q0 · 2^(−(now − t0) / recoveryMs)           (half back after each recoveryMs)
 * and anything under 0.5 lot counts as recovered. Consuming again at the same level first brings
 * the old amount up to `now`, then adds: q0 ← outstanding(now) + qty, t0 ← now.
 *
 * `available = max(0, displayed − round(outstanding(now)))`: whole lots, the outstanding amount
 * rounded to the nearest lot. recoveryMs = 0 keeps no memory (available = displayed).
 *
 * Storage: parallel typed arrays scanned linearly (an order touches a handful of levels; a few
 * dozen entries at most are live). `consume` drops recovered entries it passes during its scan,
 * so the array holds only what is still outstanding; it grows (doubling) only when that many
 * levels are outstanding at once. Nothing is allocated per call otherwise.
 */
export class RecoveringImpact implements ImpactModel {
  private side = new Uint8Array(INITIAL_CAPACITY);
  private price = new Float64Array(INITIAL_CAPACITY);
  private qty = new Float64Array(INITIAL_CAPACITY);
  private at = new Float64Array(INITIAL_CAPACITY);
  private n = 0;

  constructor(
    readonly recoveryMs: number,
    readonly shape: RecoveryShape,
  ) {
    if (!(Number.isFinite(recoveryMs) && recoveryMs >= 0)) {
      throw new Error(`impact recoveryMs must be a finite number >= 0 (got ${recoveryMs})`);
    }
    if (shape !== 'linear' && shape !== 'exponential') {
      throw new Error(`impact recovery shape must be linear or exponential (got ${JSON.stringify(shape)})`);
    }
  }

  /** number of (side, price) entries currently kept */
  get size(): number {
    return this.n;
  }

  /** lots consumed at (side, price) that have not come back by `now` (unrounded; 0 under 0.5 lot) */
  outstanding(side: BookSideName, priceUnits: number, now: EpochMs): number {
    const i = this.find(side === 'bid' ? BID : ASK, priceUnits);
    return i < 0 ? 0 : this.outstandingAt(i, now);
  }

  available(side: BookSideName, priceUnits: number, displayed: number, now: EpochMs): number {
    const free = displayed - Math.round(this.outstanding(side, priceUnits, now));
    return free > 0 ? free : 0;
  }

  consume(side: BookSideName, priceUnits: number, qty: number, now: EpochMs): void {
    if (this.recoveryMs === 0 || !(qty > 0)) return;
    const s = side === 'bid' ? BID : ASK;
    let found = -1;
    let i = 0;
    // one pass: find the entry, and drop recovered entries on the way (swap with the last one)
    while (i < this.n) {
      if (this.side[i] === s && this.price[i] === priceUnits) {
        found = i;
        i++;
      } else if (this.outstandingAt(i, now) === 0) {
        this.removeAt(i);
      } else {
        i++;
      }
    }
    if (found >= 0) {
      this.qty[found] = this.outstandingAt(found, now) + qty;
      if (now > this.at[found]!) this.at[found] = now;
      return;
    }
    if (this.n === this.side.length) this.grow();
    const k = this.n++;
    this.side[k] = s;
    this.price[k] = priceUnits;
    this.qty[k] = qty;
    this.at[k] = now;
  }

  private find(s: number, priceUnits: number): number {
    for (let i = 0; i < this.n; i++) {
      if (this.side[i] === s && this.price[i] === priceUnits) return i;
    }
    return -1;
  }

  private outstandingAt(i: number, now: EpochMs): number {
    const q0 = this.qty[i]!;
    const elapsed = now - this.at[i]!;
    if (elapsed <= 0) return q0 < 0.5 ? 0 : q0;
    if (this.recoveryMs === 0) return 0;
    const q =
      this.shape === 'linear'
        ? elapsed >= this.recoveryMs
          ? 0
          : q0 * (1 - elapsed / this.recoveryMs)
        : q0 * Math.pow(2, -elapsed / this.recoveryMs);
    return q < 0.5 ? 0 : q;
  }

  private removeAt(i: number): void {
    const last = --this.n;
    if (i !== last) {
      this.side[i] = this.side[last]!;
      this.price[i] = this.price[last]!;
      this.qty[i] = this.qty[last]!;
      this.at[i] = this.at[last]!;
    }
  }

  private grow(): void {
    const cap = this.side.length * 2;
    const side = new Uint8Array(cap);
    side.set(this.side);
    const price = new Float64Array(cap);
    price.set(this.price);
    const qty = new Float64Array(cap);
    qty.set(this.qty);
    const at = new Float64Array(cap);
    at.set(this.at);
    this.side = side;
    this.price = price;
    this.qty = qty;
    this.at = at;
  }
}
