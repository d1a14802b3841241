import type { WebhookEffect, WebhooksRepository } from '../db/webhooks.repository.js';
import { advanceStatus, EMAIL_STATUSES, type EmailStatus } from '../domain/email-status.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';
import type { WebhookVerifiers } from '../providers/webhook-registry.js';
import type { InboundWebhook, ProviderEvent } from '../providers/webhook-verifier.js';

export interface WebhookEventResult {
  event_id: string;
  duplicate: boolean;
  email_id: string | null;
}

/**
 * What `POST /webhooks/{provider}` answers: how many events the request carried, how many of them
 * were already stored, and the outcome of each.
 */
export interface WebhookReceipt {
  received: number;
  duplicates: number;
  results: WebhookEventResult[];
  message?: string;
}

/** The status an event points at; null when it never moves an email (clicks, soft bounces, delays). */
function targetStatus(ev: ProviderEvent): EmailStatus | null {
  switch (ev.type) {
    case 'delivered':
    case 'opened':
    case 'complained':
    case 'failed':
      return ev.type;
    case 'bounced':
      // A soft bounce may still be delivered on a later try; only a hard bounce is final.
      return ev.bounceType === 'hard' ? 'bounced' : null;
    default:
      return null;
  }
}

/**
 * What one event does to its email. The precedence rule (`advanceStatus`) is applied to every
 * status the email could have, so the database can apply it to the status it finds under its row
 * lock, in the same statement as the dedupe.
 */
export function webhookEffect(provider: string, ev: ProviderEvent): WebhookEffect {
  if (ev.type === null) return { event: null, transitions: {}, suppression: null };
  const target = targetStatus(ev);
  const transitions: Partial<Record<EmailStatus, EmailStatus>> = {};
  if (target) {
    for (const current of EMAIL_STATUSES) {
      const next = advanceStatus(current, target);
      if (next !== current) transitions[current] = next;
    }
  }
  const suppressionReason =
    ev.type === 'complained'
      ? 'complaint'
      : ev.type === 'bounced' && ev.bounceType === 'hard'
        ? 'hard_bounce'
        : null;
  return {
    event: {
      type: ev.type,
      // The repository adds the email's metadata and tags, so consumers of events need no join.
      data: {
        ...ev.data,
        provider,
        provider_event_id: ev.eventId,
        ...(ev.providerMessageId ? { provider_message_id: ev.providerMessageId } : {}),
        ...(ev.bounceType ? { bounce_type: ev.bounceType } : {}),
      },
    },
    transitions,
    suppression: suppressionReason
      ? { reason: suppressionReason, source: { provider, event_id: ev.eventId } }
      : null,
  };
}

/** A provider's clock may run ahead; an event is never filed later than it arrived (plus slack). */
const notInFuture = (at: Date | null): Date | null =>
  at && at.getTime() > Date.now() + 5 * 60_000 ? new Date() : at;

export function webhooksService(deps: {
  verifiers: WebhookVerifiers;
  webhooks: WebhooksRepository;
  /** Called once per event stored or recognised as a replay (metrics). */
  onEvent?: (provider: string, type: string, duplicate: boolean) => void;
  /** Why a request was refused (for the log: the caller only ever sees the generic 401). */
  onRefused?: (provider: string, reason: string) => void;
}) {
  return {
    /**
     * Authenticates a provider's request, then stores each event and applies its effect (each
     * event is deduplicated on its own, so a provider's retry of a half-processed request only
     * redoes what is missing). Answers once every event of the request is committed.
     */
    async receive(
      provider: string,
      request: InboundWebhook,
    ): Promise<{ status: 200 | 202; body: WebhookReceipt }> {
      const verifier = deps.verifiers.get(provider);
      if (!verifier) throw new AppError('unknown_provider', `No webhook provider "${provider}"`);
      const outcome = await verifier.receive(request);
      switch (outcome.kind) {
        case 'unauthorized':
          // One answer for every refusal: which secret is missing or which topic was refused
          // would tell a prober what to try next.
          deps.onRefused?.(provider, outcome.reason);
          throw new AppError('invalid_signature');
        case 'invalid':
          throw outcome.malformed
            ? new AppError('malformed_json', undefined, outcome.problems)
            : new AppError('invalid_signature_format', undefined, outcome.problems);
        case 'acknowledged':
          return { status: 200, body: { received: 0, duplicates: 0, results: [], message: outcome.message } };
      }
      // The events go to the repository together: those of one email are written in this order,
      // and those of several requests share a transaction (the repository's batching).
      const results: WebhookEventResult[] = await Promise.all(
        outcome.events.map(async (ev) => {
          const recorded = await deps.webhooks.record(
            {
              provider,
              providerEventId: ev.eventId,
              providerType: ev.providerType,
              emailId: ev.emailId && isUuid(ev.emailId) ? ev.emailId.toLowerCase() : null,
              providerMessageId: ev.providerMessageId,
              occurredAt: notInFuture(ev.occurredAt),
              payload: ev.payload,
            },
            webhookEffect(provider, ev),
          );
          deps.onEvent?.(provider, ev.type ?? 'other', recorded.duplicate);
          return { event_id: ev.eventId, duplicate: recorded.duplicate, email_id: recorded.emailId };
        }),
      );
      const duplicates = results.filter((r) => r.duplicate).length;
      const allSeen = results.length > 0 && duplicates === results.length;
      return { status: allSeen ? 200 : 202, body: { received: results.length, duplicates, results } };
    },
  };
}
export type WebhooksService = ReturnType<typeof webhooksService>;
