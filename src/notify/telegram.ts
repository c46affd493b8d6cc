/**
 * Telegram Bot API client (../shared/protocols/telegram.md): JSON POSTs to `<api>/bot<token>/<method>`
 * with Node's fetch and a timeout per call. Every failure comes back as a value with a code that says
 * what to do about it (wait `retry_after`, back off, give up, resend to a migrated chat); nothing it
 * returns, logs or throws contains the URL or the token: they are redacted from every message, including
 * the causes of fetch's errors.
 */

/** What notify logs through (pino's shape). */
export interface NotifyLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface TgUser {
  id: number;
  is_bot?: boolean;
  first_name?: string;
  username?: string;
}
export interface TgChat {
  id: number;
  type?: string;
  username?: string;
  title?: string;
}
export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  /** Unix seconds */
  date: number;
  text?: string;
}
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
}

/** The longest text of one message (characters after entity parsing; we send plain text). */
export const MAX_MESSAGE_CHARS = 4096;

/**
 * Why a call failed:
 * - `rate_limited`: 429, wait `retryAfterS` and repeat the same request (not earlier);
 * - `migrated`: the group became a supergroup, resend to `migrateToChatId`;
 * - `server`, `network`, `timeout`, `bad_response`: transient, retry with backoff;
 * - `rejected`: 4xx (bad request, unauthorized, forbidden, not found, conflict): not retryable as it is;
 * - `aborted`: we canceled it (shutdown).
 */
export type ApiFailureCode = 'rate_limited' | 'migrated' | 'server' | 'network' | 'timeout' | 'bad_response' | 'rejected' | 'aborted';
export interface ApiFailure {
  readonly ok: false;
  readonly code: ApiFailureCode;
  /** human-readable, token-free */
  readonly message: string;
  /** HTTP status, when there was an answer */
  readonly status: number | null;
  readonly retryAfterS: number | null;
  readonly migrateToChatId: string | null;
}
export type ApiResult<T> = { readonly ok: true; readonly value: T } | ApiFailure;

/** Replaces the token (and any `bot<digits>:<secret>` path segment) in a text. */
export function redactToken(text: string, token: string): string {
  let out = text;
  if (token.length > 0) {
    for (const form of new Set([token, encodeURIComponent(token), token.replace(':', '%3a')])) out = out.split(form).join('<redacted>');
  }
  return out.replace(/bot\d{3,}(:|%3A)[A-Za-z0-9_-]+/gi, 'bot<redacted>').replace(/\b\d{6,}(:|%3A)[A-Za-z0-9_-]{30,}/gi, '<redacted>');
}

