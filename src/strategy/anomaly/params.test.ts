import { mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../core/logger.js';
import { AnomalyStrategy } from './anomaly.js';
import { checkParams, DEFAULT_ANOMALY_PARAMS, formatParams, parseParams, ParamsFile, type AnomalyParams } from './params.js';

const GOOD = `# anomaly strategy
cell_width = 0.001
cells=11
  ema_period   =3   # alpha = 0.5

min_margin=2
max_range=4
level=2
max_position=0.01
source=trades
bar_ms=1000
cooldown_ms=1500
`;
const GOOD_PARAMS: AnomalyParams = {
  cellWidth: 0.001, cells: 11, emaPeriod: 3, minMargin: 2, maxRange: 4, level: 2, maxPosition: 0.01, source: 'trades', barMs: 1000, cooldownMs: 1500,
};

function errorsOf(text: string): readonly string[] {
  const r = parseParams(text);
  if (r.ok) throw new Error('expected errors');
  return r.errors;
}

describe('parameters.txt', () => {
  it('reads key=value lines with comments, blank lines and whitespace', () => {
    expect(parseParams(GOOD)).toEqual({ ok: true, value: GOOD_PARAMS });
    // CRLF line ends and a byte order mark, as Windows editors write them
    expect(parseParams('\uFEFF' + GOOD.replaceAll('\n', '\r\n'))).toEqual({ ok: true, value: GOOD_PARAMS });
  });

  it('takes the defaults for the keys a file does not give (an empty file is all defaults)', () => {
    expect(parseParams('')).toEqual({ ok: true, value: DEFAULT_ANOMALY_PARAMS });
    expect(parseParams('# nothing yet\n\n')).toEqual({ ok: true, value: DEFAULT_ANOMALY_PARAMS });
    expect(parseParams('level = 0.5\nsource=trades')).toEqual({ ok: true, value: { ...DEFAULT_ANOMALY_PARAMS, level: 0.5, source: 'trades' } });
  });

  it('has defaults that pass its own rules', () => {
    expect(checkParams(DEFAULT_ANOMALY_PARAMS)).toEqual([]);
    expect(DEFAULT_ANOMALY_PARAMS).toEqual({
      cellWidth: 0.0001, cells: 21, emaPeriod: 20, minMargin: 3, maxRange: 10, level: 1, maxPosition: 0.01, source: 'bars', barMs: 1000, cooldownMs: 5000,
    });
  });

  it('reports every problem at once, with line numbers', () => {
    const text = [
      'cell_widht=0.001', // 1: typo
      'cells=10', // 2: even
      'ema_period=2.5', // 3: not an integer
      'level', // 4: no '='
      'level=-1', // 5: out of range
      'source=candles', // 6: not an option
      'cells=11', // 7: given twice
      'max_position=', // 8: no value
      'cooldown_ms=1s', // 9: not a number
      'foo=1', // 10: unknown, nothing close
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'line 1: unknown key "cell_widht" (did you mean cell_width?)',
      'line 2: cells: expected an odd number (cell 0 is the centre of the grid) (got "10")',
      'line 3: ema_period: expected an integer (got "2.5")',
      'line 4: expected key=value, got "level"',
      'line 5: level: expected a number >= 0.01 and <= 100 (got "-1")',
      'line 6: source: expected one of trades, bars (got "candles")',
      'line 7: cells given twice (first on line 2)',
      'line 8: max_position: no value',
      'line 9: cooldown_ms: expected a number (got "1s")',
      'line 10: unknown key "foo"',
    ]);
  });

  it('rejects margins the grid can never produce, naming where each value came from', () => {
    // cells 5: |d| <= 4; max_range keeps its default 10
    expect(errorsOf('cells=5\nmin_margin=4.5')).toEqual([
      'min_margin 4.5 (line 2) is more than cells - 1 = 4 (line 1): no divergence could ever reach it',
      'max_range 10 (default) is more than cells - 1 = 4 (line 1): the full size could never be reached',
    ]);
    expect(parseParams('cells=5\nmin_margin=4\nmax_range=4').ok).toBe(true);
    // max_range below min_margin is allowed: every signal then commits the whole budget
    expect(parseParams('min_margin=3\nmax_range=2').ok).toBe(true);
  });

  it('writes a file that reads back the same', () => {
    expect(parseParams(formatParams(GOOD_PARAMS))).toEqual({ ok: true, value: GOOD_PARAMS });
    expect(parseParams(formatParams(DEFAULT_ANOMALY_PARAMS))).toEqual({ ok: true, value: DEFAULT_ANOMALY_PARAMS });
  });

  it('checks parameter sets that did not come from a file', () => {
    expect(checkParams(GOOD_PARAMS)).toEqual([]);
    expect(checkParams({ ...GOOD_PARAMS, cells: 12, level: 0 })).toEqual([
      'cells: expected an odd number (cell 0 is the centre of the grid) (got 12)',
      'level: expected a number >= 0.01 and <= 100 (got 0)',
    ]);
    expect(checkParams({ ...GOOD_PARAMS, cells: '11' as unknown as number })).toEqual(['cells: expected a number (got "11")']);
    expect(checkParams({ ...GOOD_PARAMS, maxRange: 11 })).toEqual(['max_range 11 (given) is more than cells - 1 = 10 (given): the full size could never be reached']);
  });
});

