// Horizontal bars (limits used, rate limiter, latency histogram): one row per key, reused between renders.
import { h, setText } from './dom.js';

export interface Bar {
  key: string;
  label: string;
  /** text on the right */
  value: string;
  /** 0..1 of the track */
  frac: number;
  /** colour: ok, warn (over 70%), bad (full) */
  level?: 'ok' | 'warn' | 'bad';
}

interface BarRow {
  row: HTMLDivElement;
  label: HTMLSpanElement;
  fill: HTMLSpanElement;
  value: HTMLSpanElement;
  frac: number;
}

export function levelOf(frac: number): 'ok' | 'warn' | 'bad' {
  return frac >= 1 ? 'bad' : frac >= 0.7 ? 'warn' : 'ok';
}

export class BarList {
  private readonly rows = new Map<string, BarRow>();
  private readonly empty: HTMLParagraphElement;

  constructor(
    private readonly root: HTMLElement,
    emptyText: string,
  ) {
    root.classList.add('bars');
    this.empty = h('p', 'empty', emptyText);
    root.append(this.empty);
  }

  render(bars: readonly Bar[]): void {
    const seen = new Set<string>();
    let prev: Element = this.empty;
    for (const b of bars) {
      seen.add(b.key);
      let r = this.rows.get(b.key);
      if (!r) {
        const row = h('div', 'bar');
        row.dataset['key'] = b.key;
        const label = h('span', 'bar-label');
        const track = h('span', 'bar-track');
        const fill = h('span', 'bar-fill');
        track.append(fill);
        const value = h('span', 'bar-value');
        row.append(label, track, value);
        r = { row, label, fill, value, frac: -1 };
        this.rows.set(b.key, r);
      }
      setText(r.label, b.label);
      setText(r.value, b.value);
      const frac = Math.max(0, Math.min(1, Number.isFinite(b.frac) ? b.frac : 0));
      if (Math.abs(frac - r.frac) > 0.001) {
        // CSSOM (not a style attribute): allowed by the page's Content-Security-Policy
        r.fill.style.width = `${(frac * 100).toFixed(1)}%`;
        r.frac = frac;
      }
      const level = b.level ?? 'ok';
      r.fill.classList.toggle('warn', level === 'warn');
      r.fill.classList.toggle('bad', level === 'bad');
      if (prev.nextSibling !== r.row) prev.after(r.row);
      prev = r.row;
    }
    for (const [k, r] of this.rows) {
      if (!seen.has(k)) {
        r.row.remove();
        this.rows.delete(k);
      }
    }
    this.empty.hidden = this.rows.size > 0;
  }
}
