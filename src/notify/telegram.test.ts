import { afterEach, describe, expect, it } from 'vitest';
import { startTelegramServer, type TelegramServer, type TelegramServerOptions } from '../../test/support/telegram-server.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { describeError, redactToken, splitMessage, TelegramClient, UpdatePoller, type NotifyLogger, type TgUpdate } from './telegram.js';

/**
 * The Bot API client, the outgoing queues and update polling, over real HTTP against the local Bot API
 * server (test/support/telegram-server.ts). Times asserted are the server's receive times: protocol
 * checks (a resend came after retry_after), not speed measurements.
 */

const TOKEN = '987654321:AAFake_Secret-Token_for_tests_0123456789';
const CHAT = '4242';

const servers: TelegramServer[] = [];
const outboxes: Outbox[] = [];
const pollers: UpdatePoller[] = [];
afterEach(async () => {
  for (const p of pollers.splice(0)) await p.stop();
  for (const o of outboxes.splice(0)) await o.close(0);
  for (const s of servers.splice(0)) await s.close();
});

async function server(opts: Partial<TelegramServerOptions> = {}): Promise<TelegramServer> {
  const s = await startTelegramServer({ token: TOKEN, retryAfter: 1, ...opts });
  servers.push(s);
  return s;
}

/** A logger keeping every line as JSON text (to look for the token in). */
function captureLogger(): NotifyLogger & { lines: string[]; at(level: string): string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (obj: object, msg?: string) => void lines.push(JSON.stringify({ level, ...obj, msg }));
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error'), at: (level) => lines.filter((l) => JSON.parse(l).level === level) };
}

function outbox(s: TelegramServer | string, opts: Partial<OutboxOptions> = {}, token = TOKEN): Outbox {
  const client = new TelegramClient({ token, apiUrl: typeof s === 'string' ? s : s.url, timeoutMs: 5000 });
  const o = new Outbox({ client, logger: captureLogger(), backoffBaseMs: 50, backoffMaxMs: 200, ...opts });
  outboxes.push(o);
  return o;
}

const sends = (s: TelegramServer) => s.requestsOf('sendMessage');

describe('the local Bot API server', () => {
  it('answers 401 to a wrong token and takes method names in any case, from JSON, form or query parameters', async () => {
    const s = await server({ flood: false });
    const wrong = await fetch(`${s.url}/bot123:nope/getMe`);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    const me = await fetch(`${s.url}/bot${TOKEN}/GETME`);
    expect(((await me.json()) as { result: { username: string } }).result.username).toBe('papertape_test_bot');
    await fetch(`${s.url}/bot${TOKEN}/sendmessage`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'chat_id=1&text=form%20body' });
    await fetch(`${s.url}/bot${TOKEN}/sendMessage?chat_id=2&text=query`);
    const tooLong = await fetch(`${s.url}/bot${TOKEN}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: 3, text: 'x'.repeat(4097) }) });
    expect(tooLong.status).toBe(400);
    expect(s.messages.map((m) => [m.chat_id, m.text])).toEqual([['1', 'form body'], ['2', 'query']]);
  });

  it('applies flood control: a second message within a second in a chat gets 429 with retry_after', async () => {
    const s = await server({ retryAfter: 3 });
    const post = (chat: number) => fetch(`${s.url}/bot${TOKEN}/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: chat, text: 'hi' }) });
    expect((await post(1)).status).toBe(200);
    const second = await post(1);
    expect(second.status).toBe(429);
    expect(await second.json()).toEqual({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 3', parameters: { retry_after: 3 } });
    expect((await post(2)).status).toBe(200); // another chat is not limited
  });
});

