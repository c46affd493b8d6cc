import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchBacktest } from './backtest.js';
import { benchDecode } from './decode.js';
import { benchFeatures } from './features.js';
import { benchMl } from './ml.js';

/** `npm run bench`: runs every benchmark and prints one JSON document (also saved to bench/results/). */
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  benchmarks: [] as unknown[],
};
const only = process.argv[2];
const list = results['benchmarks'] as unknown[];
if (!only || only === 'decode') list.push(await benchDecode());
if (!only || only === 'backtest') list.push(await benchBacktest());
if (!only || only === 'features') list.push(await benchFeatures());
if (!only || only === 'ml') list.push(await benchMl());
const json = JSON.stringify(results, null, 2);
mkdirSync('bench/results', { recursive: true });
writeFileSync(`bench/results/bench-${Date.now()}.json`, json);
process.stdout.write(`${json}\n`);
