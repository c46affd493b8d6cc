import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiFixtures, type Fixture } from '../../test/support/api.js';
import { VARIABLES } from '../config/config.js';

const p50 = (name: string): number => (JSON.parse(readFileSync(join(resolve('models'), name, 'model.json'), 'utf8')) as { latency: { p50Us: number } }).latency.p50Us;

const setup = apiFixtures();

async function get(f: Fixture, path: string): Promise<Record<string, unknown>> {
  const r = await fetch(f.base + path);
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

describe('the ML gate in GET /status and GET /latency', () => {
  it('reports the gate off and no model with MODEL_PATH empty', async () => {
    const f = await setup({ env: { MODEL_PATH: '' } });
    const status = await get(f, '/status');
    expect(status['ml']).toBeNull();
    expect((status['strategy'] as Record<string, unknown>)['mlGate']).toMatchObject({ enabled: false });
    expect((await get(f, '/latency'))['ml']).toBeNull();
  });

  it('names the shipped model and its inference-time summary with MODEL_PATH', async () => {
    const f = await setup({ env: { MODEL_PATH: resolve('models/gbdt-xgb') } });
    const status = await get(f, '/status');
    const ml = status['ml'] as Record<string, unknown>;
    expect(ml['model']).toMatch(/gbdt-xgb/);
    expect(ml['inference']).toMatchObject({ count: expect.any(Number) });
    expect((status['strategy'] as Record<string, unknown>)['mlGate']).toEqual({ enabled: true });
    const lat = (await get(f, '/latency'))['ml'] as Record<string, unknown>;
    expect(lat).toEqual({ model: ml['model'], inference: ml['inference'] });
  });

  it("uses the shipped gbdt-xgb by default, charges its recorded p50, and warns about ETHUSDT, which it was not trained on", async () => {
    const f = await setup({ env: { MODEL_PATH: VARIABLES.MODEL_PATH.default } });
    const ml = (await get(f, '/status'))['ml'] as Record<string, unknown>;
    expect(ml['model']).toMatch(/^gbdt-xgb@/);
    expect(ml['trainedOn']).toBe('spot:BTCUSDT');
    expect(ml['decisionLatencyUs']).toBe(Math.ceil(p50('gbdt-xgb')));
    expect(ml['decisionLatencySource']).toMatch(/^model\.json latency\.p50Us/);
    expect(ml['warnings']).toEqual([expect.stringMatching(/trained on spot:BTCUSDT, not on the traded spot:ETHUSDT/)]);
  });
});
