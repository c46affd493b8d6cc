import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiFixtures, operations, rawRequest, sseClient, TOKEN, type Fixture, type OpenApiDoc } from '../../test/support/api.js';
import { SECURITY_HEADERS } from '../web/routes.js';

/**
 * API security: every control endpoint of the OpenAPI document needs the bearer token; CORS stays closed;
 * bodies are limited; requests are rate-limited per address; the dashboard sends its security headers;
 * and random requests on every route never get a 5xx (fast-check, FUZZ_RUNS for a nightly run).
 */

const setup = apiFixtures();

async function openapi(f: Fixture): Promise<OpenApiDoc> {
  const r = await f.app.inject({ url: '/openapi.json' });
  expect(r.statusCode).toBe(200);
  return r.json() as OpenApiDoc;
}

const CHANGING = new Set(['post', 'put', 'patch', 'delete']);
/** a body each control accepts (a new control that needs a body must add one here) */
const GOOD_BODY: Record<string, unknown> = { '/strategies/promote': { variant: 'configured' }, '/kill': { reason: 'security test' } };

function expectErrorShape(status: number, body: string, code?: string): void {
  const json = JSON.parse(body) as { error: { code: unknown; message: unknown } };
  expect(Object.keys(json)).toEqual(['error']);
  expect(typeof json.error.code).toBe('string');
  expect(typeof json.error.message).toBe('string');
  expect((json.error.message as string).length, `${status}`).toBeGreaterThan(0);
  if (code) expect(json.error.code).toBe(code);
}

