import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../domain/errors.js';
import type { BulkService } from '../../services/bulk.service.js';
import { MAX_BULK_RECIPIENTS } from '../../services/bulk.service.js';
import { sendContext, tenantOf } from '../plugins/auth.js';
import { AttachmentList } from '../schemas/attachments.js';
import { BulkAccepted, BulkJob } from '../schemas/bulk.js';
import { JsonObject, MailboxInput, TenantIdQuery } from '../schemas/common.js';
import { errors } from '../schemas/errors.js';

export const BulkBody = Type.Object(
  {
    tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
    template_id: Type.String({ minLength: 1, maxLength: 100 }),
    recipients: Type.Array(
      Type.Object(
        {
          // Not checked as an address here: invalid addresses are reported in the job, not fatal.
          email: Type.String({ maxLength: 320 }),
          name: Type.Optional(Type.String({ maxLength: 200 })),
          variables: Type.Optional(JsonObject({ maxProperties: 200 })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_BULK_RECIPIENTS },
    ),
    shared_variables: Type.Optional(JsonObject()),
    metadata: Type.Optional(JsonObject({ maxProperties: 50 })),
    track_opens: Type.Optional(
      Type.Boolean({
        description: "Add an open-tracking pixel (default: the tenant's setting; docs/tracking.md)",
      }),
    ),
    track_clicks: Type.Optional(
      Type.Boolean({
        description: "Rewrite links to record clicks (default: the tenant's setting; docs/tracking.md)",
      }),
    ),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    send_at: Type.Optional(Type.String({ format: 'date-time' })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20 })),
    headers: Type.Optional(
      Type.Record(Type.String({ maxLength: 76 }), Type.String({ maxLength: 998 }), { maxProperties: 50 }),
    ),
    from: Type.Optional(
      MailboxInput(
        "The sender; its domain must be a verified domain of the tenant (or under one). Default: the template's, then the tenant's sending defaults, then SMTP_FROM",
      ),
    ),
    reply_to: Type.Optional(MailboxInput("The Reply-To address; default: the template's, then the tenant's")),
    shared_attachments: Type.Optional(
      AttachmentList('Files every recipient gets, stored once for the job (limits as for /send)'),
    ),
  },
  { additionalProperties: false },
);

const Params = Type.Object({ id: Type.String({ maxLength: 200 }) });

export const bulkRoutes =
  (deps: { bulk: BulkService; bodyLimit: number; maxInFlight?: number }): FastifyPluginAsyncTypebox =>
  async (app) => {
    // A bulk request costs a few hundred MB of memory while it is parsed and stored; a few at once
    // per process, and the rest are asked to come back, rather than running out of heap.
    let inFlight = 0;
    const maxInFlight = deps.maxInFlight ?? 2;
    app.post(
      '/send/bulk',
      {
        bodyLimit: deps.bodyLimit,
        onRequest: async (req, reply) => {
          if (inFlight >= maxInFlight) {
            throw new AppError(
              'service_unavailable',
              'Too many bulk sends are being accepted; retry shortly',
              undefined,
              {
                'retry-after': '2',
              },
            );
          }
          inFlight++;
          reply.raw.once('close', () => {
            inFlight--;
          });
          req.log.debug({ inFlight }, 'bulk request accepted for parsing');
        },
        schema: {
          tags: ['sending'],
          summary: 'Send one template to up to 100,000 recipients',
          description:
            'Answers once the job is stored; emails are created and sent by the workers. Invalid and ' +
            'duplicate addresses and recipients missing template variables are reported in the job; ' +
            'suppressed addresses are skipped and counted.',
          headers: Type.Object({
            'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          }),
          body: BulkBody,
          response: { 202: BulkAccepted, ...errors(413, 422, 503) },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        return reply
          .code(202)
          .send(await deps.bulk.accept(tenantId, req.body, req.headers['idempotency-key'], sendContext(req)));
      },
    );

    app.get(
      '/bulk/:id',
      {
        schema: {
          tags: ['sending'],
          summary: 'A bulk job with live counts',
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: BulkJob },
        },
      },
      async (req) => deps.bulk.get(tenantOf(req, req.query.tenant_id), req.params.id),
    );

    app.post(
      '/bulk/:id/cancel',
      {
        schema: {
          tags: ['sending'],
          summary: 'Cancel what has not been sent yet (409 once the job has finished)',
          params: Params,
          querystring: TenantIdQuery,
          response: { 200: BulkJob, ...errors(409) },
        },
      },
      async (req) => deps.bulk.cancel(tenantOf(req, req.query.tenant_id), req.params.id),
    );
  };
