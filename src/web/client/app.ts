// The live dashboard: one EventSource (GET /stream) for the account, positions, orders, risk and book
// tops, REST polls for the slower views (metrics, strategies, latency, depth), and a render loop that
// writes the DOM at most four times a second whatever the stream's rate.
import { getJson, postControl, tokenStore, type Answer } from './api.js';
import { BarList, levelOf, type Bar } from './bars.js';
import { EquityChart } from './charts.js';
import { DepthLadder } from './depth.js';
import { byId, h, setSign, setText, TableView, type Column } from './dom.js';
import { clock, DASH, dateTime, duration, int, money, ms, num, pct, price, qty, signClass } from './format.js';
import type { Account, Book, BookTop, Denial, EquityRow, Feed, Fill, Order, Position, RiskState, RoundTrip, Snapshot, Strategies, Variant } from './types.js';

// ---------------------------------------------------------------- state

type Panel = 'account' | 'positions' | 'orders' | 'risk' | 'books' | 'depth' | 'fills' | 'trips' | 'metrics' | 'strategies' | 'latency' | 'conn' | 'controls';

const WORKING = new Set(['NEW', 'ACCEPTED', 'PARTIALLY_FILLED']);
const MAX_FILLS = 50;

const state = {
  account: null as Account | null,
  accountTime: 0,
  counters: {} as Record<string, number>,
  positions: [] as Position[],
  orders: new Map<string, Order>(),
  risk: null as RiskState | null,
  books: {} as Record<string, BookTop>,
  feeds: [] as Feed[],
  fills: [] as Fill[],
  trips: [] as RoundTrip[],
  denials: [] as Denial[],
  metrics: null as Record<string, unknown> | null,
  strategies: null as Strategies | null,
  latency: null as unknown,
  depth: null as Book | null,
  depthNote: '',
  selectedBook: '',
  conn: 'connecting' as 'connecting' | 'live' | 'down' | 'polling',
  lastSnapshot: 0,
};

const dirty = new Set<Panel>();
const mark = (...p: Panel[]): void => {
  for (const x of p) dirty.add(x);
};

// ---------------------------------------------------------------- helpers

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const obj = (x: unknown): Record<string, unknown> | null => (x && typeof x === 'object' && !Array.isArray(x) ? (x as Record<string, unknown>) : null);
const pick = (o: Record<string, unknown> | null | undefined, ...keys: string[]): unknown => {
  for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
};
const bookKey = (venue: string, symbol: string): string => `${venue}:${symbol}`;
const splitKey = (key: string): { venue: string; symbol: string } => {
  const i = key.indexOf(':');
  return i < 0 ? { venue: 'spot', symbol: key } : { venue: key.slice(0, i), symbol: key.slice(i + 1) };
};
const parse = (e: Event): unknown => {
  try {
    return JSON.parse((e as MessageEvent<string>).data) as unknown;
  } catch {
    return null;
  }
};
const visible = (): boolean => document.visibilityState !== 'hidden';

// ---------------------------------------------------------------- elements

const chartEl = byId('equity-chart');
const chart = new EquityChart(chartEl);

const kpiIds = ['equity', 'total-pnl', 'realized', 'unrealized', 'fees', 'drawdown', 'exposure', 'fills'] as const;
const kpis = Object.fromEntries(
  kpiIds.map((id) => {
    const root = byId(`kpi-${id}`);
    return [id, { root, value: root.querySelector('.value')!, sub: root.querySelector('.sub')! }];
  }),
) as Record<(typeof kpiIds)[number], { root: HTMLElement; value: Element; sub: Element }>;

function kpi(id: (typeof kpiIds)[number], value: number | undefined | null, text: string, sub: string, sign: 'pos' | 'neg' | '' = ''): void {
  const k = kpis[id];
  setText(k.value, text);
  setText(k.sub, sub);
  setSign(k.value, sign);
  const v = isNum(value) ? String(value) : '';
  if (k.root.dataset['value'] !== v) k.root.dataset['value'] = v;
}

const num4 = (x: number | null | undefined): string => (isNum(x) ? num(x, 4) : DASH);

const positionsView = new TableView<Position>(
  byId('positions'),
  [
    { key: 'symbol', head: 'Symbol', cell: (p) => p.symbol },
    { key: 'venue', head: 'Venue', cell: (p) => p.venue, wide: true },
    { key: 'side', head: 'Side', cell: (p) => p.side ?? (p.qty > 0 ? 'LONG' : p.qty < 0 ? 'SHORT' : 'FLAT') },
    { key: 'qty', head: 'Qty', cls: 'num', cell: (p) => qty(p.qty) },
    { key: 'entry', head: 'Avg entry', cls: 'num', cell: (p) => price(p.avgEntryPrice) },
    { key: 'mark', head: 'Mark', cls: 'num', cell: (p) => price(p.markPrice), wide: true },
    { key: 'upnl', head: 'Unrealized', cls: 'num', cell: (p) => money(p.unrealizedPnl, true), sign: (p) => signClass(p.unrealizedPnl) },
    { key: 'rpnl', head: 'Realized', cls: 'num', cell: (p) => money(p.realizedPnl, true), sign: (p) => signClass(p.realizedPnl) },
  ],
  (p) => bookKey(p.venue, p.symbol),
  'No positions yet.',
);

const ordersView = new TableView<Order>(
  byId('open-orders'),
  [
    { key: 'time', head: 'Time', cell: (o) => clock(o.createdAt) },
    { key: 'symbol', head: 'Symbol', cell: (o) => o.symbol },
    { key: 'side', head: 'Side', cell: (o) => o.side, sign: (o) => (o.side === 'BUY' ? 'pos' : 'neg') },
    { key: 'type', head: 'Type', cell: (o) => (o.postOnly ? `${o.type} (post)` : o.type) },
    { key: 'qty', head: 'Qty', cls: 'num', cell: (o) => qty(o.qty) },
    { key: 'price', head: 'Price', cls: 'num', cell: (o) => (o.price === null ? 'market' : price(o.price)) },
    { key: 'filled', head: 'Filled', cls: 'num', cell: (o) => qty(o.filledQty) },
    { key: 'status', head: 'Status', cell: (o) => o.status, wide: true },
    { key: 'strategy', head: 'Strategy', cell: (o) => o.strategy, wide: true },
  ],
  (o) => o.id,
  'No open orders.',
);
const ordersCount = byId('open-orders-count');

