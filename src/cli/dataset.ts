import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { pino } from 'pino';

/** `papertape dataset`: options here; the work (src/dataset) is imported only when the command runs. */
export function datasetCommand(): Command {
  return new Command('dataset')
    .description('replay recordings (or LOBSTER files) through the live book and feature code and write labeled feature datasets (.npy + meta.json) for model training')
    .argument('<files...>', 'Binance recordings (.gz lines "<recv ns> <json>"), or LOBSTER message files with --format lobster')
    .requiredOption('--horizon <h>', 'label horizon: data time (5s, 500ms, 1m) or book updates (50e)')
    .requiredOption('--out <dir>', 'output directory (created; its X_/y_/t_/ret_*.npy and meta.json are replaced)')
    .option('--dead-band <b>', 'flat band: basis points of the mid (0.5 or 0.5bp), ticks (2t), or auto (a third of the training samples flat)', 'auto')
    .addOption(new Option('--format <format>', 'input format').choices(['binance', 'lobster']).default('binance'))
    .addOption(new Option('--venue <venue>', 'binance: venue whose book is sampled (default spot if recorded, else usdm)').choices(['spot', 'usdm']))
    .option('--symbol <symbol>', 'symbol to sample (needed when the recordings hold several)')
    .option('--every <n>', 'sample every n-th book update (default 1: every update)')
    .option('--interval-ms <ms>', 'instead: sample the first book update at or after each multiple of ms of data time')
    .option('--warmup <time>', 'no samples until the book has been synced this long (60s = the longest feature window; 0 = none)', '60s')
    .option('--split <fractions>', 'train,validation,test fractions, split by time in that order', '0.7,0.15,0.15')
    .addOption(new Option('--dtype <dtype>', 'dtype of the feature arrays X_*.npy').choices(['float32', 'float64']).default('float32'))
    .option('--initial-book <file>', 'lobster, message-only files: an orderbook CSV whose first row is the book after the first message (seeds the orders resting before the file starts)')
    .option('--json', 'print meta.json (with the output directory and elapsed time) on stdout', false)
    .option('--log-level <level>', 'log level of the feed processing (stderr)', 'warn')
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
    .addHelpText(
      'after',
      '\nLabels: 0 down, 1 flat, 2 up, by the mid move over the horizon against the dead band (see README, docs/features.md).\nOutput: X_{train,val,test}.npy (samples x features), y_*.npy (int8), t_*.npy (int64 ns), ret_*.npy (float64 bp), meta.json.',
    )
    .action(async (files: string[], opts: DatasetCliOptions) => {
      await runDatasetCli(files, opts);
    });
}

export interface DatasetCliOptions {
  horizon: string;
  out: string;
  deadBand: string;
  format: 'binance' | 'lobster';
  venue?: 'spot' | 'usdm';
  symbol?: string;
  every?: string;
  intervalMs?: string;
  warmup: string;
  split: string;
  dtype: 'float32' | 'float64';
  initialBook?: string;
  json: boolean;
  logLevel: string;
}

function usage(message: string): never {
  process.stderr.write(`papertape dataset: ${message}\n`);
  process.exit(2);
}

/** `60s`, `500ms`, `1m`, or plain ms. */
function parseDurationMs(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) usage(`${flag} ${text}: expected a duration like 60s, 500ms or 1m`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
}

export async function runDatasetCli(files: string[], opts: DatasetCliOptions): Promise<void> {
  const started = performance.now();
  const ds = await import('../dataset/dataset.js');
  const lb = await import('../dataset/labels.js');
  let horizon, deadBand, split;
  try {
    horizon = lb.parseHorizon(opts.horizon);
    deadBand = lb.parseDeadBand(opts.deadBand);
    split = lb.parseSplit(opts.split);
  } catch (e) {
    usage((e as Error).message);
  }
  if (opts.every !== undefined && opts.intervalMs !== undefined) usage('--every and --interval-ms exclude each other');
  let every = ds.DEFAULT_EVERY;
  if (opts.every !== undefined) {
    every = Number(opts.every);
    if (!Number.isInteger(every) || every < 1) usage(`--every ${opts.every}: expected a whole number >= 1`);
  }
  let intervalMs: number | undefined;
  if (opts.intervalMs !== undefined) {
    intervalMs = Number(opts.intervalMs);
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) usage(`--interval-ms ${opts.intervalMs}: expected a positive number`);
  }
  const warmupMs = parseDurationMs('--warmup', opts.warmup);
  if (opts.format === 'lobster' && opts.venue !== undefined) usage('--venue is for Binance recordings');
  if (opts.format === 'binance' && opts.initialBook !== undefined) usage('--initial-book is for --format lobster');
  const logger = pino({ level: opts.logLevel }, pino.destination(2));
  const out = resolve(opts.out);
  const { meta } = await ds.buildDataset({
    files: files.map((f) => resolve(f)),
    format: opts.format,
    horizon,
    deadBand,
    outDir: out,
    venue: opts.venue,
    symbol: opts.symbol?.toUpperCase(),
    sampling: intervalMs !== undefined ? { every: 1, intervalMs, warmupMs } : { every, warmupMs },
    split,
    dtype: opts.dtype,
    initialBook: opts.initialBook !== undefined ? resolve(opts.initialBook) : undefined,
    logger,
  });
  const elapsedMs = Math.round(performance.now() - started);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ out, elapsedMs, ...meta })}\n`);
    return;
  }
  const c = meta.counts;
  const band = `${meta.deadBand.auto ? `auto = ${meta.deadBand.value.toFixed(3)}` : meta.deadBand.value} ${meta.deadBand.unit}`;
  const lines = [
    `dataset ${meta.source.venue}:${meta.source.symbol}  horizon ${meta.horizon.text}  dead band ${band}  -> ${out}`,
    `  book updates ${c.bookUpdates}, sampled ${c.sampled}, labeled ${c.labeled} (dropped: ${c.dropped.end} past the end of the data, ${c.dropped.resync} across a resync), embargoed ${c.embargoed}`,
  ];
  for (const [name, s] of Object.entries(meta.splits)) {
    const pct = (k: number) => (s.samples > 0 ? `${((100 * k) / s.samples).toFixed(1)}%` : '-');
    lines.push(
      `  ${name.padEnd(5)} ${String(s.samples).padStart(7)}  down ${pct(s.classes.down).padStart(6)}  flat ${pct(s.classes.flat).padStart(6)}  up ${pct(s.classes.up).padStart(6)}  ${s.from ? `${s.from.iso} .. ${s.to!.iso}` : ''}`,
    );
  }
  lines.push(`  ${elapsedMs} ms`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
