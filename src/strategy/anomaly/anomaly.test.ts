import { describe, expect, it } from 'vitest';
import { referenceInstrument } from '../../marketdata/binance/reference.js';
import type { TradeEvent } from '../../model/events.js';
import { priceToNumber, qtyToNumber, type Instrument } from '../../model/instrument.js';
import type { Order, OrderIntent } from '../../model/order.js';
import type { StrategyContext } from '../strategy.js';
import { AnomalyStrategy } from './anomaly.js';
import type { AnomalyParams } from './params.js';

const inst = referenceInstrument('spot', 'BTCUSDT'); // tick 0.01, step 0.00001 (1000 units of 1e-8), min notional 5
const P: AnomalyParams = {
  cellWidth: 0.001, cells: 11, emaPeriod: 3, minMargin: 2, maxRange: 4, level: 2, maxPosition: 0.01, source: 'trades', barMs: 1000, cooldownMs: 1500,
};

/** The strategy uses only these members of the context (the cast keeps the stub independent of the rest). */
function mkCtx(now: number, position = 0, open: Order[] = []): StrategyContext {
  const used: Pick<StrategyContext, 'now' | 'position' | 'openOrders' | 'cancel'> = { now, position: () => position, openOrders: () => open, cancel: () => undefined };
  return used as StrategyContext;
}

let tradeId = 0;
function trade(price: number, time: number, qty = 0.001, i: Instrument = inst): TradeEvent {
  return {
    kind: 'trade', venue: i.venue, symbol: i.symbol, eventTime: time, recvTime: time, tradeId: ++tradeId,
    priceUnits: Math.round(price * 10 ** i.priceDecimals), qtyUnits: Math.round(qty * 10 ** i.qtyDecimals), buyerIsMaker: false,
  };
}

/** Feeds prices to a strategy, filling every order at once; returns the intents and the final position. */
function run(strat: AnomalyStrategy, steps: readonly { t: number; price: number }[], position = 0, i: Instrument = inst) {
  const intents: (OrderIntent | null)[] = [];
  for (const s of steps) {
    const intent = strat.onTrade(trade(s.price, s.t, 0.001, i), i, mkCtx(s.t, position));
    if (intent) position += (intent.side === 'BUY' ? 1 : -1) * qtyToNumber(i, intent.qtyUnits);
    intents.push(intent);
  }
  return { intents, position: Math.round(position * 1e8) / 1e8 };
}

/*
 * The worked example of docs/strategies.md. cell_width 0.001, cells 11 (-5..+5), ema_period 3 (alpha = 0.5),
 * min_margin 2, max_range 4, level 2, max_position 0.01 BTC, cooldown 1500 ms; orders fill at once.
 *
 * t     price     r          cell  prediction  d         decision
 * 0     60000.00  -          -     -           -         seed (no ratio yet)
 * 1000  60060.00  1.001000   1     -           -         warmup (cell 1 seeds the EMA: 1)
 * 2000  60060.00  1.000000   0     1           -1        none (|d| < 2); EMA 1 + 0.5 (0 - 1) = 0.5
 * 3000  60120.06  1.001000   1     0.5         0.5       none; EMA 0.75
 * 4000  59939.70  0.997000   -3    0.75        -3.75     buy: x = 3.75 / 4 = 0.9375, x^2 = 0.87890625,
 *                                                        f = 1 - sqrt(0.12109375) = 0.652015 -> 0.00652 BTC;
 *                                                        position 0 -> BUY 0.00652; EMA 0.75 + 0.5 (-3.75) = -1.125
 * 5000  60059.58  1.002000   2     -1.125      3.125     sell signal, but 1000 ms since the last order < 1500: cooldown;
 *                                                        EMA -1.125 + 0.5 (3.125) = 0.4375
 * 6000  59458.98  0.990000   -5    0.4375      -5.4375   r - 1 = -0.01 is -10 cells, clamped to -5; buy: x = min(1.36, 1) = 1,
 *                                                        target 0.01, position 0.00652 -> BUY 0.00348; EMA -2.28125
 * 9000  58864.39  0.990000   -5    -2.28125    -2.71875  buy: x = 0.6796875, f = 1 - sqrt(1 - 0.461975) = 0.266498 -> target
 *                                                        0.00266, but the position is 0.01 already: at-target; EMA -3.640625
 * 10000 59040.98  1.003000   3     -3.640625   6.640625  sell: x = 1, target -0.01, position 0.01 -> SELL 0.02 (reversal);
 *                                                        EMA -3.640625 + 0.5 (6.640625) = -0.3203125
 */
