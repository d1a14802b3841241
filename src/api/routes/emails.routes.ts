import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { normalizeEmailAddress } from '../../domain/address.js';
import { EMAIL_STATUSES } from '../../domain/email-status.js';
import type { EmailsService } from '../../services/emails.service.js';
import { tenantOf } from '../plugins/auth.js';
import { Page, PageQuery, TenantIdQuery } from '../schemas/common.js';
import { Email, EmailCancelled, EmailWithEvents } from '../schemas/emails.js';
import { errors } from '../schemas/errors.js';

const Params = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const emailsRoutes =
  (deps: { emails: EmailsService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    const svc = deps.emails;

    app.get(
      '/emails/:id',
      {
        schema: {
          tags: ['emails'],
          summary: 'An email with its status and every event',
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: EmailWithEvents },
        },
      },
      async (req) => svc.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.get(
      '/emails',
      {
        schema: {
          tags: ['emails'],
          summary: 'List emails, newest first',
          querystring: Type.Object(
            {
              ...TenantIdQuery.properties,
              status: Type.Optional(Type.Union(EMAIL_STATUSES.map((s) => Type.Literal(s)))),
              recipient: Type.Optional(Type.String({ maxLength: 254 })),
              from: Type.Optional(Type.String({ format: 'date-time' })),
              to: Type.Optional(Type.String({ format: 'date-time' })),
              bulk_job_id: Type.Optional(Type.String({ format: 'uuid' })),
              ...PageQuery,
            },
            { additionalProperties: false },
          ),
          response: { 200: Page(Email) },
        },
      },
      async (req) => {
        const q = req.query;
        const tenantId = tenantOf(req, q.tenant_id);
        return svc.list(
          tenantId,
          {
            ...(q.status ? { status: q.status } : {}),
            ...(q.recipient ? { recipient: normalizeEmailAddress(q.recipient) } : {}),
            ...(q.from ? { from: new Date(q.from) } : {}),
            ...(q.to ? { to: new Date(q.to) } : {}),
            ...(q.bulk_job_id ? { bulkJobId: q.bulk_job_id } : {}),
          },
          q.limit,
          q.cursor,
        );
      },
    );

    app.post(
      '/emails/:id/cancel',
      {
        schema: {
          tags: ['emails'],
          summary: 'Cancel a scheduled email (409 once it is past scheduled)',
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: EmailCancelled, ...errors(409) },
        },
      },
      async (req) => svc.cancel(tenantOf(req, req.query.tenant_id), req.params.id),
    );
  };
