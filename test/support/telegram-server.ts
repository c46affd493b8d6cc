import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local server speaking the Telegram Bot API as papertape uses it (../shared/protocols/telegram.md):
 * `/bot<token>/<method>` over real HTTP, method names case-insensitive, parameters from the query string,
 * a JSON body or a form body. It checks the token, records what it receives (with receive times), applies
 * Telegram's flood control (a 2nd message within a second in one chat, or more than 20 a minute in a group,
 * gets 429 with `retry_after` and the chat stays blocked that long), serves getUpdates from a queue the test
 * fills (long polling: held until an update arrives or the timeout passes; a second poller gets 409 like
 * the real API), and injects failures on command (5xx, one-off 429s, hang-ups, chat migration).
 */

export interface TgUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}
export interface TgChat {
  id: number;
  type: 'private' | 'group' | 'supergroup' | 'channel';
  title?: string;
  username?: string;
  first_name?: string;
}
export interface TgMessage {
  message_id: number;
  from?: TgUser;
  chat: TgChat;
  date: number;
  text?: string;
  entities?: { type: string; offset: number; length: number }[];
}
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  [other: string]: unknown;
}

/** One HTTP request the server received. */
export interface ReceivedRequest {
  /** the method name as given in the path */
  method: string;
  /** receive time, epoch ms with sub-millisecond resolution */
  at: number;
  /** the HTTP status answered (0: hung up without an answer) */
  status: number;
  params: Record<string, unknown>;
  /** the request path as received (tests check it carries the token, i.e. the secret, only there) */
  path: string;
  contentType: string;
}

/** A message the server accepted (sendMessage answered ok). */
export interface SentMessage {
  message_id: number;
  chat_id: string;
  text: string;
  at: number;
  params: Record<string, unknown>;
}

export interface TelegramServerOptions {
  token: string;
  /** the bot getMe returns */
  bot?: { id: number; username: string };
  /** flood control on (default true) */
  flood?: boolean;
  /** a second message in one chat sooner than this after the previous accepted one is a flood (default 1000) */
  minIntervalMs?: number;
  /** messages per minute in a group (negative chat id) (default 20) */
  groupPerMinute?: number;
  /** retry_after, seconds, of flood-control answers (default 3) */
  retryAfter?: number;
}

type Fault =
  | { kind: 'status'; status: number; description: string; parameters?: Record<string, unknown>; omitParameters?: boolean }
  | { kind: 'hangup' };

interface Poller {
  params: Record<string, unknown>;
  res: ServerResponse;
  req: ReceivedRequest;
  timer: NodeJS.Timeout;
}

export interface TelegramServer {
  /** http://127.0.0.1:port: the TELEGRAM_API_URL */
  url: string;
  token: string;
  requests: ReceivedRequest[];
  messages: SentMessage[];
  /** requests of one method (case-insensitive) */
  requestsOf(method: string): ReceivedRequest[];
  /** queues an update for getUpdates (update_id assigned) and wakes a waiting long poll */
  pushUpdate(u: Omit<TgUpdate, 'update_id'>): TgUpdate;
  /** queues a text message from a user in a chat; date defaults to now */
  pushMessage(m: { chatId: number; text: string; fromId?: number; date?: number; chatType?: TgChat['type']; username?: string }): TgUpdate;
  /** updates queued and not yet confirmed */
  pending(): TgUpdate[];
  /** the next `count` calls of `method` fail with this HTTP status (5xx by default) */
  failNext(method: string, count: number, status?: number, description?: string): void;
  /** the next call of `method` answers 429 with retry_after (in `parameters`, or only in the description) */
  rateLimitNext(method: string, retryAfter: number, opts?: { omitParameters?: boolean }): void;
  /** the next `count` calls of `method` get their connection destroyed without an answer */
  hangupNext(method: string, count: number): void;
  /** sendMessage to `from` answers 400 with migrate_to_chat_id `to` (a group upgraded to a supergroup) */
  migrateChat(from: string, to: string): void;
  /** chats sendMessage answers 400 "chat not found" for */
  unknownChats: Set<string>;
  /** messages sent to a chat */
  messagesTo(chatId: string | number): SentMessage[];
  /** resolves with the first accepted message (already sent or to come) that matches */
  waitForMessage(pred: (m: SentMessage) => boolean, timeoutMs?: number): Promise<SentMessage>;
  close(): Promise<void>;
}

