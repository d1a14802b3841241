import { createHmac } from 'node:crypto';
import {
  checkTimestamp,
  emailIdFrom,
  emailIdFromMessageId,
  eventsOutcome,
  invalid,
  isRecord,
  type ProviderEvent,
  parseJson,
  type ReplayGuard,
  secretsMatch,
  sha256Hex,
  str,
  toDate,
  unauthorized,
  utf8Text,
  type WebhookEventType,
  type WebhookVerifier,
} from '../webhook-verifier.js';

// Mailgun warns that its webhooks can be delayed, so the window is wider than five minutes.
export const MAILGUN_TOLERANCE_SECONDS = 900;

/**
 * Mailgun webhooks: `{signature: {timestamp, token, signature}, "event-data": {...}}`, where
 * signature = hex HMAC-SHA256(signing key, timestamp + token). The signature does not cover the
 * body, so a captured signature could be re-sent with another body: tokens are remembered for the
 * whole tolerance window, and a known token is only accepted again with the very same body (a
 * retry, which the event dedupe then answers as a duplicate).
 */
export function mailgunWebhookVerifier(
  signingKey: string,
  replay: ReplayGuard,
  now = Date.now,
): WebhookVerifier {
  return {
    provider: 'mailgun',
    async receive(request) {
      const text = utf8Text(request.rawBody);
      const json = text === null ? null : parseJson(text);
      const body = json && 'ok' in json && isRecord(json.value) ? json.value : null;
      const sig = body && isRecord(body.signature) ? body.signature : null;
      if (!sig) return unauthorized('the body carries no Mailgun signature');
      const { timestamp, token, signature } = sig;
      if (
        typeof token !== 'string' ||
        token.length < 16 ||
        token.length > 256 ||
        typeof signature !== 'string'
      ) {
        return unauthorized('the Mailgun signature is incomplete');
      }
      const ts = checkTimestamp(
        typeof timestamp === 'number' ? String(timestamp) : (timestamp as string | undefined),
        MAILGUN_TOLERANCE_SECONDS,
        now(),
      );
      if (!ts.ok) return unauthorized(ts.reason);
      const expected = createHmac('sha256', signingKey).update(`${ts.seconds}${token}`).digest('hex');
      if (!secretsMatch(expected, signature.toLowerCase()))
        return unauthorized('the signature does not match');
      const seen = await replay.remember(
        'mailgun',
        token,
        sha256Hex(request.rawBody),
        2 * MAILGUN_TOLERANCE_SECONDS,
      );
      if (seen === 'conflict') return unauthorized('this token was already used with another body');
      return parseMailgunEvent(body?.['event-data']);
    },
  };
}

const TYPES: Record<string, WebhookEventType | null> = {
  accepted: null,
  delivered: 'delivered',
  opened: 'opened',
  clicked: 'clicked',
  complained: 'complained',
  unsubscribed: 'unsubscribed',
  rejected: 'failed',
  stored: null,
};

export function parseMailgunEvent(ev: unknown) {
  if (!isRecord(ev)) return invalid([{ field: 'event-data', message: 'must be an object' }]);
  const id = str(ev.id);
  const kind = str(ev.event);
  const problems = [
    ...(id && id.length <= 255 ? [] : [{ field: 'event-data.id', message: 'must be a string' }]),
    ...(kind ? [] : [{ field: 'event-data.event', message: 'must be a string' }]),
  ];
  if (!id || !kind || problems.length > 0) return invalid(problems);
  let type = TYPES[kind] ?? null;
  const data: Record<string, unknown> = {};
  let bounceType: 'hard' | 'soft' | undefined;
  if (kind === 'failed') {
    const reason = str(ev.reason) ?? '';
    // Mailgun refusing to send to an address on its own suppression lists is not a bounce.
    if (reason.startsWith('suppress-')) type = 'failed';
    else {
      type = 'bounced';
      bounceType = ev.severity === 'permanent' ? 'hard' : 'soft';
      data.bounce_type = bounceType;
    }
    data.reason = reason || null;
    const status = isRecord(ev['delivery-status']) ? ev['delivery-status'] : {};
    if (status.description || status.message) data.diagnostic = status.description || status.message;
  }
  if (ev.url !== undefined) data.url = ev.url;
  data.provider_data = ev;
  const message = isRecord(ev.message) ? ev.message : {};
  const headers = isRecord(message.headers) ? message.headers : {};
  const variables = isRecord(ev['user-variables']) ? ev['user-variables'] : {};
  const event: ProviderEvent = {
    eventId: id,
    providerType: kind,
    type,
    ...(bounceType ? { bounceType } : {}),
    emailId: emailIdFrom(variables.email_id) ?? emailIdFromMessageId(headers['message-id']),
    providerMessageId: str(headers['message-id']),
    occurredAt: toDate(ev.timestamp),
    data,
    payload: ev,
  };
  return eventsOutcome([event]);
}
