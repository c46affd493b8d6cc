import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Side, Venue } from '../core/types.js';
import type { Fill } from '../model/order.js';
import { CLOSED_KEPT, Portfolio, type RoundTrip } from './portfolio.js';

let seq = 0;
function fill(side: Side, qty: number, price: number, fee = 0, extra: Partial<Fill> = {}): Fill {
  seq += 1;
  return {
    id: `f${seq}`, orderId: `o${seq}`, venue: 'spot', symbol: 'BTCUSDT', side, price, qty, fee,
    liquidity: 'taker', strategy: 's@1', time: seq * 1000, receivedAt: seq * 1000, realizedPnl: 0, ...extra,
  };
}

function run(fills: Fill[], initialCash = 10_000): Portfolio {
  const p = new Portfolio(initialCash);
  for (const f of fills) p.applyFill(f);
  return p;
}

function close(a: number, b: number, rel = 1e-9): boolean {
  return Math.abs(a - b) <= rel * Math.max(1, Math.abs(a), Math.abs(b));
}

describe('Portfolio memory', () => {
  it('keeps only the recent closed round trips in memory, however many close (the store keeps them all)', () => {
    const p = new Portfolio(1e9);
    const n = 5 * CLOSED_KEPT + 7;
    for (let i = 0; i < n; i++) {
      p.applyFill(fill('BUY', 1, 100));
      p.applyFill(fill('SELL', 1, 101));
    }
    const kept = p.closedTrips();
    expect(kept.length).toBeGreaterThanOrEqual(CLOSED_KEPT);
    expect(kept.length).toBeLessThanOrEqual(2 * CLOSED_KEPT);
    // the latest ones, in order; the accounting still counts every trip
    expect(kept.at(-1)!.id).toBe(`spot:BTCUSDT:${n}`);
    expect(kept.map((t) => Number(t.id.split(':')[2]))).toEqual(kept.map((_, i) => n - kept.length + 1 + i));
    expect(p.snapshot(0).realizedPnl).toBeCloseTo(n, 6);
  });
});

