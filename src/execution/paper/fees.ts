import { VENUES, type Venue } from '../../core/types.js';
import type { FeeModel, Liquidity } from './models.js';

/**
 * Fee rates are fractions of the fill's notional (0.001 = 0.1% = 10 bp); a negative rate is a rebate.
 * The fee of one fill is `notional · rate` in the quote asset (see `feeAmount`).
 */

export interface FeeRates {
  maker: number;
  taker: number;
}

/** A fee rate override for one venue and/or symbol; '*' matches any. */
export interface FeeOverride extends FeeRates {
  venue: Venue | '*';
  symbol: string | '*';
}

/** accepted rates lie strictly inside (-MAX_ABS_FEE_RATE, MAX_ABS_FEE_RATE): 1% of notional */
export const MAX_ABS_FEE_RATE = 0.01;

/** the fee of one fill: notional (price · quantity, in the quote asset) times the rate; negative = rebate */
export function feeAmount(notional: number, rate: number): number {
  return notional * rate;
}

function rateProblem(rate: number): string | null {
  if (!Number.isFinite(rate)) return 'not a number';
  if (!(rate > -MAX_ABS_FEE_RATE && rate < MAX_ABS_FEE_RATE)) return `rate ${rate} outside (-${MAX_ABS_FEE_RATE}, ${MAX_ABS_FEE_RATE})`;
  return null;
}

/**
 * Fee rates from defaults and a table of overrides. The most specific override wins:
 * venue+symbol, then venue+'*', then '*'+symbol, then '*'+'*', then the defaults.
 * Lookups allocate nothing (one Map lookup per level of precedence, keyed by the symbol).
 */
export class TableFeeModel implements FeeModel {
  /** per venue index: symbol -> rates */
  private readonly exact: Map<string, FeeRates>[];
  /** per venue index: the venue's '*' rates */
  private readonly venueAny: (FeeRates | undefined)[];
  /** '*' venue: symbol -> rates */
  private readonly symbolAny = new Map<string, FeeRates>();
  private readonly fallback: FeeRates;

  constructor(defaults: FeeRates, overrides: readonly FeeOverride[]) {
    const problems: string[] = [];
    for (const [what, r] of [['default maker', defaults.maker], ['default taker', defaults.taker]] as const) {
      const p = rateProblem(r);
      if (p) problems.push(`${what}: ${p}`);
    }
    this.exact = VENUES.map(() => new Map<string, FeeRates>());
    this.venueAny = VENUES.map(() => undefined);
    let anyAny: FeeRates | undefined;
    for (const o of overrides) {
      const label = `${o.venue}:${o.symbol}`;
      const vi = o.venue === '*' ? -1 : VENUES.indexOf(o.venue);
      if (o.venue !== '*' && vi < 0) problems.push(`${label}: unknown venue "${o.venue}"`);
      for (const [side, r] of [['maker', o.maker], ['taker', o.taker]] as const) {
        const p = rateProblem(r);
        if (p) problems.push(`${label} ${side}: ${p}`);
      }
      const rates: FeeRates = { maker: o.maker, taker: o.taker };
      let duplicate = false;
      if (o.venue === '*') {
        if (o.symbol === '*') {
          duplicate = anyAny !== undefined;
          anyAny = rates;
        } else {
          duplicate = this.symbolAny.has(o.symbol);
          this.symbolAny.set(o.symbol, rates);
        }
      } else if (vi >= 0) {
        if (o.symbol === '*') {
          duplicate = this.venueAny[vi] !== undefined;
          this.venueAny[vi] = rates;
        } else {
          const m = this.exact[vi]!;
          duplicate = m.has(o.symbol);
          m.set(o.symbol, rates);
        }
      }
      if (duplicate) problems.push(`${label}: given more than once`);
    }
    if (problems.length > 0) throw new Error(`invalid fee table: ${problems.join('; ')}`);
    this.fallback = anyAny ?? { maker: defaults.maker, taker: defaults.taker };
  }

  /** the rates that apply to one venue and symbol */
  rates(venue: Venue, symbol: string): FeeRates {
    const vi = VENUES.indexOf(venue);
    return this.exact[vi]?.get(symbol) ?? this.venueAny[vi] ?? this.symbolAny.get(symbol) ?? this.fallback;
  }

  rate(venue: Venue, symbol: string, liquidity: Liquidity): number {
    const r = this.rates(venue, symbol);
    return liquidity === 'maker' ? r.maker : r.taker;
  }
}

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SYMBOL_RE = /^[A-Z0-9]+(\/[A-Z0-9]+)?$/;
export const FEE_OVERRIDE_FORM = 'venue:symbol=maker/taker (venue spot|usdm|alpaca|*, symbol e.g. BTCUSDT, TSLA, DOGE/USD or *), comma-separated';

/**
 * Parses the config form of fee overrides: `spot:BTCUSDT=0.0002/0.0004,usdm:*=-0.0001/0.0005`.
 * Entries are comma-separated `venue:symbol=maker/taker`; venue is spot, usdm or '*'; symbol is
 * upper-cased, or '*'; rates are plain decimal numbers strictly inside (-0.01, 0.01). Whitespace
 * around parts is ignored, as are empty entries (so '' or a trailing comma means none). Throws one
 * Error that lists every bad entry with the reason.
 */
export function parseFeeOverrides(text: string): FeeOverride[] {
  const out: FeeOverride[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const entries = text.split(',');
  for (let i = 0; i < entries.length; i++) {
    const raw = entries[i]!.trim();
    if (raw === '') continue;
    const bad = (why: string) => problems.push(`entry ${i + 1} "${raw}": ${why}`);
    const eq = raw.indexOf('=');
    const colon = raw.indexOf(':');
    if (eq < 0 || colon < 0 || colon > eq) {
      bad('expected venue:symbol=maker/taker');
      continue;
    }
    const venue = raw.slice(0, colon).trim().toLowerCase();
    const symbol = raw.slice(colon + 1, eq).trim().toUpperCase();
    const rates = raw.slice(eq + 1).split('/');
    const why: string[] = [];
    if (venue !== '*' && !(VENUES as readonly string[]).includes(venue)) {
      why.push(`unknown venue "${venue}" (expected ${VENUES.join(', ')} or *)`);
    }
    if (symbol !== '*' && !SYMBOL_RE.test(symbol)) why.push(`bad symbol "${symbol}" (letters and digits, or *)`);
    let maker = NaN;
    let taker = NaN;
    if (rates.length !== 2) {
      why.push('expected two rates, maker/taker');
    } else {
      const parsed = [NaN, NaN];
      for (let k = 0; k < 2; k++) {
        const s = rates[k]!.trim();
        const name = k === 0 ? 'maker' : 'taker';
        if (!NUMBER_RE.test(s)) {
          why.push(`${name} "${s}" is not a number`);
          continue;
        }
        const v = Number(s);
        const p = rateProblem(v);
        if (p) why.push(`${name} ${p}`);
        else parsed[k] = v;
      }
      maker = parsed[0]!;
      taker = parsed[1]!;
    }
    const key = `${venue}:${symbol}`;
    if (why.length === 0 && seen.has(key)) why.push(`${key} given more than once`);
    if (why.length > 0) {
      bad(why.join(', '));
      continue;
    }
    seen.add(key);
    out.push({ venue: venue as Venue | '*', symbol, maker, taker });
  }
  if (problems.length > 0) {
    throw new Error(`invalid fee overrides (expected ${FEE_OVERRIDE_FORM}):\n  ${problems.join('\n  ')}`);
  }
  return out;
}
