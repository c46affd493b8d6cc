import { sleep, splitMessage, type NotifyLogger, type TelegramClient } from './telegram.js';

/**
 * Outgoing messages: one queue per chat, paced as Telegram asks (≥ 1 s apart in a chat, ≤ 20 a minute in
 * a group), 429 answered by waiting `retry_after` and sending the same message again, 5xx and network errors
 * retried with capped exponential backoff (for ever: the message stays first in its queue), 400/401/403
 * dropped at once (logged once, counted), a migrated group followed to its new id. The queues are bounded:
 * when one is full the oldest message of the least important kind goes first (fill batches before
 * anything else); alerts (kill switch, breakers, pause) are never dropped.
 */

/** Least important first: what a full queue drops first. */
export type MessageKind = 'fills' | 'info' | 'summary' | 'reply' | 'alert';
const PRIORITY: Record<MessageKind, number> = { fills: 0, info: 1, summary: 2, reply: 3, alert: 4 };

export interface OutboxStats {
  sent: number;
  /** not retryable answers (400/401/403...): the message was dropped */
  failed: number;
  /** dropped because a queue was full (or sent after shutdown began) */
  dropped: number;
  /** repeated sends (429, 5xx, network errors, chat migration) */
  retries: number;
  /** 429 answers */
  rateLimited: number;
  /** messages waiting (the one being sent included) */
  queued: number;
  /** the last failure, without the token */
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface OutboxOptions {
  client: TelegramClient;
  logger: NotifyLogger;
  /** messages per chat queue (default 100) */
  maxQueue?: number;
  /** least time between two sends in one chat, ms (default 1000) */
  minIntervalMs?: number;
  /** most sends a minute in a group (negative chat id) (default 20) */
  groupPerMinute?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** a group chat became a supergroup with a new id */
  onMigrate?(from: string, to: string): void;
}

interface Item {
  text: string;
  kind: MessageKind;
  attempts: number;
}

interface ChatQueue {
  chatId: string;
  items: Item[];
  /** the message being sent (or waiting to be sent again) */
  current: Item | null;
  /** monotonic ms: when the last send to this chat got its answer */
  lastDoneAt: number;
  /** monotonic ms: no send before (retry_after, backoff) */
  notBefore: number;
  /** answer times of the recent sends (group pacing) */
  window: number[];
  failures: number;
  worker: Promise<void> | null;
}

const mono = (): number => performance.now();

export class Outbox {
  private readonly chats = new Map<string, ChatQueue>();
  private readonly abort = new AbortController();
  private readonly logged = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private closing = false;
  private readonly counts = { sent: 0, failed: 0, dropped: 0, retries: 0, rateLimited: 0 };
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;
  private readonly maxQueue: number;
  private readonly minIntervalMs: number;
  private readonly groupPerMinute: number;

  constructor(private readonly opts: OutboxOptions) {
    this.maxQueue = Math.max(1, opts.maxQueue ?? 100);
    this.minIntervalMs = opts.minIntervalMs ?? 1000;
    this.groupPerMinute = opts.groupPerMinute ?? 20;
  }

  /** Queues a text for a chat (split when longer than a message); false when it was dropped. */
  send(chatId: string, text: string, kind: MessageKind): boolean {
    if (this.closing) {
      this.counts.dropped++;
      return false;
    }
    let q = this.chats.get(chatId);
    if (!q) {
      q = { chatId, items: [], current: null, lastDoneAt: Number.NEGATIVE_INFINITY, notBefore: 0, window: [], failures: 0, worker: null };
      this.chats.set(chatId, q);
    }
    let all = true;
    for (const part of splitMessage(text)) all = this.enqueue(q, { text: part, kind, attempts: 0 }) && all;
    this.kick(q);
    return all;
  }

  private enqueue(q: ChatQueue, item: Item): boolean {
    if (q.items.length >= this.maxQueue) {
      // the oldest message of the least important kind below or at this one's importance goes
      let victim = -1;
      for (let i = 0; i < q.items.length; i++) {
        const k = q.items[i]!.kind;
        if (k === 'alert' || PRIORITY[k] > PRIORITY[item.kind]) continue;
        if (victim < 0 || PRIORITY[k] < PRIORITY[q.items[victim]!.kind]) victim = i;
      }
      if (victim >= 0) {
        q.items.splice(victim, 1);
        this.counts.dropped++;
      } else if (item.kind !== 'alert') {
        this.counts.dropped++;
        return false;
      }
      // an alert with nothing to drop goes in above the bound: alerts are never dropped
    }
    q.items.push(item);
    return true;
  }

