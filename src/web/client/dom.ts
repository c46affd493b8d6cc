// Small DOM helpers: elements are made once and updated in place (text only when it changed), so a 10 Hz
// stream costs little layout work.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`dashboard: no element #${id}`);
  return el as T;
}

export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Replaces the element's sign classes (pos / neg) with `cls`. */
export function setSign(el: Element, cls: 'pos' | 'neg' | ''): void {
  el.classList.toggle('pos', cls === 'pos');
  el.classList.toggle('neg', cls === 'neg');
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Column<R> {
  key: string;
  head: string;
  /** the cell's text */
  cell?: (r: R) => string;
  /** or its content, made by the caller (`created`: the row is new) */
  custom?: (r: R, td: HTMLTableCellElement, created: boolean) => void;
  /** extra class of the cell: 'num' aligns right; a function can add pos/neg */
  cls?: string;
  sign?: (r: R) => 'pos' | 'neg' | '';
  /** hidden on narrow screens */
  wide?: boolean;
}

interface Row {
  tr: HTMLTableRowElement;
  cells: HTMLTableCellElement[];
}

/**
 * A table whose rows are keyed: rendering a list reuses the row of each key (only changed texts are
 * written), moves rows into order, and drops rows whose key left the list.
 */
export class TableView<R> {
  readonly root: HTMLDivElement;
  private readonly tbody: HTMLTableSectionElement;
  private readonly empty: HTMLParagraphElement;
  private readonly rows = new Map<string, Row>();

  constructor(
    container: HTMLElement,
    private readonly cols: readonly Column<R>[],
    private readonly keyOf: (r: R) => string,
    emptyText: string,
  ) {
    this.root = h('div', 'scroll-x');
    const table = h('table');
    const thead = h('thead');
    const tr = h('tr');
    for (const c of cols) {
      const th = h('th', [c.cls ?? '', c.wide ? 'wide' : ''].join(' ').trim(), c.head);
      th.scope = 'col';
      tr.append(th);
    }
    thead.append(tr);
    this.tbody = h('tbody');
    table.append(thead, this.tbody);
    this.root.append(table);
    this.empty = h('p', 'empty', emptyText);
    container.append(this.root, this.empty);
  }

  get size(): number {
    return this.rows.size;
  }

  render(items: readonly R[]): void {
    const seen = new Set<string>();
    let prev: HTMLTableRowElement | null = null;
    for (const item of items) {
      const key = this.keyOf(item);
      if (seen.has(key)) continue;
      seen.add(key);
      let row = this.rows.get(key);
      const created = !row;
      if (!row) {
        const tr = h('tr');
        tr.dataset['key'] = key;
        const cells = this.cols.map((c) => {
          const td = h('td', [c.cls ?? '', c.wide ? 'wide' : ''].join(' ').trim());
          td.dataset['col'] = c.key;
          tr.append(td);
          return td;
        });
        row = { tr, cells };
        this.rows.set(key, row);
      }
      for (let i = 0; i < this.cols.length; i++) {
        const c = this.cols[i]!;
        const td = row.cells[i]!;
        if (c.cell) setText(td, c.cell(item));
        else c.custom?.(item, td, created);
        if (c.sign) setSign(td, c.sign(item));
      }
      const at: ChildNode | null = prev ? prev.nextSibling : this.tbody.firstChild;
      if (at !== row.tr) this.tbody.insertBefore(row.tr, at);
      prev = row.tr;
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) {
        row.tr.remove();
        this.rows.delete(key);
      }
    }
    const none = this.rows.size === 0;
    this.root.hidden = none;
    this.empty.hidden = !none;
  }
}
