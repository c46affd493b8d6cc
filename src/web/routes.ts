import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../core/package-root.js';

export { packageRoot };

/**
 * Headers of the dashboard's page and assets. The page loads only its own files (no inline script or
 * style, no CDN: the charting library is served from node_modules by this server), cannot be framed, and
 * sends no referrer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};


/** The standalone production build of Lightweight Charts (an ES module with no imports), from node_modules. */
export function chartsLibraryPath(): string {
  const pkg = createRequire(import.meta.url).resolve('lightweight-charts/package.json');
  return join(dirname(pkg), 'dist', 'lightweight-charts.standalone.production.mjs');
}

function asset(body: Buffer, name: string): Asset {
  const ext = name.slice(name.lastIndexOf('.'));
  const gz = body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
  return { body, gzip: gz && gz.length < body.length ? gz : null, type: TYPES[ext] ?? 'application/octet-stream' };
}

export interface Dashboard {
  /** the page, or why it cannot be shown */
  page: { ok: true; html: string } | { ok: false; message: string };
  /** file name -> asset, served under /assets/<version>/ */
  assets: Map<string, Asset>;
  /** content hash of every asset: their URLs change when any file does, so they can be cached for good */
  version: string;
}

/**
 * Reads the dashboard once: the page and stylesheet from src/web, the compiled browser modules from
 * dist/web (`npm run build`), the charting library from node_modules.
 */
export function loadDashboard(root = packageRoot()): Dashboard {
  const assets = new Map<string, Asset>();
  const problems: string[] = [];
  const web = join(root, 'src', 'web');
  for (const f of ['styles.css', 'favicon.svg']) {
    try {
      assets.set(f, asset(readFileSync(join(web, f)), f));
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message}`);
    }
  }
  const client = join(root, 'dist', 'web');
  const modules = existsSync(client) ? readdirSync(client).filter((f) => f.endsWith('.js')).sort() : [];
  for (const f of modules) assets.set(f, asset(readFileSync(join(client, f)), f));
  if (!modules.includes('app.js')) problems.push(`the browser code is not built (${join('dist', 'web', 'app.js')} missing): run npm run build`);
  try {
    assets.set('lightweight-charts.js', asset(readFileSync(chartsLibraryPath()), 'lightweight-charts.js'));
  } catch (e) {
    problems.push(`lightweight-charts: ${(e as Error).message} (run npm install)`);
  }
  const h = createHash('sha256');
  for (const [name, a] of [...assets].sort(([x], [y]) => x.localeCompare(y))) h.update(name).update('\0').update(a.body);
  const version = h.digest('hex').slice(0, 16);
  let page: Dashboard['page'];
  try {
    const base = `/assets/${version}`;
    const preload = ['lightweight-charts.js', ...modules.filter((m) => m !== 'app.js')]
      .map((m) => `<link rel="modulepreload" href="${base}/${m}">`)
      .join('\n');
    const html = readFileSync(join(web, 'page.html'), 'utf8').replaceAll('{{ASSETS}}', base).replace('{{PRELOAD}}', preload);
    page = problems.length === 0 ? { ok: true, html } : { ok: false, message: problems.join('\n') };
  } catch (e) {
    page = { ok: false, message: [...problems, `page.html: ${(e as Error).message}`].join('\n') };
  }
  return { page, assets, version };
}

function secure(reply: FastifyReply): FastifyReply {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
  return reply;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The dashboard as read at the first registration (files do not change under a running process). */
let loaded: Dashboard | undefined;

/**
 * The web dashboard: GET / (the page) and GET /assets/<version>/<file> (its stylesheet, browser modules
 * and the charting library). Read-only like the other GET endpoints; the controls it shows call the
 * authenticated POST endpoints with the token the user enters.
 */
export function registerDashboard(app: FastifyInstance, dashboard: Dashboard = (loaded ??= loadDashboard())): void {
  const { page, assets, version } = dashboard;

  // not API routes: left out of the OpenAPI document
  const hide = { schema: { hide: true } };
  app.get('/', hide, async (_req, reply) => {
    secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (page.ok) return reply.send(page.html);
    return reply
      .status(503)
      .send(`<!doctype html><meta charset="utf-8"><title>Papertape</title><h1>Dashboard unavailable</h1><pre>${escapeHtml(page.message)}</pre>`);
  });

  app.get('/assets/:version/:file', hide, async (req: FastifyRequest<{ Params: { version: string; file: string } }>, reply) => {
    const a = assets.get(req.params.file);
    secure(reply);
    if (!a) return reply.status(404).send({ error: { code: 'not_found', message: `no asset ${req.params.file}` } });
    // this build's URLs never change content; a page of an older build gets today's files, uncached
    reply.header('cache-control', req.params.version === version ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('vary', 'accept-encoding').type(a.type);
    const accept = req.headers['accept-encoding'];
    if (a.gzip && typeof accept === 'string' && /\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(a.gzip);
    return reply.send(a.body);
  });
}
