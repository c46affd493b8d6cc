// What the dashboard reads from the API. Everything is optional where the contract may still grow or
// shrink: the page shows what is there and a dash for the rest.

export interface Account {
  time?: number;
  equity: number;
  cash: number;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  totalPnl: number;
  highWaterMark: number;
  drawdown: number;
  maxDrawdown?: number;
  grossExposure?: number;
  initialBalance?: number;
  fills?: number;
  quoteCurrency?: string;
}

export interface Position {
  venue: string;
  symbol: string;
  qty: number;
  side?: string;
  avgEntryPrice: number | null;
  markPrice: number | null;
  notional?: number | null;
  unrealizedPnl: number;
  realizedPnl: number;
  fees?: number;
}

export interface Order {
  id: string;
  venue: string;
  symbol: string;
  side: string;
  type: string;
  timeInForce?: string;
  postOnly?: boolean;
  qty: number;
  price: number | null;
  strategy: string;
  reason?: string;
  status: string;
  filledQty: number;
  avgPrice: number;
  createdAt: number;
  updatedAt: number;
}

export interface Fill {
  id: string;
  orderId: string;
  venue: string;
  symbol: string;
  side: string;
  price: number;
  qty: number;
  fee: number;
  liquidity: string;
  strategy: string;
  time: number;
  receivedAt?: number;
  realizedPnl: number;
}

export interface RoundTrip {
  id: string;
  venue: string;
  symbol: string;
  strategy: string;
  direction: string;
  status: string;
  qty: number;
  entryPrice: number;
  exitPrice: number | null;
  openedAt: number;
  closedAt: number | null;
  realizedPnl: number;
  fees: number;
  netPnl: number;
  fills: number;
}

export interface BookTop {
  venue?: string;
  symbol?: string;
  state?: string;
  bid?: number | null;
  bidQty?: number | null;
  ask?: number | null;
  askQty?: number | null;
  mid?: number | null;
  spread?: number | null;
  time?: number | null;
}

export interface RateWindow {
  label: string;
  used: number;
  limit: number;
}

export interface RiskState {
  halted?: boolean;
  haltReason?: string | null;
  paused?: boolean;
  pauseReason?: string | null;
  lossStreak?: { current?: number; limit?: number; pausedUntil?: number | null } | number;
  lossPauseUntil?: number | null;
  schedule?: {
    paused?: { reason?: string; until?: string } | null;
    shabbat?: { rule?: string; nextPause?: string; nextResume?: string; fallback?: string };
  } | null;
  drawdownBreaker?: { tripped?: boolean; trippedAt?: number | null; maxDrawdown?: number };
  breakerTripped?: boolean;
  highWaterMark?: number;
  drawdown?: number;
  limits?: Record<string, number | null | undefined>;
  rateLimiter?: RateWindow[];
  approved?: number;
  denials?: Record<string, number>;
}

export interface Feed {
  venue: string;
  state: string;
  [k: string]: unknown;
}

export interface Snapshot {
  time: number;
  account?: Account;
  positions?: Position[];
  openOrders?: Order[];
  risk?: RiskState;
  books?: Record<string, BookTop>;
  feeds?: Feed[] | Record<string, Feed>;
  counters?: Record<string, number>;
}

export interface EquityRow {
  time: number;
  equity: number;
  highWaterMark?: number;
  drawdown?: number;
}

export interface Denial {
  time: number;
  venue?: string;
  symbol?: string;
  strategy?: string;
  check: string;
  reason: string;
}

export interface Variant {
  name: string;
  role?: string;
  sessionId?: string;
  strategy?: string;
  orders?: number;
  fills?: number;
  trades?: number;
  winRate?: number | null;
  pnl?: number;
  fees?: number;
  sharpe?: number | null;
  maxDrawdown?: number | null;
  minutes?: number;
  psrVsTrading?: number | null;
  dsr?: number | null;
}

export interface Strategies {
  variants?: Variant[];
  promoted?: Record<string, string>;
  changes?: { time?: number; variant?: string; symbols?: string[]; [k: string]: unknown }[];
}

export interface Book {
  symbol: string;
  venue?: string;
  state?: string;
  bids: [number, number][];
  asks: [number, number][];
}
