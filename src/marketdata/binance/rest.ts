import { err, ok, type Result } from '../../core/result.js';

export type RestErrorCode = 'banned' | 'rate_limited' | 'http' | 'network' | 'bad_json' | 'stopped';

export interface RestOptions {
  baseUrl: string;
  /** REQUEST_WEIGHT budget per minute (spot 6000, USD-M 2400) */
  weightPerMinute: number;
  timeoutMs?: number;
  /** the edge's wall clock */
  now?: () => number;
}

/**
 * Binance REST client for public market data. Keeps its own sliding one-minute weight tally (and
 * trusts the exchange's X-MBX-USED-WEIGHT-1M when it is higher), waits rather than exceed 90% of the
 * budget, and honours 429/418 Retry-After by refusing every request until the ban ends.
 */
export class BinanceRest {
  private readonly spent: { t: number; w: number }[] = [];
  private serverWeight = 0;
  private serverWeightAt = 0;
  bannedUntil = 0;
  requests = 0;
  failures = 0;
  rateLimitHits = 0;
  private readonly now: () => number;

  constructor(private readonly opts: RestOptions) {
    this.now = opts.now ?? Date.now;
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /** Weight used in the last minute, as far as we know. */
  usedWeight(): number {
    const now = this.now();
    while (this.spent.length > 0 && this.spent[0]!.t <= now - 60_000) this.spent.shift();
    const local = this.spent.reduce((a, s) => a + s.w, 0);
    return now - this.serverWeightAt < 60_000 ? Math.max(local, this.serverWeight) : local;
  }

  /** Milliseconds to wait before a request of this weight fits the budget (0 = now). */
  waitFor(weight: number): number {
    const now = this.now();
    if (now < this.bannedUntil) return this.bannedUntil - now;
    const budget = this.opts.weightPerMinute * 0.9;
    if (this.usedWeight() + weight <= budget) return 0;
    const oldest = this.spent[0];
    return oldest ? Math.max(50, oldest.t + 60_000 - now) : 1000;
  }

  async get(path: string, params: Record<string, string | number>, weight: number, signal?: AbortSignal): Promise<Result<unknown, RestErrorCode>> {
    const wait = this.waitFor(weight);
    if (this.now() < this.bannedUntil) return err('banned', `REST banned for another ${Math.ceil(wait / 1000)} s (Retry-After)`);
    if (wait > 0) {
      await new Promise((r) => setTimeout(r, wait));
      if (signal?.aborted) return err('stopped', 'stopped');
    }
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const url = `${this.opts.baseUrl}${path}${qs ? `?${qs}` : ''}`;
    this.spent.push({ t: this.now(), w: weight });
    this.requests++;
    let res: Response;
    try {
      const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 10_000);
      res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (e) {
      this.failures++;
      if (signal?.aborted) return err('stopped', 'stopped');
      return err('network', `GET ${path}: ${(e as Error).message}`);
    }
    const used = Number(res.headers.get('x-mbx-used-weight-1m'));
    if (Number.isFinite(used) && used > 0) {
      this.serverWeight = used;
      this.serverWeightAt = this.now();
    }
    if (res.status === 429 || res.status === 418) {
      this.rateLimitHits++;
      this.failures++;
      const retry = Number(res.headers.get('retry-after'));
      const seconds = Number.isFinite(retry) && retry > 0 ? retry : res.status === 418 ? 120 : 60;
      this.bannedUntil = this.now() + seconds * 1000;
      await res.body?.cancel();
      return err(res.status === 418 ? 'banned' : 'rate_limited', `GET ${path}: HTTP ${res.status}, retry after ${seconds} s`);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      this.failures++;
      return err('network', `GET ${path}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      this.failures++;
      return err('http', `GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    try {
      return ok(JSON.parse(text) as unknown);
    } catch {
      this.failures++;
      return err('bad_json', `GET ${path}: response is not JSON`);
    }
  }
}
