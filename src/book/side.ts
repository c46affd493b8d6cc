/**
 * One side of an L2 book: levels in two parallel Float64Arrays (integer price units, integer quantity
 * units), sorted so that the best level is at the END. Updates cluster near the top of the book, so
 * inserting or removing there shifts only the few levels above it.
 *
 * Keys are stored as `price * dir` (dir = +1 for bids, -1 for asks) so one ascending array serves both
 * sides: the largest key is the highest bid or the lowest ask.
 */
export class BookSide {
  private keys: Float64Array;
  private qtys: Float64Array;
  private n = 0;

  constructor(
    readonly dir: 1 | -1,
    capacity = 1024,
  ) {
    this.keys = new Float64Array(capacity);
    this.qtys = new Float64Array(capacity);
  }

  get size(): number {
    return this.n;
  }

  clear(): void {
    this.n = 0;
  }

  /** Index of the first key >= k (binary search). */
  private lowerBound(k: number): number {
    let lo = 0;
    let hi = this.n;
    const keys = this.keys;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sets a level to an absolute quantity; 0 removes it (removing an absent level is a no-op). */
  set(price: number, qty: number): void {
    const k = price * this.dir;
    const n = this.n;
    const keys = this.keys;
    // Fast path: at or beyond the top of the book.
    let i: number;
    if (n === 0 || k > keys[n - 1]!) i = n;
    else i = this.lowerBound(k);
    if (i < n && keys[i] === k) {
      if (qty > 0) this.qtys[i] = qty;
      else {
        keys.copyWithin(i, i + 1, n);
        this.qtys.copyWithin(i, i + 1, n);
        this.n = n - 1;
      }
      return;
    }
    if (qty <= 0) return;
    if (n === keys.length) this.grow();
    const ks = this.keys;
    const qs = this.qtys;
    if (i < n) {
      ks.copyWithin(i + 1, i, n);
      qs.copyWithin(i + 1, i, n);
    }
    ks[i] = k;
    qs[i] = qty;
    this.n = n + 1;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const qtys = new Float64Array(this.qtys.length * 2);
    qtys.set(this.qtys);
    this.keys = keys;
    this.qtys = qtys;
  }

  /** Price of the i-th best level (0 = best); NaN when absent. */
  price(i: number): number {
    return i < this.n ? this.keys[this.n - 1 - i]! * this.dir : NaN;
  }

  /** Quantity of the i-th best level (0 = best); 0 when absent. */
  qty(i: number): number {
    return i < this.n ? this.qtys[this.n - 1 - i]! : 0;
  }

  /** Quantity at an exact price; 0 when absent. */
  qtyAt(price: number): number {
    const k = price * this.dir;
    const i = this.lowerBound(k);
    return i < this.n && this.keys[i] === k ? this.qtys[i]! : 0;
  }

  /** Sum of the quantities of the best `levels` levels. */
  volume(levels: number): number {
    let sum = 0;
    const stop = Math.max(0, this.n - levels);
    for (let i = this.n - 1; i >= stop; i--) sum += this.qtys[i]!;
    return sum;
  }
}
