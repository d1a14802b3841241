import { decodeCursor, page } from '../db/cursor.js';
import type {
  EmailEventRow,
  EmailFilters,
  EmailRow,
  EmailsRepository,
  FeedEventRow,
} from '../db/emails.repository.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';

export interface EmailView {
  email_id: string;
  status: string;
  recipient: { email: string; name: string | null };
  /** The sender chosen at acceptance; null: the installation's SMTP_FROM. */
  from: { email: string; name: string | null } | null;
  reply_to: { email: string; name: string | null } | null;
  template_id: string;
  template_version: number;
  bulk_job_id: string | null;
  subject: string | null;
  metadata: Record<string, unknown>;
  tags: string[];
  attempts: number;
  last_error: string | null;
  provider: string;
  provider_message_id: string | null;
  message_id: string;
  send_at: string | null;
  next_attempt_at: string | null;
  sent_at: string | null;
  created_at: string;
  updated_at: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const emailView = (e: EmailRow): EmailView => ({
  email_id: e.id,
  status: e.status,
  recipient: { email: e.recipient_email, name: e.recipient_name },
  from: e.sender?.from ?? null,
  reply_to: e.sender?.reply_to ?? null,
  template_id: e.template_id,
  template_version: e.template_version,
  bulk_job_id: e.bulk_job_id,
  subject: e.subject,
  metadata: e.metadata,
  tags: e.tags,
  attempts: e.attempts,
  last_error: e.last_error,
  provider: e.provider,
  provider_message_id: e.provider_message_id,
  message_id: e.message_id,
  send_at: iso(e.send_at),
  next_attempt_at: e.status === 'queued' ? iso(e.next_attempt_at) : null,
  sent_at: iso(e.sent_at),
  created_at: e.created_at.toISOString(),
  updated_at: e.updated_at.toISOString(),
});

const eventView = (ev: EmailEventRow) => ({ type: ev.type, at: ev.at.toISOString(), data: ev.data });

const feedEventView = (ev: FeedEventRow) => ({
  id: ev.id,
  email_id: ev.email_id,
  recipient: ev.recipient_email,
  type: ev.type,
  at: ev.at.toISOString(),
  data: ev.data,
});

/** A position in the event feed: opaque to clients, an event id inside. */
const FEED_CURSOR = /^ev:(\d{1,18})$/;
const encodeFeedCursor = (id: string) => Buffer.from(`ev:${id}`).toString('base64url');
function decodeFeedCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return null;
  const m = FEED_CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m?.[1]) throw new AppError('invalid_cursor');
  return m[1];
}

export function emailsService(deps: {
  emails: EmailsRepository;
  /** Whether the provider's circuit breaker is open (mail for it waits). */
  providerDown?: (provider: string) => Promise<boolean>;
}) {
  const find = async (tenantId: string, id: string) => {
    // Another tenant's id and a malformed id answer exactly like an unknown one.
    const row = isUuid(id) ? await deps.emails.get(tenantId, id) : null;
    if (!row) throw new AppError('email_not_found');
    return row;
  };

  return {
    async get(tenantId: string, id: string) {
      const row = await find(tenantId, id);
      const events = await deps.emails.events(tenantId, id);
      // Waiting on a provider whose breaker is open (or that failed): the last thing that
      // happened to a still-queued email was a hand-back for the provider's sake.
      const last = events[events.length - 1];
      const waitingOnProvider =
        row.status === 'queued' &&
        ((last?.type === 'deferred' && last.data?.provider_unavailable === true) ||
          ((await deps.providerDown?.(row.provider).catch(() => false)) ?? false));
      return {
        ...emailView(row),
        waiting_on: waitingOnProvider ? ('provider' as const) : null,
        events: events.map(eventView),
      };
    },

    async list(tenantId: string, filters: EmailFilters, limit: number, cursor: string | undefined) {
      const rows = await deps.emails.list(tenantId, filters, limit, decodeCursor(cursor));
      return page(rows, limit, (r) => r.id, emailView);
    },

    /**
     * The tenant's events in the order they were written, from a position (`cursor`) or, without
     * one, its latest. `next_cursor` is always set: the feed has no end, and asking again with it
     * returns what was written since.
     */
    async eventFeed(tenantId: string, cursor: string | undefined, limit: number) {
      const after = decodeFeedCursor(cursor);
      const rows = await deps.emails.eventFeed(tenantId, after, limit);
      const more = after !== null && rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(feedEventView);
      const last = items[items.length - 1]?.id ?? after ?? '0';
      return { items, next_cursor: encodeFeedCursor(last), has_more: more };
    },

    /** How many of the tenant's emails are open (admin: held while it is suspended). */
    countOpen(tenantId: string) {
      return deps.emails.countOpen(tenantId);
    },

    /** Every open email and unfanned bulk job of the tenant cancelled (admin). */
    cancelOpen(tenantId: string) {
      return deps.emails.cancelOpen(tenantId);
    },

    async cancel(tenantId: string, id: string) {
      if (!isUuid(id)) throw new AppError('email_not_found');
      const r = await deps.emails.cancelScheduled(tenantId, id);
      if (!r) throw new AppError('email_not_found');
      if (!r.cancelled) throw new AppError('email_not_cancellable', undefined, { status: r.status });
      return { email_id: id, status: r.status };
    },
  };
}
export type EmailsService = ReturnType<typeof emailsService>;
