import type { Logger } from '../core/logger.js';
import { Portfolio } from '../portfolio/portfolio.js';
import type { RiskControlState } from '../risk/gateway.js';
import type { Store } from '../store/db.js';
import type { EngineCheckpoint, RestoreState, RestoredOrder } from './engine.js';

export interface Continuation {
  sessionId: string;
  initialCash: number;
  restore: RestoreState;
  /** what was found, for the log */
  summary: { fills: number; openOrders: number; checkpointAt: number | null; skippedCheckpoints: string[] };
}

/**
 * Everything a restart needs to continue the latest session of a database, from the database alone:
 * the portfolio rebuilt from every committed fill (so nothing is lost or counted twice, whatever moment
 * the last process died at), the working orders with their fills, the controls, and the newest intact
 * checkpoint for strategy, indicator and queue state (a damaged one is skipped, an older one used; with
 * none, those start afresh). Returns null when there is no session to continue.
 */
export function loadContinuation(store: Store, logger: Logger): Continuation | null {
  const session = store.latestSession();
  if (!session) return null;
  const sessionId = session.id;
  const portfolio = new Portfolio(session.initialCash);
  const fills = store.allFills(sessionId);
  const byOrder = new Map<string, { price: number; qty: number }[]>();
  for (const f of fills) {
    portfolio.applyFill({ ...f });
    let l = byOrder.get(f.orderId);
    if (!l) byOrder.set(f.orderId, (l = []));
    l.push({ price: f.price, qty: f.qty });
  }
  const orders: RestoredOrder[] = store.openOrders(sessionId).map((order) => ({ order, fills: byOrder.get(order.id) ?? [] }));
  const { checkpoint, skipped } = store.latestCheckpoint<EngineCheckpoint>(sessionId);
  for (const s of skipped) logger.warn({ sessionId, problem: s }, 'damaged checkpoint skipped; using an older one');
  const state = portfolio.toState();
  return {
    sessionId,
    initialCash: session.initialCash,
    restore: {
      // closed round trips live in the database; the portfolio only needs what is open
      portfolio: { ...state, closed: [] },
      orders,
      orderSeq: store.maxOrderSeq(sessionId),
      controls: store.getControl<RiskControlState>('risk') ?? null,
      checkpoint: checkpoint?.state.version === 1 ? checkpoint.state : null,
    },
    summary: { fills: fills.length, openOrders: orders.length, checkpointAt: checkpoint?.time ?? null, skippedCheckpoints: skipped },
  };
}
