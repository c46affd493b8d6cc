/**
 * `papertape schedule`: prints the next Shabbat pause windows for a location (see src/risk/schedule.ts for the
 * rules and the high-latitude fallback). Input is checked here; the schedule itself is pure.
 */
import { isValidDate, isValidTimeZone, localDate, localWeekday, ShabbatSchedule, zonedTime, type NightfallRule, type PauseWindow, type Rounding } from '../risk/schedule.js';

export const DEFAULT_LOCATION = { lat: 31.7683, lon: 35.2137, tz: 'Asia/Jerusalem' } as const;

/** The options as commander hands them over (strings; validated here). */
export interface ScheduleCliOptions {
  lat?: string;
  lon?: string;
  tz?: string;
  from?: string;
  count?: string;
  candleMinutes?: string;
  endDegrees?: string;
  endMinutes?: string;
  rounding?: string;
  json?: boolean;
}

export interface ScheduleWindowJson {
  friday: string;
  start: string;
  end: string;
  startWeekday: string;
  endWeekday: string;
  startMs: number;
  endMs: number;
  durationMinutes: number;
  fallback?: string;
}

export interface ScheduleJson {
  location: { lat: number; lon: number; tz: string };
  candleMinutes: number;
  end: NightfallRule;
  rounding: Rounding;
  from: string;
  windows: ScheduleWindowJson[];
}

const NUMBER_RE = /^[-+]?(\d+(\.\d*)?|\.\d+)$/;

function num(name: string, v: string, min: number, max: number, problems: string[], integer = false): number {
  const n = NUMBER_RE.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    problems.push(`${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max} (got ${JSON.stringify(v)})`);
    return NaN;
  }
  return n;
}

/** Validates the options and computes the windows: `{ ok: false, problems }` for bad input (every problem at once). */
export function scheduleFromOptions(opts: ScheduleCliOptions, now: number): { ok: true; value: ScheduleJson } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const place = [opts.lat, opts.lon, opts.tz];
  if (place.some((v) => v !== undefined) && place.some((v) => v === undefined)) {
    problems.push('--lat, --lon and --tz go together (default: Jerusalem 31.7683, 35.2137, Asia/Jerusalem)');
  }
  const lat = opts.lat === undefined ? DEFAULT_LOCATION.lat : num('--lat', opts.lat, -90, 90, problems);
  const lon = opts.lon === undefined ? DEFAULT_LOCATION.lon : num('--lon', opts.lon, -180, 180, problems);
  const tz = opts.tz ?? DEFAULT_LOCATION.tz;
  if (!isValidTimeZone(tz)) problems.push(`--tz: unknown time zone ${JSON.stringify(tz)} (expected an IANA name like Asia/Jerusalem or America/New_York)`);
  const count = opts.count === undefined ? 10 : num('--count', opts.count, 1, 1000, problems, true);
  const candleMinutes = opts.candleMinutes === undefined ? 18 : num('--candle-minutes', opts.candleMinutes, 0, 120, problems, true);
  let end: NightfallRule = { kind: 'degrees', degrees: 8.5 };
  if (opts.endDegrees !== undefined && opts.endMinutes !== undefined) problems.push('give --end-degrees or --end-minutes, not both');
  else if (opts.endDegrees !== undefined) end = { kind: 'degrees', degrees: num('--end-degrees', opts.endDegrees, 0.1, 18, problems) };
  else if (opts.endMinutes !== undefined) end = { kind: 'minutes', minutes: num('--end-minutes', opts.endMinutes, 1, 180, problems, true) };
  const rounding = (opts.rounding ?? 'conservative') as Rounding;
  if (!['conservative', 'hebcal', 'none'].includes(rounding)) problems.push(`--rounding must be conservative, hebcal or none (got ${JSON.stringify(opts.rounding)})`);
  if (opts.from !== undefined && !isValidDate(opts.from)) problems.push(`--from must be a date YYYY-MM-DD (got ${JSON.stringify(opts.from)})`);
  if (problems.length > 0) return { ok: false, problems };

  const schedule = new ShabbatSchedule({ lat, lon, tz, candleMinutes, end, rounding });
  const from = opts.from ?? localDate(now, tz);
  const windows = schedule.windows(zonedTime(from, 0, tz), count).map((w) => toJson(w, tz));
  return { ok: true, value: { location: { lat, lon, tz }, candleMinutes, end, rounding, from, windows } };
}

function toJson(w: PauseWindow, tz: string): ScheduleWindowJson {
  const out: ScheduleWindowJson = {
    friday: w.friday,
    start: w.startIso,
    end: w.endIso,
    startWeekday: localWeekday(w.start, tz),
    endWeekday: localWeekday(w.end, tz),
    startMs: w.start,
    endMs: w.end,
    durationMinutes: Math.round((w.end - w.start) / 60_000),
  };
  if (w.fallback) out.fallback = w.fallback;
  return out;
}

function hm(minutes: number): string {
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** The human-readable table. */
export function formatSchedule(s: ScheduleJson): string {
  const endRule = s.end.kind === 'degrees' ? `sun ${s.end.degrees}° below the horizon` : `${s.end.minutes} min after sunset`;
  const lines = [
    `Shabbat pause at ${s.location.lat}, ${s.location.lon} (${s.location.tz}), from ${s.from}`,
    `start: ${s.candleMinutes} min before Friday sunset; end: ${endRule} on Saturday; rounding: ${s.rounding}`,
    '',
    `${'start'.padEnd(30)}  ${'end'.padEnd(30)}  length`,
  ];
  const notes: string[] = [];
  for (const w of s.windows) {
    const mark = w.fallback ? ` [${notes.length + 1}]` : '';
    if (w.fallback) notes.push(`[${notes.length + 1}] ${w.friday}: ${w.fallback}`);
    lines.push(`${`${w.startWeekday} ${w.start}`.padEnd(30)}  ${`${w.endWeekday} ${w.end}`.padEnd(30)}  ${hm(w.durationMinutes)}${mark}`);
  }
  if (notes.length > 0) lines.push('', 'high-latitude fallback:', ...notes);
  return `${lines.join('\n')}\n`;
}

/** Runs the command: prints the table or JSON; bad input -> message on stderr, exit code 2. */
export function runScheduleCli(opts: ScheduleCliOptions, now = Date.now()): void {
  const r = scheduleFromOptions(opts, now);
  if (!r.ok) {
    for (const p of r.problems) process.stderr.write(`papertape schedule: ${p}\n`);
    process.exitCode = 2;
    return;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(r.value, null, 2)}\n` : formatSchedule(r.value));
}

