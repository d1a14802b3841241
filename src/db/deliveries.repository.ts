import { type EmailStatus, PROVIDER_REPORTED_STATUSES } from '../domain/email-status.js';
import type { Database } from './database.js';
import { appendEventsFrom } from './email-events.js';
import type { EmailRow } from './emails.repository.js';

/** The claimed email with everything a delivery needs. */
export interface ClaimedEmail extends EmailRow {
  subject_template: string;
  html_template: string;
  text_template: string | null;
  /** A bulk job's shared variables (the email's own variables override them); {} otherwise. */
  shared_variables: Record<string, unknown>;
  /** Why the recipient is on the tenant's suppression list now, or null. */
  suppressed_reason: string | null;
  /** Open/click tracking in force at the claim (the email's, else its bulk job's, else the tenant's). */
  track_opens?: boolean | null;
  track_clicks?: boolean | null;
  /** Whether any file is attached (the email's own or its bulk job's); absent: unknown. */
  has_attachments?: boolean;
}

/**
 * The worker's side of `emails`: claims, outcomes, scheduled promotions and what the recovery
 * loop finds due. No tenant in the signatures — a worker acts on the email a job names, and each
 * write is fenced by the email's `attempts` (the claim's token) or its status. Tenant-scoped reads
 * and writes for the API are in emails.repository.ts.
 */
