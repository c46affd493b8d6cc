import { describe, expect, it } from 'vitest';
import { StopTracker } from './stops.js';

/** Three 1-second bars of range 10 each (no gaps): ATR(3) = 10. */
function tracker(stopAtr: number, takeProfitAtr = 0): StopTracker {
  const s = new StopTracker({ stopAtr, takeProfitAtr, barMs: 1000, period: 3 });
  for (const [t, p] of [[0, 100], [500, 110], [1000, 110], [1500, 100], [2000, 100], [2500, 110], [3000, 105]] as const) s.onTrade(p, 1, t);
  return s;
}

describe('ATR stops', () => {
  it('knows nothing before the ATR window is full', () => {
    const s = new StopTracker({ stopAtr: 2, takeProfitAtr: 0, barMs: 1000, period: 3 });
    s.onTrade(100, 1, 0);
    s.onTrade(90, 1, 1000);
    expect(s.check(1, 100, 10)).toBeNull();
  });

  it.each([
    ['long above its stop', 1, 100, 80.01, null],
    ['long at its stop (entry − 2 ATR)', 1, 100, 80, 'stop_loss'],
    ['long below its stop', 0.5, 100, 70, 'stop_loss'],
    ['short below its stop', -1, 100, 119.99, null],
    ['short at its stop (entry + 2 ATR)', -1, 100, 120, 'stop_loss'],
    ['flat', 0, 100, 0, null],
  ] as const)('%s', (_n, qty, entry, price, kind) => {
    const s = tracker(2);
    expect(s.value).toBeCloseTo(10, 12);
    expect(s.check(qty, entry, price)?.kind ?? null).toBe(kind);
  });

  it('takes profit at its ATR multiple when configured', () => {
    const s = tracker(2, 3);
    expect(s.check(1, 100, 129.9)).toBeNull();
    expect(s.check(1, 100, 130)).toMatchObject({ kind: 'take_profit', level: 130 });
    expect(s.check(-1, 100, 70)).toMatchObject({ kind: 'take_profit', level: 70 });
  });
});
