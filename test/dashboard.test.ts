import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { int, money, num, pct, price, qty } from '../src/web/client/format.js';
import { SPOT_FILES, USDM_BTC } from './support/data.js';
import { getJson, ROOT, waitFor } from './support/procs.js';
import { startSession, type Session } from './support/session.js';

/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core) against a live session:
 * `papertape serve-replay` plays the recorded spot and USD-M BTCUSDT data at 40x, `papertape run` trades
 * it on paper (fast: 100 ms cooldown, rate limits raised, a shadow variant) and serves the page.
 */
const TOKEN = 'dashboard-test-token-0123456789';
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(ROOT, 'test-artifacts/dashboard');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

interface Watch {
  /** console errors and warnings, uncaught page errors */
  problems: string[];
  /** requests that failed at the network level */
  failed: string[];
  /** every URL the page asked for */
  urls: string[];
  /** responses with a status of 400 or more */
  errors: string[];
  navigations: number;
  /** Authorization headers of the control requests */
  auth: string[];
}

function watch(page: Page): Watch {
  const w: Watch = { problems: [], failed: [], urls: [], errors: [], navigations: 0, auth: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') w.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => w.problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => w.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? '?'}`));
  page.on('request', (r) => {
    w.urls.push(r.url());
    if (r.method() === 'POST') w.auth.push(r.headers()['authorization'] ?? '');
  });
  page.on('response', (r) => {
    if (r.status() >= 400) w.errors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) w.navigations++;
  });
  return w;
}

/**
 * Waits for a page expression to be truthy. Polled from here with page.evaluate (page.waitForFunction
 * compiles its predicate in the page, which the dashboard's Content-Security-Policy rightly refuses).
 */
async function until(page: Page, what: string, expression: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(what, async () => Boolean(await page.evaluate(expression)), timeoutMs, 100);
}

/** [r, g, b, least alpha] of the equity line (--accent, #4aa3ff, 2 px wide: opaque) */
const EQUITY_RGB = [74, 163, 255, 200];
/**
 * the drawdown series (--neg, #ff5d6c): a 1 px line, anti-aliased where it slopes and half cut where it runs at 0
 * along the pane's top, over its area fill (alpha 0.05 .. 0.35): any pixel of its colour from alpha 60 counts
 */
const DRAWDOWN_RGB = [255, 93, 108, 60];

/**
 * For each wide canvas of the chart (the panes, not the axes): its height and, per colour, the fraction of its
 * columns holding pixels of that colour (at least that alpha). Evaluated in the page.
 */
async function paneColumns(page: Page, colours: number[][]): Promise<{ height: number; fractions: number[] }[]> {
  return (await page.evaluate(`(() => {
    const colours = ${JSON.stringify(colours)};
    const out = [];
    for (const c of document.querySelectorAll('#equity-chart canvas')) {
      if (c.width < 200 || c.height < 40) continue;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const cols = colours.map(() => new Set());
      for (let i = 0; i < d.length; i += 4) {
        colours.forEach(([r, g, b, a], k) => {
          if (d[i + 3] > a && Math.abs(d[i] - r) < 16 && Math.abs(d[i + 1] - g) < 16 && Math.abs(d[i + 2] - b) < 16) cols[k].add((i / 4) % c.width);
        });
      }
      out.push({ height: c.height, fractions: cols.map((s) => s.size / c.width) });
    }
    return out;
  })()`)) as { height: number; fractions: number[] }[];
}

