import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatScaled, parseScaled, parseScaledRange, significantDecimals } from './decimal.js';

describe('decimal', () => {
  it.each([
    ['61737.63000000', 2, 6173763],
    ['0.00000000', 8, 0],
    ['0.001', 3, 1],
    ['12', 2, 1200],
    ['1.5', 3, 1500],
    ['58710.20', 1, 587102],
  ])('parses %s at %i decimals as %i', (text, decimals, expected) => {
    expect(parseScaled(text, decimals)).toBe(expected);
  });

  it.each([
    ['1.005', 2],
    ['', 2],
    ['.', 2],
    ['1.2.3', 2],
    ['-1', 2],
    ['1e5', 2],
    ['abc', 0],
  ])('rejects %s at %i decimals', (text, decimals) => {
    expect(parseScaled(text, decimals)).toBeNaN();
  });

  it('parses a range without allocating a substring', () => {
    expect(parseScaledRange('["61837.64000000","1.54698000"]', 2, 16, 2)).toBe(6183764);
  });

  it('counts significant decimals', () => {
    expect(significantDecimals('0.01000000')).toBe(2);
    expect(significantDecimals('1.00000000')).toBe(0);
    expect(significantDecimals('0.5')).toBe(1);
    expect(significantDecimals('100')).toBe(0);
  });

  it('formats and parses back exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 0, max: 8 }), (value, decimals) => {
        expect(parseScaled(formatScaled(value, decimals), decimals)).toBe(value);
      }),
    );
  });
});