const fillsView = new TableView<Fill>(
  byId('fills'),
  [
    { key: 'time', head: 'Time', cell: (f) => clock(f.time) },
    { key: 'symbol', head: 'Symbol', cell: (f) => f.symbol },
    { key: 'side', head: 'Side', cell: (f) => f.side, sign: (f) => (f.side === 'BUY' ? 'pos' : 'neg') },
    { key: 'qty', head: 'Qty', cls: 'num', cell: (f) => qty(f.qty) },
    { key: 'price', head: 'Price', cls: 'num', cell: (f) => price(f.price) },
    { key: 'fee', head: 'Fee', cls: 'num', cell: (f) => money(f.fee), wide: true },
    { key: 'liq', head: 'Liq.', cell: (f) => f.liquidity, wide: true },
    { key: 'pnl', head: 'Realized', cls: 'num', cell: (f) => money(f.realizedPnl, true), sign: (f) => signClass(f.realizedPnl) },
    { key: 'strategy', head: 'Strategy', cell: (f) => f.strategy, wide: true },
  ],
  (f) => f.id,
  'No fills yet.',
);

const tripsView = new TableView<RoundTrip>(
  byId('trips'),
  [
    { key: 'opened', head: 'Opened', cell: (t) => clock(t.openedAt) },
    { key: 'symbol', head: 'Symbol', cell: (t) => t.symbol },
    { key: 'dir', head: 'Dir.', cell: (t) => t.direction },
    { key: 'status', head: 'Status', cell: (t) => t.status },
    { key: 'qty', head: 'Qty', cls: 'num', cell: (t) => qty(t.qty), wide: true },
    { key: 'entry', head: 'Entry', cls: 'num', cell: (t) => price(t.entryPrice), wide: true },
    { key: 'exit', head: 'Exit', cls: 'num', cell: (t) => price(t.exitPrice), wide: true },
    { key: 'held', head: 'Held', cls: 'num', cell: (t) => (t.closedAt ? duration(t.closedAt - t.openedAt) : DASH), wide: true },
    { key: 'net', head: 'Net P&L', cls: 'num', cell: (t) => money(t.netPnl, true), sign: (t) => signClass(t.netPnl) },
    { key: 'strategy', head: 'Strategy', cell: (t) => t.strategy, wide: true },
  ],
  (t) => t.id,
  'No round trips yet.',
);

const topsView = new TableView<[string, BookTop]>(
  byId('book-tops'),
  [
    { key: 'book', head: 'Book', cell: ([k]) => k },
    { key: 'state', head: 'State', cell: ([, b]) => b.state ?? DASH, sign: ([, b]) => (b.state && b.state !== 'synced' ? 'neg' : '') },
    { key: 'bid', head: 'Bid', cls: 'num', cell: ([, b]) => price(b.bid) },
    { key: 'ask', head: 'Ask', cls: 'num', cell: ([, b]) => price(b.ask) },
    { key: 'spread', head: 'Spread', cls: 'num', cell: ([, b]) => price(isNum(b.spread) ? b.spread : isNum(b.ask) && isNum(b.bid) ? b.ask - b.bid : null), wide: true },
  ],
  ([k]) => k,
  'No books yet.',
);
const bookTabs = byId('book-tabs');
const ladder = new DepthLadder(byId('depth'), 10);
const feedsEl = byId('feeds');

const riskEls = {
  state: byId('risk-state'),
  breaker: byId('risk-breaker'),
  drawdown: byId('risk-drawdown'),
  streak: byId('risk-streak'),
  shabbat: byId('risk-shabbat'),
  counts: byId('risk-counts'),
  limits: byId('risk-limits'),
  denials: byId('risk-denials'),
};
const usage = new BarList(byId('risk-usage'), 'No limits reported.');
const engineBadge = byId('engine-state');
const connBadge = byId('conn');
const updatedEl = byId('updated');

const perfIds = ['sharpe', 'maxdd', 'vol', 'winrate', 'trades', 'pnl', 'pf', 'sortino'] as const;
const perf = Object.fromEntries(perfIds.map((id) => [id, byId(`perf-${id}`).querySelector('.value')!])) as Record<(typeof perfIds)[number], Element>;
const perfRoots = Object.fromEntries(perfIds.map((id) => [id, byId(`perf-${id}`)])) as Record<(typeof perfIds)[number], HTMLElement>;

interface SliceRow {
  name: string;
  kind: string;
  s: Record<string, unknown>;
}
const sliceNum = (s: Record<string, unknown>, ...k: string[]): number | undefined => {
  const v = pick(s, ...k) ?? pick(obj(s['returns']), ...k);
  return isNum(v) ? v : undefined;
};
const slicesView = new TableView<SliceRow>(
  byId('perf-breakdown'),
  [
    { key: 'name', head: 'Slice', cell: (r) => r.name },
    { key: 'trades', head: 'Trips', cls: 'num', cell: (r) => int(sliceNum(r.s, 'trades', 'totalTrades')) },
    { key: 'winrate', head: 'Win rate', cls: 'num', cell: (r) => pct(sliceNum(r.s, 'winRate'), 1) },
    { key: 'pnl', head: 'Net P&L', cls: 'num', cell: (r) => money(sliceNum(r.s, 'netPnl', 'totalPnl', 'pnl'), true), sign: (r) => signClass(sliceNum(r.s, 'netPnl', 'totalPnl', 'pnl')) },
    { key: 'sharpe', head: 'Sharpe', cls: 'num', cell: (r) => num(sliceNum(r.s, 'sharpe')) },
    { key: 'maxdd', head: 'Max DD', cls: 'num', cell: (r) => pct(sliceNum(r.s, 'maxDrawdown')), wide: true },
  ],
  (r) => `${r.kind}:${r.name}`,
  'Per-symbol and per-strategy figures appear once the server reports them.',
);