describe('Portfolio accounting, hand-computed', () => {
  // Long: BUY 1@100 (fee .10), BUY 1@110 (fee .11), SELL .5@120 (fee .06), SELL 1.5@100 (fee .15)
  const long = [
    () => fill('BUY', 1, 100, 0.1),
    () => fill('BUY', 1, 110, 0.11),
    () => fill('SELL', 0.5, 120, 0.06),
    () => fill('SELL', 1.5, 100, 0.15),
  ];
  // Short: SELL 2@50 (fee .1), SELL 2@60, BUY 1@40, BUY 3@55
  const short = [
    () => fill('SELL', 2, 50, 0.1),
    () => fill('SELL', 2, 60),
    () => fill('BUY', 1, 40),
    () => fill('BUY', 3, 55),
  ];
  it.each([
    // cash = 10000 - 100 - .1
    { name: 'opens a long', steps: long.slice(0, 1), cash: 9899.9, qty: 1, avgEntry: 100, realized: 0, fees: 0.1 },
    // cash -= 110 + .11; avg = (100 + 110) / 2
    { name: 'adds to a long at the weighted average', steps: long.slice(0, 2), cash: 9789.79, qty: 2, avgEntry: 105, realized: 0, fees: 0.21 },
    // realized = (120 - 105) * .5 = 7.5; cash += 60 - .06; avg unchanged
    { name: 'partially closes a long keeping the average', steps: long.slice(0, 3), cash: 9849.73, qty: 1.5, avgEntry: 105, realized: 7.5, fees: 0.27 },
    // realized += (100 - 105) * 1.5 = -7.5; cash += 150 - .15 = 9999.58 = 10000 + 0 - .42
    { name: 'closes a long', steps: long, cash: 9999.58, qty: 0, avgEntry: 0, realized: 0, fees: 0.42 },
    // cash = 10000 + 100 - .1
    { name: 'opens a short', steps: short.slice(0, 1), cash: 10099.9, qty: -2, avgEntry: 50, realized: 0, fees: 0.1 },
    // cash += 120; avg = (2*50 + 2*60) / 4
    { name: 'adds to a short', steps: short.slice(0, 2), cash: 10219.9, qty: -4, avgEntry: 55, realized: 0, fees: 0.1 },
    // realized = (40 - 55) * 1 * -1 = 15; cash -= 40
    { name: 'covers part of a short at a profit', steps: short.slice(0, 3), cash: 10179.9, qty: -3, avgEntry: 55, realized: 15, fees: 0.1 },
    // realized += (55 - 55) * 3 * -1 = 0; cash -= 165 = 10014.9 = 10000 + 15 - .1
    { name: 'closes a short', steps: short, cash: 10014.9, qty: 0, avgEntry: 0, realized: 15, fees: 0.1 },
  ])('$name', ({ steps, cash, qty, avgEntry, realized, fees }) => {
    const p = run(steps.map((s) => s()));
    const pos = p.position('spot', 'BTCUSDT')!;
    expect(p.cash).toBeCloseTo(cash, 9);
    expect(pos.qty).toBeCloseTo(qty, 12);
    expect(pos.avgEntry).toBeCloseTo(avgEntry, 9);
    expect(pos.realizedPnl).toBeCloseTo(realized, 9);
    expect(pos.fees).toBeCloseTo(fees, 12);
    const snap = p.snapshot(0);
    expect(snap.realizedPnl).toBeCloseTo(realized, 9);
    // never marked: valued at the average entry, so no unrealized P&L
    expect(snap.unrealizedPnl).toBe(0);
    expect(snap.equity).toBeCloseTo(10_000 + realized - fees, 9);
  });

  it('values a long at its mark: unrealized, equity and exposure', () => {
    const p = run(long.slice(0, 3).map((s) => s()));
    p.mark('spot', 'BTCUSDT', 130);
    const snap = p.snapshot(42);
    // unrealized = (130 - 105) * 1.5 = 37.5; equity = 9849.73 + 1.5 * 130 = 10044.73 = 10000 + 7.5 + 37.5 - .27
    expect(snap).toMatchObject({ time: 42, initialCash: 10_000 });
    expect(snap.unrealizedPnl).toBeCloseTo(37.5, 9);
    expect(snap.equity).toBeCloseTo(10044.73, 9);
    expect(snap.grossExposure).toBeCloseTo(195, 9);
    expect(p.position('spot', 'BTCUSDT')!.mark).toBe(130);
  });

  it('values a short at its mark', () => {
    const p = run(short.slice(0, 3).map((s) => s()));
    p.mark('spot', 'BTCUSDT', 70);
    const snap = p.snapshot(0);
    // unrealized = (70 - 55) * -3 = -45; equity = 10179.9 - 210 = 9969.9 = 10000 + 15 - 45 - .1
    expect(snap.unrealizedPnl).toBeCloseTo(-45, 9);
    expect(snap.equity).toBeCloseTo(9969.9, 9);
    expect(snap.grossExposure).toBeCloseTo(210, 9);
  });

  it('records a long round trip with average entry and exit', () => {
    const p = run(long.map((s) => s()));
    expect(p.openTrip('spot', 'BTCUSDT')).toBeUndefined();
    const [trip] = p.closedTrips();
    expect(trip).toMatchObject({
      id: 'spot:BTCUSDT:1', direction: 'LONG', status: 'CLOSED', qty: 2, entryPrice: 105, strategy: 's@1', fills: 4,
    });
    // exit = (.5 * 120 + 1.5 * 100) / 2 = 105; realized 7.5 - 7.5 = 0; fees .1 + .11 + .06 + .15
    expect(trip!.exitPrice).toBeCloseTo(105, 9);
    expect(trip!.realizedPnl).toBeCloseTo(0, 9);
    expect(trip!.fees).toBeCloseTo(0.42, 12);
    expect(trip!.netPnl).toBeCloseTo(-0.42, 12);
    expect(trip!.closedAt).toBe(trip!.openedAt + 3000);
  });

  it('records a short round trip', () => {
    const p = run(short.map((s) => s()));
    const [trip] = p.closedTrips();
    // exit = (1 * 40 + 3 * 55) / 4 = 51.25
    expect(trip).toMatchObject({ direction: 'SHORT', status: 'CLOSED', qty: 4, entryPrice: 55, exitPrice: 51.25, realizedPnl: 15, fills: 4 });
    expect(trip!.netPnl).toBeCloseTo(14.9, 12);
  });

  it('flips through zero: closes one trip, opens the next at the fill price, splits the fee', () => {
    const p = new Portfolio(10_000);
    p.applyFill(fill('BUY', 1, 100, 1));
    const flip = fill('SELL', 3, 110, 3, { strategy: 'other@2' });
    const r = p.applyFill(flip);
    // closing 1: realized (110 - 100) * 1 = 10; fee 3 split 1/3 closing, 2/3 opening
    expect(r.realizedPnl).toBe(10);
    expect(flip.realizedPnl).toBe(10);
    expect(r.trips).toHaveLength(2);
    expect(r.trips[0]).toMatchObject({ id: 'spot:BTCUSDT:1', status: 'CLOSED', direction: 'LONG', realizedPnl: 10, fees: 2, netPnl: 8, exitPrice: 110, fills: 2, strategy: 's@1' });
    expect(r.trips[1]).toMatchObject({ id: 'spot:BTCUSDT:2', status: 'OPEN', direction: 'SHORT', qty: 2, entryPrice: 110, realizedPnl: 0, fees: 2, fills: 1, strategy: 'other@2', openedAt: flip.time, closedAt: null, exitPrice: null });
    expect(p.position('spot', 'BTCUSDT')).toMatchObject({ qty: -2, avgEntry: 110, openedAt: flip.time, realizedPnl: 10, fees: 4 });
    // cash = 10000 - 100 - 1 + 330 - 3
    expect(p.cash).toBe(10226);

    // cover the short at 105: realized (105 - 110) * 2 * -1 = 10
    p.applyFill(fill('BUY', 2, 105));
    expect(p.cash).toBe(10016);
    expect(p.closedTrips().map((t) => [t.id, t.realizedPnl, t.fees])).toEqual([['spot:BTCUSDT:1', 10, 2], ['spot:BTCUSDT:2', 10, 2]]);
    expect(p.snapshot(0)).toMatchObject({ equity: 10016, realizedPnl: 20, fees: 4, unrealizedPnl: 0, grossExposure: 0 });
  });

  it.each([
    { name: 'a taker fee', fee: 0.5, cash: 10_000 - 100 - 0.5 + 110 - 0.5 },
    { name: 'a maker rebate (negative fee)', fee: -0.25, cash: 10_000 - 100 + 0.25 + 110 + 0.25 },
    { name: 'no fee', fee: 0, cash: 10_010 },
  ])('charges $name in quote currency on both legs', ({ fee, cash }) => {
    const p = run([fill('BUY', 1, 100, fee), fill('SELL', 1, 110, fee)]);
    expect(p.cash).toBeCloseTo(cash, 12);
    const [trip] = p.closedTrips();
    expect(trip!.realizedPnl).toBe(10);
    expect(trip!.fees).toBeCloseTo(2 * fee, 12);
    expect(trip!.netPnl).toBeCloseTo(10 - 2 * fee, 12);
    expect(p.snapshot(0).equity).toBeCloseTo(cash, 12);
  });

  it('closes a position left with decimal dust (0.1 + 0.2 - 0.3)', () => {
    const p = run([fill('BUY', 0.1, 100), fill('BUY', 0.2, 100), fill('SELL', 0.3, 100)]);
    expect(p.position('spot', 'BTCUSDT')!.qty).toBe(0);
    expect(p.openTrip('spot', 'BTCUSDT')).toBeUndefined();
    expect(p.closedTrips()).toHaveLength(1);
  });

  it('numbers trips per instrument and keeps venues apart', () => {
    const p = new Portfolio(1_000);
    p.applyFill(fill('BUY', 1, 10));
    p.applyFill(fill('SELL', 1, 11));
    p.applyFill(fill('SELL', 1, 12, 0, { venue: 'usdm' }));
    p.applyFill(fill('BUY', 1, 10));
    expect(p.closedTrips().map((t) => t.id)).toEqual(['spot:BTCUSDT:1']);
    expect(p.openTrip('spot', 'BTCUSDT')!.id).toBe('spot:BTCUSDT:2');
    expect(p.openTrip('usdm', 'BTCUSDT')).toMatchObject({ id: 'usdm:BTCUSDT:1', direction: 'SHORT' });
    expect(p.openTrips().map((t) => t.id)).toEqual(['spot:BTCUSDT:2', 'usdm:BTCUSDT:1']);
  });

  it('lists open positions before flat ones', () => {
    const p = new Portfolio(1_000);
    p.applyFill(fill('BUY', 1, 10, 0, { symbol: 'AAA' }));
    p.applyFill(fill('SELL', 1, 10, 0, { symbol: 'AAA' }));
    p.applyFill(fill('BUY', 1, 10, 0, { symbol: 'BBB' }));
    expect(p.positions().map((x) => [x.symbol, x.qty])).toEqual([['BBB', 1], ['AAA', 0]]);
    expect(p.position('spot', 'AAA')).toMatchObject({ openedAt: null, avgEntry: 0 });
    expect(p.position('spot', 'CCC')).toBeUndefined();
  });

  it('keeps a mark received before the first fill', () => {
    const p = new Portfolio(1_000);
    p.mark('spot', 'BTCUSDT', 12);
    expect(p.positions()).toEqual([]);
    p.applyFill(fill('BUY', 2, 10));
    expect(p.position('spot', 'BTCUSDT')!.mark).toBe(12);
    expect(p.snapshot(0).unrealizedPnl).toBe(4);
  });

  it('returns copies, not its internal state', () => {
    const p = run([fill('BUY', 1, 100)]);
    p.position('spot', 'BTCUSDT')!.qty = 99;
    p.openTrip('spot', 'BTCUSDT')!.qty = 99;
    expect(p.position('spot', 'BTCUSDT')!.qty).toBe(1);
    expect(p.openTrip('spot', 'BTCUSDT')!.qty).toBe(1);
  });

  it.each([
    ['a zero qty', { qty: 0 }],
    ['a negative qty', { qty: -1 }],
    ['a NaN price', { price: Number.NaN }],
    ['a zero price', { price: 0 }],
    ['an infinite fee', { fee: Number.POSITIVE_INFINITY }],
  ])('rejects a fill with %s', (_name, patch) => {
    const p = new Portfolio(1_000);
    expect(() => p.applyFill({ ...fill('BUY', 1, 10), ...patch })).toThrow();
    expect(p.cash).toBe(1_000);
    expect(p.positions()).toEqual([]);
  });

  it('rejects a non-positive mark and a non-finite initial cash', () => {
    expect(() => new Portfolio(Number.NaN)).toThrow();
    expect(() => new Portfolio(1).mark('spot', 'X', 0)).toThrow();
  });
});

