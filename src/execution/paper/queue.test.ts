import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QueueModel, QueuePos } from './models.js';
import {
  log2Probability,
  logProbability,
  parseQueueModel,
  power2Probability,
  powerProbability,
  ProbQueueModel,
  QUEUE_MODEL_FORMS,
  RiskAverseQueueModel,
} from './queue.js';

const pos = (ahead = 0, tradedSinceDepth = 0): QueuePos => ({ ahead, tradedSinceDepth });

/** a fresh order at a level of `level` lots */
function joined(model: QueueModel, level: number): QueuePos {
  const q = pos(-99, 42); // garbage: onNew must overwrite both fields
  model.onNew(q, level);
  return q;
}

describe('RiskAverseQueueModel', () => {
  const m = new RiskAverseQueueModel();

  it('joins behind everything displayed', () => {
    expect(joined(m, 10)).toEqual({ ahead: 10, tradedSinceDepth: 0 });
    expect(m.name).toBe('risk-averse');
  });

  it('advances by the traded quantity and goes negative when trades reach past it', () => {
    const q = joined(m, 10);
    m.onTrade(q, 3);
    expect(q.ahead).toBe(7);
    m.onTrade(q, 4);
    expect(q.ahead).toBe(3);
    m.onTrade(q, 5);
    expect(q.ahead).toBe(-2); // 2 lots executable
  });

  it.each([
    // ahead, prev, next, expected ahead
    [5, 10, 8, 5], // decrease of 2: assumed behind us
    [5, 10, 5, 5], // down to exactly what is ahead
    [10, 10, 6, 6], // level shrinks below what is ahead: everything left is ahead
    [4, 10, 0, 0], // level wiped
    [4, 10, 25, 4], // increases join behind
    [-2, 5, 3, -2], // executable lots are not taken back by a depth change
  ])('ahead %d, depth %d -> %d gives ahead %d', (ahead, prev, next, want) => {
    const q = pos(ahead, 1);
    m.onDepth(q, prev, next);
    expect(q.ahead).toBe(want);
    expect(q.tradedSinceDepth).toBe(0);
  });
});

describe('queue probability functions', () => {
  it.each([
    // name, p, front, back, expected (worked by hand)
    ['x^1', powerProbability(1), 4, 6, 0.6], // 6 / (6 + 4)
    ['x^2', powerProbability(2), 4, 6, 36 / 52], // 36 / (36 + 16) = 0.692308
    ['x^3', powerProbability(3), 4, 6, 216 / 280], // 216 / (216 + 64) = 0.771429
    ['x^3', powerProbability(3), 2, 8, 512 / 520], // 0.984615
    ['x^2 at the front', powerProbability(2), 0, 5, 1], // nothing ahead: every decrease is behind
    ['x^2 at the back', powerProbability(2), 5, 0, 0], // nothing behind: every decrease is ahead
    ['x^2 on a huge level', powerProbability(50), 1e9, 3e9, 1 / (1 + 3 ** -50)], // no overflow to NaN
    ['ln(1+x)', logProbability(), 4, 6, 0.547319], // ln 7 / (ln 7 + ln 5) = 1.945910 / 3.555348
    ['x^2 (2)', power2Probability(2), 4, 6, 0.36], // 6^2 / 10^2
    ['x^3 (2)', power2Probability(3), 4, 6, 0.216], // 6^3 / 10^3
    ['ln(1+x) (2)', log2Probability(), 4, 6, 0.811508], // ln 7 / ln 11 = 1.945910 / 2.397895
  ])('%s: p(front %d, back %d) = %d', (_n, p, front, back, want) => {
    expect(p(front, back)).toBeCloseTo(want, 6);
  });

  it.each([
    ['x^2', powerProbability(2)],
    ['ln(1+x)', logProbability()],
    ['x^2 (2)', power2Probability(2)],
    ['ln(1+x) (2)', log2Probability()],
  ])('%s is 0/0 on an empty level (the model then uses 1)', (_n, p) => {
    expect(Number.isNaN(p(0, 0))).toBe(true);
  });
});

