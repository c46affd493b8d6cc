import fc from 'fast-check';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLines, referenceBook, SPOT_FILES, USDM_BTC, USDM_ETH, type Line } from '../../../test/support/data.js';
import type { BookSide } from '../../book/side.js';
import type { DepthSync } from '../../book/sync.js';
import type { BinanceVenue } from '../../core/types.js';
import type { Instrument } from '../../model/instrument.js';
import { LAZY_PREFIX } from './decode.js';
import { VenueProcessor, type FeedSink, type MessageOutcome } from './processor.js';
import { REFERENCE_EXCHANGE_INFO, referenceInstrument } from './reference.js';

/**
 * Lazy depth decoding (`BinanceDecoder.lazyDepth`, on in every `VenueProcessor`): a large message's best
 * levels are applied first and the rest when a read needs them or the processor finishes the message. Every
 * read must answer what it answers when the message is applied whole, and the book must end the same.
 */
const logger = pino({ level: 'silent' });

/** A sink that reads the book at each applied diff, as a strategy would, and keeps what it read. */
class ReadingSink implements FeedSink {
  readonly reads: string[] = [];
  /** applied diffs whose book still had levels pending after the reads (the laziness took effect) */
  pendingAfterReads = 0;
  onBookCount = 0;
  constructor(private readonly read: (sync: DepthSync, n: number) => string) {}
  onInstruments(): void {}
  onBookState(_sync: DepthSync): void {}
  onEvent(): void {}
  onBook(sync: DepthSync): void {
    this.reads.push(this.read(sync, this.onBookCount++));
    if (sync.book.unsettled) this.pendingAfterReads++;
  }
}

/** What the OBI strategy, its ML features and the paper exchange read of a book, as text. */
function topReads(sync: DepthSync, n: number, inst: Instrument): string {
  const b = sync.book;
  const out: (number | boolean)[] = [b.lastUpdateId, b.bids.empty, b.asks.empty];
  for (const s of [b.bids, b.asks]) {
    for (let i = 0; i < 12; i++) out.push(s.price(i), s.qty(i), s.has(i));
    // a resting order's level, a few ticks behind the best
    out.push(s.qtyAt(s.price(0) - s.dir * 3 * inst.tickUnits));
  }
  // now and then the whole book (settles whatever is pending)
  if (n % 97 === 0) for (const s of [b.bids, b.asks]) out.push(s.size, s.volume(1e9));
  return out.join(',');
}

function processorFor(venue: BinanceVenue, symbols: string[], sink: FeedSink, lazyDepth: boolean): VenueProcessor {
  const p = new VenueProcessor({ venue, sink, logger, symbols, lazyDepth });
  expect(p.onExchangeInfo({ symbols: symbols.map((s) => REFERENCE_EXCHANGE_INFO[venue][s]) }, 0)).toBeNull();
  return p;
}

function feed(p: VenueProcessor, lines: Line[], symbol: string): MessageOutcome[] {
  const outcomes: MessageOutcome[] = [];
  for (const { text, recvNs } of lines) {
    const t = Number(recvNs / 1000n) / 1000;
    if (text.startsWith('{"lastUpdateId"')) p.onSnapshot(symbol, JSON.parse(text), t);
    else outcomes.push(p.onMessage(text, t));
  }
  return outcomes;
}

function levels(s: BookSide, inst: Instrument): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < s.size; i++) out.push([s.price(i) / 10 ** inst.priceDecimals, s.qty(i) / 10 ** inst.qtyDecimals]);
  return out;
}

