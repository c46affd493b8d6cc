import { describe, expect, it } from 'vitest';
import { parseStartAt, parseSymbols, runServeAlpaca } from './cli.js';
import { DATA_DIR } from './testing.js';

describe('serve-alpaca CLI', () => {
  it('parses symbol lists with crypto pairs', () => {
    expect(parseSymbols('tsla, DOGE/USD')).toEqual(['TSLA', 'DOGE/USD']);
    expect(() => parseSymbols('DOGE/')).toThrow(/invalid --symbols/);
    expect(parseStartAt(undefined)).toBe('now');
    expect(parseStartAt('data')).toBeUndefined();
    expect(parseStartAt('2026-01-02T03:04:00Z')).toBe(Date.UTC(2026, 0, 2, 3, 4));
    expect(() => parseStartAt('soon')).toThrow(/start-at/);
  });

  it('serves until aborted and answers with the configured keys', async () => {
    const ac = new AbortController();
    let text = '';
    let asked = false;
    const stdout = {
      write: (s: string) => {
        text += s;
        const url = /listening on (\S+)/.exec(text)?.[1];
        if (url && !asked) {
          asked = true;
          void fetch(`${url}/v2/clock`, { headers: { 'APCA-API-KEY-ID': 'K', 'APCA-API-SECRET-KEY': 'S' } }).then(async (r) => {
            text += `status ${r.status} ${JSON.stringify(await r.json())}\n`;
            ac.abort();
          });
        }
        return true;
      },
    };
    await runServeAlpaca({ port: 0, speed: 0, symbols: 'TSLA', key: 'K', secret: 'S', data: DATA_DIR, startAt: 'data' }, { stdout, stderr: { write: () => true }, signal: ac.signal });
    expect(text).toMatch(/status 200 \{"timestamp":"2019-02-11T11:29:59-05:00"/);
  });
});
