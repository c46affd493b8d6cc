import { beforeAll, describe, it } from 'vitest';
import * as P from './fuzz/decoders.js';

/**
 * Fuzzing of every reader of outside input with fast-check (properties in test/fuzz/decoders.ts; the API's
 * in src/api/security.test.ts). CI runs the counts below (over 100,000 cases in all); `npm run fuzz` runs
 * the same properties with FUZZ_RUNS cases each (nightly). A failure prints the counterexample and the
 * seed to replay it with (FUZZ_SEED).
 */
const RUNS = process.env['FUZZ_RUNS'] ? Number(process.env['FUZZ_RUNS']) : undefined;
const SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : undefined;
const runs = (ci: number): number => RUNS ?? ci;
// no limit for a nightly run; CI's counts finish in seconds
const TIMEOUT = RUNS ? 24 * 3_600_000 : 60_000;

let samples: P.Samples;
beforeAll(async () => {
  samples = await P.loadSamples(300);
});

describe('fuzz: decoders and parsers never crash on bad input', () => {
  it('Binance decoder: mutated real messages are decoded or counted, the same in any JSON layout', () => P.binanceMutations(samples, runs(25_000), SEED), TIMEOUT);
  it('Binance decoder: arbitrary text and JSON in the envelope', () => P.binanceArbitrary(runs(20_000), SEED), TIMEOUT);
  it('Binance depth snapshots: mutated REST answers', () => P.binanceSnapshots(samples, runs(3_000), SEED), TIMEOUT);
  it('Binance book: mutated, dropped, repeated and reordered diffs keep the book consistent', () => P.binanceBook(samples, runs(1_500), SEED), TIMEOUT);
  it('Alpaca market data: mutated frames', () => P.alpacaMarketData(runs(12_000), SEED), TIMEOUT);
  it('Alpaca trade_updates: mutated frames', () => P.alpacaTradeUpdates(runs(8_000), SEED), TIMEOUT);
  it('parameters file: random texts and key=value lines', () => P.paramsFile(runs(25_000), SEED), TIMEOUT);
  it('FEE_OVERRIDES: random texts and entries', () => P.feeOverrides(runs(15_000), SEED), TIMEOUT);
  it('configuration: random values of random variables', () => P.configValues(runs(2_000), SEED), TIMEOUT);
});
