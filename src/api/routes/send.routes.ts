import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../../domain/errors.js';
import type { SendService } from '../../services/send.service.js';
import { sendContext, tenantOf } from '../plugins/auth.js';
import { AttachmentList } from '../schemas/attachments.js';
import { JsonObject, MailboxInput } from '../schemas/common.js';
import { Accepted } from '../schemas/emails.js';
import { errors } from '../schemas/errors.js';

export const SendBody = Type.Object(
  {
    tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
    recipient: Type.Object(
      {
        email: Type.String({ minLength: 3, maxLength: 254 }),
        name: Type.Optional(Type.String({ maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    template_id: Type.String({ minLength: 1, maxLength: 100 }),
    variables: Type.Optional(JsonObject()),
    metadata: Type.Optional(JsonObject({ maxProperties: 50 })),
    idempotency_key: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    send_at: Type.Optional(
      Type.String({ format: 'date-time', description: 'RFC 3339 time; in the future → scheduled' }),
    ),
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
    list_unsubscribe: Type.Optional(
      Type.Boolean({ description: 'Add one-click List-Unsubscribe headers (bulk mail always has them)' }),
    ),
    attachments: Type.Optional(
      AttachmentList('Files to attach (≤ 10, ATTACHMENTS_MAX_BYTES decoded in all, default 10 MB)'),
    ),
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
  },
  { additionalProperties: false },
);

export const sendRoutes =
  (deps: {
    send: SendService;
    /** The whole body, attachments included. */
    bodyLimit: number;
    /** Everything but the attachments' content (BODY_LIMIT_BYTES, as on every other route). */
    bodyLimitWithoutAttachments: number;
  }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post(
      '/send',
      {
        // Room for the attachments, base64-encoded (a third larger, and line breaks): this route only.
        bodyLimit: deps.bodyLimit,
        // The larger limit is for files only: the rest of the request keeps the usual one. Checked
        // before the schema, so an oversized body is a 413 whatever else is wrong with it.
        preValidation: async (req) => {
          const body = req.body as { attachments?: unknown } | null;
          const files = body && Array.isArray(body.attachments) ? body.attachments : null;
          const size = files
            ? Buffer.byteLength(
                JSON.stringify({
                  ...body,
                  attachments: files.map((a) =>
                    a && typeof a === 'object' ? { ...(a as object), content: undefined } : a,
                  ),
                }),
              )
            : req.headers['content-length'] !== undefined
              ? Number(req.headers['content-length'])
              : Buffer.byteLength(JSON.stringify(body ?? null));
          if (size > deps.bodyLimitWithoutAttachments) throw new AppError('payload_too_large');
        },
        schema: {
          tags: ['sending'],
          summary: 'Send one email from a stored template',
          headers: Type.Object({
            'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          }),
          body: SendBody,
          response: { 202: Accepted, ...errors(413, 422) },
        },
      },
      async (req, reply) => {
        const tenantId = tenantOf(req, req.body.tenant_id);
        const result = await deps.send.accept(
          tenantId,
          req.body,
          req.headers['idempotency-key'],
          sendContext(req),
        );
        return reply.code(202).send(result);
      },
    );
  };
