/**
 * CLI adapter for `papertape record --symbols A,B --out DIR [--futures]`: records live Binance
 * market data until SIGINT/SIGTERM (or the abort signal), printing a progress line to stderr every second.
 */
import { progressUntilStopped, stderrLogger, type CliIo } from '../../cli/signals.js';
import { startRecorder, type RecorderProgress } from './recorder.js';

export interface RecordCliOptions {
  /** `BTCUSDT,ETHUSDT` or an array */
  symbols: string | string[];
  /** output directory (`outDir` is accepted as an alias) */
  out?: string;
  outDir?: string;
  futures?: boolean;
  /** record spot too (default true) */
  spot?: boolean;
  spotWsUrl?: string;
  spotRestUrl?: string;
  futuresWsUrl?: string;
  futuresRestUrl?: string;
  verbose?: boolean;
}

export type RecordCliIo = CliIo;

export const BINANCE_DEFAULTS = {
  spotWsUrl: 'wss://stream.binance.com:9443',
  spotRestUrl: 'https://api.binance.com',
  futuresWsUrl: 'wss://fstream.binance.com',
  futuresRestUrl: 'https://fapi.binance.com',
} as const;

function human(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)}KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}MB`;
  return `${(n / 1024 ** 3).toFixed(2)}GB`;
}

export function formatRecordProgress(p: RecorderProgress): string {
  const streams = Object.entries(p.perStream)
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const down = Object.entries(p.connections).filter(([, s]) => s !== 'open').map(([k, s]) => `${k}:${s}`);
  return `record msgs=${p.messages} bytes=${human(p.bytes)} snapshots=${p.snapshots} reconnects=${p.reconnects}${p.errors ? ` errors=${p.errors}` : ''}${down.length ? ` [${down.join(' ')}]` : ''} | ${streams}`;
}

/** Record until SIGINT/SIGTERM (or `io.signal`). */
export async function runRecord(opts: RecordCliOptions, io: RecordCliIo = {}): Promise<RecorderProgress> {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const symbols = (Array.isArray(opts.symbols) ? opts.symbols : opts.symbols.split(',')).map((s) => s.trim()).filter(Boolean);
  if (symbols.length === 0) throw new Error('record: --symbols is empty');
  const outDir = opts.out ?? opts.outDir;
  if (!outDir) throw new Error('record: --out is required');
  const verbose = opts.verbose ?? false;
  const rec = await startRecorder({
    symbols,
    outDir,
    futures: opts.futures ?? false,
    spot: opts.spot,
    spotWsUrl: opts.spotWsUrl ?? BINANCE_DEFAULTS.spotWsUrl,
    spotRestUrl: opts.spotRestUrl ?? BINANCE_DEFAULTS.spotRestUrl,
    futuresWsUrl: opts.futuresWsUrl ?? BINANCE_DEFAULTS.futuresWsUrl,
    futuresRestUrl: opts.futuresRestUrl ?? BINANCE_DEFAULTS.futuresRestUrl,
    logger: stderrLogger(err, verbose),
  });
  out.write(`record ${symbols.map((s) => s.toUpperCase()).join(',')} -> ${outDir}${opts.futures ? ' (spot + usdm futures)' : ''}\n`);
  await progressUntilStopped(err, () => formatRecordProgress(rec.progress()), io.progressMs ?? 1000, { signal: io.signal });
  await rec.stop();
  const p = rec.progress();
  err.write(`${formatRecordProgress(p)}\n`);
  out.write(`record stopped; files:\n${p.files.map((f) => `  ${f}\n`).join('')}`);
  return p;
}
