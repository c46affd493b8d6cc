import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { papertape } from './support/procs.js';

const dir = mkdtempSync(join(tmpdir(), 'papertape-bt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `papertape backtest ... --json` and returns its summary. */
async function backtest(files: string[], args: string[], env: Record<string, string> = {}): Promise<Record<string, any>> {
  const p = papertape(['backtest', ...files, '--json', '--no-progress', ...args], { DATA_DIR: dir, ...env });
  const code = await p.exited;
  expect(code, p.stderr()).toBe(0);
  return JSON.parse(p.stdout()) as Record<string, any>;
}

function rows(db: string, sql: string): unknown[] {
  const d = new Database(db, { readonly: true });
  try {
    return d.prepare(sql).all();
  } finally {
    d.close();
  }
}

const PASSIVE = { OBI_ORDER_TYPE: 'post-only', OBI_COOLDOWN_MS: '500', LATENCY_JITTER_MS: '4', WARMUP_SECONDS: '0' };

describe('papertape backtest', () => {
  it('gives byte-identical results for the same inputs and seed', async () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    const [ra, rb] = await Promise.all([backtest(SPOT_FILES, ['--seed', '7', '--db', a], PASSIVE), backtest(SPOT_FILES, ['--seed', '7', '--db', b], PASSIVE)]);
    for (const k of ['events', 'orders', 'fills', 'trades', 'pnl', 'fees', 'finalEquity', 'elapsedMs']) expect(ra).toHaveProperty(k);
    const stable = (r: Record<string, any>) => ({ ...r, elapsedMs: 0, speed: 0, database: '' });
    expect(stable(ra)).toEqual(stable(rb));
    expect(ra['orders']).toBeGreaterThan(10);
    expect(ra['fills']).toBeGreaterThan(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    // the summary is what the database says
    const fills = rows(a, 'SELECT COUNT(*) AS n, SUM(fee) AS fees FROM fills') as { n: number; fees: number }[];
    expect(fills[0]!.n).toBe(ra['fills']);
    expect(fills[0]!.fees).toBeCloseTo(ra['fees'], 9);
    const orders = rows(a, 'SELECT COUNT(*) AS n FROM orders') as { n: number }[];
    expect(orders[0]!.n).toBe(ra['orders']);
  }, 60_000);

  it('uses the seed: with random latency jitter another seed gives other fill times', async () => {
    const a = join(dir, 'seed1.db');
    const b = join(dir, 'seed2.db');
    await Promise.all([backtest(SPOT_FILES, ['--seed', '1', '--db', a], PASSIVE), backtest(SPOT_FILES, ['--seed', '2', '--db', b], PASSIVE)]);
    const times = (db: string) => rows(db, 'SELECT received_at FROM fills ORDER BY rowid') as { received_at: number }[];
    expect(times(a).length).toBeGreaterThan(0);
    expect(times(a)).not.toEqual(times(b));
  }, 60_000);

  it('trades USD-M when only USD-M is recorded, with fills that respect the order model', async () => {
    const db = join(dir, 'usdm.db');
    const r = await backtest([USDM_BTC], ['--db', db]);
    expect(r['orders']).toBeGreaterThan(0);
    const fills = rows(db, `SELECT f.venue, f.liquidity, f.price, f.qty, f.fee, f.time, f.received_at, o.created_at
                            FROM fills f JOIN orders o ON o.id = f.order_id AND o.session_id = f.session_id`) as {
      venue: string; liquidity: string; price: number; qty: number; fee: number; time: number; received_at: number; created_at: number;
    }[];
    expect(fills.length).toBe(r['fills']);
    for (const f of fills) {
      expect(f.venue).toBe('usdm');
      expect(f.liquidity).toBe('taker'); // market orders by default
      expect(f.fee).toBeCloseTo(f.price * f.qty * 0.001, 9);
      // the order reached the exchange after the entry latency, the fill came back after the response latency
      expect(f.time - f.created_at).toBeCloseTo(30, 6);
      expect(f.received_at - f.time).toBeCloseTo(30, 6);
    }
  }, 60_000);

  it('reports bad input clearly', async () => {
    const missing = papertape(['backtest', join(dir, 'nope.gz'), '--json'], { DATA_DIR: dir });
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toMatch(/nope\.gz: no such file/);
    const badConfig = papertape(['backtest', ...SPOT_FILES, '--json'], { DATA_DIR: dir, QUEUE_MODEL: 'fifo', FEE_MAKER: 'cheap' });
    expect(await badConfig.exited).toBe(2);
    expect(badConfig.stderr()).toMatch(/QUEUE_MODEL/);
    expect(badConfig.stderr()).toMatch(/FEE_MAKER/);
  }, 30_000);
});
