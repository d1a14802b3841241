import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * First path segments that belong to the API. A browser that asks for a page under one of them
 * gets the API's answer (JSON), never the console: the console's own routes live after `#`.
 */
export const API_PREFIXES: ReadonlySet<string> = new Set([
  'admin',
  'analytics',
  'bulk',
  'dead-letters',
  'docs',
  'domains',
  'emails',
  'events',
  'health',
  'me',
  'metrics',
  'openapi.json',
  'send',
  'sending-defaults',
  'suppressions',
  'templates',
  'unsubscribe',
  'webhooks',
]);

/** `web/dist` of the package this file belongs to, found from here rather than from the cwd. */
export function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return join(dir, 'web', 'dist');
}

export const consoleIsBuilt = (dir: string) => existsSync(join(dir, 'index.html'));

/**
 * Whether a request that matched no route should get the console's index.html: a GET from a
 * browser (it asks for text/html), for a path outside the API and not naming a file (a missing
 * `/assets/x.js` stays a 404, so a stale page fails loudly instead of parsing HTML as script).
 */
export function wantsConsole(req: FastifyRequest): boolean {
  if (req.method !== 'GET') return false;
  const accept = req.headers.accept ?? '';
  if (!/\btext\/html\b/i.test(accept)) return false;
  const path = (req.url.split('?')[0] ?? '/').replace(/^\/+/, '');
  const first = path.split('/')[0] ?? '';
  if (API_PREFIXES.has(first)) return false;
  return !basename(path).includes('.');
}

// The console talks to its own origin only; template HTML is previewed in an iframe whose
// sandbox is empty, and that document inherits this policy too (so no script runs there either).
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https: http:",
  "font-src 'self' data:",
  "frame-src 'self' about:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function setHeaders(res: FastifyReply, filePath: string) {
  res.header('x-content-type-options', 'nosniff');
  if (filePath.endsWith('.html')) {
    // index.html names the current hashed bundles, so it must never be cached past a deploy.
    res.header('cache-control', 'no-cache');
    res.header('content-security-policy', CONSOLE_CSP);
    res.header('referrer-policy', 'no-referrer');
    res.header('x-frame-options', 'DENY');
  } else if (filePath.includes('/assets/')) {
    res.header('cache-control', 'public, max-age=31536000, immutable');
  } else {
    res.header('cache-control', 'public, max-age=300');
  }
}

/**
 * Serves the built console (`web/dist`) at `/`, with index.html for browser navigations that
 * match nothing else. API routes and the JSON 404 for unknown API paths are left as they are.
 */
export const consolePlugin =
  (dir: string): FastifyPluginAsync =>
  async (app: FastifyInstance) => {
    if (!consoleIsBuilt(dir)) {
      app.log.warn({ dir }, 'the console is not built (no index.html); serving the API only');
      return;
    }
    await app.register(fastifyStatic, {
      root: dir,
      // One route per built file, listed at start-up: no catch-all that could shadow the API.
      wildcard: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders,
    });
    app.get('/*', { schema: { hide: true } }, (req, reply) =>
      wantsConsole(req) ? reply.sendFile('index.html') : reply.callNotFound(),
    );
  };
