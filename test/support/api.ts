import { get as httpGet, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/config.js';
import type { Engine } from '../../src/engine/engine.js';
import { createEngine } from '../../src/engine/presets.js';
import type { FeedStatus } from '../../src/marketdata/binance/feed.js';
import { VenueProcessor } from '../../src/marketdata/binance/processor.js';
import { REFERENCE_EXCHANGE_INFO } from '../../src/marketdata/binance/reference.js';
import { Store } from '../../src/store/db.js';
import { buildApi, type ApiContext } from '../../src/api/server.js';

/**
 * API test helpers: a fixture for the unit tests of src/api (a real engine with synced spot BTCUSDT and
 * ETHUSDT books, a real HTTP server in front of it on a free local port), an SSE client, raw requests,
 * and a validator of answers against the OpenAPI document. Also used by the end-to-end tests.
 */

export const T0 = 1_700_000_000_000;
export const TOKEN = 'correct-horse-battery-staple';

export function feedStatus(venue: 'spot' | 'usdm', messages: number, malformed: Record<string, number> = {}): FeedStatus {
  return {
    venue,
    state: 'up',
    lastError: null,
    connections: [{ name: 'market', state: 'open', messages, reconnects: 1, lastMessageAt: T0 }],
    rest: { requests: 2, failures: 0, rateLimitHits: 0, usedWeight1m: 42, bannedUntil: null },
    messages,
    malformed,
    unknownStreams: 0,
    books: {},
  } as FeedStatus;
}

export interface Fixture {
  engine: Engine;
  store: Store;
  base: string;
  app: ReturnType<typeof buildApi>;
  feeds: FeedStatus[];
  /** the spot processor feeding the engine (depth diffs: `depth()`) */
  processor: VenueProcessor;
  /** moves the engine's input clock (and the edge's wall clock) */
  setNow(t: number): void;
  close(): Promise<void>;
}

/**
 * A `setup` for a test file: each call builds an apiFixture, closed after the test that made it
 * (registers the afterEach; call once at the top level of the file).
 */
export function apiFixtures(): (opts?: Parameters<typeof apiFixture>[0]) => Promise<Fixture> {
  const open: Fixture[] = [];
  afterEach(async () => {
    while (open.length > 0) await open.pop()!.close();
  });
  return async (opts = {}) => {
    const f = await apiFixture(opts);
    open.push(f);
    return f;
  };
}

export async function apiFixture(opts: { apiToken?: string; stream?: ApiContext['stream']; env?: Record<string, string>; rateLimit?: number } = {}): Promise<Fixture> {
  const logger = pino({ level: 'silent' });
  const store = Store.open(':memory:');
  const config = loadConfig({
    // no ML gate unless a test asks for one (MODEL_PATH in env)
    SYMBOLS: 'BTCUSDT,ETHUSDT', FUTURES: 'false', MODEL_PATH: '', WARMUP_SECONDS: '0', WARMUP_POINTS: '0', LATENCY_ENTRY_MS: '1', LATENCY_RESPONSE_MS: '1', STREAM_INTERVAL_MS: '100',
    ...opts.env,
  });
  // the market as live would describe it (FUTURES=false: no USD-M data), for the ML gate's start checks
  const market = { traded: ['BTCUSDT', 'ETHUSDT'].map((symbol) => ({ venue: 'spot', symbol })), futuresSymbols: [] };
  const engine: Engine = createEngine({ config, sessionId: 's', startedAt: T0, seed: 1, store, logger, tradeVenue: 'spot', inputLog: null, market });
  const p = new VenueProcessor({ venue: 'spot', sink: engine, logger, symbols: ['BTCUSDT', 'ETHUSDT'] });
  p.onExchangeInfo({ symbols: [REFERENCE_EXCHANGE_INFO.spot['BTCUSDT'], REFERENCE_EXCHANGE_INFO.spot['ETHUSDT']] }, T0);
  p.onMessage(JSON.stringify({ stream: 'btcusdt@depth@100ms', data: { e: 'depthUpdate', E: T0, s: 'BTCUSDT', U: 101, u: 101, b: [['60000.00', '1.0']], a: [] } }), T0);
  p.onSnapshot('BTCUSDT', { lastUpdateId: 100, bids: [['60000.00', '2.0'], ['59999.00', '1.0']], asks: [['60001.00', '2.5'], ['60002.00', '1.0']] }, T0 + 1);
  p.onMessage(JSON.stringify({ stream: 'ethusdt@depth@100ms', data: { e: 'depthUpdate', E: T0, s: 'ETHUSDT', U: 51, u: 51, b: [['3000.00', '5.0']], a: [] } }), T0);
  p.onSnapshot('ETHUSDT', { lastUpdateId: 50, bids: [['3000.00', '4.0']], asks: [['3000.50', '3.0']] }, T0 + 1);
  let now = T0 + 10;
  const feeds = [feedStatus('spot', 1234, { depth: 2 })];
  const app = buildApi({ engine, feeds: () => feeds, version: 't', startedAt: T0, apiToken: opts.apiToken, clock: () => now, now: () => now, stream: opts.stream, rateLimit: opts.rateLimit });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    engine, store, base, app, feeds, processor: p,
    setNow: (t) => (now = t),
    close: async () => {
      if (app.server.listening) await app.close();
      store.close();
    },
  };
}

