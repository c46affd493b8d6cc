import type { QueueModel, QueuePos } from './models.js';

/**
 * Queue-position models for resting orders on market-by-price (L2) data.
 *
 * The displayed quantity at a level tells us how much rests there, not in what order, so the model
 * keeps an estimate `ahead` of the lots in front of our order. Trades at the price always consume the
 * front of the queue; a depth decrease (cancellations, or trades the feed reports as a depth change)
 * may come from in front of us or from behind us, and that is where the models differ.
 *
 * All methods mutate the caller's `QueuePos` and allocate nothing.
 */

/**
 * Conservative: only trades move the order forward. A depth decrease is assumed to come from behind
 * the order unless the level shrinks below what is ahead (then everything left is ahead of us).
 *
 * - onNew:   ahead = levelQty
 * - onTrade: ahead -= qty
 * - onDepth: ahead = min(ahead, next)
 */
/** What every model shares: an order joins at the back; trades at its price consume the front. */
abstract class QueueBase implements QueueModel {
  abstract readonly name: string;

  onNew(q: QueuePos, levelQty: number): void {
    q.ahead = levelQty;
    q.tradedSinceDepth = 0;
  }

  onTrade(q: QueuePos, qty: number): void {
    q.ahead -= qty;
    q.tradedSinceDepth += qty;
  }

  abstract onDepth(q: QueuePos, prev: number, next: number): void;
}

export class RiskAverseQueueModel extends QueueBase {
  readonly name = 'risk-averse';

  onDepth(q: QueuePos, _prev: number, next: number): void {
    if (next < q.ahead) q.ahead = next;
    q.tradedSinceDepth = 0;
  }
}

/**
 * Probability that a depth decrease came from behind the order, given the lots in `front` of it and
 * `back` of it (both >= 0). May return a non-finite value (0/0); the model then uses 1.
 */
export type QueueProbability = (front: number, back: number) => number;

/**
 * `f(x) = x^n`, `p = f(back) / (f(back) + f(front))`.
 * Computed in the algebraically equal form `1 / (1 + (front/back)^n)`, which cannot overflow for
 * large lot counts or large n (0/0 still gives NaN, and back = 0 < front still gives 0).
 */
export function powerProbability(n: number): QueueProbability {
  return (front, back) => 1 / (1 + Math.pow(front / back, n));
}

/** `f(x) = ln(1 + x)`, `p = f(back) / (f(back) + f(front))`. */
export function logProbability(): QueueProbability {
  return (front, back) => {
    const fb = Math.log1p(back);
    return fb / (fb + Math.log1p(front));
  };
}

/**
 * `f(x) = x^n`, `p = f(back) / f(back + front)`, computed as `(back / (back + front))^n`
 * (algebraically equal, overflow-free).
 */
export function power2Probability(n: number): QueueProbability {
  return (front, back) => Math.pow(back / (back + front), n);
}

/** `f(x) = ln(1 + x)`, `p = f(back) / f(back + front)`. */
export function log2Probability(): QueueProbability {
  return (front, back) => Math.log1p(back) / Math.log1p(back + front);
}