const EXAMPLE = [
  { t: 0, price: 60000.0, r: null, cell: null, prediction: null, d: null, decision: 'seed', side: null, qty: 0, target: null },
  { t: 1000, price: 60060.0, r: 1.001, cell: 1, prediction: null, d: null, decision: 'warmup', side: null, qty: 0, target: null },
  { t: 2000, price: 60060.0, r: 1, cell: 0, prediction: 1, d: -1, decision: 'none', side: null, qty: 0, target: null },
  { t: 3000, price: 60120.06, r: 1.001, cell: 1, prediction: 0.5, d: 0.5, decision: 'none', side: null, qty: 0, target: null },
  { t: 4000, price: 59939.7, r: 0.997, cell: -3, prediction: 0.75, d: -3.75, decision: 'buy', side: 'BUY', qty: 0.00652, target: 0.00652 },
  { t: 5000, price: 60059.58, r: 1.002, cell: 2, prediction: -1.125, d: 3.125, decision: 'cooldown', side: null, qty: 0, target: null },
  { t: 6000, price: 59458.98, r: 0.99, cell: -5, prediction: 0.4375, d: -5.4375, decision: 'buy', side: 'BUY', qty: 0.00348, target: 0.01 },
  { t: 9000, price: 58864.39, r: 0.99, cell: -5, prediction: -2.28125, d: -2.71875, decision: 'at-target', side: null, qty: 0, target: 0.00266 },
  { t: 10000, price: 59040.98, r: 1.003, cell: 3, prediction: -3.640625, d: 6.640625, decision: 'sell', side: 'SELL', qty: 0.02, target: -0.01 },
] as const;

