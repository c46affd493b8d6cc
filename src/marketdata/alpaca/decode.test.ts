import { describe, expect, it } from 'vitest';
import { classifyStreamError, MarketDataDecoder } from './decode.js';
import { parseRfc3339 } from './events.js';

describe('parseRfc3339', () => {
  it.each([
    ['2021-02-22T15:51:44.208Z', Date.UTC(2021, 1, 22, 15, 51, 44, 208)],
    ['2021-02-22T19:15:00Z', Date.UTC(2021, 1, 22, 19, 15)],
    ['2022-04-28T14:07:04.451420928-04:00', Date.UTC(2022, 3, 28, 18, 7, 4, 451) + 0.421],
  ])('reads %s', (text, ms) => {
    expect(parseRfc3339(text)).toBeCloseTo(ms, 3);
  });
  it.each(['', 'yesterday', '2021-02-22 15:51:44Z', '2021-02-22T15:51:44'])('refuses %j', (text) => {
    expect(parseRfc3339(text)).toBeNaN();
  });
});

describe('MarketDataDecoder', () => {
  it('decodes the documented stock trade, quote and bar frames', () => {
    const d = new MarketDataDecoder('stocks');
    const t = d.decode('[{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}]', 5);
    expect(t.events).toEqual([
      { kind: 'print', assetClass: 'stocks', symbol: 'AAPL', time: Date.UTC(2021, 1, 22, 15, 51, 44, 208), recvTime: 5, tradeId: 96921, price: 126.55, size: 1, takerSide: null },
    ]);
    const q = d.decode('[{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}]', 6);
    expect(q.events[0]).toMatchObject({ kind: 'quote', symbol: 'AMD', bidPrice: 87.66, bidSize: 1, askPrice: 87.68, askSize: 4 });
    const b = d.decode('[{"T":"b","S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"t":"2021-02-22T19:15:00Z","n":461,"vw":389.0623}]', 7);
    expect(b.events[0]).toEqual({
      kind: 'bar', assetClass: 'stocks', symbol: 'SPY', start: Date.UTC(2021, 1, 22, 19, 15), open: 388.985, high: 389.13, low: 388.975, close: 389.12,
      volume: 49378, trades: 461, vwap: 389.0623, updated: false, recvTime: 7,
    });
    expect(d.malformedTotal()).toBe(0);
  });

  it('decodes crypto trades with the taker side and batches of several messages', () => {
    const d = new MarketDataDecoder('crypto');
    const f = d.decode(
      '[{"T":"t","S":"BTC/USD","p":43250.5,"s":0.0125,"t":"2024-01-05T14:30:01.123456Z","i":123456789,"tks":"B"},' +
        '{"T":"t","S":"BTC/USD","p":43250,"s":0.5,"t":"2024-01-05T14:30:01.2Z","i":123456790,"tks":"S"},' +
        '{"T":"u","S":"BTC/USD","o":1,"h":2,"l":0.5,"c":1.5,"v":3,"t":"2024-01-05T14:30:00Z","n":4,"vw":1.2}]',
      1,
    );
    expect(f.events.map((e) => (e.kind === 'print' ? e.takerSide : e.kind))).toEqual(['buy', 'sell', 'bar']);
    expect(f.events[2]).toMatchObject({ kind: 'bar', updated: true });
  });

  it('returns control messages', () => {
    const d = new MarketDataDecoder('stocks');
    expect(d.decode('[{"T":"success","msg":"connected"}]', 0).controls).toEqual([{ type: 'success', msg: 'connected' }]);
    expect(d.decode('[{"T":"error","code":402,"msg":"auth failed"}]', 0).controls).toEqual([{ type: 'error', code: 402, msg: 'auth failed' }]);
    expect(
      d.decode('[{"T":"subscription","trades":["AAPL"],"quotes":["CLDR"],"bars":["*"],"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],"corrections":["AAPL"],"cancelErrors":["AAPL"]}]', 0).controls,
    ).toEqual([{ type: 'subscription', trades: ['AAPL'], quotes: ['CLDR'], bars: ['*'] }]);
  });

  it('counts and skips malformed input without throwing, keeping the good messages of a batch', () => {
    const d = new MarketDataDecoder('stocks');
    expect(d.decode('not json', 0).events).toEqual([]);
    expect(d.decode('{"T":"t"}', 0).events).toEqual([]);
    const f = d.decode('[{"T":"t","S":"AAPL","p":"126.55","s":1,"t":"2021-02-22T15:51:44.208Z"},{"T":"q","S":"AAPL","bp":1,"bs":1,"ap":2,"as":1,"t":"nope"},7,{"T":"zz"},{"T":"s","S":"AAPL"},{"T":"t","S":"AAPL","p":1,"s":1,"t":"2021-02-22T15:51:44Z"}]', 0);
    expect(f.events).toHaveLength(1);
    expect(d.malformed).toEqual({ json: 1, not_array: 1, trade: 1, quote: 1, no_type: 1, unknown_type: 1 });
    expect(d.ignored).toBe(1);
  });
});

describe('classifyStreamError', () => {
  it.each([
    [402, 'fatal'], [405, 'fatal'], [406, 'fatal'], [409, 'fatal'], [410, 'fatal'],
    [401, 'reconnect'], [404, 'reconnect'], [407, 'reconnect'], [500, 'reconnect'],
    [400, 'report'], [403, 'report'], [499, 'report'],
  ] as const)('%i is %s', (code, action) => {
    expect(classifyStreamError(code)).toBe(action);
  });
});