type Action =
  | { kind: 'fill'; inst: number; side: Side; qty: number; price: number; fee: number }
  | { kind: 'closeAll'; inst: number; price: number; fee: number }
  | { kind: 'flip'; inst: number; extra: number; price: number; fee: number }
  | { kind: 'mark'; inst: number; price: number };

const INSTRUMENTS: Array<[Venue, string]> = [['spot', 'BTCUSDT'], ['usdm', 'BTCUSDT'], ['spot', 'ETHUSDT']];
const price = fc.integer({ min: 1, max: 10_000_000 }).map((n) => n / 100);
const qty = fc.integer({ min: 1, max: 100_000 }).map((n) => n / 1000);
const fee = fc.integer({ min: -1_000, max: 10_000 }).map((n) => n / 10_000);
const inst = fc.integer({ min: 0, max: INSTRUMENTS.length - 1 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('fill' as const), inst, side: fc.constantFrom<Side>('BUY', 'SELL'), qty, price, fee }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('closeAll' as const), inst, price, fee }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), inst, extra: qty, price, fee }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mark' as const), inst, price }) },
);

function checkInvariants(p: Portfolio, fillRealized: number): void {
  const snap = p.snapshot(0);
  let value = 0;
  let unrealized = 0;
  for (const pos of p.positions()) {
    const mark = Number.isFinite(pos.mark) ? pos.mark : pos.avgEntry;
    value += pos.qty * mark;
    unrealized += (mark - pos.avgEntry) * pos.qty;
    const trip = p.openTrip(pos.venue, pos.symbol);
    if (pos.qty === 0) expect(trip).toBeUndefined();
    else expect(trip?.direction).toBe(pos.qty > 0 ? 'LONG' : 'SHORT');
  }
  const lhs = p.cash + value;
  const rhs = p.initialCash + snap.realizedPnl + unrealized - snap.fees;
  expect(close(lhs, rhs, 1e-6)).toBe(true);
  expect(close(snap.equity, lhs, 1e-9)).toBe(true);
  expect(close(snap.unrealizedPnl, unrealized, 1e-9)).toBe(true);

  const trips: RoundTrip[] = [...p.closedTrips(), ...p.openTrips()];
  const tripRealized = trips.reduce((a, t) => a + t.realizedPnl, 0);
  const tripFees = trips.reduce((a, t) => a + t.fees, 0);
  expect(close(tripRealized, snap.realizedPnl, 1e-6)).toBe(true);
  expect(close(tripFees, snap.fees, 1e-6)).toBe(true);
  expect(close(fillRealized, snap.realizedPnl, 1e-9)).toBe(true);
  for (const t of trips) expect(close(t.netPnl, t.realizedPnl - t.fees, 1e-9)).toBe(true);
}

