import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { ConfigError, environmentWithDotenv, loadConfig, VARIABLES } from '../config/config.js';
import { startLive } from '../engine/live.js';
import { AlpacaSetupError } from '../engine/alpaca.js';
import { DataDirError } from '../store/guard.js';
import { VERSION } from '../version.js';

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}
function positiveInteger(v: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0..65535');
  return n;
}
function symbolList(v: string): string[] {
  const list = v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  if (list.length === 0 || list.some((s) => !/^[A-Z0-9]{2,20}$/.test(s))) throw new InvalidArgumentError('expected symbols like BTCUSDT,ETHUSDT');
  return list;
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (sig: string): void => {
    if (stopping) {
      process.stderr.write(`${sig} again: exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    const hard = setTimeout(() => {
      process.stderr.write('shutdown took longer than 5 s; exiting\n');
      process.exit(1);
    }, 5000);
    hard.unref();
    stop()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        process.stderr.write(`shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}

const program = new Command();
program
  .name('papertape')
  .description('High-frequency paper trading on live Binance market data')
  .version(VERSION)
  .showHelpAfterError();

program
  .command('run')
  .description('live paper trading (configured by environment variables and an optional .env; see README)')
  .addHelpText('after', `\nEnvironment variables:\n${Object.entries(VARIABLES).map(([k, v]) => `  ${k.padEnd(26)} ${v.doc}${v.default !== undefined ? ` (default ${v.default})` : ''}`).join('\n')}`)
  .option('--fresh', 'start a new session (a new paper account) instead of continuing the last one in DATA_DIR', false)
  .action(async (opts: { fresh: boolean }) => {
    let config;
    try {
      config = loadConfig(environmentWithDotenv(process.env));
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`papertape: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    // asynchronous stdout: a log line costs its formatting on the engine's thread, not a write(2) (the
    // order and fill lines sat between frames and decisions); flushed at exit, lost only with a kill -9
    const logger = pino(
      { level: config.LOG_LEVEL, base: { app: 'papertape' }, redact: ['config.API_TOKEN', 'API_TOKEN', 'token', 'authorization'] },
      pino.destination({ dest: 1, sync: false }),
    );
    let session;
    try {
      session = await startLive(config, logger, { fresh: opts.fresh });
    } catch (e) {
      if (e instanceof AlpacaSetupError || e instanceof DataDirError || e instanceof ConfigError) {
        process.stderr.write(`papertape: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    onSignals(() => session.stop());
  });

program
  .command('record')
  .description('record live Binance messages exactly as received, in the ../shared/data/binance format')
  .requiredOption('--symbols <list>', 'comma-separated symbols', symbolList)
  .requiredOption('--out <dir>', 'output directory')
  .option('--futures', 'also record USD-M futures streams', false)
  .action(async (opts: { symbols: string[]; out: string; futures: boolean }) => {
    const { runRecord } = await import('../marketdata/recording/cli.js');
    const env = loadConfig(environmentWithDotenv(process.env));
    await runRecord({
      symbols: opts.symbols,
      outDir: opts.out,
      futures: opts.futures,
      spotWsUrl: env.BINANCE_SPOT_WS_URL,
      spotRestUrl: env.BINANCE_SPOT_REST_URL,
      futuresWsUrl: env.BINANCE_FUTURES_WS_URL,
      futuresRestUrl: env.BINANCE_FUTURES_REST_URL,
    });
  });

program
  .command('serve-replay')
  .description('serve recordings as a local Binance-compatible exchange (WebSocket streams and REST)')
  .argument('<files...>', 'recording files (.gz lines "<recv ns> <json>")')
  .option('--port <port>', 'port (0 = any free port)', port, 9100)
  .option('--host <host>', 'bind address', '127.0.0.1')
  .option('--speed <x>', 'playback speed as a multiple of the recorded pace ("max" = as fast as possible)', (v) => (v === 'max' ? Infinity : positiveNumber(v)), 1)
  .option('--rest-data <dir>', 'directory with funding/ and oi_4h/ CSVs (e.g. ../shared/data/binance-usdm-rest)')
  .option('--start <when>', 'start playback "immediately" or on the "first-subscription"', 'first-subscription')
  .option('--start-delay <ms>', 'wait this long after the first subscription before playing (lets a client open all its connections)', (v) => Math.round(positiveNumber(v)))
  .option('--drop-depth <venue:SYMBOL:index...>', 'fault injection: withhold the index-th recorded depth diff of a symbol (clients see a sequence gap)')
  .option('--faults', 'fault injection on command: POST /_admin/faults (disconnect, halfOpen, duplicate, reorder, drop, staleSnapshot, rest 429/418, lag, stall)', false)
  .option('--max-client-buffer <bytes>', 'disconnect a WebSocket client with more than this many bytes unsent (a client that cannot keep up), default 16 MiB', (v) => Math.round(positiveNumber(v)))
  .option('--loop <n>', 'play the recordings n times back to back as one market: each pass shifted in time and update ids, every client disconnected between passes', positiveInteger, 1)
  .action(async (files: string[], opts: { port: number; host: string; speed: number; restData?: string; start: string; startDelay?: number; dropDepth?: string[]; faults: boolean; maxClientBuffer?: number; loop: number }) => {
    if (opts.start !== 'immediately' && opts.start !== 'first-subscription') {
      process.stderr.write('papertape: --start must be immediately or first-subscription\n');
      process.exit(2);
    }
    const { runServeReplay } = await import('../marketdata/replay/cli.js');
    await runServeReplay({ files, port: opts.port, host: opts.host, speed: opts.speed, restData: opts.restData, startOn: opts.start, startDelayMs: opts.startDelay, dropDepth: opts.dropDepth, faults: opts.faults, maxClientBufferBytes: opts.maxClientBuffer, loop: opts.loop });
  });

program
  .command('serve-alpaca')
  .description('serve a local Alpaca (paper trading REST, trade_updates, market data) replaying ../shared/data bars')
  .option('--port <port>', 'port (0 = any free port)', port, 9200)
  .option('--host <host>', 'bind address', '127.0.0.1')
  .option('--speed <x>', 'market pace as a multiple of real time (60 = one bar a second; 0 = only POST /_admin/step)', '60')
  .option('--symbols <list>', 'stocks of ../shared/data/us-equities-1min-2019 and DOGE/USD', 'TSLA,DOGE/USD')
  .option('--key <k>', 'API key id clients must send', 'PKTEST')
  .option('--secret <s>', 'API secret clients must send', 'SECRET')
  .option('--data <dir>', 'shared data directory', '../shared/data')
  .option('--partial-fills <k>', 'split every fill into k parts over successive ticks', '1')
  .option('--rate-limit <n>', 'requests per minute per key', '200')
  .option('--cash <usd>', 'starting cash', '100000')
  .option('--start-at <when>', '"now" (shift the data so the replay starts at the wall clock), "data" (its own 2019/2025 times) or an ISO time', 'now')
  .action(async (opts: { port: number; host: string; speed: string; symbols: string; key: string; secret: string; data: string; partialFills: string; rateLimit: string; cash: string; startAt: string }) => {
    const { runServeAlpaca } = await import('../marketdata/alpaca/sim/cli.js');
    await runServeAlpaca(opts);
  });

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
function logLevel(v: string): string {
  if (!LOG_LEVELS.includes(v)) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return v;
}
function seed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new InvalidArgumentError('expected an integer 0..4294967295');
  return n;
}

program
  .command('backtest')
  .description('run the engine in-process over recordings, faster than real time (same code as live)')
  .argument('<files...>', 'recording files (.gz lines "<recv ns> <json>", e.g. ../shared/data/binance/usdm/btcusdt_20240808.gz)')
  .option('--config <file>', 'variables for this run: a JSON object or KEY=VALUE lines (over the environment and .env)')
  .option('--seed <n>', 'random seed (default: SEED, else 1)', seed)
  .option('--db <file>', 'SQLite file for orders, fills, equity (default DATA_DIR/backtests/<session>.db; replaced if it exists)')
  .option('--json', 'print the summary as one JSON object', false)
  .option('--no-progress', 'no progress bar')
  .option('--log-level <level>', 'log level of the engine (stderr)', logLevel, 'warn')
  .action(async (files: string[], opts: { config?: string; seed?: number; db?: string; json: boolean; progress: boolean; logLevel: string }) => {
    const { runBacktestCli } = await import('./offline.js');
    try {
      await runBacktestCli(files, opts);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`papertape: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
  });

program
  .command('replay-log')
  .description("replay a live session's event log (DATA_DIR/sessions/<id>) and compare its orders and fills with the live session's")
  .argument('<dir>', 'session directory with session.json and events_*.gz')
  .option('--db <file>', 'SQLite file for the replay (default <dir>/replay.db; replaced if it exists)')
  .option('--compare <db>', "the live session's database (default: the one named in session.json)")
  .option('--no-compare', 'do not compare with the live session')
  .option('--json', 'print the summary as one JSON object', false)
  .option('--skip-corrupt', 'go on past a corrupt event file (each is reported; the replay then differs from the live run)', false)
  .option('--lenient', 'skip event lines that cannot be read (counted and reported) instead of stopping', false)
  .option('--log-level <level>', 'log level of the engine (stderr)', logLevel, 'warn')
  .action(async (dir: string, opts: { db?: string; compare?: string | boolean; json: boolean; logLevel: string; skipCorrupt: boolean; lenient: boolean }) => {
    const { runReplayLogCli } = await import('./offline.js');
    await runReplayLogCli(dir, opts);
  });

program
  .command('fill-report')
  .description('calibration: how often and how fast a resting order at the touch fills under each queue model, and market-order slippage by size (docs/fill-report.md)')
  .argument('<files...>', 'recording files (.gz lines "<recv ns> <json>"); files of one venue:symbol are merged, one section per venue:symbol')
  .option('--probe-every <ms>', 'market time between probe times', positiveNumber, 1000)
  .option('--horizon <ms>', 'horizon for the resting probes: ms or with a unit (500ms, 10s, 1m); repeatable or a comma list (default 1s,10s,1m)', (v: string, prev?: string[]) => [...(prev ?? []), v])
  .option('--sizes <list>', 'market order sizes in the quote asset, e.g. 1k,10k,50k,100k,500k (the default)')
  .option('--queue-models <list>', 'queue models to compare (default: every form, e.g. risk-averse,prob-power:2,prob-log)')
  .option('--probe-notional <quote>', 'size of each resting probe in the quote asset (default: the smallest order the venue accepts)', positiveNumber)
  .option('--json', 'print the report as one JSON object', false)
  .option('--log-level <level>', 'log level of the feed processing (stderr)', logLevel, 'warn')
  .action(async (files: string[], opts: { probeEvery: number; horizon?: string[]; sizes?: string; queueModels?: string; probeNotional?: number; json: boolean; logLevel: string }) => {
    const fr = await import('../engine/fill-report.js');
    let options;
    try {
      options = {
        probeEveryMs: opts.probeEvery,
        horizonsMs: opts.horizon ? fr.parseDurationList('--horizon', opts.horizon) : undefined,
        sizesQuote: opts.sizes !== undefined ? fr.parseAmountList('--sizes', opts.sizes) : undefined,
        queueModels: opts.queueModels?.split(',').map((s) => s.trim()).filter(Boolean),
        probeNotional: opts.probeNotional,
        logger: pino({ level: opts.logLevel }, pino.destination(2)),
      };
    } catch (e) {
      process.stderr.write(`papertape: ${(e as Error).message}\n`);
      process.exit(2);
    }
    const report = await fr.runFillReport(files, options);
    process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : fr.formatFillReport(report));
  });

program
  .command('schedule')
  .description('print the next Shabbat pause windows (Friday candle lighting to Saturday nightfall) for a location')
  .option('--lat <deg>', 'latitude, north positive (with --lon and --tz; default Jerusalem 31.7683)')
  .option('--lon <deg>', 'longitude, east positive (default Jerusalem 35.2137)')
  .option('--tz <zone>', 'IANA time zone whose Friday and Saturday count (default Asia/Jerusalem)')
  .option('--from <date>', 'first local date YYYY-MM-DD (default today)')
  .option('--count <n>', 'number of windows', '10')
  .option('--candle-minutes <m>', 'minutes before Friday sunset (default 18; Jerusalem custom 40, Israel 20)')
  .option('--end-degrees <d>', 'end when the sun is this far below the horizon (default 8.5)')
  .option('--end-minutes <m>', 'end this many minutes after Saturday sunset instead (e.g. 42, 50, 72)')
  .option('--rounding <mode>', 'conservative (start down, end up to the minute), hebcal, or none', 'conservative')
  .option('--json', 'print JSON', false)
  .action(async (opts: { lat?: string; lon?: string; tz?: string; from?: string; count?: string; candleMinutes?: string; endDegrees?: string; endMinutes?: string; rounding?: string; json: boolean }) => {
    const { runScheduleCli } = await import('./schedule.js');
    runScheduleCli(opts);
  });

program
  .command('export')
  .description('export fills, orders, round trips (trades) or the equity curve from the SQLite store as CSV, JSON or JSON Lines, for analysis')
  .option('--what <table>', 'fills, orders, trades or equity (default fills)')
  .option('--format <format>', 'csv (RFC 4180, with a header row), json (one array) or jsonl (one object per line) (default csv)')
  .option('--from <time>', 'only rows at or after this time: ISO 8601 date or date-time (2024-08-08 = midnight UTC; no offset = UTC)')
  .option('--to <time>', 'only rows before this time (exclusive), same forms as --from')
  .option('--session <id>', 'only this session (default: every session)')
  .option('--db <file>', 'SQLite file, opened read-only (default DATA_DIR/papertape.db)')
  .option('--out <file>', 'write to this file (complete or not at all) instead of stdout')
  .addHelpText('after', '\nRows come oldest first by the time column (orders: created_at, fills: time, trades: opened_at, equity: time).\nColumns: session_id, then every stored column in schema order; each epoch-ms time column is followed by <name>_iso (UTC).')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  .action(async (opts: { what?: string; format?: string; from?: string; to?: string; session?: string; db?: string; out?: string }) => {
    const { runExportCli } = await import('./export.js');
    await runExportCli(opts);
  });

program
  .command('stats')
  .description('return statistics with empyrical\'s definitions (Sharpe, Sortino, Calmar, drawdown, ...) of a JSON array of periodic returns (docs/statistics.md)')
  .option('--returns <file>', 'JSON array of periodic simple returns (0.01 = +1 %), null for a missing period')
  .option('--periods-per-year <n>', 'periods per year for annualizing: 252 trading days (default), 365 daily crypto, 525600 minutes')
  .option('--risk-free <r>', 'risk-free return per period, for the Sharpe ratio and omega (default 0)')
  .option('--required-return <r>', 'minimum acceptable return per period, for Sortino, downside risk and omega (default 0)')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  .action(async (opts: { returns?: string; periodsPerYear?: string; riskFree?: string; requiredReturn?: string }) => {
    const { runStatsCli } = await import('./stats.js');
    runStatsCli(opts);
  });

program
  .command('report')
  .description('write a Markdown report of one session (statistics per symbol and strategy, SVG charts of equity, drawdown, daily P&L, trade distribution); --readme also updates the summary between <!-- METRICS_START --> and <!-- METRICS_END --> in a README')
  .option('--db <file>', 'SQLite file, opened read-only (default DATA_DIR/papertape.db)')
  .option('--session <id>', 'the session (default: the latest that is not a shadow variant)')
  .option('--out <dir>', 'directory for report.md, stats.json and the SVG charts (created if missing)', 'report')
  .option('--readme <file>', 'replace the block between the METRICS markers of this file with a summary and the charts')
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  .action(async (opts: { db?: string; session?: string; out?: string; readme?: string }) => {
    const { runReportCli } = await import('./report.js');
    await runReportCli(opts);
  });

program.addCommand((await import('./dataset.js')).datasetCommand());

program
  .command('model-latency')
  .description("measure each model's inference time in Node on the path the ML gate uses (compiled trees or onnxruntime) and record it in its model.json as latency (p50/p99 µs, calls, cpu, node, date): backtests charge the p50 (ML_DECISION_LATENCY_US=model)")
  .argument('<dirs...>', 'model directories (models/gbdt-xgb ...) or their model.json')
  .option('--warmup <n>', 'untimed calls first', '2000')
  .option('--calls <n>', 'timed calls', '20000')
  .option('--json', 'print the figures as JSON lines', false)
  .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
  .action(async (dirs: string[], opts: { warmup: string; calls: string; json: boolean }) => {
    const { recordModelLatency } = await import('../ml/latency.js');
    const warmup = Number(opts.warmup);
    const calls = Number(opts.calls);
    if (!Number.isInteger(warmup) || warmup < 0 || !Number.isInteger(calls) || calls < 1) {
      process.stderr.write('papertape model-latency: --warmup is an integer >= 0, --calls an integer >= 1\n');
      process.exit(2);
    }
    for (const d of dirs) {
      const r = recordModelLatency(d, { warmup, calls });
      const l = r.latency;
      process.stdout.write(opts.json ? `${JSON.stringify({ model: r.model, path: r.path, ...l })}\n` : `${r.model}: p50 ${l.p50Us} µs, p90 ${l.p90Us} µs, p99 ${l.p99Us} µs, max ${l.maxUs} µs (${l.calls} calls, ${l.engine}; ${l.cpu}, node ${l.node}) -> ${r.path}\n`);
    }
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`papertape: ${(e as Error).message}\n`);
  process.exit(1);
});
