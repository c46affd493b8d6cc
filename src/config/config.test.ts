import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactedConfig, venueSymbols } from './config.js';
import { feeOverrides } from '../engine/presets.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.SYMBOLS).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(c.INITIAL_BALANCE).toBe(10000);
    expect(c.IMBALANCE_THRESHOLD).toBe(0.3);
    expect(c.MIN_CONFIDENCE).toBe(0.6);
    expect(c.MODEL_PATH).toBe('models/gbdt-xgb');
    expect(c.ML_DECISION_LATENCY_US).toBe('model');
    // empty turns the gate off (not the default); a number overrides the model's recorded latency
    expect(loadConfig({ MODEL_PATH: '' }).MODEL_PATH).toBe('');
    expect(loadConfig({ ML_DECISION_LATENCY_US: '35' }).ML_DECISION_LATENCY_US).toBe(35);
    expect(c.RISK_MAX_POSITION).toBe(1);
    expect(c.RISK_MAX_DRAWDOWN).toBe(0.05);
    expect(c.PORT).toBe(8000);
    expect(c.HOST).toBe('127.0.0.1');
    expect(c.DATA_DIR).toBe('./var');
    expect(c.API_TOKEN).toBeUndefined();
    expect(c.BINANCE_SPOT_WS_URL).toBe('wss://stream.binance.com:9443');
    expect(c.BINANCE_FUTURES_REST_URL).toBe('https://fapi.binance.com');
  });

  it('accepts local endpoints and normalises symbols', () => {
    const c = loadConfig({ SYMBOLS: 'btcusdt, ethusdt', BINANCE_SPOT_WS_URL: 'ws://127.0.0.1:9000/', BINANCE_SPOT_REST_URL: 'http://127.0.0.1:9000' });
    expect(c.SYMBOLS).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(c.BINANCE_SPOT_WS_URL).toBe('ws://127.0.0.1:9000');
  });

  it('splits SYMBOLS by venue: prefixes, slash pairs, and VENUE for the rest', () => {
    const keys = { APCA_API_KEY_ID: 'PKX', APCA_API_SECRET_KEY: 'sx' };
    const mixed = loadConfig({ ...keys, SYMBOLS: 'btcusdt, alpaca:tsla, doge/usd, binance:ETHUSDT' });
    expect(mixed.SYMBOLS).toEqual(['BTCUSDT', 'alpaca:TSLA', 'DOGE/USD', 'binance:ETHUSDT']);
    expect(venueSymbols(mixed)).toEqual({ binance: ['BTCUSDT', 'ETHUSDT'], alpaca: ['TSLA', 'DOGE/USD'] });
    expect(venueSymbols(loadConfig({ ...keys, SYMBOLS: 'TSLA,BRK.B,binance:BTCUSDT', VENUE: 'alpaca' }))).toEqual({ binance: ['BTCUSDT'], alpaca: ['TSLA', 'BRK.B'] });
    // Alpaca's own fees unless FEE_OVERRIDES names alpaca
    expect(feeOverrides(mixed)).toEqual([
      { venue: 'alpaca', symbol: 'TSLA', maker: 0, taker: 0 },
      { venue: 'alpaca', symbol: 'DOGE/USD', maker: 0.0015, taker: 0.0025 },
    ]);
    expect(feeOverrides({ ...mixed, FEE_OVERRIDES: 'alpaca:*=0.001/0.002' })).toEqual([{ venue: 'alpaca', symbol: '*', maker: 0.001, taker: 0.002 }]);
  });

  it('rejects bad symbols and Alpaca symbols without keys, every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ SYMBOLS: 'TSLA,DOGE-USD,kraken:XBT,binance:DOGE/USD', VENUE: 'alpaca', APCA_API_SECRET_KEY: 'shh-secret' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).message;
    expect(text).toContain('DOGE-USD: a symbol is letters and digits');
    expect(text).toContain('KRAKEN:XBT: the venue prefix is binance: or alpaca:');
    expect(text).toContain('BINANCE:DOGE/USD: a pair with a slash is an Alpaca crypto symbol');
    expect(loadConfig.bind(null, { SYMBOLS: 'TSLA', VENUE: 'alpaca', APCA_API_SECRET_KEY: 'shh-secret' })).toThrowError(/APCA_API_KEY_ID and APCA_API_SECRET_KEY: required to trade TSLA on Alpaca/);
    expect(text).not.toContain('shh-secret');
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ INITIAL_BALANCE: '-5', PORT: 'eighty', IMBALANCE_THRESHOLD: '2', BINANCE_SPOT_WS_URL: 'http://x', RISK_MAX_POSTION: '3', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(6);
    expect(problems.join('\n')).toMatch(/INITIAL_BALANCE.*PORT|PORT[\s\S]*INITIAL_BALANCE|INITIAL_BALANCE[\s\S]*PORT/);
    expect(problems.some((p) => p.startsWith('RISK_MAX_POSTION: unknown variable'))).toBe(true);
  });

  it('never shows a secret, even when it is invalid', () => {
    const secret = 'short-secret';
    try {
      loadConfig({ API_TOKEN: secret });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).not.toContain(secret);
      expect(String(e)).toContain('API_TOKEN');
    }
    const c = loadConfig({ API_TOKEN: 'a-long-enough-secret-token' });
    expect(JSON.stringify(redactedConfig(c))).not.toContain('a-long-enough-secret-token');
  });

  it('hides a Telegram bot token, valid or not', () => {
    const bad = '123:short';
    try {
      loadConfig({ TELEGRAM_BOT_TOKEN: bad, TELEGRAM_CHAT_ID: '42' });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).not.toContain(bad);
      expect(String(e)).toContain('TELEGRAM_BOT_TOKEN=(hidden)');
    }
    const token = '123456:AAAAbbbbCCCCddddEEEEffffGGGG_-12';
    const c = loadConfig({ TELEGRAM_BOT_TOKEN: token, TELEGRAM_CHAT_ID: '-1001234567890' });
    expect(c.TELEGRAM_CHAT_ID).toBe('-1001234567890');
    expect(JSON.stringify(redactedConfig(c))).not.toContain(token);
  });

  it.each([
    [{ TELEGRAM_BOT_TOKEN: '123456:AAAAbbbbCCCCddddEEEEffffGGGG_-12' }],
    [{ TELEGRAM_CHAT_ID: '42' }],
  ])('needs both Telegram variables or neither (%o)', (env) => {
    expect(() => loadConfig(env)).toThrow(/set both/);
  });

  it.each(['24:00', '7:30', 'noon'])('rejects TELEGRAM_SUMMARY_UTC=%s', (v) => {
    expect(() => loadConfig({ TELEGRAM_SUMMARY_UTC: v })).toThrow(/TELEGRAM_SUMMARY_UTC/);
  });
});
