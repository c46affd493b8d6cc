/**
 * Records Binance market data in the hftbacktest-compatible format (see ./format.ts):
 * every WebSocket message text exactly as received, prefixed by the local receive time in ns
 * (`process.hrtime`-anchored epoch time), plus REST depth snapshots as bare lines.
 *
 * Spot:  `${spotWsUrl}/stream?streams=<sym>@depth@100ms/<sym>@trade/<sym>@bookTicker…`  -> `<outDir>/spot_YYYYMMDD_HH.gz`
 * USD-M: `${futuresWsUrl}/public/stream?streams=<sym>@depth@100ms/<sym>@bookTicker…` and
 *        `${futuresWsUrl}/market/stream?streams=<sym>@trade/<sym>@markPrice@1s/<sym>@forceOrder…` -> `<outDir>/usdm_YYYYMMDD_HH.gz`
 *
 * A depth snapshot (`limit=1000`) is fetched for every symbol after each (re)connect of the
 * connection carrying depth, and at every hourly file rotation, so each file can be replayed alone.
 * Connections reconnect with exponential backoff and jitter.
 */
import WebSocket from 'ws';
import { RecordingWriter } from './format.js';

export interface RecorderLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

export interface RecorderOptions {
  /** Symbols, any case (`BTCUSDT` or `btcusdt`). */
  symbols: string[];
  outDir: string;
  /** Also record USD-M futures. */
  futures: boolean;
  /** e.g. wss://stream.binance.com:9443 */
  spotWsUrl: string;
  /** e.g. https://api.binance.com */
  spotRestUrl: string;
  /** e.g. wss://fstream.binance.com */
  futuresWsUrl: string;
  /** e.g. https://fapi.binance.com */
  futuresRestUrl: string;
  /** Called about once a second, and once more after stop(). */
  onProgress?: (p: RecorderProgress) => void;
  logger?: RecorderLogger;
  /** Record spot (default true). */
  spot?: boolean;
}

export interface RecorderProgress {
  /** Lines written (stream messages and snapshots). */
  messages: number;
  /** Uncompressed bytes written. */
  bytes: number;
  /** Stream messages per stream name; USD-M names are prefixed `usdm:`. */
  perStream: Record<string, number>;
  /** REST snapshots written. */
  snapshots: number;
  reconnects: number;
  /** Files opened so far. */
  files: string[];
  /** Connection states by name (`spot`, `usdm-public`, `usdm-market`, with `#n` when split). */
  connections: Record<string, 'connecting' | 'open' | 'closed'>;
  errors: number;
}

export interface Recorder {
  stop(): Promise<void>;
  progress(): RecorderProgress;
}

type Venue = 'spot' | 'usdm';

