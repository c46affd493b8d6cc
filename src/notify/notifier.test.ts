import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import type { Engine, EngineNotice } from '../engine/engine.js';
import { createEngine } from '../engine/presets.js';
import type { Fill, Order } from '../model/order.js';
import type { RiskControlState } from '../risk/gateway.js';
import { Store } from '../store/db.js';
import { fmtPrice, fmtQty, nextDailyAt, Notifier, parseCommand, riskChangeLines, type Timers } from './notifier.js';
import type { MessageKind } from './outbox.js';
import type { NotifyLogger, TgUpdate } from './telegram.js';

/**
 * The notification policy on a real engine (in-memory SQLite): which notices become which messages,
 * fill batching and the daily summary on an injected clock, and commands turned into the engine's
 * controls exactly as the HTTP API sends them (inputs at their receive time, in the input log).
 */

const T0 = Date.UTC(2024, 7, 8, 23, 58, 0);
const CHAT = '4242';
const silent = pino({ level: 'silent' });

const stores: Store[] = [];
afterEach(() => {
  while (stores.length > 0) stores.pop()!.close();
});

/** Timers on a hand-moved clock. */
class ManualTimers implements Timers {
  private queue: { at: number; fn: () => void }[] = [];
  constructor(public t: number) {}
  setTimeout(fn: () => void, ms: number): unknown {
    const h = { at: this.t + ms, fn };
    this.queue.push(h);
    return h;
  }
  clearTimeout(h: unknown): void {
    this.queue = this.queue.filter((x) => x !== h);
  }
  get pending(): number {
    return this.queue.length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.queue.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.queue = this.queue.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

interface Harness {
  engine: Engine;
  notifier: Notifier;
  sent: { text: string; kind: MessageKind }[];
  timers: ManualTimers;
  inputs: { t: number; source: string; payload: string }[];
  logs: string[];
}

function harness(opts: { fillBatchMs?: number; summaryUtc?: string; bot?: string | null } = {}): Harness {
  const store = Store.open(':memory:');
  stores.push(store);
  const config = loadConfig({ SYMBOLS: 'BTCUSDT', FUTURES: 'false', MODEL_PATH: '', INITIAL_BALANCE: '10000', SHABBAT_PAUSE: 'false' });
  const inputs: Harness['inputs'] = [];
  const engine = createEngine({ config, sessionId: 'notify-test', startedAt: T0, seed: 1, store, logger: silent, tradeVenue: 'spot', inputLog: { write: (t, source, payload) => inputs.push({ t, source, payload }) } });
  const timers = new ManualTimers(T0);
  const sent: Harness['sent'] = [];
  const logs: string[] = [];
  const rec = (level: string) => (o: object, m?: string) => void logs.push(JSON.stringify({ level, ...o, msg: m }));
  const logger: NotifyLogger = { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
  let receive = T0 + 0.123;
  const notifier = new Notifier({
    engine,
    send: (text, kind) => void sent.push({ text, kind }),
    chatId: CHAT,
    logger,
    fillBatchMs: opts.fillBatchMs ?? 10_000,
    summaryUtc: opts.summaryUtc ?? 'off',
    clock: () => (receive += 1),
    now: () => timers.t,
    timers,
    feeds: () => [{ venue: 'spot', state: 'up' }],
    botUsername: () => (opts.bot === undefined ? 'papertape_test_bot' : opts.bot),
  });
  notifier.start();
  return { engine, notifier, sent, timers, inputs, logs };
}

function fillNotice(symbol: string, side: 'BUY' | 'SELL', price: number, qty: number, fee: number, realizedPnl = 0, venue: 'spot' | 'usdm' = 'spot'): EngineNotice {
  const fill: Fill = { id: `f${Math.random()}`, orderId: 'o1', venue, symbol, side, price, qty, fee, liquidity: 'taker', strategy: 'obi@1', time: T0, receivedAt: T0, realizedPnl };
  const order = { id: 'o1', venue, symbol, side } as Order;
  return { type: 'fill', time: T0, fill, order };
}

let updateId = 1;
function message(chatId: number, text: string): TgUpdate {
  return { update_id: updateId++, message: { message_id: updateId, from: { id: chatId, first_name: 'T' }, chat: { id: chatId, type: chatId < 0 ? 'group' : 'private' }, date: Math.floor(T0 / 1000), text } };
}

const STATE: RiskControlState = { halted: false, haltReason: '', paused: false, pauseReason: '', breakerTripped: false, breakerTrippedAt: null, highWaterMark: 10_000, lossStreak: 0, lossPauseUntil: null };

describe('fill batching', () => {
  it('collects the fills of TELEGRAM_FILL_BATCH_MS into one message with per-symbol net, average price, fees and P&L', () => {
    const h = harness({ fillBatchMs: 10_000 });
    h.notifier.onNotice(fillNotice('BTCUSDT', 'BUY', 60_000, 0.002, 0.12));
    h.timers.advance(3000);
    h.notifier.onNotice(fillNotice('BTCUSDT', 'BUY', 60_010, 0.001, 0.06));
    h.notifier.onNotice(fillNotice('BTCUSDT', 'SELL', 60_100, 0.001, 0.06, 0.1));
    h.notifier.onNotice(fillNotice('ETHUSDT', 'SELL', 2500.5, 0.04, 0.1, -0.25));
    expect(h.sent).toEqual([]);
    h.timers.advance(6999);
    expect(h.sent).toEqual([]);
    h.timers.advance(1);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.kind).toBe('fills');
    const lines = h.sent[0]!.text.split('\n');
    expect(lines[0]).toBe('Fills: 4 in the last 10 s');
    // avg = (60000*0.002 + 60010*0.001 + 60100*0.001) / 0.004 = 60027.5
    expect(lines[1]).toBe('BTCUSDT: 3 fills, net +0.002 (bought 0.003, sold 0.001), avg price 60027.50, fees 0.2400, realized +0.1000');
    expect(lines[2]).toBe('ETHUSDT: 1 fill, net -0.04 (sold 0.04), avg price 2500.50, fees 0.1000, realized -0.2500');
    expect(lines[3]).toBe('Total: fees 0.3400 USDT, realized P&L -0.1500 USDT (before fees)');
    // the next fill starts a new batch
    h.notifier.onNotice(fillNotice('BTCUSDT', 'SELL', 60_000, 0.002, 0.12));
    h.timers.advance(10_000);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.text.split('\n')[0]).toBe('Fill');
  });

  it('sends each fill at once with TELEGRAM_FILL_BATCH_MS=0, and what is collected at stop', () => {
    const h = harness({ fillBatchMs: 0 });
    h.notifier.onNotice(fillNotice('BTCUSDT', 'BUY', 60_000, 0.002, 0.12));
    h.notifier.onNotice(fillNotice('BTCUSDT', 'SELL', 60_000, 0.002, 0.12));
    expect(h.sent).toHaveLength(2);
    const b = harness({ fillBatchMs: 60_000 });
    b.notifier.onNotice(fillNotice('BTCUSDT', 'BUY', 60_000, 0.002, 0.12));
    b.notifier.stop();
    expect(b.sent.map((s) => s.kind)).toEqual(['fills']);
    expect(b.timers.pending).toBe(0);
  });
});

describe('risk alerts', () => {
  it.each<[string, Partial<RiskControlState>, Partial<RiskControlState>, RegExp | null]>([
    ['kill switch engaged', {}, { halted: true, haltReason: 'drill' }, /^KILL SWITCH engaged: drill\./],
    ['kill switch released', { halted: true, haltReason: 'drill' }, {}, /^Kill switch released/],
    ['paused', {}, { paused: true, pauseReason: 'lunch' }, /^PAUSED: lunch\./],
    ['resumed', { paused: true, pauseReason: 'lunch' }, {}, /^Pause ended/],
    ['drawdown breaker tripped', {}, { breakerTripped: true, breakerTrippedAt: T0 }, /^DRAWDOWN BREAKER TRIPPED at 2024-08-08T23:58:00Z/],
    ['drawdown breaker reset', { breakerTripped: true, breakerTrippedAt: T0 }, { highWaterMark: 9000 }, /^Drawdown breaker reset: high-water mark now 9000\.00/],
    ['loss-streak pause', { lossStreak: 4 }, { lossPauseUntil: T0 + 900_000 }, /^LOSS-STREAK BREAKER: .* until 2024-08-09T00:13:00Z/],
    ['a new high-water mark only', {}, { highWaterMark: 10_500 }, null],
    ['a loss count only', {}, { lossStreak: 3 }, null],
  ])('%s', (_name, before, after, expected) => {
    const prev = { ...STATE, ...before };
    const state = { ...STATE, ...after };
    const lines = riskChangeLines(state, prev);
    if (expected === null) expect(lines).toEqual([]);
    else {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(expected);
    }
    const h = harness();
    h.notifier.onNotice({ type: 'risk', time: T0, state, previous: prev });
    expect(h.sent).toEqual(expected === null ? [] : [{ text: lines[0], kind: 'alert' }]);
  });

  it('hears the engine: a pause sent to the engine (e.g. by the API) is an alert; after stop nothing', () => {
    const h = harness();
    h.engine.control({ cmd: 'pause', reason: 'from the API' }, T0 + 5);
    expect(h.sent).toEqual([{ text: 'PAUSED: from the API. Strategies send nothing new; working orders stay.', kind: 'alert' }]);
    h.notifier.stop();
    h.engine.control({ cmd: 'resume' }, T0 + 6);
    expect(h.sent).toHaveLength(1);
  });
});

describe('commands', () => {
  it('/pause from the configured chat pauses the engine as the API does (an input at the receive time) and replies', () => {
    const h = harness();
    h.notifier.handleUpdate(message(4242, '/pause  lunch   break'));
    expect(h.engine.gateway.paused).toBe(true);
    expect(h.engine.gateway.pauseReason).toBe('lunch break');
    expect(h.inputs).toEqual([{ t: T0 + 1.123, source: 'control', payload: JSON.stringify({ cmd: 'pause', reason: 'lunch break' }) }]);
    // one message: the reply carries the alert
    expect(h.sent).toEqual([{ text: 'PAUSED: lunch break. Strategies send nothing new; working orders stay.', kind: 'alert' }]);
    h.notifier.handleUpdate(message(4242, '/pause'));
    expect(h.sent[1]!.text).toBe('Pause (still on), reason now: paused (Telegram)');
    h.notifier.handleUpdate(message(4242, '/resume'));
    expect(h.engine.gateway.paused).toBe(false);
    expect(h.sent[2]).toEqual({ text: 'Pause ended: trading resumed.', kind: 'alert' });
  });

  it('ignores every message from another chat, counts it, and logs it without its contents', () => {
    const h = harness();
    h.notifier.handleUpdate(message(999, '/kill secret-words'));
    h.notifier.handleUpdate(message(-4242, '/pause'));
    expect(h.engine.gateway.halted).toBe(false);
    expect(h.engine.gateway.paused).toBe(false);
    expect(h.inputs).toEqual([]);
    expect(h.sent).toEqual([]);
    expect(h.notifier.commands).toMatchObject({ ignoredChats: 2, obeyed: 0 });
    expect(h.logs.filter((l) => l.includes('another chat'))).toHaveLength(2);
    expect(h.logs.join('\n')).not.toContain('secret-words');
  });

  it('/kill [flatten] [reason] halts, cancels and replies with the alert; /kill@OtherBot is not ours', () => {
    const h = harness();
    h.notifier.handleUpdate(message(4242, '/kill@OtherBot'));
    expect(h.engine.gateway.halted).toBe(false);
    expect(h.notifier.commands.otherBot).toBe(1);
    h.notifier.handleUpdate(message(4242, '/kill@Papertape_Test_Bot flatten market went wild'));
    expect(h.engine.gateway.halted).toBe(true);
    expect(h.engine.gateway.haltReason).toBe('market went wild');
    expect(JSON.parse(h.inputs[0]!.payload)).toEqual({ cmd: 'kill', flatten: true, reason: 'market went wild' });
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.kind).toBe('alert');
    expect(h.sent[0]!.text).toBe(
      ['KILL SWITCH engaged: market went wild. Every strategy is halted, working orders canceled.', 'Working orders canceled: 0.', 'Flattening: 0 closing market order(s) sent.', 'Send /resume to trade again.'].join('\n'),
    );
    h.notifier.handleUpdate(message(4242, '/kill'));
    expect(h.engine.gateway.haltReason).toBe('kill switch (Telegram)');
  });

  it('/status replies with state, equity, P&L, positions and feeds; unknown commands get the help; plain text nothing', () => {
    const h = harness();
    h.engine.control({ cmd: 'kill', flatten: false, reason: 'drill' }, T0 + 2);
    h.sent.length = 0;
    h.notifier.handleUpdate(message(4242, '/status'));
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.kind).toBe('reply');
    expect(h.sent[0]!.text.split('\n')).toEqual([
      'papertape: HALTED (kill switch: drill)',
      'Equity 10000.00 USDT, P&L 0.00 (realized 0.00, unrealized 0.00, fees 0.00)',
      'Drawdown 0.00% (max 0.00%), fills 0',
      'Positions: none',
      'Feeds: spot up',
      'Session notify-test',
    ]);
    h.notifier.handleUpdate(message(4242, '/frobnicate'));
    expect(h.sent[1]!.text).toMatch(/^Unknown command \/frobnicate\.\npapertape commands:\n\/status/);
    h.notifier.handleUpdate(message(4242, 'hello bot'));
    expect(h.sent).toHaveLength(2);
  });