const promoteSymbols = byId<HTMLSelectElement>('promote-symbols');
const promotedEl = byId('promoted');
const strategiesView = new TableView<Variant>(
  byId('strategies'),
  [
    { key: 'name', head: 'Variant', cell: (v) => (v.role === 'trading' ? `${v.name} (trading)` : v.name) },
    { key: 'strategy', head: 'Strategy', cell: (v) => v.strategy ?? DASH, wide: true },
    { key: 'orders', head: 'Orders', cls: 'num', cell: (v) => int(v.orders), wide: true },
    { key: 'fills', head: 'Fills', cls: 'num', cell: (v) => int(v.fills), wide: true },
    { key: 'trades', head: 'Trips', cls: 'num', cell: (v) => int(v.trades) },
    { key: 'winrate', head: 'Win rate', cls: 'num', cell: (v) => pct(v.winRate, 1) },
    { key: 'pnl', head: 'P&L', cls: 'num', cell: (v) => money(v.pnl, true), sign: (v) => signClass(v.pnl) },
    { key: 'fees', head: 'Fees', cls: 'num', cell: (v) => money(v.fees), wide: true },
    { key: 'sharpe', head: 'Sharpe', cls: 'num', cell: (v) => num(v.sharpe) },
    { key: 'maxdd', head: 'Max DD', cls: 'num', cell: (v) => pct(v.maxDrawdown), wide: true },
    { key: 'psr', head: 'PSR', cls: 'num', cell: (v) => pct(v.psrVsTrading, 0), wide: true },
    { key: 'dsr', head: 'DSR', cls: 'num', cell: (v) => pct(v.dsr, 0), wide: true },
    {
      key: 'action',
      head: '',
      custom: (v, td, created) => {
        if (created) {
          const b = h('button', 'small needs-token', v.role === 'trading' ? 'Back to configured' : 'Promote');
          b.type = 'button';
          b.dataset['variant'] = v.role === 'trading' ? 'configured' : v.name;
          td.append(b);
        }
        const b = td.querySelector('button');
        if (b && v.role === 'trading') b.hidden = Object.keys(state.strategies?.promoted ?? {}).length === 0;
      },
    },
  ],
  (v) => v.name,
  'No strategy figures yet.',
);

const latencyEl = byId('latency');
const mlLatencyEl = byId('ml-latency');
const latencyBlocks = new Map<string, { head: HTMLElement; bars: BarList }>();

// ---------------------------------------------------------------- applying data

function applySnapshot(s: Snapshot): void {
  if (!s || typeof s !== 'object') return;
  state.lastSnapshot = isNum(s.time) ? s.time : Date.now();
  if (s.account) {
    state.account = { ...state.account, ...s.account };
    state.accountTime = state.lastSnapshot;
    mark('account');
  }
  if (s.counters) state.counters = s.counters;
  if (Array.isArray(s.positions)) {
    state.positions = s.positions;
    mark('positions', 'risk');
  }
  if (Array.isArray(s.openOrders)) {
    state.orders = new Map(s.openOrders.map((o) => [o.id, o]));
    mark('orders');
  }
  if (s.risk) {
    state.risk = s.risk;
    mark('risk');
  }
  if (s.books && typeof s.books === 'object') {
    state.books = s.books;
    mark('books');
  }
  if (s.feeds) {
    state.feeds = Array.isArray(s.feeds) ? s.feeds : Object.values(s.feeds);
    mark('books');
  }
  if (state.conn === 'polling' || state.conn === 'live') mark('conn');
}

function applyControlState(c: Record<string, unknown> | null): void {
  if (!c) return;
  const r: RiskState = { ...(state.risk ?? {}) };
  if (typeof c['halted'] === 'boolean') r.halted = c['halted'];
  if (typeof c['paused'] === 'boolean') r.paused = c['paused'];
  if (c['haltReason'] !== undefined) r.haltReason = (c['haltReason'] as string) || null;
  if (c['pauseReason'] !== undefined) r.pauseReason = (c['pauseReason'] as string) || null;
  if (typeof c['breakerTripped'] === 'boolean') r.drawdownBreaker = { ...(r.drawdownBreaker ?? {}), tripped: c['breakerTripped'], trippedAt: (c['breakerTrippedAt'] as number | null) ?? null };
  if (isNum(c['highWaterMark'])) r.highWaterMark = c['highWaterMark'];
  state.risk = r;
  mark('risk');
}

function onOrder(o: Order): void {
  if (!o || typeof o.id !== 'string') return;
  if (WORKING.has(o.status)) state.orders.set(o.id, o);
  else state.orders.delete(o.id);
  mark('orders');
}

let tripsTimer = 0;
function onFill(f: Fill, o?: Order): void {
  if (!f || typeof f.id !== 'string') return;
  if (!state.fills.some((x) => x.id === f.id)) {
    state.fills = [f, ...state.fills].sort((a, b) => b.time - a.time).slice(0, MAX_FILLS);
    mark('fills');
  }
  if (o) onOrder(o);
  // round trips change with fills: refetch, at most every 2 s
  if (!tripsTimer) tripsTimer = window.setTimeout(() => void loadTrips(), 2000);
}

function onEquity(row: EquityRow): void {
  chart.push(row);
  if (state.account && isNum(row.time) && row.time >= state.accountTime) {
    const a = state.account;
    state.account = { ...a, equity: row.equity, highWaterMark: row.highWaterMark ?? a.highWaterMark, drawdown: row.drawdown ?? a.drawdown };
    const r = row as unknown as Record<string, unknown>;
    for (const k of ['cash', 'realizedPnl', 'unrealizedPnl', 'fees', 'grossExposure'] as const) if (isNum(r[k])) (state.account as unknown as Record<string, number>)[k] = r[k];
    state.accountTime = row.time;
    mark('account');
  }
}

// ---------------------------------------------------------------- the stream

let es: EventSource | null = null;
let backoff = 1000;
let everConnected = false;
let fallbackTimer = 0;

function connect(): void {
  const source = new EventSource('/stream');
  es = source;
  source.onopen = () => {
    const again = everConnected;
    everConnected = true;
    backoff = 1000;
    state.conn = 'live';
    stopFallback();
    mark('conn');
    // after a gap, fetch what the stream did not carry while it was down
    if (again) void Promise.all([loadEquity(), loadFills(), loadTrips()]);
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      // the server refused the stream (not a dropped connection): retry by hand, poll meanwhile
      source.close();
      if (es === source) es = null;
      startFallback();
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30_000);
    } else {
      // dropped: EventSource reconnects by itself
      state.conn = 'down';
    }
    mark('conn');
  };
  source.addEventListener('snapshot', (e) => applySnapshot(parse(e) as Snapshot));
  source.addEventListener('order', (e) => onOrder((obj(parse(e))?.['order'] as Order) ?? null));
  source.addEventListener('fill', (e) => {
    const d = obj(parse(e));
    onFill(d?.['fill'] as Fill, (d?.['order'] as Order | undefined) ?? undefined);
  });
  source.addEventListener('equity', (e) => {
    const d = obj(parse(e));
    const row = obj(d?.['equity']) ?? d;
    if (row) onEquity(row as unknown as EquityRow);
  });
  source.addEventListener('risk', (e) => {
    const d = obj(parse(e));
    applyControlState(obj(d?.['state']) ?? obj(d?.['risk']));
  });
  source.addEventListener('denial', (e) => {
    const d = obj(parse(e));
    const den = (obj(d?.['denial']) ?? d) as unknown as Denial | null;
    if (den && typeof den.check === 'string') {
      state.denials = [den, ...state.denials].slice(0, 8);
      mark('risk');
    }
  });
}