/** An error's message with its causes (fetch puts the socket error in `cause`), not yet redacted. */
export function describeError(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 4 && cur !== undefined && cur !== null; depth++) {
    if (cur instanceof Error) {
      const code = (cur as Error & { code?: unknown }).code;
      parts.push(`${cur.message}${typeof code === 'string' && !cur.message.includes(code) ? ` (${code})` : ''}`);
      cur = (cur as Error & { cause?: unknown }).cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}

export interface TelegramClientOptions {
  token: string;
  /** TELEGRAM_API_URL, e.g. https://api.telegram.org */
  apiUrl: string;
  /** timeout of one call, ms (getUpdates adds its long-poll timeout) (default 10 s) */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

function failure(code: ApiFailureCode, message: string, status: number | null = null, retryAfterS: number | null = null, migrateToChatId: string | null = null): ApiFailure {
  return { ok: false, code, message, status, retryAfterS, migrateToChatId };
}

export class TelegramClient {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: TelegramClientOptions) {
    this.base = opts.apiUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /** Any text with this client's token removed. */
  redact(text: string): string {
    return redactToken(text, this.token);
  }

  /** One Bot API call (JSON body); never throws. */
  async call<T>(method: string, params: Record<string, unknown>, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ApiResult<T>> {
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? this.timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const res = await this.fetchFn(`${this.base}/bot${this.token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(params),
        signal,
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      if (opts.signal?.aborted) return failure('aborted', `${method}: aborted`);
      if (timeout.aborted) return failure('timeout', `${method}: no answer within ${opts.timeoutMs ?? this.timeoutMs} ms`);
      return failure('network', this.redact(`${method}: ${describeError(e)}`));
    }
    let body: { ok?: unknown; result?: unknown; description?: unknown; error_code?: unknown; parameters?: { retry_after?: unknown; migrate_to_chat_id?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch {
      return failure(status >= 500 || status === 200 ? 'bad_response' : 'rejected', `${method}: HTTP ${status} with a body that is not a Bot API answer`, status);
    }
    if (body.ok === true && status >= 200 && status < 300) return { ok: true, value: body.result as T };
    const errorCode = typeof body.error_code === 'number' ? body.error_code : status;
    const description = this.redact(typeof body.description === 'string' ? body.description : `HTTP ${status}`);
    const message = `${method}: ${errorCode} ${description}`;
    const rp = body.parameters ?? {};
    if (status === 429 || errorCode === 429) {
      let retryAfter = typeof rp.retry_after === 'number' && rp.retry_after >= 0 ? rp.retry_after : null;
      if (retryAfter === null) {
        const m = /retry after (\d+)/i.exec(description);
        retryAfter = m ? Number(m[1]) : 5;
      }
      return failure('rate_limited', message, status, retryAfter);
    }
    const migrate = rp.migrate_to_chat_id;
    if (typeof migrate === 'number' || (typeof migrate === 'string' && /^-?\d+$/.test(migrate))) return failure('migrated', message, status, null, String(migrate));
    if (status >= 500 || errorCode >= 500) return failure('server', message, status);
    return failure('rejected', message, status);
  }

  sendMessage(chatId: string, text: string, opts: { signal?: AbortSignal } = {}): Promise<ApiResult<TgMessage>> {
    // plain text (no parse_mode): nothing to escape
    return this.call<TgMessage>('sendMessage', { chat_id: /^-?\d+$/.test(chatId) ? Number(chatId) : chatId, text }, opts);
  }

  /** Long polling: `timeoutS` is how long the server may hold the request. */
  async getUpdates(p: { offset?: number; timeoutS: number; limit?: number; allowedUpdates?: string[] }, opts: { signal?: AbortSignal } = {}): Promise<ApiResult<TgUpdate[]>> {
    const params: Record<string, unknown> = { timeout: p.timeoutS, allowed_updates: p.allowedUpdates ?? ['message'] };
    if (p.offset !== undefined) params['offset'] = p.offset;
    if (p.limit !== undefined) params['limit'] = p.limit;
    const r = await this.call<unknown>('getUpdates', params, { ...opts, timeoutMs: this.timeoutMs + p.timeoutS * 1000 });
    if (!r.ok) return r;
    if (!Array.isArray(r.value)) return failure('bad_response', 'getUpdates: the result is not an array');
    return { ok: true, value: r.value.filter((u): u is TgUpdate => typeof u === 'object' && u !== null && Number.isSafeInteger((u as TgUpdate).update_id)) };
  }

  getMe(opts: { signal?: AbortSignal } = {}): Promise<ApiResult<TgUser>> {
    return this.call<TgUser>('getMe', {}, opts);
  }
}

/**
 * Splits a text into messages of at most `max` characters, at line breaks where it can; more than
 * `maxParts` parts are cut, the last one saying so.
 */
export function splitMessage(text: string, max = MAX_MESSAGE_CHARS, maxParts = 4): string[] {
  if (text.length <= max) return text.length > 0 ? [text] : [];
  const parts: string[] = [];
  let rest = text;
  while (rest.length > 0) {
    if (rest.length <= max) {
      parts.push(rest);
      break;
    }
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = max;
    // never split a surrogate pair
    const code = rest.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--;
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^\n/, '');
  }
  if (parts.length > maxParts) {
    const note = '\n… (cut: message too long)';
    const kept = parts.slice(0, maxParts);
    kept[maxParts - 1] = kept[maxParts - 1]!.slice(0, max - note.length) + note;
    return kept;
  }
  return parts;
}

/** Waits `ms`, or less if `signal` aborts first (never rejects). */
export const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export interface PollerStats {
  state: 'starting' | 'polling' | 'backoff' | 'stopped';
  polls: number;
  updates: number;
  /** updates from before the process started, skipped */
  stale: number;
  errors: number;
  lastError: string | null;
}

export interface PollerOptions {
  client: TelegramClient;
  logger: NotifyLogger;
  /** long-poll timeout, seconds (0: short polling every second) */
  timeoutS: number;
  /** updates dated before this (epoch ms) were pending before the process started: never acted on */
  startedAt: number;
  onUpdate(u: TgUpdate): void;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * getUpdates long polling, one request at a time. It starts by taking what is pending (the last 100
 * updates, all earlier ones forgotten) and skipping whatever is dated before the process started: a
 * /kill sent to an earlier run is never re-run after a restart.
 */
export class UpdatePoller {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private offset: number | undefined;
  private readonly logged = new Set<string>();
  readonly stats: PollerStats = { state: 'starting', polls: 0, updates: 0, stale: 0, errors: 0, lastError: null };

  constructor(private readonly opts: PollerOptions) {}

  start(): void {
    this.loop ??= this.run().catch((e: unknown) => {
      this.opts.logger.error({ err: this.opts.client.redact(describeError(e)) }, 'telegram: update polling stopped on an error');
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.stats.state = 'stopped';
  }

  private async run(): Promise<void> {
    const { client, logger } = this.opts;
    const signal = this.abort.signal;
    const base = this.opts.backoffBaseMs ?? 1000;
    const cap = this.opts.backoffMaxMs ?? 60_000;
    const startedSec = Math.floor(this.opts.startedAt / 1000);
    let first = true;
    let failures = 0;
    while (!signal.aborted) {
      const r = first
        ? await client.getUpdates({ offset: -100, limit: 100, timeoutS: 0 }, { signal })
        : await client.getUpdates({ offset: this.offset, limit: 100, timeoutS: this.opts.timeoutS }, { signal });
      if (signal.aborted) break;
      this.stats.polls++;
      if (r.ok) {
        failures = 0;
        this.stats.state = 'polling';
        for (const u of r.value) {
          this.offset = Math.max(this.offset ?? 0, u.update_id + 1);
          if (first && (u.message?.date ?? 0) < startedSec) {
            this.stats.stale++;
            continue;
          }
          this.stats.updates++;
          try {
            this.opts.onUpdate(u);
          } catch (e) {
            logger.error({ updateId: u.update_id, err: client.redact(describeError(e)) }, 'telegram: handling an update failed');
          }
        }
        if (first && this.stats.stale > 0) logger.info({ skipped: this.stats.stale }, 'telegram: commands sent before this run started were skipped');
        first = false;
        if (this.opts.timeoutS === 0) await sleep(1000, signal);
        continue;
      }
      if (r.code === 'aborted') break;
      this.stats.errors++;
      this.stats.lastError = r.message;
      this.stats.state = 'backoff';
      let waitMs: number;
      if (r.code === 'rate_limited') waitMs = (r.retryAfterS ?? 5) * 1000;
      else if (r.code === 'rejected') waitMs = cap; // 401/404/409: configuration or another poller; retry slowly
      else waitMs = Math.min(cap, base * 2 ** Math.min(failures, 16));
      failures++;
      const key = `${r.code} ${r.status ?? ''}`;
      if (!this.logged.has(key)) {
        this.logged.add(key);
        const hint = r.status === 409 ? ' (another bot instance is polling, or a webhook is set)' : r.status === 401 ? ' (check TELEGRAM_BOT_TOKEN)' : '';
        logger.warn({ err: r.message, retryInMs: waitMs }, `telegram: getUpdates failed${hint}`);
      } else logger.debug({ err: r.message, retryInMs: waitMs }, 'telegram: getUpdates failed');
      await sleep(waitMs, signal);
    }
    this.stats.state = 'stopped';
  }
}
