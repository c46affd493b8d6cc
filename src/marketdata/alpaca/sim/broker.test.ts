import { describe, expect, it } from 'vitest';
import { Broker, type TradeUpdate } from './broker.js';
import { toQ } from './fixed.js';

function setup(partialFills = 1): { b: Broker; px: Map<string, number>; trade: (s: string, p: number) => TradeUpdate[] } {
  const px = new Map([
    ['TSLA', 300],
    ['DOGE/USD', 0.2],
  ]);
  const b = new Broker({ price: (s) => (px.has(s) ? toQ(px.get(s)!) : undefined), assetClass: (s) => (s === 'TSLA' ? 'us_equity' : s === 'DOGE/USD' ? 'crypto' : undefined) }, { partialFills, now: () => 0 });
  return {
    b,
    px,
    trade: (s, p) => {
      px.set(s, p);
      return b.onTrade(s, p);
    },
  };
}
const kinds = (e: TradeUpdate[]): string[] => e.map((x) => x.event);
const order = (o: Record<string, unknown>): Record<string, unknown> => ({ symbol: 'TSLA', qty: '3', side: 'buy', time_in_force: 'gtc', ...o });

describe('Broker', () => {
  it('stop orders trigger on a trade at the stop and fill as market', () => {
    const { b, trade } = setup();
    const r = b.submit(order({ type: 'stop', stop_price: '310' }));
    expect(r.ok && kinds(r.events)).toEqual(['new']);
    expect(kinds(trade('TSLA', 309.99))).toEqual([]);
    const e = trade('TSLA', 310.5);
    expect(kinds(e)).toEqual(['fill']);
    expect(e[0]).toMatchObject({ price: '310.5', qty: '3', position_qty: '3' });
  });

  it('stop_limit triggers, then waits for its limit', () => {
    const { b, trade } = setup();
    b.submit(order({ type: 'stop_limit', stop_price: '310', limit_price: '305', side: 'buy' }));
    expect(kinds(trade('TSLA', 311))).toEqual([]); // triggered, above the limit
    const e = trade('TSLA', 304);
    expect(e[0]).toMatchObject({ event: 'fill', price: '305' });
  });

  it('ioc fills one part and cancels the rest; fok fills whole or cancels', () => {
    const { b } = setup(3);
    const ioc = b.submit(order({ type: 'limit', limit_price: '301', time_in_force: 'ioc' }));
    expect(ioc.ok && ioc.events.map((e) => [e.event, e.qty])).toEqual([['new', undefined], ['partial_fill', '1'], ['canceled', undefined]]);
    const fok = b.submit(order({ type: 'limit', limit_price: '301', time_in_force: 'fok' }));
    expect(fok.ok && fok.events.map((e) => [e.event, e.qty])).toEqual([['new', undefined], ['fill', '3']]);
    const miss = b.submit(order({ type: 'limit', limit_price: '299', time_in_force: 'fok' }));
    expect(miss.ok && kinds(miss.events)).toEqual(['new', 'canceled']);
  });

  it('splits uneven quantities, the last part taking the remainder', () => {
    const { b, trade } = setup(3);
    const r = b.submit(order({ qty: '10', type: 'market', time_in_force: 'day' }));
    const all = [...(r.ok ? r.events : []), ...trade('TSLA', 300), ...trade('TSLA', 300)];
    expect(all.map((e) => [e.event, e.qty, e.position_qty])).toEqual([
      ['new', undefined, undefined],
      ['partial_fill', '3', '3'],
      ['partial_fill', '3', '6'],
      ['fill', '4', '10'],
    ]);
  });

  it('notional market orders buy notional / price, truncated to 9 decimals; exact cash', () => {
    const { b } = setup();
    const r = b.submit({ symbol: 'DOGE/USD', notional: '10', side: 'buy', type: 'market', time_in_force: 'gtc' });
    expect(r.ok && r.events[1]).toMatchObject({ event: 'fill', qty: '50', price: '0.2' });
    expect(b.accountJson()).toMatchObject({ cash: '99990', equity: '100000' });
    const r2 = b.submit({ symbol: 'TSLA', notional: '1000', side: 'buy', type: 'market', time_in_force: 'day' });
    expect(r2.ok && r2.events[1]!.qty).toBe('3.333333333');
    expect(b.accountJson().cash).toBe('98990.0000001') // 99990 − 3.333333333 × 300;
  });

  it('sells reduce the position and cost basis; a full sell removes it', () => {
    const { b, trade } = setup();
    b.submit(order({ qty: '4', type: 'market', time_in_force: 'day' }));
    trade('TSLA', 320);
    expect(b.positionJson('TSLA')).toMatchObject({ qty: '4', avg_entry_price: '300', market_value: '1280', unrealized_pl: '80' });
    const s = b.submit(order({ qty: '1', side: 'sell', type: 'market', time_in_force: 'day' }));
    expect(s.ok && s.events[1]).toMatchObject({ price: '320', position_qty: '3' });
    expect(b.positionJson('TSLA')).toMatchObject({ qty: '3', cost_basis: '900', avg_entry_price: '300' });
    b.submit(order({ qty: '3', side: 'sell', type: 'market', time_in_force: 'day' }));
    expect(b.positionList()).toEqual([]);
    expect(b.accountJson()).toMatchObject({ cash: '100080', equity: '100080' });
  });

  it('emits pending_new before new when asked', () => {
    const b = new Broker({ price: () => toQ(300), assetClass: () => 'us_equity' }, { pendingNew: true, now: () => 0 });
    const r = b.submit(order({ type: 'limit', limit_price: '1' }));
    expect(r.ok && r.events.map((e) => [e.event, e.order.status])).toEqual([['pending_new', 'pending_new'], ['new', 'new']]);
  });

  it('refuses fractional stock limit orders and notional limit orders', () => {
    const { b } = setup();
    const r = b.submit(order({ qty: '1.5', type: 'limit', limit_price: '300' }));
    expect(!r.ok && r.error).toMatchObject({ status: 422 });
    const n = b.submit({ symbol: 'TSLA', notional: '100', side: 'buy', type: 'limit', limit_price: '1', time_in_force: 'day' });
    expect(!n.ok && n.error.body.message).toBe('notional orders must be market orders');
  });
});