describe('ProbQueueModel', () => {
  const power1 = new ProbQueueModel('prob-power:1', powerProbability(1));
  const power2 = new ProbQueueModel('prob-power:2', powerProbability(2));
  const power3 = new ProbQueueModel('prob-power:3', powerProbability(3));

  it('joins behind everything displayed and advances by trades', () => {
    const q = joined(power2, 10);
    expect(q).toEqual({ ahead: 10, tradedSinceDepth: 0 });
    power2.onTrade(q, 3);
    expect(q).toEqual({ ahead: 7, tradedSinceDepth: 3 });
    power2.onTrade(q, 9);
    expect(q).toEqual({ ahead: -2, tradedSinceDepth: 12 });
  });

  // 4 lots ahead, 6 behind, the level drops 10 -> 8 with no trade: chg = 2
  // est = front - (1 - p) * chg   (back - p * chg >= 0 here)
  it.each([
    ['prob-power:1', 3.2], // p = 0.6:            4 - 0.4 * 2
    ['prob-power:2', 3.384615], // p = 36/52:     4 - (16/52) * 2
    ['prob-power:3', 3.542857], // p = 216/280:   4 - (64/280) * 2
    ['prob-log', 3.094638], // p = 0.547319:      4 - 0.452681 * 2
    ['prob-power2:2', 2.72], // p = 0.36:         4 - 0.64 * 2
    ['prob-power2:3', 2.432], // p = 0.216:       4 - 0.784 * 2
    ['prob-log2', 3.623015], // p = 0.8115076:   4 - 0.1884924 * 2
  ])('%s splits a cancellation between ahead and behind (4 ahead of 10, -2 lots -> %d ahead)', (spec, want) => {
    const m = parseQueueModel(spec);
    const q = pos(4);
    m.onDepth(q, 10, 8);
    expect(q.ahead).toBeCloseTo(want, 6);
    expect(q.tradedSinceDepth).toBe(0);
  });

  it('steeper functions put more of a decrease behind an order near the front', () => {
    const ahead = (m: QueueModel) => {
      const q = pos(4);
      m.onDepth(q, 10, 8);
      return q.ahead;
    };
    expect(ahead(power1)).toBeLessThan(ahead(power2));
    expect(ahead(power2)).toBeLessThan(ahead(power3));
  });

  it('takes from the front what the lots behind cannot cover', () => {
    // 2 ahead, 8 behind, 10 -> 1 (chg 9), x^3: p = 512/520, p*chg = 8.861538 > 8 behind:
    // est = 2 - (8/520)*9 + (8 - 8.861538) = 2 - 0.138462 - 0.861538 = 1 (= the whole remaining level)
    const q = pos(2);
    power3.onDepth(q, 10, 1);
    expect(q.ahead).toBeCloseTo(1, 9);
    // x^1: p = 0.8, p*chg = 7.2 <= 8: est = 2 - 0.2 * 9 = 0.2
    const r = pos(2);
    power1.onDepth(r, 10, 1);
    expect(r.ahead).toBeCloseTo(0.2, 9);
  });

  it('an order with nothing behind it advances by the whole decrease', () => {
    const q = pos(10); // the order is last in a 10-lot level
    power2.onDepth(q, 10, 6); // p = 0: est = 10 - 4 = 6
    expect(q.ahead).toBe(6);
  });

  it('an order at the front stays at the front', () => {
    const q = pos(0);
    power2.onDepth(q, 10, 3); // p = 1: est = 0 + min(10 - 7, 0) = 0
    expect(q.ahead).toBe(0);
  });

  it('does not count a trade twice when the depth update reports it', () => {
    const q = pos(4);
    power1.onTrade(q, 3); // ahead 1, traded 3
    power1.onDepth(q, 10, 7); // chg = 3 - 3 = 0: no further move
    expect(q).toEqual({ ahead: 1, tradedSinceDepth: 0 });
    power1.onDepth(q, 7, 5); // a real cancel of 2: front 1, back 6, p = 6/7: 1 - (1/7)*2
    expect(q.ahead).toBeCloseTo(5 / 7, 9);
  });

  it('moves only by the part of a depth decrease that trades do not explain', () => {
    const q = pos(4);
    power1.onTrade(q, 3); // ahead 1
    power1.onDepth(q, 10, 5); // chg = 5 - 3 = 2; front 1, back 10 - 1 = 9, p = 0.9: 1 - 0.1 * 2 = 0.8
    expect(q.ahead).toBeCloseTo(0.8, 9);
    expect(q.tradedSinceDepth).toBe(0);
  });

  it('a trade and a larger new order in one update count as an increase', () => {
    const q = pos(4);
    power1.onTrade(q, 3); // ahead 1
    power1.onDepth(q, 10, 12); // chg = -2 - 3 = -5 < 0
    expect(q).toEqual({ ahead: 1, tradedSinceDepth: 0 });
  });

  it.each(['prob-power:2', 'prob-log', 'prob-power2:2', 'prob-log2', 'risk-averse'])(
    '%s puts increases behind the order',
    (spec) => {
      const m = parseQueueModel(spec);
      const q = pos(4);
      m.onDepth(q, 10, 15);
      expect(q.ahead).toBe(4);
    },
  );

  it.each(['prob-power:2', 'prob-log', 'prob-power2:2', 'prob-log2', 'risk-averse'])(
    '%s never leaves more ahead than the level holds',
    (spec) => {
      const m = parseQueueModel(spec);
      const q = joined(m, 10);
      m.onDepth(q, 10, 3);
      expect(q.ahead).toBeLessThanOrEqual(3);
      m.onDepth(q, 3, 0);
      expect(q.ahead).toBe(0);
    },
  );

  it('a depth change alone never makes lots executable', () => {
    // 8 ahead, 2 behind, the whole level is cancelled (10 -> 0), x^3: p = 8/520 = 0.015385,
    // est = 8 - 0.984615 * 10 = -1.846: hftbacktest would report a fill without a trade; we stop at 0.
    const q = pos(8);
    power3.onDepth(q, 10, 0);
    expect(q.ahead).toBe(0);
  });

  it('keeps lots a trade made executable through a later depth change', () => {
    const q = joined(power2, 5);
    power2.onTrade(q, 7); // ahead -2, traded 7
    power2.onDepth(q, 5, 0); // chg = 5 - 7 < 0: increase branch, min(-2, 0)
    expect(q).toEqual({ ahead: -2, tradedSinceDepth: 0 });
    const r = pos(-2);
    power2.onDepth(r, 5, 3); // front counted as 0: p = 1, est = -2 + min(7 - 2, 0) = -2
    expect(r.ahead).toBe(-2);
  });

  it.each([
    // est at p = 1: 4 - 0 * 4 + min(6 - 4, 0) = 4;  at p = 0: 4 - 1 * 4 + min(6, 0) = 0
    ['NaN', NaN, 4], // not finite: treated as p = 1, the whole cancel is behind
    ['Infinity', Infinity, 4],
    ['above 1', 1.5, 4], // clamped to 1
    ['below 0', -0.5, 0], // clamped to 0
  ])('a probability of %s is handled (4 ahead of 10, the level drops to 6)', (_n, p, want) => {
    const m = new ProbQueueModel('custom', () => p);
    const q = pos(4);
    m.onDepth(q, 10, 6);
    expect(q.ahead).toBe(want);
  });
});

