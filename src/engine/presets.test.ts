import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SPOT_FILES } from '../../test/support/data.js';
import { loadConfig } from '../config/config.js';
import { ConstantLatency } from '../execution/paper/latency.js';
import { DecisionLatency } from '../ml/gate.js';
import { ObiStrategy } from '../strategy/obi/obi.js';
import { runBacktest } from './offline.js';
import { buildGate, buildStrategy, withDecisionLatency } from './presets.js';

const MODELS = resolve(import.meta.dirname, '../../models');
const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'papertape-ml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the ML gate in the presets', () => {
  it('is off without MODEL_PATH and on with a shipped model', () => {
    expect(buildGate(loadConfig({}), null)).toBeNull();
    const s = buildStrategy(loadConfig({ MODEL_PATH: join(MODELS, 'gbdt-hgb'), MIN_CONFIDENCE: '0.55' })) as ObiStrategy;
    expect(s.gate?.model.id).toMatch(/^gbdt-hgb@[0-9a-f]{8}$/);
    expect(s.gate?.minConfidence).toBe(0.55);
    expect((s.status() as { ml: { engine: string } }).ml.engine).toMatch(/compiled JS .* checked against onnxruntime/);
    expect(buildGate(loadConfig({ STRATEGY: 'anomaly', MODEL_PATH: join(MODELS, 'gbdt-hgb') }), null)).toBeNull();
  });

  it('stops the start on a model it cannot use, naming MODEL_PATH', () => {
    expect(() => buildGate(loadConfig({ MODEL_PATH: join(dir, 'no-model') }), null)).toThrow(/^MODEL_PATH=.*no-model: model .*no model\.json/);
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
