import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { chartsLibraryPath, loadDashboard, packageRoot, registerDashboard } from './routes.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A package root with the real page and stylesheet and the given compiled browser modules. */
function fakeRoot(modules: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'papertape-web-'));
  dirs.push(root);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'papertape' }));
  mkdirSync(join(root, 'src', 'web'), { recursive: true });
  for (const f of ['page.html', 'styles.css', 'favicon.svg']) copyFileSync(join(here, f), join(root, 'src', 'web', f));
  mkdirSync(join(root, 'dist', 'web'), { recursive: true });
  for (const [name, text] of Object.entries(modules)) writeFileSync(join(root, 'dist', 'web', name), text);
  return root;
}

async function serve(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  registerDashboard(app, loadDashboard(root));
  await app.ready();
  return app;
}

describe('dashboard routes', () => {
  it('serve the page with its security headers and the URLs of this build’s assets', async () => {
    const app = await serve(fakeRoot({ 'app.js': 'import "./dom.js";\n', 'dom.js': 'export {};\n' }));
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'self'; style-src 'self';/);
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const version = /src="\/assets\/([0-9a-f]{16})\/app\.js"/.exec(res.body)?.[1];
    expect(version).toBeDefined();
    expect(res.body).toContain(`<link rel="modulepreload" href="/assets/${version}/dom.js">`);
    expect(res.body).toContain(`<link rel="modulepreload" href="/assets/${version}/lightweight-charts.js">`);
    expect(res.body).not.toMatch(/\{\{|<script>|\sstyle=/);
  });

  it('serve each asset with its type, gzip when asked, cached for good under this version only', async () => {
    const app = await serve(fakeRoot({ 'app.js': 'export {};\n' }));
    const version = /\/assets\/([0-9a-f]{16})\//.exec((await app.inject({ url: '/' })).body)![1]!;
    const lib = await app.inject({ url: `/assets/${version}/lightweight-charts.js`, headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(lib.statusCode).toBe(200);
    expect(lib.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(lib.headers['content-encoding']).toBe('gzip');
    expect(lib.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(gunzipSync(lib.rawPayload).toString('utf8')).toMatch(/TradingView Lightweight Charts™ v5\./);
    const plain = await app.inject({ url: `/assets/${version}/lightweight-charts.js` });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toMatch(/export\s*\{[^}]*createChart/);
    const css = await app.inject({ url: `/assets/${version}/styles.css` });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.headers['x-content-type-options']).toBe('nosniff');
    // a page of another build gets today's file, not cached
    const old = await app.inject({ url: '/assets/0123456789abcdef/app.js' });
    expect(old.statusCode).toBe(200);
    expect(old.headers['cache-control']).toBe('no-cache');
    for (const url of [`/assets/${version}/nope.js`, `/assets/${version}/..%2Fpackage.json`, `/assets/${version}/page.html`]) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it('change the assets’ version when a file changes', () => {
    const a = loadDashboard(fakeRoot({ 'app.js': 'export const a = 1;\n' }));
    const b = loadDashboard(fakeRoot({ 'app.js': 'export const a = 2;\n' }));
    const c = loadDashboard(fakeRoot({ 'app.js': 'export const a = 1;\n' }));
    expect(a.version).not.toBe(b.version);
    expect(a.version).toBe(c.version);
  });

  it('answer 503 with the reason when the browser code is not built', async () => {
    const app = await serve(fakeRoot({}));
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/not built.*npm run build/);
    expect(res.headers['content-security-policy']).toBeDefined();
  });

  it('find the package root and the standalone build of the chart library', () => {
    expect(packageRoot(here)).toBe(join(here, '..', '..'));
    expect(packageRoot(join(here, '..', '..', 'dist', 'src', 'web'))).toBe(join(here, '..', '..'));
    expect(chartsLibraryPath()).toMatch(/lightweight-charts[/\\]dist[/\\]lightweight-charts\.standalone\.production\.mjs$/);
  });
});
