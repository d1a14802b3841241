import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { decodeCursor, page } from '../../db/cursor.js';
import type { SendingDefaults as SendingDefaultsRow } from '../../db/domains.repository.js';
import type { DomainsService } from '../../services/domains.service.js';
import type { SendersService } from '../../services/senders.service.js';
import { tenantOf } from '../plugins/auth.js';
import { IdParams, MailboxInput, Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { Domain, SendingDefaults } from '../schemas/domains.js';
import { errors } from '../schemas/errors.js';

const TenantBody = { tenant_id: Type.Optional(Type.String({ maxLength: 64 })) };

/** Sending identities: the tenant's domains, their DNS records and checks, and default sender. */
export const domainsRoutes =
  (deps: { domains: DomainsService; senders: SendersService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.domains;

    app.post(
      '/domains',
      {
        schema: {
          tags: ['domains'],
          summary: 'Add a sending domain: answers the DNS records to publish (a new DKIM key among them)',
          body: Type.Object(
            {
              ...TenantBody,
              name: Type.String({ minLength: 1, maxLength: 253, description: 'e.g. example.com' }),
              return_path: Type.Optional(
                Type.Union([Type.String({ minLength: 1, maxLength: 63 }), Type.Null()], {
                  description:
                    'A bounce subdomain label (e.g. "bounces"): once its SPF record is found, the envelope sender is bounces@<label>.<name>',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 201: Domain, ...errors(409, 503) },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        return reply.code(201).send(await svc.create(tenantId, req.body));
      },
    );

    app.get(
      '/domains',
      {
        schema: {
          tags: ['domains'],
          summary: 'List the sending domains, newest first (records as of their last check)',
          querystring: Type.Object(
            { ...TenantIdQuery.properties, ...PageQuery },
            { additionalProperties: false },
          ),
          response: { 200: Page(Domain) },
        },
      },
      async (req) => {
        const tenantId = tenantOf(req, req.query.tenant_id);
        const rows = await svc.list(tenantId, req.query.limit, decodeCursor(req.query.cursor));
        return page(
          rows.map((r) => ({ ...r, cursor_ts: r.row.cursor_ts })),
          req.query.limit,
          (r) => r.row.id,
          (r) => r.view,
        );
      },
    );

    app.get(
      '/domains/:id',
      {
        schema: {
          tags: ['domains'],
          summary:
            'A sending domain, record by record: the value expected, what DNS answers now, verified or not',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: Domain },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.post(
      '/domains/:id/verify',
      {
        schema: {
          tags: ['domains'],
          summary: 'Check the DNS records now (a domain given up on is checked again for 72 hours)',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: Domain },
        },
      },
      async (req) => svc.verify(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.post(
      '/domains/:id/rotate-dkim',
      {
        schema: {
          tags: ['domains'],
          summary:
            'Publish a new DKIM key under a new selector; the current key signs until the new record is found',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: Domain, ...errors(409, 503) },
        },
      },
      async (req) => svc.rotateDkim(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.delete(
      '/domains/:id',
      {
        schema: {
          tags: ['domains'],
          summary: 'Remove a sending domain and its keys (mail from it is refused from now on)',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 204: Type.Unsafe<void>({ description: 'Removed; no body' }) },
        },
      },
      async (req, reply) => {
        await svc.remove(tenantOf(req, req.query.tenant_id), req.params.id);
        return reply.code(204).send();
      },
    );

    const defaultsView = (d: SendingDefaultsRow) => ({
      from: d.from_address ?? null,
      reply_to: d.reply_to ?? null,
    });

    app.get(
      '/sending-defaults',
      {
        schema: {
          tags: ['domains'],
          summary: "The tenant's default sender (used when neither the request nor the template names one)",
          querystring: TenantIdQuery,
          response: { 200: SendingDefaults },
        },
      },
      async (req) => defaultsView(await deps.senders.defaults(tenantOf(req, req.query.tenant_id))),
    );

    app.put(
      '/sending-defaults',
      {
        schema: {
          tags: ['domains'],
          summary: "Set the tenant's default sender; its from must be on a verified domain (null clears)",
          body: Type.Object(
            {
              ...TenantBody,
              from: Type.Union([MailboxInput('Default sender'), Type.Null()]),
              reply_to: Type.Optional(Type.Union([MailboxInput('Default Reply-To'), Type.Null()])),
            },
            { additionalProperties: false },
          ),
          response: { 200: SendingDefaults, ...errors(422) },
        },
      },
      async (req) =>
        defaultsView(await deps.senders.setDefaults(tenantOf(req, req.body.tenant_id), req.body)),
    );
  };