describe('parseQueueModel', () => {
  it.each([
    ['risk-averse', 'risk-averse', RiskAverseQueueModel],
    ['prob-power:2', 'prob-power:2', ProbQueueModel],
    ['prob-power:3', 'prob-power:3', ProbQueueModel],
    ['prob-power:0.5', 'prob-power:0.5', ProbQueueModel],
    ['prob-log', 'prob-log', ProbQueueModel],
    ['prob-power2:2', 'prob-power2:2', ProbQueueModel],
    ['prob-log2', 'prob-log2', ProbQueueModel],
    ['  prob-log  ', 'prob-log', ProbQueueModel],
  ])('accepts %j', (spec, name, cls) => {
    const m = parseQueueModel(spec);
    expect(m.name).toBe(name);
    expect(m).toBeInstanceOf(cls);
  });

  it.each([
    '',
    'riskaverse',
    'prob-power',
    'prob-power:',
    'prob-power:abc',
    'prob-power:-1',
    'prob-power:1e3',
    'prob-log:2',
    'prob-power3:2',
    'PROB-LOG',
  ])('rejects %j and lists the valid forms', (spec) => {
    expect(() => parseQueueModel(spec)).toThrowError(/risk-averse, prob-power:N, prob-log, prob-power2:N, prob-log2/);
  });

  it.each(['prob-power:0', 'prob-power2:0.0', 'prob-power:101'])('rejects the exponent in %j', (spec) => {
    expect(() => parseQueueModel(spec)).toThrowError(/exponent N must be > 0 and <= 100/);
  });

  it('documents every form it accepts', () => {
    expect(QUEUE_MODEL_FORMS).toEqual(['risk-averse', 'prob-power:N', 'prob-log', 'prob-power2:N', 'prob-log2']);
  });

  it('parsed power models compute the same as the constructed ones', () => {
    const a = parseQueueModel('prob-power:2');
    const b = new ProbQueueModel('x', powerProbability(2));
    const qa = pos(4);
    const qb = pos(4);
    a.onDepth(qa, 10, 8);
    b.onDepth(qb, 10, 8);
    expect(qa.ahead).toBe(qb.ahead);
  });
});

