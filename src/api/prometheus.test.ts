import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { apiFixtures, buyBtc, depth, parseExposition, promValue as value, T0, type Fixture } from '../../test/support/api.js';

const setup = apiFixtures();

async function scrape(f: Fixture) {
  const r = await fetch(`${f.base}/metrics/prometheus`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await r.text());
}
const json = async (f: Fixture, path: string) => (await fetch(`${f.base}${path}`)).json() as Promise<any>;

describe('GET /metrics/prometheus', () => {
  it('is valid exposition text whose values agree with /status, /account and /positions', async () => {
    const f = await setup();
    buyBtc(f, T0 + 20);
    f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', priceUnits: 5_999_900, timeInForce: 'GTC', qtyUnits: 1_000_000, strategy: 't', reason: 'working', createdAt: T0 + 30 });
    f.engine.tick(T0 + 35);
    // a book change marks the position
    depth(f, 'BTCUSDT', 102, [['60000.00', '1.5']], [], T0 + 40);
    const fams = await scrape(f);
    const [status, account, positions, open] = await Promise.all([json(f, '/status'), json(f, '/account'), json(f, '/positions'), json(f, '/orders/open')]);

    for (const [name, fam] of fams) {
      expect(fam.help.length, name).toBeGreaterThan(3);
      expect(fam.type, name).toMatch(/^(counter|gauge|histogram|summary)$/);
      if (fam.type === 'counter') expect(name, name).toMatch(/_total$/);
    }
    expect(value(fams, 'papertape_equity')).toBeCloseTo(account.equity, 9);
    expect(value(fams, 'papertape_cash')).toBeCloseTo(account.cash, 9);
    expect(value(fams, 'papertape_high_water_mark')).toBe(account.highWaterMark);
    expect(value(fams, 'papertape_drawdown_ratio')).toBeCloseTo(account.drawdown, 12);
    expect(value(fams, 'papertape_gross_exposure')).toBeCloseTo(account.grossExposure, 9);
    expect(value(fams, 'papertape_fees')).toBeCloseTo(account.fees, 9);
    expect(value(fams, 'papertape_orders_total')).toBe(status.counters.orders);
    expect(value(fams, 'papertape_orders_total')).toBeGreaterThanOrEqual(2);
    expect(value(fams, 'papertape_fills_total')).toBe(status.counters.fills);
    expect(value(fams, 'papertape_resyncs_total')).toBe(status.counters.resyncs);
    expect(value(fams, 'papertape_errors_total')).toBe(0);
    expect(value(fams, 'papertape_open_orders')).toBe(open.orders.length);
    expect(value(fams, 'papertape_open_orders')).toBeGreaterThanOrEqual(1);
    const btc = positions.positions.find((p: { symbol: string }) => p.symbol === 'BTCUSDT');
    expect(value(fams, 'papertape_position_qty', { venue: 'spot', symbol: 'BTCUSDT' })).toBeCloseTo(btc.qty, 12);
    expect(btc.notional).toBeGreaterThan(0);
    expect(value(fams, 'papertape_position_notional', { venue: 'spot', symbol: 'BTCUSDT' })).toBeCloseTo(btc.notional, 9);
    expect(value(fams, 'papertape_feed_messages_total', { venue: 'spot' })).toBe(status.counters.messages);
    expect(value(fams, 'papertape_feed_malformed_total', { venue: 'spot', kind: 'depth' })).toBe(status.counters.malformed);
    expect(value(fams, 'papertape_feed_up', { venue: 'spot' })).toBe(1);
    expect(value(fams, 'papertape_feed_message_rate', { venue: 'spot' })).toBeGreaterThan(0);
    for (const sym of ['BTCUSDT', 'ETHUSDT']) {
      expect(status.books[`spot:${sym}`].state).toBe('synced');
      expect(value(fams, 'papertape_book_synced', { venue: 'spot', symbol: sym })).toBe(1);
      expect(value(fams, 'papertape_book_state', { venue: 'spot', symbol: sym, state: 'synced' })).toBe(1);
      expect(value(fams, 'papertape_book_state', { venue: 'spot', symbol: sym, state: 'resyncing' })).toBe(0);
    }
    expect(value(fams, 'papertape_book_best_bid', { venue: 'spot', symbol: 'BTCUSDT' })).toBe(status.books['spot:BTCUSDT'].bestBid);
    for (const flag of ['papertape_halted', 'papertape_paused', 'papertape_breaker_tripped']) expect(value(fams, flag), flag).toBe(0);
    expect(fams.get('papertape_info')!.samples[0]!.labels).toMatchObject({ version: 't', session: 's' });
    // process metrics from prom-client's default set
    expect(fams.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(fams.get('nodejs_heap_size_used_bytes')?.type).toBe('gauge');
    expect(value(fams, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('follows the engine: kill switch, denials by check, paused flag', async () => {
    const f = await setup();
    f.engine.control({ cmd: 'kill', flatten: false, reason: 'test' }, T0 + 20);
    for (let i = 0; i < 3; i++) f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'x', createdAt: T0 + 21 });
    let fams = await scrape(f);
    expect(value(fams, 'papertape_halted')).toBe(1);
    expect(value(fams, 'papertape_denials_total', { check: 'halted' })).toBe(3);
    f.engine.control({ cmd: 'resume' }, T0 + 22);
    f.engine.control({ cmd: 'pause', reason: 'p' }, T0 + 23);
    fams = await scrape(f);
    expect(value(fams, 'papertape_halted')).toBe(0);
    expect(value(fams, 'papertape_paused')).toBe(1);
    f.feeds[0]!.state = 'degraded';
    fams = await scrape(f);
    expect(value(fams, 'papertape_feed_up', { venue: 'spot' })).toBe(0);
    expect(value(fams, 'papertape_feed_state', { venue: 'spot', state: 'degraded' })).toBe(1);
  });

  it('exports the feed latency as a histogram built from the HdrHistogram at scrape time', async () => {
    const f = await setup();
    const samples = [0.3, 0.9, 1.5, 4, 12, 80, 700];
    for (const ms of samples) f.engine.feedLatency.spot.observe(T0, T0 + ms);
    const fams = await scrape(f);
    const fam = fams.get('papertape_feed_latency_seconds')!;
    expect(fam.type).toBe('histogram');
    const buckets = fam.samples.filter((s) => s.name === 'papertape_feed_latency_seconds_bucket' && s.labels['venue'] === 'spot');
    expect(buckets.at(-1)!.labels['le']).toBe('+Inf');
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    for (const b of buckets) {
      const le = b.labels['le'] === '+Inf' ? Infinity : Number(b.labels['le']);
      expect(b.value, `le=${b.labels['le']}`).toBe(samples.filter((ms) => ms / 1000 <= le).length);
    }
    expect(value(fams, 'papertape_feed_latency_seconds_count', { venue: 'spot' })).toBe(samples.length);
    expect(value(fams, 'papertape_feed_latency_seconds_sum', { venue: 'spot' })).toBeCloseTo(samples.reduce((a, b) => a + b, 0) / 1000, 9);
  });

  it('exports the tick-to-decision latency as a summary, and /latency as µs percentiles', async () => {
    const f = await setup();
    const empty = await scrape(f);
    expect(empty.get('papertape_tick_to_decision_seconds')!.type).toBe('summary');
    expect(value(empty, 'papertape_tick_to_decision_seconds_count', {})).toBe(0);
    for (const ms of [0.01, 0.02, 0.03, 0.5]) f.engine.tickToDecision.record(ms);
    const fams = await scrape(f);
    expect(value(fams, 'papertape_tick_to_decision_seconds_count', {})).toBe(4);
    expect(value(fams, 'papertape_tick_to_decision_seconds_sum', {})).toBeCloseTo(0.00056, 9);
    expect(value(fams, 'papertape_tick_to_decision_seconds', { quantile: '0.5' })).toBeCloseTo(0.00002, 7);
    expect(value(fams, 'papertape_tick_to_decision_seconds', { quantile: '0.999' })).toBeCloseTo(0.0005, 6);
    const lat = await json(f, '/latency');
    expect(lat.tickToDecision).toMatchObject({ count: 4, maxUs: 500 });
    expect(lat.tickToDecision.p50Us).toBeCloseTo(20, 1);
    expect((await json(f, '/status')).execution.tickToDecision.count).toBe(4);
  });

  it('exports the stages of tick-to-decision per stage, as GET /latency decisionStages has them', async () => {
    const f = await setup();
    expect((await scrape(f)).get('papertape_tick_to_decision_stage_seconds')!.type).toBe('summary');
    expect(value(await scrape(f), 'papertape_tick_to_decision_stage_seconds', { stage: 'risk', quantile: '0.5' })).toBeUndefined();
    const t = f.engine.tickToDecision;
    // one frame path: receive 2 µs, due 1, decode 10, market 3, strategy 5, submit 2, risk 7 (ms below)
    const T = 1_700_000_000_000;
    const steps = [0.002, 0.001, 0.01, 0.003, 0.005, 0.002, 0.007];
    let at = T;
    t.begin(T, (at += steps[0]!));
    for (let i = 1; i <= 5; i++) t.mark(i, (at += steps[i]!));
    t.decide(T, (at += steps[6]!));
    const fams = await scrape(f);
    expect(value(fams, 'papertape_tick_to_decision_stage_seconds', { stage: 'decode', quantile: '0.5' })).toBeCloseTo(10e-6, 6);
    expect(value(fams, 'papertape_tick_to_decision_stage_seconds', { stage: 'risk', quantile: '0.99' })).toBeCloseTo(7e-6, 6);
    const lat = await json(f, '/latency');
    expect(lat.decisionStages.count).toBe(1);
    expect(lat.decisionStages.stages.decode.p50Us).toBeCloseTo(10, 0);
    expect(lat.decisionStages.slowest[0].totalUs).toBeCloseTo(30, 0);
    expect(lat.decisionStages.tail.p99.stages.strategy).toBeCloseTo(5, 0);
  });

  it("uses its own registry: nothing lands in prom-client's global one, and two servers do not clash", async () => {
    const [a, b] = [await setup(), await setup()];
    buyBtc(a, T0 + 20);
    const [fa, fb] = [await scrape(a), await scrape(b)];
    expect(value(fa, 'papertape_fills_total')).toBe(1);
    expect(value(fb, 'papertape_fills_total')).toBe(0);
    expect((await globalRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('papertape_'))).toEqual([]);
  });

  it('the reader rejects malformed exposition text (it can fail)', () => {
    expect(() => parseExposition('papertape_x 1\n')).toThrow(/before HELP/);
    expect(() => parseExposition('# HELP a x\n# TYPE a gauge\nb 1\n')).toThrow(/outside/);
    expect(() => parseExposition('# HELP a x\n# TYPE a gauge\na{l="1} 1\n')).toThrow();
  });
});
