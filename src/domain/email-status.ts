/**
 * Email statuses and the order they move in. Statuses only move forward: a later event for an
 * earlier stage (a `delivered` that arrives after `opened`) is recorded but does not move the status.
 */
export const EMAIL_STATUSES = [
  'queued',
  'scheduled',
  'processing',
  'sent',
  'delivered',
  'opened',
  'failed',
  'bounced',
  'complained',
  'suppressed',
  'cancelled',
] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/** Statuses after which nothing is sent any more. */
export const TERMINAL_STATUSES: readonly EmailStatus[] = [
  'sent',
  'delivered',
  'opened',
  'failed',
  'bounced',
  'complained',
  'suppressed',
  'cancelled',
];

/**
 * Statuses from which no later event moves the email (docs/architecture.md, "Statuses only move
 * forward"; the "(final)" rows of docs/webhooks.md).
 */
export const FINAL_STATUSES: readonly EmailStatus[] = [
  'failed',
  'bounced',
  'complained',
  'suppressed',
  'cancelled',
];

/**
 * Statuses in which an email can still change by sending: not yet handed to a provider. A bulk job
 * is complete once none of its emails is in one of these; the console keeps polling them.
 */
export const OPEN_STATUSES: readonly EmailStatus[] = ['queued', 'scheduled', 'processing'];

/**
 * Statuses a cancellation may take an email out of: open and not in a worker's hands (an email in
 * `processing` finishes its attempt).
 */
export const CANCELLABLE_STATUSES: readonly EmailStatus[] = ['queued', 'scheduled'];

/**
 * Statuses only a provider's report can set, each proving the provider took the message: a send
 * outcome that arrives after one of them is still recorded.
 */
export const PROVIDER_REPORTED_STATUSES: readonly EmailStatus[] = [
  'delivered',
  'opened',
  'bounced',
  'complained',
];

const RANK: Record<EmailStatus, number> = {
  scheduled: 0,
  queued: 0,
  processing: 1,
  sent: 2,
  delivered: 3,
  opened: 4,
  // Final outcomes outrank the delivery path: a bounce after `delivered` still means the address is bad.
  bounced: 5,
  complained: 5,
  failed: 5,
  suppressed: 5,
  cancelled: 5,
};

/**
 * The status an email should have after an event that points at `next`. Returns `current` when the
 * event does not move the email forward.
 */
export function advanceStatus(current: EmailStatus, next: EmailStatus): EmailStatus {
  if (FINAL_STATUSES.includes(current)) return current;
  return RANK[next] > RANK[current] ? next : current;
}

export const isEmailStatus = (s: string): s is EmailStatus =>
  (EMAIL_STATUSES as readonly string[]).includes(s);

/** Types of rows in `email_events`. */
export const EMAIL_EVENT_TYPES = [
  'queued',
  'scheduled',
  'processing',
  'sent',
  'deferred',
  'failed',
  'delivered',
  'opened',
  'clicked',
  'bounced',
  'complained',
  'suppressed',
  'cancelled',
  'unsubscribed',
  'retried',
  /** The attempt goes through another provider than the last one (failover, or back). */
  'rerouted',
] as const;
export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];
