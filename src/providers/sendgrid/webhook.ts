import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import {
  checkTimestamp,
  emailIdFrom,
  emailIdFromMessageId,
  eventsOutcome,
  type FieldProblem,
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

const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
const TOLERANCE_SECONDS = 300;

/**
 * The verification key SendGrid shows for a Signed Event Webhook: base64 of a DER
 * SubjectPublicKeyInfo for an ECDSA P-256 key (a PEM is accepted too). Null when it is not one.
 */
export function sendgridPublicKey(secret: string): KeyObject | null {
  try {
    const key = secret.includes('-----BEGIN')
      ? createPublicKey(secret)
      : createPublicKey({ key: Buffer.from(secret, 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
      ? key
      : null;
  } catch {
    return null;
  }
}

/**
 * SendGrid Event Webhook: an ECDSA P-256 / SHA-256 signature (base64 DER) over the timestamp
 * header followed by the raw body. The body is a JSON array of events, deduplicated on `sg_event_id`.
 */
export function sendgridWebhookVerifier(key: KeyObject, now = Date.now): WebhookVerifier {
  return {
    provider: 'sendgrid',
    async receive(request) {
      const signature = headerValue(request, SIGNATURE_HEADER);
      const timestamp = headerValue(request, TIMESTAMP_HEADER);
      if (!signature) return unauthorized('signature header is missing');
      const ts = checkTimestamp(timestamp, TOLERANCE_SECONDS, now());
      if (!ts.ok) return unauthorized(ts.reason);
      const signed = Buffer.concat([Buffer.from(String(ts.seconds)), request.rawBody]);
      let ok = false;
      try {
        ok = verify('sha256', signed, key, Buffer.from(signature, 'base64'));
      } catch {
        ok = false;
      }
      if (!ok) return unauthorized('the signature does not match');
      const parsed = parseSignedBody(request.rawBody);
      if (!('ok' in parsed)) return parsed;
      return parseSendgridEvents(parsed.value);
    },
  };
}

const TYPES: Record<string, WebhookEventType | null> = {
  processed: null,
  dropped: 'failed',
  delivered: 'delivered',
  deferred: 'deferred',
  bounce: 'bounced',
  blocked: 'bounced',
  open: 'opened',
  click: 'clicked',
  spamreport: 'complained',
  unsubscribe: 'unsubscribed',
  group_unsubscribe: 'unsubscribed',
  group_resubscribe: null,
};

const validId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 255;

export function parseSendgridEvents(body: unknown) {
  if (!Array.isArray(body)) return invalid([{ field: '(body)', message: 'must be an array of events' }]);
  const problems: FieldProblem[] = [];
  const events: ProviderEvent[] = [];
  body.forEach((item, i) => {
    if (!isRecord(item) || !validId(item.sg_event_id) || typeof item.event !== 'string') {
      problems.push({ field: `${i}`, message: 'must be an event with sg_event_id and event' });
      return;
    }
    const kind = item.event;
    const type = TYPES[kind] ?? null;
    const data: Record<string, unknown> = {};
    let bounceType: 'hard' | 'soft' | undefined;
    if (type === 'bounced') {
      // `bounce` events are permanent; `blocked` ones (type or legacy event name) are temporary.
      bounceType = kind === 'blocked' || item.type === 'blocked' ? 'soft' : 'hard';
      data.bounce_type = bounceType;
      if (item.bounce_classification) data.bounce_classification = item.bounce_classification;
    }
    for (const [from, to] of [
      ['reason', 'reason'],
      ['status', 'status'],
      ['response', 'response'],
      ['url', 'url'],
      ['useragent', 'user_agent'],
      ['ip', 'ip'],
    ] as const) {
      if (item[from] !== undefined) data[to] = item[from];
    }
    data.provider_data = item;
    const sgMessageId = str(item.sg_message_id);
    events.push({
      eventId: item.sg_event_id,
      providerType: kind,
      type,
      ...(bounceType ? { bounceType } : {}),
      // Our id travels as a custom argument; mail sent through SendGrid's SMTP keeps our Message-ID.
      emailId: emailIdFrom(item.email_id) ?? emailIdFromMessageId(item['smtp-id']),
      // sg_message_id is the X-Message-Id SendGrid answered with, plus a per-recipient suffix.
      providerMessageId: sgMessageId
        ? (/^(.*?)\.(filter|recvd)/.exec(sgMessageId)?.[1] ?? sgMessageId)
        : null,
      occurredAt: toDate(item.timestamp),
      data,
      payload: item,
    });
  });
  return problems.length > 0 ? invalid(problems) : eventsOutcome(events);
}
