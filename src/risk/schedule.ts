/**
 * Trading schedules: the Shabbat pause (Friday candle lighting to Saturday nightfall at a location) and US
 * stock market hours (NYSE regular session, holidays, early closes, or an external calendar such as Alpaca's).
 *
 * Pure: no wall clock. Times are epoch milliseconds in and out; calendar dates are the local dates of the
 * configured IANA time zone ("YYYY-MM-DD"), so DST changes move the UTC instants, never the local rules.
 *
 * Astronomy comes from @hebcal/noaa (Hebcal's TypeScript port of KosherJava's NOAA/Meeus calculator, LGPL-2.1),
 * which reproduces the published values of ../shared/protocols/sunset.md §3 to the millisecond. Zone arithmetic uses
 * temporal-polyfill (the same implementation the library installs globally; native Temporal where Node has it).
 */
import { GeoLocation, NOAACalculator } from '@hebcal/noaa';
import { Temporal } from 'temporal-polyfill';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** NOAACalculator's geometric zenith: passing exactly 90 makes it add refraction + solar radius (+ elevation). */
const SUNSET_ZENITH = 90;

// ---------------------------------------------------------------------------------------------------------------
// Local calendar helpers (IANA zone, DST-correct via Temporal)
// ---------------------------------------------------------------------------------------------------------------

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** true if `tz` is an IANA time zone name Temporal (and so the tz database) knows. */
export function isValidTimeZone(tz: string): boolean {
  if (typeof tz !== 'string' || tz.trim() === '') return false;
  try {
    Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(tz);
    return true;
  } catch {
    return false;
  }
}

/** Instants may carry sub-millisecond fractions (EpochMs); Temporal wants whole milliseconds. */
function zoned(t: number, tz: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(Math.floor(t)).toZonedDateTimeISO(tz);
}

/** The local calendar date ("YYYY-MM-DD") of instant `t` in zone `tz`. */
export function localDate(t: number, tz: string): string {
  return zoned(t, tz).toPlainDate().toString();
}

/** The local weekday of instant `t` in zone `tz`. */
export function localWeekday(t: number, tz: string): Weekday {
  return WEEKDAYS[zoned(t, tz).dayOfWeek - 1]!;
}

/** ISO 8601 with the zone's UTC offset at that instant, e.g. "2024-03-22T17:34:00+02:00" (milliseconds only if non-zero). */
export function isoInZone(t: number, tz: string): string {
  return zoned(t, tz).toString({ timeZoneName: 'never', smallestUnit: Math.floor(t) % 1000 === 0 ? 'second' : 'millisecond' });
}

/** The instant of local wall-clock time `minutes` after midnight on `date` in `tz` (DST gaps: the later side). */
export function zonedTime(date: string, minutes: number, tz: string): number {
  const d = Temporal.PlainDate.from(date);
  const pdt = d.toPlainDateTime({ hour: Math.floor(minutes / 60), minute: minutes % 60 });
  return pdt.toZonedDateTime(tz, { disambiguation: 'compatible' }).epochMilliseconds;
}

function addDays(date: string, n: number): string {
  return Temporal.PlainDate.from(date).add({ days: n }).toString();
}

/** 1 = Monday ... 7 = Sunday (ISO). */
function dayOfWeek(date: string): number {
  return Temporal.PlainDate.from(date).dayOfWeek;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
/** true for a real calendar date written "YYYY-MM-DD". */
export function isValidDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  try {
    return Temporal.PlainDate.from(s, { overflow: 'reject' }).toString() === s;
  } catch {
    return false;
  }
}

