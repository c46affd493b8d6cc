import type { ControlCommand, Engine, EngineNotice } from '../engine/engine.js';
import type { Fill } from '../model/order.js';
import type { RiskControlState } from '../risk/gateway.js';
import type { MessageKind } from './outbox.js';
import type { NotifyLogger, TgChat, TgUpdate } from './telegram.js';

/**
 * What papertape tells its Telegram chat and what it takes from it (the policy; the Bot API I/O is in
 * telegram.ts and outbox.ts):
 * - fills, collected for `fillBatchMs` and sent as one message (count, per symbol net quantity, average
 *   price, fees, realized P&L);
 * - changes of the risk controls, compared field by field with the previous state: kill switch engaged
 *   or released, pause and resume, drawdown breaker tripped or reset, a loss-streak pause (a new
 *   high-water mark or loss count alone says nothing);
 * - a daily summary at `summaryUtc` (wall clock);
 * - the commands /status, /pause [reason], /resume, /kill [flatten] [reason], obeyed only from the
 *   configured chat; controls go to the engine exactly as the HTTP API sends them (an engine input at the
 *   receive time, so in the event log).
 */

export type NotifierEngine = Pick<Engine, 'observe' | 'control' | 'account' | 'positions' | 'metrics' | 'riskStatus' | 'sessionId'>;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(h) {
    clearTimeout(h as NodeJS.Timeout);
  },
};

export interface NotifierOptions {
  engine: NotifierEngine;
  /** queues a message for the configured chat */
  send(text: string, kind: MessageKind): void;
  /** TELEGRAM_CHAT_ID: the only chat whose commands are obeyed */
  chatId: string;
  logger: NotifyLogger;
  /** TELEGRAM_FILL_BATCH_MS (0: each fill at once) */
  fillBatchMs: number;
  /** TELEGRAM_SUMMARY_UTC: 'HH:MM' or 'off' */
  summaryUtc: string;
  /** receive-time clock for commands: the engine's input time, the one the API uses */
  clock: () => number;
  /** wall clock for the daily summary (default Date.now) */
  now?: () => number;
  timers?: Timers;
  /** feed states for /status */
  feeds?: () => { venue: string; state: string }[];
  /** more lines for /status (e.g. the Telegram counters) */
  statusLines?: () => string[];
  /** the bot's username (getMe), to tell `/kill@ThisBot` from `/kill@OtherBot` */
  botUsername?: () => string | null;
}

export interface CommandStats {
  /** commands obeyed (help replies included) */
  obeyed: number;
  /** messages from other chats, ignored */
  ignoredChats: number;
  /** commands addressed to another bot (/cmd@OtherBot), ignored */
  otherBot: number;
}

interface FillAgg {
  venue: string;
  symbol: string;
  count: number;
  bought: number;
  sold: number;
  notional: number;
  qty: number;
  fees: number;
  realized: number;
}

