import type { FastifyInstance, RouteOptions } from 'fastify';
import { errors } from './errors.js';

type Audience = 'tenant' | 'admin' | 'public';

const SECURITY: Record<Audience, Array<Record<string, string[]>>> = {
  tenant: [{ apiKey: [] }],
  admin: [{ adminToken: [] }],
  public: [],
};

/**
 * Fills in what every documented route shares, so that route files only describe what is theirs:
 * the security scheme, and the error responses that follow from the route's shape (a body can
 * be malformed, too large or of the wrong type; a path id can be unknown; a tenant route can be
 * unauthenticated, forbidden or rate limited). A route's own `response` entries win.
 */
export function describeRoute(audience: Audience) {
  return (route: RouteOptions) => {
    const schema = route.schema as
      | (Record<string, unknown> & { response?: Record<string, unknown> })
      | undefined;
    if (!schema || schema.hide) return;
    const who: Audience = audience === 'public' && route.url.startsWith('/admin') ? 'admin' : audience;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const hasBody =
      methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH') && schema.body !== undefined;
    const statuses = [500];
    if (hasBody) statuses.push(400, 413, 415);
    if (schema.querystring || schema.params || schema.headers) statuses.push(400);
    if (route.url.includes(':')) statuses.push(404);
    if (who === 'tenant') statuses.push(401, 403, 429);
    if (who === 'admin') statuses.push(401, 403);
    route.schema = {
      ...(schema as RouteOptions['schema']),
      // Root hooks run before a scope's own: a tenant scope's call overrides the public default.
      security: audience === 'public' && Array.isArray(schema.security) ? schema.security : SECURITY[who],
      response: { ...errors(...new Set(statuses)), ...schema.response },
    };
  };
}

export interface RegisteredRoute {
  method: string;
  url: string;
  /** Left out of the OpenAPI document (the document itself, the docs viewer, console files). */
  hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, as the router has it; what the OpenAPI document is checked against. */
    routeCatalogue: RegisteredRoute[];
  }
}

/** Root-level documentation defaults; tenant routes add `describeRoute('tenant')` in their scope. */
export function registerRouteDocs(app: FastifyInstance) {
  const catalogue: RegisteredRoute[] = [];
  app.decorate('routeCatalogue', catalogue);
  app.addHook('onRoute', describeRoute('public'));
  app.addHook('onRoute', (route) => {
    const hidden = Boolean((route.schema as { hide?: boolean } | undefined)?.hide);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      catalogue.push({ method, url: route.url, hidden });
    }
  });
}