/** A spot depth diff (update id `u`, levels as [price, qty] strings) received at `t`. */
export function depth(f: Fixture, symbol: string, u: number, bids: [string, string][], asks: [string, string][], t: number): void {
  f.processor.onMessage(JSON.stringify({ stream: `${symbol.toLowerCase()}@depth@100ms`, data: { e: 'depthUpdate', E: t, s: symbol, U: u, u, b: bids, a: asks } }), t);
}

/** A market buy of 0.01 BTC, filled after the latency (a position, an order, a fill, equity rows). */
export function buyBtc(f: Fixture, at: number): void {
  f.engine.submit({ venue: 'spot', symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', qtyUnits: 1_000_000, strategy: 't', reason: 'test', createdAt: at });
  f.engine.tick(at + 5);
}

/** One Server-Sent Events frame as EventSource reads it (a comment is `{ comment }`). */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

/** Splits an SSE byte stream into frames (LF line endings, as the server writes them). */
export function parseSse(text: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  let rest = text;
  let i: number;
  while ((i = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, i);
    rest = rest.slice(i + 2);
    const f: SseFrame = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) f.comment = line.slice(1).trim();
      else {
        const c = line.indexOf(':');
        const key = (c < 0 ? line : line.slice(0, c)) as 'id' | 'event' | 'data' | 'retry';
        const value = c < 0 ? '' : line.slice(c + 1).replace(/^ /, '');
        f[key] = f[key] === undefined ? value : `${f[key]}\n${value}`;
      }
    }
    frames.push(f);
  }
  return { frames, rest };
}

export interface SseClient {
  status: number;
  headers: IncomingHttpHeaders;
  /** every frame so far */
  frames: SseFrame[];
  /** the body when the answer was not a stream */
  body: string;
  /** resolves with the first frame (from `from` on) that matches */
  next(pred: (f: SseFrame) => boolean, from?: number, timeoutMs?: number): Promise<SseFrame>;
  /** resolves when the server ended the response or dropped the connection */
  ended: Promise<void>;
  close(): void;
}

