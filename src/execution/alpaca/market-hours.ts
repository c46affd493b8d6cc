/**
 * US stock market hours as Alpaca tells them: `/v2/calendar` rows (regular session per trading day, local
 * America/New_York "HH:MM", early closes included, holidays absent) become the open intervals; `/v2/clock`
 * is a cross-check of the same answer at one instant.
 *
 * The calendar is loaded into the risk schedule's MarketHoursSchedule (src/risk/schedule.ts), which already
 * treats an external calendar as authoritative from its first to its last date (missing dates = closed) and
 * falls back to the NYSE rules (holidays, 13:00 early closes) outside it. The object returned here has the
 * shape of the engine's `TradingSchedule` (pauseAt / describe / flattenOnPause) plus isOpen / nextChange.
 */
import { isoInZone, MarketHoursSchedule, type MarketSession } from '../../risk/schedule.js';
import type { AlpacaCalendarDay, AlpacaClock } from './decode.js';

export interface AlpacaMarketHoursOptions {
  /** flatten positions when the market closes (the engine's TradingSchedule.flattenOnPause; default false: held overnight) */
  flattenOnPause?: boolean;
  /** exchange zone (default America/New_York) */
  tz?: string;
}

export interface AlpacaMarketHours {
  readonly schedule: MarketHoursSchedule;
  /** the calendar's first and last date, null when it was empty (rules only) */
  readonly calendarRange: { from: string; to: string } | null;
  readonly flattenOnPause: boolean;
  /** the open intervals [open, close) of the calendar's days, in date order */
  sessions(): MarketSession[];
  /** true while a regular session is open (open <= t < close) */
  isOpen(t: number): boolean;
  /** the next instant after `t` when isOpen changes: this session's close while open, else the next open */
  nextChange(t: number): number;
  /** TradingSchedule: closed market = a pause until the next open */
  pauseAt(t: number): { reason: string; until: number } | null;
  /** TradingSchedule: what /status shows */
  describe(t: number): Record<string, unknown>;
}

/** Builds the market hours of an Alpaca calendar (decoded /v2/calendar rows; throws ScheduleConfigError on a bad row). */
export function alpacaMarketHours(calendar: readonly AlpacaCalendarDay[], opts: AlpacaMarketHoursOptions = {}): AlpacaMarketHours {
  const schedule = new MarketHoursSchedule({ tz: opts.tz, calendar: calendar.map((d) => ({ date: d.date, open: d.open, close: d.close })) });
  const dates = calendar.map((d) => d.date).sort();
  const calendarRange = dates.length > 0 ? { from: dates[0]!, to: dates[dates.length - 1]! } : null;
  const iso = (t: number): string => isoInZone(t, schedule.tz);
  const nextChange = (t: number): number => (schedule.isOpen(t) ? schedule.sessionAt(t)!.close : schedule.nextOpen(t));
  return {
    schedule,
    calendarRange,
    flattenOnPause: opts.flattenOnPause ?? false,
    sessions() {
      const out: MarketSession[] = [];
      for (const d of [...new Set(dates)]) {
        const s = schedule.sessionOn(d);
        if (s) out.push(s);
      }
      return out;
    },
    isOpen: (t) => schedule.isOpen(t),
    nextChange,
    pauseAt(t) {
      if (schedule.isOpen(t)) return null;
      const until = schedule.nextOpen(t);
      return { reason: `US market closed until ${iso(until)}`, until };
    },
    describe(t) {
      const open = schedule.isOpen(t);
      return {
        marketHours: {
          open,
          nextOpen: iso(schedule.nextOpen(t)),
          nextClose: iso(schedule.nextClose(t)),
          calendar: calendarRange ? `${calendarRange.from}..${calendarRange.to} (Alpaca), NYSE rules outside` : 'NYSE rules',
        },
      };
    },
  };
}

/**
 * Where Alpaca's clock disagrees with the hours built from its calendar (empty = agrees): open/closed at the
 * clock's timestamp, the next open and the next close. A disagreement means the calendar is stale or does not
 * cover the clock's time (refetch it), or the venue is a simulator that reports "always open".
 */
export function checkClock(hours: AlpacaMarketHours, clock: AlpacaClock): string[] {
  const t = clock.timestamp;
  const s = hours.schedule;
  const iso = (x: number): string => isoInZone(x, s.tz);
  const out: string[] = [];
  if (hours.isOpen(t) !== clock.is_open) out.push(`at ${iso(t)} the clock says ${clock.is_open ? 'open' : 'closed'}, the calendar ${clock.is_open ? 'closed' : 'open'}`);
  const nextOpen = s.nextOpen(t);
  if (nextOpen !== clock.next_open) out.push(`next open: clock ${iso(clock.next_open)}, calendar ${iso(nextOpen)}`);
  const nextClose = s.nextClose(t);
  if (nextClose !== clock.next_close) out.push(`next close: clock ${iso(clock.next_close)}, calendar ${iso(nextClose)}`);
  return out;
}

/** The calendar dates to ask Alpaca for around `t`: `back` days before to `ahead` days after (YYYY-MM-DD, UTC dates). */
export function calendarWindow(t: number, back = 7, ahead = 45): { start: string; end: string } {
  const day = 86_400_000;
  return { start: new Date(t - back * day).toISOString().slice(0, 10), end: new Date(t + ahead * day).toISOString().slice(0, 10) };
}
