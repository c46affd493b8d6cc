import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import { Store } from '../store/db.js';
import { EVENT_LOG_FORMAT, EventLogWriter, readEventLog } from '../store/eventlog.js';
import { createEngine, loadStrategyParams } from './presets.js';

const logger = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'pt-params-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('anomaly parameters through the engine', () => {
  it('loads the file at start, applies a reload as a logged input, and keeps the parameters on a bad file', async () => {
    const file = join(dir, 'parameters.txt');
    writeFileSync(file, 'cells=21\nmin_margin=3\nmax_range=10\nlevel=2\n');
    const config = loadConfig({ STRATEGY: 'anomaly', ANOMALY_PARAMS_FILE: file, SHABBAT_PAUSE: 'false' });
    const start = loadStrategyParams(config, 1000, logger)!;
    expect(start.event).toMatchObject({ kind: 'anomaly_params', params: { level: 2 } });
    const logDir = join(dir, 'log');
    const log = new EventLogWriter(logDir, { format: EVENT_LOG_FORMAT, sessionId: 's', startedAt: 1000, version: 't', seed: 1, database: null, config: {} });
    const store = Store.open(':memory:');
    const engine = createEngine({ config, sessionId: 's', startedAt: 1000, seed: 1, store, logger, tradeVenue: 'spot', strategyParams: start.event, inputLog: log });
    const idBefore = engine.strategy.id;
    expect(idBefore).toMatch(/^anomaly@0\.1\.0#[0-9a-f]{8}$/);

    writeFileSync(file, 'cells=21\nmin_margin=3\nmax_range=10\nlevel=0.5\n');
    const good = start.file.poll(2000)!;
    engine.strategyParams(good, 2000);
    expect(engine.strategy.id).not.toBe(idBefore); // orders after the reload carry the new parameters' hash
    const idAfter = engine.strategy.id;

    writeFileSync(file, 'cells=20\nwhat=1\n');
    const bad = start.file.poll(3000)!;
    expect(bad.kind).toBe('anomaly_params_error');
    engine.strategyParams(bad, 3000);
    expect(engine.strategy.id).toBe(idAfter); // a bad file keeps the parameters in force
    expect(engine.strategy.status?.()).toMatchObject({ paramsError: { message: expect.any(String) } });
    await log.close();
    store.close();

    // both reloads are inputs of the session, in order, as written
    const inputs = [];
    for await (const i of readEventLog(logDir)) inputs.push(i);
    expect(inputs.map((i) => i.kind)).toEqual(['params', 'params']);
    expect(inputs.map((i) => (i.kind === 'params' ? JSON.parse(i.payload).kind : null))).toEqual(['anomaly_params', 'anomaly_params_error']);
  });

  it('a parameter file that exists but does not parse stops the start with every problem; a missing one means the defaults', () => {
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, 'cells=20\nlevel=-1\n');
    expect(() => loadStrategyParams(loadConfig({ STRATEGY: 'anomaly', ANOMALY_PARAMS_FILE: bad }), 0, logger)).toThrow(/cells[\s\S]*level/);
    expect(loadStrategyParams(loadConfig({ STRATEGY: 'anomaly', ANOMALY_PARAMS_FILE: join(dir, 'nope.txt') }), 0, logger)).toMatchObject({ event: null });
    expect(loadStrategyParams(loadConfig({}), 0, logger)).toBeNull();
  });
});
