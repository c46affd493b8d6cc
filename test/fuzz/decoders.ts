import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import fc from 'fast-check';
import { DepthSync } from '../../src/book/sync.js';
import { ConfigError, loadConfig, VARIABLES } from '../../src/config/config.js';
import { decodeTradeStreamFrame } from '../../src/execution/alpaca/decode.js';
import { parseFeeOverrides } from '../../src/execution/paper/fees.js';
import { MarketDataDecoder } from '../../src/marketdata/alpaca/decode.js';
import { BinanceDecoder, decodeSnapshot, type DecodeOutcome } from '../../src/marketdata/binance/decode.js';
import { referenceInstrument } from '../../src/marketdata/binance/reference.js';
import type { MarketEvent } from '../../src/model/events.js';
import { parseParams, PARAMETER_KEYS } from '../../src/strategy/anomaly/params.js';
import { SPOT_FILES, USDM_BTC, type Line } from '../support/data.js';

/**
 * Fuzz properties of everything that reads outside input: the Binance and Alpaca decoders, the
 * parameters-file parser, fee overrides and the configuration. Each property takes its number of runs,
 * so that CI (test/fuzz.test.ts) and the nightly run (`npm run fuzz`, FUZZ_RUNS) share them. A property
 * throws (fast-check's report, with the shrunk counterexample and its seed) when it fails.
 */

/** The first `n` lines of a recording (a tiny reader of its own, so the test does not trust the code under test). */
export async function firstLines(file: string, n: number): Promise<Line[]> {
  const out: Line[] = [];
  const input = createReadStream(file).pipe(createGunzip());
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const sp = line.indexOf(' ');
    out.push({ recvNs: BigInt(line.slice(0, sp)), text: line.slice(sp + 1) });
    if (out.length >= n) break;
  }
  rl.close();
  input.destroy();
  return out;
}

export interface Samples {
  /** spot BTCUSDT lines (depth@100ms, trade, bookTicker and the REST snapshot) */
  spot: Line[];
  /** USD-M BTCUSDT lines (depth@0ms, trade, bookTicker) */
  usdm: Line[];
}

export async function loadSamples(lines = 300): Promise<Samples> {
  const [spot, usdm] = await Promise.all([firstLines(SPOT_FILES[0]!, lines), firstLines(USDM_BTC, lines)]);
  return { spot, usdm };
}

// ---------------------------------------------------------------- mutations

/** Values that break parsers: huge, negative, fractional, non-finite spelled as text, wrong types. */
const NASTY_VALUES: unknown[] = [
  0, -1, -0, 1.5, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, -1e308, 1e-320, Number.MAX_SAFE_INTEGER, 4_294_967_296,
  '0', '-1', '-0.5', '1e400', '1e-400', 'NaN', 'Infinity', '-Infinity', '0x10', ' 1', '1 ', '', '99999999999999999999999999.99999999',
  '0.000000000000000000001', '61837.630000000000000000001', '１２３', '\u0000', null, true, false, [], {}, [[]], ['1'], ['1', '2', '3'], { a: 1 },
];
const ODD_STREAMS = ['btcusdt@depth', 'BTCUSDT@trade', 'ethusdt@trade', '', '!serverShutdown', 'btcusdt@kline_1m', '__proto__', 'constructor', 'x'.repeat(5000)];
const ODD_EVENTS = ['depthUpdate', 'trade', 'aggTrade', 'markPriceUpdate', 'forceOrder', 'kline', '', 'DEPTHUPDATE', '__proto__'];

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

/** Paths to every value of a JSON value. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (prefix.length >= 40) return out; // deep nesting: the outer levels are enough to pick from
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  copy[path[0]!] = setAt(copy[path[0]!], path.slice(1), value);
  return copy;
}
function deleteAt(root: unknown, path: (string | number)[]): unknown {
  if (path.length === 0) return root;
  const copy: any = Array.isArray(root) ? [...root] : { ...(root as object) };
  if (path.length === 1) {
    if (Array.isArray(copy)) copy.splice(path[0] as number, 1);
    else delete copy[path[0]!];
    return copy;
  }
  copy[path[0]!] = deleteAt(copy[path[0]!], path.slice(1));
  return copy;
}

/** One mutation of a JSON text, as fast-check values. */
export type Mutation =
  | { op: 'truncate'; at: number }
  | { op: 'flip'; at: number; ch: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; len: number }
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'remove'; pick: number }
  | { op: 'stream'; name: string }
  | { op: 'event'; name: string }
  | { op: 'nest'; pick: number; depth: number; kind: 'array' | 'object' }
  | { op: 'deepText'; depth: number };

