// Number and time formatting for the dashboard: one Intl formatter per style, made once.

const cache = new Map<string, Intl.NumberFormat>();
function nf(min: number, max: number, style: 'decimal' | 'percent' = 'decimal', sign = false): Intl.NumberFormat {
  const key = `${min}:${max}:${style}:${sign}`;
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style, minimumFractionDigits: min, maximumFractionDigits: max, signDisplay: sign ? 'exceptZero' : 'auto' });
    cache.set(key, f);
  }
  return f;
}

export const DASH = '—';

const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** Quote currency amounts: 2 decimals, thousands separators. */
export function money(x: unknown, sign = false): string {
  return ok(x) ? nf(2, 2, 'decimal', sign).format(x) : DASH;
}

/** Prices: at least 2 decimals; at most 2 from 1000 up, 4 from 1 up, 8 below (an average entry has more than the tick). */
export function price(x: unknown): string {
  if (!ok(x)) return DASH;
  const a = Math.abs(x);
  return nf(2, a >= 1000 ? 2 : a >= 1 ? 4 : 8).format(x);
}

/** Quantities: up to 8 decimals, trailing zeros dropped. */
export function qty(x: unknown, sign = false): string {
  return ok(x) ? nf(0, 8, 'decimal', sign).format(x) : DASH;
}

/** A fraction as a percentage (0.0123 -> 1.23%). */
export function pct(x: unknown, digits = 2, sign = false): string {
  return ok(x) ? nf(digits, digits, 'percent', sign).format(x) : DASH;
}

export function num(x: unknown, digits = 2): string {
  return ok(x) ? nf(digits, digits).format(x) : DASH;
}

export function int(x: unknown): string {
  return ok(x) ? nf(0, 0).format(x) : DASH;
}

/** Milliseconds, with a unit suited to the size. */
export function ms(x: unknown): string {
  if (!ok(x)) return DASH;
  if (x < 1) return `${nf(0, 3).format(x * 1000)} µs`;
  if (x < 1000) return `${nf(0, 1).format(x)} ms`;
  if (x < 60_000) return `${nf(0, 2).format(x / 1000)} s`;
  if (x < 3_600_000) return `${nf(0, 1).format(x / 60_000)} min`;
  if (x < 86_400_000) return `${nf(0, 1).format(x / 3_600_000)} h`;
  return `${nf(0, 1).format(x / 86_400_000)} d`;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Local wall-clock time of an epoch-ms instant, HH:MM:SS. */
export function clock(t: unknown): string {
  if (!ok(t)) return DASH;
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local date and time, YYYY-MM-DD HH:MM. Accepts epoch ms or an ISO 8601 string. */
export function dateTime(t: unknown): string {
  const v = typeof t === 'string' ? Date.parse(t) : t;
  if (!ok(v)) return DASH;
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A duration in ms, as "3d 4h", "5m 02s", "12s". */
export function duration(x: unknown): string {
  if (!ok(x)) return DASH;
  const s = Math.max(0, Math.round(x / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s % 60)}s`;
  return `${s}s`;
}

/** Sign class for colouring an amount shown with 2 decimals (what rounds to 0.00 is neither). */
export function signClass(x: unknown): 'pos' | 'neg' | '' {
  return ok(x) ? (x >= 0.005 ? 'pos' : x <= -0.005 ? 'neg' : '') : '';
}