/** While the stream is refused, the same views come from the REST endpoints every 2 s. */
function startFallback(): void {
  state.conn = everConnected ? 'down' : 'polling';
  if (fallbackTimer) return;
  const poll = async (): Promise<void> => {
    if (!visible()) return;
    const [account, positions, orders, status] = await Promise.all([
      getJson<Account>('/account'),
      getJson<{ positions: Position[] }>('/positions'),
      getJson<{ orders: Order[] }>('/orders/open'),
      getJson<Record<string, unknown>>('/status'),
    ]);
    if (!account.ok) {
      state.conn = 'down';
      mark('conn');
      return;
    }
    const books: Record<string, BookTop> = {};
    const st = status.ok ? status.data : null;
    for (const [k, b] of Object.entries(obj(st?.['books']) ?? {})) {
      const o = obj(b);
      books[k] = { state: o?.['state'] as string, bid: o?.['bestBid'] as number, ask: o?.['bestAsk'] as number };
    }
    const snap: Snapshot = { time: isNum(account.data.time) ? account.data.time : Date.now(), account: account.data, books };
    if (positions.ok) snap.positions = positions.data.positions;
    if (orders.ok) snap.openOrders = orders.data.orders;
    if (st && obj(st['risk'])) snap.risk = st['risk'] as RiskState;
    if (st && obj(st['feeds'])) snap.feeds = st['feeds'] as Record<string, Feed>;
    if (st && obj(st['counters'])) snap.counters = st['counters'] as Record<string, number>;
    applySnapshot(snap);
    chart.push({ time: snap.time, equity: account.data.equity, highWaterMark: account.data.highWaterMark, drawdown: account.data.drawdown });
    if (state.conn !== 'live') state.conn = everConnected ? 'down' : 'polling';
    mark('conn');
  };
  void poll();
  fallbackTimer = window.setInterval(() => void poll(), 2000);
}

function stopFallback(): void {
  if (fallbackTimer) window.clearInterval(fallbackTimer);
  fallbackTimer = 0;
}

// ---------------------------------------------------------------- REST loads

const missing = new Set<string>();
/** GET that stops asking an endpoint that is not there (404), so the console stays quiet. */
async function load<T>(path: string): Promise<Answer<T> | null> {
  const base = path.split('?')[0]!;
  if (missing.has(base)) return null;
  const r = await getJson<T>(path);
  if (!r.ok && r.status === 404 && r.code === 'not_found') missing.add(base);
  return r;
}

function rowsOf<T>(body: unknown, ...keys: string[]): T[] | null {
  if (Array.isArray(body)) return body as T[];
  const o = obj(body);
  for (const k of keys) if (Array.isArray(o?.[k])) return o[k] as T[];
  for (const v of Object.values(o ?? {})) if (Array.isArray(v)) return v as T[];
  return null;
}

async function loadEquity(): Promise<void> {
  const r = await load<unknown>('/equity?limit=5000');
  const rows = r?.ok ? rowsOf<EquityRow>(r.data, 'equity', 'points', 'curve', 'rows') : null;
  if (rows) chart.setHistory(rows.filter((x) => isNum(x.time) && isNum(x.equity)));
}

async function loadFills(): Promise<void> {
  const r = await load<{ fills: Fill[] }>(`/fills?limit=${MAX_FILLS}`);
  if (r?.ok && Array.isArray(r.data.fills)) {
    const byId = new Map(state.fills.map((f) => [f.id, f]));
    for (const f of r.data.fills) byId.set(f.id, f);
    state.fills = [...byId.values()].sort((a, b) => b.time - a.time).slice(0, MAX_FILLS);
    mark('fills');
  }
}

async function loadTrips(): Promise<void> {
  tripsTimer = 0;
  const r = await load<{ trades: RoundTrip[] }>('/trades?limit=50');
  if (r?.ok && Array.isArray(r.data.trades)) {
    state.trips = r.data.trades;
    mark('trips');
  }
}

async function loadMetrics(): Promise<void> {
  const r = await load<Record<string, unknown>>('/metrics');
  if (r?.ok) {
    state.metrics = r.data;
    mark('metrics');
  }
}

async function loadStrategies(): Promise<void> {
  const r = await load<Strategies>('/strategies');
  if (r?.ok) {
    state.strategies = r.data;
    mark('strategies');
  }
}

async function loadLatency(): Promise<void> {
  const r = await load<unknown>('/latency');
  if (r?.ok) {
    state.latency = r.data;
    mark('latency');
    return;
  }
  // older servers: the percentiles in /status
  const s = await load<Record<string, unknown>>('/status');
  const lat = obj(obj(s?.ok ? s.data['execution'] : null)?.['feedLatencyMs']);
  if (lat) {
    state.latency = lat;
    mark('latency');
  }
}

async function loadDepth(): Promise<void> {
  const key = state.selectedBook;
  if (!key) return;
  const { venue, symbol } = splitKey(key);
  const r = await load<Book>(`/book/${encodeURIComponent(symbol)}?venue=${encodeURIComponent(venue)}&depth=${ladder.levels}`);
  if (state.selectedBook !== key) return;
  if (r?.ok) {
    state.depth = r.data;
    state.depthNote = '';
  } else {
    state.depth = null;
    state.depthNote = r ? r.message : 'no depth endpoint';
  }
  mark('depth');
}

function every(msEvery: number, fn: () => Promise<void>): void {
  let busy = false;
  const run = async (): Promise<void> => {
    if (busy || !visible()) return;
    busy = true;
    try {
      await fn();
    } finally {
      busy = false;
    }
  };
  void run();
  window.setInterval(() => void run(), msEvery);
}

// ---------------------------------------------------------------- rendering