export function deliveriesRepository(db: Database) {
  return {
    /**
     * Claims the email for one delivery attempt: only a queued email that is due, or a processing
     * email whose lease ran out (its worker died), can be claimed. Returns null when another worker
     * holds it or it has moved on — the caller then does nothing. `attempts` after the claim is the
     * fencing token for recording the outcome.
     */
    async claim(
      id: string,
      leaseSeconds: number,
      workerId: string | null = null,
      /**
       * Providers whose circuit breaker is open: their mail is not claimed (no attempt, no event),
       * unless its tenant has fallback providers, which failover then chooses among.
       */
      blockedProviders: readonly string[] = [],
    ): Promise<ClaimedEmail | null> {
      return (await this.claimMany([id], leaseSeconds, workerId, blockedProviders))[0] ?? null;
    },

    /**
     * `claim` for several ids in one statement (the same conditions, row by row): returns the
     * emails claimed, in no particular order; an id missing from the result was not claimed.
     * Rows are locked in index order, so two batches that share ids cannot deadlock.
     */
    async claimMany(
      ids: readonly string[],
      leaseSeconds: number,
      workerId: string | null = null,
      blockedProviders: readonly string[] = [],
    ): Promise<ClaimedEmail[]> {
      if (ids.length === 0) return [];
      // A suspended tenant's mail is held: not claimed, not sent, still queued (docs/operations.md).
      // The statement also answers what the delivery would otherwise ask separately: the tracking
      // choice in force (the email's own, else its bulk job's, else the tenant's) and whether any
      // file is attached.
      const { rows } = await db.query<ClaimedEmail & { resolved_opens: boolean; resolved_clicks: boolean }>(
        `WITH claimed AS (
           UPDATE emails
              SET status = 'processing', attempts = attempts + 1, updated_at = now(),
                  lease_until = now() + make_interval(secs => $2), claimed_by = $3,
                  -- From its first claim on, the email's jobs are its own (recovery: findDue).
                  send_batch = NULL
            WHERE id = ANY($1::uuid[])
              AND ((status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= now() + interval '2 seconds'))
                   OR (status = 'processing' AND lease_until < now()))
              AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = emails.tenant_id AND t.status = 'suspended')
              AND (provider <> ALL($4::text[])
                   OR EXISTS (SELECT 1 FROM tenants t
                               WHERE t.id = emails.tenant_id AND cardinality(t.fallback_providers) > 0))
            RETURNING *
         ), ev AS (
           ${appendEventsFrom('claimed', 'processing', "jsonb_build_object('attempt', claimed.attempts)")}
         )
         SELECT c.*, c.created_at::text AS cursor_ts, v.subject_template, v.html_template, v.text_template,
                coalesce(b.shared_variables, '{}'::jsonb) AS shared_variables, x.reason AS suppressed_reason,
                coalesce(c.track_opens, b.track_opens, t.track_opens) AS resolved_opens,
                coalesce(c.track_clicks, b.track_clicks, t.track_clicks) AS resolved_clicks,
                (EXISTS (SELECT 1 FROM email_attachments a WHERE a.email_id = c.id)
                 OR (c.bulk_job_id IS NOT NULL
                     AND EXISTS (SELECT 1 FROM email_attachments a WHERE a.bulk_job_id = c.bulk_job_id)))
                  AS has_attachments
           FROM claimed c
           JOIN template_versions v ON v.template_id = c.template_id AND v.version = c.template_version
           JOIN tenants t ON t.id = c.tenant_id
           LEFT JOIN bulk_jobs b ON b.id = c.bulk_job_id
           LEFT JOIN suppressions x ON x.tenant_id = c.tenant_id AND x.email = c.recipient_email`,
        [ids, leaseSeconds, workerId, blockedProviders],
      );
      return rows.map(({ resolved_opens, resolved_clicks, ...row }) => ({
        ...row,
        track_opens: resolved_opens,
        track_clicks: resolved_clicks,
      }));
    },

    /**
     * A queued, due email whose provider's breaker is open waits for the next probe without being
     * claimed: only its due time moves (no attempt, no event). `delays` are per provider, in
     * milliseconds. Returns what the next job needs, or null when the email is not such a one.
     */
    async holdForProvider(
      id: string,
      delays: ReadonlyArray<{ provider: string; delayMs: number }>,
    ): Promise<{ attempts: number; bulk: boolean; delayMs: number } | null> {
      const { rows } = await db.query<{ attempts: number; bulk: boolean; delay_ms: number }>(
        `UPDATE emails e SET next_attempt_at = now() + make_interval(secs => d.delay_ms / 1000.0)
           FROM unnest($2::text[], $3::float8[]) AS d(provider, delay_ms)
          WHERE e.id = $1 AND e.provider = d.provider AND e.status = 'queued'
            AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= now() + interval '2 seconds')
          RETURNING e.attempts, e.bulk_job_id IS NOT NULL AS bulk, d.delay_ms`,
        [id, delays.map((d) => d.provider), delays.map((d) => d.delayMs)],
      );
      const r = rows[0];
      return r ? { attempts: r.attempts, bulk: r.bulk, delayMs: r.delay_ms } : null;
    },

    /** Extends a claim that still holds (not expired, not taken over); false when it was lost. */
    async renewClaim(id: string, attempt: number, leaseSeconds: number): Promise<boolean> {
      // A provider's report may overtake the worker (as in markSent): the claim still holds then.
      const { rowCount } = await db.query(
        `UPDATE emails SET lease_until = now() + make_interval(secs => $3)
          WHERE id = $1 AND attempts = $2 AND lease_until > now()
            AND (status = 'processing' OR (status = ANY($4::text[]) AND sent_at IS NULL))`,
        [id, attempt, leaseSeconds, PROVIDER_REPORTED_STATUSES],
      );
      return rowCount > 0;
    },

    /**
     * The attempt in hand goes through `provider` (failover): the email's provider becomes the
     * carrier, so the sent event and the provider's webhooks name it. False when the claim was lost.
     */
    async reroute(id: string, attempt: number, from: string, provider: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `WITH upd AS (
           UPDATE emails SET provider = $3, updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'processing'
            RETURNING id, tenant_id, template_id, attempts
         )
         ${appendEventsFrom('upd', 'rerouted', "jsonb_build_object('from', $4::text, 'to', $3::text, 'attempt', upd.attempts)")}`,
        [id, attempt, provider, from],
      );
      return rowCount > 0;
    },

    /** Records a send accepted by the provider; false when the claim was lost (lease expired). */
    async markSent(
      id: string,
      attempt: number,
      r: { providerMessageId: string; subject: string; response?: string | undefined },
    ): Promise<boolean> {
      const { rowCount } = await db.query(
        `WITH upd AS (
           UPDATE emails SET provider_message_id = $3, subject = $4, sent_at = now(),
                  -- A provider's webhook may have moved the email on (delivered, opened, bounced…)
                  -- before this outcome was written: the send is still recorded, the later status kept.
                  status = CASE WHEN status = 'processing' THEN 'sent' ELSE status END,
                  lease_until = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = now()
            WHERE id = $1 AND attempts = $2
              AND (status = 'processing'
                   OR (status = ANY($6::text[]) AND sent_at IS NULL))
            RETURNING id, tenant_id, template_id, provider, attempts
         )
         ${appendEventsFrom('upd', 'sent', "jsonb_build_object('provider', upd.provider, 'provider_message_id', $3::text, 'attempt', upd.attempts, 'response', $5::text)")}`,
        [id, attempt, r.providerMessageId, r.subject, r.response ?? null, PROVIDER_REPORTED_STATUSES],
      );
      return rowCount > 0;
    },

    /**
     * `markSent` for several emails in one statement (each row under its own fencing token);
     * returns, per item in order, whether its send was recorded. Rows are locked in id order.
     */
    async markSentMany(
      items: ReadonlyArray<{
        id: string;
        attempt: number;
        providerMessageId: string;
        subject: string;
        response?: string | undefined;
      }>,
    ): Promise<boolean[]> {
      if (items.length === 0) return [];
      const { rows } = await db.query<{ id: string; attempts: number }>(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::text[])
                    AS i(id, attempt, provider_message_id, subject, response)
         ), upd AS (
           UPDATE emails e SET provider_message_id = i.provider_message_id, subject = i.subject, sent_at = now(),
                  status = CASE WHEN e.status = 'processing' THEN 'sent' ELSE e.status END,
                  lease_until = NULL, next_attempt_at = NULL, last_error = NULL, updated_at = now()
             FROM (SELECT x.* FROM input x JOIN emails y ON y.id = x.id ORDER BY x.id FOR UPDATE OF y) i
            WHERE e.id = i.id AND e.attempts = i.attempt
              AND (e.status = 'processing'
                   OR (e.status = ANY($6::text[]) AND e.sent_at IS NULL))
            RETURNING e.id, e.tenant_id, e.template_id, e.provider, e.attempts, i.provider_message_id, i.response
         ), ev AS (
           ${appendEventsFrom('upd', 'sent', "jsonb_build_object('provider', upd.provider, 'provider_message_id', upd.provider_message_id, 'attempt', upd.attempts, 'response', upd.response)")}
         )
         SELECT id, attempts FROM upd`,
        [
          items.map((i) => i.id),
          items.map((i) => i.attempt),
          items.map((i) => i.providerMessageId),
          items.map((i) => i.subject),
          items.map((i) => i.response ?? null),
          PROVIDER_REPORTED_STATUSES,
        ],
      );
      const done = new Set(rows.map((r) => `${r.id}.${r.attempts}`));
      return items.map((i) => done.has(`${i.id}.${i.attempt}`));
    },

    /**
     * Puts the email back in the queue after a transient failure. `providerUnavailable`: the
     * provider failed (or its breaker is open), so the attempt is handed back and not counted.
     */
    async markRetry(
      id: string,
      attempt: number,
      error: string,
      delayMs: number,
      providerUnavailable = false,
    ): Promise<'queued' | 'cancelled' | null> {
      // An email of a bulk job cancelled while it was in a worker's hands is not tried again.
      const { rows } = await db.query<{ status: 'queued' | 'cancelled' }>(
        `WITH upd AS (
           UPDATE emails e
              SET status = CASE WHEN b.status = 'cancelled' THEN 'cancelled' ELSE 'queued' END,
                  last_error = $3, lease_until = NULL, updated_at = now(), claimed_by = NULL,
                  provider_deferrals = e.provider_deferrals + CASE WHEN $5 THEN 1 ELSE 0 END,
                  next_attempt_at = CASE WHEN b.status = 'cancelled' THEN NULL
                                         ELSE now() + make_interval(secs => $4 / 1000.0) END
             FROM (SELECT (SELECT status FROM bulk_jobs WHERE id = x.bulk_job_id) AS status
                     FROM emails x WHERE x.id = $1) b
            WHERE e.id = $1 AND e.attempts = $2 AND e.status = 'processing'
            RETURNING e.id, e.tenant_id, e.template_id, e.attempts, e.next_attempt_at, e.status
         ), ev AS (
           ${appendEventsFrom('upd', { sql: "CASE WHEN upd.status = 'cancelled' THEN 'cancelled' ELSE 'deferred' END" }, "jsonb_strip_nulls(jsonb_build_object('attempt', upd.attempts, 'error', $3::text, 'next_attempt_at', upd.next_attempt_at, 'provider_unavailable', CASE WHEN $5 THEN true END))")}
         )
         SELECT status FROM upd`,
        [id, attempt, error, delayMs, providerUnavailable],
      );
      return rows[0]?.status ?? null;
    },

    /**
     * Terminal failure: the email becomes `failed` and a dead letter is written in the same
     * statement. Returns the dead letter id, or null when the claim was lost.
     */
    async markFailed(
      id: string,
      attempt: number,
      error: string,
      reason: 'permanent' | 'retries_exhausted' | 'provider_unavailable',
      deadLetterId: string,
    ): Promise<string | null> {
      const { rows } = await db.query<{ id: string }>(
        `WITH upd AS (
           UPDATE emails SET status = 'failed', last_error = $3, lease_until = NULL, next_attempt_at = NULL,
                  updated_at = now()
            WHERE id = $1 AND attempts = $2 AND status = 'processing'
            RETURNING id, tenant_id, template_id, attempts
         ), ev AS (
           ${appendEventsFrom('upd', 'failed', "jsonb_build_object('attempt', upd.attempts, 'error', $3::text, 'reason', $4::text)")}
         )
         INSERT INTO dead_letters (id, tenant_id, email_id, reason, last_error, attempts)
         SELECT $5, tenant_id, id, $4, $3, attempts FROM upd
         RETURNING id`,
        [id, attempt, error, reason, deadLetterId],
      );
      return rows[0]?.id ?? null;
    },

    /** The recipient was suppressed after the email was accepted: nothing is sent. */
    async markSuppressed(id: string, attempt: number, reason: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `WITH upd AS (
           UPDATE emails SET status = 'suppressed', lease_until = NULL, next_attempt_at = NULL, updated_at = now(),
                  last_error = 'recipient suppressed: ' || $3
            WHERE id = $1 AND attempts = $2 AND status = 'processing'
            RETURNING id, tenant_id, template_id
         )
         ${appendEventsFrom('upd', 'suppressed', "jsonb_build_object('reason', $3::text)")}`,
        [id, attempt, reason],
      );
      return rowCount > 0;
    },

    /** Moves a scheduled email whose time has come to `queued`; true when this call moved it. */
    async promoteScheduled(id: string): Promise<boolean> {
      return (await this.promoteScheduledMany([id])).length > 0;
    },

    /** Milliseconds until a still-scheduled email is due (null when it is not scheduled). */
    async scheduledDueInMs(id: string): Promise<number | null> {
      const { rows } = await db.query<{ ms: number }>(
        `SELECT greatest(0, extract(epoch FROM send_at - now()) * 1000)::float8 AS ms
           FROM emails WHERE id = $1 AND status = 'scheduled'`,
        [id],
      );
      return rows[0]?.ms ?? null;
    },

    /**
     * What the recovery loop must re-dispatch: queued and due for longer than `graceSeconds` (its
     * job should have run by now), processing past its lease (its worker died), scheduled past
     * send_at. Ordered by due time; `after` pages through a large backlog.
     */
    async findDue(graceSeconds: number, limit: number, after: { dueAt: string; id: string } | null = null) {
      // due_at comes back as text: a Date would drop the microseconds, and the next page would
      // start before the last row of this one.
      const { rows } = await db.query<{
        id: string;
        status: EmailStatus;
        attempts: number;
        bulk: boolean;
        /** The key of the shared mail.send job it waits in, if it was never claimed. */
        send_batch: string | null;
        due_at: string;
      }>(
        `SELECT id, status, attempts, bulk, send_batch, due_at::text AS due_at FROM (
           (SELECT id, status, attempts, bulk_job_id IS NOT NULL AS bulk, send_batch, next_attempt_at AS due_at FROM emails
             WHERE status = 'queued' AND next_attempt_at <= now() - make_interval(secs => $1)
               AND ($3::timestamptz IS NULL OR (next_attempt_at, id) > ($3::timestamptz, $4::uuid))
               AND tenant_id NOT IN (SELECT id FROM tenants WHERE status = 'suspended')
             ORDER BY next_attempt_at, id LIMIT $2)
           UNION ALL
           (SELECT id, status, attempts, bulk_job_id IS NOT NULL, send_batch, lease_until FROM emails
             WHERE status = 'processing' AND lease_until < now()
               AND ($3::timestamptz IS NULL OR (lease_until, id) > ($3::timestamptz, $4::uuid))
             ORDER BY lease_until, id LIMIT $2)
           UNION ALL
           (SELECT id, status, attempts, bulk_job_id IS NOT NULL, send_batch, send_at FROM emails
             WHERE status = 'scheduled' AND send_at <= now()
               AND ($3::timestamptz IS NULL OR (send_at, id) > ($3::timestamptz, $4::uuid))
             ORDER BY send_at, id LIMIT $2)
         ) due ORDER BY due.due_at, id LIMIT $2`,
        [graceSeconds, limit, after?.dueAt ?? null, after?.id ?? null],
      );
      return rows;
    },

    /** Promotes every scheduled email in `ids` whose time has come; returns the ids moved. */
    async promoteScheduledMany(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const { rows } = await db.query<{ id: string }>(
        `WITH upd AS (
           UPDATE emails SET status = 'queued', next_attempt_at = now(), updated_at = now()
            WHERE id = ANY($1::uuid[]) AND status = 'scheduled' AND send_at <= now()
            RETURNING id, tenant_id, template_id
         ), ev AS (
           ${appendEventsFrom('upd', 'queued', "jsonb_build_object('from', 'scheduled')")}
         )
         SELECT id FROM upd`,
        [ids],
      );
      return rows.map((r) => r.id);
    },
  };
}
export type DeliveriesRepository = ReturnType<typeof deliveriesRepository>;