const nowMs = (): number => performance.timeOrigin + performance.now();

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, status: number, description: string, parameters?: Record<string, unknown>): void {
  json(res, status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parameters from the query string and the body (JSON or form); the body wins. */
function parseParams(query: URLSearchParams, contentType: string, body: string): Record<string, unknown> | string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of query) out[k] = v;
  if (body.length === 0) return out;
  const ct = contentType.toLowerCase();
  if (ct.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'Bad Request: expected a JSON object';
      Object.assign(out, parsed);
    } catch {
      return 'Bad Request: can\'t parse JSON';
    }
  } else if (ct.includes('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  } else if (ct.includes('multipart/form-data')) {
    return 'Bad Request: multipart bodies are not supported by this test server';
  }
  return out;
}

function intParam(v: unknown): number | null {
  if (v === undefined || v === null || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isInteger(n) ? n : NaN;
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startTelegramServer(opts: TelegramServerOptions): Promise<TelegramServer> {
  const bot = opts.bot ?? { id: 777000111, username: 'papertape_test_bot' };
  const flood = opts.flood ?? true;
  const minIntervalMs = opts.minIntervalMs ?? 1000;
  const groupPerMinute = opts.groupPerMinute ?? 20;
  const retryAfter = opts.retryAfter ?? 3;

  const requests: ReceivedRequest[] = [];
  const messages: SentMessage[] = [];
  const faults = new Map<string, Fault[]>();
  const migrations = new Map<string, string>();
  const unknownChats = new Set<string>();
  const chats = new Map<string, { blockedUntil: number; lastAccepted: number | null; recent: number[] }>();
  let updates: TgUpdate[] = [];
  let nextUpdateId = 500_000_001;
  let nextMessageId = 1;
  let poller: Poller | null = null;
  const messageWaiters: { pred: (m: SentMessage) => boolean; resolve: (m: SentMessage) => void }[] = [];
  const sockets = new Set<Socket>();

  const takeFault = (method: string): Fault | undefined => {
    const list = faults.get(method);
    const f = list?.shift();
    if (list && list.length === 0) faults.delete(method);
    return f;
  };
  const addFault = (method: string, f: Fault): void => {
    const m = method.toLowerCase();
    faults.set(m, [...(faults.get(m) ?? []), f]);
  };

  /** Confirms updates below a positive offset, forgets all but the last -offset for a negative one; returns what is due. */
  const due = (params: Record<string, unknown>): TgUpdate[] | string => {
    const offset = intParam(params['offset']);
    const limit = intParam(params['limit']) ?? 100;
    if (Number.isNaN(offset) || Number.isNaN(limit)) return 'Bad Request: wrong parameter';
    if (offset !== null && offset > 0) updates = updates.filter((u) => u.update_id >= offset);
    else if (offset !== null && offset < 0) updates = updates.slice(Math.max(0, updates.length + offset));
    let allowed: unknown = params['allowed_updates'];
    if (typeof allowed === 'string') {
      try {
        allowed = JSON.parse(allowed);
      } catch {
        return 'Bad Request: can\'t parse allowed_updates JSON array';
      }
    }
    const types = Array.isArray(allowed) && allowed.length > 0 ? (allowed as string[]) : null;
    const out = types ? updates.filter((u) => types.some((t) => t in u)) : updates;
    return out.slice(0, Math.max(1, Math.min(100, limit)));
  };

  const answerPoller = (): void => {
    if (!poller) return;
    const p = poller;
    const r = due(p.params);
    if (typeof r === 'string' || r.length > 0) {
      poller = null;
      clearTimeout(p.timer);
      if (typeof r === 'string') {
        p.req.status = 400;
        fail(p.res, 400, r);
      } else {
        p.req.status = 200;
        json(p.res, 200, { ok: true, result: r });
      }
    }
  };

  const sendMessage = (params: Record<string, unknown>, res: ServerResponse, rec: ReceivedRequest): void => {
    const rawChat = params['chat_id'];
    const text = params['text'];
    if (rawChat === undefined || rawChat === null || rawChat === '') return void fail(res, (rec.status = 400), 'Bad Request: chat_id is empty');
    const chatId = String(rawChat);
    if (!/^(-?\d+|@[A-Za-z0-9_]{5,32})$/.test(chatId) || unknownChats.has(chatId)) return void fail(res, (rec.status = 400), 'Bad Request: chat not found');
    if (typeof text !== 'string' || text.trim().length === 0) return void fail(res, (rec.status = 400), 'Bad Request: message text is empty');
    if (text.length > 4096) return void fail(res, (rec.status = 400), 'Bad Request: message is too long');
    const to = migrations.get(chatId);
    if (to !== undefined) return void fail(res, (rec.status = 400), 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: Number(to) });
    if (flood) {
      const c = chats.get(chatId) ?? { blockedUntil: 0, lastAccepted: null, recent: [] };
      chats.set(chatId, c);
      const t = rec.at;
      c.recent = c.recent.filter((x) => t - x < 60_000);
      let wait = 0;
      if (t < c.blockedUntil) wait = Math.ceil((c.blockedUntil - t) / 1000);
      else if ((c.lastAccepted !== null && t - c.lastAccepted < minIntervalMs) || (chatId.startsWith('-') && c.recent.length >= groupPerMinute)) {
        c.blockedUntil = t + retryAfter * 1000;
        wait = retryAfter;
      }
      if (wait > 0) return void fail(res, (rec.status = 429), `Too Many Requests: retry after ${wait}`, { retry_after: wait });
      c.lastAccepted = t;
      c.recent.push(t);
    }
    const m: SentMessage = { message_id: nextMessageId++, chat_id: chatId, text, at: rec.at, params };
    messages.push(m);
    for (const w of [...messageWaiters]) {
      if (w.pred(m)) {
        messageWaiters.splice(messageWaiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
    rec.status = 200;
    const chat: TgChat = chatId.startsWith('-100') ? { id: Number(chatId), type: 'supergroup', title: 'test' } : chatId.startsWith('-') ? { id: Number(chatId), type: 'group', title: 'test' } : { id: Number(chatId), type: 'private', first_name: 'Test' };
    json(res, 200, { ok: true, result: { message_id: m.message_id, from: { id: bot.id, is_bot: true, first_name: 'Papertape', username: bot.username }, chat, date: Math.floor(rec.at / 1000), text } });
  };

  const server = createServer((req, res) => {
    const at = nowMs();
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const m = /^\/bot([^/]*)\/([A-Za-z0-9_]+)\/?$/.exec(url.pathname);
      const rec: ReceivedRequest = { method: m?.[2] ?? '', at, status: 0, params: {}, path: url.pathname, contentType: String(req.headers['content-type'] ?? '') };
      requests.push(rec);
      const body = await readBody(req);
      if (!m) return void fail(res, (rec.status = 404), 'Not Found');
      if (decodeURIComponent(m[1]!) !== opts.token) return void fail(res, (rec.status = 401), 'Unauthorized');
      const method = m[2]!.toLowerCase();
      const params = parseParams(url.searchParams, rec.contentType, body);
      if (typeof params === 'string') return void fail(res, (rec.status = 400), params);
      rec.params = params;
      const fault = takeFault(method);
      if (fault?.kind === 'hangup') {
        req.socket.destroy();
        return;
      }
      if (fault) {
        rec.status = fault.status;
        return void fail(res, fault.status, fault.description, fault.omitParameters ? undefined : fault.parameters);
      }
      switch (method) {
        case 'getme':
          rec.status = 200;
          return void json(res, 200, { ok: true, result: { id: bot.id, is_bot: true, first_name: 'Papertape', username: bot.username } });
        case 'deletewebhook':
          rec.status = 200;
          return void json(res, 200, { ok: true, result: true, description: 'Webhook is already deleted' });
        case 'sendmessage':
          return sendMessage(params, res, rec);
        case 'getupdates': {
          const timeout = intParam(params['timeout']) ?? 0;
          if (Number.isNaN(timeout) || timeout < 0) return void fail(res, (rec.status = 400), 'Bad Request: wrong timeout');
          if (poller) {
            // like the real API: the older request ends with 409
            const old = poller;
            poller = null;
            clearTimeout(old.timer);
            old.req.status = 409;
            fail(old.res, 409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running');
          }
          const r = due(params);
          if (typeof r === 'string') return void fail(res, (rec.status = 400), r);
          if (r.length > 0 || timeout === 0) {
            rec.status = 200;
            return void json(res, 200, { ok: true, result: r });
          }
          const p: Poller = {
            params,
            res,
            req: rec,
            timer: setTimeout(() => {
              if (poller !== p) return;
              poller = null;
              rec.status = 200;
              json(res, 200, { ok: true, result: [] });
            }, timeout * 1000),
          };
          poller = p;
          res.on('close', () => {
            if (poller === p) {
              poller = null;
              clearTimeout(p.timer);
            }
          });
          return;
        }
        default:
          return void fail(res, (rec.status = 404), 'Not Found: method not found');
      }
    })().catch((e: unknown) => {
      if (!res.headersSent) fail(res, 500, `Internal Server Error: ${(e as Error).message}`);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  const pushUpdate = (u: Omit<TgUpdate, 'update_id'>): TgUpdate => {
    const full = { update_id: nextUpdateId++, ...u } as TgUpdate;
    updates.push(full);
    answerPoller();
    return full;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    requests,
    messages,
    unknownChats,
    requestsOf: (method) => requests.filter((r) => r.method.toLowerCase() === method.toLowerCase()),
    pushUpdate,
    pushMessage({ chatId, text, fromId, date, chatType, username }) {
      const type = chatType ?? (chatId < 0 ? (String(chatId).startsWith('-100') ? 'supergroup' : 'group') : 'private');
      const from: TgUser = { id: fromId ?? Math.abs(chatId), is_bot: false, first_name: 'Tester', ...(username ? { username } : {}) };
      const cmd = /^\/\S+/.exec(text);
      return pushUpdate({
        message: {
          message_id: nextMessageId++,
          from,
          chat: type === 'private' ? { id: chatId, type, first_name: 'Tester', ...(username ? { username } : {}) } : { id: chatId, type, title: 'test group' },
          date: date ?? Math.floor(Date.now() / 1000),
          text,
          ...(cmd ? { entities: [{ type: 'bot_command', offset: 0, length: cmd[0].length }] } : {}),
        },
      });
    },
    pending: () => [...updates],
    failNext(method, count, status = 502, description = 'Bad Gateway') {
      for (let i = 0; i < count; i++) addFault(method, { kind: 'status', status, description });
    },
    rateLimitNext(method, seconds, o = {}) {
      addFault(method, { kind: 'status', status: 429, description: `Too Many Requests: retry after ${seconds}`, parameters: { retry_after: seconds }, omitParameters: o.omitParameters ?? false });
    },
    hangupNext(method, count) {
      for (let i = 0; i < count; i++) addFault(method, { kind: 'hangup' });
    },
    migrateChat(from, to) {
      migrations.set(from, to);
    },
    messagesTo: (chatId) => messages.filter((m) => m.chat_id === String(chatId)),
    waitForMessage(pred, timeoutMs = 30_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<SentMessage>((resolve, reject) => {
        const w = {
          pred,
          resolve: (m: SentMessage) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          messageWaiters.splice(messageWaiters.indexOf(w), 1);
          reject(new Error(`no matching Telegram message within ${timeoutMs} ms (got: ${JSON.stringify(messages.map((x) => x.text.slice(0, 80)))})`));
        }, timeoutMs);
        messageWaiters.push(w);
      });
    },
    async close() {
      if (poller) {
        clearTimeout(poller.timer);
        poller = null;
      }
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
