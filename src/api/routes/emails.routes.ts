import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { normalizeEmailAddress } from '../../domain/address.js';
import { EMAIL_STATUSES } from '../../domain/email-status.js';
import { AppError } from '../../domain/errors.js';
import { parseTimeParam } from '../../lib/time.js';
import type { EmailsService } from '../../services/emails.service.js';
import { tenantOf } from '../plugins/auth.js';
import { Page, PageQuery, TenantIdQuery, UuidString } from '../schemas/common.js';
import { Email, EmailCancelled, EmailWithEvents } from '../schemas/emails.js';
import { errors } from '../schemas/errors.js';

const Params = Type.Object({ id: Type.String({ maxLength: 200 }) });

function timeParam(field: 'from' | 'to', value: string): Date {
  const ms = parseTimeParam(value, { endOfDay: field === 'to' });
  if (ms === null) {
    throw new AppError('validation_failed', undefined, [
      { field, message: 'must be an RFC 3339 date-time or a YYYY-MM-DD date' },
    ]);
  }
  return new Date(ms);
}

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
              from: Type.Optional(
                Type.String({
                  maxLength: 40,
                  description: 'Created at or after: RFC 3339 date-time or YYYY-MM-DD',
                }),
              ),
              to: Type.Optional(
                Type.String({
                  maxLength: 40,
                  description: 'Created at or before: RFC 3339 date-time, or a date (to its end)',
                }),
              ),
              bulk_job_id: Type.Optional(UuidString()),
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
            ...(q.from ? { from: timeParam('from', q.from) } : {}),
            ...(q.to ? { to: timeParam('to', q.to) } : {}),
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