function renderAccount(): void {
  const a = state.account;
  if (!a) return;
  const initial = isNum(a.initialBalance) ? a.initialBalance : null;
  kpi('equity', a.equity, money(a.equity), `cash ${money(a.cash)}`);
  kpi('total-pnl', a.totalPnl, money(a.totalPnl, true), initial ? pct(a.totalPnl / initial, 2, true) : '', signClass(a.totalPnl));
  kpi('realized', a.realizedPnl, money(a.realizedPnl, true), 'gross of fees', signClass(a.realizedPnl));
  kpi('unrealized', a.unrealizedPnl, money(a.unrealizedPnl, true), 'at the marks', signClass(a.unrealizedPnl));
  kpi('fees', a.fees, money(a.fees), '');
  kpi('drawdown', a.drawdown, pct(a.drawdown), `max ${pct(a.maxDrawdown)} · peak ${money(a.highWaterMark)}`, isNum(a.drawdown) && a.drawdown < 0 ? 'neg' : '');
  kpi('exposure', a.grossExposure, money(a.grossExposure), 'gross');
  const fills = isNum(a.fills) ? a.fills : state.counters['fills'];
  kpi('fills', fills, int(fills), isNum(state.counters['orders']) ? `${int(state.counters['orders'])} orders` : '');
}

function renderOrders(): void {
  const list = [...state.orders.values()].sort((a, b) => b.createdAt - a.createdAt);
  ordersView.render(list);
  setText(ordersCount, String(list.length));
  ordersCount.dataset['value'] = String(list.length);
}

const LIMIT_LABELS: Record<string, [string, (x: number) => string]> = {
  maxPosition: ['Max position', (x) => qty(x)],
  maxOrderNotional: ['Max order notional', (x) => money(x)],
  maxTotalNotional: ['Max gross exposure', (x) => money(x)],
  maxDrawdown: ['Max drawdown', (x) => pct(x, 1)],
  priceBand: ['Price band', (x) => pct(x, 2)],
  bookStaleMs: ['Book stale after', (x) => ms(x)],
  lossStreak: ['Loss streak pause after', (x) => (x > 0 ? `${x} losses` : 'off')],
  lossStreakPauseMs: ['Loss streak pause', (x) => duration(x)],
  breakerCooldownMs: ['Breaker cooldown', (x) => (x > 0 ? duration(x) : 'manual reset')],
  warmupMs: ['Warm-up', (x) => (x > 0 ? duration(x) : 'off')],
  warmupPoints: ['Warm-up book updates', (x) => int(x)],
  maxFundingRate: ['Max funding rate', (x) => pct(x, 3)],
};
const limitRows = new Map<string, HTMLElement>();

function riskMode(r: RiskState | null): { key: string; text: string } {
  if (!r) return { key: 'unknown', text: DASH };
  if (r.halted) return { key: 'halted', text: `Halted${r.haltReason ? `: ${r.haltReason}` : ''}` };
  if (r.paused) return { key: 'paused', text: `Paused${r.pauseReason ? `: ${r.pauseReason}` : ''}` };
  const sp = r.schedule?.paused;
  if (sp) return { key: 'schedule', text: `Schedule pause: ${sp.reason ?? ''}` };
  const ls = typeof r.lossStreak === 'object' ? r.lossStreak : null;
  if (ls?.pausedUntil && ls.pausedUntil > (state.lastSnapshot || Date.now())) return { key: 'loss-streak', text: `Loss-streak pause until ${clock(ls.pausedUntil)}` };
  if (r.drawdownBreaker?.tripped) return { key: 'breaker', text: 'Drawdown breaker tripped: no new risk' };
  return { key: 'running', text: 'Running' };
}

function renderRisk(): void {
  const r = state.risk;
  const mode = riskMode(r);
  setText(riskEls.state, mode.text);
  riskEls.state.dataset['state'] = mode.key;
  setText(engineBadge, mode.key === 'running' ? 'running' : mode.key === 'unknown' ? '…' : mode.key.replace('-', ' '));
  engineBadge.dataset['state'] = mode.key;
  if (!r) return;
  const br = r.drawdownBreaker;
  setText(riskEls.breaker, br?.tripped ? `tripped${br.trippedAt ? ` at ${clock(br.trippedAt)}` : ''}` : `armed at ${pct(br?.maxDrawdown ?? r.limits?.['maxDrawdown'], 1)}`);
  setSign(riskEls.breaker, br?.tripped ? 'neg' : '');
  setText(riskEls.drawdown, `${pct(r.drawdown)} from ${money(r.highWaterMark)}`);
  const ls = typeof r.lossStreak === 'object' ? r.lossStreak : { current: r.lossStreak };
  setText(riskEls.streak, `${int(ls.current ?? 0)} / ${ls.limit ? int(ls.limit) : 'off'}`);
  const sh = r.schedule?.shabbat;
  setText(riskEls.shabbat, r.schedule === null ? 'off' : sh ? `${dateTime(sh.nextPause)} → ${dateTime(sh.nextResume)}` : DASH);
  if (sh?.rule) riskEls.shabbat.title = sh.rule;
  const denied = Object.values(r.denials ?? {}).reduce((a, b) => a + (isNum(b) ? b : 0), 0);
  const byCheck = Object.entries(r.denials ?? {})
    .filter(([, n]) => isNum(n) && n > 0)
    .map(([k, n]) => `${k} ${int(n)}`)
    .join(', ');
  setText(riskEls.counts, `${int(r.approved ?? 0)} approved · ${int(denied)} denied${byCheck ? ` (${byCheck})` : ''}`);

  // limits used
  const L = r.limits ?? {};
  const bars: Bar[] = [];
  const maxDd = isNum(br?.maxDrawdown) ? br.maxDrawdown : L['maxDrawdown'];
  if (isNum(maxDd) && maxDd > 0 && isNum(r.drawdown)) {
    const f = Math.abs(r.drawdown) / maxDd;
    bars.push({ key: 'dd', label: 'Drawdown', value: `${pct(Math.abs(r.drawdown))} / ${pct(maxDd, 1)}`, frac: f, level: levelOf(f) });
  }
  const maxPos = L['maxPosition'];
  if (isNum(maxPos) && maxPos > 0) {
    for (const p of state.positions) {
      if (p.qty === 0) continue;
      const f = Math.abs(p.qty) / maxPos;
      bars.push({ key: `pos:${p.venue}:${p.symbol}`, label: `Position ${p.symbol}`, value: `${qty(Math.abs(p.qty))} / ${qty(maxPos)}`, frac: f, level: levelOf(f) });
    }
  }
  const maxGross = L['maxTotalNotional'];
  const gross = state.account?.grossExposure;
  if (isNum(maxGross) && maxGross > 0 && isNum(gross)) {
    const f = gross / maxGross;
    bars.push({ key: 'gross', label: 'Gross exposure', value: `${money(gross)} / ${money(maxGross)}`, frac: f, level: levelOf(f) });
  }
  for (const w of r.rateLimiter ?? []) {
    if (!isNum(w.limit) || w.limit <= 0) continue;
    const f = w.used / w.limit;
    bars.push({ key: `rate:${w.label}`, label: `Orders per ${w.label}`, value: `${int(w.used)} / ${int(w.limit)}`, frac: f, level: levelOf(f) });
  }
  usage.render(bars);

  for (const [k, v] of Object.entries(L)) {
    const spec = LIMIT_LABELS[k];
    if (!spec) continue;
    let dd = limitRows.get(k);
    if (!dd) {
      const wrap = h('div');
      wrap.append(h('dt', '', spec[0]));
      dd = h('dd');
      wrap.append(dd);
      riskEls.limits.append(wrap);
      limitRows.set(k, dd);
    }
    setText(dd, isNum(v) ? spec[1](v) : 'off');
  }

  // recent denials, newest first
  const items = riskEls.denials.children;
  for (let i = 0; i < state.denials.length; i++) {
    const d = state.denials[i]!;
    let li = items[i] as HTMLElement | undefined;
    if (!li) riskEls.denials.append((li = h('li')));
    setText(li, `${clock(d.time)} ${d.symbol ?? ''} ${d.check}: ${d.reason}`);
  }
  while (items.length > state.denials.length) items[items.length - 1]!.remove();
}