describe('queue model invariants (property)', () => {
  const specs = ['risk-averse', 'prob-power:1', 'prob-power:2', 'prob-power:3', 'prob-power:0.5', 'prob-log', 'prob-power2:2', 'prob-log2'];
  const event = fc.oneof(
    fc.record({ kind: fc.constant('trade' as const), qty: fc.integer({ min: 1, max: 60 }) }),
    fc.record({ kind: fc.constant('depth' as const), next: fc.integer({ min: 0, max: 500 }) }),
  );

  it.each(specs)('%s: a depth change keeps ahead within [min(ahead before, 0), next] and never raises it', (spec) => {
    const m = parseQueueModel(spec);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(event, { maxLength: 60 }), (level0, events) => {
        let level = level0;
        const q = pos();
        m.onNew(q, level);
        for (const e of events) {
          const before = q.ahead;
          if (e.kind === 'trade') {
            m.onTrade(q, e.qty);
            if (q.ahead !== before - e.qty) return false;
          } else {
            m.onDepth(q, level, e.next);
            level = e.next;
            if (!Number.isFinite(q.ahead)) return false;
            if (q.ahead > e.next) return false;
            if (q.ahead < Math.min(before, 0)) return false;
            if (q.ahead > before) return false;
            if (q.tradedSinceDepth !== 0) return false;
          }
        }
        return true;
      }),
      { numRuns: 300, seed: 20240601 },
    );
  });

  it.each(specs)('%s: with depth changes only, ahead stays within [0, level]', (spec) => {
    const m = parseQueueModel(spec);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 60 }), (level0, nexts) => {
        let level = level0;
        const q = pos();
        m.onNew(q, level);
        for (const next of nexts) {
          m.onDepth(q, level, next);
          level = next;
          if (!(q.ahead >= 0 && q.ahead <= level)) return false;
        }
        return true;
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('queue models and the unit of quantity', () => {
  it('prob-log sees base units through forLotSize: the same book in BTC gives the same estimate for any lot size', () => {
    // 2 BTC ahead, 1 BTC behind, 1 BTC canceled: the estimate must not depend on how a lot is defined
    const run = (lotSize: number): number => {
      const m = parseQueueModel('prob-log').forLotSize!(lotSize);
      const q = { ahead: 0, tradedSinceDepth: 0 };
      const lots = (btc: number) => btc / lotSize;
      m.onNew(q, lots(2));
      m.onDepth(q, lots(3), lots(2)); // the level was 3 BTC with us behind 2 of them (1 behind); 1 BTC left
      return q.ahead * lotSize;
    };
    expect(run(1e-8)).toBeCloseTo(run(1e-3), 9);
    expect(run(1e-3)).toBeCloseTo(run(1), 9);
    // ln(1+1)/(ln(1+1)+ln(1+2)) = 0.387 of the decrease came from behind: 2 − (1 − 0.387) × 1 = 1.387 BTC ahead
    expect(run(1)).toBeCloseTo(2 - (1 - Math.log(2) / (Math.log(2) + Math.log(3))), 9);
  });

  it('risk-averse and power forms need no scaling', () => {
    expect(parseQueueModel('risk-averse').forLotSize).toBeUndefined();
    const a = parseQueueModel('prob-power:2').forLotSize!(1e-8);
    const q = { ahead: 0, tradedSinceDepth: 0 };
    a.onNew(q, 200);
    a.onDepth(q, 300, 200);
    const b = parseQueueModel('prob-power:2');
    const r = { ahead: 0, tradedSinceDepth: 0 };
    b.onNew(r, 200);
    b.onDepth(r, 300, 200);
    expect(q.ahead).toBeCloseTo(r.ahead, 9);
  });
});
