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
     * Stores one provider event and applies its effect in ONE statement, hence one transaction, by
     * calling `record_webhook_event` (migration 006, which explains the dedupe, the lock and why it
     * is a function: its plans are kept per connection). An event for an unknown email still gets
     * its row, with no tenant and no email.
     */
    async record(ev: IncomingWebhookEvent, effect: WebhookEffect): Promise<RecordedWebhookEvent> {
      const moves = Object.keys(effect.transitions).length > 0 ? JSON.stringify(effect.transitions) : null;
      const { rows } = await db.query<{
        was_inserted: boolean;
        found_email_id: string | null;
        found_tenant_id: string | null;
      }>('SELECT * FROM record_webhook_event($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)', [
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
      ]);
      const row = rows[0];
      return {
        duplicate: row?.was_inserted !== true,
        emailId: row?.found_email_id ?? null,
        tenantId: row?.found_tenant_id ?? null,
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
