import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ApiKeyRow } from '../../db/api-keys.repository.js';
import type { TenantRow } from '../../db/tenants.repository.js';
import type { TenancyService } from '../../services/tenancy.service.js';
import { adminAuth } from '../plugins/auth.js';
import { ApiKey, ApiKeyCreated, Tenant } from '../schemas/admin.js';
import { Page, PageQuery, UuidString } from '../schemas/common.js';
import { errors } from '../schemas/errors.js';

const TenantId = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Tenant id' });

export const tenantView = (t: TenantRow) => ({
  id: t.id,
  name: t.name,
  status: t.status,
  rate_limit_per_second: t.rate_limit_per_second,
  rate_limit_burst: t.rate_limit_burst,
  created_at: t.created_at.toISOString(),
  updated_at: t.updated_at.toISOString(),
});

export const keyView = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  created_at: k.created_at.toISOString(),
  last_used_at: k.last_used_at?.toISOString() ?? null,
  revoked_at: k.revoked_at?.toISOString() ?? null,
});

export const adminRoutes =
  (deps: {
    tenancy: TenancyService;
    adminApiToken: string | null;
    /** Cancels all of a tenant's open mail (POST /admin/tenants/{id}/cancel-open). */
    cancelOpen?: (tenantId: string) => Promise<{ emails: number; bulkJobs: number }>;
    /** A tenant's open emails (queued or scheduled), shown as held while it is suspended. */
    openEmails?: (tenantId: string) => Promise<number>;
  }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.addHook('onRequest', adminAuth(deps.adminApiToken));
    const { tenancy } = deps;

    app.post(
      '/admin/tenants',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create a tenant',
          body: Type.Object(
            { id: Type.Optional(TenantId), name: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 201: Tenant, ...errors(409) },
        },
      },
      async (req, reply) => reply.code(201).send(tenantView(await tenancy.createTenant(req.body))),
    );

    app.get(
      '/admin/tenants',
      {
        schema: {
          tags: ['admin'],
          summary: 'List tenants',
          querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
          response: { 200: Page(Tenant) },
        },
      },
      async (req) => {
        const rows = await tenancy.listTenants(req.query.limit + 1, req.query.cursor ?? null);
        const more = rows.length > req.query.limit;
        const items = (more ? rows.slice(0, req.query.limit) : rows).map(tenantView);
        return { items, next_cursor: more ? (items[items.length - 1]?.id ?? null) : null };
      },
    );

    app.get(
      '/admin/tenants/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Get a tenant',
          params: Type.Object({ id: Type.String() }),
          response: { 200: Tenant },
        },
      },
      async (req) => {
        const t = await tenancy.getTenant(req.params.id);
        // A suspended tenant's mail is held, not lost: say how much waits for its reactivation.
        const held = t.status === 'suspended' && deps.openEmails ? await deps.openEmails(t.id) : undefined;
        return { ...tenantView(t), ...(held === undefined ? {} : { held_emails: held }) };
      },
    );

    app.patch(
      '/admin/tenants/:id',
      {
        schema: {
          tags: ['admin'],
          summary: 'Suspend, reactivate, rename or set rate limits for a tenant',
          params: Type.Object({ id: Type.String() }),
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
              rate_limit_per_second: Type.Optional(
                Type.Union([Type.Number({ minimum: 0, maximum: 1_000_000 }), Type.Null()]),
              ),
              rate_limit_burst: Type.Optional(
                Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000_000 }), Type.Null()]),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Tenant },
        },
      },
      async (req) => tenantView(await tenancy.updateTenant(req.params.id, req.body)),
    );

    app.post(
      '/admin/tenants/:id/cancel-open',
      {
        schema: {
          tags: ['admin'],
          summary: "Cancel all of a tenant's open mail (queued, scheduled, held, unfanned bulk jobs)",
          description:
            "For mail that must never go out, typically of a suspended tenant (whose mail is otherwise held and sent on reactivation). Emails already in a worker's hands finish their attempt.",
          params: Type.Object({ id: Type.String() }),
          response: {
            200: Type.Object({ cancelled_emails: Type.Integer(), cancelled_bulk_jobs: Type.Integer() }),
            ...errors(404),
          },
        },
      },
      async (req) => {
        const tenant = await tenancy.getTenant(req.params.id);
        const r = deps.cancelOpen ? await deps.cancelOpen(tenant.id) : { emails: 0, bulkJobs: 0 };
        return { cancelled_emails: r.emails, cancelled_bulk_jobs: r.bulkJobs };
      },
    );

    app.post(
      '/admin/tenants/:id/api-keys',
      {
        schema: {
          tags: ['admin'],
          summary: 'Create an API key (the key is shown only in this response)',
          params: Type.Object({ id: Type.String() }),
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 200 }) },
            { additionalProperties: false },
          ),
          response: { 201: ApiKeyCreated },
        },
      },
      async (req, reply) => {
        const k = await tenancy.createApiKey(req.params.id, req.body.name);
        return reply.code(201).send({ ...keyView(k), key: k.key, tenant_id: k.tenant_id });
      },
    );

    app.get(
      '/admin/tenants/:id/api-keys',
      {
        schema: {
          tags: ['admin'],
          summary: "List a tenant's API keys",
          params: Type.Object({ id: Type.String() }),
          response: { 200: Page(ApiKey) },
        },
      },
      async (req) => ({ items: (await tenancy.listApiKeys(req.params.id)).map(keyView), next_cursor: null }),
    );

    app.delete(
      '/admin/tenants/:id/api-keys/:keyId',
      {
        schema: {
          tags: ['admin'],
          summary: 'Revoke an API key',
          params: Type.Object({ id: Type.String(), keyId: UuidString() }),
          response: { 200: ApiKey },
        },
      },
      async (req) => keyView(await tenancy.revokeApiKey(req.params.id, req.params.keyId)),
    );
  };