/**
 * Probabilistic queue position (the estimator described by Rigtorp and in the quant.stackexchange
 * answer "how do we estimate position of our order in order book", as implemented by hftbacktest's
 * ProbQueueModel).
 *
 * - onNew:   ahead = levelQty, tradedSinceDepth = 0
 * - onTrade: ahead -= qty, tradedSinceDepth += qty
 * - onDepth(prev, next):
 *     chg = (prev - next) - tradedSinceDepth;  tradedSinceDepth = 0
 *       (trades at this price already moved `ahead` and already show in `next`: not counted twice)
 *     if chg < 0 (an increase):  ahead = min(ahead, next)  (new lots join behind us)
 *     else:
 *       front = ahead,  back = prev - front
 *       p = prob(max(front, 0), max(back, 0));  p = 1 if not finite;  p clamped to [0, 1]
 *       est = front - (1 - p)·chg + min(back - p·chg, 0)
 *         (a share p of the decrease is taken from behind us, 1 - p from in front of us; whatever the
 *          behind share cannot absorb, because fewer than p·chg lots are behind, also comes from the front)
 *       ahead = min(max(est, min(ahead, 0)), next)
 *
 * Differences from hftbacktest, all outside its normal domain:
 * - the probability function sees front/back clamped at 0 (after a trade `ahead` may be negative,
 *   i.e. lots already executable; then p = 1 and the decrease is put entirely behind us), and p is
 *   clamped to [0, 1], so a decrease can never move the order backwards;
 * - the lower clamp: hftbacktest only applies `min(est, next)`, so a pure cancellation burst (for
 *   example the whole level cancelled with a steep f) can push `est` below zero and report a fill
 *   without any trade. Here a depth change never makes lots executable: ahead stays >= 0, or stays
 *   where a trade left it if that was already negative.
 */
export class ProbQueueModel extends QueueBase {
  /**
   * @param unit base units per lot: the probability function sees quantities in base units (BTC), so
   *   unit-dependent forms (ln(1 + x)) behave the same whatever the instrument's lot size.
   */
  constructor(
    readonly name: string,
    private readonly prob: QueueProbability,
    private readonly unit = 1,
  ) {
    super();
  }

  forLotSize(lotSize: number): QueueModel {
    return new ProbQueueModel(this.name, this.prob, lotSize);
  }

  onDepth(q: QueuePos, prev: number, next: number): void {
    const chg = prev - next - q.tradedSinceDepth;
    q.tradedSinceDepth = 0;
    const front = q.ahead;
    if (chg < 0) {
      if (next < front) q.ahead = next;
      return;
    }
    const back = prev - front;
    const u = this.unit;
    let p = this.prob(front > 0 ? front * u : 0, back > 0 ? back * u : 0);
    if (!Number.isFinite(p)) p = 1;
    else if (p < 0) p = 0;
    else if (p > 1) p = 1;
    const overflow = back - p * chg;
    let est = front - (1 - p) * chg + (overflow < 0 ? overflow : 0);
    const floor = front < 0 ? front : 0;
    if (est < floor) est = floor;
    q.ahead = est < next ? est : next;
  }
}

/** The accepted `QueueModel` specs (N: a positive number, e.g. 2, 3 or 0.5). */
export const QUEUE_MODEL_FORMS: readonly string[] = [
  'risk-averse',
  'prob-power:N',
  'prob-log',
  'prob-power2:N',
  'prob-log2',
];

const POWER_RE = /^(prob-power2?):(\d+(?:\.\d+)?|\.\d+)$/;
/** largest exponent accepted for the power forms */
const MAX_POWER = 100;

/**
 * Builds a queue model from its configuration name: 'risk-averse', 'prob-power:N', 'prob-log',
 * 'prob-power2:N' or 'prob-log2' (N a positive number <= 100). Throws an Error naming the valid forms.
 */
export function parseQueueModel(spec: string): QueueModel {
  const s = spec.trim();
  if (s === 'risk-averse') return new RiskAverseQueueModel();
  if (s === 'prob-log') return new ProbQueueModel(s, logProbability());
  if (s === 'prob-log2') return new ProbQueueModel(s, log2Probability());
  const m = POWER_RE.exec(s);
  if (m) {
    const n = Number(m[2]);
    if (n > 0 && n <= MAX_POWER) {
      const name = `${m[1]}:${m[2]}`;
      return new ProbQueueModel(name, m[1] === 'prob-power' ? powerProbability(n) : power2Probability(n));
    }
    throw new Error(`invalid queue model "${spec}": the exponent N must be > 0 and <= ${MAX_POWER}`);
  }
  throw new Error(
    `invalid queue model "${spec}": expected one of ${QUEUE_MODEL_FORMS.join(', ')} (N a positive number, e.g. prob-power:2)`,
  );
}
