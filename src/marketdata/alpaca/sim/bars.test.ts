import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { easternToUtc, formatEastern, loadSymbol } from './bars.js';

const DATA = resolve(import.meta.dirname, '../../../../../shared/data');

describe('bars', () => {
  it('converts Eastern wall clock across DST', () => {
    expect(new Date(easternToUtc('2019-02-15 16:00:00')).toISOString()).toBe('2019-02-15T21:00:00.000Z');
    expect(new Date(easternToUtc('2019-07-15 09:30:00')).toISOString()).toBe('2019-07-15T13:30:00.000Z');
    expect(formatEastern(Date.UTC(2019, 1, 15, 14, 30))).toBe('2019-02-15T09:30:00-05:00');
    expect(formatEastern(Date.UTC(2019, 6, 15, 13, 30))).toBe('2019-07-15T09:30:00-04:00');
  });

  it('reads TSLA oldest first with bar start times', () => {
    const d = loadSymbol(DATA, 'TSLA');
    expect(d.assetClass).toBe('us_equity');
    const first = d.bars[0]!;
    expect(new Date(first.t).toISOString()).toBe('2019-02-11T14:30:00.000Z'); // 09:31 ET row -> 09:30 start
    expect(first).toMatchObject({ o: 311.685, h: 311.75, l: 310.68, c: 311.1, v: 300855 });
    const last = d.bars[d.bars.length - 1]!;
    expect(new Date(last.t).toISOString()).toBe('2019-02-15T20:59:00.000Z');
    expect(last.c).toBe(307.86);
    for (let i = 1; i < d.bars.length; i++) expect(d.bars[i]!.t).toBeGreaterThan(d.bars[i - 1]!.t);
  });

  it('reads DOGE/USD from the Bybit 1m file', () => {
    const d = loadSymbol(DATA, 'DOGE/USD');
    expect(d.assetClass).toBe('crypto');
    expect(d.bars.length).toBe(43200);
    expect(new Date(d.bars[0]!.t).toISOString()).toBe('2025-05-30T16:42:00.000Z');
    expect(d.bars[0]!.o).toBe(0.19701);
  });

  it('refuses unknown symbols', () => {
    expect(() => loadSymbol(DATA, 'BTC/USD')).toThrow(/only DOGE/);
    expect(() => loadSymbol(DATA, 'NOPE')).toThrow();
  });
});