const jsonish = fc.oneof(
  fc.constantFrom(...NASTY_VALUES),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.stringMatching(/^-?\d{1,25}(\.\d{1,25})?$/),
  fc.jsonValue({ maxDepth: 3 }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), ch: fc.oneof(fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '\\', '-', '.', 'e', '0', '9', ' ', '\u0000', '\ud800'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('"', ',', '}', ']', '{"x":1}', ',"b":[["1","1"]]', ',"e":"trade"', 'null', '1e999', '-')) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: jsonish }),
  fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('stream' as const), name: fc.oneof(fc.constantFrom(...ODD_STREAMS), fc.string({ maxLength: 20 })) }),
  fc.record({ op: fc.constant('event' as const), name: fc.oneof(fc.constantFrom(...ODD_EVENTS), fc.string({ maxLength: 10 })) }),
  fc.record({ op: fc.constant('nest' as const), pick: fc.nat(), depth: fc.integer({ min: 1, max: 1000 }), kind: fc.constantFrom('array' as const, 'object' as const) }),
  fc.record({ op: fc.constant('deepText' as const), depth: fc.integer({ min: 1, max: 5_000 }) }),
);

/** Applies mutations to a JSON text; structural ones work on the parsed value (when the text still parses). */
export function mutate(text: string, ms: readonly Mutation[]): string {
  let t = text;
  for (const m of ms) {
    const at = (n: number): number => (t.length === 0 ? 0 : n % (t.length + 1));
    switch (m.op) {
      case 'truncate':
        t = t.slice(0, at(m.at));
        break;
      case 'flip': {
        const i = at(m.at);
        t = t.slice(0, i) + m.ch + t.slice(i + 1);
        break;
      }
      case 'insert': {
        const i = at(m.at);
        t = t.slice(0, i) + m.text + t.slice(i);
        break;
      }
      case 'delete': {
        const i = at(m.at);
        t = t.slice(0, i) + t.slice(i + m.len);
        break;
      }
      case 'deepText':
        // a message that is nothing but nesting (stack depth of a recursive parser)
        t = m.depth % 2 === 0 ? nested(m.depth, '[', ']') : nested(m.depth, '{"a":', '}');
        break;
      default:
        try {
          t = structural(t, m);
        } catch {
          // too deep for the test's own (recursive) helpers: keep the text
        }
    }
  }
  return t;
}

/** A mutation of the parsed value (the text is kept when it is not JSON). Throws when too deep for the helpers. */
function structural(text: string, m: Exclude<Mutation, { op: 'truncate' | 'flip' | 'insert' | 'delete' | 'deepText' }>): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return text;
  }
  const all = paths(v);
  const p = 'pick' in m ? all[m.pick % all.length]! : [];
  switch (m.op) {
    case 'set':
      return JSON.stringify(setAt(v, p, m.value)) ?? '';
    case 'remove':
      return JSON.stringify(deleteAt(v, p)) ?? '';
    case 'nest': {
      const inner = JSON.stringify(p.reduce((o: any, k) => o?.[k], v)) ?? '1';
      // placed as raw text (JSON.stringify would recurse as deep)
      const nestText = m.kind === 'array' ? nested(m.depth, '[', ']', inner) : nested(m.depth, '{"n":', '}', inner);
      return (JSON.stringify(setAt(v, p, '@@NEST@@')) ?? '').replace('"@@NEST@@"', nestText);
    }
    case 'stream':
      return v && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify({ ...v, stream: m.name }) : text;
    case 'event': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return text;
      const o = v as Record<string, unknown>;
      return JSON.stringify(o['data'] && typeof o['data'] === 'object' ? { ...o, data: { ...(o['data'] as object), e: m.name } } : { ...o, e: m.name });
    }
  }
}

// ---------------------------------------------------------------- Binance

