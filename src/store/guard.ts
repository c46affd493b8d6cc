import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from './db.js';

/** DATA_DIR cannot hold the database: missing rights, a read-only file system, a file in its place. */
export class DataDirError extends Error {}

/**
 * Checks, before anything is opened, that DATA_DIR is (or can be made) a directory we may write in:
 * creates it, then writes and deletes a probe file. Throws a DataDirError naming DATA_DIR and the cause.
 */
export function assertWritableDataDir(dir: string): void {
  const probe = join(dir, `.papertape-write-test-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'ok');
    } finally {
      closeSync(fd);
    }
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    const why: Record<string, string> = {
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EROFS: 'read-only file system',
      ENOTDIR: 'a path component is a file, not a directory',
      EEXIST: 'a file is in the way',
      ENOSPC: 'no space left on the device',
    };
    throw new DataDirError(`DATA_DIR ${dir} is not writable (${code}: ${why[code] ?? (e as Error).message}); give a directory papertape may write in`, { cause: e });
  }
}

/** SQLite result codes of a storage failure (disk full, I/O error, read-only or vanished file), not of a bug. */
export function isStorageFailure(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}

/** The Store methods that write. */
const WRITES = ['startSession', 'endSession', 'reopenSession', 'putControl', 'writeCheckpoint', 'recordStrategyChange', 'upsertOrder', 'recordFill', 'upsertTrip', 'insertEquity', 'insertDenial', 'beginBatch', 'commitBatch'] as const;

export interface StorageGuard {
  /** the first storage failure, null while writes succeed */
  readonly error: string | null;
  /** writes refused since the first failure (each one rolled back by SQLite) */
  readonly failedWrites: number;
}

/**
 * Makes a storage failure of the live database a safe halt instead of a crash: every writing method of
 * `store` (patched in place) catches an SQLite storage error (disk full, I/O error, read-only), calls
 * `onFailure` once with the first one, and from then on lets the caller go on without the write. SQLite
 * rolls each failed transaction back, so what was written before stays intact. Other errors (bugs,
 * constraint violations) are thrown as before. `onRefused` hears of every write refused so (its method and
 * arguments), after `onFailure` for the first.
 */
export function guardStore(store: Store, onFailure: (message: string) => void, onRefused?: (method: string, args: readonly unknown[]) => void): StorageGuard {
  const state = { error: null as string | null, failedWrites: 0 };
  const target = store as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of WRITES) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    target[name] = function guarded(this: unknown, ...args: unknown[]): unknown {
      try {
        return original.apply(store, args);
      } catch (e) {
        if (!isStorageFailure(e)) throw e;
        state.failedWrites++;
        if (state.error === null) {
          state.error = `${(e as { code: string }).code}: ${(e as Error).message}`;
          onFailure(state.error);
        }
        onRefused?.(name, args);
        return name === 'insertDenial' ? 0 : undefined;
      }
    };
  }
  return state;
}
