import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiValidator, operations, parseExposition, promValue, rawRequest, sseClient, type OpenApiDoc, type SseClient, type SseFrame } from './support/api.js';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson } from './support/procs.js';
import { referenceBooks, startSession, untilReplayed, type ReferenceBooks, type Session } from './support/session.js';

/**
 * The API of a running `papertape run` over the wire, while serve-replay plays the real recordings:
 * the live stream (connected before the market starts, it must carry every order and fill), the
 * Prometheus scrape against the JSON endpoints, and a walk of the OpenAPI document against the answers.
 */
describe('API over the wire: live stream, Prometheus, OpenAPI', () => {
  let session: Session;
  let api: string;
  let refs: ReferenceBooks;
  let stream: SseClient;
  let narrow: SseClient;
  const data = (f: SseFrame) => JSON.parse(f.data!) as Record<string, any>;

  beforeAll(async () => {
    refs = await referenceBooks();
    session = await startSession({
      replay: [...SPOT_FILES, USDM_BTC, '--speed', '40', '--start-delay', '2500'],
      env: { OBI_COOLDOWN_MS: '200', STREAM_INTERVAL_MS: '250' },
    });
    api = session.api;
    // connected before the replay sends anything: every order and fill goes through these streams
    stream = await sseClient(api);
    narrow = await sseClient(api, '/stream?symbols=btcusdt');
    await untilReplayed(session, refs);
  }, 120_000);

  afterAll(async () => {
    stream?.close();
    narrow?.close();
    const engine = session?.engine;
    const code = await session?.stop();
    expect(code, engine?.stderr().slice(-2000)).toBe(0);
  });

  it('the stream carried every fill and the final state of every order, in id order', async () => {
    expect(stream.status).toBe(200);
    expect(stream.headers['x-accel-buffering']).toBe('no');
    const fills = (await getJson(`${api}/fills?limit=10000`)).body.fills as { id: string }[];
    expect(fills.length).toBeGreaterThan(0);
    const streamed = stream.frames.filter((f) => f.event === 'fill').map((f) => data(f)['fill'] as { id: string });
    expect(streamed.map((f) => f.id).sort()).toEqual(fills.map((f) => f.id).sort());
    expect(streamed).toEqual(expect.arrayContaining(fills.slice(0, 5).map((f) => expect.objectContaining(f))));
    // the order in the last order or fill event of each order is its final state (a fill carries its order)
    const orders = (await getJson(`${api}/orders?limit=10000`)).body.orders as { id: string; status: string; filledQty: number }[];
    const last = new Map<string, { status: string; filledQty: number }>();
    for (const f of stream.frames) if (f.event === 'order' || f.event === 'fill') last.set(data(f)['order'].id, data(f)['order']);
    expect(last.size).toBe(orders.length);
    for (const o of orders) expect(last.get(o.id), o.id).toMatchObject({ status: o.status, filledQty: o.filledQty });
    const ids = stream.frames.filter((f) => f.id !== undefined).map((f) => Number(f.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThan(ids[i - 1]!);
    expect(stream.frames.filter((f) => f.event === 'equity').length).toBeGreaterThan(0);
  });

  it('the snapshots show the synced books and the account as the JSON endpoints do', async () => {
    // a snapshot taken after the replay ended: the engine no longer moves
    const snap = data(await stream.next((f) => f.event === 'snapshot', stream.frames.length));
    const [account, spot, usdm, status] = await Promise.all([
      getJson(`${api}/account`), getJson(`${api}/book/BTCUSDT?depth=1`), getJson(`${api}/book/BTCUSDT?depth=1&venue=usdm`), getJson(`${api}/status`),
    ]);
    expect(snap['account']).toEqual({ ...account.body, time: snap['account'].time });
    expect(snap['books']['spot:BTCUSDT']).toMatchObject({ state: 'synced', bid: spot.body.bids[0][0], bidQty: spot.body.bids[0][1], ask: spot.body.asks[0][0], askQty: spot.body.asks[0][1] });
    expect(snap['books']['usdm:BTCUSDT']).toMatchObject({ state: 'synced', bid: usdm.body.bids[0][0], ask: usdm.body.asks[0][0] });
    expect(snap['feeds'].map((f: { venue: string }) => f.venue).sort()).toEqual(['spot', 'usdm']);
    expect(snap['counters']['fills']).toBe(status.body.counters.fills);
    expect(snap['risk']['halted']).toBe(false);
    const snaps = stream.frames.filter((f) => f.event === 'snapshot');
    expect(snaps.length).toBeGreaterThan(3);
    // as the OpenAPI document describes it
    const check = openApiValidator((await getJson<OpenApiDoc>(`${api}/openapi.json`)).body);
    expect(check({ $ref: '#/components/schemas/StreamSnapshot' }, snap)).toBeNull();
    // the restricted stream: the same book, no other
    const n = data(await narrow.next((f) => f.event === 'snapshot', narrow.frames.length));
    expect(Object.keys(n['books']).sort()).toEqual(['spot:BTCUSDT', 'usdm:BTCUSDT']);
  });

  it('Prometheus agrees with /status and /account', async () => {
    const before = (await getJson(`${api}/status`)).body;
    const r = await rawRequest(api, 'GET', '/metrics/prometheus');
    const after = (await getJson(`${api}/status`)).body;
    const account = (await getJson(`${api}/account`)).body;
    expect(r.status).toBe(200);
    const fams = parseExposition(r.text);
    const messages = ['spot', 'usdm'].reduce((a, venue) => a + promValue(fams, 'papertape_feed_messages_total', { venue })!, 0);
    expect(messages).toBeGreaterThanOrEqual(before.counters.messages);
    expect(messages).toBeLessThanOrEqual(after.counters.messages);
    expect(messages).toBeGreaterThan(150_000);
    expect(promValue(fams, 'papertape_fills_total')).toBe(after.counters.fills);
    expect(promValue(fams, 'papertape_orders_total')).toBe(after.counters.orders);
    expect(promValue(fams, 'papertape_equity')).toBeCloseTo(account.equity, 6);
    expect(promValue(fams, 'papertape_cash')).toBeCloseTo(account.cash, 6);
    expect(promValue(fams, 'papertape_high_water_mark')).toBeCloseTo(account.highWaterMark, 6);
    for (const venue of ['spot', 'usdm']) {
      expect(promValue(fams, 'papertape_book_synced', { venue, symbol: 'BTCUSDT' }), venue).toBe(1);
      expect(promValue(fams, 'papertape_feed_up', { venue }), venue).toBe(1);
      const measured = promValue(fams, 'papertape_feed_latency_seconds_count', { venue })! + promValue(fams, 'papertape_feed_latency_negative_total', { venue })!;
      expect(measured, venue).toBeGreaterThan(0);
    }
    expect(promValue(fams, 'papertape_feed_malformed_total', { venue: 'spot' }) ?? 0).toBe(0);
    expect(promValue(fams, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('every GET of the OpenAPI document answers 200 with what its schema documents', async () => {
    const doc = (await getJson<OpenApiDoc>(`${api}/openapi.json`)).body;
    const check = openApiValidator(doc);
    const gets = operations(doc).filter((o) => o.method === 'get' && o.path !== '/stream');
    expect(gets.length).toBeGreaterThan(15);
    for (const { path, op } of gets) {
      const url = path.replace('{symbol}', 'BTCUSDT');
      const r = await rawRequest(api, 'GET', url);
      expect(r.status, url).toBe(200);
      const [type, media] = Object.entries(op.responses['200']!.content!)[0]!;
      if (type === 'application/json') expect(check(media.schema, r.json), url).toBeNull();
    }
    // the controls, without a token (API_TOKEN unset here): 403 as documented
    for (const { path, op } of operations(doc).filter((o) => o.method === 'post')) {
      const r = await rawRequest(api, 'POST', path);
      expect(r.status, path).toBe(403);
      expect(op.responses['403'], path).toBeDefined();
      expect(check({ $ref: '#/components/schemas/Error' }, r.json)).toBeNull();
    }
  });

  it('the docs page and its assets are served by the engine itself', async () => {
    const page = await rawRequest(api, 'GET', '/docs');
    expect(page.status).toBe(200);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1]!, `${api}/docs`));
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const u of refs) {
      expect(u.origin).toBe(new URL(api).origin);
      expect((await rawRequest(api, 'GET', u.pathname)).status, u.pathname).toBe(200);
    }
  });
});
