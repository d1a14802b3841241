import {
  emailIdFrom,
  eventsOutcome,
  headerValue,
  invalid,
  isRecord,
  type ProviderEvent,
  parseSignedBody,
  secretsMatch,
  sha256Hex,
  str,
  toDate,
  unauthorized,
  type WebhookEventType,
  type WebhookVerifier,
} from '../webhook-verifier.js';

/** The header that carries the shared secret when Basic auth is not used. */
export const POSTMARK_SECRET_HEADER = 'x-webhook-secret';

/**
 * Postmark signs nothing: its webhooks are protected by HTTP Basic credentials in the webhook URL
 * (`https://user:pass@host/webhooks/postmark`) or by a custom header. `WEBHOOK_SECRET_POSTMARK`
 * holds `user:pass` for the first or the header's value for the second; either must match exactly.
 * There is no timestamp, so replays are stopped by the dedupe on each record's identity alone.
 */
export function postmarkWebhookVerifier(secret: string): WebhookVerifier {
  const basic = `Basic ${Buffer.from(secret, 'utf8').toString('base64')}`;
  return {
    provider: 'postmark',
    async receive(request) {
      const auth = headerValue(request, 'authorization');
      const shared = headerValue(request, POSTMARK_SECRET_HEADER);
      const ok =
        (auth !== undefined && secretsMatch(basic, auth)) ||
        (shared !== undefined && secretsMatch(secret, shared));
      if (!ok) return unauthorized('the credentials do not match');
      const parsed = parseSignedBody(request.rawBody);
      if (!('ok' in parsed)) return parsed;
      return parsePostmarkRecord(parsed.value, sha256Hex(request.rawBody));
    },
  };
}

const HARD = new Set(['HardBounce', 'BadEmailAddress', 'ManuallyDeactivated']);
// Bounce records that are not about deliverability (auto-replies, address-change notices…).
const INFORMATIONAL = new Set([
  'AutoResponder',
  'Subscribe',
  'AddressChange',
  'OpenRelayTest',
  'ChallengeVerification',
]);
const FAILED = new Set(['TemplateRenderingFailed', 'SMTPApiError']);

function bounceMeaning(kind: string): { type: WebhookEventType | null; bounceType?: 'hard' | 'soft' } {
  if (HARD.has(kind)) return { type: 'bounced', bounceType: 'hard' };
  if (kind === 'SpamComplaint') return { type: 'complained' };
  if (kind === 'Unsubscribe') return { type: 'unsubscribed' };
  if (INFORMATIONAL.has(kind)) return { type: null };
  if (FAILED.has(kind)) return { type: 'failed' };
  return { type: 'bounced', bounceType: 'soft' };
}

/**
 * One record per request, told apart by `RecordType`. Postmark sends no event id, so each record's
 * identity is built from what makes it unique (a bounce's ID, a message's delivery, an open's time).
 */
export function parsePostmarkRecord(body: unknown, bodyHash: string) {
  if (!isRecord(body)) return invalid([{ field: '(body)', message: 'must be an object' }]);
  const recordType = str(body.RecordType);
  if (!recordType) return invalid([{ field: 'RecordType', message: 'must be a string' }]);
  const messageId = str(body.MessageID);
  let type: WebhookEventType | null = null;
  let bounceType: 'hard' | 'soft' | undefined;
  let identity: unknown[];
  let at: unknown;
  const data: Record<string, unknown> = {};
  switch (recordType) {
    case 'Bounce':
    case 'SpamComplaint': {
      if (typeof body.ID !== 'number' && typeof body.ID !== 'string') {
        return invalid([{ field: 'ID', message: 'is required' }]);
      }
      const kind = str(body.Type) ?? (recordType === 'SpamComplaint' ? 'SpamComplaint' : 'Unknown');
      ({ type, bounceType } = bounceMeaning(kind));
      if (bounceType) data.bounce_type = bounceType;
      data.bounce_kind = kind;
      if (body.Description) data.reason = body.Description;
      if (body.Details) data.diagnostic = body.Details;
      identity = [body.ID];
      at = body.BouncedAt;
      break;
    }
    case 'Delivery':
      type = 'delivered';
      if (body.Details) data.smtp_response = body.Details;
      identity = [messageId, body.Recipient];
      at = body.DeliveredAt;
      break;
    case 'Open':
      type = 'opened';
      identity = [messageId, body.ReceivedAt];
      at = body.ReceivedAt;
      break;
    case 'Click':
      type = 'clicked';
      data.url = body.OriginalLink ?? null;
      identity = [messageId, body.ReceivedAt, body.OriginalLink];
      at = body.ReceivedAt;
      break;
    case 'SubscriptionChange':
      type = body.SuppressSending === true ? 'unsubscribed' : null;
      identity = [messageId, body.ChangedAt, body.SuppressSending];
      at = body.ChangedAt;
      break;
    default:
      identity = [bodyHash];
  }
  if (recordType !== 'Bounce' && recordType !== 'SpamComplaint' && identity[0] === null) {
    return invalid([{ field: 'MessageID', message: 'is required' }]);
  }
  data.provider_data = body;
  const metadata = isRecord(body.Metadata) ? body.Metadata : {};
  const key = identity.map((v) => String(v ?? '')).join(':');
  const event: ProviderEvent = {
    // A click's link can be long; the id must stay a short, stable key.
    eventId: `${recordType}:${key.length > 200 ? sha256Hex(key) : key}`,
    providerType: recordType,
    type,
    ...(bounceType ? { bounceType } : {}),
    emailId: emailIdFrom(metadata.email_id),
    providerMessageId: messageId,
    occurredAt: toDate(at),
    data,
    payload: body,
  };
  return eventsOutcome([event]);
}