function binanceDecoder(venue: 'spot' | 'usdm'): BinanceDecoder {
  const inst = referenceInstrument(venue, 'BTCUSDT');
  const d = new BinanceDecoder(venue);
  d.register(venue === 'spot' ? 'btcusdt@depth@100ms' : 'btcusdt@depth@0ms', 'depth', inst);
  d.register('btcusdt@trade', 'trade', inst);
  d.register('btcusdt@bookTicker', 'bookTicker', inst);
  if (venue === 'usdm') {
    d.register('btcusdt@markPrice@1s', 'markPrice', inst);
    d.register('btcusdt@forceOrder', 'forceOrder', inst);
  }
  return d;
}

/** USD-M message kinds the recordings do not hold (documented shapes). */
export const USDM_EXTRA = [
  '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1723161255000,"s":"BTCUSDT","p":"61800.10000000","P":"61790.00000000","i":"61810.20000000","r":"0.00010000","T":1723190400000}}',
  '{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":1723161255000,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.014","p":"61000.10","ap":"61050.00","X":"FILLED","l":"0.014","z":"0.014","T":1723161254990}}}',
];

/** A plain copy of a decoded event (decoders reuse their event objects). */
export function plain(ev: MarketEvent): Record<string, unknown> {
  if (ev.kind === 'depth') return { ...ev, bids: Array.from(ev.bids.subarray(0, ev.bidCount * 2)), asks: Array.from(ev.asks.subarray(0, ev.askCount * 2)) };
  return JSON.parse(JSON.stringify(ev)) as Record<string, unknown>;
}

const REASONS = new Set(['control', 'unknown_stream', 'malformed', 'shutdown']);
const KINDS = new Set(['depth', 'trade', 'bookTicker', 'markPrice', 'liquidation']);

function malformedTotal(d: BinanceDecoder): number {
  return Object.values(d.malformed).reduce((a, b) => a + b, 0);
}

