import type { EpochMs } from '../core/types.js';

/**
 * Timed actions in engine time: a binary min-heap ordered by due time, then by insertion order, so two
 * actions due at the same moment run in the order they were scheduled (determinism).
 */
export class Scheduler<T> {
  private dues: number[] = [];
  private seqs: number[] = [];
  private items: T[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** due time of the next action, or Infinity */
  nextDue(): EpochMs {
    return this.items.length > 0 ? this.dues[0]! : Infinity;
  }

  push(due: EpochMs, item: T): void {
    let i = this.items.length;
    this.dues.push(due);
    this.seqs.push(this.seq++);
    this.items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  /** removes and returns the next action (undefined when empty) */
  pop(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    const top = this.items[0]!;
    this.swap(0, n - 1);
    this.dues.pop();
    this.seqs.pop();
    this.items.pop();
    let i = 0;
    const m = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let s = i;
      if (l < m && this.less(l, s)) s = l;
      if (r < m && this.less(r, s)) s = r;
      if (s === i) break;
      this.swap(i, s);
      i = s;
    }
    return top;
  }

  /** Removes every action `drop` selects and returns them in due order (ties in scheduling order). O(n log n). */
  removeWhere(drop: (item: T) => boolean): T[] {
    const kept: [number, number, T][] = [];
    const out: [number, number, T][] = [];
    for (let i = 0; i < this.items.length; i++) (drop(this.items[i]!) ? out : kept).push([this.dues[i]!, this.seqs[i]!, this.items[i]!]);
    if (out.length === 0) return [];
    // a sorted array is a valid heap
    const order = (a: [number, number, T], b: [number, number, T]): number => a[0] - b[0] || a[1] - b[1];
    kept.sort(order);
    this.dues = kept.map((k) => k[0]);
    this.seqs = kept.map((k) => k[1]);
    this.items = kept.map((k) => k[2]);
    return out.sort(order).map((o) => o[2]);
  }

  private less(a: number, b: number): boolean {
    const da = this.dues[a]!;
    const db = this.dues[b]!;
    return da < db || (da === db && this.seqs[a]! < this.seqs[b]!);
  }

  private swap(a: number, b: number): void {
    if (a === b) return;
    [this.dues[a], this.dues[b]] = [this.dues[b]!, this.dues[a]!];
    [this.seqs[a], this.seqs[b]] = [this.seqs[b]!, this.seqs[a]!];
    [this.items[a], this.items[b]] = [this.items[b]!, this.items[a]!];
  }
}
