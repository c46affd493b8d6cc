import { describe, expect, it } from 'vitest';
import { papertape } from './support/procs.js';
import type { ScheduleWindowJson } from '../src/cli/schedule.js';

/** Runs `papertape schedule ...` (the built CLI) to the end. */
async function schedule(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = papertape(['schedule', ...args]);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

type WindowJson = ScheduleWindowJson;

/*
 * Expected windows: the start of Denver's is the published candle lighting of sunset.md §3 (sunset
 * 20:25:01.588 MDT -> 20:25 - 18 min = 20:07); every figure was checked in src/risk/schedule.test.ts ("verified
 * windows") against an independent implementation of the sunset.md §2 equations, not the library.
 */
describe('papertape schedule', () => {
  it('prints JSON windows for a fixed --from (Denver, published candle lighting)', async () => {
    const r = await schedule(['--lat', '39.73915', '--lon', '-104.9847', '--tz', 'America/Denver', '--from', '2020-06-05', '--count', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { location: unknown; candleMinutes: number; end: unknown; windows: WindowJson[] };
    expect(out.location).toEqual({ lat: 39.73915, lon: -104.9847, tz: 'America/Denver' });
    expect(out.candleMinutes).toBe(18);
    expect(out.end).toEqual({ kind: 'degrees', degrees: 8.5 });
    expect(out.windows).toHaveLength(1);
    const w = out.windows[0]!;
    expect(w).toMatchObject({ friday: '2020-06-05', start: '2020-06-05T20:07:00-06:00', end: '2020-06-06T21:15:00-06:00', startWeekday: 'Fri', endWeekday: 'Sat' });
    expect(w.startMs).toBe(Date.parse(w.start));
    expect(w.endMs).toBe(Date.parse(w.end));
    expect(w.fallback).toBeUndefined();
  });

  it('defaults to Jerusalem; offsets follow the DST change of 2024-03-29', async () => {
    const r = await schedule(['--from', '2024-03-20', '--count', '2', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { location: unknown; windows: WindowJson[] };
    expect(out.location).toEqual({ lat: 31.7683, lon: 35.2137, tz: 'Asia/Jerusalem' });
    expect(out.windows.map((w) => [w.start, w.end])).toEqual([
      ['2024-03-22T17:34:00+02:00', '2024-03-23T18:30:00+02:00'],
      ['2024-03-29T18:38:00+03:00', '2024-03-30T19:35:00+03:00'],
    ]);
  });

  it('--candle-minutes and --end-minutes', async () => {
    const r = await schedule(['--from', '2024-03-22', '--count', '1', '--candle-minutes', '40', '--end-minutes', '72', '--json']);
    expect(r.code).toBe(0);
    const w = (JSON.parse(r.stdout) as { windows: WindowJson[] }).windows[0]!;
    expect(w.start).toBe('2024-03-22T17:12:00+02:00');
    // Saturday sunset (17:52:52) rounded up to the minute + 72 minutes
    expect(w.end).toBe('2024-03-23T19:05:00+02:00');
  });

  it('prints a table with local weekdays by default, and marks high-latitude fallbacks', async () => {
    const r = await schedule(['--from', '2024-03-20', '--count', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Asia/Jerusalem');
    expect(r.stdout).toContain('Fri 2024-03-22T17:34:00+02:00');
    expect(r.stdout).toContain('Sat 2024-03-23T18:30:00+02:00');
    expect(r.stdout.split('\n').filter((l) => l.startsWith('Fri '))).toHaveLength(3);

    const polar = await schedule(['--lat', '78.2232', '--lon', '15.6267', '--tz', 'Arctic/Longyearbyen', '--from', '2025-06-16', '--count', '1', '--json']);
    expect(polar.code).toBe(0);
    const w = (JSON.parse(polar.stdout) as { windows: WindowJson[] }).windows[0]!;
    expect(w).toMatchObject({ start: '2025-06-20T17:42:00+02:00', end: '2025-06-21T19:12:00+02:00' });
    expect(w.fallback).toMatch(/no-sunset-friday/);
    const table = await schedule(['--lat', '78.2232', '--lon', '15.6267', '--tz', 'Arctic/Longyearbyen', '--from', '2025-06-16', '--count', '1']);
    expect(table.stdout).toContain('high-latitude fallback');
  });

  it.each([
    [['--lat', 'abc', '--lon', '35', '--tz', 'Asia/Jerusalem'], /--lat must be a number in -90\.\.90/],
    [['--lat', '91', '--lon', '35', '--tz', 'Asia/Jerusalem'], /--lat must be a number in -90\.\.90/],
    [['--lat', '31', '--lon', '35', '--tz', 'Mars/Olympus_Mons'], /unknown time zone "Mars\/Olympus_Mons"/],
    [['--lat', '31'], /--lat, --lon and --tz go together/],
    [['--from', '2024-02-30'], /--from must be a date YYYY-MM-DD/],
    [['--count', '0'], /--count must be an integer/],
    [['--end-degrees', '8', '--end-minutes', '50'], /not both/],
  ])('rejects bad input %j with exit 2 and a message', async (args, message) => {
    const r = await schedule([...args, '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^papertape schedule: /);
  });
});
