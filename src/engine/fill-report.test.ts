import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_MODELS, formatFillReport, parseAmountList, parseDurationList, runFillReport, type FillReport, type FillReportGroup } from './fill-report.js';
import { QUEUE_MODEL_FORMS } from '../execution/paper/queue.js';

const SPOT = fileURLToPath(new URL('../../../shared/data/binance/spot/btcusdt_20240808.gz', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'papertape-fill-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------- a hand-made recording

/** receive time of the recording's origin: 2024-08-09T00:00:00Z, in ns and ms */
const T0_NS = 1723161600000000000n;
const T0 = 1723161600000;

function line(ms: number, json: string): string {
  return `${T0_NS + BigInt(ms) * 1_000_000n} ${json}`;
}
function depth(ms: number, id: number, b: [string, string][], a: [string, string][]): string {
  const data = { e: 'depthUpdate', E: T0 + ms, s: 'BTCUSDT', U: id, u: id, b, a };
  return line(ms, JSON.stringify({ stream: 'btcusdt@depth@100ms', data }));
}
/** `buyerIsMaker` true: the aggressor sold */
function trade(ms: number, id: number, p: string, q: string, buyerIsMaker: boolean): string {
  const data = { e: 'trade', E: T0 + ms, s: 'BTCUSDT', t: id, p, q, T: T0 + ms, m: buyerIsMaker, M: true };
  return line(ms, JSON.stringify({ stream: 'btcusdt@trade', data }));
}
function writeRecording(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, gzipSync(`${lines.join('\n')}\n`));
  return file;
}

const SNAPSHOT = line(
  0,
  JSON.stringify({
    lastUpdateId: 100,
    bids: [['49999.99', '1.00000000'], ['49999.98', '2.00000000']],
    asks: [['50000.01', '0.50000000'], ['50000.50', '1.00000000'], ['50010.00', '2.00000000']],
  }),
);

/** bp of a price difference in price units (0.01 USDT) relative to a price in units */
const bp = (diffUnits: number, refUnits: number): number => (diffUnits / refUnits) * 1e4;

describe('runFillReport on a hand-made recording', () => {
  /*
   * Spot BTCUSDT (tick 0.01, step 0.00001, min notional 5). The book syncs at t = 10 ms (snapshot 100 + diff
   * 101) with bid 49999.99 x 1.0 and ask 50000.01 x 0.5: mid 50000.00, so the smallest accepted order is
   * 5 / 50000 = 0.0001 BTC. Probe time 1 at t = 10: a bid probe at 49999.99 behind 1.0 BTC and an ask probe
   * at 50000.01 behind 0.5 BTC. Probes every 2 s, horizons 0.5 s and 1.5 s; the data ends at t = 3100, so only
   * the first slot gets a probe (no book update after t = 2010) and it is observed for 1.5 s.
   *
   * bid probe 49999.99   (ahead, risk-averse | prob-power:1)
   *   t=150  level 1.0 -> 2.0 (joins behind us)      1.0 | 1.0
   *   t=200  level 2.0 -> 1.0 (1.0 cancelled)        min(1.0, 1.0) = 1.0 | front 1, back 1, p = 1/(1+1) = 0.5:
   *                                                  1.0 - 0.5 * 1.0 = 0.5
   *   t=300  sell 0.5001 at 49999.99                 0.4999: waits | -0.0001: the whole 0.0001 fills (290 ms)
   *   t=1510 a better bid 50000.00 appears, exactly at the 1.5 s horizon: like a fill at exactly the horizon,
   *          it counts as within it
   *   -> risk-averse: unfilled and at the touch at 0.5 s (t=510), unfilled and moved away at 1.5 s (t=1510)
   * ask probe 50000.01
   *   t=400  buy 0.1 at 50000.50: a trade through our price fills it in both models (390 ms)
   */
  const lines = [
    SNAPSHOT,
    depth(10, 101, [['49999.98', '2.00000000']], []),
    depth(150, 102, [['49999.99', '2.00000000']], []),
    depth(200, 103, [['49999.99', '1.00000000']], []),
    trade(300, 1, '49999.99', '0.50010000', true),
    depth(350, 104, [['49999.99', '0.49990000']], []),
    trade(400, 2, '50000.50', '0.10000000', false),
    depth(1510, 105, [['50000.00', '0.20000000']], []),
    trade(3100, 3, '50010.00', '0.01000000', false),
  ];
  let r: FillReport;
  let g: FillReportGroup;
  beforeAll(async () => {
    const file = writeRecording('btcusdt_20240809.gz', lines);
    r = await runFillReport([file], {
      probeEveryMs: 2000,
      horizonsMs: [1500, 500],
      sizesQuote: [150_000, 10_000, 50_000, 500_000],
      queueModels: ['risk-averse', 'prob-power:1'],
      keepProbes: true,
    });
    g = r.groups[0]!;
  });

  it('finds the instrument, its time span and the probe times', () => {
    expect(r.groups).toHaveLength(1);
    expect(r.horizonsMs).toEqual([500, 1500]);
    expect(r.sizesQuote).toEqual([10_000, 50_000, 150_000, 500_000]);
    expect(g).toMatchObject({ venue: 'spot', symbol: 'BTCUSDT', startTime: T0 + 10, endTime: T0 + 3100, syncedAt: T0 + 10 });
    expect(g.probeTimes).toEqual({ slots: 2, placed: 1, crossedBook: 0, counted: 1 });
    expect(g.probeQty).toBeCloseTo(0.0001, 12);
    expect(g.probeNotional).toBeCloseTo(5, 9);
    expect(g.horizonsMs).toEqual([500, 1500]);
    expect(g.interruptedProbes + g.rejectedProbes).toBe(0);
    expect(g.touch!.spreadTicksMean).toBe(2);
  });

  it('fills the probes when and how worked out by hand', () => {
    expect(g.probes).toEqual([
      { side: 'BUY', price: 49999.99, placedAt: T0 + 10, fillMs: [null, 290], awayAt: [false, true] },
      { side: 'SELL', price: 50000.01, placedAt: T0 + 10, fillMs: [390, 390], awayAt: [false, false] },
    ]);
    const [ra, pp] = g.passive;
    expect(ra!.model).toBe('risk-averse');
    expect(ra!.horizons).toEqual([
      { horizonMs: 500, filled: 0.5, filledBid: 0, filledAsk: 1, movedAway: 0, waiting: 0.5 },
      { horizonMs: 1500, filled: 0.5, filledBid: 0, filledAsk: 1, movedAway: 0.5, waiting: 0 },
    ]);
    expect(ra!.timeToFillMs).toEqual({ filled: 1, mean: 390, p50: 390, p90: 390 });
    expect(ra!.fillsBy).toEqual({ queue: 0, tradeThrough: 1, bookCross: 0 });
    expect(pp!.model).toBe('prob-power:1');
    expect(pp!.horizons).toEqual([
      { horizonMs: 500, filled: 1, filledBid: 1, filledAsk: 1, movedAway: 0, waiting: 0 },
      { horizonMs: 1500, filled: 1, filledBid: 1, filledAsk: 1, movedAway: 0, waiting: 0 },
    ]);
    expect(pp!.timeToFillMs).toEqual({ filled: 2, mean: 340, p50: 290, p90: 390 });
    expect(pp!.fillsBy).toEqual({ queue: 1, tradeThrough: 1, bookCross: 0 });
  });

  it('walks the book for market orders as worked out by hand', () => {
    // book at t=10 in price units (0.01): bids 4999999 x 1.0, 4999998 x 2.0; asks 5000001 x 0.5, 5000050 x 1.0,
    // 5001000 x 2.0; mid 5000000. Sizes convert at the mid: 10k -> 0.2, 50k -> 1.0, 150k -> 3.0, 500k -> 10 BTC.
    const [s10k, s50k, s150k, s500k] = g.market;
    // 10k: buy 0.2 at 5000001, sell 0.2 at 4999999
    expect(s10k!.orders).toBe(2);
    expect(s10k!.notFilled).toBe(0);
    expect(s10k!.vsMidBp!.mean).toBeCloseTo(bp(1, 5e6), 12);
    expect(s10k!.vsTouchBp!.mean).toBeCloseTo(0, 12);
    // 50k: buy 0.5 at 5000001 + 0.5 at 5000050 = avg 5000025.5; sell 1.0 at 4999999
    const buy50 = bp(25.5, 5e6);
    const sell50 = bp(1, 5e6);
    expect(s50k!.buyVsMidBpMean).toBeCloseTo(buy50, 12);
    expect(s50k!.sellVsMidBpMean).toBeCloseTo(sell50, 12);
    expect(s50k!.vsMidBp!.mean).toBeCloseTo((buy50 + sell50) / 2, 12);
    expect(s50k!.vsMidBp!.p90).toBeCloseTo(buy50, 12);
    expect(s50k!.vsTouchBp!.mean).toBeCloseTo(bp(24.5, 5000001) / 2, 12);
    // 150k: buy 0.5 at 5000001 + 1.0 at 5000050 + 1.5 at 5001000 = avg 15001550.5 / 3;
    //       sell 1.0 at 4999999 + 2.0 at 4999998 = avg 14999995 / 3
    const buyAvg = (0.5 * 5000001 + 1.0 * 5000050 + 1.5 * 5001000) / 3;
    const sellAvg = (1.0 * 4999999 + 2.0 * 4999998) / 3;
    expect(buyAvg).toBeCloseTo(15001550.5 / 3, 6);
    expect(s150k!.buyVsMidBpMean).toBeCloseTo(bp(buyAvg - 5e6, 5e6), 10);
    expect(s150k!.sellVsMidBpMean).toBeCloseTo(bp(5e6 - sellAvg, 5e6), 10);
    expect(s150k!.vsTouchBp!.mean).toBeCloseTo((bp(buyAvg - 5000001, 5000001) + bp(4999999 - sellAvg, 4999999)) / 2, 10);
    // 500k = 10 BTC: more than the 3.5 (asks) and 3.0 (bids) BTC displayed
    expect(s500k).toMatchObject({ orders: 2, notFilled: 2, notFilledShare: 1, vsMidBp: null, vsTouchBp: null });
  });

  it('drops probes that rest while the book loses sync', async () => {
    const file = writeRecording('btcusdt_20240810.gz', [
      SNAPSHOT,
      depth(10, 101, [['49999.98', '2.00000000']], []),
      depth(500, 103, [['49999.99', '3.00000000']], []), // 102 is missing: a gap, the book resyncs
      trade(5000, 1, '50010.00', '0.01000000', false),
    ]);
    const rr = await runFillReport([file], { probeEveryMs: 1000, horizonsMs: [1000], sizesQuote: [1000], queueModels: ['risk-averse'] });
    const gg = rr.groups[0]!;
    expect(gg.probeTimes.placed).toBe(1);
    expect(gg.interruptedProbes).toBe(2);
    expect(gg.probeTimes.counted).toBe(0);
    expect(gg.passive[0]!.horizons[0]!.filled).toBeNaN();
    expect(formatFillReport(rr)).toContain('2 probes interrupted by a resync');
  });
});

// ---------------------------------------------------------------- real data

describe('runFillReport on Binance spot BTCUSDT (../shared/data)', () => {
  let r: FillReport;
  let g: FillReportGroup;
  beforeAll(async () => {
    r = await runFillReport([SPOT], { keepProbes: true });
    g = r.groups[0]!;
  }, 60_000);

  it('compares every queue model form', () => {
    for (const form of QUEUE_MODEL_FORMS) {
      const re = new RegExp(`^${form.replace('N', '\\d+(\\.\\d+)?')}$`);
      expect(DEFAULT_QUEUE_MODELS.some((m) => re.test(m)), form).toBe(true);
    }
    expect(g.passive.map((m) => m.model)).toEqual([...DEFAULT_QUEUE_MODELS]);
  });

  it('places one probe time per interval of synced market time, and counts those observed for the longest horizon', () => {
    expect(r.groups).toHaveLength(1);
    expect(g).toMatchObject({ venue: 'spot', symbol: 'BTCUSDT', interruptedProbes: 0, rejectedProbes: 0 });
    expect(g.spanMs).toBeGreaterThan(340_000);
    const expected = (g.endTime - g.syncedAt!) / r.probeEveryMs;
    // a slot without a book update is skipped: spot depth comes every 100 ms, so nearly none are
    expect(g.probeTimes.placed).toBeGreaterThanOrEqual(Math.floor(expected * 0.98));
    expect(g.probeTimes.placed).toBeLessThanOrEqual(Math.floor(expected) + 1);
    expect(g.probeTimes.placed).toBeLessThanOrEqual(g.probeTimes.slots);
    expect(g.horizonsMs).toEqual([1000, 10_000, 60_000]);
    // the last 60 s of probe times cannot be observed for 60 s
    expect(Math.abs(g.probeTimes.counted - (g.probeTimes.placed - 60))).toBeLessThanOrEqual(2);
    expect(g.probes).toHaveLength(2 * g.probeTimes.counted);
    for (const m of g.passive) expect(m.probes).toBe(2 * g.probeTimes.counted);
  });

  it('gives fill rates in [0, 1] that grow with the horizon, and shares that add up', () => {
    for (const m of g.passive) {
      let prev = 0;
      for (const h of m.horizons) {
        for (const x of [h.filled, h.filledBid, h.filledAsk, h.movedAway, h.waiting]) {
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThanOrEqual(1);
        }
        expect(h.filled + h.movedAway + h.waiting).toBeCloseTo(1, 12);
        expect(h.filled).toBeGreaterThanOrEqual(prev);
        prev = h.filled;
      }
      const ttf = m.timeToFillMs!;
      expect(ttf.filled).toBe(Math.round(m.horizons[m.horizons.length - 1]!.filled * m.probes));
      expect(ttf.p50).toBeLessThanOrEqual(ttf.p90);
      expect(ttf.p90).toBeLessThanOrEqual(60_000);
      expect(m.fillsBy.queue + m.fillsBy.tradeThrough + m.fillsBy.bookCross).toBe(ttf.filled);
    }
    // not a degenerate market: some probes fill, some see the price leave
    const ra = g.passive[0]!;
    expect(ra.horizons[2]!.filled).toBeGreaterThan(0.1);
    expect(ra.horizons[1]!.movedAway).toBeGreaterThan(0.05);
  });

  it('never fills a probe sooner under risk-averse than under a probabilistic model', () => {
    /*
     * Why this must hold: both kinds start with ahead = the displayed level and subtract every trade at the
     * price. On a depth change risk-averse sets ahead = min(ahead, next); ProbQueueModel sets a value
     * <= min(its ahead, next) (its estimate only moves forward, then is capped at next). So by induction the
     * probabilistic ahead is never larger, and the exchange's executable lots floor(-ahead) never smaller,
     * while fills through the price (trade through, opposite side reaching the price) are the same for both.
     * Per probe: a probabilistic model fills at least as soon; hence also at every horizon at least as often.
     */
    const ra = g.passive[0]!;
    expect(ra.model).toBe('risk-averse');
    for (let m = 1; m < g.passive.length; m++) {
      for (let k = 0; k < ra.horizons.length; k++) expect(g.passive[m]!.horizons[k]!.filled).toBeGreaterThanOrEqual(ra.horizons[k]!.filled);
    }
    for (const p of g.probes!) {
      const raMs = p.fillMs[0] ?? null;
      if (raMs === null) continue;
      for (let m = 1; m < p.fillMs.length; m++) {
        expect(p.fillMs[m], `${g.passive[m]!.model} ${p.side} at ${p.placedAt}`).not.toBeNull();
        expect(p.fillMs[m]!).toBeLessThanOrEqual(raMs);
      }
    }
  });

  it('measures market-order slippage that grows with size and is never better than the touch', () => {
    expect(g.market.map((s) => s.quote)).toEqual([1000, 10_000, 50_000, 100_000, 500_000]);
    let prev = { mid: -Infinity, touch: -Infinity, midP90: -Infinity, touchP90: -Infinity };
    for (const s of g.market) {
      expect(s.orders).toBe(2 * g.probeTimes.placed);
      // BTCUSDT spot shows far more than 500k USDT on each side
      expect(s.notFilled).toBe(0);
      const mid = s.vsMidBp!;
      const touch = s.vsTouchBp!;
      expect(touch.mean).toBeGreaterThanOrEqual(0);
      expect(mid.mean).toBeGreaterThanOrEqual(touch.mean);
      expect(mid.mean).toBeGreaterThanOrEqual(prev.mid);
      expect(touch.mean).toBeGreaterThanOrEqual(prev.touch);
      expect(mid.p90).toBeGreaterThanOrEqual(prev.midP90);
      expect(touch.p90).toBeGreaterThanOrEqual(prev.touchP90);
      prev = { mid: mid.mean, touch: touch.mean, midP90: mid.p90, touchP90: touch.p90 };
    }
    // the largest order walks the book: clearly worse than the touch
    expect(g.market[g.market.length - 1]!.vsTouchBp!.mean).toBeGreaterThan(0.1);
  });

  it('prints a table per instrument', () => {
    const text = formatFillReport(r);
    expect(text).toContain('fill report spot:BTCUSDT');
    for (const m of DEFAULT_QUEUE_MODELS) expect(text).toContain(m);
    expect(text).toContain('fill≤10s');
  });
});

describe('option parsing', () => {
  it.each([
    ['1k,10k,50k', [1000, 10_000, 50_000]],
    ['2.5M', [2_500_000]],
    [' 500 , 1000 ', [500, 1000]],
  ])('sizes %s', (text, want) => {
    expect(parseAmountList('--sizes', text)).toEqual(want);
  });

  it('joins repeated horizons and reads units', () => {
    expect(parseDurationList('--horizon', ['1000', '10s,1m', '250ms'])).toEqual([1000, 10_000, 60_000, 250]);
  });

  it.each(['0', '-5', 'abc', '1x', ''])('rejects %j', (text) => {
    expect(() => parseAmountList('--sizes', text)).toThrow(/--sizes/);
    expect(() => parseDurationList('--horizon', text)).toThrow(/--horizon/);
  });
});