function renderBooks(): void {
  const entries = Object.entries(state.books).sort(([a], [b]) => a.localeCompare(b));
  topsView.render(entries);
  if (!state.selectedBook || !state.books[state.selectedBook]) {
    const first = entries.find(([k]) => k.startsWith('spot:'))?.[0] ?? entries[0]?.[0] ?? '';
    if (first !== state.selectedBook) {
      state.selectedBook = first;
      state.depth = null;
      void loadDepth();
    }
  }
  // one tab per book
  const keys = entries.map(([k]) => k);
  const tabs = bookTabs.children;
  for (let i = 0; i < keys.length; i++) {
    let b = tabs[i] as HTMLButtonElement | undefined;
    if (!b) {
      b = h('button', 'tab');
      b.type = 'button';
      b.setAttribute('role', 'tab');
      bookTabs.append(b);
    }
    const k = keys[i]!;
    setText(b, k);
    b.dataset['book'] = k;
    b.setAttribute('aria-selected', String(k === state.selectedBook));
  }
  while (tabs.length > keys.length) tabs[tabs.length - 1]!.remove();
  const feeds = state.feeds.map((f) => `${f.venue} ${f.state}`).join(' · ');
  setText(feedsEl, feeds ? `feeds: ${feeds}` : '');
  feedsEl.classList.toggle('neg', state.feeds.some((f) => f.state !== 'up'));
  // symbols for "promote"
  const symbols = [...new Set(keys.map((k) => splitKey(k).symbol))].sort();
  const opts = promoteSymbols.options;
  if (opts.length !== symbols.length + 1 || symbols.some((s, i) => opts[i + 1]?.value !== s)) {
    const keep = promoteSymbols.value;
    while (opts.length > 1) opts[opts.length - 1]!.remove();
    for (const s of symbols) promoteSymbols.append(new Option(s, s));
    promoteSymbols.value = symbols.includes(keep) ? keep : '';
  }
}

function metricsView(): Record<string, unknown> | null {
  const m = state.metrics;
  if (!m) return null;
  return obj(m['overall']) ?? m;
}

/** The headline figures: `overall` where the server has it, else the top-level ones. */
function headline(m: Record<string, unknown> | null): Record<(typeof perfIds)[number], number | undefined> {
  const o = obj(m?.['overall']);
  const get = (...k: string[]): number | undefined => {
    const v = o ? (pick(o, ...k) ?? pick(obj(o['returns']), ...k)) : pick(m, ...k);
    return isNum(v) ? v : undefined;
  };
  return {
    sharpe: get('sharpe'),
    maxdd: get('maxDrawdown'),
    vol: get('annualVolatility', 'volatility'),
    winrate: get('winRate'),
    trades: get('trades', 'totalTrades'),
    pnl: get('netPnl', 'totalPnl'),
    pf: get('profitFactor'),
    sortino: get('sortino'),
  };
}

function renderMetrics(): void {
  const v = headline(state.metrics);
  const text: Record<(typeof perfIds)[number], string> = {
    sharpe: num(v.sharpe),
    maxdd: pct(v.maxdd),
    vol: pct(v.vol),
    winrate: pct(v.winrate, 1),
    trades: int(v.trades),
    pnl: money(v.pnl, true),
    pf: num(v.pf),
    sortino: num(v.sortino),
  };
  for (const id of perfIds) {
    setText(perf[id], text[id]);
    const raw = isNum(v[id]) ? String(v[id]) : '';
    if (perfRoots[id].dataset['value'] !== raw) perfRoots[id].dataset['value'] = raw;
    perfRoots[id].hidden = (id === 'pf' || id === 'sortino' || id === 'vol') && v[id] === undefined && !metricsView()?.['returns'];
  }
  setSign(perf.pnl, signClass(v.pnl));
  const rows: SliceRow[] = [];
  for (const kind of ['bySymbol', 'byStrategy'] as const) {
    const src = state.metrics?.[kind];
    if (Array.isArray(src)) {
      for (const s of src) {
        const o = obj(s);
        if (o) rows.push({ kind, name: String(pick(o, 'symbol', 'strategy', 'name') ?? '?'), s: o });
      }
    } else {
      for (const [name, s] of Object.entries(obj(src) ?? {})) {
        const o = obj(s);
        if (o) rows.push({ kind, name, s: o });
      }
    }
  }
  slicesView.render(rows);
}

function renderStrategies(): void {
  const s = state.strategies;
  strategiesView.render(s?.variants ?? []);
  const promoted = Object.entries(s?.promoted ?? {});
  setText(promotedEl, promoted.length ? `Promoted: ${promoted.map(([sym, v]) => `${sym} → ${v}`).join(', ')}` : 'Every symbol trades the configured strategy.');
}

interface LatencyVenue {
  venue: string;
  summary: Record<string, unknown>;
  buckets: { label: string; count: number }[];
}

