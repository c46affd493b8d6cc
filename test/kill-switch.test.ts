import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, listeningPort, papertape, waitFor, type Proc } from './support/procs.js';

const TOKEN = 'kill-switch-test-token-42';
const dir = mkdtempSync(join(tmpdir(), 'papertape-kill-'));
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function serveReplay(speed: string): Promise<string> {
  const replay = papertape(['serve-replay', ...SPOT_FILES, USDM_BTC, '--port', '0', '--speed', speed, '--start-delay', '800']);
  procs.push(replay);
  return `127.0.0.1:${await listeningPort(replay)}`;
}

async function run(exchange: string): Promise<{ engine: Proc; api: string }> {
  const engine = papertape(['run'], {
    SYMBOLS: 'BTCUSDT', PORT: '0', DATA_DIR: dir, API_TOKEN: TOKEN, OBI_COOLDOWN_MS: '100',
    WARMUP_SECONDS: '0', RISK_LOSS_STREAK: '0', SHABBAT_PAUSE: 'false',
    BINANCE_SPOT_WS_URL: `ws://${exchange}`, BINANCE_SPOT_REST_URL: `http://${exchange}`,
    BINANCE_FUTURES_WS_URL: `ws://${exchange}`, BINANCE_FUTURES_REST_URL: `http://${exchange}`,
  });
  procs.push(engine);
  const api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(engine.stdout())?.[1]);
  return { engine, api };
}

const post = (url: string) => fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ flatten: true, reason: 'drill' }) });

describe('kill switch', () => {
  let killedAt = 0;

  it('stops every strategy order at once while the engine is busy with a fast replay, and flattens', async () => {
    const exchange = await serveReplay('100'); // 11 minutes of spot and USD-M in under 7 s
    const { engine, api } = await run(exchange);
    await waitFor('some strategy orders', async () => (await getJson(`${api}/orders?limit=5`)).body.orders.length >= 3, 30_000, 50);
    const sent = performance.now();
    const res = await post(`${api}/kill`);
    const roundTripMs = performance.now() - sent;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { at: number; state: { halted: boolean } };
    expect(body.state.halted).toBe(true);
    killedAt = body.at;
    // measured, not asserted (timing belongs in benchmarks): printed for the issue note
    console.log(`kill round trip under load: ${roundTripMs.toFixed(1)} ms`);
    await waitFor('the replay to finish', async () => (await getJson(`http://${exchange}/replay/status`)).body.finished === true, 60_000, 250);
    await waitFor('nothing in flight', async () => (await getJson(`${api}/status`)).body.execution.inFlight === 0, 10_000);
    const orders = (await getJson(`${api}/orders?limit=10000`)).body.orders as { createdAt: number; strategy: string }[];
    const after = orders.filter((o) => o.createdAt > killedAt);
    // only the kill switch's own flattening orders come after it; the strategy kept trying and was denied
    expect(after.every((o) => o.strategy === 'risk')).toBe(true);
    expect(orders.some((o) => o.createdAt <= killedAt && o.strategy !== 'risk')).toBe(true);
    const denials = (await getJson(`${api}/risk/denials`)).body.counts as Record<string, number>;
    expect(denials['halted'] ?? 0).toBeGreaterThan(0);
    const positions = (await getJson(`${api}/positions`)).body.positions as { qty: number }[];
    expect(positions.every((p) => Math.abs(p.qty) < 1e-12)).toBe(true);
    expect((await getJson(`${api}/orders/open`)).body.orders).toEqual([]);
    const code = await engine.kill('SIGTERM');
    if (code !== 0) console.log('STDERR', engine.stderr().slice(-2000));
    expect(code).toBe(0);
  }, 90_000);

  it('stays halted after a restart until an authenticated resume', async () => {
    const exchange = await serveReplay('40');
    const { engine, api } = await run(exchange);
    const status = (await getJson(`${api}/status`)).body;
    expect(status.engine.state).toBe('halted');
    expect(status.risk).toMatchObject({ halted: true, haltReason: 'drill' });
    expect(engine.stdout()).toMatch(/controls carried over from the last run/);
    // the strategy is denied while halted
    await waitFor('a halted denial', async () => ((await getJson(`${api}/risk/denials`)).body.counts.halted ?? 0) > 0, 30_000);
    const wrong = await fetch(`${api}/resume`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${api}/resume`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const resumedAt = ((await ok.json()) as { at: number }).at;
    // the restart continued the session (its earlier orders are listed too): look for a new one
    await waitFor('a strategy order after the resume', async () =>
      (await getJson(`${api}/orders?limit=20`)).body.orders.some((o: { strategy: string; createdAt: number }) => o.strategy.startsWith('obi@') && o.createdAt > resumedAt), 30_000);
    expect(await engine.kill('SIGTERM')).toBe(0);
  }, 90_000);
});
