import { createHash, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../lib/ids.js';
import { findUnstorableText } from '../lib/text-safety.js';

/**
 * WebhookVerifier — the port every provider's webhook endpoint implements (`POST /webhooks/{name}`).
 *
 * Contract:
 * - `receive()` gets the request exactly as it arrived: the raw body bytes and the headers (lower-case
 *   names, as Node gives them). It AUTHENTICATES FIRST, with the provider's own scheme, and reads
 *   the body's meaning only afterwards. A request it cannot authenticate — no secret configured, a
 *   missing, malformed, stale or wrong signature, an untrusted certificate or topic, a replayed
 *   token — is `unauthorized`, and nothing about it may be stored or acted upon.
 * - An authenticated body that is not JSON, or does not have the provider's documented shape, is
 *   `invalid` with the problems found (the API answers 400).
 * - Otherwise the outcome lists the events in our vocabulary. Each carries the provider's own id for
 *   the event (the dedupe key, together with the provider's name), the provider's own type name,
 *   and whatever the payload says about which email it concerns. Events our vocabulary has no word
 *   for come back with `type: null`: they are stored but change nothing.
 * - Control messages that are not events (an SNS subscription handshake) are handled inside the
 *   verifier after authentication and come back as `acknowledged`.
 * - The only side effects allowed are remembering replay tokens and confirming a subscription,
 *   both after the signature checked out.
 * - Never throws because of what a client sent; throws only when a dependency fails (a certificate
 *   host or the database is unreachable), which the API answers with 503 so the provider retries.
 * Not promised: deduplication (the caller's unique key on provider + event id does that), finding
 * the email, or ordering between events.
 */
export interface WebhookVerifier {
  readonly provider: string;
  receive(request: InboundWebhook): Promise<WebhookOutcome>;
}

export interface InboundWebhook {
  rawBody: Buffer;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Our event vocabulary; each is also an `email_events` type. */
export type WebhookEventType =
  | 'delivered'
  | 'opened'
  | 'clicked'
  | 'bounced'
  | 'complained'
  | 'failed'
  | 'deferred'
  | 'unsubscribed';

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'complained',
  'failed',
  'deferred',
  'unsubscribed',
];

export interface ProviderEvent {
  /** The provider's id for this event; unique per provider. */
  eventId: string;
  /** The provider's own name for the event type, stored as given. */
  providerType: string;
  type: WebhookEventType | null;
  /** Only for `bounced`: a hard bounce means the address is bad for good. */
  bounceType?: 'hard' | 'soft';
  /** Our email id, when the payload carries it (custom arguments, metadata, our Message-ID). */
  emailId: string | null;
  providerMessageId: string | null;
  occurredAt: Date | null;
  /** What the email's event shows: normalised fields plus the provider's own data. */
  data: Record<string, unknown>;
  /** The event as the provider sent it. */
  payload: unknown;
}

export interface FieldProblem {
  field: string;
  message: string;
}

export type WebhookOutcome =
  | { kind: 'events'; events: ProviderEvent[] }
  | { kind: 'acknowledged'; message: string }
  | { kind: 'unauthorized'; reason: string }
  | { kind: 'invalid'; malformed: boolean; problems: FieldProblem[] };

/**
 * Remembers single-use tokens (Mailgun signs a token, not the body). `fingerprint` identifies the
 * body the token came with: the same token with the same body is a provider's retry ('same'), with
 * another body it is a replay of a captured signature ('conflict').
 */
export interface ReplayGuard {
  remember(
    provider: string,
    token: string,
    fingerprint: string,
    ttlSeconds: number,
  ): Promise<'new' | 'same' | 'conflict'>;
}

// ---- helpers shared by the provider folders -------------------------------------------------

export const unauthorized = (reason: string): WebhookOutcome => ({ kind: 'unauthorized', reason });

export const eventsOutcome = (events: ProviderEvent[]): WebhookOutcome => ({ kind: 'events', events });

export const invalid = (problems: FieldProblem[], malformed = false): WebhookOutcome => ({
  kind: 'invalid',
  malformed,
  problems,
});

/** One header value; a repeated header counts as missing, since we cannot tell which one was signed. */
export function headerValue(request: InboundWebhook, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Compares secrets in constant time, whatever their lengths. */
export function secretsMatch(expected: string | Buffer, given: string | Buffer): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text when it is valid UTF-8; null otherwise (it then cannot be what was signed). */
export function utf8Text(raw: Buffer): string | null {
  try {
    return utf8.decode(raw);
  } catch {
    return null;
  }
}

/**
 * Parses an authenticated body. Text PostgreSQL cannot store (NUL, lone surrogates) is refused here
 * so that it becomes a 400, never a failed insert.
 */
export function parseJson(text: string, field = '(body)'): { ok: true; value: unknown } | WebhookOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid([{ field, message: 'is not valid JSON' }], true);
  }
  const bad = findUnstorableText(value);
  if (bad) return invalid([{ field: bad, message: 'contains NUL or an unpaired surrogate' }]);
  return { ok: true, value };
}

/** An authenticated body as JSON; bytes that are not UTF-8 are as malformed as bad JSON. */
export function parseSignedBody(raw: Buffer): { ok: true; value: unknown } | WebhookOutcome {
  const text = utf8Text(raw);
  return text === null ? invalid([{ field: '(body)', message: 'is not UTF-8' }], true) : parseJson(text);
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** Our Message-ID is `<email_id@domain>`; finds the email id in one, with or without brackets. */
export function emailIdFromMessageId(messageId: unknown): string | null {
  if (typeof messageId !== 'string') return null;
  const m = /^\s*<?([0-9a-fA-F-]{36})@[^>\s]+>?\s*$/.exec(messageId);
  return m?.[1] && isUuid(m[1]) ? m[1].toLowerCase() : null;
}

/** A uuid-shaped email id from custom arguments or metadata; anything else is ignored. */
export function emailIdFrom(v: unknown): string | null {
  return typeof v === 'string' && isUuid(v) ? v.toLowerCase() : null;
}

/** Unix seconds (number or digit string) or an ISO 8601 string. */
export function toDate(v: unknown): Date | null {
  let d: Date | null = null;
  if (typeof v === 'number' && Number.isFinite(v)) d = new Date(v * 1000);
  else if (typeof v === 'string' && /^\d{1,12}(\.\d+)?$/.test(v)) d = new Date(Number(v) * 1000);
  else if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)) d = new Date(v);
  return d && !Number.isNaN(d.getTime()) ? d : null;
}

/** A `unix seconds` header or field: digits only, and within `toleranceSeconds` of now. */
export function checkTimestamp(
  value: string | undefined,
  toleranceSeconds: number,
  nowMs: number,
): { ok: true; seconds: number } | { ok: false; reason: string } {
  if (value === undefined || !/^\d{1,12}$/.test(value))
    return { ok: false, reason: 'timestamp is missing or not unix seconds' };
  const seconds = Number(value);
  if (Math.abs(nowMs / 1000 - seconds) > toleranceSeconds) {
    return { ok: false, reason: `timestamp is more than ${toleranceSeconds} seconds off` };
  }
  return { ok: true, seconds };
}