describe('control endpoints (every POST/PUT/PATCH/DELETE of the OpenAPI document)', () => {
  it('answer 403 without API_TOKEN; 401 with no token or a wrong one; 2xx with the right one', async () => {
    const off = await setup();
    const on = await setup({ apiToken: TOKEN });
    const controls = operations(await openapi(on)).filter((o) => CHANGING.has(o.method));
    // every operation documents the rate limit's answer
    for (const o of operations(await openapi(on))) expect(o.op.responses['429'], `${o.method} ${o.path}`).toBeDefined();
    expect(controls.map((c) => c.path).sort()).toEqual(expect.arrayContaining(['/kill', '/pause', '/resume', '/risk/reset-breaker', '/strategies/promote']));
    for (const { path, method } of controls) {
      const payload = JSON.stringify(GOOD_BODY[path] ?? {});
      const send = (f: Fixture, auth?: string) =>
        f.app.inject({ method: method.toUpperCase() as 'POST', url: path, payload, headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) } });
      for (const auth of [undefined, `Bearer ${TOKEN}`]) {
        const r = await send(off, auth);
        expect(r.statusCode, `${method} ${path} without API_TOKEN`).toBe(403);
        expectErrorShape(r.statusCode, r.body, 'forbidden');
      }
      for (const auth of [undefined, 'Bearer', `Bearer ${TOKEN}-`, `Bearer ${TOKEN.toUpperCase()}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN]) {
        const r = await send(on, auth);
        expect(r.statusCode, `${method} ${path} with ${auth ?? 'no token'}`).toBe(401);
        expectErrorShape(r.statusCode, r.body, 'unauthorized');
        expect(r.body).not.toContain(TOKEN);
      }
      // nothing changed so far
      expect(on.engine.gateway.controlState()).toMatchObject({ halted: false, paused: false });
      const ok = await send(on, `Bearer ${TOKEN}`);
      expect(ok.statusCode, `${method} ${path} with the right token: ${ok.body}`).toBeGreaterThanOrEqual(200);
      expect(ok.statusCode).toBeLessThan(300);
      // leave the engine running for the next endpoint
      await on.app.inject({ method: 'POST', url: '/resume', headers: { authorization: `Bearer ${TOKEN}` } });
    }
  });
});

describe('CORS, body size, security headers', () => {
  it('sends no CORS allowance: not on a cross-origin GET, not on a preflight', async () => {
    const f = await setup({ apiToken: TOKEN });
    const get = await rawRequest(f.base, 'GET', '/status', { headers: { origin: 'https://evil.example' } });
    expect(get.status).toBe(200);
    expect(get.headers['access-control-allow-origin']).toBeUndefined();
    expect(get.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await rawRequest(f.base, 'OPTIONS', '/kill', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(pre.status).toBeGreaterThanOrEqual(400);
    expect(pre.status).toBeLessThan(500);
    for (const h of ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers']) expect(pre.headers[h]).toBeUndefined();
    expectErrorShape(pre.status, pre.text);
  });

  it('refuses a body over 64 KiB with 413 in the error shape, before looking at the token', async () => {
    const f = await setup({ apiToken: TOKEN });
    const big = JSON.stringify({ reason: 'x'.repeat(70 * 1024) });
    const r = await rawRequest(f.base, 'POST', '/pause', { body: big, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
    expect(r.status).toBe(413);
    expectErrorShape(r.status, r.text, 'payload_too_large');
    expect(f.engine.gateway.controlState()).toMatchObject({ paused: false });
  });

  it('serves the dashboard with its security headers, and the API answers without framing or sniffing risks', async () => {
    const f = await setup();
    const page = await f.app.inject({ url: '/' });
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(page.headers[k], k).toBe(v);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});

describe('per-address rate limit (API_RATE_LIMIT)', () => {
  it('answers 429 in the error shape with Retry-After past the limit, per address; other addresses go on', async () => {
    const f = await setup({ rateLimit: 5 });
    const from = (ip: string, url = '/health') => f.app.inject({ url, remoteAddress: ip });
    for (let i = 0; i < 5; i++) expect((await from('10.0.0.1', i % 2 ? '/health' : '/status')).statusCode).toBe(200);
    const over = await from('10.0.0.1');
    expect(over.statusCode).toBe(429);
    expectErrorShape(over.statusCode, over.body, 'too_many_requests');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);
    // the dashboard, unknown paths and the controls count too
    expect((await from('10.0.0.1', '/')).statusCode).toBe(429);
    expect((await from('10.0.0.1', '/no/such/path')).statusCode).toBe(429);
    expect((await f.app.inject({ method: 'POST', url: '/kill', remoteAddress: '10.0.0.1', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(429);
    // another address has its own budget
    expect((await from('10.0.0.2')).statusCode).toBe(200);
  });

  it('counts a live stream connection once, however long it streams', async () => {
    const f = await setup({ rateLimit: 3, stream: { intervalMs: 20 } });
    const c = await sseClient(f.base);
    try {
      expect(c.status).toBe(200);
      // several snapshots come over the one connection
      await c.next((fr) => fr.event === 'snapshot', 3);
    } finally {
      c.close();
    }
    // 1 used by the stream: two more, then 429
    expect((await rawRequest(f.base, 'GET', '/health')).status).toBe(200);
    expect((await rawRequest(f.base, 'GET', '/health')).status).toBe(200);
    expect((await rawRequest(f.base, 'GET', '/health')).status).toBe(429);
  });

  it('is off with 0 (and when unset)', async () => {
    const f = await setup({ rateLimit: 0 });
    for (let i = 0; i < 50; i++) expect((await f.app.inject({ url: '/health' })).statusCode).toBe(200);
    expect((await f.app.inject({ url: '/health' })).headers['x-ratelimit-limit']).toBeUndefined();
  });
});

// each case is a request: a nightly run (FUZZ_RUNS) makes a twentieth as many
const API_RUNS = process.env['FUZZ_RUNS'] ? Math.max(2_000, Math.round(Number(process.env['FUZZ_RUNS']) / 20)) : 2_000;

describe('fuzz: random requests on every route', () => {
  it(`never answer 5xx; every 4xx is in the error shape (${API_RUNS} requests)`, async () => {
    const f = await setup({ apiToken: TOKEN, env: { SHADOW: '' } });
    const ops = operations(await openapi(f));
    const paths = [...new Set(ops.map((o) => o.path)), '/', '/docs', '/docs/json', '/nope', '/assets/x/app.js', '/book/', '/book/%', '/book/%E0%A4%A'];
    const queryKeys = ['limit', 'symbol', 'status', 'since', 'depth', 'venue', 'symbols', 'x', '__proto__', 'constructor', 'limit[]', 'a[b]'];
    const value = fc.oneof(
      fc.constantFrom('', '0', '-1', '1', '100', '1e309', 'NaN', '99999999999999999999', 'BTCUSDT', 'btcusdt', 'usdm', 'spot', 'OPEN', 'CLOSED', '%', '%00', '..%2F', 'a,b', 'true'),
      fc.string({ maxLength: 12 }),
      fc.integer().map(String),
    );
    const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...queryKeys), fc.string({ maxLength: 6 })), value), { maxLength: 4 });
    const body = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ flatten: fc.oneof(fc.boolean(), fc.jsonValue()), reason: fc.oneof(fc.string(), fc.jsonValue()), variant: fc.oneof(fc.constantFrom('configured', 'nope'), fc.string()), symbols: fc.oneof(fc.array(fc.string()), fc.jsonValue()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
      fc.constantFrom('{', '{"a":', '[', 'null', '1e999', '"x"', '{"__proto__":{"x":1}}', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'),
    );
    const request = fc.record({
      method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'),
      path: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...paths) }, fc.string({ maxLength: 10 }).map((s) => `/${encodeURIComponent(s)}`)),
      param: value,
      query,
      body,
      contentType: fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx'),
      auth: fc.constantFrom(undefined, `Bearer ${TOKEN}`, 'Bearer nope', 'Basic x', ''),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        let url = r.path.replace('{symbol}', encodeURIComponent(r.param));
        if (r.query.length > 0) url += `?${r.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
        // a live stream answered 200 never ends: ask it with HEAD (its headers), as the route allows
        const method = url.startsWith('/stream') && r.method === 'GET' ? 'HEAD' : r.method;
        const headers: Record<string, string> = {};
        if (r.contentType) headers['content-type'] = r.contentType;
        if (r.auth !== undefined) headers['authorization'] = r.auth;
        const res = await f.app.inject({ method: method as 'GET', url, headers, ...(r.body !== undefined && method !== 'GET' && method !== 'HEAD' ? { payload: r.body } : {}) });
        if (res.statusCode >= 500) throw new Error(`${method} ${url} (${r.contentType}, ${r.body}) answered ${res.statusCode}: ${res.body}`);
        if (res.statusCode >= 400 && method !== 'HEAD') {
          try {
            expectErrorShape(res.statusCode, res.body);
          } catch (e) {
            throw new Error(`${method} ${url} answered ${res.statusCode} not in the error shape: ${res.body.slice(0, 300)} (${String(e)})`);
          }
        }
        // keep the engine trading for the next requests
        if (f.engine.gateway.controlState().halted || f.engine.gateway.controlState().paused) f.engine.control({ cmd: 'resume' }, 0);
      }),
      { numRuns: API_RUNS },
    );
  }, process.env['FUZZ_RUNS'] ? 24 * 3_600_000 : 120_000);
});
