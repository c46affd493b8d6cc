/**
 * CLI adapter for `papertape serve-alpaca [--port N] [--host H] [--speed X] [--symbols TSLA,DOGE/USD]
 * [--key K --secret S] [--data DIR] [--partial-fills K] [--rate-limit N] [--cash USD]
 * [--start-at now|data|ISO]`: starts the local
 * Alpaca simulator, prints its URLs, a status line every second on stderr, runs until SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { progressUntilStopped, type CliIo } from '../../../cli/signals.js';
import { startAlpacaSim } from './server.js';

export interface ServeAlpacaCliOptions {
  port?: number | string;
  host?: string;
  speed?: number | string;
  symbols?: string;
  key?: string;
  secret?: string;
  data?: string;
  partialFills?: number | string;
  rateLimit?: number | string;
  cash?: string;
  /** `now` (default): the replay starts at the wall clock; `data`: the data's own times; or an ISO time */
  startAt?: string;
}

export function parseStartAt(v: string | undefined): number | 'now' | undefined {
  if (v === undefined || v === 'now') return 'now';
  if (v === 'data') return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new Error(`invalid --start-at ${v} (now, data or an ISO time)`);
  return t;
}

export function parseSymbols(v: string): string[] {
  const list = v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (list.length === 0 || list.some((s) => !/^[A-Z][A-Z0-9.]{0,9}$/.test(s) && !/^[A-Z0-9]+\/[A-Z0-9]+$/.test(s))) throw new Error(`invalid --symbols ${v} (expected e.g. TSLA,DOGE/USD)`);
  return list;
}

function num(name: string, v: number | string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`invalid --${name} ${String(v)}`);
  return n;
}

export async function runServeAlpaca(opts: ServeAlpacaCliOptions, io: CliIo = {}): Promise<void> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const port = num('port', opts.port, 9200, 0);
  if (!Number.isInteger(port) || port > 65535) throw new Error(`invalid --port ${String(opts.port)}`);
  const sim = await startAlpacaSim({
    dataDir: resolve(opts.data ?? '../shared/data'),
    symbols: parseSymbols(opts.symbols ?? 'TSLA,DOGE/USD'),
    key: opts.key ?? 'PKTEST',
    secret: opts.secret ?? 'SECRET',
    host: opts.host ?? '127.0.0.1',
    port,
    speed: num('speed', opts.speed, 60, 0),
    partialFills: Math.floor(num('partial-fills', opts.partialFills, 1, 1)),
    rateLimitPerMinute: Math.floor(num('rate-limit', opts.rateLimit, 200, 1)),
    cash: opts.cash,
    startAt: parseStartAt(opts.startAt),
  });
  out.write(`serve-alpaca listening on ${sim.url}\n`);
  out.write(`  trading REST ${sim.url}/v2  trade_updates ${sim.wsUrl}/stream\n`);
  out.write(`  market data REST ${sim.url}/v2/stocks/{symbol}/bars ${sim.url}/v1beta3/crypto/us/bars  WS ${sim.wsUrl}/v2/iex ${sim.wsUrl}/v1beta3/crypto/us\n`);
  out.write(`  admin ${sim.url}/_admin/{state,step,faults}  symbols ${sim.market.symbols().join(',')}\n`);
  const status = (): string => {
    const c = sim.clients();
    const prices = sim.market.symbols().map((s) => `${s}=${sim.market.last(s)?.price}`).join(' ');
    return `serve-alpaca steps=${sim.market.steps} ${prices} clients trade=${c.trade} md=${c.marketData}`;
  };
  await progressUntilStopped(err, status, io.progressMs ?? 1000, { signal: io.signal });
  await sim.close();
}
