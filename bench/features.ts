import { resolve } from 'node:path';
import { BookSide } from '../src/book/side.js';
import { DepthSync } from '../src/book/sync.js';
import { FeatureEngine, type BookView } from '../src/features/engine.js';
import { FEATURE_COUNT } from '../src/features/schema.js';
import { BinanceDecoder, decodeSnapshot } from '../src/marketdata/binance/decode.js';
import { referenceInstrument } from '../src/marketdata/binance/reference.js';
import type { TradeEvent } from '../src/model/events.js';
import { readRecordingLines, sharedData } from './data.js';

export interface FeaturesBenchResult {
  name: string;
  file: string;
  bookUpdates: number;
  trades: number;
  rounds: number;
  features: number;
  /** FeatureEngine.onBook + write of the whole vector, per book update */
  nsPerBookUpdate: { best: number; median: number };
  /** the same plus every trade between the book updates (onTrade), per book update */
  nsPerBookUpdateWithTrades: { best: number; median: number };
}

/** the best `levels` levels of a side, in a side of its own (features read at most 10 levels) */
function copyTop(from: BookSide, dir: 1 | -1, levels: number): BookSide {
  const s = new BookSide(dir, levels);
  for (let i = Math.min(levels, from.size) - 1; i >= 0; i--) s.set(from.price(i), from.qty(i));
  return s;
}

/**
 * Cost of the streaming features on the recorded USD-M BTCUSDT day. The book after every applied depth diff
 * is rebuilt beforehand (decode and book sync run outside the timing, top 16 levels kept); the timed loop
 * feeds those books to FeatureEngine.onBook and writes the whole vector after each (what a model reads on
 * every book update), with and without the trades in between.
 */
export async function benchFeatures(rounds = 25): Promise<FeaturesBenchResult> {
  const file = resolve(sharedData(), 'binance/usdm/btcusdt_20240808.gz');
  const lines = await readRecordingLines(file);
  const inst = referenceInstrument('usdm', 'BTCUSDT');
  const dec = new BinanceDecoder('usdm');
  dec.register('btcusdt@depth@0ms', 'depth', inst);
  dec.register('btcusdt@trade', 'trade', inst);
  const snapLine = lines.find((l) => l.text.startsWith('{"lastUpdateId"'));
  if (!snapLine) throw new Error('no snapshot in recording');
  const snap = decodeSnapshot('usdm', inst, JSON.parse(snapLine.text), 0);
  if (typeof snap === 'string') throw new Error(snap);
  const sync = new DepthSync('usdm', 'BTCUSDT');
  sync.onSnapshot(snap, 0);
  const books: BookView[] = [];
  const bookTimes: number[] = [];
  /** trades[k] are the trades received before book k */
  const trades: TradeEvent[][] = [[]];
  for (const l of lines) {
    const t = Number(l.recvNs / 1000n) / 1000;
    const r = dec.decode(l.text, t);
    if (!r.ok) continue;
    const ev = r.event;
    if (ev.kind === 'depth') {
      if (sync.onDiff(ev) !== 'applied') continue;
      books.push({ bids: copyTop(sync.book.bids, 1, 16), asks: copyTop(sync.book.asks, -1, 16) });
      bookTimes.push(t);
      trades.push([]);
    } else if (ev.kind === 'trade' && books.length > 0) trades[books.length]!.push({ ...ev });
  }
  const nTrades = trades.reduce((a, b) => a + b.length, 0);
  const out = new Float64Array(FEATURE_COUNT);
  let sink = 0;
  const run = (withTrades: boolean): number => {
    const fe = new FeatureEngine();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < books.length; i++) {
      if (withTrades) {
        const ts = trades[i]!;
        for (let k = 0; k < ts.length; k++) fe.onTrade(ts[k]!, ts[k]!.recvTime);
      }
      fe.onBook(books[i]!, inst, bookTimes[i]!);
      fe.write(out, 0);
      sink += out[0]!;
    }
    return Number(process.hrtime.bigint() - t0);
  };
  for (let i = 0; i < 5; i++) {
    run(false);
    run(true);
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < rounds; i++) {
    a.push(run(false));
    b.push(run(true));
  }
  if (Number.isNaN(sink)) console.log('');
  const stats = (v: number[]) => {
    const s = [...v].sort((x, y) => x - y);
    return { best: Math.round(s[0]! / books.length), median: Math.round(s[s.length >> 1]! / books.length) };
  };
  return {
    name: 'streaming features: FeatureEngine onBook + write per book update, USD-M BTCUSDT',
    file: 'binance/usdm/btcusdt_20240808.gz',
    bookUpdates: books.length,
    trades: nTrades,
    rounds,
    features: FEATURE_COUNT,
    nsPerBookUpdate: stats(a),
    nsPerBookUpdateWithTrades: stats(b),
  };
}
