import { beforeAll, describe, expect, it } from 'vitest';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC, USDM_ETH, type Line } from '../../../test/support/data.js';
import { DepthSync } from '../../book/sync.js';
import type { BinanceVenue } from '../../core/types.js';
import type { MarketEvent } from '../../model/events.js';
import { BinanceDecoder, decodeSnapshot } from './decode.js';
import { referenceInstrument } from './reference.js';

function decoderFor(venue: BinanceVenue, symbol: string, depthStream: string): BinanceDecoder {
  const inst = referenceInstrument(venue, symbol);
  const d = new BinanceDecoder(venue);
  const s = symbol.toLowerCase();
  d.register(`${s}@${depthStream}`, 'depth', inst);
  d.register(`${s}@trade`, 'trade', inst);
  d.register(`${s}@bookTicker`, 'bookTicker', inst);
  return d;
}

/** Plain copy of a (reused) decoded event, levels as arrays. */
function snapshotOf(ev: MarketEvent): unknown {
  if (ev.kind === 'depth') {
    return { ...ev, bids: Array.from(ev.bids.subarray(0, ev.bidCount * 2)), asks: Array.from(ev.asks.subarray(0, ev.askCount * 2)) };
  }
  return { ...ev };
}

/** Rebuilds the book through decoder + DepthSync exactly as the live feed does. */
function rebuild(lines: Line[], venue: BinanceVenue, symbol: string, depthStream: string) {
  const inst = referenceInstrument(venue, symbol);
  const dec = decoderFor(venue, symbol, depthStream);
  const sync = new DepthSync(venue, symbol);
  for (const { text, recvNs } of lines) {
    const t = Number(recvNs / 1000n) / 1000;
    if (text.startsWith('{"lastUpdateId"')) {
      const snap = decodeSnapshot(venue, inst, JSON.parse(text), t);
      if (typeof snap === 'string') throw new Error(snap);
      expect(sync.onSnapshot(snap, t)).toBe('synced');
      continue;
    }
    const r = dec.decode(text, t);
    if (r.ok && r.event.kind === 'depth') sync.onDiff(r.event);
  }
  return { sync, inst, dec };
}

function bookLevels(sync: DepthSync, inst: ReturnType<typeof referenceInstrument>) {
  const p = 10 ** inst.priceDecimals;
  const q = 10 ** inst.qtyDecimals;
  const side = (s: typeof sync.book.bids): [number, number][] => {
    const out: [number, number][] = [];
    for (let i = 0; i < s.size; i++) out.push([s.price(i) / p, s.qty(i) / q]);
    return out;
  };
  return { lastUpdateId: sync.book.lastUpdateId, bids: side(sync.book.bids), asks: side(sync.book.asks) };
}

