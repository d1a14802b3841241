/**
 * The events a tenant's webhook endpoints can subscribe to (docs/webhooks.md, "Outbound
 * webhooks"). Most report an `email_events` row; the mapping lives in migration 013
 * (`webhook_event_type`), which the outbox trigger uses.
 */
export const WEBHOOK_EVENT_TYPES = [
  'email.queued',
  'email.sent',
  'email.delivered',
  'email.delivery_delayed',
  'email.bounced',
  'email.complained',
  'email.failed',
  'email.suppressed',
  'email.opened',
  'email.clicked',
  'email.unsubscribed',
  'bulk.completed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by POST /webhook-endpoints/{id}/test only; never subscribed to. */
export const WEBHOOK_TEST_EVENT = 'webhook.test';

export const isWebhookEventType = (s: string): s is WebhookEventType =>
  (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);

/** Whether a failed attempt is worth another: no answer, a connection error, 429 or 5xx. */
export const isRetryableWebhookFailure = (status: number | null): boolean =>
  status === null || status === 429 || status >= 500;

/** An endpoint whose every attempt failed for this long is disabled. */
export const WEBHOOK_DISABLE_AFTER_SECONDS = 5 * 86_400;
/** After a rotation the old secret signs beside the new one this long. */
export const WEBHOOK_SECRET_GRACE_SECONDS = 86_400;
