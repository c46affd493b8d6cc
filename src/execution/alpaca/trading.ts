import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Ok } from '../../core/result.js';
import { type Credentials, backoffDelay, errorMessage, type HttpOutcome, rateLimitDelay, request, scrub, sleep } from '../../marketdata/alpaca/http.js';
import {
  type AlpacaAccount,
  type AlpacaAsset,
  type AlpacaCalendarDay,
  type AlpacaClock,
  type AlpacaOrder,
  type AlpacaPosition,
  accountSchema,
  assetSchema,
  calendarDaySchema,
  clockSchema,
  orderSchema,
  positionSchema,
} from './decode.js';

export type TradingErrorCode =
  /** Alpaca refused the order (403 buying power/shares/PDT, 422 invalid parameters): `message` is Alpaca's */
  | 'rejected'
  | 'unauthorized'
  | 'not_found'
  /** cancel of an order that can no longer be canceled (422) */
  | 'not_cancelable'
  | 'bad_request'
  /** still 429 after every attempt */
  | 'rate_limited'
  /** 5xx / network on a request with no side effect, after every attempt */
  | 'unavailable'
  /** submit: we do not know whether the order exists (every attempt and lookup failed); reconcile */
  | 'uncertain'
  | 'invalid_response';

export interface TradingError {
  readonly ok: false;
  readonly code: TradingErrorCode;
  readonly message: string;
  /** HTTP status of the deciding response (null: no response) */
  readonly status: number | null;
  /** Alpaca's 8-digit error code when given */
  readonly alpacaCode: number | null;
}
export type TradingResult<T> = Ok<T> | TradingError;

const ok = <T>(value: T): Ok<T> => ({ ok: true, value });

export interface TradingClientOptions {
  /** https://paper-api.alpaca.markets (ALPACA_TRADING_URL) */
  baseUrl: string;
  credentials: Credentials;
  timeoutMs?: number;
  /** attempts per call on 429 / 5xx / network errors */
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  maxRateLimitWaitMs?: number;
  /** how waits are done (tests pass one that records the delay) */
  sleep?: (ms: number) => Promise<void>;
  log?: (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
}

export type OrderType = 'market' | 'limit' | 'stop' | 'stop_limit';
export type TimeInForce = 'day' | 'gtc' | 'ioc' | 'fok' | 'opg' | 'cls';

export interface OrderRequest {
  /** the engine's order id: the client_order_id is derived from it, so a retry is the same order */
  engineOrderId: string | number;
  symbol: string;
  side: 'buy' | 'sell';
  type: OrderType;
  timeInForce: TimeInForce;
  /** decimal strings (exact); exactly one of qty / notional */
  qty?: string;
  notional?: string;
  limitPrice?: string;
  stopPrice?: string;
  extendedHours?: boolean;
}

export interface SubmitOutcome {
  order: AlpacaOrder;
  /** POSTs sent */
  attempts: number;
  /** the order was found by client_order_id after an uncertain attempt (not from a POST answer) */
  recovered: boolean;
}

/** Alpaca's documented limit on client_order_id (48; some docs say 128: we keep to the smaller). */
export const CLIENT_ORDER_ID_MAX = 48;

/**
 * The client_order_id of an engine order: `pt-<id>` when that is short and plain, else `pt-` and a
 * SHA-256 prefix of the id. Deterministic, so every retry of one engine order carries the same id.
 */
export function clientOrderIdFor(engineOrderId: string | number): string {
  const id = String(engineOrderId);
  const plain = `pt-${id}`;
  if (plain.length <= CLIENT_ORDER_ID_MAX && /^[A-Za-z0-9._:-]+$/.test(id)) return plain;
  return `pt-${createHash('sha256').update(id).digest('hex').slice(0, CLIENT_ORDER_ID_MAX - 3)}`;
}

/** The POST /v2/orders body (numbers as strings, as Alpaca asks). */
export function orderBody(req: OrderRequest): Record<string, unknown> {
  if ((req.qty === undefined) === (req.notional === undefined)) throw new Error('order request needs exactly one of qty and notional');
  const body: Record<string, unknown> = {
    symbol: req.symbol,
    side: req.side,
    type: req.type,
    time_in_force: req.timeInForce,
    client_order_id: clientOrderIdFor(req.engineOrderId),
  };
  if (req.qty !== undefined) body['qty'] = req.qty;
  if (req.notional !== undefined) body['notional'] = req.notional;
  if (req.limitPrice !== undefined) body['limit_price'] = req.limitPrice;
  if (req.stopPrice !== undefined) body['stop_price'] = req.stopPrice;
  if (req.extendedHours) body['extended_hours'] = true;
  return body;
}

/** A 422 that says the client_order_id is taken: the order exists. */
export function isDuplicateClientOrderId(message: string): boolean {
  return /client_order_id/i.test(message) && /(unique|exist|duplicate|already)/i.test(message);
}

type Response = Extract<HttpOutcome, { kind: 'response' }>;

/**
 * Alpaca Trading API REST client: orders (idempotent submit), positions, account, clock, calendar.
 * Expected failures come back as results with a code; credentials never leave the request headers.
 */
export class AlpacaTradingClient {
  requests = 0;
  rateLimitHits = 0;
  private readonly base: string;

