import {
  eventsOutcome,
  type FieldProblem,
  headerValue,
  invalid,
  isRecord,
  type ProviderEvent,
  parseSignedBody,
  toDate,
  unauthorized,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
  type WebhookVerifier,
} from '../webhook-verifier.js';
import { createStandardWebhooksChecker } from './signature.js';

/** At most this many events in one request; a provider batching more must split. */
export const MAX_EVENTS_PER_REQUEST = 1000;

// Our own format: the event vocabulary of docs/webhooks.md ("Our event vocabulary and its effects").
// `deferred` and `unsubscribed` are HTTP providers' words.
const TYPES: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES.filter(
  (t) => t !== 'deferred' && t !== 'unsubscribed',
);
const FIELDS = new Set(['event_id', 'type', 'email_id', 'provider_message_id', 'occurred_at', 'data']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The built-in providers (`smtp`, `mock`): Standard Webhooks signatures over our own event format,
 * `{events: [{event_id, type, email_id?, provider_message_id?, occurred_at, data?}]}` or one event.
 */
export function standardWebhooksVerifier(provider: string, key: Buffer, now = Date.now): WebhookVerifier {
  const check = createStandardWebhooksChecker(key);
  return {
    provider,
    async receive(request) {
      const signed = check(
        {
          id: headerValue(request, 'webhook-id'),
          timestamp: headerValue(request, 'webhook-timestamp'),
          signature: headerValue(request, 'webhook-signature'),
        },
        request.rawBody,
        now(),
      );
      if (!signed.ok) return unauthorized(signed.reason);
      const parsed = parseSignedBody(request.rawBody);
      if (!('ok' in parsed)) return parsed;
      return parseStandardEvents(parsed.value);
    },
  };
}

/** Validates our event format; every problem is reported with its field path. */
export function parseStandardEvents(body: unknown) {
  const problems: FieldProblem[] = [];
  let items: unknown[];
  let prefix: (i: number) => string;
  if (isRecord(body) && 'events' in body) {
    for (const k of Object.keys(body)) {
      if (k !== 'events') problems.push({ field: k, message: 'is not a known field' });
    }
    if (!Array.isArray(body.events)) {
      return invalid([...problems, { field: 'events', message: 'must be an array' }]);
    }
    if (body.events.length > MAX_EVENTS_PER_REQUEST) {
      return invalid([{ field: 'events', message: `must have at most ${MAX_EVENTS_PER_REQUEST} items` }]);
    }
    items = body.events;
    prefix = (i) => `events.${i}.`;
  } else {
    items = [body];
    prefix = () => '';
  }
  const events: ProviderEvent[] = [];
  items.forEach((item, i) => {
    const p = prefix(i);
    const event = parseOne(item, p, problems);
    if (event) events.push(event);
  });
  return problems.length > 0 ? invalid(problems) : eventsOutcome(events);
}

function parseOne(item: unknown, p: string, problems: FieldProblem[]): ProviderEvent | null {
  if (!isRecord(item)) {
    problems.push({ field: p ? p.slice(0, -1) : '(body)', message: 'must be an object' });
    return null;
  }
  const before = problems.length;
  const need = (ok: boolean, field: string, message: string) => {
    if (!ok) problems.push({ field: p + field, message });
  };
  for (const k of Object.keys(item)) need(FIELDS.has(k), k, 'is not a known field');
  const { event_id, type, email_id, provider_message_id, occurred_at, data } = item;
  need(
    typeof event_id === 'string' && event_id.length >= 1 && event_id.length <= 255,
    'event_id',
    'must be a string of 1 to 255 characters',
  );
  need(
    typeof type === 'string' && (TYPES as readonly string[]).includes(type),
    'type',
    `must be one of ${TYPES.join(', ')}`,
  );
  need(
    email_id === undefined || (typeof email_id === 'string' && email_id.length <= 100),
    'email_id',
    'must be a string of at most 100 characters',
  );
  need(
    provider_message_id === undefined ||
      (typeof provider_message_id === 'string' && provider_message_id.length <= 998),
    'provider_message_id',
    'must be a string of at most 998 characters',
  );
  const occurredAt =
    typeof occurred_at === 'string' && RFC3339.test(occurred_at) ? toDate(occurred_at) : null;
  need(occurredAt !== null, 'occurred_at', 'must be an RFC 3339 date-time');
  need(data === undefined || isRecord(data), 'data', 'must be an object');
  const bounceType = isRecord(data) ? data.bounce_type : undefined;
  if (type === 'bounced') {
    need(bounceType === 'hard' || bounceType === 'soft', 'data.bounce_type', 'must be hard or soft');
  }
  if (problems.length > before) return null;
  return {
    eventId: event_id as string,
    providerType: type as string,
    type: type as WebhookEventType,
    ...(type === 'bounced' ? { bounceType: bounceType as 'hard' | 'soft' } : {}),
    emailId: (email_id as string | undefined) ?? null,
    providerMessageId: (provider_message_id as string | undefined) ?? null,
    occurredAt,
    data: (data as Record<string, unknown> | undefined) ?? {},
    payload: item,
  };
}
