import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { Metrics } from '../../observability/metrics.js';
import type { RateLimiter } from '../../ratelimit/rate-limiter.js';
import { sendError } from './errors.js';
import { notFoundRateLimit } from './rate-limit.js';

/**
 * Errors the router raises before any hook runs (a malformed percent-encoding, an over-long path
 * parameter): answered in the API's error shape, without echoing the URL back.
 */
export const frameworkErrors = (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) =>
  sendError(reply, err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'uri_too_long' : 'invalid_url');

/** A client must send its request headers within this time (slow-header attacks). */
export const HEADERS_TIMEOUT_MS = 15_000;

/**
 * The default policy for everything the API serves: JSON needs none of it, and the API docs viewer
 * (/docs) needs no more than its own scripts and styles. The console sets a stricter policy of its
 * own on its pages. No `upgrade-insecure-requests`: a plain-HTTP install on a LAN must keep working.
 */
const API_CSP = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
  },
};

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: API_CSP,
  // Cross-origin isolation would stop the docs viewer from loading; nothing here needs it.
  crossOriginEmbedderPolicy: false,
  referrerPolicy: { policy: 'no-referrer' },
};

/**
 * The headers helmet sets for this policy, worked out once: the policy has no per-request parts
 * (no nonces), so every response carries the same set, and a request pays for copying them only.
 */
export function securityHeaders(options: HelmetOptions = HELMET_OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
    done = true;
  });
  if (!done) throw new Error('helmet did not finish synchronously');
  return headers;
}

export interface SecurityOptions {
  limiter?: RateLimiter | null;
  metrics?: Metrics | null;
}

/**
 * Security headers, header timeouts, the per-address limit on unknown paths, and per-route HTTP
 * metrics. Registered on the root instance before any route.
 */
export function registerSecurity(app: FastifyInstance, opts: SecurityOptions = {}) {
  const headers = securityHeaders();
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(headers);
    done();
  });
  // Fastify sets requestTimeout; the header deadline is Node's own setting on the server.
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;

  const { limiter, metrics } = opts;
  if (limiter)
    app.addHook(
      'preHandler',
      notFoundRateLimit(limiter, () => metrics?.rateLimited('not_found')),
    );
  if (metrics) {
    app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
      // The route pattern, never the raw URL: ids in paths would make every request a new series.
      const route = req.is404 ? '(unmatched)' : (req.routeOptions.url ?? '(unmatched)');
      metrics.http(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
  }
}

/**
 * onRequest hook for tenant routes, after authentication: every later log line names the tenant.
 * The request's logger is already its own (Fastify makes one per request, bound to its id), so the
 * tenant is bound to it in place rather than through one more child.
 */
export function tagLogWithTenant(req: FastifyRequest, reply: FastifyReply, done: () => void) {
  const tenant = req.tenant;
  if (tenant) {
    const log = req.log as FastifyRequest['log'] & { setBindings?: (b: Record<string, unknown>) => void };
    if (log.setBindings) log.setBindings({ tenantId: tenant.tenantId });
    else req.log = reply.log = req.log.child({ tenantId: tenant.tenantId });
  }
  done();
}