describe('Binance decoder on the real recordings', () => {
  let spot: Line[];
  let usdm: Line[];
  let eth: Line[];
  beforeAll(async () => {
    spot = [...(await readLines(SPOT_FILES[0]!)), ...(await readLines(SPOT_FILES[1]!))];
    usdm = await readLines(USDM_BTC);
    eth = await readLines(USDM_ETH);
  });

  it.each([
    ['spot BTCUSDT', 'spot', 'BTCUSDT', 'depth@100ms'],
    ['USD-M BTCUSDT', 'usdm', 'BTCUSDT', 'depth@0ms'],
    ['USD-M ETHUSDT', 'usdm', 'ETHUSDT', 'depth@0ms'],
  ] as const)('decodes every stream message of %s on the fast path, identical to the slow path', (_n, venue, symbol, stream) => {
    const lines = venue === 'spot' ? spot : symbol === 'BTCUSDT' ? usdm : eth;
    const dec = decoderFor(venue, symbol, stream);
    const inst = referenceInstrument(venue, symbol);
    const counts: Record<string, number> = {};
    let failed = 0;
    for (const { text } of lines) {
      if (text.startsWith('{"lastUpdateId"')) continue;
      const r = dec.decode(text, 1);
      if (!r.ok) {
        failed++;
        continue;
      }
      counts[r.event.kind] = (counts[r.event.kind] ?? 0) + 1;
      // every 50th message: compare against the schema-validated slow path
      if ((counts[r.event.kind]! % 50) === 0) {
        const fast = snapshotOf(r.event);
        const msg = JSON.parse(text) as { data: unknown };
        const slow = dec.decodeObject({ kind: r.event.kind === 'depth' ? 'depth' : r.event.kind === 'trade' ? 'trade' : 'bookTicker', inst }, msg.data, 1);
        expect(typeof slow).not.toBe('string');
        expect(snapshotOf(slow as MarketEvent)).toEqual(fast);
      }
    }
    expect(failed).toBe(0);
    expect(dec.slowPath).toBe(0);
    expect(dec.malformed).toEqual({});
    expect(counts['depth']).toBeGreaterThan(5000);
    expect(counts['trade']).toBeGreaterThan(10000);
    expect(counts['bookTicker']).toBeGreaterThan(30000);
  });

  it.each([
    ['spot BTCUSDT', 'spot', 'BTCUSDT', 'depth@100ms'],
    ['USD-M BTCUSDT', 'usdm', 'BTCUSDT', 'depth@0ms'],
    ['USD-M ETHUSDT', 'usdm', 'ETHUSDT', 'depth@0ms'],
  ] as const)('rebuilds the %s book exactly as a reference built from the decimal strings', (_n, venue, symbol, stream) => {
    const lines = venue === 'spot' ? spot : symbol === 'BTCUSDT' ? usdm : eth;
    const { sync, inst } = rebuild(lines, venue, symbol, stream);
    expect(sync.state).toBe('synced');
    expect(sync.gaps).toBe(0);
    const ref = referenceBook(lines, symbol, venue);
    expect(bookLevels(sync, inst)).toEqual(ref);
    expect(sync.book.bestBid()).toBeLessThan(sync.book.bestAsk());
  });

  it('resyncs when a diff is missing', () => {
    let dropped = false;
    const lines = spot.filter((l, i) => {
      if (!dropped && i > 2000 && l.text.includes('@depth@100ms')) {
        dropped = true;
        return false;
      }
      return true;
    });
    const { sync } = rebuild(lines, 'spot', 'BTCUSDT', 'depth@100ms');
    expect(sync.gaps).toBe(1);
    expect(sync.state).toBe('resyncing');
  });

  it('counts malformed and unexpected messages and never throws', () => {
    const dec = decoderFor('spot', 'BTCUSDT', 'depth@100ms');
    const bad = [
      'not json',
      '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["x","1"]],"a":[]}}',
      '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1.001","1"]],"a":[]}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1"}}',
      '{"stream":"btcusdt@bookTicker","data":null}',
      '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1","1"]',
      '[]',
      '{}',
    ];
    for (const text of bad) expect(dec.decode(text, 0).ok).toBe(false);
    expect(Object.values(dec.malformed).reduce((a, b) => a + b, 0)).toBe(bad.length);
    expect(dec.decode('{"stream":"dogeusdt@trade","data":{}}', 0)).toMatchObject({ ok: false, reason: 'unknown_stream' });
    expect(dec.decode('{"result":null,"id":1}', 0)).toMatchObject({ ok: false, reason: 'control' });
    expect(dec.decode('{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}', 0)).toMatchObject({ ok: false, reason: 'shutdown' });
  });

  it('accepts valid JSON in another layout through the slow path', () => {
    const dec = decoderFor('spot', 'BTCUSDT', 'depth@100ms');
    const r = dec.decode('{ "data": {"e":"trade","E":5,"s":"BTCUSDT","t":9,"p":"61000.5","q":"0.001","m":false}, "stream": "btcusdt@trade" }', 0);
    expect(r).toMatchObject({ ok: true, event: { kind: 'trade', priceUnits: 6100050, qtyUnits: 100000, buyerIsMaker: false, tradeId: 9 } });
    expect(dec.slowPath).toBe(0); // did not even start as an envelope the fast path knows
  });
});