describe('anomaly strategy', () => {
  it('computes the worked example of docs/strategies.md step by step', () => {
    const strat = new AnomalyStrategy(P);
    let position = 0;
    for (const s of EXAMPLE) {
      const intent = strat.onTrade(trade(s.price, s.t), inst, mkCtx(s.t, position));
      const o = strat.observation(inst)!;
      expect(o.price).toBe(s.price);
      expect(o.cell).toBe(s.cell);
      if (s.r === null) expect(o.r).toBeNull();
      else expect(o.r).toBeCloseTo(s.r, 5);
      expect(o.prediction).toBe(s.prediction);
      expect(o.d).toBe(s.d);
      expect(o.decision).toBe(s.decision);
      if (s.target === null) expect(o.target).toBeNull();
      else expect(o.target).toBeCloseTo(s.target, 12);
      if (s.side === null) expect(intent).toBeNull();
      else {
        expect(intent).toMatchObject({ venue: 'spot', symbol: 'BTCUSDT', side: s.side, type: 'MARKET', createdAt: s.t });
        expect(qtyToNumber(inst, intent!.qtyUnits)).toBeCloseTo(s.qty, 12);
        position += (intent!.side === 'BUY' ? 1 : -1) * qtyToNumber(inst, intent!.qtyUnits);
      }
    }
    expect(position).toBeCloseTo(-0.01, 12);
    expect(strat.observation(inst)).toMatchObject({ observations: 8, lastOrderAt: 10000 });
  });

  it('tags its orders with its id and explains them', () => {
    const strat = new AnomalyStrategy(P);
    const { intents } = run(strat, EXAMPLE.slice(0, 5));
    const buy = intents[4]!;
    expect(buy.strategy).toMatch(/^anomaly@0\.1\.0#[0-9a-f]{8}$/);
    expect(buy.strategy).toBe(strat.id);
    expect(buy.reason).toBe('anomaly d=-3.750 cells (cell -3, predicted 0.750, r=0.997000), x=0.938, target 0.00652 (position 0)');
    expect(new AnomalyStrategy(P).id).toBe(strat.id);
    expect(new AnomalyStrategy({ ...P, level: 3 }).id).not.toBe(strat.id);
  });

  it('ignores the book', () => {
    const strat = new AnomalyStrategy(P);
    expect(strat.onBook({} as never, inst, mkCtx(0))).toBeNull();
  });

  it('acts on bar closes when the source is bars, not on every trade', () => {
    const strat = new AnomalyStrategy({ ...P, source: 'bars', barMs: 1000, cooldownMs: 0 });
    const ctx = (t: number) => mkCtx(t);
    // bar [0, 1000): closes at 60000; bar [1000, 2000): a spike inside, closes at 60060 (r = 1.001, cell 1)
    const trades = [
      trade(60000, 10), trade(60500, 500), trade(60000, 900),
      trade(61000, 1100), trade(60060, 1900),
      // bar [2000, 3000): 60060 (cell 0, d = -1); bar [3000, 4000): 59879.82 (r = 0.997, cell -3: d = -3.5, buy)
      trade(60060, 2500),
      trade(59879.82, 3001),
      trade(59879.82, 4000), // completes the bar [3000, 4000)
    ];
    const out = trades.slice(0, 7).map((tr) => strat.onTrade(tr, inst, ctx(tr.eventTime)));
    // a bar is acted on when the first trade of a later bar completes it: the last one seen is [2000, 3000)
    expect(out).toEqual([null, null, null, null, null, null, null]);
    expect(strat.observation(inst)).toMatchObject({ cell: 0, prediction: 1, d: -1, decision: 'none', price: 60060, at: 3001 });
    out.push(strat.onTrade(trades[7]!, inst, ctx(4000)));
    expect(out[7]).toMatchObject({ side: 'BUY' });
    // x = 3.5 / 4 = 0.875, f = 1 - sqrt(1 - 0.765625) = 0.515877 -> 0.00515
    expect(qtyToNumber(inst, out[7]!.qtyUnits)).toBeCloseTo(0.00515, 12);
    expect(strat.observation(inst)).toMatchObject({ cell: -3, prediction: 0.5, d: -3.5, decision: 'buy' });
  });

  it('takes bars from a venue that delivers them', () => {
    const strat = new AnomalyStrategy({ ...P, cooldownMs: 0 });
    const aapl: Instrument = { ...inst, symbol: 'AAPL', priceDecimals: 2, qtyDecimals: 0, tickUnits: 1, stepUnits: 1, minQtyUnits: 1, maxQtyUnits: 1e9, marketMaxQtyUnits: 1e9, minNotional: 0 };
    const s100 = new AnomalyStrategy({ ...P, maxPosition: 100, cooldownMs: 0 });
    for (const [i, close] of [20000, 20020, 20020, 19960].entries()) {
      expect(strat.onBarClose(close, aapl, mkCtx(i * 60_000))).toBeNull(); // max 0.01 share: nothing to trade in whole shares
      const intent = s100.onBarClose(close, aapl, mkCtx(i * 60_000));
      // 200.00 -> 200.20 (cell 1, seeds) -> 200.20 (cell 0, d = -1) -> 199.60 (r = 0.997003, cell -3, d = -3.5): buy
      if (i < 3) expect(intent).toBeNull();
      else expect(intent).toMatchObject({ symbol: 'AAPL', side: 'BUY', qtyUnits: 51 }); // 100 × 0.515877 -> 51 shares
    }
    expect(strat.observation(aapl)).toMatchObject({ decision: 'zero-size' });
  });

  it('skips an order below the minimum notional', () => {
    // USD-M BTCUSDT: step 0.001, minimum notional 100 USDT; 0.002 × x 0.9375 = 0.001875 -> 0.001 BTC = 60 USDT
    const usdm = referenceInstrument('usdm', 'BTCUSDT');
    const strat = new AnomalyStrategy({ ...P, maxPosition: 0.002, level: 1 });
    const { intents } = run(strat, EXAMPLE.slice(0, 5), 0, usdm);
    expect(intents.every((i) => i === null)).toBe(true);
    expect(strat.observation(usdm)).toMatchObject({ decision: 'too-small', target: 0.001 });
    // 0.003 × 0.9375 = 0.0028 -> 0.002 BTC = 120 USDT: it trades
    const big = new AnomalyStrategy({ ...P, maxPosition: 0.003, level: 1 });
    expect(run(big, EXAMPLE.slice(0, 5), 0, usdm).intents[4]).toMatchObject({ side: 'BUY', qtyUnits: 2 });
  });

  it('counts working orders toward the position and never trades against the signal', () => {
    const strat = new AnomalyStrategy(P);
    run(strat, EXAMPLE.slice(0, 4));
    // a buy of 0.00652 is still working: the target is reached already
    const working: Order = {
      id: 'o1', venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', timeInForce: 'IOC', postOnly: false, qty: 0.00652, price: null,
      strategy: strat.id, reason: '', status: 'ACCEPTED', filledQty: 0.0002, avgPrice: 0, createdAt: 0, updatedAt: 0,
    };
    expect(strat.onTrade(trade(59939.7, 4000), inst, mkCtx(4000, 0.0002, [working]))).toBeNull();
    expect(strat.observation(inst)?.decision).toBe('at-target');

    // the same buy signal while 0.003 long: buys only the rest; while long beyond the target: nothing, and never a sell
    for (const [position, want] of [[0.003, 0.00352], [0.008, null], [-0.004, 0.01052]] as const) {
      const s = new AnomalyStrategy(P);
      run(s, EXAMPLE.slice(0, 4));
      const intent = s.onTrade(trade(59939.7, 4000), inst, mkCtx(4000, position));
      if (want === null) expect(intent).toBeNull();
      else expect(intent).toMatchObject({ side: 'BUY', qtyUnits: Math.round(want * 1e8) });
    }
  });

  it('keeps the absolute position within max_position through any price path', () => {
    const strat = new AnomalyStrategy({ ...P, cooldownMs: 0, level: 0.5 });
    let price = 60000;
    let seed = 7;
    const steps: { t: number; price: number }[] = [];
    for (let t = 0; t < 2000; t++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      price = Math.round(price * (1 + ((seed / 2 ** 31) - 0.5) * 0.012) * 100) / 100;
      steps.push({ t: t * 10, price });
    }
    let position = 0;
    let orders = 0;
    for (const s of steps) {
      const intent = strat.onTrade(trade(s.price, s.t), inst, mkCtx(s.t, position));
      if (!intent) continue;
      orders++;
      position = Math.round((position + (intent.side === 'BUY' ? 1 : -1) * qtyToNumber(inst, intent.qtyUnits)) * 1e8) / 1e8;
      expect(Math.abs(position)).toBeLessThanOrEqual(0.01);
    }
    expect(orders).toBeGreaterThan(50);
  });

  it('is deterministic: the same prices give the same orders', () => {
    const a = run(new AnomalyStrategy(P), EXAMPLE);
    const b = run(new AnomalyStrategy(P), EXAMPLE);
    expect(b).toEqual(a);
  });

  describe('parameter changes', () => {
    it('puts new parameters in force with a new id, and ignores a set that is the same', () => {
      const strat = new AnomalyStrategy(P);
      const id = strat.id;
      expect(strat.setParams({ ...P })).toBe(false);
      expect(strat.setParams({ ...P, level: 1 })).toBe(true);
      expect(strat.id).not.toBe(id);
      expect(strat.params.level).toBe(1);
      expect(() => strat.setParams({ ...P, cells: 4 })).toThrow(/invalid anomaly parameters: cells/);
      expect(strat.params.level).toBe(1);
    });

    it('keeps the EMA over a new period, restarts it for a new grid, and drops the previous price for a new source', () => {
      const strat = new AnomalyStrategy(P);
      run(strat, EXAMPLE.slice(0, 4)); // EMA 0.75 after cells 1, 0, 1
      strat.setParams({ ...P, emaPeriod: 1 });
      strat.onTrade(trade(59939.7, 4000), inst, mkCtx(4000));
      expect(strat.observation(inst)).toMatchObject({ prediction: 0.75, observations: 4 }); // kept, then alpha = 1

      strat.setParams({ ...P, emaPeriod: 1, cellWidth: 0.002 });
      strat.onTrade(trade(59939.7, 5000), inst, mkCtx(5000));
      expect(strat.observation(inst)).toMatchObject({ decision: 'warmup', observations: 1 });

      strat.setParams({ ...P, emaPeriod: 1, cellWidth: 0.002, source: 'bars' });
      strat.onTrade(trade(59939.7, 6000), inst, mkCtx(6000));
      strat.onTrade(trade(59939.7, 7000), inst, mkCtx(7000)); // completes the first bar: the seed price
      expect(strat.observation(inst)).toMatchObject({ decision: 'seed', observations: 0 });
    });
  });

  describe('state', () => {
    it('continues after a save and restore exactly as without one', () => {
      const whole = run(new AnomalyStrategy(P), EXAMPLE);
      const first = new AnomalyStrategy(P);
      const a = run(first, EXAMPLE.slice(0, 5));
      const saved = JSON.parse(JSON.stringify(first.saveState()));
      const second = new AnomalyStrategy(P);
      second.loadState(saved);
      const b = run(second, EXAMPLE.slice(5), a.position);
      expect([...a.intents, ...b.intents]).toEqual(whole.intents);
      expect(b.position).toBe(whole.position);
    });

    it('keeps the bar in progress', () => {
      const params = { ...P, source: 'bars' as const, cooldownMs: 0 };
      const trades = [trade(60000, 10), trade(60060, 1500), trade(60060, 2500), trade(59879.82, 3001), trade(59000, 3500), trade(59879.82, 3999), trade(59879.82, 4000)];
      const whole = new AnomalyStrategy(params);
      const expected = trades.map((tr) => whole.onTrade(tr, inst, mkCtx(tr.eventTime)));
      const first = new AnomalyStrategy(params);
      const got = trades.slice(0, 5).map((tr) => first.onTrade(tr, inst, mkCtx(tr.eventTime)));
      const second = new AnomalyStrategy(params);
      second.loadState(JSON.parse(JSON.stringify(first.saveState())));
      got.push(...trades.slice(5).map((tr) => second.onTrade(tr, inst, mkCtx(tr.eventTime))));
      expect(got).toEqual(expected);
      expect(expected[6]).toMatchObject({ side: 'BUY' });
    });

    it('restores only the cooldown when the grid changed, and ignores what it does not understand', () => {
      const first = new AnomalyStrategy(P);
      run(first, EXAMPLE.slice(0, 5)); // bought at 4000
      const saved = JSON.parse(JSON.stringify(first.saveState()));
      const other = new AnomalyStrategy({ ...P, cellWidth: 0.0005 });
      other.loadState(saved);
      other.onTrade(trade(60059.58, 5000), inst, mkCtx(5000));
      expect(other.observation(inst)).toMatchObject({ decision: 'seed', lastOrderAt: 4000 });

      const s = new AnomalyStrategy(P);
      for (const junk of [null, 42, 'x', [], { version: 99, symbols: {} }, { version: 1, symbols: { 'spot:BTCUSDT': 'x' } }, { version: 1, symbols: { 'spot:BTCUSDT': { ema: 'x', bar: 1 } } }]) {
        expect(() => s.loadState(junk)).not.toThrow();
      }
      expect(run(s, EXAMPLE).intents).toEqual(run(new AnomalyStrategy(P), EXAMPLE).intents);
    });

    it('reports status for each symbol', () => {
      const strat = new AnomalyStrategy(P);
      run(strat, EXAMPLE.slice(0, 5));
      const status = strat.status();
      expect(status).toMatchObject({ params: P, paramsError: null, paramsFile: null });
      expect((status['symbols'] as Record<string, unknown>)['spot:BTCUSDT']).toMatchObject({
        price: 59939.7, cell: -3, prediction: 0.75, d: -3.75, decision: 'buy', target: 0.00652, lastOrderAt: 4000,
      });
      expect(JSON.parse(JSON.stringify(status))).toEqual(status);
      expect(priceToNumber(inst, 5_993_970)).toBe(59939.7);
    });
  });
});
