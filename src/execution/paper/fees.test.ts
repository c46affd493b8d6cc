import { describe, expect, it } from 'vitest';
import type { Venue } from '../../core/types.js';
import { feeAmount, parseFeeOverrides, TableFeeModel, type FeeOverride } from './fees.js';
import type { Liquidity } from './models.js';

describe('TableFeeModel', () => {
  const table = new TableFeeModel({ maker: 0.001, taker: 0.001 }, [
    { venue: 'spot', symbol: 'BTCUSDT', maker: 0.0002, taker: 0.0004 },
    { venue: 'usdm', symbol: '*', maker: -0.0001, taker: 0.0005 },
    { venue: '*', symbol: 'ETHUSDT', maker: 0.0003, taker: 0.0006 },
    { venue: 'usdm', symbol: 'SOLUSDT', maker: 0.00015, taker: 0.00045 },
  ]);

  it.each<[Venue, string, Liquidity, number, string]>([
    ['spot', 'BTCUSDT', 'maker', 0.0002, 'venue+symbol'],
    ['spot', 'BTCUSDT', 'taker', 0.0004, 'venue+symbol'],
    ['usdm', 'SOLUSDT', 'taker', 0.00045, 'venue+symbol beats venue+*'],
    ['usdm', 'BTCUSDT', 'maker', -0.0001, 'venue+* (a maker rebate)'],
    ['usdm', 'ETHUSDT', 'taker', 0.0005, 'venue+* beats *+symbol'],
    ['spot', 'ETHUSDT', 'maker', 0.0003, '*+symbol'],
    ['spot', 'ETHUSDT', 'taker', 0.0006, '*+symbol'],
    ['spot', 'SOLUSDT', 'taker', 0.001, 'defaults'],
    ['spot', 'btcusdt', 'maker', 0.001, 'symbols match exactly (callers pass upper case)'],
  ])('%s %s %s pays %d (%s)', (venue, symbol, liq, want) => {
    expect(table.rate(venue, symbol, liq)).toBe(want);
  });

  it('a *:* override replaces the defaults but loses to every other form', () => {
    const t = new TableFeeModel({ maker: 0.001, taker: 0.001 }, [
      { venue: '*', symbol: '*', maker: 0.0009, taker: 0.0008 },
      { venue: '*', symbol: 'ETHUSDT', maker: 0.0003, taker: 0.0006 },
    ]);
    expect(t.rate('spot', 'BTCUSDT', 'maker')).toBe(0.0009);
    expect(t.rate('usdm', 'BTCUSDT', 'taker')).toBe(0.0008);
    expect(t.rate('usdm', 'ETHUSDT', 'taker')).toBe(0.0006);
  });

  it('with no overrides every fill pays the defaults', () => {
    const t = new TableFeeModel({ maker: 0.0002, taker: 0.0005 }, []);
    expect(t.rates('usdm', 'ANY')).toEqual({ maker: 0.0002, taker: 0.0005 });
  });

  it('rejects out-of-range rates, unknown venues and duplicates, all at once', () => {
    const bad: FeeOverride[] = [
      { venue: 'spot', symbol: 'BTCUSDT', maker: 0.02, taker: 0.0004 },
      { venue: 'coinm' as Venue, symbol: '*', maker: 0, taker: 0 },
      { venue: 'usdm', symbol: '*', maker: 0, taker: 0 },
      { venue: 'usdm', symbol: '*', maker: 0, taker: NaN },
    ];
    expect(() => new TableFeeModel({ maker: 0.001, taker: -0.01 }, bad)).toThrowError(
      /default taker: rate -0.01 outside.*spot:BTCUSDT maker: rate 0.02 outside.*coinm:\*: unknown venue "coinm".*usdm:\* taker: not a number; usdm:\*: given more than once/,
    );
  });
});

describe('fee arithmetic', () => {
  it.each([
    // notional (price x qty), rate, fee
    [60_000 * 0.5, 0.001, 30], // 0.5 BTC at 60000, 0.1% taker = 30 USDT
    [60_000 * 0.5, 0.0004, 12], // the same at 4 bp
    [3_000 * 2, -0.0001, -0.6], // 2 ETH at 3000 with a 1 bp maker rebate: we receive 0.6 USDT
    [150 * 10, 0, 0],
  ])('notional %d at rate %d costs %d', (notional, rate, fee) => {
    expect(feeAmount(notional, rate)).toBeCloseTo(fee, 10);
  });

  it('a rebate from the table turns into a negative fee', () => {
    const t = new TableFeeModel({ maker: 0.001, taker: 0.001 }, parseFeeOverrides('usdm:*=-0.0001/0.0005'));
    expect(feeAmount(60_000 * 0.5, t.rate('usdm', 'BTCUSDT', 'maker'))).toBeCloseTo(-3, 10);
    expect(feeAmount(60_000 * 0.5, t.rate('usdm', 'BTCUSDT', 'taker'))).toBeCloseTo(15, 10);
  });
});

