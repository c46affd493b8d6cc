/**
 * Live only: runs the engine's timed actions (order arrivals, acknowledgements, fills of the paper exchange)
 * when they fall due, in the quiet time between frames, instead of at the next frame.
 *
 * Engine time moves with its inputs: an action due at t runs when the first input at or after t arrives.
 * Live, that input is usually the next market-data frame, and the action's work (matching, accounting)
 * then sits between that frame's arrival and its decision (stage `due` of tick-to-decision). Here a timer
 * wakes shortly before the next action is due and polls the clock (a `setImmediate` loop, which lets
 * frames in) until it is, then ticks the engine. The outcome is the same as at the next frame: the action
 * runs at its own due time against the same book (no frame came in between, or that frame ran it), and
 * the tick is an input of the event log, so a replay makes the same decisions.
 *
 * Node's timers have millisecond granularity: the timer fires `leadMs` early and the rest is polled, which
 * costs CPU only for that last stretch before each due time. When frames come closer together than
 * `pollGapMs` on average, a frame will be there within microseconds anyway and polling would only take the
 * core from everything else on the machine (measured: at 100x, ~30 µs between frames, it raised the p99):
 * then the timer alone wakes the engine, and mostly the next frame runs the action.
 */
export interface DueWakeOptions {
  /** engine time of the next timed action (Infinity: none) */
  nextDue: () => number;
  /** the receive clock (epoch ms) */
  now: () => number;
  /** ticks the engine at `t` (runs what is due by then) */
  tick: (t: number) => void;
  /** how long before the due time the timer fires and polling starts (ms; default 1) */
  leadMs?: number;
  /** no polling while the mean gap between inputs is below this (ms; default 0.1) */
  pollGapMs?: number;
}

export class DueWake {
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** the due time the timer or the polling is set for (Infinity: nothing armed) */
  private armedFor = Infinity;
  private stopped = false;
  /** ticks made because an action fell due */
  wakes = 0;
  private readonly lead: number;
  private readonly pollGap: number;
  /** mean gap between inputs (ms, exponentially weighted), and the last input's time */
  private gap = Infinity;
  private lastInput = NaN;
  private readonly poll = (): void => this.check();

  constructor(private readonly opts: DueWakeOptions) {
    this.lead = opts.leadMs ?? 1;
    this.pollGap = opts.pollGapMs ?? 0.1;
  }

  /**
   * After every input (at `inputTime`, its receive time), once it is handled: notes the pace of inputs, runs
   * what fell due while it was handled, and arms for the next action. Running that at once, not from the
   * polling, matters when frames come in bursts: the WebSocket client hands over every frame of a socket
   * read in one go, before any timer or immediate runs, so the next frame of the burst would run the action
   * in its own path.
   */
  input(inputTime: number): void {
    const last = this.lastInput;
    this.lastInput = inputTime;
    if (last === last && inputTime >= last) this.gap = this.gap === Infinity ? inputTime - last : 0.9 * this.gap + 0.1 * (inputTime - last);
    if (!this.stopped) this.tickIfDue();
    this.arm();
  }

  /** Ticks the engine now if an action is due by now. */
  private tickIfDue(): void {
    const t = this.opts.now();
    if (this.opts.nextDue() <= t) {
      this.wakes++;
      this.opts.tick(t);
    }
  }

  /** If the next action is due sooner than what is armed, arms for it. Cheap when nothing changed. */
  arm(): void {
    if (this.stopped) return;
    const due = this.opts.nextDue();
    if (!(due < this.armedFor)) return;
    this.clear();
    this.armedFor = due;
    const wait = due - this.opts.now() - this.lead;
    if (wait >= 1) this.timer = setTimeout(this.poll, Math.floor(wait));
    else if (this.gap < this.pollGap) this.timer = setTimeout(this.poll, Math.max(0, Math.ceil(wait + this.lead)));
    else this.immediate = setImmediate(this.poll);
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.armedFor = Infinity;
  }

  private check(): void {
    this.timer = null;
    this.immediate = null;
    this.armedFor = Infinity;
    if (this.stopped) return;
    this.tickIfDue();
    // what is next (a frame may have run this one meanwhile): a timer, or polling again if it is that close
    this.arm();
  }
}