  it('takes /cmd@anything when the bot name is unknown (getMe failed)', () => {
    const h = harness({ bot: null });
    h.notifier.handleUpdate(message(4242, '/pause@whatever now'));
    expect(h.engine.gateway.paused).toBe(true);
  });

  it('obeys a group that became a supergroup under its new id', () => {
    const h = harness();
    h.notifier.handleUpdate(message(-100123, '/pause'));
    expect(h.engine.gateway.paused).toBe(false);
    h.notifier.migrateChat(CHAT, '-100123');
    h.notifier.handleUpdate(message(-100123, '/pause'));
    expect(h.engine.gateway.paused).toBe(true);
  });
});

describe('daily summary', () => {
  it('goes out at TELEGRAM_SUMMARY_UTC on the injected wall clock, then every 24 h, with the period\'s figures', () => {
    const h = harness({ summaryUtc: '00:00', fillBatchMs: 1000 });
    h.notifier.onNotice(fillNotice('BTCUSDT', 'BUY', 60_000, 0.002, 0.12));
    h.timers.advance(1000); // the fill batch
    h.sent.length = 0;
    h.timers.advance(118_999); // 23:59:59.999
    expect(h.sent).toEqual([]);
    h.timers.advance(1);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.kind).toBe('summary');
    const lines = h.sent[0]!.text.split('\n');
    expect(lines[0]).toBe('Daily summary 2024-08-09T00:00:00Z (since 2024-08-08T23:58:00Z)');
    expect(lines[1]).toBe('State: running');
    expect(lines[2]).toBe('Equity 10000.00 USDT; P&L 0.00 in the period, 0.00 in the session (0.00%)');
    expect(lines[3]).toBe('Fills 1; round trips closed 0 (session: 0)');
    expect(lines[4]).toBe('Max drawdown 0.00% in the period, 0.00% in the session');
    expect(lines[5]).toBe('Positions: none');
    h.timers.advance(86_400_000 - 1);
    expect(h.sent).toHaveLength(1);
    h.timers.advance(1);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.text).toMatch(/^Daily summary 2024-08-10T00:00:00Z \(since 2024-08-09T00:00:00Z\)\n/);
    expect(h.sent[1]!.text).toContain('Fills 0;');
  });

  it('is off with TELEGRAM_SUMMARY_UTC=off', () => {
    const h = harness({ summaryUtc: 'off' });
    h.timers.advance(3 * 86_400_000);
    expect(h.sent).toEqual([]);
    expect(h.timers.pending).toBe(0);
  });
});