describe('parseFeeOverrides', () => {
  it('parses the documented example', () => {
    expect(parseFeeOverrides('spot:BTCUSDT=0.0002/0.0004,usdm:*=-0.0001/0.0005')).toEqual([
      { venue: 'spot', symbol: 'BTCUSDT', maker: 0.0002, taker: 0.0004 },
      { venue: 'usdm', symbol: '*', maker: -0.0001, taker: 0.0005 },
    ]);
  });

  it('takes Alpaca stocks and crypto pairs', () => {
    expect(parseFeeOverrides('alpaca:*=0/0,alpaca:doge/usd=0.0015/0.0025')).toEqual([
      { venue: 'alpaca', symbol: '*', maker: 0, taker: 0 },
      { venue: 'alpaca', symbol: 'DOGE/USD', maker: 0.0015, taker: 0.0025 },
    ]);
  });

  it.each(['', '   ', ',', ' , '])('%j means no overrides', (text) => {
    expect(parseFeeOverrides(text)).toEqual([]);
  });

  it('tolerates whitespace, upper-cases symbols and accepts *:* and exponents', () => {
    expect(parseFeeOverrides('  spot : ethusdt = 0.0002 / 4e-4 ,\n *:* = 0/+0.001 , *:solusdt=.0001/0.0002,')).toEqual([
      { venue: 'spot', symbol: 'ETHUSDT', maker: 0.0002, taker: 0.0004 },
      { venue: '*', symbol: '*', maker: 0, taker: 0.001 },
      { venue: '*', symbol: 'SOLUSDT', maker: 0.0001, taker: 0.0002 },
    ]);
  });

  it.each([
    ['coinm:BTCUSD=0.0001/0.0002', /entry 1 "coinm:BTCUSD=0.0001\/0.0002": unknown venue "coinm" \(expected spot, usdm, alpaca or \*\)/],
    ['alpaca:DOGE/USD/X=0.0001/0.0002', /bad symbol "DOGE\/USD\/X"/],
    ['spot:BTCUSDT=abc/0.0002', /maker "abc" is not a number/],
    ['spot:BTCUSDT=0.0001/', /taker "" is not a number/],
    ['spot:BTCUSDT=0x10/0.0002', /maker "0x10" is not a number/],
    ['spot:BTCUSDT=Infinity/0.0002', /maker "Infinity" is not a number/],
    ['spot:BTCUSDT=0.01/0.0002', /maker rate 0.01 outside \(-0.01, 0.01\)/],
    ['spot:BTCUSDT=0.0001/-0.5', /taker rate -0.5 outside \(-0.01, 0.01\)/],
    ['spot:BTCUSDT=0.0001', /expected two rates, maker\/taker/],
    ['spot:BTCUSDT=0.0001/0.0002/0.0003', /expected two rates/],
    ['spotBTCUSDT=0.0001/0.0002', /expected venue:symbol=maker\/taker/],
    ['spot:BTCUSDT', /expected venue:symbol=maker\/taker/],
    ['spot:BTC-USDT=0.0001/0.0002', /bad symbol "BTC-USDT"/],
    ['spot:=0.0001/0.0002', /bad symbol ""/],
    ['spot:BTCUSDT=0.0001/0.0002,spot:btcusdt=0.0003/0.0004', /entry 2 .*spot:BTCUSDT given more than once/],
  ])('rejects %j', (text, msg) => {
    expect(() => parseFeeOverrides(text)).toThrowError(msg);
  });

  it('lists every bad entry with its reason and the expected form', () => {
    let message = '';
    try {
      parseFeeOverrides('spot:BTCUSDT=0.0002/0.0004, futures:*=0.1/x, usdm:ETHUSDT=0.0001/0.0002, :=/');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('expected venue:symbol=maker/taker (venue spot|usdm|alpaca|*');
    expect(message).toContain('entry 2 "futures:*=0.1/x": unknown venue "futures" (expected spot, usdm, alpaca or *), maker rate 0.1 outside (-0.01, 0.01), taker "x" is not a number');
    expect(message).toContain('entry 4 ":=/": unknown venue ""');
    expect(message).not.toContain('entry 1');
    expect(message).not.toContain('entry 3');
  });
});
