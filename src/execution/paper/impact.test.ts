import { describe, expect, it } from 'vitest';
import { NoImpact, RecoveringImpact, type RecoveryShape } from './impact.js';

const T0 = 1_700_000_000_000;

describe('NoImpact', () => {
  it('always offers the displayed quantity', () => {
    const m = new NoImpact();
    m.consume('ask', 100, 10, T0);
    expect(m.available('ask', 100, 25, T0)).toBe(25);
    expect(m.available('bid', 99, 0, T0)).toBe(0);
  });
});

describe('RecoveringImpact', () => {
  it('a second aggressive order at the same moment sees less liquidity', () => {
    const m = new RecoveringImpact(1000, 'linear');
    expect(m.available('ask', 100, 25, T0)).toBe(25);
    m.consume('ask', 100, 10, T0);
    expect(m.available('ask', 100, 25, T0)).toBe(15);
  });

  it('never offers less than nothing', () => {
    const m = new RecoveringImpact(1000, 'linear');
    m.consume('ask', 100, 10, T0);
    expect(m.available('ask', 100, 6, T0)).toBe(0); // the level shrank below what we took
  });

  it.each<[number, number]>([
    // 8 lots taken from a 20-lot level, linear over 1000 ms: outstanding 8 * (1 - t / 1000)
    [0, 12],
    [250, 14], // 6 outstanding
    [500, 16], // half recovered after half the time
    [750, 18], // 2 outstanding
    [999, 20], // 0.008 outstanding: under half a lot
    [1000, 20], // fully recovered after recoveryMs
    [60_000, 20],
  ])('linear: %d ms after taking 8 of 20 lots, %d are available', (elapsed, want) => {
    const m = new RecoveringImpact(1000, 'linear');
    m.consume('ask', 100, 8, T0);
    expect(m.available('ask', 100, 20, T0 + elapsed)).toBe(want);
  });

  it.each<[number, number]>([
    // 8 lots taken, half-life 1000 ms: outstanding 8 * 2^(-t / 1000), rounded to whole lots
    [0, 12],
    [500, 14], // 8 / sqrt(2) = 5.657 -> 6
    [1000, 16], // half-life: 4
    [2000, 18], // 2
    [3000, 19], // 1
    [4000, 19], // 0.5 rounds up to 1
    [5000, 20], // 0.25: under half a lot counts as recovered
  ])('exponential: %d ms after taking 8 of 20 lots, %d are available', (elapsed, want) => {
    const m = new RecoveringImpact(1000, 'exponential');
    m.consume('bid', 100, 8, T0);
    expect(m.available('bid', 100, 20, T0 + elapsed)).toBe(want);
  });

  it.each<[RecoveryShape, number]>([
    ['linear', 5],
    ['exponential', 5],
  ])('%s: the outstanding amount at half-life / half-time of 10 lots is %d', (shape, want) => {
    const m = new RecoveringImpact(shape === 'linear' ? 2000 : 1000, shape);
    m.consume('ask', 7, 10, T0);
    expect(m.outstanding('ask', 7, T0 + 1000)).toBeCloseTo(want, 12);
  });

  it('linear: repeated consumption recovers the old amount first, then adds', () => {
    const m = new RecoveringImpact(1000, 'linear');
    m.consume('ask', 100, 10, T0);
    m.consume('ask', 100, 6, T0 + 500); // 5 still out + 6 = 11, recovering over 1000 ms from T0 + 500
    expect(m.outstanding('ask', 100, T0 + 500)).toBeCloseTo(11, 12);
    expect(m.available('ask', 100, 25, T0 + 500)).toBe(14);
    expect(m.outstanding('ask', 100, T0 + 1000)).toBeCloseTo(5.5, 12);
    expect(m.available('ask', 100, 25, T0 + 1000)).toBe(19); // 5.5 rounds to 6
    expect(m.available('ask', 100, 25, T0 + 1500)).toBe(25);
    expect(m.size).toBe(1);
  });

  it('exponential: repeated consumption accumulates on the decayed amount', () => {
    const m = new RecoveringImpact(1000, 'exponential');
    m.consume('bid', 50, 8, T0);
    m.consume('bid', 50, 8, T0 + 1000); // 4 + 8 = 12
    expect(m.outstanding('bid', 50, T0 + 1000)).toBeCloseTo(12, 12);
    expect(m.outstanding('bid', 50, T0 + 2000)).toBeCloseTo(6, 12);
  });

  it('keeps sides and prices independent', () => {
    const m = new RecoveringImpact(1000, 'linear');
    m.consume('ask', 100, 10, T0);
    m.consume('bid', 99, 3, T0);
    expect(m.available('ask', 100, 25, T0)).toBe(15);
    expect(m.available('bid', 100, 25, T0)).toBe(25);
    expect(m.available('ask', 101, 25, T0)).toBe(25);
    expect(m.available('bid', 99, 25, T0)).toBe(22);
    expect(m.available('ask', 99, 25, T0)).toBe(25);
  });

  it('keeps no memory when recoveryMs is 0', () => {
    const m = new RecoveringImpact(0, 'linear');
    m.consume('ask', 100, 10, T0);
    expect(m.available('ask', 100, 25, T0)).toBe(25);
    expect(m.size).toBe(0);
  });

  it('ignores non-positive consumption', () => {
    const m = new RecoveringImpact(1000, 'linear');
    m.consume('ask', 100, 0, T0);
    m.consume('ask', 100, -3, T0);
    expect(m.size).toBe(0);
    expect(m.available('ask', 100, 5, T0)).toBe(5);
  });

  it.each<RecoveryShape>(['linear', 'exponential'])('%s: pruning keeps the entry count bounded under many consumptions', (shape) => {
    // 10 000 orders, each taking 1 lot at a new price every 10 ms; a lot is back (under 0.5 left)
    // within 100 ms either way, so at most ~11 levels are outstanding at any time
    const m = new RecoveringImpact(100, shape);
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      m.consume(i % 2 === 0 ? 'ask' : 'bid', 1_000 + i, 1, T0 + i * 10);
      most = Math.max(most, m.size);
    }
    expect(most).toBeLessThanOrEqual(11);
    expect(m.available('ask', 1_000 + 9_998, 3, T0 + 99_990)).toBe(2); // the latest are still remembered
  });

  it('grows past its initial capacity when many levels are outstanding at once, losing nothing', () => {
    const m = new RecoveringImpact(1000, 'linear');
    for (let p = 0; p < 200; p++) m.consume(p % 2 === 0 ? 'ask' : 'bid', p, p + 1, T0);
    expect(m.size).toBe(200);
    for (let p = 0; p < 200; p++) {
      expect(m.available(p % 2 === 0 ? 'ask' : 'bid', p, 500, T0)).toBe(500 - (p + 1));
    }
    m.consume('ask', 0, 1, T0 + 1000); // everything else has recovered: pruned in the same pass
    expect(m.size).toBe(1);
    expect(m.available('ask', 0, 500, T0 + 1000)).toBe(499);
  });

  it.each([
    [() => new RecoveringImpact(-1, 'linear'), /recoveryMs must be a finite number >= 0/],
    [() => new RecoveringImpact(NaN, 'exponential'), /recoveryMs must be a finite number >= 0/],
    [() => new RecoveringImpact(100, 'cubic' as RecoveryShape), /shape must be linear or exponential/],
  ])('rejects bad settings (%#)', (make, msg) => {
    expect(make).toThrowError(msg);
  });
});
