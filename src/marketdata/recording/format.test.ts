import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGzipFile, envelopeStream, GzipFileError, readAll, readGzipLines, readRecording, RecordingWriter, type ReadStats, type RotateReason } from './format.js';

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

describe('readGzipLines text decoding', () => {
  it('reads UTF-8 exactly, ASCII chunks first and characters split between decompressed chunks', async () => {
    // ASCII lines for more than one decompressed chunk (64 KiB), then lines with 2-, 3- and 4-byte
    // characters at every offset, so some straddle a chunk boundary
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(`${1723161599500000000n + BigInt(i)} {"a":"${'x'.repeat(i % 50)}"}`);
    for (let i = 0; i < 6000; i++) lines.push(`${1723161600250000000n + BigInt(i)} {"s":"${'é€😀'.repeat(1 + (i % 7))}${'y'.repeat(i % 3)}"}`);
    const file = join(tmp, 'utf8.gz');
    writeFileSync(file, gzipSync(Buffer.from(`${lines.join('\n')}\n`, 'utf8')));
    const got: string[] = [];
    for await (const l of readGzipLines(file)) got.push(l);
    expect(got).toEqual(lines);
  });
});

/** Files of a directory in write order: by `<prefix>_<day>_<hour>`, then by number (none = 0). */
function ordered(dir: string): string[] {
  const parse = (n: string) => /^(.*_\d{8}_\d{2})(?:\.(\d+))?\.gz$/.exec(n)!;
  return readdirSync(dir).sort((a, b) => {
    const x = parse(a);
    const y = parse(b);
    return x[1]! < y[1]! ? -1 : x[1]! > y[1]! ? 1 : Number(x[2] ?? 0) - Number(y[2] ?? 0);
  });
}

describe('RecordingWriter size rotation (maxBytes)', () => {
  const HOUR = 3_600_000_000_000n;

  it('rotates by size within an hour and by hour, numbering the parts so that name order is write order', async () => {
    const dir = join(tmp, 'size');
    const opened: [string, RotateReason][] = [];
    const w = new RecordingWriter({ dir, prefix: 'spot', maxBytes: 400, onRotate: (f, r) => opened.push([f.slice(dir.length + 1), r]) });
    const written: string[] = [];
    // 3 hours, 150 lines each of ~60 bytes: ~23 files per hour, so parts .10 and above exist
    for (let h = 0n; h < 3n; h++) {
      for (let i = 0; i < 150; i++) {
        const text = `{"h":${h},"i":${i},"pad":"${'x'.repeat(i % 7)}"}`;
        w.write(T2 + h * HOUR + BigInt(i) * 1_000_000n, text);
        written.push(text);
      }
    }
    await w.close();

    const files = ordered(dir);
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('spot_20240809_00.gz');
    expect(files).toContain('spot_20240809_00.12.gz');
    expect(files).toContain('spot_20240809_02.gz');
    // the writer opened them in exactly this order
    expect(w.stats.files.map((f) => f.slice(dir.length + 1))).toEqual(files);
    expect(opened.map(([f]) => f)).toEqual(files);
    expect(opened[0]![1]).toBe('open');
    expect(opened.filter(([, r]) => r === 'hour').map(([f]) => f)).toEqual(['spot_20240809_01.gz', 'spot_20240809_02.gz']);
    expect(opened.filter(([, r]) => r === 'size')).toHaveLength(files.length - 3);
    // no file passes the limit; every line comes back exactly once, in order
    const back: string[] = [];
    for (const f of files) {
      expect(gunzipSync(readFileSync(join(dir, f))).length).toBeLessThanOrEqual(400);
      for (const r of await readAll(join(dir, f))) back.push(r.text);
    }
    expect(back).toEqual(written);
    expect(w.bytes).toBe(files.reduce((s, f) => s + gunzipSync(readFileSync(join(dir, f))).length, 0));
  });

  it('gives a line longer than the limit a file of its own', async () => {
    const dir = join(tmp, 'long');
    const w = new RecordingWriter({ dir, prefix: 'usdm', maxBytes: 100 });
    w.write(T1, '{"a":1}');
    w.write(T1 + 1n, `{"long":"${'y'.repeat(300)}"}`);
    w.write(T1 + 2n, '{"b":2}');
    await w.close();
    expect(ordered(dir)).toEqual(['usdm_20240808_23.gz', 'usdm_20240808_23.1.gz', 'usdm_20240808_23.2.gz']);
    expect((await readAll(join(dir, 'usdm_20240808_23.1.gz'))).map((r) => r.text.length)).toEqual([311]);
    expect(() => new RecordingWriter({ dir, prefix: 'x', maxBytes: 0 })).toThrow(/maxBytes/);
  });

  it('numbers a new file above every file of that hour already there', async () => {
    const dir = join(tmp, 'above');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'spot_20240808_23.gz'), gzipSync('1 {"old":0}\n'));
    writeFileSync(join(dir, 'spot_20240808_23.4.gz'), gzipSync('2 {"old":4}\n'));
    const w = new RecordingWriter({ dir, prefix: 'spot', maxBytes: 40 });
    w.write(T1, '{"new":0,"pad":"zzzzzzzzzz"}');
    w.write(T1 + 1n, '{"new":1,"pad":"zzzzzzzzzz"}');
    await w.close();
    expect(ordered(dir)).toEqual(['spot_20240808_23.gz', 'spot_20240808_23.4.gz', 'spot_20240808_23.5.gz', 'spot_20240808_23.6.gz']);
  });

  it('keeps a receive time that steps back to an earlier hour in the current file', async () => {
    const dir = join(tmp, 'back');
    const w = new RecordingWriter({ dir, prefix: 'spot' });
    w.write(T1, '{"i":0}');
    w.write(T2, '{"i":1}');
    w.write(T1 + 5n, '{"i":2}'); // clock stepped back into 23h
    w.write(T1 + 6n, '{"i":3}'); // and stays there a moment
    w.write(T2 + 1n, '{"i":4}');
    w.write(T2 + 3_600_000_000_000n, '{"i":5}'); // the next hour: a new file
    await w.close();
    expect(ordered(dir)).toEqual(['spot_20240808_23.gz', 'spot_20240809_00.gz', 'spot_20240809_01.gz']);
    const back = [
      ...(await readAll(join(dir, 'spot_20240808_23.gz'))),
      ...(await readAll(join(dir, 'spot_20240809_00.gz'))),
      ...(await readAll(join(dir, 'spot_20240809_01.gz'))),
    ];
    expect(back.map((r) => r.text)).toEqual(['{"i":0}', '{"i":1}', '{"i":2}', '{"i":3}', '{"i":4}', '{"i":5}']);
  });

  it('hands a full batch to gzip on the next turn of the event loop, not inside the write that filled it', async () => {
    const dir = join(tmp, 'batch');
    const w = new RecordingWriter({ dir, prefix: 'spot' });
    w.write(T1, '{"i":-1}');
    const gz = (w as unknown as { gz: { write: (chunk: string) => boolean } }).gz;
    const handed: number[] = [];
    const write = gz.write.bind(gz);
    gz.write = (chunk: string) => {
      handed.push(chunk.length);
      return write(chunk);
    };
    const texts: string[] = [];
    // 200 KiB of lines in one synchronous run (a fast replay's burst): three batches' worth
    for (let i = 0; texts.length * 1000 < 200 * 1024; i++) {
      const text = `{"i":${i},"pad":"${'x'.repeat(980)}"}`;
      texts.push(text);
      w.write(T1 + BigInt(i + 1), text);
    }
    expect(handed).toEqual([]);
    await new Promise((r) => setImmediate(r));
    // one batch with everything written so far, after the writes
    expect(handed).toHaveLength(1);
    expect(handed[0]).toBeGreaterThan(200 * 1024);
    w.write(T1 + 1_000_000n, '{"i":"last"}');
    await w.close();
    expect(handed).toHaveLength(2);
    const back = await readAll(join(dir, 'spot_20240808_23.gz'));
    expect(back.map((r) => r.text)).toEqual(['{"i":-1}', ...texts, '{"i":"last"}']);
  });
});

