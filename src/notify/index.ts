import type { Config } from '../config/config.js';
import { Notifier, type NotifierEngine, type Timers } from './notifier.js';
import { Outbox, type OutboxStats } from './outbox.js';
import { TelegramClient, UpdatePoller, type NotifyLogger, type PollerStats } from './telegram.js';

export { Notifier } from './notifier.js';
export { Outbox } from './outbox.js';
export { TelegramClient, UpdatePoller, redactToken } from './telegram.js';

export interface TelegramStats extends OutboxStats {
  chatId: string;
  /** the bot's username (getMe), null until known */
  bot: string | null;
  commands: Notifier['commands'];
  polling: PollerStats;
}

export interface TelegramService {
  stats(): TelegramStats;
  /**
   * Stops taking commands and notices: polling ends, the engine observer is removed, the fills collected
   * so far and a last message are queued. After it resolves neither the engine nor the store is touched.
   */
  quiesce(): Promise<void>;
  /** Gives the queued messages up to `drainMs` (default 1500) to go out, then cancels the rest (quiesces first). */
  close(opts?: { drainMs?: number }): Promise<void>;
}

export interface TelegramDeps {
  config: Pick<Config, 'TELEGRAM_BOT_TOKEN' | 'TELEGRAM_CHAT_ID' | 'TELEGRAM_API_URL' | 'TELEGRAM_FILL_BATCH_MS' | 'TELEGRAM_SUMMARY_UTC' | 'TELEGRAM_POLL_TIMEOUT_S'>;
  engine: NotifierEngine;
  logger: NotifyLogger;
  /** receive-time clock for commands (the API's) */
  clock: () => number;
  /** when the process started (epoch ms): commands sent before it are not obeyed */
  startedAt: number;
  feeds?: () => { venue: string; state: string }[];
  /** what the start message says besides the session */
  startText?: string;
  now?: () => number;
  timers?: Timers;
}

/**
 * Telegram notifications and commands (TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID set), or null when off.
 * Starts at once: subscribes to the engine, polls for commands, sends a start message.
 */
export function startTelegram(d: TelegramDeps): TelegramService | null {
  const token = d.config.TELEGRAM_BOT_TOKEN;
  const chatId = d.config.TELEGRAM_CHAT_ID;
  if (!token || !chatId) return null;
  const client = new TelegramClient({ token, apiUrl: d.config.TELEGRAM_API_URL });
  let botUsername: string | null = null;
  let notifier: Notifier | null = null;
  const outbox = new Outbox({ client, logger: d.logger, onMigrate: (from, to) => notifier?.migrateChat(from, to) });
  const stats = (): TelegramStats => ({ chatId, bot: botUsername, ...outbox.stats(), commands: { ...notifier!.commands }, polling: { ...poller.stats } });
  notifier = new Notifier({
    engine: d.engine,
    send: (text, kind) => outbox.send(chatId, text, kind),
    chatId,
    logger: d.logger,
    fillBatchMs: d.config.TELEGRAM_FILL_BATCH_MS,
    summaryUtc: d.config.TELEGRAM_SUMMARY_UTC,
    clock: d.clock,
    ...(d.now ? { now: d.now } : {}),
    ...(d.timers ? { timers: d.timers } : {}),
    ...(d.feeds ? { feeds: d.feeds } : {}),
    botUsername: () => botUsername,
    statusLines: () => {
      const s = outbox.stats();
      return [`Telegram: sent ${s.sent}, failed ${s.failed}, dropped ${s.dropped}, retries ${s.retries}, queued ${s.queued}`];
    },
  });
  const poller = new UpdatePoller({
    client,
    logger: d.logger,
    timeoutS: d.config.TELEGRAM_POLL_TIMEOUT_S,
    startedAt: d.startedAt,
    onUpdate: (u) => notifier!.handleUpdate(u),
  });
  const meAbort = new AbortController();
  const me = client.getMe({ signal: meAbort.signal }).then((r) => {
    if (r.ok && typeof r.value.username === 'string') botUsername = r.value.username;
    else if (!r.ok && r.code !== 'aborted') d.logger.warn({ err: r.message }, 'telegram: getMe failed (commands addressed as /cmd@bot are taken whatever the bot name)');
  });
  notifier.start();
  poller.start();
  outbox.send(chatId, `papertape started: session ${d.engine.sessionId}${d.startText ? `\n${d.startText}` : ''}\n${notifier.statusText().split('\n')[0]!}`, 'info');
  d.logger.info({ chatId, apiUrl: d.config.TELEGRAM_API_URL, fillBatchMs: d.config.TELEGRAM_FILL_BATCH_MS, summaryUtc: d.config.TELEGRAM_SUMMARY_UTC }, 'telegram notifications on');

  let quiesced: Promise<void> | null = null;
  let closed: Promise<void> | null = null;
  const quiesce = (): Promise<void> =>
    (quiesced ??= (async () => {
      meAbort.abort();
      await Promise.all([poller.stop(), me]);
      notifier!.stop();
      outbox.send(chatId, `papertape stopped: session ${d.engine.sessionId}`, 'info');
    })());
  return {
    stats,
    quiesce,
    close(opts = {}) {
      return (closed ??= (async () => {
        await quiesce();
        await outbox.close(opts.drainMs ?? 1500);
      })());
    },
  };
}
