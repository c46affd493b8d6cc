// Order book depth as a ladder: asks above (best at the bottom), bids below (best at the top), each level
// with its quantity and the cumulative quantity from the touch, a bar showing the cumulative depth.
import { h, setText } from './dom.js';
import { DASH, price, qty } from './format.js';
import type { Book } from './types.js';

interface Level {
  row: HTMLDivElement;
  bar: HTMLSpanElement;
  px: HTMLSpanElement;
  q: HTMLSpanElement;
  cum: HTMLSpanElement;
  frac: number;
}

export class DepthLadder {
  private readonly asks: Level[] = [];
  private readonly bids: Level[] = [];
  private readonly mid: HTMLDivElement;
  private readonly title: HTMLDivElement;

  constructor(
    root: HTMLElement,
    readonly levels: number,
  ) {
    root.classList.add('ladder');
    this.title = h('div', 'ladder-head');
    for (const t of ['Price', 'Qty', 'Total']) this.title.append(h('span', '', t));
    root.append(this.title);
    for (let i = 0; i < levels; i++) this.asks.push(this.level(root, 'ask'));
    this.mid = h('div', 'ladder-mid', DASH);
    root.append(this.mid);
    for (let i = 0; i < levels; i++) this.bids.push(this.level(root, 'bid'));
  }

  private level(root: HTMLElement, side: 'ask' | 'bid'): Level {
    const row = h('div', `lvl ${side}`);
    const bar = h('span', 'lvl-bar');
    const px = h('span', 'lvl-px');
    const q = h('span', 'lvl-qty');
    const cum = h('span', 'lvl-cum');
    row.append(bar, px, q, cum);
    root.append(row);
    return { row, bar, px, q, cum, frac: -1 };
  }

  render(book: Book | null, note?: string): void {
    const n = this.levels;
    const asks = book?.asks.slice(0, n) ?? [];
    const bids = book?.bids.slice(0, n) ?? [];
    const cumA: number[] = [];
    const cumB: number[] = [];
    let s = 0;
    for (const [, q] of asks) cumA.push((s += q));
    s = 0;
    for (const [, q] of bids) cumB.push((s += q));
    const max = Math.max(cumA.at(-1) ?? 0, cumB.at(-1) ?? 0) || 1;
    // asks: the ladder's top row is the deepest shown level, the row above the mid the best ask
    for (let i = 0; i < n; i++) {
      const j = n - 1 - i;
      this.fill(this.asks[i]!, asks[j], cumA[j], max);
      this.fill(this.bids[i]!, bids[i], cumB[i], max);
    }
    const bestBid = bids[0]?.[0];
    const bestAsk = asks[0]?.[0];
    if (note) setText(this.mid, note);
    else if (bestBid !== undefined && bestAsk !== undefined) {
      const spread = bestAsk - bestBid;
      const bps = ((spread / ((bestAsk + bestBid) / 2)) * 10_000).toFixed(2);
      setText(this.mid, `mid ${price((bestAsk + bestBid) / 2)} · spread ${price(spread)} (${bps} bp)`);
    } else setText(this.mid, book ? `book ${book.state ?? 'empty'}` : DASH);
  }

  private fill(l: Level, lvl: [number, number] | undefined, cum: number | undefined, max: number): void {
    if (!lvl || cum === undefined) {
      setText(l.px, '');
      setText(l.q, '');
      setText(l.cum, '');
      if (l.frac !== 0) {
        l.bar.style.width = '0%';
        l.frac = 0;
      }
      return;
    }
    setText(l.px, price(lvl[0]));
    setText(l.q, qty(lvl[1]));
    setText(l.cum, qty(cum));
    const frac = cum / max;
    if (Math.abs(frac - l.frac) > 0.002) {
      l.bar.style.width = `${(frac * 100).toFixed(1)}%`;
      l.frac = frac;
    }
  }
}
