import { resolve } from 'node:path';
import { DepthSync } from '../src/book/sync.js';
import { BinanceDecoder, decodeSnapshot } from '../src/marketdata/binance/decode.js';
import { referenceInstrument } from '../src/marketdata/binance/reference.js';
import { readRecordingLines, sharedData } from './data.js';

export interface DecodeBenchResult {
  name: string;
  file: string;
  messages: number;
  levelUpdates: number;
  bytes: number;
  rounds: number;
  decodeApply: { messagesPerSec: number; levelUpdatesPerSec: number; mbPerSec: number; nsPerMessage: number };
  jsonParse: { messagesPerSec: number; levelUpdatesPerSec: number; mbPerSec: number; nsPerMessage: number };
  speedupVsJsonParse: number;
}

/**
 * Decode + apply of the recorded USD-M BTCUSDT depth diffs onto a synced book, next to bare JSON.parse
 * of the same lines in the same run. Each round restarts from the snapshot so the book work is real.
 */
export async function benchDecode(rounds = 15): Promise<DecodeBenchResult> {
  const file = resolve(sharedData(), 'binance/usdm/btcusdt_20240808.gz');
  const lines = await readRecordingLines(file);
  const inst = referenceInstrument('usdm', 'BTCUSDT');
  const snapLine = lines.find((l) => l.text.startsWith('{"lastUpdateId"'));
  if (!snapLine) throw new Error('no snapshot in recording');
  const snap = decodeSnapshot('usdm', inst, JSON.parse(snapLine.text), 0);
  if (typeof snap === 'string') throw new Error(snap);
  const depth = lines.filter((l) => l.text.includes('@depth@')).map((l) => l.text);
  const bytes = depth.reduce((a, t) => a + t.length, 0);
  let levelUpdates = 0;
  for (const t of depth) {
    const m = JSON.parse(t) as { data: { b: unknown[]; a: unknown[] } };
    levelUpdates += m.data.b.length + m.data.a.length;
  }

  const runDecode = (): number => {
    const dec = new BinanceDecoder('usdm');
    dec.register('btcusdt@depth@0ms', 'depth', inst);
    const sync = new DepthSync('usdm', 'BTCUSDT');
    sync.onSnapshot(snap, 0);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < depth.length; i++) {
      const r = dec.decode(depth[i]!, i);
      if (r.ok && r.event.kind === 'depth') sync.onDiff(r.event);
    }
    const ns = Number(process.hrtime.bigint() - t0);
    if (sync.book.bids.size === 0) throw new Error('book empty');
    return ns;
  };
  let sink = 0;
  const runParse = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < depth.length; i++) sink += (JSON.parse(depth[i]!) as { data: { u: number } }).data.u & 1;
    return Number(process.hrtime.bigint() - t0);
  };
  // warm-up, then interleave the two so both see the same machine state
  for (let i = 0; i < 3; i++) {
    runDecode();
    runParse();
  }
  const dNs: number[] = [];
  const pNs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    dNs.push(runDecode());
    pNs.push(runParse());
  }
  if (sink < 0) console.log(sink);
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  const rate = (ns: number) => ({
    messagesPerSec: Math.round(depth.length / (ns / 1e9)),
    levelUpdatesPerSec: Math.round(levelUpdates / (ns / 1e9)),
    mbPerSec: Math.round((bytes / 1e6 / (ns / 1e9)) * 10) / 10,
    nsPerMessage: Math.round(ns / depth.length),
  });
  const d = median(dNs);
  const p = median(pNs);
  return {
    name: 'decode+apply vs JSON.parse, USD-M BTCUSDT depth',
    file: 'binance/usdm/btcusdt_20240808.gz',
    messages: depth.length,
    levelUpdates,
    bytes,
    rounds,
    decodeApply: rate(d),
    jsonParse: rate(p),
    speedupVsJsonParse: Math.round((p / d) * 100) / 100,
  };
}