/** GET /latency (`{venues: {spot: distribution, usdm: ...}}`), or the percentiles of /status (`{spot: {p50, ...}}`). */
function latencyVenues(body: unknown): LatencyVenue[] {
  const root = obj(body);
  const inner = root?.['venues'] ?? root?.['feeds'] ?? root?.['latency'] ?? body;
  const list: [string, Record<string, unknown>][] = [];
  if (Array.isArray(inner)) {
    for (const v of inner) {
      const o = obj(v);
      if (o) list.push([String(o['venue'] ?? o['name'] ?? list.length), o]);
    }
  } else {
    for (const [k, v] of Object.entries(obj(inner) ?? {})) {
      const o = obj(v);
      if (o) list.push([k, o]);
    }
  }
  return list.map(([venue, o]) => {
    const summary: Record<string, unknown> = { ...o };
    // GET /latency: percentiles[0..100] and buckets {le: [...], counts: [... one more for the overflow]}
    const ps = o['percentiles'];
    if (Array.isArray(ps) && ps.length >= 100) {
      summary['p50'] = ps[50];
      summary['p90'] = ps[90];
      summary['p99'] = ps[99];
    }
    if (summary['max'] === undefined) summary['max'] = o['maxMs'];
    const buckets: { label: string; count: number }[] = [];
    const bk = obj(o['buckets']);
    if (bk && Array.isArray(bk['le']) && Array.isArray(bk['counts'])) {
      const le = bk['le'] as number[];
      const counts = bk['counts'] as number[];
      // only the range that holds samples
      let first = counts.findIndex((c) => c > 0);
      let last = counts.length - 1 - [...counts].reverse().findIndex((c) => c > 0);
      if (first < 0) first = last = -1;
      for (let i = first; i >= 0 && i <= last; i++) {
        const upper = le[i];
        const label = upper === undefined ? `> ${ms(le.at(-1))}` : i === 0 ? `≤ ${ms(upper)}` : `${ms(le[i - 1])}–${ms(upper)}`;
        buckets.push({ label, count: counts[i] ?? 0 });
      }
      return { venue, summary, buckets };
    }
    const src = o['histogram'] ?? o['buckets'] ?? o['bins'];
    const arr = Array.isArray(src) ? src : [];
    let lower: number | null = null;
    for (const b of arr) {
      let upper: unknown;
      let count: unknown;
      if (Array.isArray(b)) [upper, count] = b;
      else {
        const x = obj(b);
        upper = pick(x, 'le', 'upTo', 'upperMs', 'upper', 'to', 'ms', 'max');
        count = pick(x, 'count', 'n', 'samples');
      }
      if (!isNum(count)) continue;
      const label = isNum(upper) ? (lower !== null ? `${ms(lower)}–${ms(upper)}` : `≤ ${ms(upper)}`) : `> ${ms(lower)}`;
      buckets.push({ label, count });
      lower = isNum(upper) ? upper : lower;
    }
    return { venue, summary, buckets };
  });
}

/** The ML gate's inference time per decision (GET /latency `.ml`). */
function renderMlLatency(): void {
  const ml = obj(obj(state.latency)?.['ml']);
  const inf = obj(ml?.['inference']);
  if (!ml || !inf) {
    setText(mlLatencyEl, 'ML gate: off (no model configured).');
    return;
  }
  const us = (v: unknown): string => (isNum(v) ? `${v.toFixed(1)} µs` : '—');
  setText(mlLatencyEl, `ML gate ${String(ml['model'])}: inference p50 ${us(inf['p50Us'])} · p99 ${us(inf['p99Us'])} · max ${us(inf['maxUs'])} (${int(inf['count'])} decisions)`);
}

function renderLatency(): void {
  renderMlLatency();
  const venues = latencyVenues(state.latency);
  const seen = new Set<string>();
  for (const v of venues) {
    seen.add(v.venue);
    let block = latencyBlocks.get(v.venue);
    if (!block) {
      const wrap = h('div', 'latency-venue');
      wrap.dataset['venue'] = v.venue;
      const head = h('p', 'latency-head');
      const bars = h('div');
      wrap.append(head, bars);
      latencyEl.append(wrap);
      block = { head, bars: new BarList(bars, 'No samples yet.') };
      latencyBlocks.set(v.venue, block);
    }
    const s = v.summary;
    const n = pick(s, 'count', 'samples');
    setText(block.head, `${v.venue}: p50 ${ms(s['p50'])} · p90 ${ms(s['p90'])} · p99 ${ms(s['p99'])} · max ${ms(s['max'])} (${int(n)} samples)`);
    let bars: Bar[];
    if (v.buckets.length > 0) {
      const max = Math.max(...v.buckets.map((b) => b.count)) || 1;
      const total = v.buckets.reduce((a, b) => a + b.count, 0) || 1;
      bars = v.buckets.map((b, i) => ({ key: `b${i}`, label: b.label, value: pct(b.count / total, 1), frac: b.count / max }));
    } else {
      const ps = (['p50', 'p90', 'p99', 'max'] as const).filter((k) => isNum(s[k]));
      const max = Math.max(...ps.map((k) => s[k] as number)) || 1;
      bars = ps.map((k) => ({ key: k, label: k, value: ms(s[k]), frac: (s[k] as number) / max }));
    }
    block.bars.render(bars);
  }
  for (const [k, b] of latencyBlocks) {
    if (!seen.has(k)) {
      b.head.parentElement?.remove();
      latencyBlocks.delete(k);
    }
  }
}

function renderConn(): void {
  const c = state.conn;
  const text = c === 'live' ? 'live' : c === 'polling' ? 'polling' : c === 'down' ? 'disconnected' : 'connecting';
  setText(connBadge, text);
  connBadge.dataset['state'] = c;
  setText(updatedEl, state.lastSnapshot ? `updated ${clock(state.lastSnapshot)}` : '');
}

function render(): void {
  if (chart.flush()) chartEl.classList.add('has-data');
  if (dirty.size === 0) return;
  const d = new Set(dirty);
  dirty.clear();
  if (d.has('account')) renderAccount();
  if (d.has('positions')) positionsView.render(state.positions);
  if (d.has('orders')) renderOrders();
  if (d.has('risk') || d.has('account')) renderRisk();
  if (d.has('books')) renderBooks();
  if (d.has('depth')) ladder.render(state.depth, state.depthNote);
  if (d.has('fills')) fillsView.render(state.fills);
  if (d.has('trips')) tripsView.render(state.trips);
  if (d.has('metrics')) renderMetrics();
  if (d.has('strategies')) renderStrategies();
  if (d.has('latency')) renderLatency();
  if (d.has('conn')) renderConn();
  if (d.has('controls')) renderControls();
}

