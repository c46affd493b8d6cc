import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DATA } from './data.js';
import { listeningPort, papertape, waitFor, type Proc } from './procs.js';

/** Made-up Alpaca keys, distinctive enough to be searched for in logs and files. */
export interface AlpacaKeys {
  keyId: string;
  secret: string;
}

export function madeUpKeys(): AlpacaKeys {
  return { keyId: `PKLEAKCHECK${randomBytes(6).toString('hex').toUpperCase()}`, secret: randomBytes(20).toString('hex') };
}

/** `papertape serve-alpaca` as a user runs it, on a free port. */
export interface AlpacaSimProc {
  proc: Proc;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  ws: string;
  /** a request to the simulated Alpaca with the keys */
  rest<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** POST /_admin/faults */
  fault(spec: Record<string, unknown>): Promise<void>;
}

export async function startAlpacaSimProc(keys: AlpacaKeys, args: string[] = []): Promise<AlpacaSimProc> {
  const proc = papertape(['serve-alpaca', '--port', '0', '--key', keys.keyId, '--secret', keys.secret, '--data', SHARED_DATA, ...args]);
  let port: number;
  try {
    port = await listeningPort(proc);
  } catch (e) {
    await proc.kill();
    throw new Error(`serve-alpaca did not start: ${String(e)}\n${proc.stderr().slice(-2000)}`);
  }
  const url = `http://127.0.0.1:${port}`;
  const rest = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'APCA-API-KEY-ID': keys.keyId, 'APCA-API-SECRET-KEY': keys.secret, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  };
  const fault = async (spec: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${url}/_admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    if (res.status !== 200) throw new Error(`fault ${JSON.stringify(spec)}: ${res.status} ${await res.text()}`);
  };
  return { proc, url, ws: `ws://127.0.0.1:${port}`, rest, fault };
}

/** The anomaly strategy's parameters of these runs (small cells: it trades TSLA within seconds). */
export const ANOMALY_PARAMETERS = ['cell_width=0.0005', 'cells=41', 'ema_period=10', 'min_margin=2', 'max_range=8', 'level=1', 'max_position=20', 'source=trades', 'cooldown_ms=1000', ''].join('\n');

/** The environment of `papertape run` trading TSLA on the simulated Alpaca; `dir` is DATA_DIR (parameters.txt is written there). */
export function alpacaEngineEnv(dir: string, sim: { url: string; ws: string }, keys: AlpacaKeys, apiToken: string, extra: Record<string, string> = {}): Record<string, string> {
  const params = join(dir, 'parameters.txt');
  writeFileSync(params, ANOMALY_PARAMETERS);
  return {
    DATA_DIR: dir,
    SYMBOLS: 'TSLA',
    VENUE: 'alpaca',
    STRATEGY: 'anomaly',
    ANOMALY_PARAMS_FILE: params,
    APCA_API_KEY_ID: keys.keyId,
    APCA_API_SECRET_KEY: keys.secret,
    ALPACA_TRADING_URL: sim.url,
    ALPACA_DATA_URL: sim.url,
    ALPACA_STREAM_URL: sim.ws,
    WARMUP_SECONDS: '0',
    WARMUP_POINTS: '5',
    SHABBAT_PAUSE: 'false',
    RISK_LOSS_STREAK: '0',
    PORT: '0',
    API_TOKEN: apiToken,
    RISK_MAX_POSITION: '100000',
    RISK_MAX_ORDER_NOTIONAL: '100000',
    RISK_MAX_TOTAL_NOTIONAL: '1000000',
    ALPACA_ACCOUNT_POLL_MS: '5000',
    ALPACA_REQUEST_TIMEOUT_MS: '1500',
    ...extra,
  };
}

/** The URL of the engine's API, once it listens. */
export async function engineApi(engine: Proc): Promise<string> {
  return waitFor(
    'the engine API',
    () => {
      if (engine.child.exitCode !== null) throw new Error(`engine exited ${engine.child.exitCode}: ${engine.stderr().slice(-2000)}`);
      return /"url":"(http:\/\/[^"]+)"/.exec(engine.stdout())?.[1];
    },
    30_000,
  );
}
