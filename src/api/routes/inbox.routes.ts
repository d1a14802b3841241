import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { InboxService } from '../../services/inbox.service.js';
import { tenantOf } from '../plugins/auth.js';
import { IdParams, Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { errors } from '../schemas/errors.js';

const InboxSummary = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  message_id: Type.String(),
  from: Type.String(),
  to: Type.String(),
  subject: Type.String(),
  size: Type.Integer({ description: 'Bytes of the whole message' }),
  received_at: Type.String({ format: 'date-time' }),
});

const InboxMessage = Type.Object({
  ...InboxSummary.properties,
  headers: Type.Array(Type.Object({ name: Type.String(), value: Type.String() }), {
    description: 'Every header line as captured, in order',
  }),
  text: Type.Union([Type.String(), Type.Null()]),
  html: Type.Union([Type.String(), Type.Null()], {
    description: 'Tenant content: show it only in a sandboxed frame',
  }),
  attachments: Type.Array(
    Type.Object({
      filename: Type.Union([Type.String(), Type.Null()]),
      content_type: Type.String(),
      content_id: Type.Union([Type.String(), Type.Null()]),
      size: Type.Integer(),
    }),
  ),
});

export const inboxRoutes =
  (deps: { inbox: InboxService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.inbox;

    app.get(
      '/inbox',
      {
        schema: {
          tags: ['inbox'],
          summary: 'Messages captured instead of delivered (test-mode keys), newest first',
          querystring: Type.Object(
            {
              ...TenantIdQuery.properties,
              ...PageQuery,
              q: Type.Optional(
                Type.String({ maxLength: 200, description: 'Part of the recipient address or the subject' }),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(InboxSummary) },
        },
      },
      async (req) =>
        svc.list(tenantOf(req, req.query.tenant_id), req.query.q, req.query.limit, req.query.cursor),
    );

    app.get(
      '/inbox/:id',
      {
        schema: {
          tags: ['inbox'],
          summary: "A captured message: headers, text, HTML and its attachments' names",
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 200: InboxMessage, ...errors(404) },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.get(
      '/inbox/:id/raw',
      {
        schema: {
          tags: ['inbox'],
          summary: 'A captured message as it would have been sent (message/rfc822)',
          params: IdParams,
          querystring: TenantIdQuery,
          response: {
            200: {
              description: 'The RFC 5322 message',
              content: { 'message/rfc822': { schema: Type.String() } },
            },
            ...errors(404),
          },
        },
      },
      async (req, reply) => {
        const raw = await svc.raw(tenantOf(req, req.query.tenant_id), req.params.id);
        return reply
          .type('message/rfc822')
          .header('content-disposition', `attachment; filename="${req.params.id}.eml"`)
          .send(raw as unknown as string); // bytes as captured; the schema documents a string
      },
    );

    app.delete(
      '/inbox/:id',
      {
        schema: {
          tags: ['inbox'],
          summary: 'Delete a captured message',
          params: IdParams,
          querystring: TenantIdQuery,
          response: { 204: Type.Unsafe<void>({ description: 'Deleted; no body' }), ...errors(404) },
        },
      },
      async (req, reply) => {
        await svc.remove(tenantOf(req, req.query.tenant_id), req.params.id);
        return reply.code(204).send();
      },
    );
  };
