import { createStandardWebhooksChecker } from '../standard-webhooks/signature.js';
import {
  emailIdFrom,
  emailIdFromMessageId,
  eventsOutcome,
  headerValue,
  invalid,
  isRecord,
  type ProviderEvent,
  parseSignedBody,
  str,
  toDate,
  unauthorized,
  type WebhookEventType,
  type WebhookVerifier,
} from '../webhook-verifier.js';

/**
 * Resend delivers webhooks through Svix: `svix-id`, `svix-timestamp` and `svix-signature` carry
 * the same HMAC scheme as Standard Webhooks, with a `whsec_` secret. The body has no event id of its
 * own; `svix-id` is the message id Svix keeps across retries, so it is the dedupe key.
 */
export function resendWebhookVerifier(key: Buffer, now = Date.now): WebhookVerifier {
  const check = createStandardWebhooksChecker(key);
  return {
    provider: 'resend',
    async receive(request) {
      const id = headerValue(request, 'svix-id');
      const signed = check(
        {
          id,
          timestamp: headerValue(request, 'svix-timestamp'),
          signature: headerValue(request, 'svix-signature'),
        },
        request.rawBody,
        now(),
      );
      if (!signed.ok || !id) return unauthorized(signed.ok ? 'svix-id is missing' : signed.reason);
      const parsed = parseSignedBody(request.rawBody);
      if (!('ok' in parsed)) return parsed;
      return parseResendEvent(id, parsed.value);
    },
  };
}

const TYPES: Record<string, WebhookEventType | null> = {
  'email.sent': null,
  'email.scheduled': null,
  'email.delivered': 'delivered',
  'email.delivery_delayed': 'deferred',
  'email.complained': 'complained',
  'email.bounced': 'bounced',
  'email.opened': 'opened',
  'email.clicked': 'clicked',
  'email.failed': 'failed',
};

export function parseResendEvent(svixId: string, body: unknown) {
  if (!isRecord(body)) return invalid([{ field: '(body)', message: 'must be an object' }]);
  const kind = str(body.type);
  if (!kind) return invalid([{ field: 'type', message: 'must be a string' }]);
  if (!isRecord(body.data)) return invalid([{ field: 'data', message: 'must be an object' }]);
  const d = body.data;
  const type = TYPES[kind] ?? null;
  const data: Record<string, unknown> = {};
  let bounceType: 'hard' | 'soft' | undefined;
  if (type === 'bounced') {
    const bounce = isRecord(d.bounce) ? d.bounce : {};
    // Resend reports SES's bounce classes; only a Permanent bounce is hard.
    bounceType = bounce.type === undefined || bounce.type === 'Permanent' ? 'hard' : 'soft';
    data.bounce_type = bounceType;
    if (bounce.subType) data.bounce_subtype = bounce.subType;
    if (bounce.message) data.diagnostic = bounce.message;
  }
  if (type === 'clicked' && isRecord(d.click)) data.url = d.click.link ?? null;
  data.provider_data = d;
  const event: ProviderEvent = {
    eventId: svixId,
    providerType: kind,
    type,
    ...(bounceType ? { bounceType } : {}),
    emailId: resendEmailId(d),
    providerMessageId: str(d.email_id),
    occurredAt: toDate(body.created_at),
    data,
    payload: body,
  };
  return eventsOutcome([event]);
}

/**
 * Our email id from what only Mailsystem sets: the `email_id` tag (tags come as an object or as
 * `[{name, value}]`) or our Message-ID among the headers (`[{name, value}]`). Any other header is
 * the tenant's to set, so an `email_id` header is never trusted: it could name another tenant's email.
 */
function resendEmailId(d: Record<string, unknown>): string | null {
  if (isRecord(d.tags)) {
    const id = emailIdFrom(d.tags.email_id);
    if (id) return id;
  }
  for (const [list, wanted] of [
    [d.tags, 'email_id'],
    [d.headers, 'message-id'],
  ] as const) {
    if (!Array.isArray(list)) continue;
    for (const t of list) {
      if (!isRecord(t) || typeof t.name !== 'string' || t.name.toLowerCase() !== wanted) continue;
      const id = wanted === 'email_id' ? emailIdFrom(t.value) : emailIdFromMessageId(t.value);
      if (id) return id;
    }
  }
  return null;
}