describe('TelegramClient', () => {
  it('sends plain text as a JSON POST to /bot<token>/sendMessage', async () => {
    const s = await server();
    const c = new TelegramClient({ token: TOKEN, apiUrl: `${s.url}/` });
    const r = await c.sendMessage(CHAT, 'BTCUSDT filled 0.01 @ 43250.5 <b>not html</b> *not markdown*');
    expect(r.ok).toBe(true);
    const req = sends(s)[0]!;
    expect(req.path).toBe(`/bot${TOKEN}/sendMessage`);
    expect(req.contentType).toContain('application/json');
    expect(req.params).toEqual({ chat_id: 4242, text: 'BTCUSDT filled 0.01 @ 43250.5 <b>not html</b> *not markdown*' });
    expect(req.params).not.toHaveProperty('parse_mode');
  });

  it('classifies answers: 429 with retry_after (or only in the description), 5xx, 4xx, migration', async () => {
    const s = await server({ flood: false });
    const c = new TelegramClient({ token: TOKEN, apiUrl: s.url });
    s.rateLimitNext('sendMessage', 7);
    expect(await c.sendMessage(CHAT, 'a')).toMatchObject({ ok: false, code: 'rate_limited', status: 429, retryAfterS: 7 });
    s.rateLimitNext('sendMessage', 9, { omitParameters: true });
    expect(await c.sendMessage(CHAT, 'a')).toMatchObject({ ok: false, code: 'rate_limited', retryAfterS: 9 });
    s.failNext('sendMessage', 1, 503, 'Service Unavailable');
    expect(await c.sendMessage(CHAT, 'a')).toMatchObject({ ok: false, code: 'server', status: 503 });
    s.unknownChats.add('5');
    expect(await c.sendMessage('5', 'a')).toMatchObject({ ok: false, code: 'rejected', status: 400, message: 'sendMessage: 400 Bad Request: chat not found' });
    s.migrateChat('-77', '-10077');
    expect(await c.sendMessage('-77', 'a')).toMatchObject({ ok: false, code: 'migrated', migrateToChatId: '-10077' });
    s.hangupNext('sendMessage', 1);
    expect(await c.sendMessage(CHAT, 'a')).toMatchObject({ ok: false, code: 'network' });
  });

  it('never lets the token out: not in failures from fetch (their causes included), nor from the server', async () => {
    // a URL fetch cannot parse: undici's message carries the whole URL, token and all
    const bad = new TelegramClient({ token: TOKEN, apiUrl: 'http://[::1' });
    const r1 = await bad.sendMessage(CHAT, 'x');
    expect(r1.ok).toBe(false);
    // connection refused: the cause carries the socket error
    const s = await server();
    const port = new URL(s.url).port;
    await s.close();
    servers.length = 0;
    const refused = new TelegramClient({ token: TOKEN, apiUrl: `http://127.0.0.1:${port}` });
    const r2 = await refused.sendMessage(CHAT, 'x');
    expect(r2).toMatchObject({ ok: false, code: 'network' });
    for (const r of [r1, r2]) {
      expect(JSON.stringify(r)).not.toContain(TOKEN);
      expect(JSON.stringify(r)).not.toContain(TOKEN.split(':')[1]);
    }
    expect((r1 as { message: string }).message).toContain('bot<redacted>');
    // the unredacted text really had it (so this test can fail)
    const raw = await fetch(`http://[::1/bot${TOKEN}/x`).catch((e: unknown) => describeError(e));
    expect(String(raw)).toContain(TOKEN);
  });

  it('redacts the token in every form it may take', () => {
    const text = `GET https://api.telegram.org/bot${TOKEN}/sendMessage failed; ${encodeURIComponent(TOKEN)}; bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi/getMe`;
    const out = redactToken(text, TOKEN);
    expect(out).not.toContain(TOKEN.split(':')[1]);
    expect(out).not.toContain('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi');
    expect(out).toContain('https://api.telegram.org/bot<redacted>/sendMessage');
  });
});

