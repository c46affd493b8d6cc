import { describe, expect, it } from 'vitest';
import { apiFixtures, buyBtc, openApiValidator, operations, rawRequest, sseClient, T0, TOKEN, type Fixture, type OpenApiDoc } from '../../test/support/api.js';

const setup = apiFixtures();

type Doc = OpenApiDoc;

async function openapi(f: Fixture): Promise<Doc> {
  const r = await fetch(`${f.base}/openapi.json`);
  expect(r.status).toBe(200);
  return (await r.json()) as Doc;
}
const validator = openApiValidator;

const EXAMPLE_PARAM: Record<string, string> = { symbol: 'BTCUSDT' };
const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_m, name: string) => EXAMPLE_PARAM[name] ?? 'x');
const ops = operations;

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1, with the error shape, the bearer scheme and every route of the API', async () => {
    const f = await setup();
    const doc = await openapi(f);
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.components.securitySchemes['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.schemas['Error']).toMatchObject({ type: 'object', required: ['error'] });
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/account', '/book/{symbol}', '/equity', '/fills', '/health', '/kill', '/latency', '/metrics', '/metrics/prometheus', '/openapi.json', '/orders',
        '/orders/open', '/pause', '/positions', '/resume', '/risk/denials', '/risk/reset-breaker', '/status', '/strategies', '/strategies/promote', '/stream', '/trades',
      ].sort(),
    );
    for (const { path, method, op } of ops(doc)) {
      expect(op.summary, `${method} ${path}`).toBeTruthy();
      for (const status of ['200', '400', '500']) expect(op.responses[status], `${method} ${path} ${status}`).toBeDefined();
      for (const [status, r] of Object.entries(op.responses)) {
        if (status !== '200') expect(r.content?.['application/json']?.schema, `${method} ${path} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
      if (method === 'post') {
        expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '413', '415']));
        expect(op.requestBody?.content['application/json']).toBeDefined();
      } else {
        expect(op.security, `${method} ${path}`).toBeUndefined();
        expect(op.requestBody).toBeUndefined();
      }
    }
  });

  it('documents query keys, path parameters and bodies from the zod schemas the routes check with', async () => {
    const f = await setup();
    const doc = await openapi(f);
    const trades = doc.paths['/trades']!['get']!;
    expect(trades.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'query', name: 'limit', required: false, schema: expect.objectContaining({ type: 'integer', minimum: 1, maximum: 10_000, default: 100 }) }),
        expect.objectContaining({ in: 'query', name: 'status', schema: expect.objectContaining({ enum: ['OPEN', 'CLOSED'] }) }),
      ]),
    );
    const book = doc.paths['/book/{symbol}']!['get']!;
    expect(book.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'path', name: 'symbol', required: true })]));
    expect(book.responses['404']).toBeDefined();
    const kill = doc.paths['/kill']!['post']!;
    // the body may be left out
    expect(kill.requestBody?.required).toBe(false);
    expect(kill.requestBody?.content['application/json']?.schema).toMatchObject({ type: 'object', additionalProperties: false, properties: { flatten: { type: 'boolean' } } });
    const promote = doc.paths['/strategies/promote']!['post']!;
    expect(promote.requestBody?.required).toBe(true);
    expect(promote.requestBody?.content['application/json']?.schema).toMatchObject({ required: ['variant'] });
    expect(doc.paths['/stream']!['get']!.responses['200']!.content).toHaveProperty(['text/event-stream']);
    expect(doc.paths['/stream']!['get']!.responses['503']).toBeDefined();
    expect(doc.paths['/metrics/prometheus']!['get']!.responses['200']!.content).toHaveProperty(['text/plain']);
  });

  it('walk: every GET answers 200 with a body its documented schema accepts, and 400 for an unknown query key or a body', async () => {
    const f = await setup({ apiToken: TOKEN });
    buyBtc(f, T0 + 20);
    f.engine.feedLatency.spot.observe(T0, T0 + 3.5);
    const doc = await openapi(f);
    const check = validator(doc);
    const gets = ops(doc).filter((o) => o.method === 'get');
    expect(gets.length).toBeGreaterThan(15);
    for (const { path, op } of gets) {
      const url = fill(path);
      if (path === '/stream') {
        const s = await sseClient(f.base, url);
        expect(s.status).toBe(200);
        expect(s.headers['content-type']).toMatch(/^text\/event-stream/);
        const snap = await s.next((x) => x.event === 'snapshot');
        expect(check({ $ref: '#/components/schemas/StreamSnapshot' }, JSON.parse(snap.data!))).toBeNull();
        s.close();
      } else {
        const r = await rawRequest(f.base, 'GET', url);
        expect(r.status, `GET ${url}: ${r.text.slice(0, 200)}`).toBe(200);
        const [type, media] = Object.entries(op.responses['200']!.content!)[0]!;
        expect(r.headers['content-type'], url).toContain(type);
        if (type === 'application/json') expect(check(media.schema, r.json), `GET ${url}`).toBeNull();
      }
      for (const bad of [`${url}${url.includes('?') ? '&' : '?'}bogus=1`]) {
        const r = await rawRequest(f.base, 'GET', bad);
        expect(r.status, `GET ${bad}`).toBe(400);
        expect(check({ $ref: '#/components/schemas/Error' }, r.json), `GET ${bad}`).toBeNull();
        expect(r.json.error.message).toContain('bogus');
      }
      const withBody = await rawRequest(f.base, 'GET', url, { body: '{}', headers: { 'content-type': 'application/json', 'content-length': '2' } });
      expect(withBody.status, `GET ${url} with a body`).toBe(400);
      expect(withBody.json.error).toEqual({ code: 'bad_request', message: 'a GET request takes no body' });
    }
  });

  it.each([
    [undefined, 403, 'forbidden'],
    [TOKEN, 401, 'unauthorized'],
  ])('walk: every POST without a token answers as documented (API_TOKEN %s: %i)', async (apiToken, status, code) => {
    const f = await setup({ apiToken });
    const doc = await openapi(f);
    const check = validator(doc);
    const posts = ops(doc).filter((o) => o.method === 'post');
    expect(posts.map((p) => p.path).sort()).toEqual(['/kill', '/pause', '/resume', '/risk/reset-breaker', '/strategies/promote']);
    for (const { path, op } of posts) {
      // even with a bad body: the token is checked first
      for (const body of [undefined, '{"bogus":1}']) {
        const r = await rawRequest(f.base, 'POST', path, body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } });
        expect(r.status, `POST ${path}`).toBe(status);
        expect(op.responses[String(status)], `POST ${path} documents ${status}`).toBeDefined();
        expect(check({ $ref: '#/components/schemas/Error' }, r.json)).toBeNull();
        expect(r.json.error.code).toBe(code);
      }
    }
    expect(f.engine.gateway.controlState()).toMatchObject({ halted: false, paused: false });
  });

  it('walk: every POST with the token answers 200 per its documented schema (promote: to "configured")', async () => {
    const f = await setup({ apiToken: TOKEN });
    const doc = await openapi(f);
    const check = validator(doc);
    const bodies: Record<string, unknown> = { '/kill': { reason: 'walk' }, '/pause': {}, '/strategies/promote': { variant: 'configured' } };
    for (const { path, op } of ops(doc).filter((o) => o.method === 'post')) {
      const body = JSON.stringify(bodies[path] ?? {});
      const r = await rawRequest(f.base, 'POST', path, { body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
      expect(r.status, `POST ${path}: ${r.text}`).toBe(200);
      expect(check(op.responses['200']!.content!['application/json']!.schema, r.json), `POST ${path}`).toBeNull();
    }
  });
});

describe('input validation and errors', () => {
  it.each([
    ['/trades?limit=abc', 'limit: expected a whole number'],
    ['/trades?limit=0', 'limit: expected 1..10000'],
    ['/trades?status=SOMETIMES', 'status'],
    ['/fills?symbol=BTC-USDT', 'symbol: expected a symbol like BTCUSDT'],
    ['/orders?limit=1&limit=2', 'limit'],
    ['/book/BTC-USDT', 'symbol: expected a symbol like BTCUSDT'],
    ['/book/BTCUSDT?depth=9999', 'depth: expected 1..5000'],
    ['/equity?since=yesterday', 'since: expected epoch milliseconds'],
    ['/equity?limit=100001', 'limit'],
    ['/stream?symbols=BTCUSDT,,ETH-USDT', 'symbols'],
    ['/account?verbose=1', 'Unrecognized key: "verbose"'],
  ])('GET %s answers 400 naming the field', async (path, text) => {
    const f = await setup();
    const r = await rawRequest(f.base, 'GET', path);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('bad_request');
    expect(r.json.error.message).toContain(text);
  });

  const json = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };
  it.each([
    ['bad JSON', 'POST', '/pause', 400, 'bad_request', { body: '{"reason":', headers: json }],
    ['an empty JSON body', 'POST', '/pause', 400, 'bad_request', { body: '', headers: json }],
    ['a body over 64 KiB', 'POST', '/pause', 413, 'payload_too_large', { body: JSON.stringify({ reason: 'x'.repeat(70_000) }), headers: json }],
    ['an unsupported content type', 'POST', '/pause', 415, 'unsupported_media_type', { body: '<pause/>', headers: { ...json, 'content-type': 'application/xml' } }],
    ['a text body', 'POST', '/pause', 400, 'bad_request', { body: 'pause', headers: { ...json, 'content-type': 'text/plain' } }],
    ['a JSON array', 'POST', '/kill', 400, 'bad_request', { body: '[]', headers: json }],
    ['an unknown body field', 'POST', '/kill', 400, 'bad_request', { body: '{"flaten":true}', headers: json }],
    ['a method the path does not take', 'DELETE', '/orders', 405, 'method_not_allowed', {}],
    ['GET on a control', 'GET', '/kill', 405, 'method_not_allowed', {}],
    ['an unknown path', 'GET', '/nope', 404, 'not_found', {}],
    ['an unknown method', 'PROPFIND', '/status', 405, 'method_not_allowed', {}],
    ['a malformed path', 'GET', '/book/%zz', 400, 'bad_request', {}],
    ['a malformed query', 'GET', '/trades?limit=%zz', 400, 'bad_request', {}],
  ] as const)('%s: %s %s answers %i %s in the error shape', async (_what, method, path, status, code, opts) => {
    const f = await setup({ apiToken: TOKEN });
    const r = await rawRequest(f.base, method, path, opts);
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(Object.keys(r.json)).toEqual(['error']);
    expect(r.json.error.code).toBe(code);
    expect(typeof r.json.error.message).toBe('string');
    expect(r.json.error.message.length).toBeGreaterThan(5);
    if (status === 405) expect(r.headers['allow']).toBeTruthy();
    expect(f.engine.gateway.controlState()).toMatchObject({ halted: false, paused: false });
  });

  it('a request node cannot parse is answered in the error shape too', async () => {
    const f = await setup();
    const { createConnection } = await import('node:net');
    const url = new URL(f.base);
    const text = await new Promise<string>((resolve) => {
      const s = createConnection({ host: url.hostname, port: Number(url.port) }, () => s.write('GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
    });
    expect(text).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'bad_request', message: 'malformed HTTP request' } });
  });
});

describe('the docs page', () => {
  it('is served at /docs with every script and stylesheet from this server, loading nothing from elsewhere', async () => {
    const f = await setup();
    const page = await fetch(`${f.base}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => r.endsWith('.js')).length).toBeGreaterThanOrEqual(3);
    expect(refs.filter((r) => r.endsWith('.css')).length).toBeGreaterThanOrEqual(1);
    for (const ref of refs) {
      const u = new URL(ref, `${f.base}/docs`);
      expect(u.origin, ref).toBe(f.base);
      const r = await fetch(u);
      expect(r.status, ref).toBe(200);
      const type = r.headers.get('content-type') ?? '';
      if (ref.endsWith('.js')) expect(type, ref).toMatch(/javascript/);
      if (ref.endsWith('.css')) expect(type, ref).toMatch(/text\/css/);
      await r.arrayBuffer();
    }
    // the page's own script fetches the document from this server, with no validator elsewhere
    const init = await (await fetch(`${f.base}/docs/static/swagger-initializer.js`)).text();
    const code = init.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
    expect(code).not.toMatch(/https?:\/\//);
    expect(init).toContain('validatorUrl: null');
    const spec = await fetch(`${f.base}/docs/json`);
    expect(await spec.json()).toEqual(await openapi(f));
  });
});

