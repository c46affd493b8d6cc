/**
 * One side of an L2 book on integer price units and integer quantity units.
 *
 * Keys are `price * dir` (dir = +1 for bids, -1 for asks), so one ascending order serves both sides: the
 * largest key is the highest bid or the lowest ask, the best level.
 *
 * Layout: a dense window of `W` consecutive keys around the top of the book (a quantity per key and a bit
 * per key saying a level is there), and every level outside the window in a sorted array. Setting a level
 * inside the window is O(1) and moves nothing. In one sorted array, an insert or delete N levels below the
 * top moves those N levels: measured on the recorded BTCUSDT depth streams, that move (a `copyWithin`) was
 * two thirds of the book's time, ~110-120 ns per level update, because updates land all over the 2-5k
 * levels. With W = 65,536 keys centred on the best level, 95% of the recorded spot updates and 96% of the
 * USD-M ones land in the window (docs/performance.md, "Book").
 *
 * The window moves (an O(levels) rebuild, rare) when a level appears above it, or when its top falls into
 * its lowest eighth: the best level stays in the window. Where the window sits never changes an answer,
 * only the time taken.
 *
 * Ranks (`price(i)`, `qty(i)`: the i-th best) scan the window's bits down from its top; a cursor keeps the
 * last rank found, so reading the levels in order (i = 0, 1, 2, ...), or a step back, costs O(1) each.
 *
 * Pending levels: while a large depth message is half applied (its best levels; `L2Book.applyLevels` with
 * deferred levels), the side has a frontier, the key of its best level not applied yet. Every level with a
 * key above the frontier is final; a read that reaches the frontier or below it (a rank not above it, a
 * price at or below it, the size) first has the owner apply the rest (`settle`), so every read returns what
 * it would return had the whole message been applied at once.
 */
export class BookSide {
  private readonly W: number;
  /** the window holds keys [kb, kb + W) */
  private kb = 0;
  private placed = false;
  private wq: Float64Array = EMPTY_F64;
  private bits: Uint32Array = EMPTY_U32;
  /** levels in the window, and the index of its highest one (-1: none) */
  private wn = 0;
  private top = -1;
  /**
   * levels outside the window, all below it once `set` returns: a level that appears above the window
   * moves the window at once (so the best level is always in the window)
   */
  private readonly far: SortedLevels;
  // rank cursor inside the window: window rank cRank (-1: none) is at index cIdx
  private cRank = -1;
  private cIdx = 0;
  // the level `locate` found
  private lk = 0;
  private lq = 0;
  /** key of the best level still to be applied; -Infinity when none is pending */
  private frontier = -Infinity;
  private owner: { settle(): void } | null = null;

  /**
   * @param capacity levels outside the window to make room for at first (grows as needed)
   * @param windowBits the window spans 2^windowBits keys (tests use small windows)
   */
  constructor(
    readonly dir: 1 | -1,
    capacity = 256,
    windowBits = 16,
  ) {
    if (!(Number.isInteger(windowBits) && windowBits >= 5 && windowBits <= 24)) throw new RangeError(`window bits ${windowBits} not in [5, 24]`);
    this.W = 2 ** windowBits;
    this.far = new SortedLevels(capacity);
  }

  /** Levels on the side (settles pending levels first). */
  get size(): number {
    if (this.frontier !== -Infinity) this.owner!.settle();
    return this.wn + this.far.size;
  }

  /** No level on the side. */
  get empty(): boolean {
    return !this.find(0);
  }

  /** Whether the side has an i-th best level (i < size, without settling pending levels when it need not). */
  has(i: number): boolean {
    return this.find(i);
  }

  /**
   * Levels with keys at or below `frontierPrice` (a bid at or below it, an ask at or above it) are still to
   * be applied: reads that reach them call `owner.settle()` first, which applies them and calls `settled()`.
   */
  pend(frontierPrice: number, owner: { settle(): void }): void {
    this.frontier = frontierPrice * this.dir;
    this.owner = owner;
  }

  /** Nothing is pending any more. */
  settled(): void {
    this.frontier = -Infinity;
  }

  clear(): void {
    this.clearWindow();
    this.far.clear();
    this.placed = false;
    this.frontier = -Infinity;
  }

  /** Empties the window, touching only the entries in use. */
  private clearWindow(): void {
    const bits = this.bits;
    for (let w = 0; w < bits.length && this.wn > 0; w++) {
      let m = bits[w]!;
      while (m !== 0) {
        const b = 31 - Math.clz32(m);
        m &= ~(1 << b);
        this.wq[(w << 5) + b] = 0;
        this.wn--;
      }
      bits[w] = 0;
    }
    this.wn = 0;
    this.top = -1;
    this.cRank = -1;
  }

