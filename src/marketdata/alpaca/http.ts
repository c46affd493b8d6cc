/**
 * The HTTP edge shared by the Alpaca clients: one request with a timeout that never throws, the
 * two credential headers, and the 429 wait. Secrets go only into the request headers: every text
 * that may reach a log, an error or a status goes through `scrub`.
 */

export interface Credentials {
  keyId: string;
  secretKey: string;
}

export type HttpOutcome =
  | { kind: 'response'; status: number; headers: Headers; body: unknown; text: string }
  /** no response: connection refused/reset, timeout (`timeout: true`) */
  /** `reached: false` when the request certainly never reached the server (refused, DNS) */
  | { kind: 'network'; timeout: boolean; reached: boolean; message: string };

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  credentials: Credentials;
  body?: unknown;
  timeoutMs: number;
}

/** Replaces every occurrence of the secrets in a text (for errors, logs and status). */
export function scrub(text: string, credentials: Credentials | null | undefined): string {
  if (!credentials) return text;
  let out = text;
  for (const s of [credentials.secretKey, credentials.keyId]) if (s && s.length >= 4) out = out.split(s).join('(hidden)');
  return out;
}

export async function request(req: HttpRequest): Promise<HttpOutcome> {
  const headers: Record<string, string> = {
    'APCA-API-KEY-ID': req.credentials.keyId,
    'APCA-API-SECRET-KEY': req.credentials.secretKey,
    accept: 'application/json',
  };
  if (req.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    const text = await res.text();
    let body: unknown = null;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    return { kind: 'response', status: res.status, headers: res.headers, body, text };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
    const cause = err.cause?.code ?? err.cause?.message;
    const message = timeout ? `timeout after ${req.timeoutMs} ms` : `${err.message}${cause ? ` (${cause})` : ''}`;
    const reached = timeout || !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(err.cause?.code ?? '');
    return { kind: 'network', timeout, reached, message: scrub(message, req.credentials) };
  }
}

/**
 * How long to wait after a 429: until `X-RateLimit-Reset` (unix seconds) when present, else
 * `Retry-After` (seconds), else exponential from `baseMs`; never more than `maxMs`.
 */
export function rateLimitDelay(headers: Headers, attempt: number, nowMs: number, baseMs: number, maxMs: number): number {
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (headers.get('x-ratelimit-reset') !== null && Number.isFinite(reset) && reset > 0) {
    return Math.min(maxMs, Math.max(0, reset * 1000 - nowMs) + 50);
  }
  const after = Number(headers.get('retry-after'));
  if (headers.get('retry-after') !== null && Number.isFinite(after) && after >= 0) return Math.min(maxMs, after * 1000);
  return backoffDelay(attempt, baseMs, maxMs);
}

/** Exponential backoff: base × 2^attempt, capped. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Alpaca's error body `{"code":40310000,"message":"..."}` (extra keys kept out). */
export function errorMessage(body: unknown, text: string): { message: string; alpacaCode: number | null } {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const message = typeof b['message'] === 'string' ? b['message'] : text.slice(0, 300);
    return { message, alpacaCode: typeof b['code'] === 'number' ? b['code'] : null };
  }
  return { message: text.slice(0, 300) || '(empty body)', alpacaCode: null };
}