describe('ParamsFile', () => {
  let dir: string;
  let path: string;
  let logged: { level: string; obj: object; msg?: string }[];
  const logger: Logger = {
    info: (obj, msg) => void logged.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void logged.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void logged.push({ level: 'error', obj, msg }),
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'papertape-anomaly-'));
    path = join(dir, 'parameters.txt');
    logged = [];
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reloads a good file, then keeps those parameters when a bad file replaces it and reports the error', () => {
    writeFileSync(path, GOOD);
    const file = new ParamsFile(path, logger);
    const first = file.load(1000);
    expect(first).toMatchObject({ kind: 'anomaly_params', at: 1000, path, params: GOOD_PARAMS });
    expect(file.params).toEqual(GOOD_PARAMS);
    expect(file.lastError).toBeNull();
    expect(logged).toEqual([expect.objectContaining({ level: 'info', msg: 'anomaly parameters loaded' })]);

    // nothing changed, or only the modification time: no event
    expect(file.poll(2000)).toBeNull();
    utimesSync(path, new Date(5_000_000), new Date(5_000_000));
    expect(file.poll(3000)).toBeNull();

    // a good edit
    writeFileSync(path, GOOD.replace('level=2', 'level=4'));
    const second = file.poll(4000);
    expect(second).toMatchObject({ kind: 'anomaly_params', at: 4000, params: { ...GOOD_PARAMS, level: 4 } });
    expect(second?.contentHash).not.toBe(first.contentHash);

    // a bad edit: the previous parameters stay, the error is recorded and logged once
    writeFileSync(path, 'level=4\ncells=12\nbogus=1\n');
    const bad = file.poll(5000);
    expect(bad).toMatchObject({
      kind: 'anomaly_params_error',
      at: 5000,
      errors: ['line 2: cells: expected an odd number (cell 0 is the centre of the grid) (got "12")', 'line 3: unknown key "bogus"'],
    });
    expect(file.params).toEqual({ ...GOOD_PARAMS, level: 4 });
    expect(file.lastError).toMatchObject({ at: 5000, errors: bad?.kind === 'anomaly_params_error' ? bad.errors : [] });
    expect(file.lastError?.message).toContain('2 errors');
    expect(file.status()).toMatchObject({ path, params: { level: 4 }, loadedAt: 4000, lastError: { at: 5000 } });
    expect(file.poll(6000)).toBeNull(); // the same bad content is not reported again
    expect(logged.filter((l) => l.level === 'error')).toHaveLength(1);
    expect(logged.at(-1)?.msg).toBe('anomaly parameters file rejected; the previous parameters stay in force');

    // fixed: loaded, error cleared
    writeFileSync(path, GOOD);
    expect(file.poll(7000)).toMatchObject({ kind: 'anomaly_params', params: GOOD_PARAMS });
    expect(file.lastError).toBeNull();
  });

  it('reports a missing file once and keeps the parameters; a first read of a bad file has no parameters', () => {
    writeFileSync(path, GOOD);
    const file = new ParamsFile(path, logger);
    file.load(0);
    unlinkSync(path);
    expect(file.poll(1000)).toMatchObject({ kind: 'anomaly_params_error', contentHash: null, errors: [`cannot read ${path}: no such file`] });
    expect(file.poll(2000)).toBeNull();
    expect(file.params).toEqual(GOOD_PARAMS);

    const other = new ParamsFile(join(dir, 'other.txt'));
    writeFileSync(join(dir, 'other.txt'), 'cells=4');
    expect(other.load(0).kind).toBe('anomaly_params_error');
    expect(other.params).toBeNull();
    // load() reads again even when nothing changed (a startup retry)
    expect(other.load(1).kind).toBe('anomaly_params_error');
  });

  it('drives the strategy through events: a bad file keeps its parameters and shows in its status', () => {
    writeFileSync(path, GOOD);
    const file = new ParamsFile(path, logger);
    const strat = new AnomalyStrategy();
    strat.onParamsEvent(file.load(100));
    expect(strat.params).toEqual(GOOD_PARAMS);
    const goodId = strat.id;
    writeFileSync(path, 'level=zero\n');
    strat.onParamsEvent(file.poll(200)!);
    expect(strat.params).toEqual(GOOD_PARAMS);
    expect(strat.id).toBe(goodId);
    expect(strat.status()).toMatchObject({
      params: GOOD_PARAMS,
      paramsFile: { path, loadedAt: 100 },
      paramsError: { at: 200, errors: ['line 1: level: expected a number (got "zero")'] },
    });
    writeFileSync(path, GOOD.replace('cooldown_ms=1500', 'cooldown_ms=0'));
    strat.onParamsEvent(file.poll(300)!);
    expect(strat.params.cooldownMs).toBe(0);
    expect(strat.id).not.toBe(goodId);
    expect(strat.status()).toMatchObject({ paramsError: null, paramsFile: { loadedAt: 300 } });
    // an event is plain data: what the engine logs is what a replay applies
    const replayed = new AnomalyStrategy();
    replayed.onParamsEvent(JSON.parse(JSON.stringify(file.load(400))));
    expect(replayed.id).toBe(strat.id);
  });
});
