import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TradingSchedule } from '../../engine/engine.js';
import { startAlpacaSim, type AlpacaSim } from '../../marketdata/alpaca/sim/server.js';
import type { AlpacaCalendarDay, AlpacaClock } from './decode.js';
import { alpacaMarketHours, calendarWindow, checkClock } from './market-hours.js';
import { AlpacaTradingClient } from './trading.js';

const z = (s: string): number => Date.parse(s);
const day = (date: string, open = '09:30', close = '16:00'): AlpacaCalendarDay => ({ date, open, close });

// Thanksgiving week 2024 (Thursday closed, Friday 13:00) and the weekend after; then the DST weeks of 2024
const NOV = [day('2024-11-25'), day('2024-11-26'), day('2024-11-27'), day('2024-11-29', '09:30', '13:00'), day('2024-12-02')];
const MARCH = [day('2024-03-07'), day('2024-03-08'), day('2024-03-11')]; // DST starts Sunday 2024-03-10
const AUTUMN = [day('2024-10-31'), day('2024-11-01'), day('2024-11-04')]; // DST ends Sunday 2024-11-03

describe('alpacaMarketHours (hand-written calendars)', () => {
  it('makes one [open, close) interval per calendar day, in UTC across DST and the early close', () => {
    expect(alpacaMarketHours(NOV).sessions().map((s) => [s.date, new Date(s.open).toISOString(), new Date(s.close).toISOString(), s.earlyClose])).toEqual([
      ['2024-11-25', '2024-11-25T14:30:00.000Z', '2024-11-25T21:00:00.000Z', false],
      ['2024-11-26', '2024-11-26T14:30:00.000Z', '2024-11-26T21:00:00.000Z', false],
      ['2024-11-27', '2024-11-27T14:30:00.000Z', '2024-11-27T21:00:00.000Z', false],
      ['2024-11-29', '2024-11-29T14:30:00.000Z', '2024-11-29T18:00:00.000Z', true],
      ['2024-12-02', '2024-12-02T14:30:00.000Z', '2024-12-02T21:00:00.000Z', false],
    ]);
    expect(alpacaMarketHours(MARCH).sessions().map((s) => new Date(s.open).toISOString())).toEqual([
      '2024-03-07T14:30:00.000Z',
      '2024-03-08T14:30:00.000Z',
      '2024-03-11T13:30:00.000Z', // EDT
    ]);
    expect(alpacaMarketHours(AUTUMN).sessions().map((s) => new Date(s.close).toISOString())).toEqual([
      '2024-10-31T20:00:00.000Z',
      '2024-11-01T20:00:00.000Z',
      '2024-11-04T21:00:00.000Z', // EST
    ]);
  });

  it.each([
    // [calendar, instant, open?, next change]
    ['normal day, before the open', NOV, '2024-11-26T14:29:59.999Z', false, '2024-11-26T14:30:00.000Z'],
    ['normal day, at the open', NOV, '2024-11-26T14:30:00.000Z', true, '2024-11-26T21:00:00.000Z'],
    ['normal day, last ms', NOV, '2024-11-26T20:59:59.999Z', true, '2024-11-26T21:00:00.000Z'],
    ['normal day, at the close', NOV, '2024-11-26T21:00:00.000Z', false, '2024-11-27T14:30:00.000Z'],
    ['holiday missing from the calendar (Thanksgiving)', NOV, '2024-11-28T16:00:00.000Z', false, '2024-11-29T14:30:00.000Z'],
    ['early close 13:00, still open', NOV, '2024-11-29T17:59:00.000Z', true, '2024-11-29T18:00:00.000Z'],
    ['early close 13:00, closed at 13:00', NOV, '2024-11-29T18:00:00.000Z', false, '2024-12-02T14:30:00.000Z'],
    ['weekend', NOV, '2024-11-30T15:00:00.000Z', false, '2024-12-02T14:30:00.000Z'],
    ['spring DST: Friday close (EST)', MARCH, '2024-03-08T20:59:00.000Z', true, '2024-03-08T21:00:00.000Z'],
    ['spring DST: Sunday, opens Monday 09:30 EDT', MARCH, '2024-03-10T12:00:00.000Z', false, '2024-03-11T13:30:00.000Z'],
    ['spring DST: Monday 09:30 EDT is open', MARCH, '2024-03-11T13:30:00.000Z', true, '2024-03-11T20:00:00.000Z'],
    ['autumn DST: Monday 09:30 EDT would be 13:30Z: closed in EST', AUTUMN, '2024-11-04T13:30:00.000Z', false, '2024-11-04T14:30:00.000Z'],
    ['autumn DST: Friday close 16:00 EDT', AUTUMN, '2024-11-01T19:59:59.000Z', true, '2024-11-01T20:00:00.000Z'],
  ] as const)('%s', (_name, cal, at, open, next) => {
    const h = alpacaMarketHours(cal);
    expect(h.isOpen(z(at))).toBe(open);
    expect(new Date(h.nextChange(z(at))).toISOString()).toBe(next);
    const p = h.pauseAt(z(at));
    if (open) expect(p).toBeNull();
    else expect(p).toEqual({ reason: expect.stringMatching(/^US market closed until 2024-/), until: z(next) });
  });

  it('is a TradingSchedule for the engine (shape and flattenOnPause)', () => {
    const h: TradingSchedule = alpacaMarketHours(NOV, { flattenOnPause: true });
    expect(h.flattenOnPause).toBe(true);
    expect(h.pauseAt(z('2024-11-30T15:00:00Z'))).toEqual({ reason: 'US market closed until 2024-12-02T09:30:00-05:00', until: z('2024-12-02T14:30:00Z') });
    expect(h.describe(z('2024-11-29T15:00:00Z'))).toEqual({
      marketHours: { open: true, nextOpen: '2024-12-02T09:30:00-05:00', nextClose: '2024-11-29T13:00:00-05:00', calendar: '2024-11-25..2024-12-02 (Alpaca), NYSE rules outside' },
    });
  });

  it('the calendar is authoritative in its range (an ad-hoc closure), NYSE rules outside it', () => {
    // 2025-01-09 (national day of mourning) is not a rules holiday: Alpaca's calendar leaves it out
    const h = alpacaMarketHours([day('2025-01-08'), day('2025-01-10')]);
    expect(h.isOpen(z('2025-01-09T16:00:00Z'))).toBe(false);
    expect(h.isOpen(z('2025-01-10T16:00:00Z'))).toBe(true);
    expect(h.isOpen(z('2025-01-13T16:00:00Z'))).toBe(true); // after the range: rules (a Monday)
    expect(h.isOpen(z('2025-01-20T16:00:00Z'))).toBe(false); // rules: Martin Luther King Jr. Day
  });

  it('rejects a malformed row', () => {
    expect(() => alpacaMarketHours([day('2024-11-26', '16:00', '09:30')])).toThrow(/open < close/);
  });

  it('checkClock: agrees with a clock that matches, names each disagreement', () => {
    const h = alpacaMarketHours(NOV);
    const clock: AlpacaClock = { timestamp: z('2024-11-29T17:00:00Z'), is_open: true, next_open: z('2024-12-02T14:30:00Z'), next_close: z('2024-11-29T18:00:00Z') };
    expect(checkClock(h, clock)).toEqual([]);
    const stale = { ...clock, next_close: z('2024-11-29T21:00:00Z') }; // a calendar without the early close
    expect(checkClock(h, stale)).toEqual(['next close: clock 2024-11-29T16:00:00-05:00, calendar 2024-11-29T13:00:00-05:00']);
    expect(checkClock(h, { ...clock, is_open: false })).toHaveLength(1);
  });

  it('calendarWindow spans the days around an instant', () => {
    expect(calendarWindow(z('2024-11-29T17:00:00Z'), 3, 10)).toEqual({ start: '2024-11-26', end: '2024-12-09' });
  });
});