/** Checks one outcome against the decoder's counters; returns a plain copy of it. */
function checkOutcome(d: BinanceDecoder, before: { malformed: number; unknown: number }, r: DecodeOutcome): unknown {
  if (r.ok) {
    if (!KINDS.has(r.event.kind)) throw new Error(`unexpected event kind ${r.event.kind}`);
    const e = plain(r.event);
    for (const [k, v] of Object.entries(e)) {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${r.event.kind}.${k} is ${v}`);
      if (k.endsWith('Units') && typeof v === 'number' && (!Number.isSafeInteger(v) || v < 0)) throw new Error(`${r.event.kind}.${k} is ${v}`);
    }
    if (r.event.kind === 'depth') {
      // every price and quantity is exact: a value past 2^53 units is malformed, never rounded
      for (const x of [...(e['bids'] as number[]), ...(e['asks'] as number[])]) {
        if (!Number.isSafeInteger(x) || x < 0) throw new Error(`depth level value ${x}`);
      }
    }
    if (malformedTotal(d) !== before.malformed || d.unknownStreams !== before.unknown) throw new Error('a decoded message changed the failure counters');
    return e;
  }
  if (!REASONS.has(r.reason)) throw new Error(`unexpected reason ${r.reason}`);
  const malformedDelta = malformedTotal(d) - before.malformed;
  const unknownDelta = d.unknownStreams - before.unknown;
  if (r.reason === 'malformed' && (malformedDelta !== 1 || unknownDelta !== 0)) throw new Error(`malformed not counted once (${malformedDelta}, ${unknownDelta})`);
  if (r.reason === 'unknown_stream' && (unknownDelta !== 1 || malformedDelta !== 0)) throw new Error('unknown stream not counted once');
  if ((r.reason === 'control' || r.reason === 'shutdown') && (malformedDelta !== 0 || unknownDelta !== 0)) throw new Error(`${r.reason} counted as a failure`);
  return { ok: false, reason: r.reason, kind: r.kind };
}

function decodeChecked(d: BinanceDecoder, text: string, t: number): unknown {
  const before = { malformed: malformedTotal(d), unknown: d.unknownStreams };
  return checkOutcome(d, before, d.decode(text, t));
}

/**
 * Mutated real messages (truncations, byte flips, inserts, wrong types, huge/negative numbers, unknown
 * streams and events, deep nesting): the decoder never throws, answers ok with finite integer units or a
 * failure that is counted exactly once; a message that is not JSON any more is never decoded; and a
 * message that is still JSON gets the same answer when laid out differently: the fast scanner agrees
 * exactly with the JSON.parse + zod path, nothing tolerated. Memory: the failure counters stay a handful
 * of keys.
 */
export function binanceMutations(samples: Samples, numRuns: number, seed?: number): void {
  const decoders = { spot: binanceDecoder('spot'), usdm: binanceDecoder('usdm') };
  const pool = [
    ...samples.spot.filter((l) => l.text.startsWith('{"stream"')).map((l) => ({ venue: 'spot' as const, text: fewLevels(l.text) })),
    ...[...samples.usdm.filter((l) => l.text.startsWith('{"stream"')).map((l) => fewLevels(l.text)), ...USDM_EXTRA].map((text) => ({ venue: 'usdm' as const, text })),
  ];
  fc.assert(
    fc.property(fc.nat({ max: pool.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (i, ms) => {
      const { venue, text } = pool[i]!;
      const d = decoders[venue];
      const mutated = mutate(text, ms);
      const got = decodeChecked(d, mutated, 1);
      try {
        JSON.parse(mutated);
      } catch {
        // not JSON: never decoded (only the unknown-stream and shutdown answers read the envelope alone)
        if ((got as { kind?: unknown }).kind !== undefined && (got as { ok?: boolean }).ok !== false) {
          throw new Error(`invalid JSON decoded: ${JSON.stringify(mutated)}`);
        }
        return;
      }
      // the same message in another layout (a leading space: never the fast path) must decode the same
      const pretty = ` ${mutated}`;
      const fresh = binanceDecoder(venue);
      const again = decodeChecked(fresh, pretty, 1);
      if (JSON.stringify(again) !== JSON.stringify(got)) {
        throw new Error(`layout changes the answer:\n fast: ${JSON.stringify(got)}\n slow: ${JSON.stringify(again)}`);
      }
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
  for (const d of Object.values(decoders)) {
    const keys = Object.keys(d.malformed);
    if (keys.length > 8) throw new Error(`malformed counters grew to ${keys.length} keys: ${keys.join(', ')}`);
  }
}

/** A real message with its depth levels cut to the first 12 per side (cheaper cases, same layout). */
function fewLevels(text: string): string {
  if (!text.includes('depthUpdate')) return text;
  const m = JSON.parse(text) as { data: { b: unknown[]; a: unknown[] } };
  m.data.b = m.data.b.slice(0, 12);
  m.data.a = m.data.a.slice(0, 12);
  return JSON.stringify(m);
}

/** Any text at all, and any JSON value in the stream envelope: never throws, always counted. */
export function binanceArbitrary(numRuns: number, seed?: number): void {
  const d = binanceDecoder('usdm');
  const streams = fc.constantFrom('btcusdt@depth@0ms', 'btcusdt@trade', 'btcusdt@bookTicker', 'btcusdt@markPrice@1s', 'btcusdt@forceOrder', 'nope');
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200, unit: 'binary' }),
        fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
        fc.tuple(streams, fc.jsonValue({ maxDepth: 4 })).map(([s, v]) => `{"stream":"${s}","data":${JSON.stringify(v)}}`),
        fc.tuple(streams, fc.dictionary(fc.constantFrom('e', 'E', 's', 'U', 'u', 'pu', 'b', 'a', 't', 'p', 'q', 'm', 'B', 'A', 'o', 'i', 'r', 'T'), jsonish)).map(
          ([s, v]) => `{"stream":"${s}","data":${JSON.stringify(v)}}`,
        ),
      ),
      (text) => {
        decodeChecked(d, text, 1);
      },
    ),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
  if (Object.keys(d.malformed).length > 8) throw new Error(`malformed counters grew: ${Object.keys(d.malformed).join(', ')}`);
}

/** REST snapshots with wrong types and odd numbers: an error text or a snapshot on the grid, never a throw. */
export function binanceSnapshots(samples: Samples, numRuns: number, seed?: number): void {
  const inst = referenceInstrument('spot', 'BTCUSDT');
  const snap = samples.spot.find((l) => l.text.startsWith('{"lastUpdateId"'))!.text;
  // a smaller snapshot keeps each case cheap
  const small = JSON.stringify({ ...JSON.parse(snap), bids: JSON.parse(snap).bids.slice(0, 20), asks: JSON.parse(snap).asks.slice(0, 20) });
  fc.assert(
    fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (ms) => {
      let body: unknown;
      try {
        body = JSON.parse(mutate(small, ms));
      } catch {
        return;
      }
      const r = decodeSnapshot('spot', inst, body, 1);
      if (typeof r === 'string') {
        if (!r.startsWith('depth snapshot: ')) throw new Error(`error text ${r}`);
        return;
      }
      for (const x of [...r.bids, ...r.asks]) if (!Number.isSafeInteger(x) || x < 0) throw new Error(`snapshot level value ${x}`);
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}

/** A sequence of real spot diffs after the real snapshot, each possibly mutated, dropped, repeated or moved. */
type Step = { kind: 'keep' } | { kind: 'drop' } | { kind: 'repeat' } | { kind: 'swap' } | { kind: 'qty'; level: number; qty: string } | { kind: 'price'; level: number; delta: number } | { kind: 'mutate'; ms: Mutation[] };

/**
 * The book stays consistent whatever arrives: bids strictly falling and asks strictly rising from the best,
 * every quantity a positive integer, and the book holds exactly what the diffs it applied say (a model
 * map rebuilt from the snapshot and the applied diffs), the update id never going back while synced.
 */
export function binanceBook(samples: Samples, numRuns: number, seed?: number): void {
  const inst = referenceInstrument('spot', 'BTCUSDT');
  const snapIdx = samples.spot.findIndex((l) => l.text.startsWith('{"lastUpdateId"'));
  const snapshot = decodeSnapshot('spot', inst, JSON.parse(samples.spot[snapIdx]!.text), 1);
  if (typeof snapshot === 'string') throw new Error(snapshot);
  const diffs = samples.spot.filter((l) => l.text.startsWith('{"stream":"btcusdt@depth')).map((l) => l.text);
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ kind: 'keep' as const }) },
    fc.constant({ kind: 'drop' as const }),
    fc.constant({ kind: 'repeat' as const }),
    fc.constant({ kind: 'swap' as const }),
    fc.record({ kind: fc.constant('qty' as const), level: fc.nat(), qty: fc.oneof(fc.constantFrom('0.00000000', '0', '0.00000001', '99999.99999999'), fc.stringMatching(/^\d{1,6}\.\d{1,8}$/)) }),
    fc.record({ kind: fc.constant('price' as const), level: fc.nat(), delta: fc.integer({ min: -5000, max: 5000 }) }),
    fc.record({ kind: fc.constant('mutate' as const), ms: fc.array(mutationArb, { minLength: 1, maxLength: 2 }) }),
  );
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
      const d = binanceDecoder('spot');
      const sync = new DepthSync('spot', 'BTCUSDT');
      if (sync.onSnapshot({ ...snapshot, bids: snapshot.bids.slice(), asks: snapshot.asks.slice() }, 1) !== 'synced') {
        // the first diffs of the file are older than its snapshot: buffer nothing, load it
      }
      const model = { bids: new Map<number, number>(), asks: new Map<number, number>() };
      const load = (): void => {
        model.bids.clear();
        model.asks.clear();
        for (let i = 0; i < snapshot.bids.length; i += 2) model.bids.set(snapshot.bids[i]!, snapshot.bids[i + 1]!);
        for (let i = 0; i < snapshot.asks.length; i += 2) model.asks.set(snapshot.asks[i]!, snapshot.asks[i + 1]!);
        for (const m of [model.bids, model.asks]) for (const [p, q] of m) if (q === 0) m.delete(p);
      };
      load();
      const queue = diffs.slice();
      let lastId = sync.book.lastUpdateId;
      for (let k = 0; k < steps.length && queue.length > 0; k++) {
        const s = steps[k]!;
        let text = queue[0]!;
        if (s.kind === 'drop') {
          queue.shift();
          continue;
        }
        if (s.kind === 'swap' && queue.length > 1) {
          [queue[0], queue[1]] = [queue[1]!, queue[0]!];
          text = queue[0]!;
        }
        if (s.kind !== 'repeat') queue.shift();
        if (s.kind === 'qty' || s.kind === 'price') {
          const msg = JSON.parse(text) as { data: { b: [string, string][]; a: [string, string][] } };
          const levels = [...msg.data.b, ...msg.data.a];
          if (levels.length > 0) {
            const lv = levels[s.level % levels.length]!;
            if (s.kind === 'qty') lv[1] = s.qty;
            else lv[0] = Math.max(0.01, Number(lv[0]) + s.delta / 100).toFixed(8);
          }
          text = JSON.stringify(msg);
        }
        if (s.kind === 'mutate') text = mutate(text, s.ms);
        const r = d.decode(text, 1);
        if (!r.ok || r.event.kind !== 'depth') continue;
        const ev = r.event;
        const wasSynced = sync.synced;
        const outcome = sync.onDiff(ev);
        if (outcome === 'applied') {
          for (let i = 0; i < ev.bidCount; i++) {
            const [p, q] = [ev.bids[2 * i]!, ev.bids[2 * i + 1]!];
            if (q === 0) model.bids.delete(p);
            else model.bids.set(p, q);
          }
          for (let i = 0; i < ev.askCount; i++) {
            const [p, q] = [ev.asks[2 * i]!, ev.asks[2 * i + 1]!];
            if (q === 0) model.asks.delete(p);
            else model.asks.set(p, q);
          }
          if (sync.book.lastUpdateId < lastId) throw new Error(`update id went back ${lastId} -> ${sync.book.lastUpdateId}`);
          lastId = sync.book.lastUpdateId;
        } else if (outcome === 'gap') {
          if (!wasSynced || sync.synced) throw new Error('a gap left the book synced');
          return; // resyncing: the book is cleared and waits for a snapshot
        } else if (outcome === 'stale' && sync.book.lastUpdateId !== lastId) throw new Error('a stale diff moved the book');
        checkSide(sync.book.bids, model.bids, 'bids');
        checkSide(sync.book.asks, model.asks, 'asks');
      }
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}

function checkSide(side: { size: number; price(i: number): number; qty(i: number): number; dir: 1 | -1 }, model: Map<number, number>, name: string): void {
  if (side.size !== model.size) throw new Error(`${name}: ${side.size} levels, the model has ${model.size}`);
  for (let i = 0; i < side.size; i++) {
    const p = side.price(i);
    const q = side.qty(i);
    if (!Number.isSafeInteger(q) || q <= 0) throw new Error(`${name}[${i}] qty ${q}`);
    if (model.get(p) !== q) throw new Error(`${name}[${i}] ${p} x ${q}, the model has ${model.get(p)}`);
    if (i > 0) {
      const prev = side.price(i - 1);
      if (side.dir === 1 ? !(prev > p) : !(prev < p)) throw new Error(`${name} out of order at ${i}: ${prev} then ${p}`);
    }
  }
}

// ---------------------------------------------------------------- Alpaca

export const ALPACA_MARKET_FRAMES = [
  '[{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}]',
  '[{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}]',
  '[{"T":"b","S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"t":"2021-02-22T19:15:00Z","n":461,"vw":389.0623}]',
  '[{"T":"t","S":"BTC/USD","p":43250.5,"s":0.0125,"t":"2024-01-05T14:30:01.123456Z","i":123456789,"tks":"B"},{"T":"u","S":"BTC/USD","o":1,"h":2,"l":0.5,"c":1.5,"v":3,"t":"2024-01-05T14:30:00Z","n":4,"vw":1.2}]',
  '[{"T":"success","msg":"connected"}]',
  '[{"T":"error","code":402,"msg":"auth failed"}]',
  '[{"T":"subscription","trades":["AAPL"],"quotes":["CLDR"],"bars":["*"],"updatedBars":[],"dailyBars":[],"statuses":[],"lulds":[],"corrections":["AAPL"],"cancelErrors":["AAPL"]}]',
  '[{"T":"s","S":"AAPL","sc":"H","sm":"Trading Halt"}]',
];

/** Alpaca market-data frames, mutated: never throws; every message is an event, a control, ignored or counted malformed. */
export function alpacaMarketData(numRuns: number, seed?: number): void {
  const decoders = { stocks: new MarketDataDecoder('stocks'), crypto: new MarketDataDecoder('crypto') };
  fc.assert(
    fc.property(fc.constantFrom(...ALPACA_MARKET_FRAMES), fc.array(mutationArb, { minLength: 0, maxLength: 3 }), fc.boolean(), (frame, ms, crypto) => {
      const d = crypto ? decoders.crypto : decoders.stocks;
      const text = mutate(frame, ms);
      const before = { bad: d.malformedTotal(), ignored: d.ignored };
      const out = d.decode(text, 1);
      const handled = out.events.length + out.controls.length + (d.malformedTotal() - before.bad) + (d.ignored - before.ignored);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        if (handled !== 1 || d.malformedTotal() - before.bad !== 1) throw new Error('not-JSON not counted once');
        return;
      }
      const expected = Array.isArray(parsed) ? parsed.length : 1;
      if (handled !== expected) throw new Error(`${expected} messages, ${handled} accounted for`);
      for (const e of out.events) {
        for (const [k, v] of Object.entries(e)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${e.kind}.${k} is ${v}`);
      }
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
  for (const d of Object.values(decoders)) if (Object.keys(d.malformed).length > 12) throw new Error(`malformed reasons grew: ${Object.keys(d.malformed).join(', ')}`);
}