describe('damaged gzip files', () => {
  const body = Array.from({ length: 20_000 }, (_, i) => `${1000 + i} {"i":${i},"r":"${(i * 7919) % 10007}"}`).join('\n') + '\n';
  const gz = gzipSync(body);

  it('checkGzipFile tells complete, truncated, corrupt and unreadable files apart', async () => {
    const ok = join(tmp, 'check-ok.gz');
    writeFileSync(ok, gz);
    expect(await checkGzipFile(ok)).toEqual({ status: 'ok', bytes: Buffer.byteLength(body) });

    const cut = join(tmp, 'check-cut.gz');
    writeFileSync(cut, gz.subarray(0, gz.length >> 1));
    const c = await checkGzipFile(cut);
    expect(c.status).toBe('truncated');
    expect(c.bytes).toBeGreaterThan(0);
    expect(c.bytes).toBeLessThan(Buffer.byteLength(body));

    const empty = join(tmp, 'check-empty.gz');
    writeFileSync(empty, '');
    expect((await checkGzipFile(empty)).status).toBe('truncated');

    // garbage in the middle: often inflates "fine" and is only caught by the checksum at the end
    const bad = join(tmp, 'check-bad.gz');
    const b = Buffer.from(gz);
    b.fill(0x55, gz.length >> 1, (gz.length >> 1) + 64);
    writeFileSync(bad, b);
    expect((await checkGzipFile(bad)).status).toBe('corrupt');

    const notGzip = join(tmp, 'check-text.gz');
    writeFileSync(notGzip, 'this is not gzip\n');
    expect(await checkGzipFile(notGzip)).toMatchObject({ status: 'corrupt', detail: expect.stringMatching(/header/) });

    expect((await checkGzipFile(join(tmp, 'no-such-file.gz'))).status).toBe('unreadable');
  });

  it('readGzipLines throws a GzipFileError naming the file after yielding what it could', async () => {
    const bad = join(tmp, 'lines-bad.gz');
    writeFileSync(bad, Buffer.concat([Buffer.from('garbage!'), gz]));
    const err = await (async () => {
      for await (const _ of readGzipLines(bad)) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GzipFileError);
    expect(err).toMatchObject({ file: bad, reason: 'corrupt', linesRead: 0 });
    expect((err as Error).message).toContain(bad);

    const missing = join(tmp, 'lines-missing.gz');
    const err2 = await (async () => {
      for await (const _ of readGzipLines(missing)) void _;
    })().catch((e: unknown) => e);
    expect(err2).toMatchObject({ reason: 'unreadable', file: missing });
  });
});

