import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../core/wait.js';
import { DueWake } from './wake.js';

/** A scheduler of due times on the real clock, ticked by the wake; each tick runs what is due by then. */
function setup() {
  const due: number[] = [];
  const ran: { due: number; at: number }[] = [];
  const ticks: number[] = [];
  const now = (): number => performance.timeOrigin + performance.now();
  const nextDue = (): number => (due.length ? Math.min(...due) : Infinity);
  const runDue = (t: number): void => {
    for (let i = due.length - 1; i >= 0; i--) {
      if (due[i]! <= t) ran.push({ due: due.splice(i, 1)[0]!, at: t });
    }
  };
  const wake = new DueWake({
    nextDue,
    now,
    tick: (t) => {
      ticks.push(t);
      runDue(t);
    },
  });
  wakes.push(wake);
  return { due, ran, ticks, now, wake, runDue };
}

const wakes: DueWake[] = [];
afterEach(() => {
  while (wakes.length) wakes.pop()!.stop();
});

describe('DueWake', () => {
  it('ticks once an action falls due, never before it, and then arms for the next one', async () => {
    const s = setup();
    const t0 = s.now();
    s.due.push(t0 + 8, t0 + 3);
    s.wake.arm();
    await waitFor('both actions to run', () => s.ran.length === 2, 5000, 1);
    // in due order, each at or after its due time, one tick each
    expect(s.ran.map((r) => r.due)).toEqual([t0 + 3, t0 + 8]);
    for (const r of s.ran) expect(r.at).toBeGreaterThanOrEqual(r.due);
    expect(s.ticks).toHaveLength(2);
    expect(s.wake.wakes).toBe(2);
  });

  it('an earlier action armed later still runs first; nothing armed, nothing ticks', async () => {
    const s = setup();
    s.wake.arm(); // nothing due: no timer
    const t0 = s.now();
    s.due.push(t0 + 300);
    s.wake.arm();
    s.due.push(t0 + 2);
    s.wake.arm();
    await waitFor('the earlier action', () => s.ran.length >= 1, 5000, 1);
    // run on its own, long before the later one was due (not with it)
    expect(s.ran).toEqual([{ due: t0 + 2, at: s.ran[0]!.at }]);
    expect(s.ran[0]!.at).toBeLessThan(t0 + 300);
    await waitFor('the later action', () => s.ran.length === 2, 5000, 1);
    expect(s.ran[1]!.due).toBe(t0 + 300);
    expect(s.ran[1]!.at).toBeGreaterThanOrEqual(t0 + 300);
  });

  it('does not tick for an action a frame already ran', async () => {
    const s = setup();
    const t0 = s.now();
    s.due.push(t0 + 5);
    s.wake.arm();
    // a frame arrives first and runs it (live: the processor's advanceTo), in the same turn of the loop
    // as the due time passes: the wake's polling gets no turn before it
    while (s.now() < t0 + 5);
    s.runDue(s.now());
    const later = s.now() + 20;
    await waitFor('20 ms more', () => s.now() >= later, 5000, 5);
    expect(s.ticks).toHaveLength(0);
    expect(s.ran).toHaveLength(1);
  });

  it('with inputs closer together than pollGapMs it waits on a timer alone, and still ticks once the action is due', async () => {
    const s = setup();
    const t0 = s.now();
    // 100 inputs 30 µs apart (a 100x replay's pace): no polling from then on
    for (let i = 0; i < 100; i++) s.wake.input(t0 - 3 + i * 0.03);
    s.due.push(t0 + 0.5);
    s.wake.arm();
    await waitFor('the action', () => s.ran.length === 1, 5000, 1);
    expect(s.ran[0]!.at).toBeGreaterThanOrEqual(t0 + 0.5);
    expect(s.ticks).toHaveLength(1);
  });

  it('an action that fell due while an input was handled runs when it is done, before the next input', () => {
    const s = setup();
    const t0 = s.now();
    s.due.push(t0 + 1, t0 + 60_000);
    s.wake.arm();
    // an input handled for over a millisecond (a burst of frames: no timer or immediate runs in between)
    while (s.now() < t0 + 1.2);
    s.wake.input(t0);
    // at once, in the same turn: only what was due
    expect(s.ticks).toHaveLength(1);
    expect(s.ran).toEqual([{ due: t0 + 1, at: s.ticks[0]! }]);
    expect(s.ticks[0]!).toBeGreaterThanOrEqual(t0 + 1.2);
    // nothing due: the next input ticks nothing
    s.wake.input(s.now());
    expect(s.ticks).toHaveLength(1);
    expect(s.wake.wakes).toBe(1);
  });

  it('stops: an armed action is left to the next input', async () => {
    const s = setup();
    const t0 = s.now();
    s.due.push(t0 + 2);
    s.wake.arm();
    s.wake.stop();
    s.wake.arm();
    const later = t0 + 30;
    while (s.now() < t0 + 3);
    s.wake.input(s.now());
    await waitFor('30 ms', () => s.now() >= later, 5000, 5);
    expect(s.ticks).toHaveLength(0);
  });
});
