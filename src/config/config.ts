import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { parseFeeOverrides } from '../execution/paper/fees.js';
import { parseQueueModel, QUEUE_MODEL_FORMS } from '../execution/paper/queue.js';
import { isValidTimeZone } from '../risk/schedule.js';
import { OBI_ORDER_TYPES } from '../strategy/obi/obi.js';

/**
 * One typed configuration, from environment variables plus an optional `.env` file (the environment
 * wins). Every problem is reported at once. Variables with one of our prefixes that we do not know
 * are errors (a typo must not silently fall back to a default). Secrets are never echoed.
 */

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const num = (min: number, max: number, opts: { int?: boolean; exclusiveMin?: boolean } = {}) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a number')
    .transform(Number)
    .refine((n) => (opts.exclusiveMin ? n > min : n >= min) && n <= max, {
      message: `expected a number ${opts.exclusiveMin ? '>' : '>='} ${min} and <= ${max}`,
    })
    .refine((n) => !opts.int || Number.isInteger(n), { message: 'expected an integer' });
const url = (schemes: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return schemes.includes(new URL(v).protocol.replace(':', ''));
        } catch {
          return false;
        }
      },
      { message: `expected a ${schemes.join(' or ')} URL` },
    )
    .transform((v) => v.replace(/\/+$/, ''));
/** A Binance symbol (BTCUSDT), an Alpaca stock (TSLA, BRK.B) or an Alpaca crypto pair (DOGE/USD). */
const BINANCE_SYMBOL = /^[A-Z0-9]{2,20}$/;
const ALPACA_STOCK = /^[A-Z][A-Z0-9.]{0,9}$/;
const ALPACA_CRYPTO = /^[A-Z0-9]{2,10}\/[A-Z0-9]{2,10}$/;
/** Problems of one SYMBOLS entry (`SYMBOL` or `venue:SYMBOL`), or null. */
function symbolProblem(entry: string): string | null {
  const colon = entry.indexOf(':');
  const venue = colon < 0 ? null : entry.slice(0, colon);
  const sym = colon < 0 ? entry : entry.slice(colon + 1);
  if (venue !== null && venue !== 'BINANCE' && venue !== 'ALPACA') return `${entry}: the venue prefix is binance: or alpaca:`;
  if (sym.includes('/')) return venue === 'BINANCE' ? `${entry}: a pair with a slash is an Alpaca crypto symbol` : ALPACA_CRYPTO.test(sym) ? null : `${entry}: a crypto pair is BASE/QUOTE (DOGE/USD)`;
  if (venue === 'ALPACA') return ALPACA_STOCK.test(sym) ? null : `${entry}: an Alpaca stock symbol is 1-10 letters, digits or dots (TSLA)`;
  return BINANCE_SYMBOL.test(sym) || ALPACA_STOCK.test(sym) ? null : `${entry}: a symbol is letters and digits (BTCUSDT, TSLA, DOGE/USD)`;
}
const symbols = z
  .string()
  .trim()
  .transform((v) => v.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean))
  .refine((l) => l.length > 0, { message: 'expected at least one symbol' })
  .superRefine((l, ctx) => {
    for (const e of l) {
      const p = symbolProblem(e);
      if (p) ctx.addIssue({ code: 'custom', message: p });
    }
  })
  .transform((l) => l.map((e) => (e.startsWith('BINANCE:') ? `binance:${e.slice(8)}` : e.startsWith('ALPACA:') ? `alpaca:${e.slice(7)}` : e)))
  .refine((l) => new Set(l).size === l.length, { message: 'a symbol is listed twice' });

/**
 * The symbols of each venue: an entry `alpaca:TSLA` or `binance:BTCUSDT` names its venue, a crypto pair
 * with a slash (DOGE/USD) is Alpaca's, any other entry belongs to VENUE.
 */
export function venueSymbols(config: Pick<Config, 'SYMBOLS' | 'VENUE'>): { binance: string[]; alpaca: string[] } {
  const out = { binance: [] as string[], alpaca: [] as string[] };
  for (const e of config.SYMBOLS) {
    if (e.startsWith('binance:')) out.binance.push(e.slice(8));
    else if (e.startsWith('alpaca:') || e.includes('/')) out.alpaca.push(e.startsWith('alpaca:') ? e.slice(7) : e);
    else out[config.VENUE].push(e);
  }
  return out;
}