const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;
/** "HH:MM" -> minutes after midnight, or null. */
function parseHhMm(s: string): number | null {
  const m = HHMM_RE.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

// ---------------------------------------------------------------------------------------------------------------
// Sun events (NOAA via @hebcal/noaa)
// ---------------------------------------------------------------------------------------------------------------

export interface SunLocation {
  /** degrees, north positive */
  lat: number;
  /** degrees, east positive */
  lon: number;
  /** IANA zone whose local dates name the days */
  tz: string;
  /** metres above sea level; only sunrise/sunset are elevation-adjusted (default 0 = sea level) */
  elevation?: number;
}

/**
 * @hebcal/noaa 0.12.3 computes the Julian day with `trunc(2 - A + A / 4)` where Meeus has `2 - A + floor(A / 4)`:
 * for years outside 2000-2099 it is one day late (e.g. 1990-06-25 gives the sunrise of June 26, 20 s off; see the
 * USNO example of sunset.md §3.1). Ask it about the date whose (wrong) Julian day is the right one and move the
 * answer back by the same number of days. A no-op from March 2000 to February 2100.
 */
function julianDayShift(date: string): number {
  let y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  if (m <= 2) y -= 1;
  const a = Math.trunc(y / 100);
  return Math.trunc(2 - a + a / 4) - (2 - a + Math.floor(a / 4));
}

function calculator(loc: SunLocation, date: string): { c: NOAACalculator; shiftMs: number } {
  const shift = julianDayShift(date);
  const gloc = new GeoLocation(null, loc.lat, loc.lon, loc.elevation ?? 0, loc.tz);
  return { c: new NOAACalculator(gloc, Temporal.PlainDate.from(date).subtract({ days: shift })), shiftMs: shift * DAY };
}

/**
 * The library returns an instant on the date from a UTC hour of day in [0, 24) plus a longitude heuristic for the
 * day; an evening event of `date` lies between about local solar noon and the following solar noon. Put it there
 * (a no-op everywhere the heuristic is right; it guards high latitudes where dusk falls after local midnight).
 */
function eveningOf(ms: number, date: string, lon: number): number {
  const approxNoon = Date.parse(`${date}T12:00:00Z`) - (lon / 15) * HOUR;
  let t = ms;
  while (t < approxNoon - 2 * HOUR) t += DAY;
  while (t >= approxNoon + 22 * HOUR) t -= DAY;
  return t;
}

/** Sunset on local date `date` (NOAA, z = 90.8333° plus the elevation term if `loc.elevation`), or null if the sun does not set. */
export function sunsetOn(loc: SunLocation, date: string): number | null {
  const { c, shiftMs } = calculator(loc, date);
  const z = loc.elevation ? c.getSunset() : c.getSeaLevelSunset();
  return z ? eveningOf(z.epochMilliseconds + shiftMs, date, loc.lon) : null;
}

/** Sunrise on local date `date` (NOAA, z = 90.8333° plus the elevation term), or null if the sun does not rise. */
export function sunriseOn(loc: SunLocation, date: string): number | null {
  const { c, shiftMs } = calculator(loc, date);
  const z = loc.elevation ? c.getSunrise() : c.getSeaLevelSunrise();
  return z ? z.epochMilliseconds + shiftMs : null;
}

/** The evening instant on `date` when the sun's centre is `degrees` below the horizon (z = 90 + degrees, no refraction or elevation term), or null if it never gets that low. */
export function duskOn(loc: SunLocation, date: string, degrees: number): number | null {
  const { c, shiftMs } = calculator(loc, date);
  const z = c.getSunsetOffsetByDegrees(SUNSET_ZENITH + degrees);
  return z ? eveningOf(z.epochMilliseconds + shiftMs, date, loc.lon) : null;
}

/** NOAA equation of time in minutes at Julian day `jd` (sunset.md §2.1; the library keeps its own private). */
function equationOfTime(jd: number): number {
  const T = (jd - 2451545.0) / 36525;
  const r = Math.PI / 180;
  const L0 = (280.46646 + T * (36000.76983 + 0.0003032 * T)) % 360;
  const M = 357.52911 + T * (35999.05029 - 0.0001537 * T);
  const e = 0.016708634 - T * (0.000042037 + 0.0000001267 * T);
  const omega = 125.04 - 1934.136 * T;
  const eps0 = 23 + (26 + (21.448 - T * (46.815 + T * (0.00059 - T * 0.001813))) / 60) / 60;
  const eps = eps0 + 0.00256 * Math.cos(omega * r);
  const y = Math.tan((eps / 2) * r) ** 2;
  const E = y * Math.sin(2 * L0 * r) - 2 * e * Math.sin(M * r) + 4 * e * y * Math.sin(M * r) * Math.cos(2 * L0 * r) - 0.5 * y * y * Math.sin(4 * L0 * r) - 1.25 * e * e * Math.sin(2 * M * r);
  return (4 * E) / r;
}

/**
 * Solar midnight after local date `date`: the sun's lower transit (hour angle 180°), when it is lowest that night.
 * UTC = 0h of `date` + 1440 − 4·lon − EoT minutes (lon east-positive; EoT evaluated twice, at the estimate).
 */
export function solarMidnightAfter(loc: { lon: number }, date: string): number {
  const day0 = Date.parse(`${date}T00:00:00Z`);
  let minutes = 1440 - 4 * loc.lon;
  for (let i = 0; i < 2; i++) minutes = 1440 - 4 * loc.lon - equationOfTime(2440587.5 + (day0 + minutes * MINUTE) / DAY);
  return Math.round(day0 + minutes * MINUTE);
}

// ---------------------------------------------------------------------------------------------------------------
// Shabbat schedule
// ---------------------------------------------------------------------------------------------------------------

/** When the pause ends on Saturday night. */
export type NightfallRule =
  /** the sun's centre this many degrees below the horizon (Hebcal default 8.5°, "3 small stars"; 7.083° = 3 medium stars) */
  | { kind: 'degrees'; degrees: number }
  /** fixed clock minutes after Saturday sunset (typical 42, 50 = R. Moshe Feinstein, 72 = Rabbeinu Tam) */
  | { kind: 'minutes'; minutes: number };

/**
 * How instants are rounded to the minute.
 * - `conservative` (default): start = sunset truncated to the minute − candle minutes (Hebcal's published candle
 *   lighting); end = nightfall rounded UP to the minute, so the pause always covers the exact nightfall. The end
 *   equals Hebcal's published havdalah or is one minute later.
 * - `hebcal`: exactly what hebcal.com shows: start as above; degree nightfall rounded to the nearest minute;
 *   minute-offset nightfall = sunset rounded to the nearest minute + offset.
 * - `none`: unrounded instants (KosherJava style), to the millisecond.
 */
export type Rounding = 'conservative' | 'hebcal' | 'none';

export interface ShabbatOptions extends SunLocation {
  /** minutes before Friday sunset (default 18; Hebcal customs: Jerusalem 40, Haifa 30, rest of Israel 20) */
  candleMinutes?: number;
  /** Saturday-night end (default `{ kind: 'degrees', degrees: 8.5 }`) */
  end?: NightfallRule;
  rounding?: Rounding;
  /** high latitudes: minutes after sunset used when the sun never reaches the nightfall depression, and after the nominal sunset when there is no sunset (default 72) */
  fallbackMinutes?: number;
  /** local clock time used as "sunset" on a day with no sunset (midnight sun or polar night); default "18:00" */
  nominalSunset?: string;
}

/** One pause: [start, end) in epoch ms, with ISO 8601 in the configured zone. */
export interface PauseWindow {
  start: number;
  end: number;
  /** e.g. "2024-03-22T17:34:00+02:00" */
  startIso: string;
  endIso: string;
  /** the local Friday ("YYYY-MM-DD") the window belongs to */
  friday: string;
  /** set when a high-latitude fallback decided the start or end (codes: no-sunset-friday, no-sunset-saturday, nightfall-not-reached), with why */
  fallback?: string;
}

export const FALLBACK_CODES = ['no-sunset-friday', 'no-sunset-saturday', 'nightfall-not-reached'] as const;
export type FallbackCode = (typeof FALLBACK_CODES)[number];

export class ScheduleConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid schedule: ${problems.join('; ')}`);
    this.name = 'ScheduleConfigError';
  }
}

function finite(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

/** Every problem with the options at once ([] when valid). */
export function validateShabbatOptions(o: ShabbatOptions): string[] {
  const p: string[] = [];
  if (!finite(o.lat) || o.lat < -90 || o.lat > 90) p.push(`latitude must be a number in -90..90 (got ${String(o.lat)})`);
  if (!finite(o.lon) || o.lon < -180 || o.lon > 180) p.push(`longitude must be a number in -180..180 (got ${String(o.lon)})`);
  if (!isValidTimeZone(o.tz)) p.push(`unknown time zone ${JSON.stringify(o.tz)} (expected an IANA name like Asia/Jerusalem)`);
  if (o.elevation !== undefined && (!finite(o.elevation) || o.elevation < 0 || o.elevation > 9000)) p.push(`elevation must be 0..9000 metres (got ${String(o.elevation)})`);
  if (o.candleMinutes !== undefined && (!Number.isInteger(o.candleMinutes) || o.candleMinutes < 0 || o.candleMinutes > 120)) p.push(`candle-lighting minutes must be an integer 0..120 (got ${String(o.candleMinutes)})`);
  if (o.end !== undefined) {
    if (o.end.kind === 'degrees') {
      if (!finite(o.end.degrees) || o.end.degrees <= 0 || o.end.degrees > 18) p.push(`nightfall degrees must be in (0, 18] (got ${String(o.end.degrees)})`);
    } else if (o.end.kind === 'minutes') {
      if (!Number.isInteger(o.end.minutes) || o.end.minutes <= 0 || o.end.minutes > 180) p.push(`nightfall minutes must be an integer 1..180 (got ${String(o.end.minutes)})`);
    } else {
      p.push(`nightfall rule must be {kind:'degrees'} or {kind:'minutes'}`);
    }
  }
  if (o.rounding !== undefined && !['conservative', 'hebcal', 'none'].includes(o.rounding)) p.push(`rounding must be conservative, hebcal or none (got ${String(o.rounding)})`);
  if (o.fallbackMinutes !== undefined && (!Number.isInteger(o.fallbackMinutes) || o.fallbackMinutes <= 0 || o.fallbackMinutes > 180)) p.push(`fallback minutes must be an integer 1..180 (got ${String(o.fallbackMinutes)})`);
  if (o.nominalSunset !== undefined && parseHhMm(o.nominalSunset) === null) p.push(`nominal sunset must be HH:MM (got ${JSON.stringify(o.nominalSunset)})`);
  return p;
}

const floorMin = (t: number): number => Math.floor(t / MINUTE) * MINUTE;
const ceilMin = (t: number): number => Math.ceil(t / MINUTE) * MINUTE;
const roundMin = (t: number): number => Math.round(t / MINUTE) * MINUTE; // ≥ 30 s rounds up

/**
 * The weekly Shabbat pause at one location: from Friday candle lighting (sunset − candleMinutes) to Saturday
 * nightfall. Shabbat only: Yom Tov (festivals) is not included.
 *
 * Days are the local Friday and Saturday of `tz`. Sunset is NOAA sea-level sunset (elevation-adjusted only if
 * `elevation` is given, as Hebcal's `useElevation`); the degree nightfall is never elevation-adjusted.
 *
 * High-latitude fallback (the window's `fallback` says what was used and why):
 * 1. No sunset on one of the two days (midnight sun or polar night begins or ends between Friday and Saturday): the
 *    other day's sunset ± 24 h stands for it (`no-sunset-friday` / `no-sunset-saturday`), so the window stays
 *    close to its neighbours' as those seasons begin and end.
 * 2. No sunset on either day: a fixed local clock time stands for sunset, `nominalSunset` (18:00, the equinox
 *    sunset): start = Friday 18:00 − candleMinutes, end = Saturday 18:00 + `fallbackMinutes` (72), or + the minutes
 *    of a minutes rule (`no-sunset-friday` and `no-sunset-saturday`).
 * 3. The sun sets on Saturday (or a sunset stands in by 1) but never gets `degrees` below the horizon (white
 *    nights: Oslo, Helsinki, Reykjavik in summer; midnight sun): end = the later of sunset + `fallbackMinutes` (72) and solar midnight, the lowest sun of that night
 *    (`nightfall-not-reached`). Solar midnight is the limit the degree rule tends to as the nights get lighter, so
 *    the end moves continuously into and out of the white-night weeks; the 72-minute floor (Rabbeinu Tam's fixed
 *    nightfall) keeps at least the longest common fixed-minute rule.
 * A minutes rule never needs 3. Every Friday has a window; windows never overlap.
 */
export class ShabbatSchedule {
  readonly lat: number;
  readonly lon: number;
  readonly tz: string;
  readonly elevation: number;
  readonly candleMinutes: number;
  readonly end: NightfallRule;
  readonly rounding: Rounding;
  readonly fallbackMinutes: number;
  readonly nominalSunset: string;
  private readonly nominalMin: number;
  private readonly cache = new Map<string, PauseWindow>();
  /** last answer of windowAt: [from, to) -> window or null (replays ask in time order) */
  private seg: { from: number; to: number; w: PauseWindow | null } | null = null;

  constructor(opts: ShabbatOptions) {
    const problems = validateShabbatOptions(opts);
    if (problems.length > 0) throw new ScheduleConfigError(problems);
    this.lat = opts.lat;
    this.lon = opts.lon;
    this.tz = opts.tz;
    this.elevation = opts.elevation ?? 0;
    this.candleMinutes = opts.candleMinutes ?? 18;
    this.end = opts.end ?? { kind: 'degrees', degrees: 8.5 };
    this.rounding = opts.rounding ?? 'conservative';
    this.fallbackMinutes = opts.fallbackMinutes ?? 72;
    this.nominalSunset = opts.nominalSunset ?? '18:00';
    this.nominalMin = parseHhMm(this.nominalSunset)!;
  }

  /** A one-line description, e.g. for /status and the CLI. */
  describe(): string {
    const end = this.end.kind === 'degrees' ? `sun ${this.end.degrees}° below the horizon` : `${this.end.minutes} min after sunset`;
    return `Shabbat at ${this.lat}, ${this.lon} (${this.tz}): ${this.candleMinutes} min before Friday sunset to ${end} on Saturday`;
  }

  /** The window of the local Friday `friday` ("YYYY-MM-DD", must be a Friday). */
  windowForFriday(friday: string): PauseWindow {
    if (!isValidDate(friday) || dayOfWeek(friday) !== 5) throw new RangeError(`not a Friday: ${friday}`);
    let w = this.cache.get(friday);
    if (!w) {
      w = this.compute(friday);
      if (this.cache.size >= 1024) this.cache.clear();
      this.cache.set(friday, w);
    }
    return w;
  }

  /** The pause window containing `t` (start ≤ t < end), or null. */
  windowAt(t: number): PauseWindow | null {
    const s = this.seg;
    if (s && t >= s.from && t < s.to) return s.w;
    const f = this.fridayOnOrBefore(t);
    const w = this.windowForFriday(f);
    if (t >= w.start && t < w.end) {
      this.seg = { from: w.start, to: w.end, w };
      return w;
    }
    if (t < w.start) this.seg = { from: this.windowForFriday(addDays(f, -7)).end, to: w.start, w: null };
    else this.seg = { from: w.end, to: this.windowForFriday(addDays(f, 7)).start, w: null };
    return null;
  }

  /** true while `t` is inside a pause window. */
  isPaused(t: number): boolean {
    return this.windowAt(t) !== null;
  }

  /** The window containing `t`, else the first window starting after `t`. */
  nextWindow(t: number): PauseWindow {
    const f = this.fridayOnOrBefore(t);
    const w = this.windowForFriday(f);
    return t < w.end ? w : this.windowForFriday(addDays(f, 7));
  }

  /** `count` consecutive windows, the first being `nextWindow(from)`. */
  windows(from: number, count: number): PauseWindow[] {
    const out: PauseWindow[] = [];
    if (count <= 0) return out;
    let w = this.nextWindow(from);
    out.push(w);
    while (out.length < count) {
      w = this.windowForFriday(addDays(w.friday, 7));
      out.push(w);
    }
    return out;
  }

  private fridayOnOrBefore(t: number): string {
    const z = zoned(t, this.tz);
    const back = (z.dayOfWeek - 5 + 7) % 7; // Fri 0, Sat 1, Sun 2, ... Thu 6
    return z.toPlainDate().subtract({ days: back }).toString();
  }

  private compute(friday: string): PauseWindow {
    const loc: SunLocation = { lat: this.lat, lon: this.lon, tz: this.tz, elevation: this.elevation };
    const saturday = addDays(friday, 1);
    const notes: string[] = [];

    const realFri = sunsetOn(loc, friday);
    const realSat = sunsetOn(loc, saturday);
    const candle = this.candleMinutes * MINUTE;
    const up = (t: number): number => (this.rounding === 'none' ? t : this.rounding === 'hebcal' ? roundMin(t) : ceilMin(t));

    let start: number;
    if (realFri !== null) {
      start = (this.rounding === 'none' ? realFri : floorMin(realFri)) - candle;
    } else if (realSat !== null) {
      const stand = realSat - DAY;
      start = (this.rounding === 'none' ? stand : floorMin(stand)) - candle;
      notes.push(`no-sunset-friday: the sun does not set on Friday ${friday}; Saturday's sunset − 24 h stands for it (start = ${isoInZone(stand, this.tz)} − ${this.candleMinutes} min)`);
    } else {
      start = zonedTime(friday, this.nominalMin, this.tz) - candle;
      notes.push(`no-sunset-friday: the sun does not set on Friday ${friday} nor on Saturday; start = nominal sunset ${this.nominalSunset} local − ${this.candleMinutes} min`);
    }

    let sunsetSat = realSat;
    if (realSat === null && realFri !== null) {
      sunsetSat = realFri + DAY;
      notes.push(`no-sunset-saturday: the sun does not set on Saturday ${saturday}; Friday's sunset + 24 h stands for it (${isoInZone(sunsetSat, this.tz)})`);
    }
    let end: number;
    if (sunsetSat === null) {
      const mins = this.end.kind === 'minutes' ? this.end.minutes : this.fallbackMinutes;
      end = zonedTime(saturday, this.nominalMin, this.tz) + mins * MINUTE;
      notes.push(`no-sunset-saturday: the sun does not set on Friday nor on Saturday ${saturday}; end = nominal sunset ${this.nominalSunset} local + ${mins} min`);
    } else if (this.end.kind === 'minutes') {
      end = up(sunsetSat) + this.end.minutes * MINUTE;
    } else {
      const dusk = duskOn(loc, saturday, this.end.degrees);
      if (dusk !== null && dusk > sunsetSat) {
        end = up(dusk);
      } else {
        const lowest = solarMidnightAfter(loc, saturday);
        end = up(Math.max(sunsetSat + this.fallbackMinutes * MINUTE, lowest));
        notes.push(
          `nightfall-not-reached: the sun does not get ${this.end.degrees}° below the horizon on Saturday ${saturday}; end = later of sunset + ${this.fallbackMinutes} min and the lowest sun (${isoInZone(lowest, this.tz)})`,
        );
      }
    }
    if (!(end > start)) throw new Error(`schedule invariant: window of ${friday} ends (${end}) before it starts (${start})`);
    const w: PauseWindow = { start, end, startIso: isoInZone(start, this.tz), endIso: isoInZone(end, this.tz), friday };
    if (notes.length > 0) w.fallback = notes.join('; ');
    return w;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// US stock market hours (NYSE)
