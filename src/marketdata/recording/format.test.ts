import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { envelopeStream, readAll, readRecording, RecordingWriter, type ReadStats } from './format.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/binance/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'pt-format-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// 2024-08-08T23:59:59.500Z and 2024-08-09T00:00:00.250Z in ns
const T1 = 1723161599500000000n;
const T2 = 1723161600250000000n;

describe('RecordingWriter / readRecording', () => {
  it('round-trips lines and rotates on the UTC hour', async () => {
    const dir = join(tmp, 'rt');
    const opened: string[] = [];
    const w = new RecordingWriter({ dir, prefix: 'spot', onRotate: (f) => opened.push(f) });
    const lines = [
      { recvNs: T1, text: '{"stream":"btcusdt@trade","data":{"e":"trade","p":"1.00"}}' },
      { recvNs: T1 + 1n, text: '{"lastUpdateId":5,"bids":[["1.0","2"]],"asks":[]}' },
      { recvNs: T1 + 2n, text: '{"stream":"btcusdt@bookTicker","data":{"u":1,"b":"é ünicode"}}' },
      { recvNs: T2, text: '{"stream":"btcusdt@trade","data":{"e":"trade","p":"2.00"}}' },
    ];
    for (const l of lines) w.write(l.recvNs, l.text);
    await w.close();

    expect(readdirSync(dir).sort()).toEqual(['spot_20240808_23.gz', 'spot_20240809_00.gz']);
    expect(opened.map((f) => f.slice(dir.length + 1))).toEqual(['spot_20240808_23.gz', 'spot_20240809_00.gz']);
    // each file is a complete gzip on its own
    const first = gunzipSync(readFileSync(join(dir, 'spot_20240808_23.gz'))).toString('utf8');
    expect(first.split('\n').filter(Boolean)).toHaveLength(3);
    expect(first.endsWith('\n')).toBe(true);

    const back = [
      ...(await readAll(join(dir, 'spot_20240808_23.gz'))),
      ...(await readAll(join(dir, 'spot_20240809_00.gz'))),
    ];
    expect(back).toEqual(lines);
    expect(w.messages).toBe(4);
    expect(w.bytes).toBe(lines.reduce((s, l) => s + Buffer.byteLength(`${l.recvNs} ${l.text}\n`), 0));
    expect(w.perStream).toEqual({ 'btcusdt@trade': 2, 'btcusdt@bookTicker': 1, _bare: 1 });
  });

  it('never overwrites an existing file of the same hour', async () => {
    const dir = join(tmp, 'again');
    for (let i = 0; i < 2; i++) {
      const w = new RecordingWriter({ dir, prefix: 'usdm' });
      w.write(T1, `{"n":${i}}`);
      await w.close();
    }
    const files = readdirSync(dir).sort();
    expect(files).toEqual(['usdm_20240808_23.1.gz', 'usdm_20240808_23.gz']);
    expect((await readAll(join(dir, 'usdm_20240808_23.1.gz')))[0]!.text).toBe('{"n":1}');
  });

  it('skips empty lines, counts malformed ones and tolerates a truncated file', async () => {
    const f = join(tmp, 'mixed.gz');
    const body = '1 {"a":1}\n\nnot a line\n2 {"b":2}\r\n12x {"c":3}\n3 {"d":4}';
    writeFileSync(f, gzipSync(body));
    const st: ReadStats = { lines: 0, malformed: 0 };
    const got = await readAll(f, st);
    expect(got).toEqual([
      { recvNs: 1n, text: '{"a":1}' },
      { recvNs: 2n, text: '{"b":2}' },
      { recvNs: 3n, text: '{"d":4}' },
    ]);
    expect(st).toMatchObject({ lines: 5, malformed: 2 });

    const big = Array.from({ length: 5000 }, (_, i) => `${1000 + i} {"i":${i},"pad":"${'x'.repeat(50)}"}`).join('\n') + '\n';
    const gz = gzipSync(big);
    const cut = join(tmp, 'cut.gz');
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length * 0.8)));
    const st2: ReadStats = { lines: 0, malformed: 0 };
    const part = await readAll(cut, st2);
    expect(st2.truncated).toBe(true);
    expect(part.length).toBeGreaterThan(100);
    expect(part.length).toBeLessThan(5000);
    part.forEach((r, i) => expect(r.text).toBe(`{"i":${i},"pad":"${'x'.repeat(50)}"}`));
  });

  it('reads the real spot recording', async () => {
    const st: ReadStats = { lines: 0, malformed: 0 };
    let n = 0;
    let first: bigint | null = null;
    let prev = 0n;
    let snapshots = 0;
    const streams: Record<string, number> = {};
    for await (const r of readRecording(join(DATA, 'spot/btcusdt_20240808.gz'), st)) {
      if (first === null) first = r.recvNs;
      expect(r.recvNs >= prev).toBe(true);
      prev = r.recvNs;
      n++;
      const s = envelopeStream(r.text);
      if (s === null) snapshots++;
      else streams[s] = (streams[s] ?? 0) + 1;
    }
    expect(n).toBe(41249);
    expect(first).toBe(1723161253937085768n);
    expect(st).toMatchObject({ lines: 41249, malformed: 0 });
    // progress counts every compressed byte of the file
    expect(st.compressedBytes).toBe(statSync(join(DATA, 'spot/btcusdt_20240808.gz')).size);
    expect(snapshots).toBe(1);
    expect(streams).toEqual({ 'btcusdt@depth@100ms': 3451, 'btcusdt@trade': 9757, 'btcusdt@bookTicker': 28040 });
  });
});
