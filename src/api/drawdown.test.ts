import { describe, expect, it } from 'vitest';
import { apiFixtures, buyBtc, depth, T0 } from '../../test/support/api.js';

const setup = apiFixtures();

describe('drawdown duration: GET /account and GET /metrics agree', () => {
  it('an exact recovery to the peak ends the spell in both (one definition: the statistics module\'s)', async () => {
    const f = await setup({ env: { EQUITY_SNAPSHOT_MS: '100' } });
    buyBtc(f, T0 + 20);
    // move the mid: up (a new high), down, back to exactly the same book (equity back at the peak), down again
    let u = 102;
    let prev: [string, string] = ['60000.00', '60001.00'];
    let t = T0 + 1_000;
    const accountAt: { since: number | null; longest: number }[] = [];
    for (const bid of [61_000, 59_000, 61_000, 61_000, 59_500, 61_000, 60_500]) {
      const next: [string, string] = [bid.toFixed(2), (bid + 1).toFixed(2)];
      depth(f, 'BTCUSDT', u++, [[prev[0], '0'], [next[0], '2.0']], [[prev[1], '0'], [next[1], '2.0']], t);
      prev = next;
      f.setNow(t + 1);
      f.engine.tick(t + 1);
      const [account, metrics] = (await Promise.all([fetch(`${f.base}/account`).then((r) => r.json()), fetch(`${f.base}/metrics`).then((r) => r.json())])) as [any, any];
      expect(account.longestDrawdownMs, `at ${t - T0}`).toBe(metrics.overall.maxDrawdownDurationMs);
      expect(account.drawdown < 0, `at ${t - T0}`).toBe(metrics.overall.currentDrawdown < 0);
      expect(account.maxDrawdown).toBeCloseTo(metrics.overall.maxDrawdown, 12);
      // one definition of the Sharpe and max drawdown in /metrics
      expect(metrics.sharpe).toBe(metrics.overall.returns.sharpe);
      expect(metrics.maxDrawdown).toBe(metrics.overall.maxDrawdown);
      accountAt.push({ since: account.drawdownSince, longest: account.longestDrawdownMs });
      t += 2_000;
    }
    // (rows are written at the book changes, at 1 s, 3 s, ... after T0) the buy's fee puts equity under the initial
    // cash from the start; a new high at 1 s ends that spell (1 s); under water from that peak at 3 s; the exact
    // recovery at 5 s ends the spell 1 s -> 5 s; the same book at 7 s changes nothing (no row), so the spell
    // seen at 9 s runs from the peak at 5 s (not from 7 s or 9 s); the recovery at 11 s ends it (6 s)
    expect(accountAt.map((a) => (a.since === null ? null : a.since - T0))).toEqual([null, 1_000, null, null, 5_000, null, 11_000]);
    expect(accountAt.map((a) => a.longest)).toEqual([1_000, 2_001, 4_000, 4_000, 4_001, 6_000, 6_000]);
    expect(f.engine.book('spot', 'BTCUSDT', 1)!.state).toBe('synced');
  });
});