const ORDER = {
  id: 'a5be8f5e-fdfa-41f5-a644-7a74fe947a8f', client_order_id: 'pt-7', symbol: 'SOLUSD', asset_class: 'crypto', side: 'sell', type: 'market',
  order_type: 'market', time_in_force: 'gtc', qty: '1790.86', notional: null, filled_qty: '1790.86', filled_avg_price: '105.8988475', status: 'filled',
  order_class: '', extended_hours: false, legs: null, limit_price: null, stop_price: null, trail_percent: null, trail_price: null, hwm: null,
  created_at: '2022-04-19T13:45:04.981350886-04:00', updated_at: '2022-04-19T13:45:05.027690731-04:00', submitted_at: '2022-04-19T13:45:04.980944666-04:00',
  filled_at: '2022-04-19T17:45:05.024916716Z', expired_at: null, canceled_at: null, failed_at: null, replaced_at: null, replaced_by: null, replaces: null,
  asset_id: '1cf35270-99ee-44e2-a77f-6fab902c7f80',
};
export const TRADE_STREAM_FRAMES = [
  JSON.stringify({ stream: 'trade_updates', data: { event: 'fill', execution_id: '2f63ea93-423d-4169-b3f6-3fdafc10c418', timestamp: '2022-04-19T17:45:05.024916716Z', price: '105.8988475', qty: '1790.86', position_qty: '0', order: ORDER } }),
  JSON.stringify({ stream: 'trade_updates', data: { event: 'new', timestamp: '2022-04-19T17:45:04.98Z', order: { ...ORDER, status: 'new', filled_qty: '0', filled_avg_price: null } } }),
  '{"stream":"authorization","data":{"status":"authorized","action":"authenticate"}}',
  '{"stream":"listening","data":{"streams":["trade_updates"]}}',
];
const STREAM_TYPES = new Set(['authorization', 'listening', 'trade_update', 'malformed', 'other']);