/** A plain HTTP client of GET /stream (what EventSource does, minus the reconnection). */
export function sseClient(base: string, path = '/stream'): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${base}${path}`, { headers: { accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      let body = '';
      const frames: SseFrame[] = [];
      const waiters: { pred: (f: SseFrame) => boolean; from: number; resolve: (f: SseFrame) => void }[] = [];
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => (endResolve = r));
      const check = () => {
        for (const w of [...waiters]) {
          const f = frames.slice(w.from).find(w.pred);
          if (f) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(f);
          }
        }
      };
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (res.statusCode !== 200) return void (body += d);
        const p = parseSse(buf + d);
        buf = p.rest;
        frames.push(...p.frames);
        check();
      });
      res.on('close', () => endResolve());
      res.on('error', () => endResolve());
      res.on('end', () => endResolve());
      const client: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        get body() {
          return body;
        },
        next: (pred, from = 0, timeoutMs = 10_000) =>
          new Promise<SseFrame>((ok, fail) => {
            const t = setTimeout(() => fail(new Error(`no matching SSE frame in ${timeoutMs} ms (got ${frames.length})`)), timeoutMs);
            waiters.push({ pred, from, resolve: (f) => (clearTimeout(t), ok(f)) });
            check();
          }),
        ended,
        close: () => req.destroy(),
      };
      if (res.statusCode !== 200) res.on('end', () => resolve(client));
      else resolve(client);
    });
    req.on('error', reject);
  });
}

/** Any request, as sent (node:http: fetch cannot send a GET with a body, nor a malformed request). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base + path);
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: opts.headers ?? {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let json: unknown = undefined;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Waits (bounded) until a condition holds; throws when it never does. */
export async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met in ${timeoutMs} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The parts of an OpenAPI document the tests read. */
export interface OpenApiOperation {
  summary?: string;
  parameters?: { in: string; name: string; required?: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: unknown }> };
  security?: Record<string, string[]>[];
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}
export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, Record<string, unknown>> };
}

/** Every operation of the document. */
export function operations(doc: OpenApiDoc): { path: string; method: string; op: OpenApiOperation }[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
}

/**
 * Checks a value against a schema of the document (JSON Schema 2020-12, as OpenAPI 3.1 has it; $refs to
 * the document's components resolved). Returns null when it is valid, else the errors.
 */
export function openApiValidator(doc: OpenApiDoc): (schema: Record<string, unknown>, value: unknown) => string | null {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'openapi', components: doc.components }, 'openapi');
  return (schema, value) => {
    const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as Record<string, unknown>;
    return ajv.validate(rewritten, value) ? null : ajv.errorsText(ajv.errors);
  };
}

/** One metric family of the Prometheus text format. */
export interface PromFamily {
  help: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** A strict reader of the text exposition format (version 0.0.4). */
export function parseExposition(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  let current: { name: string; family: PromFamily } | null = null;
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(line))) {
      if (families.has(m[1]!)) throw new Error(`family ${m[1]} twice`);
      const family: PromFamily = { help: m[2]!, type: '', samples: [] };
      families.set(m[1]!, family);
      current = { name: m[1]!, family };
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      if (!current || current.name !== m[1] || current.family.type !== '' || current.family.samples.length > 0) throw new Error(`TYPE out of place: ${line}`);
      current.family.type = m[2]!;
    } else if ((m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line))) {
      if (!current || current.family.type === '') throw new Error(`sample before HELP/TYPE: ${line}`);
      const [, name, labelText, valueText] = m;
      const base = current.name;
      const suffixes = current.family.type === 'histogram' ? ['_bucket', '_sum', '_count'] : current.family.type === 'summary' ? ['', '_sum', '_count'] : [''];
      if (!suffixes.some((s) => name === base + s)) throw new Error(`sample ${name} outside its family ${base}`);
      const labels: Record<string, string> = {};
      if (labelText) {
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
        let lm: RegExpExecArray | null;
        let end = 0;
        while ((lm = re.exec(labelText))) {
          labels[lm[1]!] = lm[2]!;
          end = re.lastIndex;
        }
        if (end !== labelText.length) throw new Error(`bad labels: ${line}`);
      }
      const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
      // prom-client writes NaN as "Nan" (Prometheus parses floats case-insensitively)
      if (Number.isNaN(value) && !/^nan$/i.test(valueText!)) throw new Error(`bad value: ${line}`);
      current.family.samples.push({ name: name!, labels, value });
    } else {
      throw new Error(`not exposition format: ${line}`);
    }
  }
  return families;
}

/** The value of one sample (by name and some labels) of a parsed exposition. */
export function promValue(fams: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = fams.get(name) ?? fams.get(name.replace(/_(bucket|sum|count)$/, ''));
  return fam?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
