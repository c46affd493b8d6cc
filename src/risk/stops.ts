import type { EpochMs } from '../core/types.js';
import { Atr, TradeBars } from '../features/atr.js';

export interface StopConfig {
  /** stop loss at this many ATRs from the average entry; 0 = off */
  stopAtr: number;
  /** take profit at this many ATRs from the average entry; 0 = off */
  takeProfitAtr: number;
  barMs: number;
  period: number;
}

export interface StopTrigger {
  kind: 'stop_loss' | 'take_profit';
  /** the price level that was crossed */
  level: number;
  atr: number;
}

/**
 * Protective exits of one instrument: ATR over time bars built from its trades (Wilder), and the stop-loss
 * and take-profit levels around a position's average entry. A synchronous state machine: trades and
 * prices in, a trigger out; the engine turns a trigger into a closing market order (purpose 'stop').
 */
export class StopTracker {
  private readonly bars: TradeBars;
  private readonly atr: Atr;

  constructor(private readonly cfg: StopConfig) {
    this.bars = new TradeBars(cfg.barMs);
    this.atr = new Atr(cfg.period);
  }

  get value(): number {
    return this.atr.value;
  }

  saveState(): unknown {
    return { bars: this.bars.saveState(), atr: this.atr.saveState() };
  }
  loadState(s: unknown): void {
    const v = s as { bars?: ReturnType<TradeBars['saveState']>; atr?: ReturnType<Atr['saveState']> } | null;
    if (v?.bars && v.atr) {
      this.bars.loadState(v.bars);
      this.atr.loadState(v.atr);
    }
  }

  onTrade(price: number, qty: number, time: EpochMs): void {
    const bar = this.bars.onTrade(price, qty, time);
    if (bar) this.atr.update(bar.high, bar.low, bar.close);
  }

  /** Whether a position (signed qty) entered at `entry` should be closed at `price`; null before the ATR is known. */
  check(qty: number, entry: number, price: number): StopTrigger | null {
    const atr = this.atr.value;
    if (qty === 0 || !(atr > 0) || !Number.isFinite(price)) return null;
    const dir = qty > 0 ? 1 : -1;
    if (this.cfg.stopAtr > 0) {
      const level = entry - dir * this.cfg.stopAtr * atr;
      if (dir * (price - level) <= 0) return { kind: 'stop_loss', level, atr };
    }
    if (this.cfg.takeProfitAtr > 0) {
      const level = entry + dir * this.cfg.takeProfitAtr * atr;
      if (dir * (price - level) >= 0) return { kind: 'take_profit', level, atr };
    }
    return null;
  }
}