/** trade_updates frames, mutated: never throws, always one of the known message types. */
export function alpacaTradeUpdates(numRuns: number, seed?: number): void {
  fc.assert(
    fc.property(fc.constantFrom(...TRADE_STREAM_FRAMES), fc.array(mutationArb, { minLength: 0, maxLength: 3 }), (frame, ms) => {
      const r = decodeTradeStreamFrame(mutate(frame, ms), 1);
      if (!STREAM_TYPES.has(r.type)) throw new Error(`type ${r.type}`);
      if (r.type === 'trade_update') {
        const u = r.update;
        for (const v of [u.price, u.qty, u.positionQty]) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`trade update number ${v}`);
      }
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}

// ---------------------------------------------------------------- parameters file, fees, config

const PARAM_KEYS = Object.keys(PARAMETER_KEYS);

/** Parameters files: random text and random key=value lines: never throws; errors name their line. */
export function paramsFile(numRuns: number, seed?: number): void {
  const value = fc.oneof(
    fc.constantFrom(...NASTY_VALUES.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''))),
    fc.constantFrom('trades', 'bars', '10', '0.5', '1e3', '-3', '1e309', '0x1f', '99999999999999999999', 'NaN', ' 7 ', '5 # comment', '=', '\u00a0'),
    fc.string({ maxLength: 10 }),
    fc.double().map(String),
    fc.integer().map(String),
  );
  const line = fc.oneof(
    fc.tuple(fc.oneof(fc.constantFrom(...PARAM_KEYS), fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty')), value, fc.constantFrom('=', ' = ', '==', '')).map(([k, v, eq]) => `${k}${eq}${v}`),
    fc.constantFrom('', '# comment', '   ', '\uFEFF', '=', '=1'),
    fc.string({ maxLength: 40 }),
  );
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 100, unit: 'binary' }), fc.tuple(fc.array(line, { maxLength: 16 }), fc.constantFrom('\n', '\r\n', '\r')).map(([ls, nl]) => ls.join(nl))),
      (text) => {
        const r = parseParams(text);
        if (r.ok) {
          for (const [k, v] of Object.entries(r.value)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${k} = ${v}`);
          return;
        }
        if (r.code !== 'bad_params' || r.errors.length === 0 || r.errors.some((e) => typeof e !== 'string' || e.length === 0)) throw new Error(`bad error result ${JSON.stringify(r)}`);
        if (r.message !== r.errors.join('\n')) throw new Error('message and errors differ');
      },
    ),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}

/** FEE_OVERRIDES texts: a list of finite rates inside the bounds, or one Error with a message. */
export function feeOverrides(numRuns: number, seed?: number): void {
  const rate = fc.oneof(fc.constantFrom('0.0002', '-0.0001', '0.01', '-0.01', '1e-4', '.5', '1e400', 'NaN', '', '0x1', '+0.001'), fc.double().map(String), fc.string({ maxLength: 6 }));
  const entry = fc.oneof(
    fc.tuple(fc.constantFrom('spot', 'usdm', 'alpaca', '*', 'SPOT', 'x', ''), fc.constantFrom('BTCUSDT', '*', 'DOGE/USD', 'tsla', '', 'A/B/C', '__proto__'), rate, rate).map(([v, s, m, t]) => `${v}:${s}=${m}/${t}`),
    fc.string({ maxLength: 30 }),
  );
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(entry, { maxLength: 5 }).map((es) => es.join(','))), (text) => {
      let out;
      try {
        out = parseFeeOverrides(text);
      } catch (e) {
        if (!(e instanceof Error) || e.message.length === 0) throw new Error(`threw ${String(e)}`);
        return;
      }
      for (const o of out) if (!(Math.abs(o.maker) < 0.01 && Math.abs(o.taker) < 0.01)) throw new Error(`rate out of bounds ${JSON.stringify(o)}`);
    }),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}

const VARIABLE_NAMES = Object.keys(VARIABLES);

/** Random values for random variables: a Config, or a ConfigError listing problems; nothing else. */
export function configValues(numRuns: number, seed?: number): void {
  const value = fc.oneof(
    fc.constantFrom('', ' ', '0', '-1', '1e309', 'NaN', 'true', 'yes', 'BTCUSDT', 'alpaca:TSLA', 'x,y', '1,2,3', 'http://127.0.0.1:1', 'ws://h', '00:00', '25:99', 'degrees:8.5', '99999999999999999999', '\u0000'),
    fc.string({ maxLength: 20 }),
    fc.double().map(String),
    fc.integer().map(String),
  );
  fc.assert(
    fc.property(
      fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...VARIABLE_NAMES) }, fc.constantFrom('RISK_NOPE', 'OBI_X', 'PATH', 'TELEGRAM_', '__proto__')), value, { maxKeys: 6 }),
      (env) => {
        try {
          const c = loadConfig(env);
          for (const [k, v] of Object.entries(c)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`${k} = ${v}`);
        } catch (e) {
          if (!(e instanceof ConfigError) || e.problems.length === 0 || !e.message.startsWith('invalid configuration')) throw e;
          // secrets are never echoed back
          for (const k of ['API_TOKEN', 'TELEGRAM_BOT_TOKEN', 'APCA_API_KEY_ID', 'APCA_API_SECRET_KEY']) {
            const v = env[k];
            const elsewhere = Object.entries(env).some(([o, w]) => o !== k && w === v);
            if (v !== undefined && v.trim().length >= 4 && !elsewhere && e.message.includes(JSON.stringify(v))) throw new Error(`${k} echoed in ${e.message}`);
          }
        }
      },
    ),
    { numRuns, seed, endOnFailure: process.env['FUZZ_NO_SHRINK'] === '1' },
  );
}