  /** Sets a level to an absolute quantity; 0 removes it (removing an absent level is a no-op). */
  set(price: number, qty: number): void {
    const k = price * this.dir;
    if (!this.placed) {
      if (qty <= 0) return;
      this.place(k);
    }
    const idx = k - this.kb;
    if (idx >= 0 && idx < this.W) {
      const wq = this.wq;
      const old = wq[idx]!;
      if (qty > 0) {
        wq[idx] = qty;
        if (old === 0) {
          this.bits[idx >>> 5]! |= 1 << (idx & 31);
          this.wn++;
          this.cRank = -1;
          if (idx > this.top) this.top = idx;
        }
        return;
      }
      if (old === 0) return;
      wq[idx] = 0;
      this.bits[idx >>> 5]! &= ~(1 << (idx & 31));
      this.wn--;
      this.cRank = -1;
      if (idx === this.top) {
        this.top = this.below(idx);
        // the top fell into the window's lowest eighth (or out of it): centre the window on the best again
        if (this.top < this.W >>> 3 && this.far.size > 0) this.recentre();
      }
      return;
    }
    // a new level above the window is the new best: the window moves to it
    if (this.far.set(k, qty) > 0 && idx >= this.W) this.recentre();
  }

  /** Puts the (empty) window's centre at key k. */
  private place(k: number): void {
    if (this.wq.length === 0) {
      this.wq = new Float64Array(this.W);
      this.bits = new Uint32Array(this.W >>> 5);
    }
    this.kb = k - (this.W >>> 1);
    this.placed = true;
  }

  /** Rebuilds the window around the best level: every level keeps its quantity, O(levels). */
  private recentre(): void {
    const n = this.wn + this.far.size;
    if (n === 0) return;
    // all levels, ascending: the far ones below the window, the window's, the far one above it (if any)
    const keys = new Float64Array(n);
    const qtys = new Float64Array(n);
    const far = this.far;
    let fi = 0;
    let j = 0;
    for (; fi < far.size && far.keyAt(fi) < this.kb; fi++, j++) {
      keys[j] = far.keyAt(fi);
      qtys[j] = far.qtyAtIndex(fi);
    }
    const bits = this.bits;
    for (let w = 0; w < bits.length; w++) {
      let m = bits[w]!;
      while (m !== 0) {
        const b = 31 - Math.clz32(m & -m); // lowest set bit first: ascending
        m &= m - 1;
        const idx = (w << 5) + b;
        keys[j] = this.kb + idx;
        qtys[j] = this.wq[idx]!;
        j++;
      }
    }
    for (; fi < far.size; fi++, j++) {
      keys[j] = far.keyAt(fi);
      qtys[j] = far.qtyAtIndex(fi);
    }
    this.clearWindow();
    far.clear();
    this.place(keys[n - 1]!);
    for (let i = 0; i < n; i++) {
      const idx = keys[i]! - this.kb;
      if (idx >= 0 && idx < this.W) {
        this.wq[idx] = qtys[i]!;
        this.bits[idx >>> 5]! |= 1 << (idx & 31);
        this.wn++;
        this.top = idx;
      } else far.append(keys[i]!, qtys[i]!); // ascending: always at the end (nothing lands above the window)
    }
  }

  /** The highest window index below idx with a level; -1 if none. */
  private below(idx: number): number {
    const bits = this.bits;
    let w = idx >>> 5;
    const b = idx & 31;
    let m = b === 0 ? 0 : bits[w]! & ((1 << b) - 1);
    while (m === 0) {
      if (--w < 0) return -1;
      m = bits[w]!;
    }
    return (w << 5) + 31 - Math.clz32(m);
  }

  /** The lowest window index above idx with a level; -1 if none. */
  private above(idx: number): number {
    const bits = this.bits;
    let w = (idx + 1) >>> 5;
    const b = (idx + 1) & 31;
    if (w >= bits.length) return -1;
    let m = bits[w]! & (-1 << b);
    while (m === 0) {
      if (++w >= bits.length) return -1;
      m = bits[w]!;
    }
    return (w << 5) + 31 - Math.clz32(m & -m);
  }

