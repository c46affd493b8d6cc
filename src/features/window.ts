/**
 * Entries in time order (a time and `columns` values each) in a ring that grows only when it must, with the
 * sums of every column over several trailing time windows (now − w, now]. Once the ring has grown to the
 * busiest stretch it has seen, pushing and sliding allocate nothing.
 *
 * Sums are kept incrementally: exact for integer values (the order flow and trade volumes are integer
 * units), and for fractional values refreshed from the entries every REFRESH evictions and whenever a window
 * empties, so rounding cannot accumulate.
 */
const REFRESH = 65_536;

export class WindowedSums {
  private cap = 64;
  private mask = 63;
  private times = new Float64Array(64);
  private vals: Float64Array;
  /** absolute index of the next entry, and of the oldest entry kept */
  private head = 0;
  private oldest = 0;
  /** per window: absolute index of the first entry inside it (time > now − w) */
  private readonly starts: Float64Array;
  /** per window × column */
  private readonly sums: Float64Array;
  private readonly windows: Float64Array;
  private evictions = 0;
  private lastTime = -Infinity;

  /**
   * @param summed the first `summed` columns have window sums; the others are only kept (for `valueBefore`
   *   and `last`)
   */
  constructor(
    windowsMs: readonly number[],
    readonly columns: number,
    readonly summed = columns,
  ) {
    for (const w of windowsMs) if (!(w > 0)) throw new RangeError(`window must be > 0 ms, got ${w}`);
    if (!(columns >= 1) || !(summed >= 0 && summed <= columns)) throw new RangeError('at least one column, at most all summed');
    this.windows = Float64Array.from(windowsMs);
    this.starts = new Float64Array(windowsMs.length);
    this.sums = new Float64Array(windowsMs.length * columns);
    this.vals = new Float64Array(64 * columns);
  }

  /** Number of entries pushed so far. */
  get count(): number {
    return this.head;
  }

  clear(): void {
    this.head = 0;
    this.oldest = 0;
    this.starts.fill(0);
    this.sums.fill(0);
    this.evictions = 0;
    this.lastTime = -Infinity;
  }

  /**
   * Appends an entry at time `t` (a time earlier than the last one counts as the last one) with every
   * column 0; set its values with `add`. Call `advance` first so the windows end at `t`.
   */
  push(t: number): void {
    if (this.head - this.oldest === this.cap) this.grow();
    const i = this.head & this.mask;
    this.times[i] = t > this.lastTime ? t : this.lastTime;
    if (t > this.lastTime) this.lastTime = t;
    const c = this.columns;
    this.vals.fill(0, i * c, i * c + c);
    this.head++;
  }

  /** Adds `v` to column `col` of the newest entry (and to every window's sum: a new entry is in all of them). */
  add(col: number, v: number): void {
    const c = this.columns;
    this.vals[((this.head - 1) & this.mask) * c + col]! += v;
    if (col < this.summed) for (let w = 0; w < this.windows.length; w++) this.sums[w * c + col]! += v;
  }

  /** Slides every window to end at `now`: entries at or before now − w leave window w. */
  advance(now: number): void {
    const c = this.columns;
    const summed = this.summed;
    let keep = this.head;
    for (let w = 0; w < this.windows.length; w++) {
      const cutoff = now - this.windows[w]!;
      let s = this.starts[w]!;
      if (s < this.oldest) s = this.oldest;
      const base = w * c;
      let moved = false;
      while (s < this.head && this.times[s & this.mask]! <= cutoff) {
        const row = (s & this.mask) * c;
        for (let k = 0; k < summed; k++) this.sums[base + k]! -= this.vals[row + k]!;
        s++;
        moved = true;
        this.evictions++;
      }
      this.starts[w] = s;
      if (moved && s === this.head) for (let k = 0; k < c; k++) this.sums[base + k] = 0;
      // keep the entry just before the window: the value "as of" now − w
      if (s - 1 < keep) keep = s - 1;
    }
    if (keep > this.oldest) this.oldest = keep;
    if (this.evictions >= REFRESH) this.refresh();
  }

  /** Sum of column `col` (one of the summed ones) over window `w` (as of the last `advance`). */
  sum(w: number, col: number): number {
    return this.sums[w * this.columns + col]!;
  }

  /** Entries in window `w`. */
  countIn(w: number): number {
    return this.head - Math.max(this.starts[w]!, this.oldest);
  }

  /**
   * Column `col` of the last entry at or before now − w (the value as of the start of the window), or NaN
   * when every entry is inside the window (the history is shorter than w).
   */
  valueBefore(w: number, col: number): number {
    const i = this.starts[w]! - 1;
    if (i < this.oldest || i < 0) return NaN;
    return this.vals[(i & this.mask) * this.columns + col]!;
  }

  /** Column `col` of the newest entry (NaN when empty). */
  last(col: number): number {
    return this.head > this.oldest ? this.vals[((this.head - 1) & this.mask) * this.columns + col]! : NaN;
  }

  /** Time of the newest entry (NaN when empty). */
  lastTimeOf(): number {
    return this.head > this.oldest ? this.times[(this.head - 1) & this.mask]! : NaN;
  }

  private refresh(): void {
    this.evictions = 0;
    const c = this.columns;
    this.sums.fill(0);
    for (let w = 0; w < this.windows.length; w++) {
      for (let s = Math.max(this.starts[w]!, this.oldest); s < this.head; s++) {
        const row = (s & this.mask) * c;
        for (let k = 0; k < this.summed; k++) this.sums[w * c + k]! += this.vals[row + k]!;
      }
    }
  }

  private grow(): void {
    const cap = this.cap * 2;
    const mask = cap - 1;
    const c = this.columns;
    const times = new Float64Array(cap);
    const vals = new Float64Array(cap * c);
    for (let s = this.oldest; s < this.head; s++) {
      const from = s & this.mask;
      const to = s & mask;
      times[to] = this.times[from]!;
      for (let k = 0; k < c; k++) vals[to * c + k] = this.vals[from * c + k]!;
    }
    this.cap = cap;
    this.mask = mask;
    this.times = times;
    this.vals = vals;
  }
}
