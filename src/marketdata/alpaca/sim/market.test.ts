import { describe, expect, it } from 'vitest';
import type { SymbolData } from './bars.js';
import { Market } from './market.js';

const T0 = Date.UTC(2025, 0, 1);
const data = (): SymbolData => ({
  symbol: 'DOGE/USD',
  assetClass: 'crypto',
  tick: 0.00001,
  bars: [0, 1, 2].map((i) => ({ t: T0 + i * 60_000, o: 1 + i, h: 1.5 + i, l: 0.5 + i, c: 1.2 + i, v: 4 })),
});

describe('Market', () => {
  it('starts after the warm-up bars, publishes the bar after its fourth tick, and wraps with increasing times', () => {
    const m = new Market([data()], { warmupBars: 1 });
    expect(m.last('DOGE/USD')!.price).toBe(1.2); // previous close
    expect(m.history('DOGE/USD')).toHaveLength(1);
    const first = m.step();
    expect(first.map((x) => x.msg.T)).toEqual(['q', 't']);
    expect(first[1]!.msg).toMatchObject({ p: 2, s: 1, tks: 'B', t: new Date(T0 + 60_000 + 1).toISOString() });
    const rest = [m.step(), m.step(), m.step()].flat();
    expect(rest.map((x) => x.msg.T)).toEqual(['q', 't', 'q', 't', 'q', 't', 'b']);
    expect(m.history('DOGE/USD')).toHaveLength(2);
    for (let i = 0; i < 4; i++) m.step(); // bar 2, then the wrap
    // wrapped: bar 1 again, one data span (2 minutes) later
    expect(m.time('DOGE/USD')).toBe(T0 + 2 * 60_000 + 45_000);
    m.step();
    expect(m.time('DOGE/USD')).toBe(T0 + 3 * 60_000);
    expect(m.dataTime('DOGE/USD')).toBe(T0 + 60_000);
  });

  it('shifts the data to startAt', () => {
    const at = Date.UTC(2026, 5, 1, 12, 0, 30);
    const m = new Market([data()], { warmupBars: 1, startAt: at });
    expect(m.history('DOGE/USD')[0]!.t).toBe(Date.UTC(2026, 5, 1, 11, 59));
    m.step();
    expect(m.time('DOGE/USD')).toBe(Date.UTC(2026, 5, 1, 12, 0));
    expect(m.dataTime('DOGE/USD')).toBe(T0 + 60_000);
  });
});
