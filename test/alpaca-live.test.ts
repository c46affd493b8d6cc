import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alpacaEngineEnv, engineApi, madeUpKeys, startAlpacaSimProc, type AlpacaKeys, type AlpacaSimProc } from './support/alpaca.js';
import { getJson, logLines, papertape, waitFor, type Proc } from './support/procs.js';

/**
 * `papertape run` trading TSLA on `papertape serve-alpaca` (a local Alpaca speaking the real protocol,
 * every fill split in 3 parts), as a user runs them: real processes over real sockets. Our orders, fills,
 * positions and account against Alpaca's own view; submits that time out or fail with 5xx; a restart that
 * finds the account changed behind its back; and the keys, which must appear nowhere.
 */

interface OurOrder {
  id: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  qty: number;
  status: string;
  filledQty: number;
  avgPrice: number;
  strategy: string;
  rejectReason?: string;
}
interface OurFill {
  id: string;
  orderId: string;
  qty: number;
  price: number;
}
interface OurPosition {
  symbol: string;
  qty: number;
  avgEntryPrice: number;
}
interface SimOrder {
  id: string;
  client_order_id: string;
  symbol: string;
  status: string;
  qty: string;
  filled_qty: string;
  filled_avg_price: string | null;
}
interface SimPosition {
  symbol: string;
  qty: string;
  avg_entry_price: string;
}

const OUR_ENDED = new Set(['FILLED', 'REJECTED', 'CANCELED', 'EXPIRED']);
const ALPACA_ENDED = new Set(['filled', 'canceled', 'rejected', 'expired']);

/** The number at the end of an engine order id (`<session>-<n>`). */
const orderNo = (id: string): number => Number(/-(\d+)$/.exec(id)![1]);

