import { z } from 'zod';
import { type Result, err, ok } from '../../core/result.js';
import { barEvent, restBar } from './decode.js';
import type { AssetClass, BarEvent } from './events.js';
import { type Credentials, backoffDelay, errorMessage, rateLimitDelay, request, scrub, sleep } from './http.js';

export interface BarsClientOptions {
  /** https://data.alpaca.markets (ALPACA_DATA_URL) */
  baseUrl: string;
  credentials: Credentials;
  /** stocks: the feed parameter (iex | sip | …); omitted when undefined */
  feed?: string;
  timeoutMs?: number;
  /** attempts per page on 429 / 5xx / network errors */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** longest single wait for a 429 reset */
  maxRateLimitWaitMs?: number;
  /** page size asked for (Alpaca: at most 10000) */
  pageLimit?: number;
  /** stop after this many pages (a guard against a server that always returns a token) */
  maxPages?: number;
  /** how waits are done (tests pass one that records the delay) */
  sleep?: (ms: number) => Promise<void>;
  log?: (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
}

export type BarsErrorCode = 'unauthorized' | 'forbidden' | 'bad_request' | 'rate_limited' | 'unavailable' | 'invalid_response';

export interface BackfillRequest {
  assetClass: AssetClass;
  symbol: string;
  /** inclusive range, epoch ms */
  start: number;
  end: number;
}

const pageToken = z.string().min(1).nullable().optional();
const stockPage = z.object({ bars: z.array(z.unknown()).nullable().optional(), next_page_token: pageToken });
const cryptoPage = z.object({ bars: z.record(z.string(), z.array(z.unknown())).nullable().optional(), next_page_token: pageToken });

/**
 * REST backfill of recent 1-minute bars for warm-up: `GET /v2/stocks/{symbol}/bars` and
 * `GET /v1beta3/crypto/us/bars?symbols=…`, following `next_page_token`, waiting out 429s until the
 * reset header, retrying 5xx/timeouts with exponential backoff. Malformed bars are counted and skipped.
 */
export class AlpacaBarsClient {
  requests = 0;
  rateLimitHits = 0;
  malformedBars = 0;

  constructor(private readonly opts: BarsClientOptions) {}

  /** Every 1Min bar of [start, end], oldest first. */
  async backfill(req: BackfillRequest): Promise<Result<BarEvent[], BarsErrorCode>> {
    const out: BarEvent[] = [];
    let token: string | null = null;
    const maxPages = this.opts.maxPages ?? 1000;
    for (let page = 0; page < maxPages; page++) {
      const url = this.pageUrl(req, token);
      const r = await this.get(url);
      if (!r.ok) return r;
      const recv = Date.now();
      const parsed = this.decodePage(req, r.value, recv, out);
      if (!parsed.ok) return parsed;
      token = parsed.value;
      if (!token) return ok(out);
    }
    this.opts.log?.('warn', 'alpaca bars: page limit reached', { symbol: req.symbol, pages: maxPages });
    return ok(out);
  }

  pageUrl(req: BackfillRequest, token: string | null): string {
    const base = this.opts.baseUrl.replace(/\/+$/, '');
    const q = new URLSearchParams();
    if (req.assetClass === 'crypto') q.set('symbols', req.symbol);
    q.set('timeframe', '1Min');
    q.set('start', new Date(req.start).toISOString());
    q.set('end', new Date(req.end).toISOString());
    q.set('limit', String(this.opts.pageLimit ?? 10_000));
    if (req.assetClass === 'stocks') {
      if (this.opts.feed) q.set('feed', this.opts.feed);
      q.set('adjustment', 'raw');
    }
    q.set('sort', 'asc');
    if (token) q.set('page_token', token);
    return req.assetClass === 'crypto' ? `${base}/v1beta3/crypto/us/bars?${q}` : `${base}/v2/stocks/${encodeURIComponent(req.symbol)}/bars?${q}`;
  }

  private decodePage(req: BackfillRequest, body: unknown, recv: number, out: BarEvent[]): Result<string | null, BarsErrorCode> {
    let raw: unknown[];
    let token: string | null | undefined;
    if (req.assetClass === 'crypto') {
      const p = cryptoPage.safeParse(body);
      if (!p.success) return err('invalid_response', 'crypto bars page: unexpected shape');
      raw = p.data.bars?.[req.symbol] ?? [];
      token = p.data.next_page_token;
    } else {
      const p = stockPage.safeParse(body);
      if (!p.success) return err('invalid_response', 'stock bars page: unexpected shape');
      raw = p.data.bars ?? [];
      token = p.data.next_page_token;
    }
    for (const b of raw) {
      const r = restBar.safeParse(b);
      if (!r.success) {
        this.malformedBars++;
        continue;
      }
      out.push(barEvent(r.data, req.assetClass, recv, false, req.symbol) as BarEvent);
    }
    return ok(token ?? null);
  }

  private async get(url: string): Promise<Result<unknown, BarsErrorCode>> {
    const maxAttempts = this.opts.maxAttempts ?? 6;
    const base = this.opts.backoffBaseMs ?? 500;
    const cap = this.opts.backoffMaxMs ?? 30_000;
    let last = '';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      this.requests++;
      const res = await request({ method: 'GET', url, credentials: this.opts.credentials, timeoutMs: this.opts.timeoutMs ?? 10_000 });
      if (res.kind === 'network') {
        last = res.message;
      } else if (res.status === 200) {
        return ok(res.body);
      } else if (res.status === 429) {
        this.rateLimitHits++;
        last = 'rate limited (429)';
        if (attempt + 1 < maxAttempts) await (this.opts.sleep ?? sleep)(rateLimitDelay(res.headers, attempt, Date.now(), base, this.opts.maxRateLimitWaitMs ?? 60_000));
        continue;
      } else if (res.status >= 500) {
        last = `${res.status} ${errorMessage(res.body, res.text).message}`;
      } else {
        const m = scrub(errorMessage(res.body, res.text).message, this.opts.credentials);
        const code: BarsErrorCode = res.status === 401 ? 'unauthorized' : res.status === 403 ? 'forbidden' : 'bad_request';
        return err(code, `${res.status} ${m}`);
      }
      if (attempt + 1 < maxAttempts) await (this.opts.sleep ?? sleep)(backoffDelay(attempt, base, cap));
    }
    const code: BarsErrorCode = last.startsWith('rate limited') ? 'rate_limited' : 'unavailable';
    return err(code, scrub(`bars request failed after ${maxAttempts} attempts: ${last}`, this.opts.credentials));
  }
}
