import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import type { EpochMs } from '../../core/types.js';

/**
 * Parameters of the anomaly strategy, from a `parameters.txt` file:
 *
 *   # comment
 *   cell_width = 0.0001     # trailing comments too
 *   level=2
 *
 * One `key=value` per line; blank lines, comments and whitespace around keys and values are ignored.
 * Keys the file does not give take their defaults (so the file alone determines the parameters, whatever
 * was loaded before). Unknown keys, repeated keys, lines without `=` and bad values are errors, all
 * reported at once with their line numbers; a file with any error is rejected as a whole.
 *
 * I/O stays here, at the edge: `ParamsFile` reads the file and turns each change into a `ParamsEvent`;
 * the engine logs the event and hands it to the strategy (`AnomalyStrategy.onParamsEvent`), so a replay
 * applies the same parameters at the same point without reading any file.
 */

export type AnomalySource = 'trades' | 'bars';
export const ANOMALY_SOURCES: readonly AnomalySource[] = ['trades', 'bars'];

export type AnomalyParams = {
  /** width of one grid cell, as a fraction of the price (0.0001 = 1 basis point) */
  readonly cellWidth: number;
  /** number of grid cells, odd: cells -(cells-1)/2 .. +(cells-1)/2, cell 0 = no change */
  readonly cells: number;
  /** period of the EMA of the cells (alpha = 2 / (period + 1)) */
  readonly emaPeriod: number;
  /** |divergence| in cells needed for a signal */
  readonly minMargin: number;
  /** divergence in cells at which the size reaches maxPosition (x = min(|d| / maxRange, 1)) */
  readonly maxRange: number;
  /** convexity of the sizing curve: < 1 aggressive, 1 linear, > 1 sniper */
  readonly level: number;
  /** largest absolute position the strategy aims for, base units (shares, BTC), per symbol */
  readonly maxPosition: number;
  /** act on each trade price, or on the close of time bars built from trades */
  readonly source: AnomalySource;
  /** bar length when source = bars, ms */
  readonly barMs: number;
  /** minimum time between two orders on one symbol, ms */
  readonly cooldownMs: number;
};

type Field = keyof AnomalyParams;

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const num = (min: number, max: number, opts: { int?: boolean; exclusiveMin?: boolean; odd?: boolean } = {}) =>
  z
    .string()
    .regex(NUMBER, 'expected a number')
    .transform(Number)
    .refine((n) => Number.isFinite(n) && (opts.exclusiveMin ? n > min : n >= min) && n <= max, {
      message: `expected a number ${opts.exclusiveMin ? '>' : '>='} ${min} and <= ${max}`,
    })
    .refine((n) => !opts.int || Number.isInteger(n), { message: 'expected an integer' })
    .refine((n) => !opts.odd || n % 2 === 1, { message: 'expected an odd number (cell 0 is the centre of the grid)' });

interface KeySpec {
  readonly field: Field;
  readonly schema: z.ZodType<number | string, string>;
  readonly default: number | string;
  readonly doc: string;
}

/** The keys of parameters.txt: field, validation, default and meaning. */
export const PARAMETER_KEYS = {
  cell_width: { field: 'cellWidth', schema: num(0, 1, { exclusiveMin: true }), default: 0.0001, doc: 'Width of one grid cell as a fraction of the price (0.0001 = 1 bp)' },
  cells: { field: 'cells', schema: num(3, 10_001, { int: true, odd: true }), default: 21, doc: 'Number of grid cells, odd (21: cells -10..+10)' },
  ema_period: { field: 'emaPeriod', schema: num(1, 1_000_000, { int: true }), default: 20, doc: 'EMA period, in observations (alpha = 2 / (period + 1))' },
  min_margin: { field: 'minMargin', schema: num(0, 10_000, { exclusiveMin: true }), default: 3, doc: '|d| in cells needed for a signal (d >= min_margin sells, d <= -min_margin buys); at most cells - 1' },
  max_range: { field: 'maxRange', schema: num(0, 10_000, { exclusiveMin: true }), default: 10, doc: '|d| in cells that commits the whole max_position; at most cells - 1' },
  level: { field: 'level', schema: num(0.01, 100), default: 1, doc: 'Convexity of the sizing curve: < 1 aggressive, 1 linear, > 1 sniper' },
  max_position: { field: 'maxPosition', schema: num(0, 1e12, { exclusiveMin: true }), default: 0.01, doc: 'Largest absolute position per symbol, base units (BTC, shares)' },
  source: { field: 'source', schema: z.enum(ANOMALY_SOURCES, { message: `expected one of ${ANOMALY_SOURCES.join(', ')}` }), default: 'bars', doc: 'trades: every trade price; bars: the close of time bars built from trades' },
  bar_ms: { field: 'barMs', schema: num(1, 86_400_000, { int: true }), default: 1000, doc: 'Bar length in ms (source = bars)' },
  cooldown_ms: { field: 'cooldownMs', schema: num(0, 86_400_000, { int: true }), default: 5000, doc: 'Minimum time between two orders on one symbol, ms' },
} as const satisfies Record<string, KeySpec>;

