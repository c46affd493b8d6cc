import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplayServer, type ReplayServer } from './server.js';

const DATA = fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
const FILES = [`${DATA}binance/usdm/btcusdt_20240808.gz`];

/** serve-replay's fault commands (POST /_admin/faults): only with the `faults` option, validated, counted. */
describe('serve-replay fault commands', () => {
  let on: ReplayServer;
  let off: ReplayServer;
  const post = (s: ReplayServer, body: string) => fetch(`${s.url}/_admin/faults`, { method: 'POST', body });

  beforeAll(async () => {
    [on, off] = await Promise.all([startReplayServer({ files: FILES, faults: true }), startReplayServer({ files: FILES })]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([on?.close(), off?.close()]);
  });

  it('are not served without the option', async () => {
    expect((await post(off, '{"disconnect":true}')).status).toBe(404);
    expect(off.status().faults).toBeUndefined();
  });

  it('refuses bad commands with 400 and changes nothing', async () => {
    for (const body of ['not json', '{"venue":"coinbase"}', '{"rest":{"status":500,"count":1}}', '{"rest":{"status":429,"count":0}}']) {
      expect((await post(on, body)).status, body).toBe(400);
    }
    expect(on.status().faults!.pending.usdm).toEqual({ duplicate: 0, reorder: 0, drop: 0, staleSnapshot: 0, rest: 0 });
  });

  it('answers the next N REST requests with 418 and Retry-After, then normally, and counts them', async () => {
    const r = await post(on, JSON.stringify({ venue: 'usdm', drop: 2, rest: { status: 418, count: 2, retryAfter: 7 } }));
    expect(r.status).toBe(200);
    const pending = ((await r.json()) as { pending: Record<string, Record<string, number>> }).pending;
    expect(pending['usdm']).toEqual({ duplicate: 0, reorder: 0, drop: 2, staleSnapshot: 0, rest: 2 });
    expect(pending['spot']!['rest']).toBe(0);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${on.url}/fapi/v1/exchangeInfo`);
      expect(res.status).toBe(418);
      expect(res.headers.get('retry-after')).toBe('7');
      await res.body?.cancel();
    }
    const ok = await fetch(`${on.url}/fapi/v1/exchangeInfo`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const status = (await (await fetch(`${on.url}/_admin/faults`)).json()) as { restErrors: number; pending: Record<string, Record<string, number>> };
    expect(status.restErrors).toBe(2);
    expect(status.pending['usdm']!['rest']).toBe(0);
    expect(status.pending['usdm']!['drop']).toBe(2); // nothing played yet
    expect(on.status().faults!.restErrors).toBe(2);
  });
});
