import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SuppressionsService } from '../../services/suppressions.service.js';
import { tenantOf } from '../plugins/auth.js';
import { Page, PageQuery, TenantIdQuery } from '../schemas/common.js';

const Reason = Type.Union([
  Type.Literal('manual'),
  Type.Literal('unsubscribe'),
  Type.Literal('hard_bounce'),
  Type.Literal('complaint'),
]);

const Suppression = Type.Object({
  email: Type.String(),
  reason: Reason,
  created_at: Type.String({ format: 'date-time' }),
});

const EmailParams = Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }) });

export const suppressionsRoutes =
  (deps: { suppressions: SuppressionsService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.suppressions;

    app.get(
      '/suppressions',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'Addresses this tenant never sends to, newest first',
          querystring: Type.Object(
            { ...TenantIdQuery.properties, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: Page(Suppression) },
        },
      },
      async (req) => svc.list(tenantOf(req, req.query.tenant_id), req.query.limit, req.query.cursor),
    );

    app.post(
      '/suppressions',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'Add an address (201); an address already listed answers 200 with its entry',
          body: Type.Object(
            {
              tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
              email: Type.String({ minLength: 3, maxLength: 254 }),
              reason: Type.Optional(Reason),
            },
            { additionalProperties: false },
          ),
          response: { 200: Suppression, 201: Suppression },
        },
      },
      async (req, reply) => {
        const r = await svc.add(tenantOf(req, req.body.tenant_id), req.body.email, req.body.reason);
        return reply.code(r.created ? 201 : 200).send(r.suppression);
      },
    );

    app.get(
      '/suppressions/:email',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'One suppressed address',
          params: EmailParams,
          querystring: TenantIdQuery,
          response: { 200: Suppression },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.email),
    );

    app.delete(
      '/suppressions/:email',
      {
        schema: {
          tags: ['suppressions'],
          summary: 'Remove an address (204); 404 when it is not listed',
          description:
            'Every removal is recorded. An entry the recipient made (unsubscribe, complaint) answers ' +
            '409 suppression_recipient_choice unless `override_recipient_choice=true` is given; the ' +
            'record then marks it as overridden, with the API key and the optional `note`.',
          response: { 204: Type.Unsafe<void>({ description: 'Removed; no body' }) },
          params: EmailParams,
          querystring: Type.Object({
            ...TenantIdQuery.properties,
            override_recipient_choice: Type.Optional(Type.Boolean()),
            note: Type.Optional(Type.String({ maxLength: 500 })),
          }),
        },
      },
      async (req, reply) => {
        await svc.remove(tenantOf(req, req.query.tenant_id), req.params.email, {
          override: req.query.override_recipient_choice ?? false,
          keyId: req.tenant?.keyId ?? null,
          note: req.query.note ?? null,
        });
        return reply.code(204).send();
      },
    );
  };
