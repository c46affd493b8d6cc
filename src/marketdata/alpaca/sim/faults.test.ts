import { describe, expect, it } from 'vitest';
import { EventShaper, Faults } from './faults.js';

describe('Faults', () => {
  it('matches routes by method and glob, count times', () => {
    const f = new Faults();
    f.add({ kind: 'http', route: 'POST /v2/orders', status: 503, count: 2 });
    f.add({ kind: 'http', route: '/v2/orders/*', status: 500 });
    expect(f.takeHttp('GET', '/v2/orders')).toBeUndefined();
    expect(f.takeHttp('POST', '/v2/orders')).toBe(503);
    expect(f.takeHttp('POST', '/v2/orders')).toBe(503);
    expect(f.takeHttp('POST', '/v2/orders')).toBeUndefined();
    expect(f.takeHttp('DELETE', '/v2/orders/abc')).toBe(500);
    expect(f.takeHttp('DELETE', '/v2/orders/abc')).toBeUndefined();
  });

  it('rejects bad statuses', () => {
    expect(() => new Faults().add({ kind: 'http', route: '*', status: 200 })).toThrow();
  });

  it('swaps the next two events and duplicates', () => {
    const f = new Faults();
    const s = new EventShaper<number>(f);
    f.add({ kind: 'swap' });
    expect([1, 2, 3].flatMap((e) => s.push(e))).toEqual([2, 1, 3]);
    f.add({ kind: 'duplicate', count: 1 });
    expect([4, 5].flatMap((e) => s.push(e))).toEqual([4, 4, 5]);
  });
});