describe('lazy depth decoding on the real recordings', () => {
  const files: [string, BinanceVenue, string, () => Promise<Line[]>][] = [
    ['spot BTCUSDT (2 days)', 'spot', 'BTCUSDT', async () => [...(await readLines(SPOT_FILES[0]!)), ...(await readLines(SPOT_FILES[1]!))]],
    ['USD-M BTCUSDT', 'usdm', 'BTCUSDT', () => readLines(USDM_BTC)],
    ['USD-M ETHUSDT', 'usdm', 'ETHUSDT', () => readLines(USDM_ETH)],
  ];
  const data = new Map<string, Line[]>();
  beforeAll(async () => {
    for (const [name, , , load] of files) data.set(name, await load());
  }, 60_000);

  it.each(files)('%s: every read at every diff equals the whole-message decoder, and the book ends exact', (name, venue, symbol) => {
    const lines = data.get(name)!;
    const inst = referenceInstrument(venue, symbol);
    const read = (sync: DepthSync, n: number): string => topReads(sync, n, inst);
    const lazySink = new ReadingSink(read);
    const wholeSink = new ReadingSink(read);
    const lazy = processorFor(venue, [symbol], lazySink, true);
    const whole = processorFor(venue, [symbol], wholeSink, false);
    const lazyOutcomes = feed(lazy, lines, symbol);
    const wholeOutcomes = feed(whole, lines, symbol);

    expect(lazyOutcomes).toEqual(wholeOutcomes);
    expect(lazySink.onBookCount).toBe(wholeSink.onBookCount);
    expect(lazySink.onBookCount).toBeGreaterThan(5000);
    for (let i = 0; i < wholeSink.reads.length; i++) if (lazySink.reads[i] !== wholeSink.reads[i]) expect({ i, read: lazySink.reads[i] }).toEqual({ i, read: wholeSink.reads[i] });
    // the laziness took effect: large messages were decoded best levels first, and the reads above (12
    // levels a side, a level behind the best) left most of them pending (86-94% on these recordings)
    const dec = lazy.decoder;
    expect(dec.lazyMessages).toBeGreaterThan(100);
    expect(dec.depthOutOfOrder).toBe(0);
    expect(dec.lazyDepth).toBe(true);
    expect(lazySink.pendingAfterReads).toBeGreaterThan(dec.lazyMessages * 0.75);
    expect(whole.decoder.lazyMessages).toBe(0);
    expect(dec.malformed).toEqual({});
    // and the book is the reference's, built from the decimal strings
    const sync = lazy.syncs.get(symbol)!;
    expect(sync.book.unsettled).toBe(false);
    expect({ lastUpdateId: sync.book.lastUpdateId, bids: levels(sync.book.bids, inst), asks: levels(sync.book.asks, inst) }).toEqual(referenceBook(lines, symbol, venue));
  });
});

// ---------------------------------------------------------------- synthetic messages

const INST = { spot: referenceInstrument('spot', 'BTCUSDT'), usdm: referenceInstrument('usdm', 'BTCUSDT') };
const MID = 6_000_000; // price units: 60,000.00 (spot) / 600,000.0 (USD-M): only the grid matters

/** deep-swap: best first but for two levels swapped past the LAZY_PREFIX a lazy decoder reads first (out of order where it defers) */
type Order = 'best-first' | 'worst-first' | 'shuffled' | 'deep-swap' | 'deep-swap-reversed';
interface SideUpdate {
  /** ticks from the mid (bids below, asks above) */
  at: number;
  qty: number;
}
interface Msg {
  bids: SideUpdate[];
  asks: SideUpdate[];
  bidOrder: Order;
  askOrder: Order;
  /** a deep level written in another valid layout (a space), or made malformed; index into the written bids */
  oddity: { kind: 'space' | 'malformed'; at: number } | null;
  /** reads the sink makes: a rank, or a price at ticks from the mid */
  reads: { side: 'b' | 'a'; rank: number; ticks: number }[];
}

const upd = fc.record({ at: fc.integer({ min: 1, max: 900 }), qty: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50_000 })) });
const msgArb: fc.Arbitrary<Msg> = fc.record({
  bids: fc.array(upd, { minLength: 1, maxLength: 400, size: 'max' }),
  asks: fc.array(upd, { minLength: 1, maxLength: 400, size: 'max' }),
  bidOrder: fc.constantFrom<Order>('best-first', 'worst-first', 'best-first', 'worst-first', 'shuffled', 'deep-swap', 'deep-swap-reversed'),
  askOrder: fc.constantFrom<Order>('best-first', 'worst-first', 'best-first', 'worst-first', 'shuffled', 'deep-swap', 'deep-swap-reversed'),
  oddity: fc.option(fc.record({ kind: fc.constantFrom('space' as const, 'malformed' as const), at: fc.nat() }), { freq: 4 }),
  reads: fc.array(fc.record({ side: fc.constantFrom('b' as const, 'a' as const), rank: fc.integer({ min: 0, max: 60 }), ticks: fc.integer({ min: 0, max: 900 }) }), { maxLength: 30 }),
});

function priceText(units: number, inst: Instrument): string {
  return (units / 10 ** inst.priceDecimals).toFixed(inst.priceDecimals);
}
function qtyText(units: number, inst: Instrument): string {
  return (units / 10 ** inst.qtyDecimals).toFixed(inst.qtyDecimals);
}

