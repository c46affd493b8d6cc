import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, logLines, papertape, waitFor, type LogLine } from './support/procs.js';
import { startSession, type Session } from './support/session.js';
import { replayRunEnv } from '../src/marketdata/replay/env.js';

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

/**
 * An ext4 file system in a file on a loop device, mounted with `errors=remount-ro`. `fail()` makes the
 * kernel remount it read-only at once, as it does after an I/O error (ext4's `trigger_fs_error`), even
 * with files open for writing (a plain `mount -o remount,ro` refuses while a file is open for writing:
 * EBUSY; so does the same inside `unshare -rm` on a tmpfs). Needs root and loop devices: without them
 * this throws, naming what is missing.
 */
function ext4Volume(): { dir: string; fail(): void; repairAndMount(): void; cleanup(): void } {
  const base = mkdtempSync(join(tmpdir(), 'papertape-ext4-'));
  const img = join(base, 'disk.img');
  const dir = join(base, 'mnt');
  mkdirSync(dir);
  const run = (cmd: string, args: string[], ok = [0]): string => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error || !ok.includes(r.status ?? -1)) {
      throw new Error(`read-only DATA_DIR test needs root, loop devices and ext4 (${cmd} ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}: ${r.stderr.trim()}`})`);
    }
    return r.stdout.trim();
  };
  const mount = () => run('mount', ['-o', 'loop,errors=remount-ro', img, dir]);
  writeFileSync(img, '');
  truncateSync(img, 96 << 20);
  run('mkfs.ext4', ['-q', '-F', img]);
  mount();
  const trigger = () => join('/sys/fs/ext4', basename(run('findmnt', ['-n', '-o', 'SOURCE', dir])), 'trigger_fs_error');
  if (!existsSync(trigger())) throw new Error(`read-only DATA_DIR test needs ext4's ${trigger()} (kernel with ext4 sysfs)`);
  return {
    dir,
    fail: () => writeFileSync(trigger(), '1'),
    // what an operator does after a disk error: unmount, check the file system, mount it again
    repairAndMount: () => {
      run('umount', [dir]);
      run('e2fsck', ['-f', '-y', img], [0, 1]);
      mount();
    },
    cleanup: () => {
      spawnSync('umount', [dir]);
      rmSync(base, { recursive: true, force: true });
    },
  };
}