/** One shadow variant: a name and the strategy variables it changes. */
export interface ShadowVariant {
  name: string;
  overrides: Record<string, string>;
}

/** Variables a shadow variant may change: the strategy's own. */
const SHADOW_KEYS = /^(STRATEGY|OBI_[A-Z_]+|IMBALANCE_THRESHOLD|ORDER_NOTIONAL|ANOMALY_PARAMS_FILE|MODEL_PATH|MIN_CONFIDENCE)$/;

/** Parses SHADOW (`name:KEY=VALUE&KEY=VALUE;...`); throws listing every problem. */
export function parseShadows(text: string): ShadowVariant[] {
  const out: ShadowVariant[] = [];
  const problems: string[] = [];
  for (const part of text.split(';').map((p) => p.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const name = (colon < 0 ? part : part.slice(0, colon)).trim();
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(name)) problems.push(`"${name}": a variant name is lowercase letters, digits and dashes (at most 32)`);
    else if (out.some((v) => v.name === name)) problems.push(`"${name}" is named twice`);
    const overrides: Record<string, string> = {};
    for (const kv of (colon < 0 ? '' : part.slice(colon + 1)).split('&').map((x) => x.trim()).filter(Boolean)) {
      const eq = kv.indexOf('=');
      const key = (eq < 0 ? kv : kv.slice(0, eq)).trim();
      const value = eq < 0 ? '' : kv.slice(eq + 1).trim();
      if (!SHADOW_KEYS.test(key) || !(key in VARIABLES)) {
        problems.push(`${name}: ${key} is not a strategy variable a shadow may change`);
        continue;
      }
      const r = (VARIABLES[key as keyof typeof VARIABLES].schema as z.ZodType).safeParse(value);
      if (!r.success) problems.push(`${name}: ${key}=${JSON.stringify(value)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
      overrides[key] = value;
    }
    if (Object.keys(overrides).length === 0) problems.push(`${name}: no changes (give KEY=VALUE after the name)`);
    out.push({ name, overrides });
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return out;
}

/** The configuration of a shadow variant: the base with its strategy variables changed. */
export function variantConfig(base: Config, v: ShadowVariant): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [k, text] of Object.entries(v.overrides)) out[k] = (VARIABLES[k as keyof typeof VARIABLES].schema as z.ZodType).parse(text);
  return out as Config;
}

/** A text the given parser accepts (its error message becomes the problem). */
const checked = (parse: (v: string) => void) =>
  z.string().superRefine((v, ctx) => {
    try {
      parse(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });

/** Every variable: schema, default (as text, undefined = optional), and the README's description. */
export const VARIABLES = {
  SYMBOLS: { schema: symbols, default: 'BTCUSDT,ETHUSDT', doc: 'Symbols to trade, comma-separated: Binance (BTCUSDT: spot, with USD-M data for the same symbols), Alpaca stocks (TSLA) and crypto (DOGE/USD); an entry may name its venue (alpaca:TSLA, binance:BTCUSDT), else VENUE decides (a pair with a slash is always Alpaca)' },
  VENUE: { schema: z.enum(['binance', 'alpaca']), default: 'binance', doc: 'Venue of the SYMBOLS entries without a venue prefix: binance (paper exchange on Binance data) or alpaca (orders on the Alpaca paper account, Alpaca market data)' },
  INITIAL_BALANCE: { schema: num(0, 1e12, { exclusiveMin: true }), default: '10000', doc: 'Starting paper cash, quote currency' },
  IMBALANCE_THRESHOLD: { schema: num(0, 1, { exclusiveMin: true }), default: '0.3', doc: 'Order book imbalance needed for a signal, 0..1' },
  MIN_CONFIDENCE: { schema: num(0, 1), default: '0.6', doc: "ML gate: minimum model probability of the entry's direction (p(up) for a buy, p(down) for a sell)" },
  MODEL_PATH: { schema: z.string().trim(), default: 'models/gbdt-xgb', keepEmpty: true, doc: 'ML gate of the obi strategy: a model directory (models/gbdt-xgb, models/gbdt-hgb, models/cnn, models/lstm) or its model.json, relative to the working directory or else to the package (the default is the shipped model); set it empty (MODEL_PATH=) for no gate. Checked at start (feature schema, parity rows, onnxruntime, recorded latency, USD-M data for futures features)' },
  ML_DECISION_LATENCY_US: { schema: z.literal('model').or(num(0, 1e7)), default: 'model', doc: "Inference time charged to every model-gated entry, µs, added to its entry latency: model = the model's measured p50 recorded in its model.json by papertape model-latency (rounded up to whole µs), or a number; a recorded figure, not a clock reading, so backtests repeat exactly" },
  RISK_MAX_POSITION: { schema: num(0, 1e9, { exclusiveMin: true }), default: '1.0', doc: 'Largest absolute position per symbol, base units' },
  RISK_MAX_DRAWDOWN: { schema: num(0, 1, { exclusiveMin: true }), default: '0.05', doc: 'Drawdown from the high-water mark that stops new risk (fraction)' },
  RISK_MAX_ORDER_NOTIONAL: { schema: num(0, 1e12, { exclusiveMin: true }), default: '5000', doc: 'Largest notional of one order, quote currency' },
  RISK_MAX_TOTAL_NOTIONAL: { schema: num(0, 1e12, { exclusiveMin: true }), default: '20000', doc: 'Largest gross exposure (sum of |position × mark|) over all symbols, quote currency' },
  RISK_BREAKER_COOLDOWN_MS: { schema: num(0, 30 * 86_400_000, { int: true }), default: '0', doc: 'The drawdown breaker resets itself this long after tripping (0 = only POST /risk/reset-breaker)' },
  RISK_LOSS_STREAK: { schema: num(0, 1000, { int: true }), default: '5', doc: 'This many losing round trips in a row pause new risk (0 = off)' },
  RISK_LOSS_STREAK_PAUSE_MS: { schema: num(0, 30 * 86_400_000, { int: true }), default: '900000', doc: 'How long the loss-streak breaker pauses new risk' },
  RISK_STOP_ATR: { schema: num(0, 100), default: '2', doc: 'Stop loss at this many ATRs from the average entry (0 = off)' },
  RISK_TAKE_PROFIT_ATR: { schema: num(0, 100), default: '0', doc: 'Take profit at this many ATRs from the average entry (0 = off)' },
  RISK_ATR_BAR_MS: { schema: num(1000, 86_400_000, { int: true }), default: '60000', doc: 'Bar length of the ATR (bars built from trades)' },
  RISK_ATR_PERIOD: { schema: num(1, 1000, { int: true }), default: '14', doc: 'ATR window, in bars (Wilder smoothing)' },
  RISK_MAX_FUNDING_RATE: { schema: num(0, 1), default: '0.001', doc: 'Funding caution: |funding rate| above this blocks new positions on the side that pays it' },
  SHABBAT_PAUSE: { schema: bool, default: 'true', doc: 'Pause strategies over Shabbat (Friday candle lighting to Saturday nightfall at SHABBAT_LAT/LON); open orders are canceled' },
  SHABBAT_LAT: { schema: num(-90, 90), default: '31.7683', doc: 'Shabbat location latitude, degrees north (default Jerusalem)' },
  SHABBAT_LON: { schema: num(-180, 180), default: '35.2137', doc: 'Shabbat location longitude, degrees east' },
  SHABBAT_TZ: { schema: z.string().trim().refine(isValidTimeZone, { message: 'expected an IANA time zone like Asia/Jerusalem' }), default: 'Asia/Jerusalem', doc: 'Shabbat location time zone (IANA)' },
  SHABBAT_CANDLE_MINUTES: { schema: num(0, 120, { int: true }), default: '18', doc: 'The pause starts this many minutes before Friday sunset (candle lighting)' },
  SHABBAT_END: { schema: z.string().trim().regex(/^(degrees:\d+(\.\d+)?|minutes:\d+)$/, 'expected degrees:D or minutes:M'), default: 'degrees:8.5', doc: 'Saturday nightfall: sun D degrees below the horizon, or M minutes after sunset' },
  SHABBAT_FLATTEN: { schema: bool, default: 'false', doc: 'Flatten positions when the Shabbat pause begins (else they are held)' },
  WARMUP_SECONDS: { schema: num(0, 86_400, { int: true }), default: '300', doc: 'No new positions for this long after start (0 = off) ...' },
  WARMUP_POINTS: { schema: num(0, 1e9, { int: true }), default: '100', doc: '... and until this many book updates of the symbol (0 = off)' },
  RISK_PRICE_BAND: { schema: num(0, 1, { exclusiveMin: true }), default: '0.01', doc: 'Order price must be within this fraction of the mid' },
  RISK_ORDERS_PER_SECOND: { schema: num(1, 1e6, { int: true }), default: '5', doc: 'Order rate limit, per second (sliding window)' },
  RISK_ORDERS_PER_MINUTE: { schema: num(1, 1e6, { int: true }), default: '60', doc: 'Order rate limit, per minute' },
  RISK_ORDERS_PER_HOUR: { schema: num(1, 1e7, { int: true }), default: '500', doc: 'Order rate limit, per hour' },
  BOOK_STALE_MS: { schema: num(100, 3_600_000, { int: true }), default: '10000', doc: 'A book with no update for this long counts as stale: no orders' },
  RISK_MAX_FEED_LAG_MS: { schema: num(0, 3_600_000, { int: true }), default: '1000', doc: 'Binance books: no orders while the last update came this much later than the feed usually delivers (receive minus event time over its 5-minute minimum, which holds the clock offset; 0 = off)' },
  BINANCE_FEED_TIME_SCALE: { schema: num(0.001, 1e6, { exclusiveMin: true }), default: '1', doc: 'How many times faster the exchange clock runs than ours, for the feed lag check: 1 live; the --speed of serve-replay when trading from it' },
  ORDER_NOTIONAL: { schema: num(0, 1e12, { exclusiveMin: true }), default: '100', doc: 'Size of one strategy order, quote currency' },
  TRADE_VENUE: { schema: z.enum(['spot', 'usdm']), default: 'spot', doc: 'Venue whose books the strategy trades (the other is data only)' },
  FEE_MAKER: { schema: num(-0.01, 0.01), default: '0.001', doc: 'Paper maker fee rate (0.001 = 0.1%; negative = rebate)' },
  FEE_TAKER: { schema: num(-0.01, 0.01), default: '0.001', doc: 'Paper taker fee rate' },
  FEE_OVERRIDES: { schema: checked((v) => void parseFeeOverrides(v)), default: '', doc: 'Per venue/symbol fee rates: venue:SYMBOL=maker/taker, comma-separated; * matches any (e.g. usdm:*=0.0002/0.0005)' },
  QUEUE_MODEL: { schema: checked((v) => void parseQueueModel(v)), default: 'prob-power:3', doc: `Queue position model for resting orders: ${QUEUE_MODEL_FORMS.join(', ')}` },
  LATENCY_MODEL: { schema: z.enum(['constant', 'volatility']), default: 'constant', doc: 'Order latency model: constant, or scaled by recent volatility' },
  LATENCY_ENTRY_MS: { schema: num(0, 60_000), default: '30', doc: 'Decision to exchange: order and cancel entry latency, ms' },
  LATENCY_RESPONSE_MS: { schema: num(0, 60_000), default: '30', doc: 'Exchange to strategy: acknowledgement and fill latency, ms' },
  LATENCY_JITTER_MS: { schema: num(0, 60_000), default: '0', doc: 'Uniform random extra latency, ms (seeded)' },
  LATENCY_VOL_HALF_LIFE_MS: { schema: num(1, 86_400_000), default: '60000', doc: 'volatility model: half-life of the volatility estimate, ms' },
  LATENCY_VOL_SENSITIVITY: { schema: num(0, 1000), default: '0.5', doc: 'volatility model: latency multiplier per unit of volatility (see README)' },
  LATENCY_VOL_MAX_MULTIPLIER: { schema: num(1, 100), default: '5', doc: 'volatility model: largest latency multiplier' },
  IMPACT_RECOVERY_MS: { schema: num(0, 3_600_000), default: '1000', doc: 'Liquidity our aggressive orders took comes back over this long (0 = at once)' },
  IMPACT_SHAPE: { schema: z.enum(['linear', 'exponential']), default: 'linear', doc: 'How taken liquidity comes back: linear over the recovery time, or exponential with it as half-life' },
  SEED: { schema: num(0, 2 ** 32 - 1, { int: true }).optional(), default: undefined, doc: 'Seed of the random generator (unset: a new one per session, recorded in the event log)' },
  EVENT_LOG: { schema: bool, default: 'true', doc: 'Write every input to DATA_DIR/sessions/<id>/ so the session can be replayed exactly' },
  EVENT_LOG_MAX_FILE_MB: { schema: num(1, 1_048_576, { int: true }), default: '256', doc: 'An event log file is closed and the next one (events_<day>_<hour>.<n>.gz) started when it would pass this many MiB uncompressed; files also rotate every UTC hour' },
  EVENT_LOG_RETENTION_DAYS: { schema: num(0, 36_500), default: '30', doc: 'Session event logs whose last input is older than this many days are deleted, at start and every hour (0 = keep forever; never the running session)' },
  EVENT_LOG_MAX_TOTAL_GB: { schema: num(0, 1_048_576), default: '20', doc: 'Cap on the size of all session event logs, GiB: above it the oldest sessions are deleted first (0 = no cap; never the running session)' },
  SHADOW: { schema: checked((v) => void parseShadows(v)), default: '', doc: 'Strategy variants run in shadow (own virtual account, same data and fill models, no effect on trading): name:KEY=VALUE&KEY=VALUE;name2:... over STRATEGY, OBI_*, IMBALANCE_THRESHOLD, ORDER_NOTIONAL, ANOMALY_PARAMS_FILE, MODEL_PATH, MIN_CONFIDENCE' },
  STRATEGY: { schema: z.enum(['obi', 'anomaly']), default: 'obi', doc: 'The trading strategy: obi (order book imbalance) or anomaly (EMA range grid, parameters from ANOMALY_PARAMS_FILE)' },
  ANOMALY_PARAMS_FILE: { schema: z.string().trim().min(1), default: './parameters.txt', doc: 'anomaly: key=value parameter file (see docs/strategies.md); a missing file means the defaults' },
  ANOMALY_PARAMS_POLL_MS: { schema: num(100, 3_600_000, { int: true }), default: '1000', doc: 'anomaly: how often the parameter file is checked for changes (a bad file keeps the previous parameters)' },
  OBI_LEVELS: { schema: num(1, 100, { int: true }), default: '5', doc: 'Book levels per side in the imbalance' },
  OBI_DECAY: { schema: num(0, 1, { exclusiveMin: true }), default: '0.5', doc: 'Weight of level i is decay^i (closer levels weigh more)' },
  OBI_PERSISTENCE: { schema: num(1, 1000, { int: true }), default: '3', doc: 'Consecutive observations in the same direction before a signal' },
  OBI_MAX_SPREAD_TICKS: { schema: num(1, 1e6, { int: true }), default: '5', doc: 'No entries when the spread is wider than this many ticks' },
  OBI_COOLDOWN_MS: { schema: num(0, 3_600_000, { int: true }), default: '2000', doc: 'Minimum time between two orders of the strategy on one symbol' },
  OBI_ORDER_TYPE: { schema: z.enum(OBI_ORDER_TYPES), default: 'market', doc: 'market; limit (at the opposite touch, rest remains); post-only (joins its own touch)' },
  OBI_MOMENTUM_MS: { schema: num(0, 3_600_000, { int: true }), default: '1000', doc: 'Momentum confirmation window: the microprice must have moved with the signal over it (0 = off)' },
  OBI_MOMENTUM_TICKS: { schema: num(0, 1e6), default: '0', doc: 'Least microprice move in the signal direction over the window, ticks (0 = not against it)' },
  OBI_VOL_WINDOW_MS: { schema: num(2000, 86_400_000, { int: true }), default: '60000', doc: 'Window of the realized volatility (std of 1-second mid log returns)' },
  OBI_MIN_VOL_BPS: { schema: num(0, 10_000), default: '0', doc: 'No entries below this realized volatility, bp (0 = no lower bound)' },
  OBI_MAX_VOL_BPS: { schema: num(0, 10_000), default: '0', doc: 'No entries above this realized volatility, bp (0 = no upper bound)' },
  OBI_OI_CONFIRM: { schema: bool, default: 'false', doc: 'Entries need USD-M open interest not falling over OBI_OI_WINDOW_MS (unknown passes)' },
  OBI_OI_WINDOW_MS: { schema: num(1000, 86_400_000, { int: true }), default: '300000', doc: 'Open-interest trend window' },
  OBI_LIQ_MAX: { schema: num(0, 1e6, { int: true }), default: '3', doc: 'Liquidation-cascade guard: this many USD-M liquidations within OBI_LIQ_WINDOW_MS block entries (0 = off)' },
  OBI_LIQ_WINDOW_MS: { schema: num(100, 3_600_000, { int: true }), default: '10000', doc: 'Liquidation-cascade guard window' },
  OBI_MAX_HOLD_MS: { schema: num(0, 30 * 86_400_000, { int: true }), default: '600000', doc: 'Time stop: a position held this long is closed (0 = off)' },
  OBI_EXIT_ON_OPPOSITE: { schema: bool, default: 'true', doc: 'An opposite signal closes the whole position (else it steps by one order)' },
  OBI_ORDER_TTL_MS: { schema: num(1, 3_600_000, { int: true }), default: '5000', doc: 'Limit modes: cancel an order still working after this long' },
  FUTURES: { schema: bool, default: 'true', doc: 'Also listen to USD-M futures (funding, open interest, liquidations, futures books)' },
  OPEN_INTEREST_POLL_MS: { schema: num(1000, 3_600_000, { int: true }), default: '60000', doc: 'Open interest REST polling interval' },
  CHECKPOINT_MS: { schema: num(1000, 3_600_000, { int: true }), default: '60000', doc: 'How often strategy, indicator and queue state is checkpointed to SQLite (also at shutdown)' },
  EQUITY_SNAPSHOT_MS: { schema: num(100, 3_600_000, { int: true }), default: '5000', doc: 'How often equity is sampled into the database' },
  PORT: { schema: num(0, 65535, { int: true }), default: '8000', doc: 'API port' },
  HOST: { schema: z.string().trim().min(1), default: '127.0.0.1', doc: 'API bind address' },
  DATA_DIR: { schema: z.string().trim().min(1), default: './var', doc: 'Where the SQLite database and logs go' },
  DB_SYNCHRONOUS: { schema: z.enum(['normal', 'full']), default: 'normal', doc: 'SQLite durability: normal syncs at checkpoints (a disk error or machine crash can lose the last seconds of orders, the database stays consistent); full syncs every commit (nothing committed is lost; slower writes)' },
  DB_MAX_MB: { schema: num(0, 1e9), default: '0', doc: 'Cap on the SQLite database size in MB (0 = none): a write beyond it fails like a full disk, and trading halts (kill switch) with the reason in /status' },
  API_TOKEN: { schema: z.string().min(16, 'must be at least 16 characters').optional(), default: undefined, doc: 'Bearer token for endpoints that change anything (unset: they answer 403)' },
  API_RATE_LIMIT: { schema: num(0, 1e6, { int: true }), default: '600', doc: 'Requests per minute per client address on the API and dashboard (429 with Retry-After beyond; a live stream connection counts once; 0 = off)' },
  STREAM_INTERVAL_MS: { schema: num(100, 60_000, { int: true }), default: '1000', doc: 'Live stream (GET /stream) and dashboard: how often account, positions, risk and book tops are pushed; fills, orders and risk changes go out at once' },
  TELEGRAM_BOT_TOKEN: { schema: z.string().trim().regex(/^\d+:[A-Za-z0-9_-]{20,}$/, 'expected a bot token like 123456:ABC-DEF...').optional(), default: undefined, doc: 'Telegram bot token (secret; with TELEGRAM_CHAT_ID turns notifications and commands on)' },
  TELEGRAM_CHAT_ID: { schema: z.string().trim().regex(/^(-?\d{1,20}|@[A-Za-z0-9_]{5,32})$/, 'expected a numeric chat id or @channelname').optional(), default: undefined, doc: 'The one chat that gets notifications and whose /status, /pause, /resume, /kill are obeyed' },
  TELEGRAM_API_URL: { schema: url(['http', 'https']), default: 'https://api.telegram.org', doc: 'Telegram Bot API base (a local server in tests)' },
  TELEGRAM_FILL_BATCH_MS: { schema: num(0, 3_600_000, { int: true }), default: '10000', doc: 'Fills are collected this long and sent as one message (0 = each fill at once)' },
  TELEGRAM_SUMMARY_UTC: { schema: z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (UTC)').or(z.literal('off')), default: '00:00', doc: 'Daily summary time, HH:MM UTC (off = none)' },
  TELEGRAM_POLL_TIMEOUT_S: { schema: num(0, 50, { int: true }), default: '25', doc: 'Long-polling timeout of getUpdates, seconds (0 = short polling)' },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), default: 'info', doc: 'pino log level (JSON lines on stdout, written asynchronously and flushed at exit: a `kill -9` can lose the last lines, never the database\'s records)' },
  BINANCE_SPOT_WS_URL: { schema: url(['ws', 'wss']), default: 'wss://stream.binance.com:9443', doc: 'Spot WebSocket base (streams at /stream?streams=...)' },
  BINANCE_SPOT_REST_URL: { schema: url(['http', 'https']), default: 'https://api.binance.com', doc: 'Spot REST base' },
  BINANCE_FUTURES_WS_URL: { schema: url(['ws', 'wss']), default: 'wss://fstream.binance.com', doc: 'USD-M WebSocket base (routed /public and /market paths)' },
  BINANCE_FUTURES_REST_URL: { schema: url(['http', 'https']), default: 'https://fapi.binance.com', doc: 'USD-M REST base' },
  BINANCE_WS_IDLE_TIMEOUT_MS: { schema: num(0, 3_600_000, { int: true }), default: '0', doc: 'A Binance stream silent this long is dropped and reconnected (0 = 60000 on spot, 120000 on USD-M)' },
  APCA_API_KEY_ID: { schema: z.string().trim().min(1).optional(), default: undefined, doc: 'Alpaca API key id (secret; paper and live keys differ, the URL decides the environment)' },
  APCA_API_SECRET_KEY: { schema: z.string().trim().min(1).optional(), default: undefined, doc: 'Alpaca API secret key (secret)' },
  ALPACA_TRADING_URL: { schema: url(['http', 'https']), default: 'https://paper-api.alpaca.markets', doc: 'Alpaca Trading REST base (orders, positions, account, clock, calendar); trade_updates at its /stream' },
  ALPACA_DATA_URL: { schema: url(['http', 'https']), default: 'https://data.alpaca.markets', doc: 'Alpaca Market Data REST base (bars backfill)' },
  ALPACA_STREAM_URL: { schema: url(['ws', 'wss']), default: 'wss://stream.data.alpaca.markets', doc: 'Alpaca Market Data WebSocket base (stocks at /v2/{feed}, crypto at /v1beta3/crypto/us)' },
  ALPACA_RECONCILE_MS: { schema: num(10_000, 86_400_000, { int: true }), default: '300000', doc: 'How often Alpaca orders and positions are reconciled with ours (also at start, after a trade_updates reconnect and after an uncertain submit)' },
  ALPACA_BACKFILL_MINUTES: { schema: num(0, 10_080, { int: true }), default: '240', doc: 'Minutes of 1-minute bars fetched from Alpaca at start to warm the strategy up (0 = none)' },
  ALPACA_ACCOUNT_POLL_MS: { schema: num(5_000, 3_600_000, { int: true }), default: '60000', doc: 'How often the Alpaca account (buying power, flags) is read for /account' },
  ALPACA_REQUEST_TIMEOUT_MS: { schema: num(500, 120_000, { int: true }), default: '10000', doc: 'Alpaca REST timeout per request; a submit without an answer is looked up by its client_order_id before it is sent again' },
  ALPACA_FLATTEN_AT_CLOSE: { schema: bool, default: 'false', doc: 'Close Alpaca stock positions when the US market closes (else they are held overnight)' },
  ALPACA_FEED: { schema: z.enum(['iex', 'sip', 'delayed_sip', 'test']), default: 'iex', doc: 'Alpaca stock data feed: iex (free), sip (paid), delayed_sip, test (FAKEPACA)' },
} as const;

type Vars = typeof VARIABLES;
export type Config = { [K in keyof Vars]: z.output<Vars[K]['schema']> };

/** Variables that are secrets: never logged, stored or returned. */
export const SECRET_KEYS: readonly (keyof Config)[] = ['API_TOKEN', 'TELEGRAM_BOT_TOKEN', 'APCA_API_KEY_ID', 'APCA_API_SECRET_KEY'];
const OUR_PREFIXES = ['MODEL_', 'ML_', 'ANOMALY_', 'STRATEGY', 'CHECKPOINT_', 'WARMUP_', 'SHABBAT_', 'RISK_', 'OBI_', 'BINANCE_', 'BOOK_', 'ORDER_', 'OPEN_INTEREST_', 'EQUITY_', 'FEE_', 'LATENCY_', 'QUEUE_', 'IMPACT_', 'TRADE_', 'EVENT_', 'TELEGRAM_', 'STREAM_', 'APCA_', 'ALPACA_'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` (if present) under the environment: the environment wins. */
export function environmentWithDotenv(env: NodeJS.ProcessEnv, dotenvPath = '.env'): Record<string, string | undefined> {
  if (!existsSync(dotenvPath)) return { ...env };
  const fromFile = parseDotenv(readFileSync(dotenvPath));
  return { ...fromFile, ...env };
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(VARIABLES)) {
    const raw = env[key];
    // an empty value means the default, except where empty has a meaning of its own (MODEL_PATH= : no gate)
    const text = raw === undefined || (raw.trim() === '' && !('keepEmpty' in spec)) ? spec.default : raw;
    if (text === undefined) {
      out[key] = undefined;
      continue;
    }
    const r = (spec.schema as z.ZodType).safeParse(text);
    if (r.success) out[key] = r.data;
    else {
      const shown = (SECRET_KEYS as string[]).includes(key) ? '(hidden)' : JSON.stringify(text);
      problems.push(`${key}=${shown}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  for (const key of Object.keys(env)) {
    if (OUR_PREFIXES.some((p) => key.startsWith(p)) && !(key in VARIABLES)) {
      problems.push(`${key}: unknown variable (known: ${Object.keys(VARIABLES).filter((k) => OUR_PREFIXES.some((p) => k.startsWith(p))).join(', ')})`);
    }
  }
  if ((out['TELEGRAM_BOT_TOKEN'] === undefined) !== (out['TELEGRAM_CHAT_ID'] === undefined) && !problems.some((p) => p.startsWith('TELEGRAM_'))) {
    problems.push('TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID: set both (Telegram on) or neither (off)');
  }
  if (Array.isArray(out['SYMBOLS']) && typeof out['VENUE'] === 'string') {
    const alpaca = venueSymbols(out as Pick<Config, 'SYMBOLS' | 'VENUE'>).alpaca;
    if (alpaca.length > 0 && (out['APCA_API_KEY_ID'] === undefined || out['APCA_API_SECRET_KEY'] === undefined)) {
      problems.push(`APCA_API_KEY_ID and APCA_API_SECRET_KEY: required to trade ${alpaca.join(', ')} on Alpaca (paper keys from the Alpaca dashboard)`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

/** The configuration with secrets replaced, for logs, the database and the API. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...config };
  for (const k of SECRET_KEYS) if (copy[k] !== undefined) copy[k] = '(set)';
  return copy;
}
