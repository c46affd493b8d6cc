/**
 * Faults on command, for tests (set by constructor options or POST /_admin/faults):
 * - `http`: the next `count` requests matching `route` get `status` (5xx, or 429 with rate-limit headers);
 * - `timeout`: the next `count` matching requests are processed (an order IS accepted) but the response
 *   is delayed by `delayMs`, or never sent when `delayMs` is omitted (the socket stays open);
 * - `swap`: the next two trade_updates events are sent in reverse order (`count` times);
 * - `duplicate`: the next `count` trade_updates events are sent twice;
 * - `reject`: the next `count` orders are accepted (200) and then `rejected` on the stream;
 * - `disconnect`: closes the trade_updates (`trade`), market-data (`marketdata`) or all sockets now.
 * A route is `"METHOD /path"` or `"/path"` (any method); `*` matches any characters, e.g. `"POST /v2/orders"`,
 * `"GET /v2/orders/*"`, `"*"`.
 */

export type FaultSpec =
  | { kind: 'http'; route: string; status: number; count?: number }
  | { kind: 'timeout'; route: string; delayMs?: number; count?: number }
  | { kind: 'swap'; count?: number }
  | { kind: 'duplicate'; count?: number }
  | { kind: 'reject'; count?: number }
  | { kind: 'disconnect'; target: 'trade' | 'marketdata' | 'all' };

interface RouteRule {
  method: string | undefined;
  path: RegExp;
  count: number;
}

function rule(route: string, count: number | undefined): RouteRule {
  const m = /^(?:([A-Z]+)\s+)?(\S+)$/.exec(route.trim());
  if (!m) throw new Error(`bad fault route ${route}`);
  const re = new RegExp(`^${m[2]!.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return { method: m[1], path: re, count: count ?? 1 };
}

function take<T extends RouteRule>(rules: T[], method: string, path: string): T | undefined {
  const i = rules.findIndex((r) => (r.method === undefined || r.method === method) && r.path.test(path));
  if (i < 0) return undefined;
  const r = rules[i]!;
  if (--r.count <= 0) rules.splice(i, 1);
  return r;
}

export class Faults {
  private readonly httpRules: (RouteRule & { status: number })[] = [];
  private readonly timeoutRules: (RouteRule & { delayMs: number | undefined })[] = [];
  swaps = 0;
  duplicates = 0;

  /** Validates and records a fault; `reject` and `disconnect` are returned for the server to apply. */
  add(spec: FaultSpec): void {
    switch (spec.kind) {
      case 'http':
        if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) throw new Error('http fault status must be 400..599');
        this.httpRules.push({ ...rule(spec.route, spec.count), status: spec.status });
        return;
      case 'timeout':
        this.timeoutRules.push({ ...rule(spec.route, spec.count), delayMs: spec.delayMs });
        return;
      case 'swap':
        this.swaps += spec.count ?? 1;
        return;
      case 'duplicate':
        this.duplicates += spec.count ?? 1;
        return;
      case 'reject':
      case 'disconnect':
        return;
      default: {
        const never: never = spec;
        throw new Error(`unknown fault ${JSON.stringify(never)}`);
      }
    }
  }

  takeHttp(method: string, path: string): number | undefined {
    return take(this.httpRules, method, path)?.status;
  }

  /** undefined: no timeout; `{ delayMs: undefined }`: never answer. */
  takeTimeout(method: string, path: string): { delayMs: number | undefined } | undefined {
    const r = take(this.timeoutRules, method, path);
    return r ? { delayMs: r.delayMs } : undefined;
  }

  clear(): void {
    this.httpRules.length = 0;
    this.timeoutRules.length = 0;
    this.swaps = 0;
    this.duplicates = 0;
  }
}

/** Applies swap/duplicate faults to the outgoing trade_updates sequence. */
export class EventShaper<T> {
  private held: T | undefined;

  constructor(private readonly faults: Faults) {}

  /** The events to send now for one event in. */
  push(e: T): T[] {
    let out: T[];
    if (this.held !== undefined) {
      out = [e, this.held];
      this.held = undefined;
    } else if (this.faults.swaps > 0) {
      this.faults.swaps--;
      this.held = e;
      return [];
    } else out = [e];
    if (this.faults.duplicates > 0) {
      const res: T[] = [];
      for (const x of out) {
        res.push(x);
        if (this.faults.duplicates > 0) {
          this.faults.duplicates--;
          res.push(x);
        }
      }
      return res;
    }
    return out;
  }
}