describe('DATA_DIR turning read-only mid-run halts trading safely', () => {
  let vol: ReturnType<typeof ext4Volume>;
  let session: Session;
  let logs: LogLine[];
  let before: any;
  let atFailure: any;
  let atEnd: any;
  let exitCode: number | null;
  let stillRunning: boolean;
  let apiOrders: { id: string }[];
  let db: { integrity: string; orders: string[]; quickCheck: string };
  // the orders the restarted engine lists, and when it was started (it trades the replay from then on)
  let restarted: { orders: { id: string; createdAt: number }[]; startedAt: number; storageOk: boolean; exit: number | null; log: string };
  let probeError = '';

  beforeAll(async () => {
    vol = ext4Volume();
    const dataDir = join(vol.dir, 'data');
    session = await startSession({
      replay: [SPOT_FILES[0]!, USDM_BTC, '--speed', '20', '--start-delay', '1500'],
      // every commit synced: a disk error that aborts the file system's journal loses nothing committed
      // (with the default, normal, it loses what came after the last checkpoint: see docs/reliability.md)
      env: { OBI_COOLDOWN_MS: '0', API_RATE_LIMIT: '0', DATA_DIR: dataDir, DB_SYNCHRONOUS: 'full' },
    });
    try {
      await waitFor('a few orders', async () => (await getJson(`${session.api}/orders?limit=10`)).body.orders.length >= 3, 30_000, 100);
      before = (await getJson(`${session.api}/status`)).body;
      vol.fail();
      try {
        writeFileSync(join(dataDir, 'probe'), 'x');
      } catch (e) {
        probeError = (e as NodeJS.ErrnoException).code ?? '';
      }
      atFailure = await waitFor('the engine to notice the read-only disk', async () => {
        const s = (await getJson(`${session.api}/status`)).body;
        return s.session?.storage?.ok === false && s;
      }, 30_000, 100);
      // the strategy keeps deciding for a while
      await waitFor('more intents after the failure', async () => {
        const s = (await getJson(`${session.api}/status`)).body;
        return s.counters.intents > atFailure.counters.intents + 20 && s;
      }, 30_000, 200);
      atEnd = (await getJson(`${session.api}/status`)).body;
      apiOrders = (await getJson(`${session.api}/orders?limit=10000`)).body.orders;
      stillRunning = session.engine.child.exitCode === null;
      exitCode = await session.engine.kill('SIGTERM');
      logs = logLines(session.engine);
      // the disk is repaired and mounted again, then the database is checked and the engine restarted on it
      vol.repairAndMount();
      const conn = new Database(join(dataDir, 'papertape.db'), { fileMustExist: true });
      try {
        db = {
          integrity: conn.pragma('integrity_check', { simple: true }) as string,
          quickCheck: conn.pragma('quick_check', { simple: true }) as string,
          orders: (conn.prepare('SELECT id FROM orders ORDER BY id').all() as { id: string }[]).map((r) => r.id),
        };
      } finally {
        conn.close();
      }
      const startedAt = Date.now();
      const again = papertape(['run'], { SYMBOLS: 'BTCUSDT', PORT: '0', DATA_DIR: dataDir, DB_SYNCHRONOUS: 'full', ...replayRunEnv(session.exchange) });
      try {
        const url = await waitFor('the restarted engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(again.stdout())?.[1], 20_000);
        const st = (await getJson(`${url}/status`)).body;
        restarted = { orders: (await getJson(`${url}/orders?limit=10000`)).body.orders, startedAt, storageOk: st.session?.storage?.ok !== false, exit: null, log: '' };
      } finally {
        restarted ??= { orders: [], startedAt, storageOk: false, exit: null, log: '' };
        restarted.exit = await again.kill('SIGTERM');
        restarted.log = again.stdout().slice(-2000) + again.stderr().slice(-2000);
      }
    } catch (e) {
      await session.stop();
      throw new Error(`${(e as Error).message}\n${session.engine.stdout().slice(-3000)}\n${session.engine.stderr().slice(-2000)}`);
    }
  }, 180_000);

  afterAll(async () => {
    await session?.stop();
    vol?.cleanup();
  });

  it('the file system did turn read-only', () => {
    expect(probeError).toBe('EROFS');
    expect(before.session.storage.ok).not.toBe(false);
    expect(before.counters.orders).toBeGreaterThan(0);
  });

  it('halts with the kill switch, and the log and /status say why', () => {
    for (const s of [atFailure, atEnd]) {
      expect(s.risk.halted).toBe(true);
      // the database or the event log, whichever wrote first after the disk turned read-only
      expect(s.risk.haltReason).toMatch(/^storage failure: (SQLITE_(IOERR|READONLY|CANTOPEN)|event log: EROFS)/);
      expect(s.session.storage.error).toMatch(/^SQLITE_(IOERR|READONLY|CANTOPEN)/);
    }
    expect(logs.filter((l) => l.msg === 'database write failed: trading halted (kill switch); fix the disk, then restart')).toHaveLength(1);
  });

  it('sends no order after the failure, though the strategy kept asking, and keeps running', () => {
    expect(atEnd.counters.orders).toBe(atFailure.counters.orders);
    expect(atEnd.counters.intents).toBeGreaterThan(atFailure.counters.intents);
    expect(atEnd.counters.denials).toBeGreaterThan(atFailure.counters.denials);
    // an order decided in the frame whose writes the disk refused has no record: it was withdrawn before it
    // reached the exchange (no order is sent without its record); every other order is in the database
    expect(atEnd.counters.withdrawn).toBeLessThanOrEqual(2);
    expect(apiOrders.length).toBe(atEnd.counters.orders - atEnd.counters.withdrawn);
    expect(stillRunning).toBe(true);
    expect(exitCode).toBe(0);
    expect(session.engine.stderr()).not.toMatch(/^\s+at /m);
  });

  it('after the disk is repaired: the database is intact with exactly the orders the API showed, and the engine restarts on it', () => {
    expect(db.integrity).toBe('ok');
    expect(db.quickCheck).toBe('ok');
    // the orders the API showed, and perhaps the withdrawn ones: their commit was refused with an I/O error,
    // which leaves open whether the disk took it (then they are there, as NEW orders no exchange saw)
    const withdrawn = new Set(logs.filter((l) => l.msg === 'orders whose records could not be written were not sent').flatMap((l) => l['orders'] as string[]));
    expect(withdrawn.size).toBe(atEnd.counters.withdrawn);
    const shown = apiOrders.map((o) => o.id);
    expect(db.orders.filter((id) => !withdrawn.has(id))).toEqual([...shown].sort());
    expect(restarted.storageOk, restarted.log).toBe(true);
    // every order from before is there; any other is the restarted engine's own (the replay plays on)
    const ids = new Set(restarted.orders.map((o) => o.id));
    expect(apiOrders.filter((o) => !ids.has(o.id)), restarted.log).toEqual([]);
    const before = new Set([...apiOrders.map((o) => o.id), ...db.orders]);
    for (const o of restarted.orders.filter((x) => !before.has(x.id))) expect(o.createdAt, restarted.log).toBeGreaterThanOrEqual(restarted.startedAt);
    expect(restarted.exit, restarted.log).toBe(0);
  });
});
