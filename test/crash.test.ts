import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.js';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, listeningPort, papertape, waitFor, type Proc } from './support/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-crash-'));
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * kill -9 at random moments: the engine runs against serve-replay, is killed without warning several
 * times and restarted each time on the same DATA_DIR (it continues its session), then runs to the end of
 * the data. The database must reconcile exactly: cash and positions follow from the fills and fees, no
 * fill is duplicated or orphaned, every order's filled quantity is the sum of its fills.
 */
describe('crash safety', () => {
  it('loses and duplicates nothing across kill -9 and restarts', async () => {
    const replay = papertape(['serve-replay', ...SPOT_FILES, USDM_BTC, '--port', '0', '--speed', '25', '--start-delay', '800']);
    procs.push(replay);
    const exchange = `127.0.0.1:${await listeningPort(replay)}`;
    const env = {
      SYMBOLS: 'BTCUSDT', PORT: '0', DATA_DIR: dir, OBI_COOLDOWN_MS: '150', OBI_ORDER_TYPE: 'limit', OBI_ORDER_TTL_MS: '1500',
      CHECKPOINT_MS: '1000', WARMUP_SECONDS: '0', RISK_LOSS_STREAK: '0', SHABBAT_PAUSE: 'false', LOG_LEVEL: 'warn',
      BINANCE_SPOT_WS_URL: `ws://${exchange}`, BINANCE_SPOT_REST_URL: `http://${exchange}`,
      BINANCE_FUTURES_WS_URL: `ws://${exchange}`, BINANCE_FUTURES_REST_URL: `http://${exchange}`,
    };
    const start = async (): Promise<{ engine: Proc; api: string }> => {
      const engine = papertape(['run'], { ...env, LOG_LEVEL: 'info' });
      procs.push(engine);
      const api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(engine.stdout())?.[1], 20_000);
      return { engine, api };
    };
    const rng = new Rng(20261123);
    let fillsSeen = 0;
    for (let round = 0; round < 3; round++) {
      const { engine, api } = await start();
      // let it trade a little, then pull the plug at a random moment
      await waitFor('a fill in this run', async () => (await getJson(`${api}/account`)).body.fills > fillsSeen, 30_000, 50);
      await new Promise((r) => setTimeout(r, 300 + rng.next() * 1500));
      fillsSeen = (await getJson(`${api}/account`)).body.fills;
      engine.child.kill('SIGKILL');
      expect(await engine.exited).toBeNull();
    }
    const { engine, api } = await start();
    const cont = engine.stdout().split('\n').filter((l) => l.includes('"continuing the last session"')).map((l) => JSON.parse(l))[0];
    // the restart found the fills and a checkpoint written by a killed run (every second)
    expect(cont).toMatchObject({ fills: expect.any(Number), checkpointAt: expect.any(Number), skippedCheckpoints: [] });
    expect(cont.fills).toBeGreaterThan(0);
    console.log(`restart after the third kill -9: ${cont.fills} fills, ${cont.openOrders} working orders carried over`);
    await waitFor('the replay to finish', async () => (await getJson(`http://${exchange}/replay/status`)).body.finished === true, 90_000, 250);
    await waitFor('nothing in flight', async () => (await getJson(`${api}/status`)).body.execution.inFlight === 0, 10_000);
    const account = (await getJson(`${api}/account`)).body;
    const positions = (await getJson(`${api}/positions`)).body.positions as { venue: string; symbol: string; qty: number }[];
    expect(await engine.kill('SIGTERM')).toBe(0);

    const db = new Database(join(dir, 'papertape.db'), { readonly: true });
    try {
      const sessions = db.prepare('SELECT id, initial_cash FROM sessions').all() as { id: string; initial_cash: number }[];
      expect(sessions).toHaveLength(1); // one account, continued by every restart
      const fills = db.prepare('SELECT * FROM fills ORDER BY rowid').all() as { id: string; order_id: string; side: string; price: number; qty: number; fee: number; venue: string; symbol: string }[];
      expect(fills.length).toBeGreaterThan(3);
      expect(new Set(fills.map((f) => f.id)).size).toBe(fills.length);
      // every fill belongs to an order, and every order's filled quantity is the sum of its fills
      const orders = db.prepare('SELECT id, qty, filled_qty, status FROM orders').all() as { id: string; qty: number; filled_qty: number; status: string }[];
      const byId = new Map(orders.map((o) => [o.id, o]));
      const filled = new Map<string, number>();
      for (const f of fills) {
        expect(byId.has(f.order_id)).toBe(true);
        filled.set(f.order_id, (filled.get(f.order_id) ?? 0) + f.qty);
      }
      for (const o of orders) {
        expect(o.filled_qty).toBeCloseTo(filled.get(o.id) ?? 0, 9);
        if (o.status === 'FILLED') expect(o.filled_qty).toBeCloseTo(o.qty, 9);
      }
      // cash and positions follow exactly from the fills and fees
      let cash = sessions[0]!.initial_cash;
      const pos = new Map<string, number>();
      for (const f of fills) {
        const s = f.side === 'BUY' ? 1 : -1;
        cash -= s * f.price * f.qty + f.fee;
        pos.set(`${f.venue}:${f.symbol}`, (pos.get(`${f.venue}:${f.symbol}`) ?? 0) + s * f.qty);
      }
      expect(account.cash).toBeCloseTo(cash, 6);
      expect(account.fills).toBe(fills.length);
      for (const p of positions) expect(p.qty).toBeCloseTo(pos.get(`${p.venue}:${p.symbol}`) ?? 0, 9);
      for (const [k, q] of pos) if (Math.abs(q) > 1e-12) expect(positions.some((p) => `${p.venue}:${p.symbol}` === k)).toBe(true);
      // one event log per run
      expect(readdirSync(join(dir, 'sessions'))).toHaveLength(4);
    } finally {
      db.close();
    }
    // the last run continued from a restored state: its replay starts from the same state and matches it
    const last = readdirSync(join(dir, 'sessions')).sort().at(-1)!;
    const r = papertape(['replay-log', join(dir, 'sessions', last), '--db', join(dir, 'replay.db'), '--json']);
    expect(await r.exited, r.stderr()).toBe(0);
    const out = JSON.parse(r.stdout());
    expect(out.comparison.differences).toEqual([]);
    expect(out.comparison.fills.live).toBeGreaterThan(0);
  }, 180_000);
});
