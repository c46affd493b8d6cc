import { compareStrategies } from '../portfolio/psr.js';
import type { Engine } from './engine.js';

const MINUTE = 60_000;

/**
 * Equity sampled at the end of each minute on one grid for every engine, from the latest first point to
 * the earliest last point of their curves (the last value seen carries forward), as simple returns.
 */
export function alignedMinuteReturns(curves: readonly { time: number; equity: number }[][]): number[][] {
  if (curves.length === 0 || curves.some((c) => c.length === 0)) return curves.map(() => []);
  const from = Math.max(...curves.map((c) => Math.floor(c[0]!.time / MINUTE)));
  const to = Math.min(...curves.map((c) => Math.floor(c[c.length - 1]!.time / MINUTE)));
  return curves.map((c) => {
    const out: number[] = [];
    let i = 0;
    let value = c[0]!.equity;
    let prev = NaN;
    for (let m = from; m <= to; m++) {
      while (i < c.length && Math.floor(c[i]!.time / MINUTE) <= m) value = c[i++]!.equity;
      if (prev === prev) out.push(value / prev - 1);
      prev = value;
    }
    return out;
  });
}

export interface VariantRow {
  name: string;
  role: 'trading' | 'shadow';
  sessionId: string;
  strategy: string;
  orders: number;
  fills: number;
  trades: number;
  winRate: number | null;
  pnl: number;
  fees: number;
  sharpe: number | null;
  maxDrawdown: number | null;
  /** minutes of aligned equity the statistics below use */
  minutes: number;
  /** Probabilistic Sharpe Ratio of this variant against the trading one's Sharpe ratio */
  psrVsTrading: number | null;
  /** Deflated Sharpe Ratio over every variant tried */
  dsr: number | null;
}

/** The trading strategy and its shadows side by side, with PSR against the trading one and DSR over all. */
export function compareVariants(trading: Engine, shadows: readonly { name: string; engine: Engine }[]): VariantRow[] {
  const all = [{ name: 'trading', engine: trading }, ...shadows];
  const curves = all.map(({ engine }) => engine.opts().store.equityCurve(engine.sessionId, {}).map((p) => ({ time: p.time, equity: p.equity })));
  const returns = alignedMinuteReturns(curves);
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return all.map(({ name, engine }, i) => {
    const m = engine.metrics();
    const a = engine.account();
    let psr: number | null = null;
    let dsr: number | null = null;
    if (returns[i]!.length >= 2 && all.length > 0) {
      const c = compareStrategies(returns[i]!, returns[0]!, returns);
      psr = i === 0 ? null : finite(c.psrVsReference);
      dsr = finite(c.dsr);
    }
    return {
      name,
      role: i === 0 ? 'trading' : 'shadow',
      sessionId: engine.sessionId,
      strategy: engine.strategy.id,
      orders: engine.counters.orders,
      fills: engine.counters.fills,
      trades: m.totalTrades,
      winRate: m.winRate,
      pnl: a.totalPnl,
      fees: a.fees,
      sharpe: m.sharpe,
      maxDrawdown: m.maxDrawdown,
      minutes: returns[i]!.length,
      psrVsTrading: psr,
      dsr,
    };
  });
}
