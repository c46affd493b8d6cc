import { describe, expect, it } from 'vitest';
import type { DepthDiff, DepthSnapshot } from '../model/events.js';
import { DepthSync } from './sync.js';

type Lv = [number, number][];
function diff(venue: 'spot' | 'usdm', U: number, u: number, b: Lv = [], a: Lv = [], pu = -1): DepthDiff {
  return {
    kind: 'depth', venue, symbol: 'T', eventTime: u, recvTime: u, firstId: U, lastId: u, prevLastId: pu,
    bidCount: b.length, askCount: a.length, bids: Float64Array.from(b.flat()), asks: Float64Array.from(a.flat()),
  };
}
function snap(venue: 'spot' | 'usdm', id: number, b: Lv = [[100, 5]], a: Lv = [[101, 5]]): DepthSnapshot {
  return { kind: 'snapshot', venue, symbol: 'T', lastUpdateId: id, recvTime: 0, bids: Float64Array.from(b.flat()), asks: Float64Array.from(a.flat()) };
}
function levels(s: DepthSync): { bids: Lv; asks: Lv } {
  const out = { bids: [] as Lv, asks: [] as Lv };
  for (let i = 0; i < s.book.bids.size; i++) out.bids.push([s.book.bids.price(i), s.book.bids.qty(i)]);
  for (let i = 0; i < s.book.asks.size; i++) out.asks.push([s.book.asks.price(i), s.book.asks.qty(i)]);
  return out;
}

describe('spot depth sync', () => {
  it('buffers until the snapshot, drops events with u <= lastUpdateId, applies the straddling one', () => {
    const s = new DepthSync('spot', 'T');
    expect(s.onDiff(diff('spot', 1, 5, [[99, 1]]))).toBe('buffered');
    expect(s.onDiff(diff('spot', 6, 10, [[98, 1]]))).toBe('buffered');
    expect(s.onDiff(diff('spot', 11, 15, [[97, 1]]))).toBe('buffered');
    expect(s.onSnapshot(snap('spot', 8), 0)).toBe('synced');
    // the event 1..5 is older than the snapshot and must not reach the book; 6..10 straddles 9
    expect(levels(s).bids).toEqual([[100, 5], [98, 1], [97, 1]]);
    expect(s.book.lastUpdateId).toBe(15);
    expect(s.state).toBe('synced');
  });

  it.each([
    ['stale (u < id)', 3, 14, 'stale'],
    ['stale (u == id)', 15, 15, 'stale'],
    ['continuous (U == id + 1)', 16, 20, 'applied'],
    ['overlapping (U <= id, u > id)', 14, 20, 'applied'],
    ['gap (U > id + 1)', 17, 20, 'gap'],
  ] as const)('classifies a live event: %s', (_name, U, u, outcome) => {
    const s = new DepthSync('spot', 'T');
    s.onDiff(diff('spot', 11, 15));
    s.onSnapshot(snap('spot', 12), 0);
    expect(s.onDiff(diff('spot', U, u, [[50, 1]]))).toBe(outcome);
    if (outcome === 'gap') {
      expect(s.state).toBe('resyncing');
      expect(s.book.bids.size).toBe(0);
      expect(s.needsSnapshot).toBe(true);
    } else {
      expect(s.state).toBe('synced');
      expect(s.book.bids.qtyAt(50)).toBe(outcome === 'applied' ? 1 : 0);
    }
  });

  it('asks for a new snapshot when the snapshot is older than the first buffered event', () => {
    const s = new DepthSync('spot', 'T');
    s.onDiff(diff('spot', 20, 25));
    expect(s.onSnapshot(snap('spot', 10), 0)).toBe('too_old');
    expect(s.state).toBe('syncing');
    expect(s.onSnapshot(snap('spot', 22), 0)).toBe('synced');
    expect(s.book.lastUpdateId).toBe(25);
  });

  it('accepts a snapshot whose lastUpdateId + 1 is exactly the first buffered U', () => {
    const s = new DepthSync('spot', 'T');
    s.onDiff(diff('spot', 20, 25));
    expect(s.onSnapshot(snap('spot', 19), 0)).toBe('synced');
  });

  it('detects a gap inside the buffer and keeps the events after it', () => {
    const s = new DepthSync('spot', 'T');
    s.onDiff(diff('spot', 1, 5));
    s.onDiff(diff('spot', 6, 10));
    s.onDiff(diff('spot', 13, 15)); // 11..12 missing
    expect(s.onSnapshot(snap('spot', 7), 0)).toBe('gap');
    expect(s.state).toBe('resyncing');
    expect(s.buffered).toBe(1);
    expect(s.onSnapshot(snap('spot', 14), 0)).toBe('synced');
    expect(s.book.lastUpdateId).toBe(15);
  });

  it('resyncs after a gap and rebuilds from the next snapshot', () => {
    const s = new DepthSync('spot', 'T');
    s.onSnapshot(snap('spot', 10), 0);
    expect(s.onDiff(diff('spot', 11, 12, [[100, 7]]))).toBe('applied');
    expect(s.onDiff(diff('spot', 14, 15, [[100, 8]]))).toBe('gap');
    expect(s.onDiff(diff('spot', 16, 17, [[100, 9]]))).toBe('buffered');
    expect(s.onSnapshot(snap('spot', 15, [[100, 8]]), 0)).toBe('synced');
    expect(levels(s).bids).toEqual([[100, 9]]);
    expect(s.resyncs).toBe(1);
  });

  it('sets, overwrites and removes levels; a zero quantity for an absent level is ignored', () => {
    const s = new DepthSync('spot', 'T');
    s.onSnapshot(snap('spot', 1, [[100, 5], [99, 4]], [[101, 5], [102, 6]]), 0);
    s.onDiff(diff('spot', 2, 2, [[100, 0], [98, 3], [97, 0]], [[101, 2], [103, 0]]));
    expect(levels(s)).toEqual({ bids: [[99, 4], [98, 3]], asks: [[101, 2], [102, 6]] });
  });
});