// ---------------------------------------------------------------------------------------------------------------

/** Easter Sunday (Gregorian) of `year`, "YYYY-MM-DD" (anonymous Gregorian computus, Meeus/Jones/Butcher). */
export function easterSunday(year: number): string {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(year, month, day);
}

function ymd(y: number, m: number, d: number): string {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The n-th (1-based) `dow` (1 = Mon ... 7 = Sun) of a month; n = -1 for the last. */
function nthWeekday(year: number, month: number, dow: number, n: number): string {
  if (n > 0) {
    const first = dayOfWeek(ymd(year, month, 1));
    return ymd(year, month, 1 + ((dow - first + 7) % 7) + (n - 1) * 7);
  }
  const lastDay = Temporal.PlainDate.from(ymd(year, month, 1)).daysInMonth;
  const last = dayOfWeek(ymd(year, month, lastDay));
  return ymd(year, month, lastDay - ((last - dow + 7) % 7));
}

/** A fixed-date holiday moved to Friday when on Saturday and to Monday when on Sunday. */
function observed(date: string): string {
  const dow = dayOfWeek(date);
  return dow === 6 ? addDays(date, -1) : dow === 7 ? addDays(date, 1) : date;
}

export interface MarketDay {
  date: string;
  name: string;
}

/**
 * NYSE full-day holidays of `year` by the exchange's standing rules (Rule 7.2): New Year's Day (Sunday -> Monday;
 * Saturday -> not observed), Martin Luther King Jr. Day, Washington's Birthday, Good Friday, Memorial Day,
 * Juneteenth (from 2022), Independence Day, Labor Day, Thanksgiving, Christmas (Saturday -> Friday, Sunday -> Monday).
 * Ad-hoc closures (national days of mourning, weather) are not rules: load them with an external calendar.
 */
export function nyseHolidays(year: number): MarketDay[] {
  const out: MarketDay[] = [];
  const ny = ymd(year, 1, 1);
  if (dayOfWeek(ny) !== 6) out.push({ date: observed(ny), name: "New Year's Day" });
  out.push({ date: nthWeekday(year, 1, 1, 3), name: 'Martin Luther King Jr. Day' });
  out.push({ date: nthWeekday(year, 2, 1, 3), name: "Washington's Birthday" });
  out.push({ date: addDays(easterSunday(year), -2), name: 'Good Friday' });
  out.push({ date: nthWeekday(year, 5, 1, -1), name: 'Memorial Day' });
  if (year >= 2022) out.push({ date: observed(ymd(year, 6, 19)), name: 'Juneteenth National Independence Day' });
  out.push({ date: observed(ymd(year, 7, 4)), name: 'Independence Day' });
  out.push({ date: nthWeekday(year, 9, 1, 1), name: 'Labor Day' });
  out.push({ date: nthWeekday(year, 11, 4, 4), name: 'Thanksgiving Day' });
  out.push({ date: observed(ymd(year, 12, 25)), name: 'Christmas Day' });
  return out;
}

/**
 * NYSE 13:00 early closes of `year`: the day after Thanksgiving; July 3 when it is Monday-Thursday (Independence
 * Day on a weekday after it); Christmas Eve when it is Monday-Thursday.
 */
export function nyseEarlyCloses(year: number): MarketDay[] {
  const out: MarketDay[] = [];
  const j3 = ymd(year, 7, 3);
  if (dayOfWeek(j3) <= 4) out.push({ date: j3, name: 'Independence Day eve' });
  out.push({ date: addDays(nthWeekday(year, 11, 4, 4), 1), name: 'Day after Thanksgiving' });
  const c24 = ymd(year, 12, 24);
  if (dayOfWeek(c24) <= 4) out.push({ date: c24, name: 'Christmas Eve' });
  return out;
}

/** One day of an external calendar (Alpaca's /v2/calendar rows fit: extra fields are ignored). Times are local "HH:MM"; null = closed. */
export interface MarketCalendarDay {
  date: string;
  open: string | null;
  close: string | null;
}

export interface MarketSession {
  date: string;
  open: number;
  close: number;
  earlyClose: boolean;
  source: 'rules' | 'calendar';
  /** holiday or early-close name by the rules */
  note?: string;
}

export interface MarketHoursOptions {
  /** exchange zone (default America/New_York) */
  tz?: string;
  /** regular session, local "HH:MM" (defaults 09:30, 16:00, early close 13:00) */
  open?: string;
  close?: string;
  earlyClose?: string;
  /** external calendar: authoritative for every date from its first to its last row (dates missing in between are closed) */
  calendar?: readonly MarketCalendarDay[];
}

/**
 * US stock market regular-session hours: 09:30-16:00 America/New_York on weekdays, closed on NYSE holidays,
 * 13:00 early closes (see nyseHolidays / nyseEarlyCloses). An external calendar (Alpaca's, or a hand-written list
 * of ad-hoc closures such as `{ date: '2025-01-09', open: null, close: null }`) overrides the rules for every date
 * from its first to its last row, inclusive; a date in that range that the calendar does not list is closed, as in
 * Alpaca's calendar, which lists trading days only. Sessions are [open, close).
 */
export class MarketHoursSchedule {
  readonly tz: string;
  private readonly openMin: number;
  private readonly closeMin: number;
  private readonly earlyMin: number;
  private calendar = new Map<string, MarketCalendarDay>();
  private calendarRange: { from: string; to: string } | null = null;
  private readonly sessions = new Map<string, MarketSession | null>();
  private readonly ruleYears = new Map<number, { holidays: Map<string, string>; early: Map<string, string> }>();
  private seg: { from: number; to: number; open: boolean } | null = null;

  constructor(opts: MarketHoursOptions = {}) {
    const problems: string[] = [];
    this.tz = opts.tz ?? 'America/New_York';
    if (!isValidTimeZone(this.tz)) problems.push(`unknown time zone ${JSON.stringify(this.tz)}`);
    const o = parseHhMm(opts.open ?? '09:30');
    const c = parseHhMm(opts.close ?? '16:00');
    const e = parseHhMm(opts.earlyClose ?? '13:00');
    if (o === null || c === null || e === null || !(o < e && e <= c)) problems.push('session times must be HH:MM with open < early close <= close');
    if (problems.length > 0) throw new ScheduleConfigError(problems);
    this.openMin = o!;
    this.closeMin = c!;
    this.earlyMin = e!;
    if (opts.calendar) this.loadCalendar(opts.calendar);
  }

  /** Replaces the external calendar (throws ScheduleConfigError listing every bad row). An empty list removes it. */
  loadCalendar(days: readonly MarketCalendarDay[]): void {
    const problems: string[] = [];
    const map = new Map<string, MarketCalendarDay>();
    for (const d of days) {
      if (!isValidDate(d.date)) {
        problems.push(`calendar: bad date ${JSON.stringify(d.date)}`);
        continue;
      }
      const closed = d.open === null && d.close === null;
      if (!closed) {
        const o = d.open === null ? null : parseHhMm(d.open);
        const c = d.close === null ? null : parseHhMm(d.close);
        if (o === null || c === null || o >= c) {
          problems.push(`calendar ${d.date}: open/close must be HH:MM with open < close, or both null (closed)`);
          continue;
        }
      }
      map.set(d.date, { date: d.date, open: d.open, close: d.close });
    }
    if (problems.length > 0) throw new ScheduleConfigError(problems);
    const dates = [...map.keys()].sort();
    this.calendar = map;
    this.calendarRange = dates.length > 0 ? { from: dates[0]!, to: dates[dates.length - 1]! } : null;
    this.sessions.clear();
    this.seg = null;
  }

  /** The name of the rules' holiday on `date`, or null. */
  holidayOn(date: string): string | null {
    return this.rules(Number(date.slice(0, 4))).holidays.get(date) ?? null;
  }

  /** The regular session on local date `date`, or null when the market is closed all day. */
  sessionOn(date: string): MarketSession | null {
    if (this.sessions.has(date)) return this.sessions.get(date)!;
    const s = this.computeSession(date);
    if (this.sessions.size >= 4096) this.sessions.clear();
    this.sessions.set(date, s);
    return s;
  }

  /** The session containing `t`, or null. */
  sessionAt(t: number): MarketSession | null {
    const s = this.sessionOn(localDate(t, this.tz));
    return s && t >= s.open && t < s.close ? s : null;
  }

  isOpen(t: number): boolean {
    const g = this.seg;
    if (g && t >= g.from && t < g.to) return g.open;
    const s = this.sessionAt(t);
    if (s) this.seg = { from: s.open, to: s.close, open: true };
    else this.seg = { from: t, to: this.nextOpen(t), open: false };
    return s !== null;
  }

  /** The first session open strictly after `t` (while open: the next day's open, as Alpaca's clock). */
  nextOpen(t: number): number {
    return this.scan(t, (s) => s.open);
  }

  /** The first session close strictly after `t` (while open: this session's close). */
  nextClose(t: number): number {
    return this.scan(t, (s) => s.close);
  }

  private scan(t: number, pick: (s: MarketSession) => number): number {
    let date = localDate(t, this.tz);
    for (let i = 0; i < 400; i++) {
      const s = this.sessionOn(date);
      if (s && pick(s) > t) return pick(s);
      date = addDays(date, 1);
    }
    throw new Error(`no market session within 400 days after ${isoInZone(t, this.tz)}`);
  }

  private computeSession(date: string): MarketSession | null {
    const r = this.calendarRange;
    if (r && date >= r.from && date <= r.to) {
      const d = this.calendar.get(date);
      if (!d || d.open === null || d.close === null) return null;
      const o = parseHhMm(d.open)!;
      const c = parseHhMm(d.close)!;
      return { date, open: zonedTime(date, o, this.tz), close: zonedTime(date, c, this.tz), earlyClose: c < this.closeMin, source: 'calendar' };
    }
    if (dayOfWeek(date) >= 6) return null;
    const rules = this.rules(Number(date.slice(0, 4)));
    if (rules.holidays.has(date)) return null;
    const early = rules.early.get(date);
    const s: MarketSession = {
      date,
      open: zonedTime(date, this.openMin, this.tz),
      close: zonedTime(date, early ? this.earlyMin : this.closeMin, this.tz),
      earlyClose: early !== undefined,
      source: 'rules',
    };
    if (early) s.note = early;
    return s;
  }

  private rules(year: number): { holidays: Map<string, string>; early: Map<string, string> } {
    let r = this.ruleYears.get(year);
    if (!r) {
      // A Saturday holiday of next January 1st is not moved into this year (NYSE rule), so only this year's list counts.
      r = {
        holidays: new Map(nyseHolidays(year).map((h) => [h.date, h.name])),
        early: new Map(nyseEarlyCloses(year).map((h) => [h.date, h.name])),
      };
      this.ruleYears.set(year, r);
    }
    return r;
  }
}
