import { join, resolve } from 'node:path';
import { benchBacktest } from './backtest.js';
import { BOOK_DATASETS, benchBook } from './book.js';
import { benchFeatures } from './features.js';
import {
  findRegressions,
  formatTable,
  loadDocument,
  machineInfo,
  result,
  writeResults,
  type BenchDocument,
  type BenchResult,
  type Method,
} from './harness.js';
import { benchLive } from './live.js';
import { benchMl } from './ml.js';

/**
 * `npm run bench [-- <filter>]`: runs every benchmark (or those whose name contains the filter), prints
 * a table, writes bench/results/latest.json and a dated copy, and flags regressions (> 10% worse than
 * the previous latest.json, by benchmark name).
 */

const RESULTS_DIR = resolve(import.meta.dirname, '..', '..', 'bench', 'results');
const METHOD: Method = {
  warmup: 3,
  runs: 15,
  statistic: 'median',
  notes:
    'book: each contender (ours, JSON.parse, ccxt, tardis-dev) once per round, order rotated each round, ' +
    'warm-up rounds discarded, median of the measured rounds; features: own interleaving (5 warm-up, 25 runs, median); ' +
    'backtest: 2 warm-up runs discarded, 7 runs, median; ml: per-call latency percentiles over 20k calls after 2k warm-up calls',
};

interface Group {
  /** every result name of the group starts with this */
  prefix: string;
  /** the names (or name fragments) of the results it produces, for `npm run bench -- <filter>` */
  names: string[];
  datasets: string[];
  run: () => Promise<BenchResult[]>;
}

const GROUPS: Group[] = [
  {
    prefix: 'book',
    names: ['spot', 'usdm'].flatMap((v) => {
      const base = `book decode+apply (${v} BTCUSDT)`;
      return [base, `book level updates (${v} BTCUSDT)`, `${base} vs ccxt`, `${base} vs tardis-dev`];
    }),
    datasets: BOOK_DATASETS,
    run: () => benchBook({ warmup: METHOD.warmup, runs: METHOD.runs }),
  },
  {
    prefix: 'backtest',
    names: ['backtest events/s (usdm BTCUSDT, OBI)', 'backtest real-time multiple (usdm BTCUSDT, OBI)'],
    datasets: ['binance/usdm/btcusdt_20240808.gz'],
    run: async () => {
      const r = await benchBacktest();
      const detail = { ...r } as Record<string, unknown>;
      return [
        result('backtest events/s (usdm BTCUSDT, OBI)', r.eventsPerSec.median, 'events/s', true, null, detail),
        result('backtest real-time multiple (usdm BTCUSDT, OBI)', r.realTimeMultiple.median, 'x real time', true, null, { aim: r.aim }),
      ];
    },
  },
  {
    prefix: 'features',
    names: ['features per book update (usdm BTCUSDT)', 'features per book update with trades (usdm BTCUSDT)'],
    datasets: ['binance/usdm/btcusdt_20240808.gz'],
    run: async () => {
      const r = await benchFeatures();
      const detail = { ...r } as Record<string, unknown>;
      return [
        result('features per book update (usdm BTCUSDT)', r.nsPerBookUpdate.median, 'ns', false, null, detail),
        result('features per book update with trades (usdm BTCUSDT)', r.nsPerBookUpdateWithTrades.median, 'ns', false),
      ];
    },
  },
  {
    prefix: 'ml',
    names: ['ml gbdt-xgb@', 'ml gbdt-hgb@', 'ml cnn@', 'ml lstm@', ' p50 latency', ' p99 latency'],
    datasets: ['models/*/parity.json'],
    run: async () => {
      const r = await benchMl();
      const out: BenchResult[] = [];
      for (const m of r.models) {
        const ort = m.onnxruntimeUs;
        const p50 = m.latencyUs.p50 ?? NaN;
        const p99 = m.latencyUs.p99 ?? NaN;
        out.push(
          result(`ml ${m.model} p50 latency`, p50, 'us', false, ort?.p50 != null ? { name: 'onnxruntime p50', value: ort.p50 } : null, { ...m }),
          result(`ml ${m.model} p99 latency`, p99, 'us', false, ort?.p99 != null ? { name: 'onnxruntime p99', value: ort.p99 } : null),
        );
      }
      return out;
    },
  },
  {
    prefix: 'live',
    names: ['live tick-to-decision', 'live floor', 'live RSS', 'live heap', 'live capacity', 'replay peak RSS', 'replay live heap'],
    datasets: ['binance/usdm/btcusdt_20240808.gz', 'binance/usdm/ethusdt_20240808.gz', 'binance/spot/*'],
    // processes over loopback: serve-replay at 10x and 100x, a memory run, the capacity ladder, replay memory
    // (BENCH_LIVE_SECONDS, BENCH_LIVE_MEMORY_SECONDS, BENCH_LIVE_SPEEDS; see docs/performance.md)
    run: () => benchLive(),
  },
];

const filter = process.argv[2]?.toLowerCase() ?? null;
const selected = GROUPS.filter(
  (g) => filter === null || filter.startsWith(g.prefix) || [g.prefix, ...g.names].some((n) => n.toLowerCase().includes(filter)),
);
if (selected.length === 0) {
  console.error(`no benchmark group matches "${filter}" (groups: ${GROUPS.map((g) => g.prefix).join(', ')})`);
  process.exit(2);
}

const benchmarks: BenchResult[] = [];
for (const g of selected) {
  process.stderr.write(`running ${g.prefix} ...\n`);
  const rs = await g.run();
  benchmarks.push(...rs.filter((r) => filter === null || r.name.toLowerCase().includes(filter)));
}

const previous = loadDocument(join(RESULTS_DIR, 'latest.json'));
const regressions = findRegressions(benchmarks, previous?.benchmarks ?? null);
const doc: BenchDocument = {
  date: new Date().toISOString(),
  machine: machineInfo(),
  node: process.version,
  datasets: [...new Set(selected.flatMap((g) => g.datasets))].map((d) => (d.startsWith('models/') ? d : `../shared/data/${d}`)),
  method: METHOD,
  filter,
  benchmarks,
  regressions,
};
const files = writeResults(RESULTS_DIR, doc, previous);

const m = doc.machine;
process.stdout.write(`\n${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${doc.node}\n`);
process.stdout.write(`method: ${METHOD.warmup} warm-up + ${METHOD.runs} measured rounds, ${METHOD.statistic}\n\n`);
process.stdout.write(`${formatTable(benchmarks, previous?.benchmarks ?? null, regressions)}\n\n`);
if (regressions.length > 0) {
  process.stdout.write(`${regressions.length} regression(s) > 10% vs ${previous?.date ?? 'previous run'}:\n`);
  for (const r of regressions) process.stdout.write(`  ${r.name}: ${r.previous} -> ${r.current} ${r.unit} (${(r.change * 100).toFixed(1)}%)\n`);
}
process.stdout.write(`wrote ${files.latest} and ${files.dated}\n`);