// ---------------------------------------------------------------- formatting

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
export function fmtQty(x: number): string {
  return trimZeros(x.toFixed(8));
}
export function fmtPrice(x: number): string {
  const a = Math.abs(x);
  return x.toFixed(a >= 100 ? 2 : a >= 1 ? 4 : 8);
}
export function fmtSigned(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return x > 0 && Number(s) !== 0 ? `+${s}` : Number(s) === 0 ? (0).toFixed(decimals) : s;
}
function fmtPct(fraction: number): string {
  return `${fmtSigned(fraction * 100, 2)}%`;
}
export function fmtDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${trimZeros((ms / 1000).toFixed(1))} s`;
  if (ms < 7_200_000) return `${trimZeros((ms / 60_000).toFixed(1))} min`;
  return `${trimZeros((ms / 3_600_000).toFixed(1))} h`;
}
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}
const label = (venue: string, symbol: string): string => (venue === 'spot' ? symbol : `${symbol} (${venue})`);

/** What changed in the risk controls that an operator must hear about; nothing for mark-only changes. */
export function riskChangeLines(state: RiskControlState, prev: RiskControlState): string[] {
  const out: string[] = [];
  if (state.halted && !prev.halted) out.push(`KILL SWITCH engaged: ${state.haltReason || 'no reason given'}. Every strategy is halted, working orders canceled.`);
  else if (!state.halted && prev.halted) out.push('Kill switch released: trading resumed.');
  else if (state.halted && state.haltReason !== prev.haltReason) out.push(`Kill switch (still engaged), reason now: ${state.haltReason}`);
  if (state.paused && !prev.paused) out.push(`PAUSED: ${state.pauseReason || 'no reason given'}. Strategies send nothing new; working orders stay.`);
  else if (!state.paused && prev.paused) out.push('Pause ended: trading resumed.');
  else if (state.paused && state.pauseReason !== prev.pauseReason) out.push(`Pause (still on), reason now: ${state.pauseReason}`);
  if (state.breakerTripped && !prev.breakerTripped) out.push(`DRAWDOWN BREAKER TRIPPED${state.breakerTrippedAt !== null ? ` at ${iso(state.breakerTrippedAt)}` : ''}: new risk blocked until it resets (high-water mark ${state.highWaterMark.toFixed(2)}).`);
  else if (!state.breakerTripped && prev.breakerTripped) out.push(`Drawdown breaker reset: high-water mark now ${state.highWaterMark.toFixed(2)}.`);
  if (state.lossPauseUntil !== null && state.lossPauseUntil !== prev.lossPauseUntil) out.push(`LOSS-STREAK BREAKER: too many losing round trips in a row; new risk paused until ${iso(state.lossPauseUntil)}.`);
  return out;
}

/** Parses `/name[@bot] args`; null for text that is not a command. */
export function parseCommand(text: string): { name: string; bot: string | null; args: string } | null {
  const m = /^\/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return null;
  return { name: m[1]!.toLowerCase(), bot: m[2] ?? null, args: (m[3] ?? '').trim() };
}

/** Same bounds as the API's reason (1..200 characters), on one line. */
function cleanReason(s: string, fallback: string): string {
  const r = s.replace(/\s+/g, ' ').trim().slice(0, 200);
  return r.length > 0 ? r : fallback;
}

/** Epoch ms of the next HH:MM UTC strictly after `now`. */
export function nextDailyAt(now: number, hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  const d = new Date(now);
  const t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m);
  return t > now ? t : t + 86_400_000;
}

export const HELP = [
  'papertape commands:',
  '/status - state, equity, P&L, positions, feeds',
  '/pause [reason] - strategies send nothing new (working orders stay)',
  '/resume - end a pause or the kill switch',
  '/kill [flatten] [reason] - halt every strategy and cancel working orders; with flatten, close every position',
].join('\n');

// ---------------------------------------------------------------- the notifier

export class Notifier {
  private readonly timers: Timers;
  private readonly now: () => number;
  private unsubscribe: (() => void) | null = null;
  private fills = new Map<string, FillAgg>();
  private fillCount = 0;
  private fillTimer: unknown = null;
  private summaryTimer: unknown = null;
  /** while a command runs: the risk changes it caused go into its reply instead of an alert of their own */
  private capture: string[] | null = null;
  private readonly chatIds = new Set<string>();
  readonly commands: CommandStats = { obeyed: 0, ignoredChats: 0, otherBot: 0 };
  /** the summary's period: since the last summary (or the start) */
  private period = { since: 0, equity: 0, fills: 0, trades: 0, wins: 0, peak: 0, maxDrawdown: 0 };

  constructor(private readonly opts: NotifierOptions) {
    this.timers = opts.timers ?? realTimers;
    this.now = opts.now ?? Date.now;
    this.chatIds.add(opts.chatId);
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.opts.engine.observe((n) => this.onNotice(n));
    // the summary's baseline (reads the session's trades and equity curve: only when there is a summary)
    if (this.opts.summaryUtc !== 'off') this.period = this.periodStart();
    this.scheduleSummary(this.now());
  }

  /** Unsubscribes, cancels the timers and sends the fills collected so far. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.summaryTimer !== null) this.timers.clearTimeout(this.summaryTimer);
    this.summaryTimer = null;
    this.flushFills();
  }

  /** The group became a supergroup: its new id is the same chat. */
  migrateChat(from: string, to: string): void {
    if (this.chatIds.has(from)) this.chatIds.add(to);
  }

  onNotice(n: EngineNotice): void {
    switch (n.type) {
      case 'fill':
        this.addFill(n.fill);
        break;
      case 'risk': {
        const lines = riskChangeLines(n.state, n.previous);
        if (lines.length === 0) break;
        if (this.capture) this.capture.push(...lines);
        else this.opts.send(lines.join('\n'), 'alert');
        break;
      }
      case 'equity': {
        const e = n.equity.equity;
        if (e > this.period.peak) this.period.peak = e;
        if (this.period.peak > 0) this.period.maxDrawdown = Math.min(this.period.maxDrawdown, e / this.period.peak - 1);
        break;
      }
      case 'order':
      case 'denial':
        break;
      default: {
        const never: never = n;
        throw new Error(`unknown notice ${JSON.stringify(never)}`);
      }
    }
  }

  // ---- fills ----

  private addFill(f: Fill): void {
    const key = `${f.venue}:${f.symbol}`;
    let a = this.fills.get(key);
    if (!a) {
      a = { venue: f.venue, symbol: f.symbol, count: 0, bought: 0, sold: 0, notional: 0, qty: 0, fees: 0, realized: 0 };
      this.fills.set(key, a);
    }
    a.count++;
    if (f.side === 'BUY') a.bought += f.qty;
    else a.sold += f.qty;
    a.notional += f.price * f.qty;
    a.qty += f.qty;
    a.fees += f.fee;
    a.realized += f.realizedPnl;
    this.fillCount++;
    this.period.fills++;
    if (this.opts.fillBatchMs <= 0) this.flushFills();
    else this.fillTimer ??= this.timers.setTimeout(() => this.flushFills(), this.opts.fillBatchMs);
  }

  /** Sends the collected fills as one message (nothing when there are none). */
  flushFills(): void {
    if (this.fillTimer !== null) this.timers.clearTimeout(this.fillTimer);
    this.fillTimer = null;
    if (this.fillCount === 0) return;
    const text = fillBatchText([...this.fills.values()], this.fillCount, this.opts.fillBatchMs);
    this.fills = new Map();
    this.fillCount = 0;
    this.opts.send(text, 'fills');
  }

  // ---- daily summary ----

  private periodStart(): Notifier['period'] {
    const a = this.opts.engine.account();
    const m = this.opts.engine.metrics();
    return { since: this.now(), equity: a.equity, fills: 0, trades: m.totalTrades, wins: m.wins, peak: a.equity, maxDrawdown: 0 };
  }

  private scheduleSummary(after: number): void {
    if (this.opts.summaryUtc === 'off' || !this.unsubscribe) return;
    const at = nextDailyAt(after, this.opts.summaryUtc);
    this.summaryTimer = this.timers.setTimeout(() => {
      this.summaryTimer = null;
      try {
        this.sendSummary();
      } catch (e) {
        this.opts.logger.error({ err: (e as Error).message }, 'telegram: daily summary failed');
      }
      // the next one after this one's due time, even if the timer fired a little early
      this.scheduleSummary(Math.max(at, this.now()));
    }, Math.max(0, at - this.now()));
  }

  /** Sends the summary of the period since the last one and starts a new period. */
  sendSummary(): void {
    const { engine } = this.opts;
    const a = engine.account();
    const m = engine.metrics();
    const p = this.period;
    const trades = m.totalTrades - p.trades;
    const wins = m.wins - p.wins;
    const lines = [
      `Daily summary ${iso(this.now())} (since ${iso(p.since)})`,
      `State: ${stateText(engine.riskStatus())}`,
      `Equity ${a.equity.toFixed(2)} ${a.quoteCurrency}; P&L ${fmtSigned(a.equity - p.equity, 2)} in the period, ${fmtSigned(a.totalPnl, 2)} in the session (${fmtPct(a.initialBalance > 0 ? a.totalPnl / a.initialBalance : 0)})`,
      `Fills ${p.fills}; round trips closed ${trades}${trades > 0 ? `, win rate ${((wins / trades) * 100).toFixed(1)}%` : ''} (session: ${m.totalTrades}${m.winRate !== null ? `, win rate ${(m.winRate * 100).toFixed(1)}%` : ''})`,
      `Max drawdown ${fmtPct(Math.min(p.maxDrawdown, p.peak > 0 ? a.equity / Math.max(p.peak, a.equity) - 1 : 0))} in the period, ${fmtPct(m.maxDrawdown)} in the session`,
      positionsText(engine.positions()),
    ];
    this.period = this.periodStart();
    this.opts.send(lines.join('\n'), 'summary');
  }

  // ---- commands ----

  private isOurChat(chat: TgChat | undefined): boolean {
    if (!chat) return false;
    if (this.chatIds.has(String(chat.id))) return true;
    const conf = this.opts.chatId;
    return conf.startsWith('@') && typeof chat.username === 'string' && `@${chat.username}`.toLowerCase() === conf.toLowerCase();
  }

  /** An update from getUpdates: a command from the configured chat is obeyed, anything else ignored. */
  handleUpdate(u: TgUpdate): void {
    const msg = u.message;
    if (!msg || typeof msg.text !== 'string') return;
    if (!this.isOurChat(msg.chat)) {
      this.commands.ignoredChats++;
      this.opts.logger.debug({ updateId: u.update_id, chatType: msg.chat?.type ?? null }, 'telegram: message from another chat ignored');
      return;
    }
    const cmd = parseCommand(msg.text);
    if (!cmd) return;
    const me = this.opts.botUsername?.() ?? null;
    if (cmd.bot && me && cmd.bot.toLowerCase() !== me.toLowerCase()) {
      this.commands.otherBot++;
      return;
    }
    this.commands.obeyed++;
    this.opts.logger.info({ command: cmd.name, updateId: u.update_id, fromId: msg.from?.id ?? null }, 'telegram command');
    try {
      this.run(cmd.name, cmd.args);
    } catch (e) {
      this.opts.logger.error({ command: cmd.name, err: (e as Error).message }, 'telegram: command failed');
      this.opts.send(`/${cmd.name} failed: ${(e as Error).message}`, 'reply');
    }
  }

  private run(name: string, args: string): void {
    switch (name) {
      case 'status':
        this.opts.send(this.statusText(), 'reply');
        return;
      case 'pause': {
        const { lines } = this.control({ cmd: 'pause', reason: cleanReason(args, 'paused (Telegram)') });
        this.opts.send(lines.length > 0 ? lines.join('\n') : `Already paused: ${this.opts.engine.riskStatus().pauseReason ?? ''}`, 'alert');
        return;
      }
      case 'resume': {
        const { lines, result } = this.control({ cmd: 'resume' });
        if (lines.length === 0) lines.push('Nothing to resume: not halted or paused.');
        if (result.state.breakerTripped) lines.push('Note: the drawdown breaker is still tripped (POST /risk/reset-breaker).');
        this.opts.send(lines.join('\n'), 'alert');
        return;
      }
      case 'kill': {
        const words = args.split(/\s+/).filter((w) => w.length > 0);
        const flatten = words[0]?.toLowerCase() === 'flatten';
        const reason = cleanReason((flatten ? words.slice(1) : words).join(' '), 'kill switch (Telegram)');
        const { lines, result } = this.control({ cmd: 'kill', flatten, reason });
        if (lines.length === 0) lines.push(`Kill switch already engaged: ${result.state.haltReason}`);
        lines.push(`Working orders canceled: ${result.canceled ?? 0}.`);
        if (flatten) lines.push(`Flattening: ${result.flattening ?? 0} closing market order(s) sent.`);
        lines.push('Send /resume to trade again.');
        this.opts.send(lines.join('\n'), 'alert');
        return;
      }
      default:
        this.opts.send(name === 'help' || name === 'start' ? HELP : `Unknown command /${name}.\n${HELP}`, 'reply');
    }
  }

  /** Sends a control to the engine as the API does; returns its result and the alert lines it caused. */
  private control(c: ControlCommand): { result: ReturnType<Engine['control']>; lines: string[] } {
    const lines: string[] = [];
    this.capture = lines;
    try {
      return { result: this.opts.engine.control(c, this.opts.clock()), lines };
    } finally {
      this.capture = null;
    }
  }

  statusText(): string {
    const { engine } = this.opts;
    const a = engine.account();
    const risk = engine.riskStatus();
    const lines = [
      `papertape: ${stateText(risk)}`,
      `Equity ${a.equity.toFixed(2)} ${a.quoteCurrency}, P&L ${fmtSigned(a.totalPnl, 2)} (realized ${fmtSigned(a.realizedPnl, 2)}, unrealized ${fmtSigned(a.unrealizedPnl, 2)}, fees ${a.fees.toFixed(2)})`,
      `Drawdown ${fmtPct(a.drawdown)} (max ${fmtPct(a.maxDrawdown)}), fills ${a.fills}`,
      positionsText(engine.positions()),
    ];
    const feeds = this.opts.feeds?.() ?? [];
    if (feeds.length > 0) lines.push(`Feeds: ${feeds.map((f) => `${f.venue} ${f.state}`).join(', ')}`);
    lines.push(...(this.opts.statusLines?.() ?? []));
    lines.push(`Session ${engine.sessionId}`);
    return lines.join('\n');
  }
}

function stateText(r: ReturnType<Engine['riskStatus']>): string {
  const parts: string[] = [];
  if (r.halted) parts.push(`HALTED (kill switch: ${r.haltReason ?? ''})`);
  if (r.paused) parts.push(`PAUSED (${r.pauseReason ?? ''})`);
  if (r.drawdownBreaker.tripped) parts.push('drawdown breaker TRIPPED');
  const sched = r.schedule as { paused?: { reason: string; until: string } | null } | null;
  if (sched?.paused) parts.push(`schedule pause (${sched.paused.reason}) until ${sched.paused.until}`);
  return parts.length > 0 ? parts.join('; ') : 'running';
}

function positionsText(ps: ReturnType<Engine['positions']>): string {
  const open = ps.filter((p) => p.qty !== 0);
  if (open.length === 0) return 'Positions: none';
  return `Positions: ${open
    .map((p) => `${label(p.venue, p.symbol)} ${p.side} ${fmtQty(Math.abs(p.qty))} @ ${p.avgEntryPrice !== null ? fmtPrice(p.avgEntryPrice) : '?'}${p.markPrice !== null ? ` (mark ${fmtPrice(p.markPrice)}, uPnL ${fmtSigned(p.unrealizedPnl, 2)})` : ''}`)
    .join('; ')}`;
}

function fillBatchText(aggs: FillAgg[], count: number, batchMs: number): string {
  const lines = [count === 1 ? 'Fill' : `Fills: ${count}${batchMs > 0 ? ` in the last ${fmtDuration(batchMs)}` : ''}`];
  let fees = 0;
  let realized = 0;
  for (const a of aggs.sort((x, y) => (x.symbol + x.venue).localeCompare(y.symbol + y.venue))) {
    const net = a.bought - a.sold;
    const netText = Math.abs(net) < 1e-12 ? '0' : `${net > 0 ? '+' : '-'}${fmtQty(Math.abs(net))}`;
    const sides = [a.bought > 0 ? `bought ${fmtQty(a.bought)}` : '', a.sold > 0 ? `sold ${fmtQty(a.sold)}` : ''].filter((s) => s).join(', ');
    lines.push(`${label(a.venue, a.symbol)}: ${a.count} fill${a.count === 1 ? '' : 's'}, net ${netText} (${sides}), avg price ${fmtPrice(a.notional / a.qty)}, fees ${a.fees.toFixed(4)}, realized ${fmtSigned(a.realized, 4)}`);
    fees += a.fees;
    realized += a.realized;
  }
  lines.push(`Total: fees ${fees.toFixed(4)} USDT, realized P&L ${fmtSigned(realized, 4)} USDT (before fees)`);
  return lines.join('\n');
}