const trimSlash = (u: string) => u.replace(/\/+$/, '');

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export async function startRecorder(opts: RecorderOptions): Promise<Recorder> {
  const log = opts.logger;
  const symbols = [...new Set(opts.symbols.map((s) => s.trim().toUpperCase()).filter(Boolean))];
  if (symbols.length === 0) throw new Error('recorder: no symbols');
  const withSpot = opts.spot !== false;
  if (!withSpot && !opts.futures) throw new Error('recorder: nothing to record (spot disabled and futures off)');

  // epoch ns, monotonic between samples
  const anchorNs = BigInt(Date.now()) * 1_000_000n;
  const hr0 = process.hrtime.bigint();
  const nowNs = () => anchorNs + (process.hrtime.bigint() - hr0);

  let stopping = false;
  let snapshots = 0;
  let reconnects = 0;
  let errors = 0;
  const abort = new AbortController();
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const writers = new Map<Venue, RecordingWriter>();
  const fetchSnapshots = (venue: Venue, why: string) => {
    for (const sym of symbols) track(fetchSnapshot(venue, sym, why));
  };
  const makeWriter = (venue: Venue) => {
    let opened = 0;
    const w = new RecordingWriter({
      dir: opts.outDir,
      prefix: venue,
      onRotate: (file) => {
        log?.info({ file }, 'recorder: writing');
        // every hourly file gets its own snapshots (the first file gets them on connect)
        if (opened++ > 0 && !stopping) fetchSnapshots(venue, 'rotation');
      },
    });
    writers.set(venue, w);
    return w;
  };
  if (withSpot) makeWriter('spot');
  if (opts.futures) makeWriter('usdm');

  const write = (venue: Venue, recvNs: bigint, text: string) => {
    if (stopping) return;
    try {
      writers.get(venue)!.write(recvNs, text);
    } catch (err) {
      errors++;
      log?.warn({ venue, err: String(err) }, 'recorder: write failed');
    }
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });

  async function fetchSnapshot(venue: Venue, sym: string, why: string): Promise<void> {
    const url =
      venue === 'spot'
        ? `${trimSlash(opts.spotRestUrl)}/api/v3/depth?symbol=${sym}&limit=1000`
        : `${trimSlash(opts.futuresRestUrl)}/fapi/v1/depth?symbol=${sym}&limit=1000`;
    for (let attempt = 0; attempt < 6 && !stopping; attempt++) {
      try {
        const res = await fetch(url, { signal: abort.signal });
        const text = await res.text();
        const recvNs = nowNs();
        if (res.status === 200 && text.includes('"lastUpdateId"')) {
          // one line per message: re-serialise only if the body is not single-line JSON
          const line = text.includes('\n') ? JSON.stringify(JSON.parse(text)) : text;
          write(venue, recvNs, line);
          snapshots++;
          log?.info({ venue, symbol: sym, why }, 'recorder: depth snapshot');
          return;
        }
        errors++;
        const retryAfter = Number(res.headers.get('retry-after'));
        log?.warn({ venue, symbol: sym, status: res.status, body: text.slice(0, 200) }, 'recorder: snapshot request failed');
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 1000 * 2 ** attempt);
      } catch (err) {
        if (stopping) return;
        errors++;
        log?.warn({ venue, symbol: sym, err: String(err) }, 'recorder: snapshot request failed');
        await sleep(1000 * 2 ** attempt);
      }
    }
  }

  // ---- connections
  interface Conn {
    name: string;
    venue: Venue;
    url: string;
    carriesDepth: boolean;
    ws: WebSocket | null;
    state: 'connecting' | 'open' | 'closed';
    attempt: number;
    timer: NodeJS.Timeout | null;
  }
  const conns: Conn[] = [];
  const addConns = (venue: Venue, base: string, streams: string[], perConn: number, name: string, carriesDepth: boolean) => {
    const groups = chunk(streams, perConn);
    groups.forEach((g, i) => {
      conns.push({
        name: groups.length > 1 ? `${name}#${i + 1}` : name,
        venue,
        url: `${base}?streams=${g.join('/')}`,
        carriesDepth: carriesDepth && g.some((s) => s.includes('@depth')),
        ws: null,
        state: 'connecting',
        attempt: 0,
        timer: null,
      });
    });
  };
  const lower = symbols.map((s) => s.toLowerCase());
  if (withSpot) {
    const streams = lower.flatMap((s) => [`${s}@depth@100ms`, `${s}@trade`, `${s}@bookTicker`]);
    addConns('spot', `${trimSlash(opts.spotWsUrl)}/stream`, streams, 1024, 'spot', true);
  }
  if (opts.futures) {
    const base = trimSlash(opts.futuresWsUrl);
    addConns('usdm', `${base}/public/stream`, lower.flatMap((s) => [`${s}@depth@100ms`, `${s}@bookTicker`]), 200, 'usdm-public', true);
    addConns('usdm', `${base}/market/stream`, lower.flatMap((s) => [`${s}@trade`, `${s}@markPrice@1s`, `${s}@forceOrder`]), 200, 'usdm-market', false);
  }

  const connect = (c: Conn) => {
    if (stopping) return;
    c.state = 'connecting';
    const ws = new WebSocket(c.url, { perMessageDeflate: false, handshakeTimeout: 15_000 });
    c.ws = ws;
    let gotMessage = false;
    ws.on('open', () => {
      c.state = 'open';
      log?.info({ conn: c.name }, 'recorder: connected');
      // a fresh snapshot after every (re)connect, so the recording can be synced from here
      if (c.carriesDepth) for (const sym of symbols) if (streamsHaveDepth(c, sym)) track(fetchSnapshot(c.venue, sym, 'connect'));
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const recvNs = nowNs();
      if (!gotMessage) {
        gotMessage = true;
        c.attempt = 0;
      }
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
      write(c.venue, recvNs, text);
    });
    ws.on('error', (err) => {
      errors++;
      log?.warn({ conn: c.name, err: String(err) }, 'recorder: websocket error');
    });
    ws.on('close', (code) => {
      c.state = 'closed';
      c.ws = null;
      if (stopping) return;
      const base = Math.min(30_000, 500 * 2 ** c.attempt);
      const delay = Math.round(base / 2 + Math.random() * (base / 2));
      c.attempt++;
      reconnects++;
      log?.warn({ conn: c.name, code, delayMs: delay }, 'recorder: disconnected; reconnecting');
      c.timer = setTimeout(() => {
        c.timer = null;
        connect(c);
      }, delay);
    });
  };
  const streamsHaveDepth = (c: Conn, sym: string) => c.url.includes(`${sym.toLowerCase()}@depth`);
  for (const c of conns) connect(c);

  const progress = (): RecorderProgress => {
    const p: RecorderProgress = { messages: 0, bytes: 0, perStream: {}, snapshots, reconnects, files: [], connections: {}, errors };
    for (const [venue, w] of writers) {
      p.messages += w.messages;
      p.bytes += w.bytes;
      p.files.push(...w.stats.files);
      for (const [k, v] of Object.entries(w.perStream)) {
        if (k === '_bare') continue;
        p.perStream[venue === 'usdm' ? `usdm:${k}` : k] = v;
      }
    }
    for (const c of conns) p.connections[c.name] = c.state;
    return p;
  };
  const ticker = opts.onProgress
    ? setInterval(() => {
        try {
          opts.onProgress!(progress());
        } catch {
          /* a progress callback must not break recording */
        }
      }, 1000)
    : null;
  ticker?.unref();

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (ticker) clearInterval(ticker);
    abort.abort();
    await Promise.all(
      conns.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.timer) clearTimeout(c.timer);
            const ws = c.ws;
            if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
            const t = setTimeout(() => {
              ws.terminate();
              resolve();
            }, 2000);
            ws.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
            else ws.close(1000);
          }),
      ),
    );
    await Promise.allSettled([...inflight]);
    for (const w of writers.values()) await w.close();
    opts.onProgress?.(progress());
    log?.info({ ...progress(), perStream: undefined }, 'recorder: stopped');
  };

  return { stop, progress };
}