export type ParameterKey = keyof typeof PARAMETER_KEYS;
const KEYS = Object.keys(PARAMETER_KEYS) as ParameterKey[];

export const DEFAULT_ANOMALY_PARAMS: AnomalyParams = Object.freeze(
  Object.fromEntries(KEYS.map((k) => [PARAMETER_KEYS[k].field, PARAMETER_KEYS[k].default])) as AnomalyParams,
);

/** Expected failure of a parameter file: every problem, one line each. */
export interface ParamsErr {
  readonly ok: false;
  readonly code: 'bad_params';
  /** all errors, one per line */
  readonly message: string;
  readonly errors: readonly string[];
}
export type ParamsResult = { readonly ok: true; readonly value: AnomalyParams } | ParamsErr;

function bad(errors: string[]): ParamsErr {
  return { ok: false, code: 'bad_params', message: errors.join('\n'), errors };
}

/** Parses the text of a parameters file. Never throws. */
export function parseParams(text: string): ParamsResult {
  const errors: string[] = [];
  const seen = new Map<ParameterKey, number>();
  const out: Record<string, number | string> = { ...DEFAULT_ANOMALY_PARAMS };
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const hash = lines[i]!.indexOf('#');
    const line = (hash >= 0 ? lines[i]!.slice(0, hash) : lines[i]!).trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) {
      errors.push(`line ${n}: expected key=value, got "${line}"`);
      continue;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (!Object.hasOwn(PARAMETER_KEYS, key)) {
      const hint = closestKey(key);
      errors.push(`line ${n}: unknown key "${key}"${hint ? ` (did you mean ${hint}?)` : ''}`);
      continue;
    }
    const k = key as ParameterKey;
    const first = seen.get(k);
    if (first !== undefined) {
      errors.push(`line ${n}: ${k} given twice (first on line ${first})`);
      continue;
    }
    seen.set(k, n);
    if (value === '') {
      errors.push(`line ${n}: ${k}: no value`);
      continue;
    }
    const r = PARAMETER_KEYS[k].schema.safeParse(value);
    if (!r.success) {
      errors.push(`line ${n}: ${k}: ${r.error.issues.map((x) => x.message).join('; ')} (got "${value}")`);
      continue;
    }
    out[PARAMETER_KEYS[k].field] = r.data;
  }
  if (errors.length > 0) return bad(errors);
  const p = out as AnomalyParams;
  const where = (k: ParameterKey): string => (seen.has(k) ? `line ${seen.get(k)}` : 'default');
  const cross = crossCheck(p, where);
  return cross.length > 0 ? bad(cross) : { ok: true, value: p };
}

/** Rules that involve more than one key. `where` names the origin of a key in messages. */
function crossCheck(p: AnomalyParams, where: (k: ParameterKey) => string): string[] {
  const errors: string[] = [];
  // |d| = |cell - ema| can never exceed cells - 1 (both lie in [-half, +half])
  const reach = p.cells - 1;
  if (p.minMargin > reach) {
    errors.push(`min_margin ${p.minMargin} (${where('min_margin')}) is more than cells - 1 = ${reach} (${where('cells')}): no divergence could ever reach it`);
  }
  if (p.maxRange > reach) {
    errors.push(`max_range ${p.maxRange} (${where('max_range')}) is more than cells - 1 = ${reach} (${where('cells')}): the full size could never be reached`);
  }
  return errors;
}

/**
 * Checks a parameter set that did not come from parseParams (a replayed event, a test, the API): the
 * same rules, messages naming the file keys. Empty when valid.
 */
export function checkParams(p: AnomalyParams): string[] {
  const errors: string[] = [];
  for (const k of KEYS) {
    const spec = PARAMETER_KEYS[k];
    const v = (p as Record<string, unknown>)[spec.field];
    if (typeof v !== typeof spec.default) {
      errors.push(`${k}: expected a ${typeof spec.default} (got ${JSON.stringify(v) ?? 'nothing'})`);
      continue;
    }
    const r = spec.schema.safeParse(String(v));
    if (!r.success) errors.push(`${k}: ${r.error.issues.map((x) => x.message).join('; ')} (got ${JSON.stringify(v)})`);
  }
  return errors.length > 0 ? errors : crossCheck(p, () => 'given');
}

/** A parameters file that gives every key (the inverse of parseParams). */
export function formatParams(p: AnomalyParams): string {
  return KEYS.map((k) => `${k}=${String(p[PARAMETER_KEYS[k].field])}`).join('\n') + '\n';
}

