import { type TSchema, Type } from 'typebox';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../../domain/webhook-events.js';

/**
 * The JSON Schema of every event a tenant's endpoint can receive, for the OpenAPI document's
 * `webhooks` section (OpenAPI 3.1). What is sent is built by migration 013's outbox triggers from
 * the `email_events` row: the email's own fields plus the event's specifics listed here.
 */
const Uuid = Type.String({ format: 'uuid' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const EmailFields = {
  email_id: Uuid,
  bulk_job_id: Nullable(Uuid),
  recipient: Type.String({ description: 'The recipient address' }),
  template_id: Uuid,
  tags: Type.Array(Type.String()),
  metadata: Type.Record(Type.String(), Type.Unknown(), { description: 'As given at /send' }),
};

const ProviderFields = {
  provider: Type.String(),
  provider_event_id: Type.Optional(Type.String()),
  provider_message_id: Type.Optional(Type.String()),
};

const specifics: Record<WebhookEventType, { summary: string; data: Record<string, TSchema> }> = {
  'email.queued': {
    summary: 'An email was accepted (or a scheduled one came due: from = "scheduled")',
    data: { send_at: Type.Optional(Type.String({ format: 'date-time' })) },
  },
  'email.sent': {
    summary: 'The relay (or provider) accepted the message',
    data: {
      provider: Type.String(),
      provider_message_id: Nullable(Type.String()),
      attempt: Type.Integer(),
      response: Nullable(Type.String({ description: "The relay's answer, e.g. 250 OK" })),
    },
  },
  'email.delivered': {
    summary: "The recipient's server accepted the message (reported by the provider)",
    data: ProviderFields,
  },
  'email.delivery_delayed': {
    summary: 'A transient failure: the email will be tried again at next_attempt_at',
    data: {
      attempt: Type.Integer(),
      error: Type.String(),
      next_attempt_at: Type.String({ format: 'date-time' }),
    },
  },
  'email.bounced': {
    summary: 'The message bounced (reported by the provider)',
    data: { ...ProviderFields, bounce_type: Type.Optional(Type.String({ description: 'hard or soft' })) },
  },
  'email.complained': { summary: 'The recipient marked the message as spam', data: ProviderFields },
  'email.failed': {
    summary: 'Given up: a permanent failure or retries exhausted (the email is dead-lettered)',
    data: {
      attempt: Type.Integer(),
      error: Type.String(),
      reason: Type.Union([Type.Literal('permanent'), Type.Literal('retries_exhausted')]),
    },
  },
  'email.suppressed': {
    summary: 'Not sent: the recipient is on the suppression list',
    data: { reason: Type.String() },
  },
  'email.opened': {
    summary: 'The tracking pixel was fetched (or the provider reported an open)',
    data: {
      machine: Type.Optional(Type.Boolean({ description: 'A likely machine open (docs/tracking.md)' })),
      user_agent: Type.Optional(Nullable(Type.String())),
    },
  },
  'email.clicked': {
    summary: 'A tracked link was followed',
    data: {
      url: Type.String({ description: 'The original link' }),
      machine: Type.Optional(Type.Boolean({ description: 'A likely machine click (docs/tracking.md)' })),
      user_agent: Type.Optional(Nullable(Type.String())),
    },
  },
  'email.unsubscribed': {
    summary: 'The recipient unsubscribed (List-Unsubscribe)',
    data: { email: Type.String() },
  },
  'bulk.completed': {
    summary: 'Every email of a bulk job has reached a final status',
    data: {},
  },
};

const BulkData = Type.Object({
  bulk_job_id: Uuid,
  template_id: Uuid,
  total: Type.Integer(),
  accepted: Type.Integer(),
  suppressed: Type.Integer({ description: 'Recipients skipped as suppressed' }),
  cancelled: Type.Integer(),
  invalid: Type.Integer(),
  duplicates: Type.Integer(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

export function webhookEventSchema(type: WebhookEventType): TSchema {
  const s = specifics[type];
  return Type.Object(
    {
      type: Type.Literal(type),
      created_at: Type.String({ format: 'date-time', description: 'When the event happened' }),
      data: type === 'bulk.completed' ? BulkData : Type.Object({ ...EmailFields, ...s.data }),
    },
    { description: s.summary },
  );
}

const HEADERS = {
  'webhook-id': { description: 'The delivery id, the same on every attempt (dedupe on it)' },
  'webhook-timestamp': { description: 'Unix seconds of this attempt' },
  'webhook-signature': {
    description: 'v1,<base64 HMAC-SHA256> — several, space-separated, after a rotation',
  },
};

/** The OpenAPI 3.1 `webhooks` object: one entry per event type. */
export function webhooksDocument(): Record<string, unknown> {
  return Object.fromEntries(
    WEBHOOK_EVENT_TYPES.map((type) => [
      type,
      {
        post: {
          summary: specifics[type].summary,
          description:
            'Signed per Standard Webhooks (verify with the endpoint secret, e.g. the standardwebhooks package). ' +
            'Answer 2xx within 10 s; anything else is retried (docs/webhooks.md).',
          tags: ['webhook-events'],
          parameters: Object.entries(HEADERS).map(([name, h]) => ({
            name,
            in: 'header',
            required: true,
            schema: { type: 'string' },
            description: h.description,
          })),
          requestBody: {
            required: true,
            content: { 'application/json': { schema: webhookEventSchema(type) } },
          },
          responses: { '200': { description: 'Received (any 2xx)' } },
        },
      },
    ]),
  );
}