  constructor(private readonly opts: TradingClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
  }

  private fail(code: TradingErrorCode, message: string, status: number | null = null, alpacaCode: number | null = null): TradingError {
    return { ok: false, code, message: scrub(message, this.opts.credentials), status, alpacaCode };
  }

  private raw(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<HttpOutcome> {
    this.requests++;
    return request({ method, url: `${this.base}${path}`, credentials: this.opts.credentials, body, timeoutMs: this.opts.timeoutMs ?? 10_000 });
  }

  private wait429(res: Response, attempt: number): Promise<void> {
    this.rateLimitHits++;
    const d = rateLimitDelay(res.headers, attempt, Date.now(), this.opts.backoffBaseMs ?? 500, this.opts.maxRateLimitWaitMs ?? 60_000);
    this.opts.log?.('warn', 'alpaca rate limited, waiting', { delayMs: Math.round(d) });
    return (this.opts.sleep ?? sleep)(d);
  }

  private backoff(attempt: number): Promise<void> {
    return (this.opts.sleep ?? sleep)(backoffDelay(attempt, this.opts.backoffBaseMs ?? 500, this.opts.backoffMaxMs ?? 10_000));
  }

  private errorOf(res: Response): TradingError {
    const { message, alpacaCode } = errorMessage(res.body, res.text);
    const code: TradingErrorCode =
      res.status === 401 ? 'unauthorized' : res.status === 404 ? 'not_found' : res.status === 403 || res.status === 422 ? 'rejected' : 'bad_request';
    return this.fail(code, `${res.status} ${message}`, res.status, alpacaCode);
  }

  /** A request without side effects (or an idempotent one): retried on 429, 5xx and network errors. */
  private async call(method: 'GET' | 'DELETE', path: string): Promise<TradingResult<Response>> {
    const max = this.opts.maxAttempts ?? 5;
    let last: TradingError = this.fail('unavailable', 'no attempt');
    for (let attempt = 0; attempt < max; attempt++) {
      const res = await this.raw(method, path);
      if (res.kind === 'network') last = this.fail('unavailable', `${method} ${path.split('?')[0]}: ${res.message}`);
      else if (res.status === 429) {
        last = this.fail('rate_limited', `${method} ${path.split('?')[0]}: 429 rate limited`, 429);
        if (attempt + 1 < max) await this.wait429(res, attempt);
        continue;
      } else if (res.status >= 500) last = this.fail('unavailable', `${method} ${path.split('?')[0]}: ${res.status} ${errorMessage(res.body, res.text).message}`, res.status);
      else return ok(res);
      if (attempt + 1 < max) await this.backoff(attempt);
    }
    return last;
  }

  private async getParsed<T>(path: string, schema: z.ZodType<T>, what: string): Promise<TradingResult<T>> {
    const r = await this.call('GET', path);
    if (!r.ok) return r;
    if (r.value.status !== 200) return this.errorOf(r.value);
    const p = schema.safeParse(r.value.body);
    if (!p.success) return this.fail('invalid_response', `${what}: ${p.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, 200);
    return ok(p.data);
  }

  /**
   * Submits an order at most once. The client_order_id comes from the engine order id; after a
   * timeout, 5xx or reset (did Alpaca get it?) the order is looked up by client_order_id before the
   * POST is repeated with the same id; a 422 "client_order_id must be unique" means it exists and is
   * fetched. 429 waits for the reset. 403/422 are `rejected` with Alpaca's message. When nothing can
   * tell whether the order exists, the result is `uncertain` (reconcile before trading on).
   */
  async submitOrder(req: OrderRequest): Promise<TradingResult<SubmitOutcome>> {
    const body = orderBody(req);
    const cid = body['client_order_id'] as string;
    const max = this.opts.maxAttempts ?? 5;
    let unsure = false;
    let attempts = 0;
    let last = '';
    for (let attempt = 0; attempt < max; attempt++) {
      if (unsure) {
        const found = await this.lookupOnce(cid);
        if (found.kind === 'found') return ok({ order: found.order, attempts, recovered: true });
        // 'absent': it never arrived, POST again; 'unknown': the repeat POST is still safe (same id)
      }
      attempts++;
      const res = await this.raw('POST', '/v2/orders', body);
      if (res.kind === 'network') {
        if (res.reached) unsure = true; // a refused connection never carried the order
        last = res.message;
        this.opts.log?.('warn', 'alpaca submit: no answer, will look up', { clientOrderId: cid, reason: last });
      } else if (res.status === 200 || res.status === 201) {
        const p = orderSchema.safeParse(res.body);
        if (p.success) return ok({ order: p.data, attempts, recovered: false });
        // accepted, but the answer is unreadable: the lookup decides
        unsure = true;
        last = 'unreadable order in the answer';
      } else if (res.status === 429) {
        last = '429 rate limited';
        if (attempt + 1 < max) await this.wait429(res, attempt);
        continue;
      } else if (res.status >= 500) {
        unsure = true;
        last = `${res.status} ${errorMessage(res.body, res.text).message}`;
      } else {
        const { message, alpacaCode } = errorMessage(res.body, res.text);
        if (res.status === 422 && isDuplicateClientOrderId(message)) {
          const found = await this.lookupOnce(cid);
          if (found.kind === 'found') return ok({ order: found.order, attempts, recovered: true });
          return this.fail('uncertain', `client_order_id ${cid} is taken but the order could not be fetched`, 422, alpacaCode);
        }
        return this.errorOf(res);
      }
      if (attempt + 1 < max) await this.backoff(attempt);
    }
    if (unsure) {
      const found = await this.lookupOnce(cid);
      if (found.kind === 'found') return ok({ order: found.order, attempts, recovered: true });
      // even a 404 now is not proof: a timed-out POST may still land; the caller reconciles
      return this.fail('uncertain', `order ${cid}: outcome unknown after ${attempts} attempts: ${last}`);
    }
    return last.startsWith('429') ? this.fail('rate_limited', `order ${cid} not placed: ${last}`, 429) : this.fail('unavailable', `order ${cid} not placed: ${last}`);
  }

  /** One lookup by client_order_id: found, certainly absent (404), or unknown (no usable answer). */
  private async lookupOnce(cid: string): Promise<{ kind: 'found'; order: AlpacaOrder } | { kind: 'absent' } | { kind: 'unknown' }> {
    const res = await this.raw('GET', `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(cid)}`);
    if (res.kind === 'network') return { kind: 'unknown' };
    if (res.status === 404) return { kind: 'absent' };
    if (res.status !== 200) return { kind: 'unknown' };
    const p = orderSchema.safeParse(res.body);
    return p.success ? { kind: 'found', order: p.data } : { kind: 'unknown' };
  }

  /** Requests the cancel of an order (204 = accepted; the canceled event follows on trade_updates). */
  async cancelOrder(orderId: string): Promise<TradingResult<void>> {
    const r = await this.call('DELETE', `/v2/orders/${encodeURIComponent(orderId)}`);
    if (!r.ok) return r;
    if (r.value.status === 204 || r.value.status === 200) return ok(undefined);
    const e = this.errorOf(r.value);
    return r.value.status === 422 ? { ...e, code: 'not_cancelable' } : e;
  }

  getOrder(orderId: string): Promise<TradingResult<AlpacaOrder>> {
    return this.getParsed(`/v2/orders/${encodeURIComponent(orderId)}`, orderSchema, 'order');
  }

  getOrderByClientId(clientOrderId: string): Promise<TradingResult<AlpacaOrder>> {
    return this.getParsed(`/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`, orderSchema, 'order');
  }

  /** Open orders (at most 500, Alpaca's page limit), optionally of some symbols. */
  listOpenOrders(symbols?: readonly string[]): Promise<TradingResult<AlpacaOrder[]>> {
    const q = new URLSearchParams({ status: 'open', limit: '500', direction: 'asc' });
    if (symbols && symbols.length > 0) q.set('symbols', symbols.join(','));
    return this.getParsed(`/v2/orders?${q}`, z.array(orderSchema), 'orders');
  }

  listPositions(): Promise<TradingResult<AlpacaPosition[]>> {
    return this.getParsed('/v2/positions', z.array(positionSchema), 'positions');
  }

  /** One position (crypto: the slash-less symbol, BTCUSD); `not_found` when flat. */
  getPosition(symbol: string): Promise<TradingResult<AlpacaPosition>> {
    return this.getParsed(`/v2/positions/${encodeURIComponent(symbol.replace('/', ''))}`, positionSchema, 'position');
  }

  /** The asset (trading rules) of a symbol (crypto with its slash, `DOGE/USD`); `not_found` when unknown. */
  getAsset(symbol: string): Promise<TradingResult<AlpacaAsset>> {
    return this.getParsed(`/v2/assets/${encodeURIComponent(symbol)}`, assetSchema, 'asset');
  }

  getAccount(): Promise<TradingResult<AlpacaAccount>> {
    return this.getParsed('/v2/account', accountSchema, 'account');
  }

  getClock(): Promise<TradingResult<AlpacaClock>> {
    return this.getParsed('/v2/clock', clockSchema, 'clock');
  }

  /** Trading days between two dates (YYYY-MM-DD, inclusive). */
  getCalendar(start: string, end: string): Promise<TradingResult<AlpacaCalendarDay[]>> {
    return this.getParsed(`/v2/calendar?${new URLSearchParams({ start, end })}`, z.array(calendarDaySchema), 'calendar');
  }
}