const DATA = resolve(import.meta.dirname, '../../../../shared/data');
let sim: AlpacaSim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe('against the local Alpaca server', () => {
  it("builds the hours from its calendar and agrees with its clock", async () => {
    sim = await startAlpacaSim({ dataDir: DATA, key: 'PKTEST', secret: 'SECRET', speed: 0, symbols: ['TSLA'] });
    const client = new AlpacaTradingClient({ baseUrl: sim.url, credentials: { keyId: 'PKTEST', secretKey: 'SECRET' }, timeoutMs: 2_000, backoffBaseMs: 1 });
    const clock = await client.getClock();
    if (!clock.ok) throw new Error(clock.message);
    const w = calendarWindow(clock.value.timestamp);
    const cal = await client.getCalendar(w.start, w.end);
    if (!cal.ok) throw new Error(cal.message);
    expect(cal.value.length).toBeGreaterThan(20);
    const h = alpacaMarketHours(cal.value);
    expect(h.calendarRange).toEqual({ from: cal.value[0]!.date, to: cal.value.at(-1)!.date });
    expect(checkClock(h, clock.value)).toEqual([]);
    expect(h.isOpen(clock.value.timestamp)).toBe(clock.value.is_open);
    expect(h.nextChange(clock.value.timestamp)).toBe(clock.value.is_open ? clock.value.next_close : clock.value.next_open);
    expect(h.sessions()).toHaveLength(cal.value.length);
  });
});