  /** Finds the i-th best level into (lk, lq); false when absent. */
  private locate(i: number): boolean {
    if (!(i >= 0 && i < this.wn + this.far.size)) return false;
    // ranks: the window's levels first (the best is there), then the far ones below it, best first
    if (i < this.wn) {
      let idx: number;
      if (this.cRank >= 0 && i >= this.cRank) {
        idx = this.cIdx;
        for (let steps = i - this.cRank; steps > 0; steps--) idx = this.below(idx);
      } else if (this.cRank >= 0 && this.cRank - i <= i) {
        // a few ranks back from the cursor (price(i) then price(i - 1)): walk up from it
        idx = this.cIdx;
        for (let steps = this.cRank - i; steps > 0; steps--) idx = this.above(idx);
      } else {
        idx = this.top;
        for (let steps = i; steps > 0; steps--) idx = this.below(idx);
      }
      this.cRank = i;
      this.cIdx = idx;
      this.lk = this.kb + idx;
      this.lq = this.wq[idx]!;
      return true;
    }
    const j = this.far.size - 1 - (i - this.wn);
    this.lk = this.far.keyAt(j);
    this.lq = this.far.qtyAtIndex(j);
    return true;
  }

  /** `locate` as the whole message applied would answer it: settles pending levels when the rank is not above the frontier. */
  private find(i: number): boolean {
    if (this.locate(i)) {
      if (this.lk > this.frontier) return true;
    } else if (this.frontier === -Infinity) return false;
    this.owner!.settle();
    return this.locate(i);
  }

  /** Price of the i-th best level (0 = best); NaN when absent. */
  price(i: number): number {
    return this.find(i) ? this.lk * this.dir : NaN;
  }

  /** Quantity of the i-th best level (0 = best); 0 when absent. */
  qty(i: number): number {
    return this.find(i) ? this.lq : 0;
  }

  /** Quantity at an exact price; 0 when absent. */
  qtyAt(price: number): number {
    const k = price * this.dir;
    if (k <= this.frontier) this.owner!.settle();
    if (!this.placed) return 0;
    const idx = k - this.kb;
    return idx >= 0 && idx < this.W ? this.wq[idx]! : this.far.get(k);
  }

  /** Sum of the quantities of the best `levels` levels. */
  volume(levels: number): number {
    let sum = 0;
    for (let i = 0; i < levels && this.find(i); i++) sum += this.lq;
    return sum;
  }
}

const EMPTY_F64 = new Float64Array(0);
const EMPTY_U32 = new Uint32Array(0);

/**
 * Levels in one Float64Array of (key, quantity) pairs sorted by key ascending: the levels outside the
 * window. Keys and quantities side by side make an insert or delete one `copyWithin`, not two.
 */
class SortedLevels {
  private lv: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.lv = new Float64Array(2 * Math.max(1, capacity));
  }

  clear(): void {
    this.size = 0;
  }

  keyAt(i: number): number {
    return this.lv[2 * i]!;
  }

  qtyAtIndex(i: number): number {
    return this.lv[2 * i + 1]!;
  }

  /** Index of the first key >= k. */
  private lowerBound(k: number): number {
    const lv = this.lv;
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lv[2 * mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(k: number): number {
    const i = this.lowerBound(k);
    return i < this.size && this.lv[2 * i] === k ? this.lv[2 * i + 1]! : 0;
  }

  /** Sets key k to qty (0 removes); returns +1 for a new level, -1 for a removed one, 0 otherwise. */
  set(k: number, qty: number): number {
    const n = this.size;
    let lv = this.lv;
    const i = n === 0 || k > lv[2 * n - 2]! ? n : this.lowerBound(k);
    if (i < n && lv[2 * i] === k) {
      if (qty > 0) {
        lv[2 * i + 1] = qty;
        return 0;
      }
      if (i < n - 1) lv.copyWithin(2 * i, 2 * i + 2, 2 * n);
      this.size = n - 1;
      return -1;
    }
    if (qty <= 0) return 0;
    if (2 * n === lv.length) lv = this.grow();
    if (i < n) lv.copyWithin(2 * i + 2, 2 * i, 2 * n);
    lv[2 * i] = k;
    lv[2 * i + 1] = qty;
    this.size = n + 1;
    return 1;
  }

  /** Adds a level above every level held. */
  append(k: number, qty: number): void {
    if (2 * this.size === this.lv.length) this.grow();
    this.lv[2 * this.size] = k;
    this.lv[2 * this.size + 1] = qty;
    this.size++;
  }

  private grow(): Float64Array {
    const lv = new Float64Array(this.lv.length * 2);
    lv.set(this.lv);
    this.lv = lv;
    return lv;
  }
}