describe('helpers', () => {
  it('parses commands with an optional bot name and arguments', () => {
    expect(parseCommand('/kill')).toEqual({ name: 'kill', bot: null, args: '' });
    expect(parseCommand(' /KILL@MyBot  flatten  now ')).toEqual({ name: 'kill', bot: 'MyBot', args: 'flatten  now' });
    expect(parseCommand('kill')).toBeNull();
    expect(parseCommand('/ kill')).toBeNull();
  });

  it('finds the next HH:MM UTC strictly after now', () => {
    expect(nextDailyAt(Date.UTC(2024, 0, 1, 10, 0), '12:30')).toBe(Date.UTC(2024, 0, 1, 12, 30));
    expect(nextDailyAt(Date.UTC(2024, 0, 1, 12, 30), '12:30')).toBe(Date.UTC(2024, 0, 2, 12, 30));
    expect(nextDailyAt(Date.UTC(2024, 11, 31, 23, 0), '00:00')).toBe(Date.UTC(2025, 0, 1, 0, 0));
  });

  it('formats quantities and prices without float noise', () => {
    expect(fmtQty(0.1 + 0.2)).toBe('0.3');
    expect(fmtQty(0.00000001)).toBe('0.00000001');
    expect(fmtPrice(61234.5)).toBe('61234.50');
    expect(fmtPrice(0.000123456)).toBe('0.00012346');
  });
});
