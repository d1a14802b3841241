import {
  emailIdFrom,
  emailIdFromMessageId,
  invalid,
  isRecord,
  type ProviderEvent,
  parseJson,
  str,
  toDate,
  unauthorized,
  utf8Text,
  type WebhookEventType,
  type WebhookVerifier,
} from '../webhook-verifier.js';
import { certificateStore, type HttpGet, readEnvelope, snsUrl, verifyEnvelopeSignature } from './sns.js';

export interface SesWebhookOptions {
  /** `SES_SNS_TOPIC_ARNS`: only these topics are accepted; empty refuses everything. */
  topicArns: readonly string[];
  /** Fetches signing certificates and confirms subscriptions. */
  httpGet: HttpGet;
  now?: () => number;
}

// SNS retries an HTTP endpoint for up to an hour under the longest delivery policy; a signed
// message older than that is a replay. Replays inside the window are caught by the dedupe on MessageId.
const MAX_AGE_SECONDS = 3600 + 300;
const MAX_FUTURE_SECONDS = 300;

/** Amazon SES event publishing (or identity notifications) delivered by Amazon SNS over HTTPS. */
export function sesWebhookVerifier(opts: SesWebhookOptions): WebhookVerifier {
  const now = opts.now ?? Date.now;
  const topics = new Set(opts.topicArns);
  const certificate = certificateStore(opts.httpGet, now);
  return {
    provider: 'ses',
    async receive(request) {
      if (topics.size === 0) return unauthorized('no SNS topic is allowed (SES_SNS_TOPIC_ARNS is empty)');
      // SNS signs fields of its JSON envelope, not the bytes: the envelope must be read to verify it.
      const text = utf8Text(request.rawBody);
      const json = text === null ? null : parseJson(text);
      const env = json && 'ok' in json ? readEnvelope(json.value) : null;
      if (!env) return unauthorized('the body is not a signed SNS message');
      if (!topics.has(env.TopicArn)) return unauthorized('the SNS topic is not in SES_SNS_TOPIC_ARNS');
      const certUrl = snsUrl(env.SigningCertURL, '.pem');
      if (!certUrl) return unauthorized('SigningCertURL is not an https URL on an SNS host');
      const sentAt = Date.parse(env.Timestamp);
      const age = (now() - sentAt) / 1000;
      if (!Number.isFinite(age) || age > MAX_AGE_SECONDS || age < -MAX_FUTURE_SECONDS) {
        return unauthorized('the SNS Timestamp is too old or in the future');
      }
      const key = await certificate(certUrl);
      if (!key) return unauthorized('the signing certificate could not be used');
      if (!verifyEnvelopeSignature(env, key)) return unauthorized('the SNS signature does not match');

      if (env.Type === 'SubscriptionConfirmation') {
        const subscribe = snsUrl(env.SubscribeURL);
        if (!subscribe) return unauthorized('SubscribeURL is not an https URL on an SNS host');
        const res = await opts.httpGet(subscribe);
        if (res.status < 200 || res.status > 299) {
          throw new Error(`SNS answered ${res.status} to the subscription confirmation`);
        }
        return { kind: 'acknowledged', message: `subscribed to ${env.TopicArn}` };
      }
      if (env.Type === 'UnsubscribeConfirmation') {
        return { kind: 'acknowledged', message: `unsubscribed from ${env.TopicArn}` };
      }
      const message = parseJson(env.Message, 'Message');
      if (!('ok' in message)) return message;
      const event = sesEvent(env.MessageId, message.value, toDate(env.Timestamp));
      return event
        ? { kind: 'events', events: [event] }
        : invalid([{ field: 'Message', message: 'is not an SES event' }]);
    },
  };
}

/** Our word for each SES event type (`eventType` in event publishing, `notificationType` otherwise). */
const TYPES: Record<string, WebhookEventType | null> = {
  Bounce: 'bounced',
  Complaint: 'complained',
  Delivery: 'delivered',
  Open: 'opened',
  Click: 'clicked',
  Reject: 'failed',
  'Rendering Failure': 'failed',
  DeliveryDelay: 'deferred',
  Subscription: 'unsubscribed',
  Send: null,
};

// The detail object of each event type, where SES puts the event's own timestamp.
const DETAIL: Record<string, string> = {
  Bounce: 'bounce',
  Complaint: 'complaint',
  Delivery: 'delivery',
  Open: 'open',
  Click: 'click',
  Reject: 'reject',
  'Rendering Failure': 'failure',
  DeliveryDelay: 'deliveryDelay',
  Subscription: 'subscription',
  Send: 'send',
};

/** Maps one SES event; null when it is not one. */
export function sesEvent(snsMessageId: string, msg: unknown, sentAt: Date | null): ProviderEvent | null {
  if (!isRecord(msg)) return null;
  const kind = str(msg.eventType) ?? str(msg.notificationType);
  if (!kind) return null;
  const mail = isRecord(msg.mail) ? msg.mail : {};
  const detailKey = DETAIL[kind];
  const detail = detailKey && isRecord(msg[detailKey]) ? (msg[detailKey] as Record<string, unknown>) : {};
  const type = TYPES[kind] ?? null;
  const data: Record<string, unknown> = {};
  let bounceType: 'hard' | 'soft' | undefined;
  if (kind === 'Bounce') {
    // Undetermined and Transient bounces may still be delivered on a later try: not hard.
    bounceType = detail.bounceType === 'Permanent' ? 'hard' : 'soft';
    data.bounce_type = bounceType;
    data.bounce_subtype = detail.bounceSubType ?? null;
    const first = Array.isArray(detail.bouncedRecipients) ? detail.bouncedRecipients[0] : undefined;
    if (isRecord(first) && first.diagnosticCode) data.diagnostic = first.diagnosticCode;
  } else if (kind === 'Complaint') {
    data.feedback_type = detail.complaintFeedbackType ?? null;
  } else if (kind === 'Delivery') {
    data.smtp_response = detail.smtpResponse ?? null;
  } else if (kind === 'Click') {
    data.url = detail.link ?? null;
  } else if (kind === 'Reject' || kind === 'Rendering Failure') {
    data.reason = detail.reason ?? detail.errorMessage ?? null;
  }
  data.provider_data = msg;
  return {
    eventId: snsMessageId,
    providerType: kind,
    type,
    ...(bounceType ? { bounceType } : {}),
    emailId: sesEmailId(mail),
    providerMessageId: str(mail.messageId),
    occurredAt: toDate(detail.timestamp) ?? toDate(mail.timestamp) ?? sentAt,
    data,
    payload: msg,
  };
}

/** Our id from an `email_id` message tag or from our Message-ID header. */
function sesEmailId(mail: Record<string, unknown>): string | null {
  const tags = isRecord(mail.tags) ? mail.tags : {};
  const tagged = Array.isArray(tags.email_id) ? emailIdFrom(tags.email_id[0]) : null;
  if (tagged) return tagged;
  if (Array.isArray(mail.headers)) {
    for (const h of mail.headers) {
      if (isRecord(h) && typeof h.name === 'string' && h.name.toLowerCase() === 'message-id') {
        const id = emailIdFromMessageId(h.value);
        if (id) return id;
      }
    }
  }
  const common = isRecord(mail.commonHeaders) ? mail.commonHeaders : {};
  return emailIdFromMessageId(common.messageId);
}
