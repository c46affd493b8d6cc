import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from '../../test/support/data.js';
import { ConfigError, loadConfig } from '../config/config.js';
import type { Logger } from '../core/logger.js';
import { ConstantLatency } from '../execution/paper/latency.js';
import { DecisionLatency } from '../ml/gate.js';
import { ObiStrategy } from '../strategy/obi/obi.js';
import { runBacktest } from './offline.js';
import { buildGate, buildStrategy, resolveDecisionLatency, withDecisionLatency } from './presets.js';

const MODELS = resolve(import.meta.dirname, '../../models');

/** a copy of the shipped gbdt-xgb whose model.json `edit` changes (the ONNX file and parity rows as they are) */
function copyModel(name: string, edit: (sc: Record<string, unknown>) => void): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const f of ['model.onnx', 'parity.json']) copyFileSync(join(MODELS, 'gbdt-xgb', f), join(d, f));
  const sc = JSON.parse(readFileSync(join(MODELS, 'gbdt-xgb', 'model.json'), 'utf8')) as Record<string, unknown>;
  edit(sc);
  writeFileSync(join(d, 'model.json'), JSON.stringify(sc));
  return d;
}
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'papertape-ml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the ML gate in the presets', () => {
  it('resolves ML_DECISION_LATENCY_US=model to the number a live session header records (replays charge the same)', () => {
    const sidecar = JSON.parse(readFileSync(join(MODELS, 'lstm', 'model.json'), 'utf8')) as { latency: { p50Us: number } };
    const resolved = resolveDecisionLatency(loadConfig({ MODEL_PATH: join(MODELS, 'lstm') }));
    expect(resolved.ML_DECISION_LATENCY_US).toBe(Math.ceil(sidecar.latency.p50Us));
    expect(resolved.MODEL_PATH).toBe(join(MODELS, 'lstm'));
    // a number stays; no gate: nothing to resolve
    expect(resolveDecisionLatency(loadConfig({ ML_DECISION_LATENCY_US: '7' })).ML_DECISION_LATENCY_US).toBe(7);
    expect(resolveDecisionLatency(loadConfig({ MODEL_PATH: '' })).ML_DECISION_LATENCY_US).toBe('model');
  });

  it('is on by default with the shipped gbdt-xgb (found from any working directory), off with MODEL_PATH empty, on with a shipped model', () => {
    const dflt = buildGate(loadConfig({}), null);
    expect(dflt?.model.id).toMatch(/^gbdt-xgb@[0-9a-f]{8}$/);
    expect(dflt?.model.dir).toBe(join(MODELS, 'gbdt-xgb'));
    expect(buildGate(loadConfig({ MODEL_PATH: '' }), null)).toBeNull();
    expect(buildGate(loadConfig({ MODEL_PATH: '  ' }), null)).toBeNull();
    const s = buildStrategy(loadConfig({ MODEL_PATH: join(MODELS, 'gbdt-hgb'), MIN_CONFIDENCE: '0.55' })) as ObiStrategy;
    expect(s.gate?.model.id).toMatch(/^gbdt-hgb@[0-9a-f]{8}$/);
    expect(s.gate?.minConfidence).toBe(0.55);
    expect((s.status() as { ml: { engine: string } }).ml.engine).toMatch(/compiled JS .* checked against onnxruntime/);
    expect(buildGate(loadConfig({ STRATEGY: 'anomaly', MODEL_PATH: join(MODELS, 'gbdt-hgb') }), null)).toBeNull();
  });

  it('stops the start on a model it cannot use, naming MODEL_PATH', () => {
    expect(() => buildGate(loadConfig({ MODEL_PATH: join(dir, 'no-model') }), null)).toThrow(/^MODEL_PATH=.*no-model: model .*no model\.json/);
  });

  it("charges the model's recorded p50, rounded up to whole µs, unless ML_DECISION_LATENCY_US is a number", () => {
    for (const name of ['gbdt-xgb', 'gbdt-hgb', 'cnn', 'lstm']) {
      const sc = JSON.parse(readFileSync(join(MODELS, name, 'model.json'), 'utf8')) as { latency: { p50Us: number; p99Us: number; calls: number } };
      expect(sc.latency.p50Us).toBeGreaterThan(0);
      expect(sc.latency.calls).toBe(20_000);
      const g = buildGate(loadConfig({ MODEL_PATH: join(MODELS, name) }), null)!;
      expect(g.decisionLatencyMs * 1000).toBeCloseTo(Math.ceil(sc.latency.p50Us), 9);
      expect((g.status() as { decisionLatencySource: string }).decisionLatencySource).toMatch(/^model\.json latency\.p50Us/);
    }
    const g = buildGate(loadConfig({ MODEL_PATH: join(MODELS, 'cnn'), ML_DECISION_LATENCY_US: '250' }), null)!;
    expect(g.decisionLatencyMs).toBeCloseTo(0.25, 12);
    expect(() => loadConfig({ ML_DECISION_LATENCY_US: 'measured' })).toThrow(/ML_DECISION_LATENCY_US/);
  });

  it('stops the start on a model.json without a recorded latency, telling to run papertape model-latency', () => {
    const d = copyModel('no-latency', (sc) => {
      delete sc['latency'];
    });
    expect(() => buildGate(loadConfig({ MODEL_PATH: d }), null)).toThrow(ConfigError);
    expect(() => buildGate(loadConfig({ MODEL_PATH: d }), null)).toThrow(/no measured inference latency.*papertape model-latency/);
    expect(buildGate(loadConfig({ MODEL_PATH: d, ML_DECISION_LATENCY_US: '20' }), null)?.decisionLatencyMs).toBeCloseTo(0.02, 12);
  });

  it('refuses a model that reads futures features when a traded symbol has no USD-M data, and runs it with the data', async () => {
    const d = copyModel('futures', (sc) => {
      const f = sc['features'] as { used: string[]; leftOut: { name: string }[] };
      f.used.push('funding_rate_bp', 'liq_count_60s');
      f.leftOut = f.leftOut.filter((x) => !f.used.includes(x.name));
    });
    const traded = [{ venue: 'spot', symbol: 'BTCUSDT' }, { venue: 'spot', symbol: 'ETHUSDT' }];
    const config = loadConfig({ MODEL_PATH: d });
    expect(() => buildGate(config, null, { traded, futuresSymbols: ['BTCUSDT'] })).toThrow(ConfigError);
    expect(() => buildGate(config, null, { traded, futuresSymbols: ['BTCUSDT'] })).toThrow(/funding_rate_bp, liq_count_60s, but ETHUSDT has no USD-M data/);
    expect(buildGate(config, null, { traded, futuresSymbols: ['BTCUSDT', 'ETHUSDT'] })).not.toBeNull();
    // a model without futures features needs no USD-M data
    expect(buildGate(loadConfig({}), null, { traded, futuresSymbols: [] })).not.toBeNull();
    // backtests: spot alone is refused before a session is written; with the USD-M recording it runs
    const db = join(dir, 'futures.db');
    await expect(runBacktest(SPOT_FILES, { config, tradeVenueSet: false, seed: 1, database: db, logger })).rejects.toThrow(/BTCUSDT has no USD-M data/);
    const s = await runBacktest([...SPOT_FILES, USDM_BTC], { config: loadConfig({ MODEL_PATH: d, WARMUP_SECONDS: '0' }), tradeVenueSet: false, seed: 1, database: db, logger });
    expect(s.events).toBeGreaterThan(0);
  });

  it('warns at start about a traded instrument the model was not trained on, and shows it in the status', () => {
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown, m: string) => warnings.push([o, m]) } as unknown as Logger;
    const g = buildGate(loadConfig({}), null, { logger: log, traded: [{ venue: 'spot', symbol: 'BTCUSDT' }, { venue: 'spot', symbol: 'ETHUSDT' }, { venue: 'usdm', symbol: 'BTCUSDT' }], futuresSymbols: ['BTCUSDT', 'ETHUSDT'] })!;
    expect(g.warnings).toHaveLength(2);
    expect(g.warnings[0]).toMatch(/trained on spot:BTCUSDT, not on the traded spot:ETHUSDT/);
    expect(g.warnings[1]).toMatch(/not on the traded usdm:BTCUSDT/);
    expect(warnings).toHaveLength(2);
    expect((g.status() as { warnings: string[] }).warnings).toEqual(g.warnings);
  });

  it('adds the charged decision latency to the entry latency of the next order only', () => {
    const d = new DecisionLatency();
    const l = withDecisionLatency(new ConstantLatency(30, 40), d);
    d.charge(1000, 0.02);
    expect(l.entry(1000)).toBeCloseTo(30.02, 12);
    expect(l.entry(1000)).toBe(30);
    expect(l.response(1000)).toBe(40);
    expect(l.name).toBe('constant');
  });

  it('backtests with the gate: gated entries carry the probability and the decision latency, the same on every run', async () => {
    const run = async (name: string, env: Record<string, string>) => {
      const db = join(dir, `${name}.db`);
      await runBacktest(SPOT_FILES, { config: loadConfig({ WARMUP_SECONDS: '0', ...env }), tradeVenueSet: false, seed: 3, database: db, logger });
      const d = new Database(db, { readonly: true });
      try {
        return d.prepare('SELECT o.reason, f.time - o.created_at AS latency FROM orders o JOIN fills f ON f.order_id = o.id ORDER BY o.created_at').all() as { reason: string; latency: number }[];
      } finally {
        d.close();
      }
    };
    const env = { MODEL_PATH: join(MODELS, 'gbdt-xgb'), MIN_CONFIDENCE: '0.45', ML_DECISION_LATENCY_US: '500' };
    const [a, b] = [await run('a', env), await run('b', env)];
    expect(a).toEqual(b);
    const gated = a.filter((r) => r.reason.includes('model p='));
    expect(gated.length).toBeGreaterThan(0);
    for (const r of gated) {
      expect(Number(/model p=([0-9.]+)/.exec(r.reason)![1])).toBeGreaterThanOrEqual(0.45);
      expect(r.latency).toBeCloseTo(30.5, 6); // LATENCY_ENTRY_MS 30 + 500 µs; market orders fill on arrival
    }
    for (const r of a.filter((x) => x.reason.includes('reduces position'))) expect(r.latency).toBeCloseTo(30, 6);
    // a gate no probability reaches lets no entry through
    const shut = await run('shut', { ...env, MIN_CONFIDENCE: '1' });
    expect(shut).toEqual([]);
  });
});
