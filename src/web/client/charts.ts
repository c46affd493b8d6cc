// The equity curve and its drawdown, drawn with Lightweight Charts (served by our server beside this module).
import { AreaSeries, ColorType, LineSeries, LineStyle, TickMarkType, createChart, type IChartApi, type ISeriesApi, type Time, type UTCTimestamp } from './lightweight-charts.js';
import { clock } from './format.js';
import type { EquityRow } from './types.js';

interface Point {
  sec: number;
  equity: number;
  hwm: number;
  dd: number;
}

/** Most points kept in the page (about 5.5 hours at one point a second). */
const MAX_POINTS = 20_000;

const pad = (n: number): string => String(n).padStart(2, '0');
/** Axis labels in local time, as precise as the zoom needs. */
const tick = (t: Time, type: TickMarkType): string => {
  const d = new Date((t as number) * 1000);
  switch (type) {
    case TickMarkType.Year:
      return String(d.getFullYear());
    case TickMarkType.Month:
    case TickMarkType.DayOfMonth:
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    case TickMarkType.TimeWithSeconds:
      return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    default:
      return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
};

/**
 * Equity (and the high-water mark) in the top pane, drawdown in percent below. Points are kept one per
 * second (the last of a second wins); new points are queued and applied by `flush()`, which the page calls
 * from its render loop, so a fast stream never redraws more than a few times a second.
 */
export class EquityChart {
  private readonly chart: IChartApi;
  private readonly equity: ISeriesApi<'Line'>;
  private readonly hwm: ISeriesApi<'Line'>;
  private readonly dd: ISeriesApi<'Area'>;
  private points: Point[] = [];
  private queue: EquityRow[] = [];
  private peak = Number.NEGATIVE_INFINITY;
  /** the whole curve stays in view until the user scrolls or zooms; a double click fits it again */
  private follow = true;

  constructor(private readonly container: HTMLElement) {
    const stop = (): void => {
      this.follow = false;
    };
    container.addEventListener('wheel', stop, { passive: true });
    container.addEventListener('pointerdown', stop, { passive: true });
    container.addEventListener('dblclick', () => this.fit());
    const css = getComputedStyle(document.documentElement);
    const v = (name: string, dflt: string): string => css.getPropertyValue(name).trim() || dflt;
    this.chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: v('--muted', '#9aa4b2'),
        fontSize: 11,
        // the attribution (TradingView's notice, Apache-2.0) is in the page's footer: the built-in logo
        // would insert an inline <style>, which the Content-Security-Policy refuses
        attributionLogo: false,
        panes: { separatorColor: v('--line', '#2a3240'), enableResize: false },
      },
      grid: { vertLines: { color: v('--grid', '#1c2330') }, horzLines: { color: v('--grid', '#1c2330') } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true, secondsVisible: true, tickMarkFormatter: tick },
      localization: { timeFormatter: (t: Time) => clock((t as number) * 1000) },
      handleScroll: { vertTouchDrag: false },
    });
    this.equity = this.chart.addSeries(LineSeries, { color: v('--accent', '#4aa3ff'), lineWidth: 2, priceLineVisible: false, title: 'equity' });
    this.hwm = this.chart.addSeries(LineSeries, { color: v('--muted', '#9aa4b2'), lineWidth: 1, lineStyle: LineStyle.Dashed, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false, title: 'high-water mark' });
    this.dd = this.chart.addSeries(
      AreaSeries,
      {
        lineColor: v('--neg', '#ff5d6c'),
        topColor: 'rgba(255, 93, 108, 0.05)',
        bottomColor: 'rgba(255, 93, 108, 0.35)',
        invertFilledArea: true,
        lineWidth: 1,
        priceLineVisible: false,
        title: 'drawdown %',
        priceFormat: { type: 'custom', minMove: 0.001, formatter: (x: number) => `${x.toFixed(Math.abs(x) < 1 ? 3 : 2)}%` },
      },
      1,
    );
    const panes = this.chart.panes();
    panes[1]?.setHeight(70);
  }

  /** The stored curve (oldest first), merged with the points already received from the stream. */
  setHistory(rows: readonly EquityRow[]): void {
    const drawn = this.points.map((p) => ({ time: p.sec * 1000, equity: p.equity, highWaterMark: p.hwm, drawdown: p.dd }));
    const all = [...rows, ...drawn, ...this.queue].sort((a, b) => a.time - b.time);
    this.queue = [];
    this.points = [];
    this.peak = Number.NEGATIVE_INFINITY;
    for (const r of all) this.add(r);
    if (this.points.length > MAX_POINTS) this.points.splice(0, this.points.length - MAX_POINTS);
    this.setAll();
  }

  push(row: EquityRow): void {
    if (Number.isFinite(row.time) && Number.isFinite(row.equity)) this.queue.push(row);
  }

  /** Applies queued points; returns whether anything changed. */
  flush(): boolean {
    if (this.queue.length === 0) return false;
    const rows = this.queue;
    this.queue = [];
    let reset = false;
    const before = this.points.length;
    for (const r of rows) {
      const last = this.points.at(-1);
      const sec = Math.floor(r.time / 1000);
      if (last && sec < last.sec) continue; // older than what is drawn: the stored curve has it
      const p = this.add(r);
      if (!p) continue;
      if (this.points.length > MAX_POINTS) {
        this.points.splice(0, this.points.length - MAX_POINTS);
        reset = true;
      }
      if (!reset) {
        const time = p.sec as UTCTimestamp;
        this.equity.update({ time, value: p.equity });
        this.hwm.update({ time, value: p.hwm });
        this.dd.update({ time, value: p.dd * 100 });
      }
    }
    if (reset) this.setAll();
    else if (this.follow && this.points.length !== before) this.chart.timeScale().fitContent();
    this.container.dataset['points'] = String(this.points.length);
    return true;
  }

  /** Shows the whole curve and keeps it in view as it grows. */
  fit(): void {
    this.follow = true;
    this.chart.timeScale().fitContent();
  }

  get size(): number {
    return this.points.length;
  }

  private add(r: EquityRow): Point | null {
    if (!Number.isFinite(r.time) || !Number.isFinite(r.equity)) return null;
    const sec = Math.floor(r.time / 1000);
    this.peak = Math.max(this.peak, r.equity, typeof r.highWaterMark === 'number' ? r.highWaterMark : Number.NEGATIVE_INFINITY);
    const hwm = this.peak;
    const dd = typeof r.drawdown === 'number' && Number.isFinite(r.drawdown) ? r.drawdown : hwm > 0 ? Math.min(0, r.equity / hwm - 1) : 0;
    const p: Point = { sec, equity: r.equity, hwm, dd };
    const last = this.points.at(-1);
    if (last && last.sec === sec) this.points[this.points.length - 1] = p;
    else if (!last || sec > last.sec) this.points.push(p);
    else return null;
    return p;
  }

  private setAll(): void {
    this.equity.setData(this.points.map((p) => ({ time: p.sec as UTCTimestamp, value: p.equity })));
    this.hwm.setData(this.points.map((p) => ({ time: p.sec as UTCTimestamp, value: p.hwm })));
    this.dd.setData(this.points.map((p) => ({ time: p.sec as UTCTimestamp, value: p.dd * 100 })));
    if (this.follow && this.points.length > 0) this.chart.timeScale().fitContent();
    this.container.dataset['points'] = String(this.points.length);
  }
}