describe('Portfolio invariants (property)', () => {
  it('cash + Σ qty·mark = initial + realized + unrealized − fees, and trips add up, over random fills with flips', () => {
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 60 }), (actions) => {
        const p = new Portfolio(100_000);
        let fillRealized = 0;
        let t = 0;
        for (const a of actions) {
          const [venue, symbol] = INSTRUMENTS[a.inst]!;
          t += 1;
          if (a.kind === 'mark') {
            p.mark(venue, symbol, a.price);
          } else {
            const cur = p.position(venue, symbol)?.qty ?? 0;
            let side: Side;
            let q: number;
            if (a.kind === 'fill') {
              side = a.side;
              q = a.qty;
            } else {
              if (cur === 0) continue;
              side = cur > 0 ? 'SELL' : 'BUY';
              q = Math.abs(cur) + (a.kind === 'flip' ? a.extra : 0);
            }
            const f: Fill = {
              id: `f${t}`, orderId: `o${t}`, venue, symbol, side, qty: q, price: a.price, fee: a.fee,
              liquidity: 'maker', strategy: 's@1', time: t, receivedAt: t, realizedPnl: Number.NaN,
            };
            const r = p.applyFill(f);
            expect(f.realizedPnl).toBe(r.realizedPnl);
            expect(r.trips.length).toBeGreaterThanOrEqual(1);
            expect(r.trips.length).toBeLessThanOrEqual(2);
            if (a.kind === 'closeAll') expect(p.position(venue, symbol)!.qty).toBe(0);
            if (a.kind === 'flip') {
              expect(r.trips.map((x) => x.status)).toEqual(['CLOSED', 'OPEN']);
              expect(Math.sign(p.position(venue, symbol)!.qty)).toBe(-Math.sign(cur));
            }
            fillRealized += r.realizedPnl;
          }
          checkInvariants(p, fillRealized);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('portfolio state', () => {
  it('round-trips through JSON: the restored portfolio answers and trades exactly like the original', () => {
    const a = new Portfolio(10_000);
    a.applyFill(fill('BUY', 0.5, 60_000, 3));
    a.applyFill(fill('SELL', 0.2, 60_100, 1.2));
    a.mark('spot', 'BTCUSDT', 60_050);
    a.applyFill(fill('SELL', 1, 59_900, 6, { symbol: 'ETHUSDT' }));
    const b = Portfolio.fromState(JSON.parse(JSON.stringify(a.toState())));
    expect(b.toState()).toEqual(a.toState());
    expect(b.snapshot(5)).toEqual(a.snapshot(5));
    // the same next fills give the same results, trip ids included
    const next = [fill('SELL', 0.6, 60_200, 3.6), fill('BUY', 1, 59_000, 5.9, { symbol: 'ETHUSDT' })];
    for (const f of next) expect(b.applyFill({ ...f })).toEqual(a.applyFill({ ...f }));
    expect(b.positions()).toEqual(a.positions());
    expect(b.closedTrips()).toEqual(a.closedTrips());
  });
});
