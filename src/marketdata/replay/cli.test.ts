import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runRecord } from '../recording/cli.js';
import { parseSpeed, runServeReplay } from './cli.js';

const SPOT1 = fileURLToPath(new URL('../../../../shared/data/binance/spot/btcusdt_20240808.gz', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pt-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sink = () => {
  const chunks: string[] = [];
  return { write: (s: string) => chunks.push(s), text: () => chunks.join('') };
};

describe('serve-replay / record CLI adapters', () => {
  it('parses speeds', () => {
    expect(parseSpeed(undefined)).toBe(1);
    expect(parseSpeed('10x')).toBe(10);
    expect(parseSpeed('inf')).toBe(Infinity);
    expect(parseSpeed('0')).toBe(Infinity);
    expect(() => parseSpeed('fast')).toThrow();
  });

  it('serves, prints its URL and progress, and records from itself until aborted', async () => {
    const out = sink();
    const err = sink();
    const ac = new AbortController();
    const serving = runServeReplay({ files: [SPOT1], speed: 'inf' }, { stdout: out, stderr: err, signal: ac.signal, progressMs: 50 });
    let url = '';
    for (let i = 0; i < 200 && !url; i++) {
      url = /serve-replay listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out.text())?.[1] ?? '';
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(url).not.toBe('');

    const dir = join(tmp, 'rec');
    const rac = new AbortController();
    const rerr = sink();
    const recording = runRecord(
      { symbols: 'btcusdt', out: dir, spotWsUrl: url.replace('http', 'ws'), spotRestUrl: url },
      { stdout: sink(), stderr: rerr, signal: rac.signal, progressMs: 50 },
    );
    for (let i = 0; i < 500 && !/finished/.test(err.text()); i++) await new Promise((r) => setTimeout(r, 20));
    expect(err.text()).toMatch(/replay 41248\/41248 \(100\.0%\) clients=1 time=2024-08-09T00:00:01\.\d{3}Z finished/);
    // the recorder may still be reading what was sent (a loaded machine): until its progress shows it all
    for (let i = 0; i < 500 && !/reconnects=0 \| .*btcusdt@trade=9757/.test(rerr.text()); i++) await new Promise((r) => setTimeout(r, 20));
    rac.abort();
    const p = await recording;
    expect(p.messages).toBe(41248 + 1); // every stream message + one snapshot
    expect(rerr.text()).toMatch(/record msgs=\d+ bytes=[\d.]+[KM]?B snapshots=1 reconnects=0 \| btcusdt@bookTicker=28040 btcusdt@depth@100ms=3451 btcusdt@trade=9757/);
    expect(readdirSync(dir).length).toBeGreaterThan(0);
    ac.abort();
    await serving;
  });
});
