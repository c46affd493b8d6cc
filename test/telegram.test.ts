import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, logLines, waitFor } from './support/procs.js';
import { startSession, type Session } from './support/session.js';
import { startTelegramServer, type SentMessage, type TelegramServer } from './support/telegram-server.js';

/**
 * Telegram end to end: `papertape run` against serve-replay (spot and USD-M BTCUSDT at 40x) with
 * TELEGRAM_* pointed at a local server speaking the Bot API (flood control on). Fills arrive in batches,
 * commands from the configured chat are obeyed (and go into the engine like the API's), commands from
 * any other chat are not, a /kill left pending from before the start is never run, and the bot token
 * shows up nowhere: logs, stderr, SQLite, event log, API answers.
 */

const TOKEN = '5550001234:AAE-e2e_Secret_Token_abcdefghijklmnopq';
const SECRET = TOKEN.split(':')[1]!;
const API_TOKEN = 'telegram-e2e-api-token-0001';
const CHAT = 4242;
const OTHER = 31337;

/** how many fills a fill message reports ("Fill" or "Fills: N in the last ...") */
function fillsIn(m: SentMessage): number {
  const first = m.text.split('\n')[0]!;
  if (first === 'Fill') return 1;
  const r = /^Fills: (\d+)/.exec(first);
  return r ? Number(r[1]) : 0;
}
const isFillMessage = (m: SentMessage): boolean => fillsIn(m) > 0;

/** every file under a directory, gzip files decompressed */
function allFileContents(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFileContents(p));
    else {
      const raw = readFileSync(p);
      let text = raw.toString('latin1');
      if (name.endsWith('.gz')) {
        try {
          text = gunzipSync(raw).toString('utf8');
        } catch {
          // a file cut at its end: its raw bytes are searched
        }
      }
      out.push({ file: p, text });
    }
  }
  return out;
}