/** A number of a /metrics slice as the page picks it (src/web/client/app.ts `sliceNum`): the slice's own field, else its `returns`' one. */
function sliceNum(s: Record<string, any>, ...keys: string[]): number | undefined {
  for (const o of [s, s['returns'] ?? {}]) {
    for (const k of keys) {
      const v = o[k];
      if (v !== undefined && v !== null) return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

/** The rows of `#perf-breakdown` the page must show for a /metrics answer, formatted by the page's own functions. */
function breakdownRows(m: Record<string, any>): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const kind of ['bySymbol', 'byStrategy'] as const) {
    for (const [name, s] of Object.entries((m[kind] ?? {}) as Record<string, Record<string, any>>)) {
      out[`${kind}:${name}`] = {
        name,
        trades: int(sliceNum(s, 'trades', 'totalTrades')),
        winrate: pct(sliceNum(s, 'winRate'), 1),
        pnl: money(sliceNum(s, 'netPnl', 'totalPnl', 'pnl'), true),
        sharpe: num(sliceNum(s, 'sharpe')),
        maxdd: pct(sliceNum(s, 'maxDrawdown')),
      };
    }
  }
  return out;
}

/** The depth ladder's rows for a GET /book answer (src/web/client/depth.ts): best ask and best bid first, with cumulative quantities. */
function ladderRows(book: { bids: [number, number][]; asks: [number, number][] }, levels: number): { asks: string[][]; bids: string[][] } {
  const side = (lv: [number, number][]): string[][] => {
    let s = 0;
    return lv.slice(0, levels).map(([p, q]) => [price(p), qty(q), qty((s += q))]);
  };
  return { asks: side(book.asks), bids: side(book.bids) };
}

const numberIn = (text: string | null): number => Number((text ?? '').replace(/[,%+\s]/g, '').replace('−', '-'));

/** The headline figures the page shows: `overall` where /metrics has it, else its top-level fields. */
function headline(m: Record<string, any>): { sharpe: number | null; maxDrawdown: number | null; winRate: number | null } {
  const o = m['overall'];
  const get = (k: string): number | null => {
    const v = o ? (o[k] ?? o['returns']?.[k]) : m[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  return { sharpe: get('sharpe'), maxDrawdown: get('maxDrawdown'), winRate: get('winRate') };
}

describe('dashboard at / in a browser', () => {
  let session: Session;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let seen: Watch;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
    mkdirSync(ARTIFACTS, { recursive: true });
    console.log(`dashboard screenshots go to ${ARTIFACTS}`);
    session = await startSession({
      // a 4 s pause after the engine subscribes: the page is open before the first trade
      replay: [...SPOT_FILES, USDM_BTC, '--speed', '40', '--start-delay', '4000'],
      env: {
        API_TOKEN: TOKEN,
        OBI_COOLDOWN_MS: '100',
        RISK_ORDERS_PER_MINUTE: '1000',
        RISK_ORDERS_PER_HOUR: '10000',
        STREAM_INTERVAL_MS: '100',
        SHADOW: 'wide:IMBALANCE_THRESHOLD=0.5',
        // the exchange clock runs 40x ours (serve-replay --speed 40), for the feed lag check
        BINANCE_FEED_TIME_SCALE: '40',
      },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    seen = watch(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await session?.stop();
    const shots = existsSync(ARTIFACTS) ? readdirSync(ARTIFACTS).filter((f) => f.endsWith('.png')) : [];
    console.log(`dashboard screenshots in ${ARTIFACTS}: ${shots.join(', ') || 'none'}`);
  });

  it('serves the page with its security headers, no inline script or style, and the chart library from our server', async () => {
    const res = await fetch(`${session.api}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\//);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b|\sstyle=|\son[a-z]+=/i);
    const lib = /href="(\/assets\/[0-9a-f]+\/lightweight-charts\.js)"/.exec(html)?.[1];
    expect(lib).toBeDefined();
    const js = await fetch(`${session.api}${lib}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('cache-control')).toMatch(/max-age=31536000/);
    expect(await js.text()).toMatch(/TradingView Lightweight Charts/);
  });

  it('loads without console errors or failed requests and goes live on the stream', async () => {
    await page.goto(`${session.api}/`);
    await page.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
    await page.waitForSelector('#kpi-equity[data-value]:not([data-value=""])', { timeout: 15_000 });
    expect(await page.locator('#kpi-equity .value').textContent()).toMatch(/^\d{1,3}(,\d{3})*\.\d\d$/);
    expect(seen.problems).toEqual([]);
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('updates live without a reload when fills arrive', async () => {
    await page.evaluate('window.__sameDocument = 42');
    const firstFill = async (): Promise<string | null> => page.locator('#fills tbody tr').first().getAttribute('data-key', { timeout: 100 }).catch(() => null);
    const before = await firstFill();
    const newer = await waitFor('a new fill on the page', async () => {
      const k = await firstFill();
      return k !== null && k !== before ? k : null;
    }, 30_000, 100);
    // the fill the page shows is a real one of the session
    const fills = (await getJson(`${session.api}/fills?limit=10000`)).body.fills as { id: string }[];
    expect(fills.map((f) => f.id)).toContain(newer);
    expect(await page.evaluate('window.__sameDocument')).toBe(42);
    expect(seen.navigations).toBe(1);
  });

  it('draws the equity curve on the chart canvas', async () => {
    await until(page, 'two points on the chart', 'Number(document.getElementById("equity-chart").dataset.points) >= 2', 20_000);
    // columns of the wide canvases (the panes, not the axes) holding pixels of the equity line's colour (#4aa3ff)
    const widest = Math.max(...(await paneColumns(page, [EQUITY_RGB])).map((p) => p.fractions[0]!));
    // fitted to the data, the line runs across most of the pane
    expect(widest).toBeGreaterThan(0.5);
  });

  it('draws the drawdown series in its pane below the equity', async () => {
    const panes = await paneColumns(page, [EQUITY_RGB, DRAWDOWN_RGB]);
    const equityPane = panes.find((p) => p.fractions[0]! > 0.5);
    const drawdownPane = panes.find((p) => p.fractions[1]! > 0.5);
    // the drawdown line (--neg, #ff5d6c) runs across its own pane, a lower one than the equity's, without the equity line
    expect(equityPane, JSON.stringify(panes)).toBeDefined();
    expect(drawdownPane, JSON.stringify(panes)).toBeDefined();
    expect(drawdownPane).not.toBe(equityPane);
    expect(drawdownPane!.height).toBeLessThan(equityPane!.height);
    expect(drawdownPane!.fractions[0]).toBe(0);
  });

  it('shows the same account, positions, open orders and statistics as the API', async () => {
    await waitFor('the replay to finish', async () => (await getJson(`http://${session.exchange}/replay/status`)).body.finished === true, 60_000, 250);
    await waitFor('nothing in flight', async () => (await getJson(`${session.api}/status`)).body.execution.inFlight === 0, 10_000);
    // the market has stopped: the page must settle on exactly what the API says (snapshots every 100 ms, metrics every 5 s)
    let last = '';
    await waitFor('the page to match the API', async () => {
      const [account, positions, open, metrics] = await Promise.all([
        getJson(`${session.api}/account`),
        getJson(`${session.api}/positions`),
        getJson(`${session.api}/orders/open`),
        getJson(`${session.api}/metrics`),
      ]);
      const pos = (positions.body.positions as { venue: string; symbol: string; qty: number }[]).find((p) => p.symbol === 'BTCUSDT' && p.venue === 'spot')!;
      const h = headline(metrics.body);
      const shown = {
        equity: numberIn(await page.locator('#kpi-equity .value').textContent()),
        qty: numberIn(await page.locator('#positions tr[data-key="spot:BTCUSDT"] td[data-col="qty"]').textContent({ timeout: 500 })),
        open: Number(await page.locator('#open-orders-count').textContent()),
        sharpe: await page.locator('#perf-sharpe .value').textContent(),
        maxdd: numberIn(await page.locator('#perf-maxdd .value').textContent()) / 100,
        winrate: numberIn(await page.locator('#perf-winrate .value').textContent()) / 100,
      };
      const want = { equity: account.body.equity as number, qty: pos.qty, open: (open.body.orders as unknown[]).length, ...h };
      last = JSON.stringify({ shown, want });
      return (
        Math.abs(shown.equity - want.equity) <= 0.005 &&
        Math.abs(shown.qty - want.qty) < 1e-9 &&
        shown.open === want.open &&
        (want.sharpe === null ? shown.sharpe === '—' : Math.abs(numberIn(shown.sharpe) - want.sharpe) <= 0.005) &&
        want.maxDrawdown !== null && Math.abs(shown.maxdd - want.maxDrawdown) <= 0.00005 &&
        (want.winRate === null ? true : Math.abs(shown.winrate - want.winRate) <= 0.0005)
      );
    }, 15_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}; last comparison ${last}`);
    });
    // there was something to compare: trades happened and a position is open or was closed with P&L
    expect((await getJson(`${session.api}/account`)).body.fills).toBeGreaterThan(0);
    // the strategies side by side: the trading strategy and the shadow variant
    const names = ((await getJson(`${session.api}/strategies`)).body.variants as { name: string }[]).map((v) => v.name);
    await until(page, 'a row per variant', `document.querySelectorAll('#strategies tbody tr').length === ${names.length}`);
    for (const n of names) await expect.poll(() => page.locator(`#strategies tr[data-key="${n}"]`).count()).toBe(1);
    await page.screenshot({ path: resolve(ARTIFACTS, 'desktop.png'), fullPage: true });
  });

  it('shows the same depth ladder, volatility and per-symbol/per-strategy figures as the API', async () => {
    // (after the replay: the market has stopped; each comparison is against API answers fetched in the same moment)
    const selected = await page.locator('#book-tabs [aria-selected="true"]').getAttribute('data-book');
    expect(selected).toMatch(/^(spot|usdm):BTCUSDT$/);
    const [venue, symbol] = selected!.split(':') as [string, string];
    const levels = await page.locator('#depth .lvl.bid').count();
    expect(levels).toBe(10);
    // the volatility needs two 1-minute periods of the session: wait for the API to have one
    await waitFor('a volatility from /metrics', async () => typeof (await getJson(`${session.api}/metrics`)).body.overall?.returns?.annualVolatility === 'number', 70_000, 500);
    let last = '';
    await waitFor('the ladder, volatility and breakdown to match the API', async () => {
      const [book, metrics] = await Promise.all([getJson(`${session.api}/book/${symbol}?venue=${venue}&depth=${levels}`), getJson(`${session.api}/metrics`)]);
      const shown = (await page.evaluate(`(() => {
        const cells = (row) => [...row.querySelectorAll('.lvl-px, .lvl-qty, .lvl-cum')].map((e) => e.textContent);
        const rows = {};
        for (const tr of document.querySelectorAll('#perf-breakdown tbody tr')) {
          rows[tr.dataset.key] = Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.col, td.textContent]));
        }
        const vol = document.getElementById('perf-vol');
        return {
          // the ladder's top row is the deepest ask shown: best first, as the API lists them
          asks: [...document.querySelectorAll('#depth .lvl.ask')].map(cells).reverse().filter((c) => c[0] !== ''),
          bids: [...document.querySelectorAll('#depth .lvl.bid')].map(cells).filter((c) => c[0] !== ''),
          vol: vol.querySelector('.value').textContent,
          volValue: vol.dataset.value,
          rows,
        };
      })()`)) as { asks: string[][]; bids: string[][]; vol: string; volValue: string; rows: Record<string, Record<string, string>> };
      const v = metrics.body.overall?.returns?.annualVolatility as number | null;
      const want = {
        ...ladderRows(book.body, levels),
        vol: pct(v),
        volValue: typeof v === 'number' ? String(v) : '',
        rows: breakdownRows(metrics.body),
      };
      last = JSON.stringify({ shown, want });
      return book.status === 200 && JSON.stringify(shown) === JSON.stringify(want);
    }, 15_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}; last comparison ${last}`);
    });
    const { shown, want } = JSON.parse(last) as Record<'shown' | 'want', { asks: string[][]; bids: string[][]; vol: string; rows: Record<string, unknown> }>;
    expect(shown).toEqual(want);
    // there was something to compare: full ladders, a volatility, and a row per symbol and per strategy version
    expect(shown.asks).toHaveLength(levels);
    expect(shown.bids).toHaveLength(levels);
    expect(shown.vol).toMatch(/^\d+(,\d{3})*\.\d\d%$/);
    expect(Object.keys(shown.rows)).toEqual(expect.arrayContaining(['bySymbol:BTCUSDT', expect.stringMatching(/^byStrategy:obi@/)]));
  }, 100_000);

  it('refuses a control sent from the page without a token, and the engine keeps running', async () => {
    const authBefore = seen.auth.length;
    const [status, body] = (await page.evaluate(`fetch('/pause', { method: 'POST' }).then(async (r) => [r.status, await r.json()])`)) as [number, { error: { code: string } }];
    expect(status).toBe(401); // API_TOKEN is set: a missing token is 401 (403 only when the server has no token)
    expect(body.error.code).toBe('unauthorized');
    // it went out without any Authorization header
    expect(seen.auth.slice(authBefore)).toEqual(['']);
    expect((await getJson(`${session.api}/status`)).body.risk).toMatchObject({ paused: false, halted: false });
    await new Promise((r) => setTimeout(r, 300)); // a few snapshots later, the page still shows it running
    expect(await page.locator('#risk-state').getAttribute('data-state')).toBe('running');
    expect((await getJson(`${session.api}/status`)).body.risk.paused).toBe(false);
  });

  it('hides the controls without a token; a wrong token gets the server 401 message; the right one pauses', async () => {
    expect(await page.locator('#controls').isVisible()).toBe(false);
    expect(await page.locator('[data-action="pause"]').isVisible()).toBe(false);
    expect(await page.locator('#strategies button[data-variant]').first().isVisible()).toBe(false);
    expect(await page.locator('#token-form').isVisible()).toBe(true);
    const problemsBefore = seen.problems.length;
    const authBefore = seen.auth.length;

    // a wrong token: the control is offered, the server refuses, the page says why in the server's words
    const wrong = 'not-the-token-at-all-0000';
    const refused = await fetch(`${session.api}/pause`, { method: 'POST', headers: { authorization: `Bearer ${wrong}` } });
    expect(refused.status).toBe(401);
    const message = ((await refused.json()) as { error: { message: string } }).error.message;
    await page.fill('#token-input', wrong);
    await page.click('#token-form button[type="submit"]');
    await page.click('[data-action="pause"]');
    await expect.poll(() => page.locator('#control-message').textContent(), { timeout: 10_000 }).toContain(`401 ${message}`);
    expect(await page.locator('#control-message').getAttribute('data-kind')).toBe('error');
    expect((await getJson(`${session.api}/status`)).body.risk.paused).toBe(false);
    expect(await page.locator('#risk-state').getAttribute('data-state')).toBe('running');

    // the right token: pause works and the risk panel shows it
    await page.click('#token-lock');
    expect(await page.locator('#controls').isVisible()).toBe(false);
    await page.fill('#token-input', TOKEN);
    await page.click('#token-form button[type="submit"]');
    await page.fill('#control-reason', 'dashboard test');
    await page.click('[data-action="pause"]');
    await page.waitForSelector('#risk-state[data-state="paused"]', { timeout: 10_000 });
    expect(await page.locator('#risk-state').textContent()).toBe('Paused: dashboard test');
    expect(await page.locator('#engine-state').textContent()).toBe('paused');
    expect((await getJson(`${session.api}/status`)).body.risk).toMatchObject({ paused: true, pauseReason: 'dashboard test' });
    expect(await page.locator('#strategies button[data-variant="wide"]').isVisible()).toBe(true);
    // the token stays in this tab's sessionStorage only and went out as a bearer header
    expect(await page.evaluate('[sessionStorage.getItem("papertape.apiToken"), localStorage.length]')).toEqual([TOKEN, 0]);
    expect(seen.auth.slice(authBefore)).toEqual([`Bearer ${wrong}`, `Bearer ${TOKEN}`]);
    // the only console output since: the browser's note of the refused request
    expect(seen.problems.slice(problemsBefore).every((p) => /status of 401/.test(p))).toBe(true);
    await page.screenshot({ path: resolve(ARTIFACTS, 'desktop-paused.png'), fullPage: false });
  });

  it('fits a 390 px phone screen without horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true });
    try {
      const p = await phone.newPage();
      const w = watch(p);
      await p.goto(`${session.api}/`);
      await p.waitForSelector('#conn[data-state="live"]', { timeout: 15_000 });
      await p.waitForSelector('#positions tbody tr', { timeout: 15_000 });
      await until(p, 'two points on the chart', 'Number(document.getElementById("equity-chart").dataset.points) >= 2');
      const [scrollWidth, innerWidth, widest] = (await p.evaluate(`[
        document.documentElement.scrollWidth,
        window.innerWidth,
        Math.max(...[...document.querySelectorAll('.card, .kpi, header, footer')].map((e) => e.getBoundingClientRect().right)),
      ]`)) as number[];
      // (on a phone, content wider than the screen also widens the layout viewport: innerWidth says so too)
      expect(scrollWidth).toBeLessThanOrEqual(390);
      expect(widest).toBeLessThanOrEqual(390);
      expect(innerWidth).toBe(390);
      // readable: the key figures are not shrunk below 14 px
      const size = (await p.evaluate('parseFloat(getComputedStyle(document.querySelector("#kpi-equity .value")).fontSize)')) as number;
      expect(size).toBeGreaterThanOrEqual(14);
      await p.screenshot({ path: resolve(ARTIFACTS, 'phone.png'), fullPage: false });
      await p.screenshot({ path: resolve(ARTIFACTS, 'phone-full.png'), fullPage: true });
      expect(w.problems).toEqual([]);
      expect(w.failed).toEqual([]);
    } finally {
      await phone.close();
    }
  });

  it('asked nothing of any host but the engine, and nothing failed', () => {
    expect(seen.urls.length).toBeGreaterThan(5);
    for (const u of seen.urls) expect(new URL(u).host).toBe(new URL(session.api).host);
    expect(seen.failed).toEqual([]);
    expect(seen.errors.every((e) => e.startsWith('401 POST'))).toBe(true);
  });

  it('says it is disconnected when the server goes away', async () => {
    expect(await page.locator('#conn').textContent()).toBe('live');
    expect(await session.engine.kill('SIGTERM')).toBe(0);
    await page.waitForSelector('#conn[data-state="down"]', { timeout: 15_000 });
    expect(await page.locator('#conn').textContent()).toBe('disconnected');
  });
});
