import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../src/core/wait.js';
import { replayRunEnv } from '../src/marketdata/replay/env.js';
export { waitFor };

/** Helpers of the reliability scripts (load, soak): the real `papertape` processes, as a user runs them. */

// scripts/ from the source (vitest), dist/scripts/ built
const HERE = fileURLToPath(new URL('.', import.meta.url));
export const ROOT = existsSync(resolve(HERE, '../package.json')) ? resolve(HERE, '..') : resolve(HERE, '../..');
export const CLI = resolve(ROOT, 'bin/papertape.js');
export const DATA = resolve(ROOT, '../shared/data/binance');
export const SPOT_FILES = ['spot/btcusdt_20240808.gz', 'spot/btcusdt_20240809.gz'].map((f) => resolve(DATA, f));
export const USDM_FILES = ['usdm/btcusdt_20240808.gz'].map((f) => resolve(DATA, f));

/**
 * The node flags `npm start` gives the live engine (package.json's start script, e.g. a 4 MB young-generation
 * semi-space), so that the benchmarks and the reliability scripts run `papertape run` as `npm start` does.
 */
export const START_NODE_ARGS: readonly string[] = (() => {
  const start = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts?.['start'] ?? '';
  const m = /^node((?:\s+--\S+)*)\s+bin\/papertape\.js\s+run\b/.exec(start.trim());
  if (!m) throw new Error(`package.json's start script is not "node [--flags] bin/papertape.js run": ${start}`);
  return m[1]!.trim().split(/\s+/).filter(Boolean);
})();

export interface Proc {
  child: ChildProcess;
  out(): string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `papertape <args>` as a child process (`nodeArgs` before the CLI, e.g. --cpu-prof), its output kept bounded.
 * `papertape run` gets the node flags of `npm start` too.
 */
export function run(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Proc {
  const flags = args[0] === 'run' ? [...START_NODE_ARGS, ...nodeArgs] : nodeArgs;
  const child = spawn(process.execPath, [...flags, CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // keep the head (listening lines, the API URL) and the tail only: a long run logs every order
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(0, 20_000) + out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    out: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}


export async function getJson<T = any>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (typeof addr !== 'object' || !addr) throw new Error('no port');
  return addr.port;
}

/** serve-replay of the BTCUSDT recordings on `port` at `speed`. */
export function serveReplay(port: number, speed: number, extra: string[] = []): Proc {
  for (const f of [...SPOT_FILES, ...USDM_FILES]) if (!existsSync(f)) throw new Error(`recording not found: ${f}`);
  return run(['serve-replay', '--port', String(port), '--speed', String(speed), '--start-delay', '1500', ...SPOT_FILES, ...USDM_FILES, ...extra]);
}

/** `papertape run` (BTCUSDT) against serve-replay on `exchangePort`, in a fresh DATA_DIR; resolves once its API answers. */
export async function startEngine(exchangePort: number, env: Record<string, string> = {}): Promise<{ proc: Proc; api: string; dir: string; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'papertape-reliability-'));
  const ex = `127.0.0.1:${exchangePort}`;
  const port = await freePort();
  const proc = run(['run'], {
    SYMBOLS: 'BTCUSDT',
    PORT: String(port),
    DATA_DIR: dir,
    ...replayRunEnv(ex),
    OBI_COOLDOWN_MS: '0',
    ...env,
  });
  const api = `http://127.0.0.1:${port}`;
  await waitFor('the engine API', async () => (await getJson(`${api}/health`)).status === 'ok', 30_000).catch(async () => {
    await proc.stop();
    throw new Error(`the engine did not start:\n${proc.out().slice(-3000)}`);
  });
  return { proc, api, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} expects a positive number`);
  return v;
}