/** One side's level array as Binance writes it, in the given order (a price appears once per message). */
function sideText(us: SideUpdate[], bids: boolean, order: Order, inst: Instrument, oddity: Msg['oddity'], rnd: () => number): string {
  const byPrice = new Map<number, number>();
  for (const u of us) byPrice.set(bids ? MID - u.at : MID + u.at, u.qty);
  const lv = [...byPrice.entries()].sort((x, y) => (bids ? y[0] - x[0] : x[0] - y[0])); // best first
  if ((order === 'deep-swap' || order === 'deep-swap-reversed') && lv.length > LAZY_PREFIX + 8) {
    const j = LAZY_PREFIX + 1 + Math.floor(rnd() * (lv.length - LAZY_PREFIX - 1));
    [lv[LAZY_PREFIX], lv[j]] = [lv[j]!, lv[LAZY_PREFIX]!];
  }
  if (order === 'worst-first' || order === 'deep-swap-reversed') lv.reverse();
  if (order === 'shuffled') lv.sort(() => rnd() - 0.5);
  const items = lv.map(([p, q]) => `["${priceText(p, inst)}","${qtyText(q, inst)}"]`);
  if (oddity && items.length > 0) {
    // a level far from the top, where a lazy decoder has deferred it
    const i = order === 'worst-first' || order === 'deep-swap-reversed' ? oddity.at % Math.max(1, Math.floor(items.length / 2)) : items.length - 1 - (oddity.at % Math.max(1, Math.floor(items.length / 2)));
    items[i] = oddity.kind === 'space' ? items[i]!.replace('","', '", "') : items[i]!.replace(/\["[^"]*"/, '["1x"');
  }
  return `[${items.join(',')}]`;
}

function depthText(venue: BinanceVenue, m: Msg, U: number, u: number, pu: number, rnd: () => number): string {
  const inst = INST[venue];
  const b = sideText(m.bids, true, m.bidOrder, inst, m.oddity, rnd);
  const a = sideText(m.asks, false, m.askOrder, inst, null, rnd);
  const ids = venue === 'usdm' ? `"U":${U},"u":${u},"pu":${pu}` : `"U":${U},"u":${u}`;
  return `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT",${ids},"b":${b},"a":${a}}}`;
}

function snapshotBody(venue: BinanceVenue, nb: number, na: number): unknown {
  const inst = INST[venue];
  const side = (n: number, bids: boolean): [string, string][] =>
    Array.from({ length: n }, (_, i) => [priceText(bids ? MID - 1 - 2 * i : MID + 1 + 2 * i, inst), qtyText(1000 + i, inst)]);
  return { lastUpdateId: 100, bids: side(nb, true), asks: side(na, false) };
}

describe('lazy depth decoding on synthetic messages', () => {
  it('answers every read as the whole message would, in any level order and layout; a malformed tail resyncs the book', () => {
    let lazyTotal = 0;
    let outOfOrderTotal = 0;
    fc.assert(
      fc.property(
        fc.constantFrom<BinanceVenue>('spot', 'usdm'),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.array(msgArb, { minLength: 1, maxLength: 4 }),
        fc.integer(),
        (venue, nb, na, msgs, seed) => {
          const inst = INST[venue];
          let bookRead: ((sync: DepthSync) => string) | null = null;
          const read = (sync: DepthSync): string => bookRead!(sync);
          const lazySink = new ReadingSink(read);
          const wholeSink = new ReadingSink(read);
          const mk = (sink: ReadingSink, lazyDepth: boolean): VenueProcessor => {
            const info = { ...(REFERENCE_EXCHANGE_INFO[venue]['BTCUSDT'] as object) };
            const p = new VenueProcessor({ venue, sink, logger, symbols: ['BTCUSDT'], lazyDepth });
            expect(p.onExchangeInfo({ symbols: [info] }, 0)).toBeNull();
            p.decoder.register('btcusdt@depth@100ms', 'depth', inst);
            return p;
          };
          const lazy = mk(lazySink, true);
          const whole = mk(wholeSink, false);
          let s = seed;
          const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) | 0) >>> 0) / 2 ** 32;
          // the first diff comes before the snapshot (id 100; buffered, and straddling it), the rest after it
          let id = 94;
          const texts = msgs.map((m, k) => {
            const text = depthText(venue, m, id + 1, k === 0 ? 110 : id + 10, id, rnd);
            id = k === 0 ? 110 : id + 10;
            return text;
          });
          for (let k = 0; k < msgs.length; k++) {
            const m = msgs[k]!;
            bookRead = (sync) => {
              const b = sync.book;
              const out: number[] = [];
              for (const r of m.reads) {
                const side = r.side === 'b' ? b.bids : b.asks;
                out.push(side.price(r.rank), side.qty(r.rank), side.qtyAt(r.side === 'b' ? MID - r.ticks : MID + r.ticks));
              }
              return out.join(',');
            };
            const wasOutOfOrder = lazy.decoder.depthOutOfOrder;
            const wasLazy = lazy.decoder.lazyMessages;
            const ol = lazy.onMessage(texts[k]!, k);
            lazyTotal += lazy.decoder.lazyMessages - wasLazy;
            outOfOrderTotal += lazy.decoder.depthOutOfOrder - wasOutOfOrder;
            const ow = whole.onMessage(texts[k]!, k);
            if (k === 0) {
              lazy.onSnapshot('BTCUSDT', snapshotBody(venue, nb, na), 0.5);
              whole.onSnapshot('BTCUSDT', snapshotBody(venue, nb, na), 0.5);
            }
            const sl = lazy.syncs.get('BTCUSDT')!;
            const sw = whole.syncs.get('BTCUSDT')!;
            expect(ol).toBe(ow);
            expect(lazy.decoder.malformed).toEqual(whole.decoder.malformed);
            if (ow === 'malformed') {
              // the whole decoder skips the message; the lazy one may have applied its best levels and then
              // resyncs the book at once (the whole one's resyncs at the next diff, by its ids)
              if (sl.synced) expect(sl.book.lastUpdateId).toBe(sw.book.lastUpdateId);
              return;
            }
            expect(sl.state).toBe(sw.state);
            // reads before the rest was decoded may differ only where the message broke price order
            expect(lazySink.reads.length).toBe(wholeSink.reads.length);
            if (lazy.decoder.depthOutOfOrder === wasOutOfOrder) expect(lazySink.reads.at(-1)).toBe(wholeSink.reads.at(-1));
            expect(sl.book.unsettled).toBe(false);
            expect(levels(sl.book.bids, inst)).toEqual(levels(sw.book.bids, inst));
            expect(levels(sl.book.asks, inst)).toEqual(levels(sw.book.asks, inst));
            expect(sl.book.lastUpdateId).toBe(sw.book.lastUpdateId);
          }
        },
      ),
      { numRuns: 300, seed: 20261207, endOnFailure: true },
    );
    // the cases did exercise the lazy path, and its out-of-order fallback
    expect(lazyTotal).toBeGreaterThan(100);
    expect(outOfOrderTotal).toBeGreaterThan(5);
  });

  it('a message malformed past its best levels: counted, the decision made, then the book resyncs and asks for a snapshot', () => {
    const venue = 'usdm';
    const inst = INST[venue];
    const states: string[] = [];
    let snapshotsWanted = 0;
    const sink = new ReadingSink((sync) => `${sync.book.bids.price(0)}`);
    sink.onBookState = (sync: DepthSync) => void states.push(sync.state);
    const p = new VenueProcessor({ venue, sink, logger, symbols: ['BTCUSDT'], onNeedSnapshot: () => void snapshotsWanted++ });
    expect(p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO[venue]['BTCUSDT']] }, 0)).toBeNull();
    p.decoder.register('btcusdt@depth@100ms', 'depth', inst);
    p.onMessage(depthText(venue, { bids: [{ at: 5, qty: 1 }], asks: [{ at: 5, qty: 1 }], bidOrder: 'best-first', askOrder: 'best-first', oddity: null, reads: [] }, 95, 110, 94, Math.random), 1);
    expect(p.onSnapshot('BTCUSDT', snapshotBody(venue, 300, 300), 1)).toBe('synced');
    const many = Array.from({ length: 300 }, (_, i) => ({ at: 1 + i, qty: 7 }));
    const bad = depthText(venue, { bids: many, asks: many, bidOrder: 'worst-first', askOrder: 'best-first', oddity: { kind: 'malformed', at: 3 }, reads: [] }, 111, 120, 110, Math.random);
    snapshotsWanted = 0;
    expect(p.onMessage(bad, 2)).toBe('malformed');
    expect(p.decoder.lazyMessages).toBe(1);
    expect(p.decoder.malformed).toEqual({ depth: 1 });
    // the strategy saw the best bid of the message (1 tick below the mid), then the book went to resync
    expect(sink.reads.at(-1)).toBe(String(MID - 1));
    expect(p.syncs.get('BTCUSDT')!.state).toBe('resyncing');
    expect(states.at(-1)).toBe('resyncing');
    expect(snapshotsWanted).toBe(1);
  });
});
