import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SPOT_FILES } from './support/data.js';
import { getJson, papertape, waitFor } from './support/procs.js';
import { startSession } from './support/session.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-shadow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHADOW = 'tight:IMBALANCE_THRESHOLD=0.5&OBI_LEVELS=10;passive:OBI_ORDER_TYPE=post-only';

async function backtest(db: string, env: Record<string, string>): Promise<Record<string, any>> {
  const p = papertape(['backtest', SPOT_FILES[0]!, '--json', '--no-progress', '--db', db], { DATA_DIR: dir, WARMUP_SECONDS: '0', ...env });
  expect(await p.exited, p.stderr()).toBe(0);
  return JSON.parse(p.stdout());
}

function rows(db: string, sql: string, ...args: unknown[]): Record<string, unknown>[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all(...args) as Record<string, unknown>[];
  } finally {
    d.close();
  }
}

describe('shadow variants', () => {
  it('run on their own virtual accounts: the trading account is exactly what it is without them', async () => {
    const alone = join(dir, 'alone.db');
    const withShadows = join(dir, 'shadows.db');
    const [a, b] = await Promise.all([backtest(alone, {}), backtest(withShadows, { SHADOW })]);
    expect(b.shadows.map((s: { name: string }) => s.name)).toEqual(['tight', 'passive']);
    expect(b.shadows[1].orders).toBeGreaterThan(0);
    // the trading session's orders and fills, column by column but the session id
    const strip = (r: Record<string, unknown>[]) => r.map(({ session_id: _s, id, order_id, ...rest }) => ({ ...rest, id: String(id).split('-').pop(), order_id: order_id === undefined ? undefined : String(order_id).split('-').pop() }));
    expect(strip(rows(withShadows, 'SELECT * FROM fills WHERE session_id = ? ORDER BY rowid', b.sessionId))).toEqual(strip(rows(alone, 'SELECT * FROM fills WHERE session_id = ? ORDER BY rowid', a.sessionId)));
    expect(strip(rows(withShadows, 'SELECT * FROM orders WHERE session_id = ? ORDER BY rowid', b.sessionId))).toEqual(strip(rows(alone, 'SELECT * FROM orders WHERE session_id = ? ORDER BY rowid', a.sessionId)));
    expect(b.pnl).toBe(a.pnl);
    // each shadow wrote only to its own session
    for (const s of b.shadows) {
      const fills = rows(withShadows, 'SELECT COUNT(*) AS n FROM fills WHERE session_id = ?', s.sessionId)[0]!['n'];
      expect(fills).toBe(s.fills);
      expect(s.strategy).not.toBe(b.shadows.find((x: { name: string }) => x.name !== s.name).strategy);
    }
  }, 60_000);

  it('GET /strategies compares the trading strategy with its shadows', async () => {
    const TOKEN = 'shadow-test-token-0123456';
    const s = await startSession({ replay: [SPOT_FILES[0]!, '--speed', '40', '--start-delay', '800'], env: { SHADOW, FUTURES: 'false', OBI_COOLDOWN_MS: '200', EQUITY_SNAPSHOT_MS: '1000', API_TOKEN: TOKEN } });
    try {
      // promotion: authenticated, validated, recorded with its time; the variant then trades the symbol
      const promote = (body: unknown, token?: string) =>
        fetch(`${s.api}/strategies/promote`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      expect((await promote({ variant: 'passive' })).status).toBe(401);
      expect((await promote({ variant: 'passive' }, 'wrong-token-wrong-token')).status).toBe(401);
      expect((await promote({ variant: 'nope' }, TOKEN)).status).toBe(404);
      expect((await promote({ variant: 'passive', symbols: ['ETHUSDT'] }, TOKEN)).status).toBe(400);
      await waitFor('some trading orders', async () => (await getJson(`${s.api}/orders?limit=5`)).body.orders.length >= 2, 30_000);
      const ok = await promote({ variant: 'passive', symbols: ['btcusdt'] }, TOKEN);
      expect(ok.status).toBe(200);
      const promotedAt = ((await ok.json()) as { at: number; promoted: Record<string, string> }).at;
      const passiveId = (await getJson(`${s.api}/strategies`)).body.variants.find((v: { name: string }) => v.name === 'passive').strategy;
      await waitFor('an order of the promoted variant', async () =>
        (await getJson(`${s.api}/orders?limit=20`)).body.orders.some((o: { strategy: string; createdAt: number }) => o.createdAt > promotedAt && o.strategy === passiveId), 30_000);
      const after = (await getJson(`${s.api}/orders?limit=1000`)).body.orders.filter((o: { createdAt: number; strategy: string }) => o.createdAt > promotedAt && o.strategy !== 'risk');
      expect(after.every((o: { strategy: string }) => o.strategy === passiveId)).toBe(true);
      await waitFor('the replay to finish', async () => (await getJson(`http://${s.exchange}/replay/status`)).body.finished === true, 60_000, 250);
      const { status, body } = await getJson(`${s.api}/strategies`);
      expect(status).toBe(200);
      expect(body.variants.map((v: { name: string; role: string }) => [v.name, v.role])).toEqual([['trading', 'trading'], ['tight', 'shadow'], ['passive', 'shadow']]);
      for (const v of body.variants) {
        expect(v.strategy).toMatch(/^obi@/);
        expect(typeof v.pnl).toBe('number');
        expect(v.psrVsTrading === null || (v.psrVsTrading >= 0 && v.psrVsTrading <= 1)).toBe(true);
      }
      expect(body.variants[0].psrVsTrading).toBeNull();
      expect(body.variants[2].orders).toBeGreaterThan(0);
      expect(body.promoted).toEqual({ BTCUSDT: 'passive' });
      expect(body.changes).toEqual([{ time: promotedAt, symbols: ['BTCUSDT'], variant: 'passive', strategy: passiveId }]);
    } finally {
      await s.stop();
    }
  }, 90_000);
});
