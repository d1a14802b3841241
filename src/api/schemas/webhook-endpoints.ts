import { Type } from 'typebox';
import { WEBHOOK_EVENT_TYPES } from '../../domain/webhook-events.js';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);
const NullableString = Type.Union([Type.String(), Type.Null()]);

export const WebhookEventTypeInput = Type.Unsafe<string>({
  type: 'string',
  enum: ['*', ...WEBHOOK_EVENT_TYPES],
  description: 'An event type, or "*" for every type',
});

export const WebhookEndpoint = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  description: NullableString,
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the endpoint is disabled: by the tenant, or after failing for 5 days',
  }),
  failing_since: Type.Union([Time, Type.Null()], {
    description: 'Start of the current run of failed attempts (null after a success)',
  }),
  previous_secret_expires_at: Type.Union([Time, Type.Null()], {
    description: 'After a rotation: until when the previous secret still signs beside the new one',
  }),
  created_at: Time,
  updated_at: Time,
});

export const WebhookEndpointWithSecret = Type.Object({
  ...WebhookEndpoint.properties,
  secret: Type.String({
    description: 'The signing secret (whsec_…), shown only in this answer: store it now',
  }),
});

export const WebhookDelivery = Type.Object({
  id: Type.String({ format: 'uuid', description: 'The webhook-id header, the same on every attempt' }),
  endpoint_id: Type.String({ format: 'uuid' }),
  type: Type.String(),
  email_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  status: Type.Unsafe<string>({
    type: 'string',
    enum: ['pending', 'succeeded', 'failed'],
    description: 'pending: to be attempted (next_attempt_at); succeeded: a 2xx; failed: given up',
  }),
  attempts: Type.Integer(),
  next_attempt_at: NullableTime,
  last_attempt_at: NullableTime,
  last_status: Type.Union([Type.Integer(), Type.Null()], {
    description: 'HTTP status of the last attempt (null: no answer)',
  }),
  last_error: NullableString,
  last_response: Type.Union([Type.String(), Type.Null()], {
    description: 'The first 1 KB of the last response body',
  }),
  last_latency_ms: Type.Union([Type.Integer(), Type.Null()]),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The JSON body sent' }),
  created_at: Time,
});
