import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, listeningPort, papertape, waitFor } from './support/procs.js';

/**
 * Exact replay: a live session against serve-replay (spot and USD-M over the wire, passive orders with a
 * random latency jitter so the queue models, cancels and the seeded generator all matter), then
 * `papertape replay-log` of its event log. Orders and fills must be identical, field by field.
 */
const TOKEN = 'replay-log-test-token-0123';

describe('live session -> replay-log', () => {
  let dir: string;
  let sessionDir: string;
  let liveDb: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papertape-replaylog-'));
    const replay = papertape(['serve-replay', SPOT_FILES[0]!, USDM_BTC, '--port', '0', '--speed', '60', '--start-delay', '1000']);
    try {
      const port = await listeningPort(replay);
      const ex = `127.0.0.1:${port}`;
      const engine = papertape(['run'], {
        SYMBOLS: 'BTCUSDT',
        PORT: '0',
        DATA_DIR: dir,
        LOG_LEVEL: 'info',
        OBI_COOLDOWN_MS: '200',
        OBI_ORDER_TYPE: 'post-only',
        OBI_ORDER_TTL_MS: '3000',
        LATENCY_JITTER_MS: '5',
        WARMUP_SECONDS: '0',
        SHABBAT_PAUSE: 'false',
        API_TOKEN: TOKEN,
        BINANCE_SPOT_WS_URL: `ws://${ex}`,
        BINANCE_SPOT_REST_URL: `http://${ex}`,
        BINANCE_FUTURES_WS_URL: `ws://${ex}`,
        BINANCE_FUTURES_REST_URL: `http://${ex}`,
      });
      const api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(engine.stdout())?.[1]);
      // an operator pauses and resumes mid-session: commands are inputs too, and the replay must apply them
      await waitFor('some orders', async () => (await getJson(`${api}/orders?limit=5`)).body.orders.length >= 3, 30_000);
      const control = async (path: string) => {
        const res = await fetch(`${api}${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
        expect(res.status).toBe(200);
      };
      await control('/pause');
      await waitFor('a paused strategy order', async () => ((await getJson(`${api}/risk/denials`)).body.counts.paused ?? 0) > 0, 20_000);
      await control('/resume');
      await waitFor('the replay to finish', async () => (await getJson(`http://${ex}/replay/status`)).body.finished === true, 60_000, 250);
      // let the last messages and the in-flight reports land, then stop the way a user does
      await waitFor('the engine to be idle', async () => (await getJson(`${api}/status`)).body.execution.inFlight === 0, 10_000);
      expect(await engine.kill('SIGINT')).toBe(0);
    } finally {
      await replay.kill('SIGTERM');
    }
    const sessions = readdirSync(join(dir, 'sessions'));
    expect(sessions).toHaveLength(1);
    sessionDir = join(dir, 'sessions', sessions[0]!);
    liveDb = join(dir, 'papertape.db');
  }, 120_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reproduces every order and fill of the live session exactly', async () => {
    const replayDb = join(dir, 'replay.db');
    const p = papertape(['replay-log', sessionDir, '--db', replayDb, '--json']);
    expect(await p.exited, p.stderr()).toBe(0);
    const out = JSON.parse(p.stdout());
    expect(out.comparison.differences).toEqual([]);

    // an independent comparison, straight from the two SQLite files
    const read = (file: string, sql: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare(sql).all();
      } finally {
        db.close();
      }
    };
    const ordersSql = 'SELECT * FROM orders ORDER BY id';
    const fillsSql = 'SELECT * FROM fills ORDER BY id';
    const liveOrders = read(liveDb, ordersSql);
    const liveFills = read(liveDb, fillsSql) as { liquidity: string }[];
    expect(liveOrders.length).toBeGreaterThan(5);
    expect(liveFills.length).toBeGreaterThan(0);
    expect(liveFills.every((f) => f.liquidity === 'maker')).toBe(true); // post-only: queue fills
    expect(read(replayDb, ordersSql)).toEqual(liveOrders);
    expect(read(replayDb, fillsSql)).toEqual(liveFills);
    expect(read(replayDb, 'SELECT * FROM trades ORDER BY id')).toEqual(read(liveDb, 'SELECT * FROM trades ORDER BY id'));
    const denials = read(liveDb, 'SELECT time, check_name, reason FROM risk_denials ORDER BY id') as { check_name: string }[];
    expect(denials.some((d) => d.check_name === 'paused')).toBe(true);
    expect(read(replayDb, 'SELECT time, check_name, reason FROM risk_denials ORDER BY id')).toEqual(denials);
  }, 60_000);
});