let frame = 0;
function schedule(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    render();
  });
}

// ---------------------------------------------------------------- controls

const tokenForm = byId<HTMLFormElement>('token-form');
const tokenInput = byId<HTMLInputElement>('token-input');
const controlsEl = byId('controls');
const reasonInput = byId<HTMLInputElement>('control-reason');
const messageEl = byId('control-message');
const readonlyNote = byId('readonly-note');

function renderControls(): void {
  const has = tokenStore.get() !== null;
  document.body.classList.toggle('has-token', has);
  tokenForm.hidden = has;
  controlsEl.hidden = !has;
  readonlyNote.hidden = has;
}

function say(text: string, kind: 'ok' | 'error' | 'info'): void {
  setText(messageEl, text);
  messageEl.dataset['kind'] = kind;
}

const ACTIONS: Record<string, { label: string; path: string; body: (reason: string | undefined) => unknown }> = {
  pause: { label: 'Pause', path: '/pause', body: (reason) => ({ reason }) },
  resume: { label: 'Resume', path: '/resume', body: () => undefined },
  'reset-breaker': { label: 'Breaker reset', path: '/risk/reset-breaker', body: () => undefined },
  kill: { label: 'Kill switch', path: '/kill', body: (reason) => ({ flatten: false, reason }) },
  'kill-flatten': { label: 'Kill switch with flattening', path: '/kill', body: (reason) => ({ flatten: true, reason }) },
};

let busy = false;
async function send(label: string, path: string, body: unknown): Promise<void> {
  const token = tokenStore.get();
  if (!token || busy) return;
  busy = true;
  document.body.classList.add('busy');
  say(`${label}: sending…`, 'info');
  try {
    const r = await postControl<Record<string, unknown>>(path, body, token);
    if (r.ok) {
      applyControlState(obj(r.data['state']));
      if (obj(r.data['promoted'])) {
        state.strategies = { ...(state.strategies ?? {}), promoted: r.data['promoted'] as Record<string, string> };
        mark('strategies');
        void loadStrategies();
      }
      const extra = [isNum(r.data['canceled']) ? `${r.data['canceled']} orders canceled` : '', isNum(r.data['flattening']) ? `${r.data['flattening']} flattening orders` : ''].filter(Boolean).join(', ');
      say(`${label}: done at ${clock(r.data['at'])}${extra ? ` (${extra})` : ''}`, 'ok');
    } else {
      // the server's own words (401 wrong token, 403 no token configured, 400/404 bad input)
      say(`${label} failed: ${r.status ? `${r.status} ` : ''}${r.message}`, 'error');
    }
  } finally {
    busy = false;
    document.body.classList.remove('busy');
  }
}

const armed = new Map<string, number>();
controlsEl.addEventListener('click', (e) => {
  const b = (e.target as Element).closest<HTMLButtonElement>('button[data-action]');
  if (!b) return;
  const action = b.dataset['action'] ?? '';
  const spec = ACTIONS[action];
  if (!spec) return;
  if (action.startsWith('kill')) {
    // two steps: the first click arms the button for 5 s
    if (!armed.has(action)) {
      b.classList.add('armed');
      const original = b.textContent ?? '';
      b.textContent = 'Confirm?';
      armed.set(
        action,
        window.setTimeout(() => {
          armed.delete(action);
          b.classList.remove('armed');
          b.textContent = original;
        }, 5000),
      );
      return;
    }
    window.clearTimeout(armed.get(action));
    armed.delete(action);
    b.classList.remove('armed');
    b.textContent = action === 'kill' ? 'Kill' : 'Kill + flatten';
  }
  const reason = reasonInput.value.trim() || undefined;
  void send(spec.label, spec.path, spec.body(reason));
});

tokenForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const t = tokenInput.value.trim();
  if (!t) {
    say('Enter the API token (API_TOKEN of the server).', 'error');
    return;
  }
  tokenStore.set(t);
  tokenInput.value = '';
  say('Controls unlocked for this tab. The server checks the token on every command.', 'info');
  // shown or hidden at once, not on the next frame: locking must take effect before anything else is clicked
  renderControls();
});

byId('token-lock').addEventListener('click', () => {
  tokenStore.clear();
  say('Token forgotten: read-only.', 'info');
  renderControls();
});

byId('strategies').addEventListener('click', (e) => {
  const b = (e.target as Element).closest<HTMLButtonElement>('button[data-variant]');
  if (!b) return;
  const variant = b.dataset['variant'] ?? '';
  const sym = promoteSymbols.value;
  void send(variant === 'configured' ? 'Back to configured' : `Promote ${variant}`, '/strategies/promote', sym ? { variant, symbols: [sym] } : { variant });
});

// ---------------------------------------------------------------- tabs

byId('equity-fit').addEventListener('click', () => chart.fit());

bookTabs.addEventListener('click', (e) => {
  const b = (e.target as Element).closest<HTMLButtonElement>('button[data-book]');
  if (!b?.dataset['book'] || b.dataset['book'] === state.selectedBook) return;
  state.selectedBook = b.dataset['book'];
  state.depth = null;
  state.depthNote = 'loading…';
  mark('books', 'depth');
  void loadDepth();
});

const tradeTabs = byId('trade-tabs');
tradeTabs.addEventListener('click', (e) => {
  const b = (e.target as Element).closest<HTMLButtonElement>('button[data-tab]');
  if (!b) return;
  for (const t of tradeTabs.querySelectorAll<HTMLButtonElement>('button[data-tab]')) {
    const on = t === b;
    t.setAttribute('aria-selected', String(on));
    byId(t.dataset['tab'] ?? '').hidden = !on;
  }
});

// ---------------------------------------------------------------- start

mark('controls', 'conn');
connect();
void loadEquity();
void loadFills();
void loadTrips();
every(5000, loadMetrics);
every(10_000, loadStrategies);
every(5000, loadLatency);
every(1000, loadDepth);
window.setInterval(schedule, 250);
document.addEventListener('visibilitychange', () => {
  if (visible()) {
    mark('account', 'positions', 'orders', 'risk', 'books', 'fills', 'trips', 'metrics', 'strategies', 'latency', 'conn');
    schedule();
  }
});
