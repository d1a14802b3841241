import type { FastifyRequest } from 'fastify';
import { AppError } from '../../domain/errors.js';
import { bearerToken } from '../../lib/bearer.js';
import {
  type AuthenticatedTenant,
  adminTokenMatches,
  type TenancyService,
} from '../../services/tenancy.service.js';
import type { AuthFailureLimit } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenant: AuthenticatedTenant | null;
  }
}

export const bearer = (req: FastifyRequest): string | undefined => bearerToken(req.headers.authorization);

/**
 * onRequest hook for tenant routes: the API key decides the tenant. With `failures`, failed
 * authentications are limited per client address: past the limit the answer is 429, and until the
 * address may try again only keys seen valid recently are looked up; others cost no query.
 */
export const tenantAuth =
  (tenancy: TenancyService, failures: AuthFailureLimit | null = null) =>
  async (req: FastifyRequest) => {
    const blocked = failures?.blockedFor(req.ip) ?? 0;
    try {
      req.tenant = await tenancy.authenticate(bearer(req), { queryUnknown: blocked === 0 });
    } catch (e) {
      if (!failures || !(e instanceof AppError) || e.code !== 'unauthorized') throw e;
      const wait = blocked > 0 ? blocked : await failures.failed(req.ip);
      if (wait > 0) throw failures.refusal(wait);
      throw e;
    }
  };

/** onRequest hook for /admin routes. */
export const adminAuth = (token: string | null) => async (req: FastifyRequest) => {
  if (token === null) throw new AppError('admin_disabled');
  if (!adminTokenMatches(token, bearer(req))) throw new AppError('admin_unauthorized');
};

/**
 * The tenant of an authenticated request. A `tenant_id` in the body or query (the original
 * contract had one) must name the key's own tenant.
 */
export function tenantOf(req: FastifyRequest, claimed?: string | undefined): string {
  const t = req.tenant;
  if (!t) throw new AppError('unauthorized');
  if (claimed !== undefined && claimed !== t.tenantId) throw new AppError('tenant_mismatch');
  return t.tenantId;
}

/** How the authenticated key sends: test mode (captured only) and the tenant's provider. */
export function sendContext(req: FastifyRequest): { test: boolean; provider: string | null } {
  return { test: req.tenant?.test ?? false, provider: req.tenant?.provider ?? null };
}
