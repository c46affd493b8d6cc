import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, logLines, papertape, waitFor, type LogLine } from './support/procs.js';
import { startSession, type Session } from './support/session.js';

/**
 * Disk faults. At start, a DATA_DIR that cannot be written is a clear error (exit 2, the message names
 * DATA_DIR, no stack trace). In the middle of a run, a full database (DB_MAX_MB: SQLite's max_page_count,
 * which fails a write with SQLITE_FULL exactly as a full disk does) halts trading (kill switch, the
 * reason in /status), no order is sent after it, the process keeps running and stops cleanly, and the
 * database keeps what was written before (integrity_check ok).
 */

/** A directory that exists and that this process cannot write in, even as root. */
function unwritableDir(): { dir: string; cleanup: () => void } {
  if (process.getuid?.() === 0) {
    // root ignores file modes: sysfs refuses new files to everyone
    const dir = '/sys/fs';
    expect(() => writeFileSync(join(dir, 'papertape-probe'), 'x')).toThrow();
    return { dir, cleanup: () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'papertape-ro-'));
  chmodSync(dir, 0o555);
  expect(() => writeFileSync(join(dir, 'probe'), 'x')).toThrow();
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('a DATA_DIR that cannot be written stops the start with a clear message', () => {
  const cases: [string, () => { dir: string; cleanup: () => void }][] = [
    ['a read-only directory', unwritableDir],
    [
      'a file in place of the directory',
      () => {
        const parent = mkdtempSync(join(tmpdir(), 'papertape-file-'));
        const dir = join(parent, 'data');
        writeFileSync(dir, 'not a directory');
        return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
      },
    ],
  ];
  it.each(cases)('%s', async (_name, make) => {
    const { dir, cleanup } = make();
    try {
      const p = papertape(['run'], { SYMBOLS: 'BTCUSDT', PORT: '0', DATA_DIR: dir, BINANCE_SPOT_REST_URL: 'http://127.0.0.1:9', BINANCE_FUTURES_REST_URL: 'http://127.0.0.1:9' });
      const code = await p.exited;
      expect(code).toBe(2);
      expect(p.stderr()).toContain(`DATA_DIR ${dir} is not writable`);
      expect(p.stderr()).not.toMatch(/^\s+at /m); // no stack trace
      expect(p.stdout()).not.toContain('papertape running');
    } finally {
      cleanup();
    }
  }, 30_000);
});

describe('a full database mid-run halts trading safely', () => {
  let session: Session;
  let logs: LogLine[];
  let atFailure: any;
  let atEnd: any;
  let exitCode: number | null;
  let db: { integrity: string; orders: number; fills: number; sessions: number };
  let apiOrders: number;

  beforeAll(async () => {
    session = await startSession({
      replay: [SPOT_FILES[0]!, USDM_BTC, '--speed', '20', '--start-delay', '1500'],
      // about 50 pages: the fresh database fits, a few dozen orders and fills later it is full
      env: { OBI_COOLDOWN_MS: '0', API_RATE_LIMIT: '0', DB_MAX_MB: '0.2' },
    });
    try {
      atFailure = await waitFor('the database to fill up', async () => {
        const s = (await getJson(`${session.api}/status`)).body;
        return s.session?.storage?.ok === false && s;
      }, 60_000, 100);
      await waitFor('the replay to finish', async () => (await getJson(`http://${session.exchange}/replay/status`)).body.finished === true, 60_000, 250);
      atEnd = (await getJson(`${session.api}/status`)).body;
      apiOrders = (await getJson(`${session.api}/orders?limit=10000`)).body.orders.length;
      expect(session.engine.child.exitCode).toBeNull(); // still running
      exitCode = await session.engine.kill('SIGTERM');
      logs = logLines(session.engine);
      const conn = new Database(join(session.dir, 'papertape.db'), { readonly: true, fileMustExist: true });
      try {
        const count = (t: string) => (conn.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
        db = { integrity: conn.pragma('integrity_check', { simple: true }) as string, orders: count('orders'), fills: count('fills'), sessions: count('sessions') };
      } finally {
        conn.close();
      }
    } catch (e) {
      await session.stop();
      throw e;
    }
  }, 150_000);

  afterAll(async () => {
    await session?.stop();
  });

  it('halts with the kill switch, and /status says why', () => {
    for (const s of [atFailure, atEnd]) {
      expect(s.risk.halted).toBe(true);
      expect(s.risk.haltReason).toMatch(/^storage failure: SQLITE_FULL/);
      expect(s.session.storage.error).toMatch(/^SQLITE_FULL/);
    }
    expect(atEnd.session.storage.failedWrites).toBeGreaterThanOrEqual(atFailure.session.storage.failedWrites);
    expect(logs.filter((l) => l.msg === 'database write failed: trading halted (kill switch); fix the disk, then restart')).toHaveLength(1);
  });

  it('sends no order after the failure, though the strategy kept asking', () => {
    expect(atFailure.counters.orders).toBeGreaterThan(0);
    expect(atEnd.counters.orders).toBe(atFailure.counters.orders);
    // the strategy went on deciding: its intents were denied (halted), not missing
    expect(atEnd.counters.intents).toBeGreaterThan(atFailure.counters.intents);
    expect(atEnd.counters.denials).toBeGreaterThan(atFailure.counters.denials);
  });

  it('keeps running, then stops cleanly', () => {
    expect(exitCode).toBe(0);
    expect(logs.some((l) => l.msg === 'papertape stopped')).toBe(true);
    expect(session.engine.stderr()).not.toMatch(/^\s+at /m);
  });

  it('leaves the data written before intact', () => {
    expect(db.integrity).toBe('ok');
    expect(db.sessions).toBeGreaterThanOrEqual(1);
    expect(db.orders).toBeGreaterThan(0);
    expect(db.orders).toBe(apiOrders);
    expect(db.fills).toBeGreaterThan(0);
  });
});
