import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { runBacktest } from '../src/engine/offline.js';
import { MlGate } from '../src/ml/gate.js';

/**
 * How often the ML gate lets OBI entries through on recordings: a backtest with the default configuration
 * (plus MODEL_PATH, MIN_CONFIDENCE, SHABBAT_PAUSE=false), counting the verdicts of every `MlGate.check` (the
 * probabilities of those the model answered, for other thresholds). One JSON line on stdout.
 *
 *   npm run build --silent && node dist/scripts/gate-pass.js models/gbdt-xgb 0.6 FILE...
 */
const [model = 'models/gbdt-xgb', confidence = '0.6', ...files] = process.argv.slice(2);
const probs: number[] = [];
let passed = 0;
let notAsked = 0;
const check = MlGate.prototype.check;
MlGate.prototype.check = function (this: MlGate, symbol, dir, t) {
  const v = check.call(this, symbol, dir, t);
  if (Number.isNaN(v.probability)) notAsked++;
  else {
    probs.push(v.probability);
    if (v.pass) passed++;
  }
  return v;
};
const s = await runBacktest(files, {
  config: loadConfig({ MODEL_PATH: model, MIN_CONFIDENCE: confidence, SHABBAT_PAUSE: 'false' }),
  tradeVenueSet: false,
  seed: 1,
  database: ':memory:',
  logger: pino({ level: 'silent' }),
});
probs.sort((a, b) => a - b);
const q = (p: number): number | null => (probs.length === 0 ? null : probs[Math.min(probs.length - 1, Math.floor(p * probs.length))]!);
process.stdout.write(
  `${JSON.stringify({
    model, minConfidence: Number(confidence), asked: probs.length, passed, share: probs.length > 0 ? passed / probs.length : null, notAsked,
    orders: s.orders, fills: s.fills,
    probability: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: probs.at(-1) ?? null },
    wouldPass: Object.fromEntries([0.4, 0.45, 0.5, 0.55, 0.6, 0.65].map((c) => [c, probs.filter((p) => p >= c).length])),
  })}\n`,
);
