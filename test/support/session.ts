import { mkdtempSync, rmSync } from 'node:fs';
import { expect } from 'vitest';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC } from './data.js';
import { getJson, listeningPort, papertape, waitFor, type Proc } from './procs.js';
import { replayRunEnv } from '../../src/marketdata/replay/env.js';

/** `papertape serve-replay` plus `papertape run` connected to it, as a user runs them. */
export interface Session {
  replay: Proc;
  engine: Proc;
  /** host:port of serve-replay */
  exchange: string;
  /** http://host:port of the engine's API */
  api: string;
  /** the engine's DATA_DIR (a fresh temporary directory) */
  dir: string;
  /** SIGTERM to the engine, then to serve-replay; removes `dir`. Resolves with the engine's exit code. */
  stop(): Promise<number | null>;
}

export interface SessionOptions {
  /** serve-replay arguments: the files and options (`--port 0` is added) */
  replay: string[];
  /** environment of `papertape run`, over the defaults (BTCUSDT, PORT 0, no warm-up or loss-streak pause, every Binance URL at serve-replay) */
  env?: Record<string, string>;
}

/** Starts serve-replay, then `papertape run` against it, and waits until the engine's API answers. */
export async function startSession(opts: SessionOptions): Promise<Session> {
  const dir = mkdtempSync(join(tmpdir(), 'papertape-test-'));
  const replay = papertape(['serve-replay', '--port', '0', ...opts.replay]);
  let engine: Proc | undefined;
  const stop = async (): Promise<number | null> => {
    const code = (await engine?.kill('SIGTERM')) ?? null;
    await replay.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  try {
    const exchange = `127.0.0.1:${await listeningPort(replay)}`;
    engine = papertape(['run'], {
      SYMBOLS: 'BTCUSDT',
      PORT: '0',
      DATA_DIR: dir,
      // no ML gate unless a test sets MODEL_PATH: these runs test the engine, not the model
      MODEL_PATH: '',
      ...replayRunEnv(exchange),
      ...opts.env,
    });
    const running = engine;
    const api = await waitFor('the engine API', () => /"url":"(http:\/\/[^"]+)"/.exec(running.stdout())?.[1]);
    return { replay, engine, exchange, api, dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export type ReferenceBook = ReturnType<typeof referenceBook>;
export interface ReferenceBooks {
  spot: ReferenceBook;
  usdm: ReferenceBook;
}

/** A live session's final books (GET /book, USD-M 500 levels deep) equal the books rebuilt from the recordings: a clean run's. */
export function expectCleanRunBooks(
  books: { spot: { lastUpdateId: number; bids: unknown; asks: unknown }; usdm: { lastUpdateId: number; bids: unknown; asks: unknown } },
  refs: ReferenceBooks,
): void {
  expect(books.spot.lastUpdateId).toBe(refs.spot.lastUpdateId);
  expect(books.spot.bids).toEqual(refs.spot.bids);
  expect(books.spot.asks).toEqual(refs.spot.asks);
  expect(books.usdm.lastUpdateId).toBe(refs.usdm.lastUpdateId);
  expect(books.usdm.bids).toEqual(refs.usdm.bids.slice(0, 500));
  expect(books.usdm.asks).toEqual(refs.usdm.asks.slice(0, 500));
}

/** Spot (both files) and USD-M BTCUSDT books rebuilt straight from the recordings. */
export async function referenceBooks(): Promise<ReferenceBooks> {
  const [a, b, u] = await Promise.all([readLines(SPOT_FILES[0]!), readLines(SPOT_FILES[1]!), readLines(USDM_BTC)]);
  return { spot: referenceBook([...a, ...b], 'BTCUSDT', 'spot'), usdm: referenceBook(u, 'BTCUSDT', 'usdm') };
}

/** Waits for serve-replay to have sent everything and for the engine to have applied the last diffs of both books. */
export async function untilReplayed(s: Session, refs: ReferenceBooks): Promise<void> {
  await waitFor('the replay to finish', async () => (await getJson(`http://${s.exchange}/replay/status`)).body.finished === true, 60_000, 250);
  await waitFor('the engine to catch up', async () => {
    const [spot, usdm] = await Promise.all([getJson(`${s.api}/book/BTCUSDT?depth=1`), getJson(`${s.api}/book/BTCUSDT?depth=1&venue=usdm`)]);
    return spot.body.lastUpdateId === refs.spot.lastUpdateId && usdm.body.lastUpdateId === refs.usdm.lastUpdateId;
  }, 15_000);
}

/**
 * serve-replay of the spot (both files) and USD-M BTCUSDT recordings with `replay` options, `papertape run`
 * against it, played to the end: returns once the engine has applied the last diffs of both books, with
 * the reference books rebuilt straight from the files.
 */
export async function replayedSession(replay: string[], env?: Record<string, string>): Promise<{ session: Session; refs: ReferenceBooks }> {
  const refs = await referenceBooks();
  const session = await startSession({ replay: [...SPOT_FILES, USDM_BTC, ...replay], env });
  try {
    await untilReplayed(session, refs);
  } catch (e) {
    await session.stop();
    throw e;
  }
  return { session, refs };
}

/** A local port where nothing listens (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof addr !== 'object' || !addr) throw new Error('no port');
  return addr.port;
}