describe('splitMessage', () => {
  it('keeps short texts whole and splits long ones at line breaks into parts of at most 4096 characters', () => {
    expect(splitMessage('hello')).toEqual(['hello']);
    expect(splitMessage('')).toEqual([]);
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(40)}`);
    const parts = splitMessage(lines.join('\n'));
    expect(parts.length).toBe(4);
    expect(parts.every((p) => p.length <= 4096)).toBe(true);
    expect(parts.join('\n')).toBe(lines.join('\n'));
    const huge = splitMessage('y'.repeat(50_000));
    expect(huge.length).toBe(4);
    expect(huge[3]!.endsWith('… (cut: message too long)')).toBe(true);
    expect(huge.every((p) => p.length <= 4096)).toBe(true);
  });
});

describe('Outbox', () => {
  it('waits retry_after after a 429 and then sends the same message again', async () => {
    const s = await server();
    const o = outbox(s);
    s.rateLimitNext('sendMessage', 1);
    o.send(CHAT, 'kill switch engaged', 'alert');
    await o.idle();
    const [first, second] = sends(s);
    expect(first!.status).toBe(429);
    expect(second!.status).toBe(200);
    expect(second!.params['text']).toBe('kill switch engaged');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(s.messages.map((m) => m.text)).toEqual(['kill switch engaged']);
    expect(o.stats()).toMatchObject({ sent: 1, retries: 1, rateLimited: 1, queued: 0, failed: 0 });
  });

  it('reads retry_after from the description when parameters are missing', async () => {
    const s = await server();
    const o = outbox(s);
    s.rateLimitNext('sendMessage', 1, { omitParameters: true });
    o.send(CHAT, 'm', 'reply');
    await o.idle();
    const [first, second] = sends(s);
    expect(first!.status).toBe(429);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    expect(s.messages).toHaveLength(1);
  });

  it('paces one chat at least a second apart, so the server never has to limit it', async () => {
    const s = await server();
    const o = outbox(s);
    for (const t of ['one', 'two', 'three']) o.send(CHAT, t, 'fills');
    await o.idle();
    const r = sends(s);
    expect(r.map((x) => x.status)).toEqual([200, 200, 200]);
    expect(r[1]!.at - r[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(r[2]!.at - r[1]!.at).toBeGreaterThanOrEqual(1000);
    expect(s.messages.map((m) => m.text)).toEqual(['one', 'two', 'three']);
  });

  it('without its own pacing still delivers everything, in order, honouring each 429 of the flood control', async () => {
    const s = await server({ retryAfter: 1 });
    const o = outbox(s, { minIntervalMs: 0 });
    for (const t of ['a', 'b', 'c']) o.send(CHAT, t, 'fills');
    await o.idle();
    const r = sends(s);
    expect(r.some((x) => x.status === 429)).toBe(true);
    for (let i = 0; i < r.length - 1; i++) if (r[i]!.status === 429) expect(r[i + 1]!.at - r[i]!.at).toBeGreaterThanOrEqual(1000);
    expect(s.messages.map((m) => m.text)).toEqual(['a', 'b', 'c']);
    expect(o.stats().rateLimited).toBe(r.filter((x) => x.status === 429).length);
  });

  it('retries 5xx answers and dropped connections with backoff until the message goes through', async () => {
    const s = await server();
    const o = outbox(s, { minIntervalMs: 0 });
    s.failNext('sendMessage', 2, 502);
    s.hangupNext('sendMessage', 1);
    o.send(CHAT, 'breaker tripped', 'alert');
    await o.idle();
    expect(sends(s).map((r) => r.status)).toEqual([502, 502, 0, 200]);
    expect(s.messages.map((m) => m.text)).toEqual(['breaker tripped']);
    expect(o.stats()).toMatchObject({ sent: 1, retries: 3, failed: 0 });
  });

  it('does not retry 401: drops the message, counts it, logs once without the token', async () => {
    const s = await server();
    const wrongToken = '111111111:AAWrong_token_but_well_formed_abcdefgh';
    const logger = captureLogger();
    const o = outbox(s, { logger, minIntervalMs: 0 }, wrongToken);
    o.send(CHAT, 'first', 'alert');
    o.send(CHAT, 'second', 'alert');
    await o.idle();
    expect(sends(s).map((r) => r.status)).toEqual([401, 401]);
    expect(o.stats()).toMatchObject({ sent: 0, failed: 2, retries: 0, lastError: 'sendMessage: 401 Unauthorized' });
    expect(logger.at('error')).toHaveLength(1);
    expect(logger.lines.join('\n')).not.toContain(wrongToken.split(':')[1]);
  });

  it('does not retry 400 chat not found', async () => {
    const s = await server();
    s.unknownChats.add(CHAT);
    const o = outbox(s);
    o.send(CHAT, 'x', 'reply');
    await o.idle();
    expect(sends(s)).toHaveLength(1);
    expect(o.stats()).toMatchObject({ failed: 1, sent: 0 });
  });

  it('follows a group upgraded to a supergroup (migrate_to_chat_id) and keeps sending there', async () => {
    const s = await server();
    const migrated: [string, string][] = [];
    const o = outbox(s, { onMigrate: (a, b) => migrated.push([a, b]) });
    s.migrateChat('-3001', '-1003001');
    o.send('-3001', 'one', 'alert');
    await o.idle();
    o.send('-3001', 'two', 'alert');
    await o.idle();
    expect(migrated).toEqual([['-3001', '-1003001']]);
    expect(sends(s).map((r) => [r.params['chat_id'], r.status])).toEqual([[-3001, 400], [-1003001, 200], [-1003001, 200]]);
    expect(s.messagesTo('-1003001').map((m) => m.text)).toEqual(['one', 'two']);
  });

  it('splits a text longer than one message', async () => {
    const s = await server({ flood: false });
    const o = outbox(s, { minIntervalMs: 0 });
    o.send(CHAT, Array.from({ length: 200 }, (_, i) => `${i} ${'z'.repeat(50)}`).join('\n'), 'summary');
    await o.idle();
    expect(s.messages.length).toBe(3);
    expect(s.messages.every((m) => m.text.length <= 4096)).toBe(true);
  });

  it('bounds its queue: fills go first, alerts are never dropped', async () => {
    const s = await server({ flood: false });
    const o = outbox(s, { maxQueue: 5, minIntervalMs: 0 });
    o.send(CHAT, 'A1', 'alert'); // taken by the sender at once
    for (let i = 1; i <= 8; i++) o.send(CHAT, `F${i}`, 'fills');
    expect(o.send(CHAT, 'A2', 'alert')).toBe(true);
    expect(o.stats().dropped).toBe(4);
    // a queue holding only alerts takes more alerts above its bound, and drops a new fill batch
    for (let i = 3; i <= 8; i++) o.send(CHAT, `A${i}`, 'alert');
    expect(o.send(CHAT, 'F9', 'fills')).toBe(false);
    await o.idle();
    expect(s.messages.map((m) => m.text)).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7', 'A8']);
    expect(o.stats()).toMatchObject({ sent: 8, dropped: 9 });
  });

  it('at close gives the queue a bounded time and reports what was left', async () => {
    const s = await server();
    const logger = captureLogger();
    const o = outbox(s, { logger });
    s.rateLimitNext('sendMessage', 30);
    o.send(CHAT, 'stuck behind a 30 s retry_after', 'alert');
    await new Promise<void>((resolve) => {
      const t = setInterval(() => {
        if (sends(s).length > 0 && o.stats().rateLimited === 1) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    });
    expect(await o.close(100)).toBe(1);
    expect(o.send(CHAT, 'after close', 'alert')).toBe(false);
    expect(logger.lines.some((l) => l.includes('left unsent'))).toBe(true);
    expect(sends(s)).toHaveLength(1);
  });
});

describe('UpdatePoller', () => {
  const poll = (s: TelegramServer, onUpdate: (u: TgUpdate) => void, startedAt = Date.now(), timeoutS = 2): UpdatePoller => {
    const p = new UpdatePoller({ client: new TelegramClient({ token: TOKEN, apiUrl: s.url, timeoutMs: 3000 }), logger: captureLogger(), timeoutS, startedAt, onUpdate, backoffBaseMs: 50, backoffMaxMs: 200 });
    pollers.push(p);
    p.start();
    return p;
  };
  const until = async (what: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(what()).toBe(true);
  };

  it('skips what was sent before the start, then long-polls with offsets and allowed_updates', async () => {
    const s = await server();
    const startedAt = Date.now();
    const old = Math.floor(startedAt / 1000) - 3600;
    s.pushMessage({ chatId: 4242, text: '/kill old', date: old });
    s.pushMessage({ chatId: 4242, text: '/pause old', date: old });
    s.pushMessage({ chatId: 4242, text: '/status', date: Math.floor(startedAt / 1000) });
    const got: TgUpdate[] = [];
    const p = poll(s, (u) => got.push(u), startedAt);
    await until(() => got.length === 1);
    expect(got[0]!.message!.text).toBe('/status');
    expect(p.stats.stale).toBe(2);
    // held until an update arrives
    await until(() => s.requestsOf('getUpdates').some((r) => r.params['timeout'] === 2));
    s.pushMessage({ chatId: 4242, text: '/pause now' });
    await until(() => got.length === 2);
    expect(got[1]!.message!.text).toBe('/pause now');
    const reqs = s.requestsOf('getUpdates');
    expect(reqs[0]!.params).toMatchObject({ offset: -100, timeout: 0, allowed_updates: ['message'] });
    expect(reqs[1]!.params).toMatchObject({ offset: got[0]!.update_id + 1, timeout: 2, allowed_updates: ['message'] });
    // confirmed: the server forgets them once a poll asks past them
    await until(() => s.pending().length === 0);
    expect(reqs.every((r) => r.status !== 409)).toBe(true);
  });

  it('keeps polling after 5xx answers and dropped connections', async () => {
    const s = await server();
    s.failNext('getUpdates', 2, 500, 'Internal Server Error');
    s.hangupNext('getUpdates', 1);
    const got: TgUpdate[] = [];
    const p = poll(s, (u) => got.push(u));
    s.pushMessage({ chatId: 4242, text: '/status' });
    await until(() => got.length === 1);
    expect(p.stats.errors).toBe(3);
    expect(p.stats.lastError).not.toContain(TOKEN);
  });
});