describe('USD-M depth sync', () => {
  it('drops events with u < lastUpdateId and applies the first with U <= id <= u', () => {
    const s = new DepthSync('usdm', 'T');
    s.onDiff(diff('usdm', 1, 5, [[90, 1]], [], 0));
    s.onDiff(diff('usdm', 7, 10, [[91, 1]], [], 5));
    s.onDiff(diff('usdm', 12, 15, [[92, 1]], [], 10));
    expect(s.onSnapshot(snap('usdm', 10), 0)).toBe('synced');
    // u == lastUpdateId is kept (futures uses u < id for stale, unlike spot)
    expect(levels(s).bids).toEqual([[100, 5], [92, 1], [91, 1]]);
    expect(s.book.lastUpdateId).toBe(15);
  });

  it.each([
    ['continuous (pu == previous u)', 16, 20, 15, 'applied'],
    ['non-contiguous ids are normal when pu matches', 30, 40, 15, 'applied'],
    ['gap (pu != previous u)', 30, 40, 20, 'gap'],
    ['stale (u <= previous u)', 10, 14, 9, 'stale'],
  ] as const)('classifies a live event: %s', (_n, U, u, pu, outcome) => {
    const s = new DepthSync('usdm', 'T');
    s.onDiff(diff('usdm', 12, 15, [], [], 10));
    s.onSnapshot(snap('usdm', 13), 0);
    expect(s.onDiff(diff('usdm', U, u, [[50, 1]], [], pu))).toBe(outcome);
    expect(s.state).toBe(outcome === 'gap' ? 'resyncing' : 'synced');
  });

  it('treats a first event with U > lastUpdateId as a gap', () => {
    const s = new DepthSync('usdm', 'T');
    expect(s.onSnapshot(snap('usdm', 10), 0)).toBe('synced');
    expect(s.onDiff(diff('usdm', 11, 12, [], [], 10))).toBe('gap');
  });

  it('asks for a new snapshot when it predates the first buffered event', () => {
    const s = new DepthSync('usdm', 'T');
    s.onDiff(diff('usdm', 20, 25, [], [], 18));
    expect(s.onSnapshot(snap('usdm', 19), 0)).toBe('too_old');
    expect(s.onSnapshot(snap('usdm', 20), 0)).toBe('synced');
  });
});