describe('Telegram: notifications and commands over the Bot API', () => {
  let tg: TelegramServer;
  let session: Session;
  let api: string;
  let exitCode: number | null = null;
  const apiAnswers: string[] = [];
  const status = async (): Promise<any> => {
    const r = await fetch(`${api}/status`);
    const text = await r.text();
    apiAnswers.push(text);
    return JSON.parse(text);
  };

  beforeAll(async () => {
    tg = await startTelegramServer({ token: TOKEN });
    // a /kill sent to an earlier run, still pending: must never be run by this one
    tg.pushMessage({ chatId: CHAT, text: '/kill stale command', date: Math.floor(Date.now() / 1000) - 600 });
    session = await startSession({
      replay: [...SPOT_FILES, USDM_BTC, '--speed', '20', '--start-delay', '1500'],
      env: {
        API_TOKEN,
        LOG_LEVEL: 'debug',
        OBI_COOLDOWN_MS: '100',
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_CHAT_ID: String(CHAT),
        TELEGRAM_API_URL: tg.url,
        TELEGRAM_FILL_BATCH_MS: '2000',
        TELEGRAM_POLL_TIMEOUT_S: '5',
        TELEGRAM_SUMMARY_UTC: 'off',
      },
    });
    api = session.api;
  }, 60_000);

  afterAll(async () => {
    await session?.stop();
    await tg?.close();
  });

  it('announces the start and does not run a /kill that was pending from before it', async () => {
    await tg.waitForMessage((m) => m.chat_id === String(CHAT) && m.text.startsWith('papertape started'), 15_000);
    // the pending updates were taken (the stale one skipped) and a long poll is running
    await waitFor('a long poll', () => tg.requestsOf('getUpdates').some((r) => r.params['timeout'] === 5), 15_000);
    expect(tg.requestsOf('getUpdates')[0]!.params).toMatchObject({ offset: -100, allowed_updates: ['message'] });
    const s = await status();
    expect(s.risk.halted).toBe(false);
    expect(s.session.telegram).toMatchObject({ chatId: String(CHAT), bot: 'papertape_test_bot', failed: 0 });
    expect(s.session.telegram.polling.stale).toBe(1);
    expect(tg.pending()).toEqual([]);
  }, 30_000);

  it('notifies fills in batches', async () => {
    const m = await tg.waitForMessage(isFillMessage, 40_000);
    expect(m.chat_id).toBe(String(CHAT));
    expect(m.text).toMatch(/\nBTCUSDT: \d+ fills?, net [-+]?[\d.]+ .*avg price \d+\.\d{2}, fees \d+\.\d{4}, realized [-+]?\d+\.\d{4}\n/);
  }, 45_000);

  it('/pause from the configured chat pauses trading', async () => {
    const before = tg.messages.length;
    tg.pushMessage({ chatId: CHAT, text: '/pause drill pause' });
    const reply = await tg.waitForMessage((m) => m.text.startsWith('PAUSED: drill pause'), 15_000);
    expect(reply.chat_id).toBe(String(CHAT));
    expect(tg.messages.indexOf(reply)).toBeGreaterThanOrEqual(before);
    const s = await status();
    expect(s.risk).toMatchObject({ paused: true, pauseReason: 'drill pause', halted: false });
  }, 20_000);

  it('ignores /kill from another chat; /status from the configured one replies (through a 502)', async () => {
    tg.pushMessage({ chatId: OTHER, text: '/kill intruder' });
    tg.failNext('sendMessage', 1, 502);
    tg.pushMessage({ chatId: CHAT, text: '/status' });
    const reply = await tg.waitForMessage((m) => m.text.startsWith('papertape: PAUSED (drill pause)'), 20_000);
    expect(reply.chat_id).toBe(String(CHAT));
    expect(reply.text).toMatch(/\nEquity \d+\.\d{2} USDT, P&L [-+]?\d+\.\d{2} /);
    expect(reply.text).toMatch(/\nPositions: /);
    expect(reply.text).toMatch(/\nFeeds: spot \w+, usdm \w+/);
    const s = await status();
    expect(s.risk.halted).toBe(false);
    expect(s.session.telegram.commands).toMatchObject({ ignoredChats: 1 });
    expect(s.session.telegram.retries).toBeGreaterThanOrEqual(1);
    expect(tg.messagesTo(OTHER)).toEqual([]);
    // logged without its contents
    const ignored = logLines(session.engine).filter((l) => l.msg === 'telegram: message from another chat ignored');
    expect(ignored).toHaveLength(1);
    expect(session.engine.stdout()).not.toContain('intruder');
  }, 25_000);

  it('/kill from the configured chat halts, flattens and sends the alert', async () => {
    tg.pushMessage({ chatId: CHAT, text: '/kill flatten drill kill' });
    const alert = await tg.waitForMessage((m) => m.text.startsWith('KILL SWITCH engaged: drill kill'), 15_000);
    expect(alert.chat_id).toBe(String(CHAT));
    expect(alert.text).toMatch(/\nWorking orders canceled: \d+\.\nFlattening: \d+ closing market order\(s\) sent\./);
    const s = await status();
    expect(s.engine.state).toBe('halted');
    expect(s.risk).toMatchObject({ halted: true, haltReason: 'drill kill' });
  }, 20_000);

  it('reports every fill in exactly one batch message, paced so that flood control never answered 429', async () => {
    await waitFor('the replay to finish', async () => (await getJson(`http://${session.exchange}/replay/status`)).body.finished === true, 60_000, 250);
    await waitFor('nothing in flight', async () => (await getJson(`${api}/status`)).body.execution.inFlight === 0, 15_000);
    const account = (await getJson(`${api}/account`)).body as { fills: number };
    expect(account.fills).toBeGreaterThan(2);
    await waitFor('every fill notified', () => tg.messages.filter(isFillMessage).reduce((a, m) => a + fillsIn(m), 0) === account.fills, 15_000, 200);
    const batches = tg.messages.filter(isFillMessage);
    expect(batches.length).toBeLessThan(account.fills);
    expect(batches.some((m) => fillsIn(m) >= 2)).toBe(true);
    expect(tg.requestsOf('sendMessage').filter((r) => r.status === 429)).toEqual([]);
    for (const r of tg.requestsOf('sendMessage')) expect(r.params).not.toHaveProperty('parse_mode');
    const s = await status();
    expect(s.session.telegram).toMatchObject({ failed: 0, dropped: 0, rateLimited: 0 });
  }, 100_000);

  it('stops cleanly with a last message, and neither token appears anywhere: logs, stderr, SQLite, event log, API', async () => {
    for (const path of ['/account', '/positions', '/fills?limit=5', '/orders?limit=5', '/metrics', '/risk/denials', '/trades', '/health', '/status', '/strategies', '/metrics/prometheus', '/openapi.json']) {
      apiAnswers.push(await (await fetch(`${api}${path}`)).text());
    }
    // the API token in use: a control with it, and with near misses of it (answers must not echo them)
    const control = async (auth: string) => {
      const r = await fetch(`${api}/resume`, { method: 'POST', headers: { authorization: auth } });
      apiAnswers.push(await r.text());
      return r.status;
    };
    expect(await control(`Bearer ${API_TOKEN}x`)).toBe(401);
    expect(await control(`Bearer ${API_TOKEN.slice(0, -1)}`)).toBe(401);
    expect(await control(`Bearer ${API_TOKEN}`)).toBe(200);
    exitCode = await session.engine.kill('SIGTERM');
    if (exitCode !== 0) console.log('STDERR', session.engine.stderr().slice(-2000));
    expect(exitCode).toBe(0);
    expect(tg.messages.some((m) => m.text.startsWith('papertape stopped'))).toBe(true);
    // the process did use the token (on the wire, in the URL path: the one place it belongs)
    expect(tg.requests.every((r) => r.path.startsWith(`/bot${TOKEN}/`))).toBe(true);
    // the controls from Telegram are engine inputs in the event log, like the API's
    const files = allFileContents(session.dir);
    const log = files.filter((f) => f.file.includes('events_')).map((f) => f.text).join('\n');
    expect(log).toContain('"cmd":"pause","reason":"drill pause"');
    expect(log).toContain('"cmd":"kill","flatten":true,"reason":"drill kill"');
    expect(files.some((f) => f.file.endsWith('papertape.db'))).toBe(true);
    const places: [string, string][] = [
      ['stdout', session.engine.stdout()],
      ['stderr', session.engine.stderr()],
      ['API answers', apiAnswers.join('\n')],
      ...files.map((f): [string, string] => [f.file, f.text]),
    ];
    expect(logLines(session.engine).some((l) => l['level'] === 20)).toBe(true); // debug lines were captured too
    for (const [where, text] of places) {
      expect(text.includes(SECRET), `token in ${where}`).toBe(false);
      expect(text.includes(API_TOKEN.slice(0, 20)), `API token in ${where}`).toBe(false);
      expect(text.includes(encodeURIComponent(TOKEN)), `encoded token in ${where}`).toBe(false);
    }
  }, 30_000);
});