describe('GET /equity and GET /latency', () => {
  it('/equity returns the stored curve with high-water mark and drawdown, limited and from a time', async () => {
    const f = await setup();
    buyBtc(f, T0 + 20);
    f.engine.flush();
    const all = (await (await fetch(`${f.base}/equity`)).json()) as { points: { time: number; equity: number; highWaterMark: number; drawdown: number }[] };
    expect(all.points.length).toBeGreaterThanOrEqual(2);
    expect(all.points).toEqual(f.store.equityCurve('s', { limit: 1000 }));
    for (const p of all.points) {
      expect(p.highWaterMark).toBeGreaterThanOrEqual(p.equity);
      expect(p.drawdown).toBeCloseTo(p.equity / p.highWaterMark - 1, 12);
    }
    const last = (await (await fetch(`${f.base}/equity?limit=1`)).json()) as typeof all;
    expect(last.points).toEqual([all.points.at(-1)]);
    const since = all.points.at(-1)!.time;
    const after = (await (await fetch(`${f.base}/equity?since=${since}`)).json()) as typeof all;
    expect(after.points.every((p) => p.time >= since)).toBe(true);
    expect(after.points.length).toBeLessThan(all.points.length);
  });

  it('/latency returns each venue\'s distribution as FeedLatency computes it', async () => {
    const f = await setup();
    for (const ms of [0.5, 1, 2, 3, 40, 250]) f.engine.feedLatency.spot.observe(T0, T0 + ms);
    f.engine.feedLatency.usdm.observe(T0 + 10, T0);
    const r = (await (await fetch(`${f.base}/latency`)).json()) as { venues: Record<string, any> };
    expect(r.venues['spot']).toEqual(f.engine.feedLatency.spot.distribution());
    expect(r.venues['spot'].count).toBe(6);
    expect(r.venues['spot'].percentiles).toHaveLength(101);
    // HdrHistogram's convention: the highest value equivalent to the bucket (within 0.1%); the max is exact
    expect(r.venues['spot'].percentiles[100]).toBeGreaterThanOrEqual(250);
    expect(r.venues['spot'].percentiles[100]).toBeLessThanOrEqual(250 * 1.001);
    expect(r.venues['spot'].maxMs).toBe(250);
    expect(r.venues['usdm']).toMatchObject({ count: 0, negative: 1, percentiles: [] });
  });
});
