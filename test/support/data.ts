import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';

/** ../shared/data, read in place (never copied into the repository). */
export const SHARED_DATA = resolve(fileURLToPath(new URL('../../../shared/data', import.meta.url)));
if (!existsSync(SHARED_DATA)) throw new Error(`shared data not found at ${SHARED_DATA}`);

export const SPOT_FILES = ['binance/spot/btcusdt_20240808.gz', 'binance/spot/btcusdt_20240809.gz'].map((f) => resolve(SHARED_DATA, f));
export const USDM_BTC = resolve(SHARED_DATA, 'binance/usdm/btcusdt_20240808.gz');
export const USDM_ETH = resolve(SHARED_DATA, 'binance/usdm/ethusdt_20240808.gz');

export interface Line {
  recvNs: bigint;
  text: string;
}

/** Reads a recording's lines (a tiny independent reader, so tests do not trust the code under test). */
export async function readLines(file: string): Promise<Line[]> {
  const out: Line[] = [];
  const rl = createInterface({ input: createReadStream(file).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const sp = line.indexOf(' ');
    out.push({ recvNs: BigInt(line.slice(0, sp)), text: line.slice(sp + 1) });
  }
  return out;
}

/**
 * Reference book rebuilt straight from a recording with decimal strings: snapshot, then every diff
 * after it by the venue's rule. Independent of src/book. Returns levels best first as [price, qty] numbers.
 */
export function referenceBook(lines: Line[], symbol: string, venue: 'spot' | 'usdm'): { lastUpdateId: number; bids: [number, number][]; asks: [number, number][] } {
  const bids = new Map<number, number>();
  const asks = new Map<number, number>();
  let id = -1;
  let synced = false;
  const pending: Record<string, unknown>[] = [];
  const stream = `${symbol.toLowerCase()}@depth`;
  const apply = (d: Record<string, unknown>): void => {
    for (const [p, q] of d['b'] as [string, string][]) if (Number(q) === 0) bids.delete(Number(p)); else bids.set(Number(p), Number(q));
    for (const [p, q] of d['a'] as [string, string][]) if (Number(q) === 0) asks.delete(Number(p)); else asks.set(Number(p), Number(q));
    id = d['u'] as number;
  };
  for (const { text } of lines) {
    const msg = JSON.parse(text) as Record<string, unknown>;
    if ('lastUpdateId' in msg) {
      for (const [p, q] of msg['bids'] as [string, string][]) bids.set(Number(p), Number(q));
      for (const [p, q] of msg['asks'] as [string, string][]) asks.set(Number(p), Number(q));
      id = msg['lastUpdateId'] as number;
      synced = true;
      for (const d of pending) {
        const u = d['u'] as number;
        if (venue === 'spot' ? u > id : u >= id) apply(d);
      }
      continue;
    }
    if (typeof msg['stream'] !== 'string' || !(msg['stream'] as string).startsWith(stream)) continue;
    const d = msg['data'] as Record<string, unknown>;
    if (!synced) pending.push(d);
    else if ((d['u'] as number) > id) apply(d);
  }
  const sortDesc = (m: Map<number, number>): [number, number][] => [...m.entries()].sort((a, b) => b[0] - a[0]);
  return { lastUpdateId: id, bids: sortDesc(bids), asks: sortDesc(asks).reverse() };
}