/** The closest known key, when a typo is likely (edit distance <= 2). */
function closestKey(key: string): string | null {
  let best: string | null = null;
  let bestD = 3;
  for (const k of KEYS) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

// ---------------------------------------------------------------------------------------------------------
// The file at the edge

/**
 * A change of the parameter file, as the engine logs and applies it. JSON-safe: it goes into the event
 * log as it is, and a replay hands the logged event to the strategy instead of reading the file.
 */
export type ParamsEvent =
  | {
      readonly kind: 'anomaly_params';
      readonly at: EpochMs;
      readonly path: string;
      /** SHA-256 of the file's bytes, 16 hex digits */
      readonly contentHash: string;
      readonly params: AnomalyParams;
    }
  | {
      readonly kind: 'anomaly_params_error';
      readonly at: EpochMs;
      readonly path: string;
      /** null when the file could not be read */
      readonly contentHash: string | null;
      readonly message: string;
      readonly errors: readonly string[];
    };

export interface ParamsError {
  readonly at: EpochMs;
  readonly message: string;
  readonly errors: readonly string[];
}

export interface ParamsFileStatus {
  readonly path: string;
  readonly params: AnomalyParams | null;
  readonly contentHash: string | null;
  readonly loadedAt: EpochMs | null;
  readonly lastError: ParamsError | null;
}

/**
 * The parameters file: `load(now)` reads it, `poll(now)` reads it again and reports a change. The content
 * (a SHA-256 of the bytes), not the modification time, decides what is a change: the file is tiny, so
 * reading it on every poll costs microseconds and cannot miss an edit that keeps the size and lands in
 * the same mtime tick, and touching the file without changing it is no change. A file that is rejected
 * (bad content, unreadable, deleted) keeps the previous parameters in force and is reported once per
 * distinct content, through the logger and `lastError`.
 *
 * Engine wiring (see docs/strategies.md): at start, `load(now)`; a rejected file there is a startup error.
 * Then, live, `poll(clock.now())` every ANOMALY_PARAMS_POLL_MS from a timer outside the hot path; each event
 * it returns is appended to the event log as an input and passed to `strategy.onParamsEvent(event)` in
 * the engine's event order. A replay passes the logged events and never polls.
 */
export class ParamsFile {
  private current: AnomalyParams | null = null;
  private hash: string | null = null;
  private loadedAtMs: EpochMs | null = null;
  private error: ParamsError | null = null;
  /** what the last read saw: the content hash, or the read error code */
  private lastSeen: string | null = null;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
  ) {}

  /** The parameters in force (the last good file), or null when no good file was ever read. */
  get params(): AnomalyParams | null {
    return this.current;
  }
  get lastError(): ParamsError | null {
    return this.error;
  }

  /** Reads the file now, whatever was seen before, and returns what came of it. */
  load(now: EpochMs): ParamsEvent {
    this.lastSeen = null;
    return this.read(now)!;
  }

  /** Reads the file; returns an event when its content (or read error) differs from the last read, else null. */
  poll(now: EpochMs): ParamsEvent | null {
    return this.read(now);
  }

  status(): ParamsFileStatus {
    return { path: this.path, params: this.current, contentHash: this.hash, loadedAt: this.loadedAtMs, lastError: this.error };
  }

  private read(now: EpochMs): ParamsEvent | null {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      const seen = `error:${code}`;
      if (seen === this.lastSeen) return null;
      this.lastSeen = seen;
      return this.reject(now, null, [`cannot read ${this.path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`]);
    }
    const contentHash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    if (contentHash === this.lastSeen) return null;
    this.lastSeen = contentHash;
    const r = parseParams(bytes.toString('utf8'));
    if (!r.ok) return this.reject(now, contentHash, [...r.errors]);
    this.current = r.value;
    this.hash = contentHash;
    this.loadedAtMs = now;
    this.error = null;
    this.logger?.info({ path: this.path, contentHash, params: r.value }, 'anomaly parameters loaded');
    return { kind: 'anomaly_params', at: now, path: this.path, contentHash, params: r.value };
  }

  private reject(now: EpochMs, contentHash: string | null, errors: string[]): ParamsEvent {
    const message = `${this.path}: ${errors.length} error${errors.length === 1 ? '' : 's'}: ${errors.join('; ')}`;
    this.error = { at: now, message, errors };
    this.logger?.error(
      { path: this.path, contentHash, errors, keeping: this.current ? this.hash : null },
      this.current ? 'anomaly parameters file rejected; the previous parameters stay in force' : 'anomaly parameters file rejected',
    );
    return { kind: 'anomaly_params_error', at: now, path: this.path, contentHash, message, errors };
  }
}
