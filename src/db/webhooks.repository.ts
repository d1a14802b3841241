import type { EmailEventType, EmailStatus } from '../domain/email-status.js';
import type { Database } from './database.js';
import type { SuppressionReason } from './suppressions.repository.js';

export interface IncomingWebhookEvent {
  provider: string;
  providerEventId: string;
  /** The provider's own name for the event, stored in provider_webhook_events. */
  providerType: string;
  /** Our email id from the payload (already checked to be a uuid), else null. */
  emailId: string | null;
  providerMessageId: string | null;
  occurredAt: Date | null;
  payload: unknown;
}

/** What one event does to the email it concerns, whatever that email's status turns out to be. */
export interface WebhookEffect {
  /** The email_events row to append (the email's metadata and tags are added), or null. */
  event: { type: EmailEventType; data: Record<string, unknown> } | null;
  /** Current status → new status, for every status this event moves (the precedence rule). */
  transitions: Partial<Record<EmailStatus, EmailStatus>>;
  /** Added for the email's recipient in the email's tenant (the email id is added to the source). */
  suppression: { reason: SuppressionReason; source: Record<string, unknown> } | null;
}

export interface RecordedWebhookEvent {
  duplicate: boolean;
  emailId: string | null;
  tenantId: string | null;
}

export function webhooksRepository(db: Database) {
  return {
    /**
     * Stores one provider event and applies its effect in ONE statement, hence one transaction:
     *  - the email is found by our id when the payload carried one, else by provider + provider
     *    message id (webhooks arrive for no tenant: the email found decides the tenant);
     *  - the insert into provider_webhook_events is the dedupe: a concurrent copy waits on the
     *    unique key (provider, provider_event_id), then inserts nothing, and every effect below is
     *    conditional on that insert;
     *  - the status UPDATE takes the email's row lock and maps the status it finds (the latest one,
     *    after waiting for any concurrent writer) through `transitions`, so precedence holds under
     *    concurrency without a separate SELECT … FOR UPDATE round trip;
     *  - metadata, tags and recipient are read from the email row; they never change after creation.
     * An event for an unknown email still gets its row, with no tenant and no email.
     */
    async record(ev: IncomingWebhookEvent, effect: WebhookEffect): Promise<RecordedWebhookEvent> {
      const moves = Object.keys(effect.transitions).length > 0 ? JSON.stringify(effect.transitions) : null;
      const { rows } = await db.query<{
        inserted: number;
        email_id: string | null;
        tenant_id: string | null;
      }>(
        `WITH target AS (
           (SELECT id, tenant_id, recipient_email, metadata, tags FROM emails WHERE id = $3::uuid)
           UNION ALL
           (SELECT id, tenant_id, recipient_email, metadata, tags FROM emails
             WHERE $4::text IS NOT NULL AND provider = $1 AND provider_message_id = $4
             ORDER BY created_at DESC LIMIT 1)
           LIMIT 1
         ), ins AS (
           INSERT INTO provider_webhook_events
                  (provider, provider_event_id, tenant_id, email_id, type, occurred_at, payload)
           SELECT $1, $2, t.tenant_id, t.id, $5, $6::timestamptz, $7::jsonb
             FROM (SELECT 1) one LEFT JOIN target t ON true
           ON CONFLICT (provider, provider_event_id) DO NOTHING
           RETURNING tenant_id, email_id
         ), upd AS (
           UPDATE emails e SET status = $8::jsonb ->> e.status, updated_at = now()
             FROM ins
            WHERE e.tenant_id = ins.tenant_id AND e.id = ins.email_id AND $8::jsonb ? e.status
         ), ev AS (
           INSERT INTO email_events (email_id, tenant_id, type, at, data)
           SELECT t.id, t.tenant_id, $9, COALESCE($6::timestamptz, now()),
                  $10::jsonb || jsonb_build_object('metadata', t.metadata, 'tags', to_jsonb(t.tags))
             FROM target t
            WHERE $9::text IS NOT NULL AND EXISTS (SELECT 1 FROM ins)
         ), sup AS (
           INSERT INTO suppressions (tenant_id, email, reason, source)
           SELECT t.tenant_id, t.recipient_email, $11, $12::jsonb || jsonb_build_object('email_id', t.id)
             FROM target t
            WHERE $11::text IS NOT NULL AND EXISTS (SELECT 1 FROM ins)
           ON CONFLICT (tenant_id, email) DO NOTHING
         )
         SELECT (SELECT count(*) FROM ins)::int AS inserted,
                (SELECT id FROM target) AS email_id, (SELECT tenant_id FROM target) AS tenant_id`,
        [
          ev.provider,
          ev.providerEventId,
          ev.emailId,
          ev.providerMessageId,
          ev.providerType,
          ev.occurredAt,
          JSON.stringify(ev.payload),
          moves,
          effect.event?.type ?? null,
          effect.event ? JSON.stringify(effect.event.data) : null,
          effect.suppression?.reason ?? null,
          effect.suppression ? JSON.stringify(effect.suppression.source) : null,
        ],
      );
      const row = rows[0];
      return {
        duplicate: (row?.inserted ?? 0) === 0,
        emailId: row?.email_id ?? null,
        tenantId: row?.tenant_id ?? null,
      };
    },

    /**
     * Remembers a single-use token until it expires: 'new' the first time, 'same' when it was
     * seen with this fingerprint, 'conflict' when it came with another one.
     */
    async rememberToken(
      provider: string,
      token: string,
      fingerprint: string,
      ttlSeconds: number,
    ): Promise<'new' | 'same' | 'conflict'> {
      // Expired tokens are cleared now and then rather than on every call.
      if (Math.random() < 0.01) {
        await db.query(
          `DELETE FROM webhook_replay_tokens WHERE ctid IN (
             SELECT ctid FROM webhook_replay_tokens WHERE expires_at < now() LIMIT 1000)`,
        );
      }
      const ins = await db.query(
        `INSERT INTO webhook_replay_tokens (provider, token, fingerprint, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))
         ON CONFLICT (provider, token) DO UPDATE
           SET fingerprint = EXCLUDED.fingerprint, expires_at = EXCLUDED.expires_at
           WHERE webhook_replay_tokens.expires_at < now()
         RETURNING 1`,
        [provider, token, fingerprint, ttlSeconds],
      );
      if (ins.rowCount > 0) return 'new';
      const { rows } = await db.query<{ fingerprint: string }>(
        'SELECT fingerprint FROM webhook_replay_tokens WHERE provider = $1 AND token = $2',
        [provider, token],
      );
      return rows[0]?.fingerprint === fingerprint ? 'same' : 'conflict';
    },
  };
}
export type WebhooksRepository = ReturnType<typeof webhooksRepository>;
