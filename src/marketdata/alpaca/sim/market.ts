/**
 * The replayed market: one cursor per symbol over its bars, advanced one synthesized tick at a time
 * (four ticks per bar, see synth.ts). Each step returns the Alpaca market-data messages it produced
 * (stock or crypto shape) and updates the last trade/quote that orders fill against. Each symbol replays
 * its own dates (2019 for equities, 2025 for DOGE), or, with `startAt`, its data shifted by whole minutes
 * so the replay starts at that minute. Bars before the cursor are "history" for the REST bars endpoints.
 * At the end of the data it starts again at the first replayed bar with times shifted by the data's span,
 * so times keep increasing.
 */
import type { AssetClass, Bar, SymbolData } from './bars.js';
import { barTicks, barVwap, TICKS_PER_BAR, type SynthTick } from './synth.js';

export type Channel = 'trades' | 'quotes' | 'bars';

export interface MdMessage {
  channel: Channel;
  symbol: string;
  assetClass: AssetClass;
  msg: Record<string, unknown>;
}

interface Feed {
  data: SymbolData;
  start: number;
  cursor: number;
  tick: number;
  ticks: SynthTick[];
  tradeId: number;
  last: SynthTick | undefined;
}

export interface MarketOptions {
  /** bars of each symbol kept before the replay start as REST history (default 120) */
  warmupBars?: number;
  /**
   * epoch ms: shift every symbol's data by whole minutes so its first replayed bar starts at this minute
   * (e.g. the wall clock, so clients asking for "the last hour" of bars get history); default: data times
   */
  startAt?: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class Market {
  private readonly feeds = new Map<string, Feed>();
  private readonly offsets = new Map<string, number>();
  readonly shifted: boolean;
  steps = 0;

  constructor(symbols: SymbolData[], opts: MarketOptions = {}) {
    const warm = opts.warmupBars ?? 120;
    this.shifted = opts.startAt !== undefined;
    for (const original of symbols) {
      if (original.bars.length < 2) throw new Error(`${original.symbol}: not enough bars`);
      const start = Math.min(warm, original.bars.length - 1);
      let data = original;
      let offset = 0;
      if (opts.startAt !== undefined) {
        offset = Math.floor(opts.startAt / 60_000) * 60_000 - original.bars[start]!.t;
        data = { ...original, bars: original.bars.map((b) => ({ ...b, t: b.t + offset })) };
      }
      this.offsets.set(data.symbol, offset);
      const feed: Feed = { data, start, cursor: start, tick: 0, ticks: [], tradeId: 0, last: undefined };
      feed.ticks = barTicks(data.bars[start]!, data.assetClass, data.tick);
      // before the first step the "current" price is the previous bar's close
      const prev = data.bars[start - 1]!;
      feed.last = { t: prev.t + 59_000, price: prev.c, size: 0, bid: prev.c - data.tick, ask: prev.c + data.tick, bidSize: 0, askSize: 0 };
      this.feeds.set(data.symbol, feed);
    }
  }

  symbols(): string[] {
    return [...this.feeds.keys()];
  }

  has(symbol: string): boolean {
    return this.feeds.has(symbol);
  }

  /** The symbol's data as replayed (bar times shifted). */
  info(symbol: string): SymbolData | undefined {
    return this.feeds.get(symbol)?.data;
  }

  /** Last synthesized trade/quote of a symbol. */
  last(symbol: string): SynthTick | undefined {
    return this.feeds.get(symbol)?.last;
  }

  /** Replay time of a symbol (time of its last tick), epoch ms. */
  time(symbol: string): number | undefined {
    return this.feeds.get(symbol)?.last?.t;
  }

  /** Replay time of a symbol in the data's own time (unshifted), epoch ms. */
  dataTime(symbol: string): number | undefined {
    const t = this.time(symbol);
    return t === undefined ? undefined : t - (this.offsets.get(symbol) ?? 0);
  }

  /** Completed bars (history) of a symbol, oldest first. */
  history(symbol: string): Bar[] {
    const f = this.feeds.get(symbol);
    return f ? f.data.bars.slice(0, f.cursor) : [];
  }

  /** Advances every symbol by one tick; returns the messages (quote, trade, and the bar when it completes). */
  step(): MdMessage[] {
    this.steps++;
    const out: MdMessage[] = [];
    for (const f of this.feeds.values()) {
      const { symbol, assetClass } = f.data;
      const k = f.ticks[f.tick]!;
      const prev = f.last;
      f.last = k;
      const stock = assetClass === 'us_equity';
      out.push({
        channel: 'quotes',
        symbol,
        assetClass,
        msg: stock
          ? { T: 'q', S: symbol, bx: 'V', bp: k.bid, bs: k.bidSize, ax: 'V', ap: k.ask, as: k.askSize, t: iso(k.t), c: ['R'], z: 'C' }
          : { T: 'q', S: symbol, bp: k.bid, bs: k.bidSize, ap: k.ask, as: k.askSize, t: iso(k.t) },
      });
      const id = ++f.tradeId;
      out.push({
        channel: 'trades',
        symbol,
        assetClass,
        msg: stock
          ? { T: 't', S: symbol, i: id, x: 'V', p: k.price, s: k.size, t: iso(k.t + 1), c: ['@'], z: 'C' }
          : { T: 't', S: symbol, p: k.price, s: k.size, t: iso(k.t + 1), i: id, tks: prev === undefined || k.price >= prev.price ? 'B' : 'S' },
      });
      f.tick++;
      if (f.tick === TICKS_PER_BAR) {
        const b = f.data.bars[f.cursor]!;
        out.push({ channel: 'bars', symbol, assetClass, msg: { T: 'b', S: symbol, o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, t: iso(b.t), n: TICKS_PER_BAR, vw: barVwap(b) } });
        f.cursor++;
        if (f.cursor >= f.data.bars.length) {
          const bars = f.data.bars;
          const span = bars[bars.length - 1]!.t + 60_000 - bars[f.start]!.t;
          f.data = { ...f.data, bars: bars.map((x) => ({ ...x, t: x.t + span })) };
          this.offsets.set(symbol, (this.offsets.get(symbol) ?? 0) + span);
          f.cursor = f.start;
        }
        f.tick = 0;
        f.ticks = barTicks(f.data.bars[f.cursor]!, assetClass, f.data.tick);
      }
    }
    return out;
  }
}
