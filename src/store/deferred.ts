import type { Store } from './db.js';

/** The Store methods a frame's processing may call that only write (their return values are not used). */
const DEFERRABLE = ['upsertOrder', 'recordFill', 'upsertTrip', 'insertEquity', 'insertDenial', 'putControl'] as const;

/**
 * Holds a store's writes back while one input (a WebSocket frame) is processed, and runs them, in the
 * order they were made, in one transaction when it is done (`end`). The frame's decision then does not wait
 * for the bookkeeping of earlier orders (fills, order rows, equity rows), and the frame's writes reach the
 * database together. Measured live at 10x (docs/performance.md, "Tick-to-decision"): the fills of earlier
 * orders written before a decision were most of its latency above the median.
 *
 * A write runs with its arguments as they are at `end`: the engine builds each row (fill, denial, equity
 * row) fresh, and an order or a round trip written twice in a frame ends with its latest state either way.
 * Nothing in a frame reads the database back. Patch after `guardStore`, so that a storage failure at `end`
 * is the guard's safe halt.
 */
/** Whether an order's row is in the database (a read that fails too counts as not). */
export function orderRecorded(store: Store, sessionId: string, id: string): boolean {
  try {
    return store.getOrder(sessionId, id) !== undefined;
  } catch {
    return false;
  }
}

export class DeferredWrites {
  private active = false;
  private readonly queue: { fn: (...args: unknown[]) => unknown; args: unknown[]; order: boolean }[] = [];
  private readonly after: (() => void)[] = [];

  /**
   * `lost`, with the guard's count of refused writes (`StorageGuard.failedWrites`): when a batch had a write
   * or its commit refused, it is told the ids of the orders written in it whose rows are not in the database
   * (the failed transaction was rolled back; a write after the failure may still have gone in on its own).
   */
  constructor(
    private readonly store: Store,
    private readonly lost?: { failedWrites: () => number; orders: (ids: readonly string[]) => void },
  ) {
    const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of DEFERRABLE) {
      const original = target[name]!;
      const order = name === 'upsertOrder';
      target[name] = (...args: unknown[]): unknown => {
        if (!this.active) return original.apply(store, args);
        this.queue.push({ fn: original, args, order });
        return undefined;
      };
    }
  }

  /** Writes from now on wait for `end`. */
  begin(): void {
    this.active = true;
  }

  /**
   * Runs `fn` after the writes of the frame being processed (at once outside a frame): what only reports
   * on the frame (log lines, notices to observers) then neither delays its decisions nor runs before the
   * database holds what it reports. Whatever `fn` reports must be captured when it is queued.
   */
  later(fn: () => void): void {
    if (this.active) this.after.push(fn);
    else fn();
  }

  /** Runs the writes held back, in order, in one transaction, then what waits for them (`later`). */
  end(): void {
    this.active = false;
    const q = this.queue;
    if (q.length > 0) {
      const refused = this.lost?.failedWrites() ?? 0;
      this.store.beginBatch();
      try {
        for (let i = 0; i < q.length; i++) q[i]!.fn.apply(this.store, q[i]!.args);
      } finally {
        this.store.commitBatch();
        if (this.lost && this.lost.failedWrites() > refused) {
          const ids = new Set<string>();
          for (const w of q) if (w.order && !orderRecorded(this.store, w.args[0] as string, (w.args[1] as { id: string }).id)) ids.add((w.args[1] as { id: string }).id);
          if (ids.size > 0) this.lost.orders([...ids]);
        }
        q.length = 0;
      }
    }
    const a = this.after;
    if (a.length === 0) return;
    // each runs even if one before it threw; the first error is thrown after them all
    let failed: { error: unknown } | null = null;
    for (let i = 0; i < a.length; i++) {
      try {
        a[i]!();
      } catch (error) {
        failed ??= { error };
      }
    }
    a.length = 0;
    if (failed) throw failed.error;
  }

  /** Writes and functions waiting for `end` (tests). */
  get pending(): number {
    return this.queue.length + this.after.length;
  }
}
