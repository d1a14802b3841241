import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { WebhooksService } from '../../services/webhooks.service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes of a webhook request (only set on `POST /webhooks/:provider`). */
    rawWebhookBody: Buffer | null;
  }
}

const Receipt = Type.Object({
  received: Type.Integer({ description: 'Events in the request' }),
  duplicates: Type.Integer({ description: 'Events that were already stored (no second effect)' }),
  results: Type.Array(
    Type.Object({
      event_id: Type.String(),
      duplicate: Type.Boolean(),
      email_id: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  message: Type.Optional(Type.String()),
});

/**
 * Provider webhooks, outside tenant authentication: each provider authenticates with its own
 * signature scheme. The body is kept as raw bytes in this plugin only (every content type, since
 * SNS posts JSON as text/plain), because a signature covers the exact bytes that were sent.
 */
export const webhooksRoutes =
  (deps: { webhooks: WebhooksService }): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.removeAllContentTypeParsers();
    // The bytes are kept beside the request, not as its body: the app-wide text check walks a body
    // value by value, which for a Buffer means byte by byte (tens of µs per KB). Verifiers check
    // the text themselves once the signature holds.
    app.decorateRequest('rawWebhookBody', null);
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body, done) => {
      req.rawWebhookBody = body as Buffer;
      done(null, undefined);
    });

    app.post(
      '/webhooks/:provider',
      {
        schema: {
          tags: ['webhooks'],
          summary: 'Receive delivery events from an email provider',
          description:
            'smtp and mock: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) over ' +
            '{events: [{event_id, type, email_id?, provider_message_id?, occurred_at, data?}]} or one event. ' +
            'ses (through SNS), sendgrid, mailgun, postmark and resend: their own formats and signatures. ' +
            '202 when something new was stored, 200 when every event was a replay; 401 when the ' +
            'request cannot be authenticated (nothing is stored), 400 when a signed body is malformed.',
          params: Type.Object({ provider: Type.String({ maxLength: 64 }) }),
          response: { 200: Receipt, 202: Receipt },
        },
      },
      async (req, reply) => {
        const rawBody = req.rawWebhookBody ?? Buffer.alloc(0);
        const result = await deps.webhooks.receive(req.params.provider, { rawBody, headers: req.headers });
        return reply.code(result.status).send(result.body);
      },
    );
  };