  private kick(q: ChatQueue): void {
    if (q.worker || this.abort.signal.aborted) return;
    q.worker = this.work(q)
      .catch((e: unknown) => this.opts.logger.error({ err: this.opts.client.redact((e as Error).message) }, 'telegram: sender failed'))
      .finally(() => {
        q.worker = null;
        // a send() during the last await may have found the worker still set
        if (!this.abort.signal.aborted && (q.current || q.items.length > 0)) this.kick(q);
        else this.wakeIdle();
      });
  }

  private readyAt(q: ChatQueue): number {
    let t = Math.max(q.notBefore, q.lastDoneAt + this.minIntervalMs);
    if (q.chatId.startsWith('-') && this.groupPerMinute > 0 && q.window.length >= this.groupPerMinute) {
      t = Math.max(t, q.window[q.window.length - this.groupPerMinute]! + 60_000);
    }
    return t;
  }

  private async work(q: ChatQueue): Promise<void> {
    const { client, logger } = this.opts;
    const signal = this.abort.signal;
    const base = this.opts.backoffBaseMs ?? 1000;
    const cap = this.opts.backoffMaxMs ?? 60_000;
    while (!signal.aborted) {
      const item = q.current ?? q.items.shift();
      if (!item) return;
      q.current = item;
      const wait = this.readyAt(q) - mono();
      if (wait > 0) {
        await sleep(wait, signal);
        if (signal.aborted) return;
      }
      item.attempts++;
      const r = await client.sendMessage(q.chatId, item.text, { signal });
      q.lastDoneAt = mono();
      q.window.push(q.lastDoneAt);
      if (q.window.length > this.groupPerMinute) q.window.splice(0, q.window.length - this.groupPerMinute);
      if (r.ok) {
        this.counts.sent++;
        q.current = null;
        q.failures = 0;
        continue;
      }
      switch (r.code) {
        case 'aborted':
          return;
        case 'rate_limited': {
          this.counts.rateLimited++;
          this.counts.retries++;
          // not earlier than Telegram said: more requests extend the penalty
          q.notBefore = mono() + (r.retryAfterS ?? 5) * 1000 + 50;
          this.note(r.message, 'warn', `rate ${q.chatId}`, { retryAfterS: r.retryAfterS }, 'telegram: rate limited, waiting retry_after before sending again');
          break;
        }
        case 'migrated': {
          const from = q.chatId;
          const to = r.migrateToChatId!;
          this.counts.retries++;
          q.chatId = to;
          this.chats.set(to, q);
          logger.warn({ from, to }, 'telegram: the group chat became a supergroup: sending to its new id (set TELEGRAM_CHAT_ID to it)');
          this.opts.onMigrate?.(from, to);
          break;
        }
        case 'server':
        case 'network':
        case 'timeout':
        case 'bad_response': {
          this.counts.retries++;
          const delay = Math.min(cap, base * 2 ** Math.min(q.failures, 16));
          q.failures++;
          q.notBefore = mono() + delay;
          this.note(r.message, 'warn', `${r.code} ${r.status ?? ''}`, { retryInMs: delay }, 'telegram: send failed, retrying');
          break;
        }
        case 'rejected': {
          this.counts.failed++;
          q.current = null;
          q.failures = 0;
          this.note(r.message, 'error', r.message, { kind: item.kind }, 'telegram: message rejected, dropped (not retryable)');
          break;
        }
        default: {
          const never: never = r.code;
          throw new Error(`unhandled failure ${String(never)}`);
        }
      }
    }
  }

  /** Records a failure; logs it at `level` the first time its key is seen, at debug after that. */
  private note(message: string, level: 'warn' | 'error', key: string, extra: object, msg: string): void {
    this.lastError = message;
    this.lastErrorAt = new Date().toISOString();
    const first = !this.logged.has(key);
    if (first) this.logged.add(key);
    this.opts.logger[first ? level : 'debug']({ err: message, ...extra }, msg);
  }

  private wakeIdle(): void {
    if (this.queued() > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private queued(): number {
    let n = 0;
    for (const q of new Set(this.chats.values())) n += q.items.length + (q.current ? 1 : 0);
    return n;
  }

  /** Resolves when every queue is empty. */
  idle(): Promise<void> {
    if (this.queued() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): OutboxStats {
    return { ...this.counts, queued: this.queued(), lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }

  /**
   * Stops taking messages, gives what is queued up to `drainMs` to go out, then cancels the rest
   * (in-flight requests included). Resolves with how many messages were left unsent.
   */
  async close(drainMs: number): Promise<number> {
    this.closing = true;
    if (drainMs > 0 && this.queued() > 0) {
      const timer = new AbortController();
      await Promise.race([this.idle(), sleep(drainMs, timer.signal)]);
      timer.abort();
    }
    this.abort.abort();
    await Promise.all([...new Set(this.chats.values())].map((q) => q.worker));
    const unsent = this.queued();
    if (unsent > 0) this.opts.logger.warn({ unsent }, 'telegram: messages left unsent at shutdown');
    return unsent;
  }
}