describe.sequential('live trading on Alpaca (serve-alpaca) over the wire', () => {
  const keys: AlpacaKeys = madeUpKeys();
  const token = randomBytes(16).toString('hex');
  let sim: AlpacaSimProc;
  let dir: string;
  let engine: Proc;
  let api: string;
  let restarted: Proc | undefined;
  const engines: Proc[] = [];

  const ours = async () => {
    const [o, f, p, s] = await Promise.all([getJson(`${api}/orders?limit=10000`), getJson(`${api}/fills?limit=10000`), getJson(`${api}/positions`), getJson(`${api}/status`)]);
    return { orders: o.body.orders as OurOrder[], fills: f.body.fills as OurFill[], positions: p.body.positions as OurPosition[], status: s.body };
  };
  const theirs = async () => {
    const [o, p] = await Promise.all([sim.rest<SimOrder[]>('GET', '/v2/orders?status=all&limit=500'), sim.rest<SimPosition[]>('GET', '/v2/positions')]);
    expect(o.status).toBe(200);
    expect(p.status).toBe(200);
    return { orders: o.body, pt: o.body.filter((x) => x.client_order_id.startsWith('pt-')), positions: p.body };
  };
  const control = async (cmd: 'pause' | 'resume'): Promise<void> => {
    const res = await fetch(`${api}/${cmd}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, ...(cmd === 'pause' ? { 'content-type': 'application/json' } : {}) },
      body: cmd === 'pause' ? JSON.stringify({ reason: 'test' }) : undefined,
    });
    expect(res.status, await res.text()).toBe(200);
  };
  /** Waits until no submit is in flight and every order has ended, ours and Alpaca's. */
  const settled = async (): Promise<void> => {
    await waitFor(
      'every order to end',
      async () => {
        const [a, b] = await Promise.all([ours(), theirs()]);
        return a.status.alpaca.submits.inFlight === 0 && a.orders.every((o) => OUR_ENDED.has(o.status)) && b.orders.every((o) => ALPACA_ENDED.has(o.status));
      },
      30_000,
      250,
    );
  };
  /**
   * Our orders, fills and TSLA position against Alpaca's, once everything has ended: every order of ours
   * that reached Alpaca is there once, filled as we booked it; the others were refused by Alpaca (403).
   */
  const compareWithAlpaca = async () => {
    const a = await ours();
    const b = await theirs();
    const cids = b.pt.map((o) => o.client_order_id);
    expect(new Set(cids).size).toBe(cids.length);
    const byCid = new Map(b.pt.map((o) => [o.client_order_id, o] as const));
    const fillsOf = (id: string) => a.fills.filter((f) => f.orderId === id);
    const reached = a.orders.filter((o) => byCid.has(`pt-${o.id}`));
    // nothing at Alpaca that we do not know
    expect(reached.length).toBe(b.pt.length);
    for (const o of a.orders) {
      const x = byCid.get(`pt-${o.id}`);
      if (!x) {
        // never placed: Alpaca refused it (no shorting on this account)
        expect(o.status, o.id).toBe('REJECTED');
        expect(o.rejectReason, o.id).toMatch(/^Alpaca: 403 /);
        expect(fillsOf(o.id), o.id).toEqual([]);
        continue;
      }
      expect(x.symbol).toBe(o.symbol);
      expect(Number(x.qty), o.id).toBe(o.qty);
      expect(x.status, o.id).toBe(o.status.toLowerCase());
      const filled = fillsOf(o.id).reduce((s, f) => s + f.qty, 0);
      expect(filled, o.id).toBe(Number(x.filled_qty));
      expect(o.filledQty, o.id).toBe(Number(x.filled_qty));
      if (Number(x.filled_qty) > 0) {
        expect(o.avgPrice, o.id).toBe(Number(x.filled_avg_price));
        const vwap = fillsOf(o.id).reduce((s, f) => s + f.qty * f.price, 0) / filled;
        expect(vwap, o.id).toBeCloseTo(Number(x.filled_avg_price), 6);
      }
    }
    const mine = a.positions.find((p) => p.symbol === 'TSLA');
    const at = b.positions.find((p) => p.symbol === 'TSLA');
    expect(mine?.qty ?? 0).toBe(Number(at?.qty ?? 0));
    return { ours: a, theirs: b, position: { mine, at } };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'papertape-alpaca-'));
    sim = await startAlpacaSimProc(keys, ['--partial-fills', '3']);
    engine = papertape(['run', '--fresh'], alpacaEngineEnv(dir, sim, keys, token));
    engines.push(engine);
    api = await engineApi(engine);
  }, 60_000);

  afterAll(async () => {
    for (const e of engines) await e.kill('SIGTERM');
    await sim?.proc.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the anomaly strategy trades TSLA: partial fills, and orders, fills, position and buying power as Alpaca has them', async () => {
    // an order filled in parts (partial_fill, partial_fill, fill): several fills, FILLED
    const split = await waitFor(
      'an order filled in parts',
      async () => {
        const a = await ours();
        return a.orders.find((o) => o.status === 'FILLED' && a.fills.filter((f) => f.orderId === o.id).length > 1);
      },
      90_000,
      250,
    );
    expect(split.symbol).toBe('TSLA');
    expect(split.strategy).toMatch(/^anomaly@/);
    const atAlpaca = (await sim.rest<SimOrder>('GET', `/v2/orders:by_client_order_id?client_order_id=pt-${split.id}`)).body;
    expect(atAlpaca).toMatchObject({ status: 'filled', symbol: 'TSLA', side: split.side.toLowerCase() });
    expect(Number(atAlpaca.filled_qty)).toBe(split.qty);

    await control('pause');
    await settled();
    const { ours: a, position } = await compareWithAlpaca();
    expect(a.orders.filter((o) => o.status === 'FILLED').length).toBeGreaterThan(0);
    expect(a.status.alpaca.submits.sent).toBe(a.orders.length);
    expect(a.status.alpaca.tradeUpdates.state).toBe('up');
    if (position.at) expect(position.mine!.avgEntryPrice).toBeCloseTo(Number(position.at.avg_entry_price), 6);

    // the account as Alpaca has it, read after trading stopped (an account poll every 5 s)
    const since = Date.now();
    const acct = await waitFor('an account read after trading stopped', async () => {
      const r = (await getJson(`${api}/account`)).body;
      return r.alpaca?.at > since ? r.alpaca : undefined;
    }, 15_000, 250);
    const simAccount = (await sim.rest<Record<string, string>>('GET', '/v2/account')).body;
    expect(acct.error).toBeNull();
    expect(acct.buyingPower).toMatch(/^\d+(\.\d+)?$/);
    expect(acct.buyingPower).toBe(simAccount['buying_power']);
    expect(acct.cash).toBe(simAccount['cash']);
    // it moved with the trades (100000 at the start)
    expect(acct.buyingPower).not.toBe('100000');
    await control('resume');
  }, 150_000);

  /**
   * Injects `fault` for the next POST /v2/orders while trading is paused, resumes, and returns the first
   * order placed after it once it has ended. An order Alpaca refuses (a sell beyond the position) proves
   * nothing about duplicates: the fault is set again until it meets an order Alpaca fills.
   */
  const faultedOrder = async (fault: Record<string, unknown>): Promise<OurOrder> => {
    for (let attempt = 0; attempt < 10; attempt++) {
      await control('pause');
      await settled();
      const before = Math.max(0, ...(await ours()).orders.map((o) => orderNo(o.id)));
      await sim.fault(fault);
      await control('resume');
      const victim = await waitFor(
        'an order to meet the fault',
        async () => {
          const a = await ours();
          const next = a.orders.filter((o) => orderNo(o.id) > before).sort((x, y) => orderNo(x.id) - orderNo(y.id))[0];
          return next && OUR_ENDED.has(next.status) && a.status.alpaca.submits.inFlight === 0 ? next : undefined;
        },
        60_000,
        250,
      );
      if (victim.status === 'FILLED') return victim;
      expect(victim.status).toBe('REJECTED');
    }
    throw new Error('no faulted order was filled in 10 attempts');
  };

  it('a submit that times out or fails with 500 places the order exactly once', async () => {
    const recovered0 = (await ours()).status.alpaca.submits.recovered as number;

    // the order is accepted, its answer never comes: the client gives up after 1.5 s, finds it by client_order_id
    const timedOut = await faultedOrder({ kind: 'timeout', route: 'POST /v2/orders', count: 1 });
    const one = (await theirs()).pt.filter((o) => o.client_order_id === `pt-${timedOut.id}`);
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ status: 'filled', filled_qty: String(timedOut.qty) });
    const status = (await ours()).status;
    expect(status.alpaca.submits.recovered).toBeGreaterThanOrEqual(recovered0 + 1);
    expect(logLines(engine).some((l) => l.msg === 'alpaca submit: no answer, will look up' && l['clientOrderId'] === `pt-${timedOut.id}`)).toBe(true);

    // a 500 (the order not taken): looked up, absent, sent again with the same client_order_id
    const failed = await faultedOrder({ kind: 'http', route: 'POST /v2/orders', status: 500, count: 1 });
    const once = (await theirs()).pt.filter((o) => o.client_order_id === `pt-${failed.id}`);
    expect(once).toHaveLength(1);
    expect(once[0]).toMatchObject({ status: 'filled', filled_qty: String(failed.qty) });

    // nothing duplicated: every order of ours at Alpaca once, and none of Alpaca's unknown to us
    await control('pause');
    await settled();
    const { ours: a, theirs: b } = await compareWithAlpaca();
    expect(b.pt.length).toBe(a.orders.filter((o) => o.status !== 'REJECTED').length);
    expect(a.status.counters.errors).toBe(0);
    // each lookup by client_order_id told: nothing was left for a reconciliation to settle
    expect(a.status.alpaca.submits.uncertain).toBe(0);
    expect(a.status.alpaca.submits.inFlight).toBe(0);
  }, 150_000);

  it('a restart reconciles with what changed at Alpaca while the engine was down', async () => {
    // it holds TSLA (it cannot be short on this account)
    if (Number((await theirs()).positions.find((p) => p.symbol === 'TSLA')?.qty ?? 0) <= 0) {
      await control('resume');
      await waitFor('a TSLA position', async () => Number((await theirs()).positions.find((p) => p.symbol === 'TSLA')?.qty ?? 0) > 0, 60_000, 250);
      await control('pause');
      await settled();
    }
    const before = await compareWithAlpaca();
    const held = before.position.mine!.qty;
    expect(held).toBeGreaterThan(0);
    expect(await engine.kill('SIGTERM'), engine.stderr().slice(-2000)).toBe(0);

    // bought by hand at Alpaca meanwhile
    const manual = await sim.rest<SimOrder>('POST', '/v2/orders', { symbol: 'TSLA', qty: '3', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'manual-1' });
    expect(manual.status).toBe(200);
    await waitFor('the manual order to fill', async () => (await sim.rest<SimOrder>('GET', '/v2/orders:by_client_order_id?client_order_id=manual-1')).body.status === 'filled', 30_000, 250);
    const atAlpaca = Number((await theirs()).positions.find((p) => p.symbol === 'TSLA')!.qty);
    expect(atAlpaca).toBe(held + 3);

    // the same DATA_DIR, no --fresh; no trading after the restart (a warm-up it never reaches)
    restarted = papertape(['run'], alpacaEngineEnv(dir, sim, keys, token, { WARMUP_POINTS: '1000000000' }));
    engines.push(restarted);
    api = await engineApi(restarted);
    const run = await waitFor('a reconciliation with the difference', async () => {
      const last = (await getJson(`${api}/status`)).body.alpaca?.reconcile?.last;
      return last && last.differences.length > 0 ? last : undefined;
    }, 30_000, 250);
    expect(run.error).toBeNull();
    expect(run.why).toBe('trade_updates listening');
    expect(run.differences).toContainEqual(expect.objectContaining({ kind: 'positionMismatch', symbol: 'TSLA', ours: String(held), theirs: String(atAlpaca), explainedByFills: false }));
    expect(run.applied).toBeGreaterThanOrEqual(1);

    const after = await waitFor('our TSLA position to be adopted', async () => {
      const a = await ours();
      return a.positions.find((p) => p.symbol === 'TSLA')?.qty === atAlpaca ? a : undefined;
    }, 10_000, 250);
    const adopted = after.orders.filter((o) => o.strategy === 'reconcile');
    expect(adopted).toHaveLength(1);
    expect(adopted[0]).toMatchObject({ symbol: 'TSLA', side: 'BUY', qty: 3, filledQty: 3, status: 'FILLED' });
    // the orders of the first run are all still there, and none was sent again
    expect(after.orders.length).toBe(before.ours.orders.length + 1);
    expect((await theirs()).pt.length).toBe(before.theirs.pt.length);
    expect(after.status.alpaca.submits.sent).toBe(0);
  }, 120_000);

  it('the Alpaca keys appear in no log, file or API answer; wrong keys stop the start with exit code 2', async () => {
    const secrets = [keys.keyId, keys.secret, keys.secret.slice(0, 16), keys.secret.slice(-16)];
    const leaks = (what: string, text: string | Buffer): string[] => secrets.filter((s) => (typeof text === 'string' ? text.includes(s) : text.includes(Buffer.from(s)))).map((s) => `${what} contains ${s}`);
    const found: string[] = [];

    // the API of the running (restarted) engine
    let answers = 0;
    for (const path of ['/status', '/account', '/orders?limit=10000', '/fills?limit=10000', '/metrics', '/openapi.json', '/metrics/prometheus', '/positions']) {
      const res = await fetch(`${api}${path}`);
      expect(res.status, path).toBe(200);
      const text = await res.text();
      expect(text.length, path).toBeGreaterThan(10);
      answers++;
      found.push(...leaks(`GET ${path}`, text));
    }
    expect(answers).toBe(8);
    expect(await restarted!.kill('SIGTERM'), restarted!.stderr().slice(-2000)).toBe(0);

    // both runs' logs
    for (const [i, e] of engines.entries()) {
      expect(e.stdout().length).toBeGreaterThan(1000);
      found.push(...leaks(`engine ${i} stdout`, e.stdout()), ...leaks(`engine ${i} stderr`, e.stderr()));
    }
    // every file of DATA_DIR, event logs decompressed
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    expect(files.some((f) => f.endsWith('papertape.db'))).toBe(true);
    expect(files.some((f) => f.endsWith('session.json'))).toBe(true);
    const logs = files.filter((f) => f.endsWith('.gz'));
    expect(logs.length).toBeGreaterThan(0);
    let decompressed = '';
    for (const f of files) {
      const raw = readFileSync(f);
      found.push(...leaks(f, raw));
      if (f.endsWith('.gz')) {
        const text = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
        decompressed += text.toString();
        found.push(...leaks(`${f} (decompressed)`, text));
      }
    }
    // the event logs were read: they hold the session's market data and Alpaca's answers
    expect(decompressed).toContain('"symbol":"TSLA"');
    expect(found).toEqual([]);

    // a wrong secret: refused at start, exit code 2, the variables named, no secret echoed
    const wrong = randomBytes(20).toString('hex');
    const wrongDir = mkdtempSync(join(tmpdir(), 'papertape-alpaca-wrong-'));
    try {
      const bad = papertape(['run', '--fresh'], alpacaEngineEnv(wrongDir, sim, { keyId: keys.keyId, secret: wrong }, token));
      engines.push(bad);
      expect(await bad.exited).toBe(2);
      const out = bad.stdout() + bad.stderr();
      expect(out).toMatch(/APCA_API_KEY_ID/);
      expect(out).toMatch(/APCA_API_SECRET_KEY/);
      expect(out).toMatch(/refused the keys/);
      expect(out).not.toContain(wrong);
      expect(out).not.toContain(keys.secret);
    } finally {
      rmSync(wrongDir, { recursive: true, force: true });
    }
  }, 60_000);
});
