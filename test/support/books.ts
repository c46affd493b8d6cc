import { DepthSync } from '../../src/book/sync.js';
import type { Venue } from '../../src/core/types.js';
import { parseScaled } from '../../src/core/decimal.js';
import type { Instrument } from '../../src/model/instrument.js';

/** A synced book from human-readable levels [[price, qty], ...] best first. */
export function syncedBook(inst: Instrument, bids: [number, number][], asks: [number, number][], recvTime = 0, venue: Venue = inst.venue): DepthSync {
  const px = (p: number) => parseScaled(p.toFixed(inst.priceDecimals), inst.priceDecimals);
  const qt = (q: number) => parseScaled(q.toFixed(inst.qtyDecimals), inst.qtyDecimals);
  const sync = new DepthSync(venue, inst.symbol);
  sync.onSnapshot(
    {
      kind: 'snapshot', venue, symbol: inst.symbol, lastUpdateId: 1, recvTime,
      bids: Float64Array.from(bids.flatMap(([p, q]) => [px(p), qt(q)])),
      asks: Float64Array.from(asks.flatMap(([p, q]) => [px(p), qt(q)])),
    },
    recvTime,
  );
  return sync;
}
