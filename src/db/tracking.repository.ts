import type { EmailStatus } from '../domain/email-status.js';
import type { Database } from './database.js';
import { appendEventsFrom } from './email-events.js';

export interface TrackingRecord {
  emailId: string;
  type: 'opened' | 'clicked';
  url: string | null;
  /** Why this hit is a machine's (a HEAD request, its user agent), or null. */
  machineReason: string | null;
  /** A click within this many ms after the email was sent is a machine's; null: no such rule. */
  machineClickWindowMs: number | null;
  userAgent: string | null;
  /** Current status → new status (the precedence rule), applied for a person's hit only. */
  transitions: Partial<Record<EmailStatus, EmailStatus>>;
}

export function trackingRepository(db: Database) {
  return {
    /** The tenant's defaults, overridden by the bulk job's choice when the email is part of one. */
    async defaults(
      tenantId: string,
      bulkJobId: string | null,
    ): Promise<{ opens: boolean; clicks: boolean } | null> {
      const { rows } = await db.query<{ opens: boolean; clicks: boolean }>(
        `SELECT COALESCE(b.track_opens, t.track_opens) AS opens, COALESCE(b.track_clicks, t.track_clicks) AS clicks
           FROM tenants t LEFT JOIN bulk_jobs b ON b.id = $2 AND b.tenant_id = t.id
          WHERE t.id = $1`,
        [tenantId, bulkJobId],
      );
      return rows[0] ?? null;
    },

    /**
     * Appends an `opened` or `clicked` event (its webhook comes with it, through the outbox) and,
     * for a person's first hit, moves the status by precedence. The email's row lock orders
     * concurrent hits, so exactly one is the unique one. False when the email does not exist.
     */
    async record(r: TrackingRecord): Promise<boolean> {
      return db.transaction(async (tx) => {
        // A link exists only in mail that went out, so a hit before the send is recorded (sent_at
        // still NULL: the worker has not written its outcome yet) is as early as a hit can be.
        const { rows } = await tx.query<{ tenant_id: string; status: EmailStatus; early: boolean }>(
          `SELECT tenant_id, status,
                  COALESCE(now() - sent_at < make_interval(secs => $2::double precision / 1000), true) AS early
             FROM emails WHERE id = $1 FOR UPDATE`,
          [r.emailId, r.machineClickWindowMs ?? 0],
        );
        const email = rows[0];
        if (!email) return false;
        const machineReason =
          r.machineReason ?? (r.machineClickWindowMs !== null && email.early ? 'soon_after_sending' : null);
        const human = machineReason === null;
        const { rows: first } = await tx.query<{ unique: boolean }>(
          `SELECT NOT EXISTS (SELECT 1 FROM email_events
                               WHERE email_id = $1 AND type = $2 AND data->>'unique' = 'true') AS unique`,
          [r.emailId, r.type],
        );
        const unique = human && first[0]?.unique === true;
        if (human && Object.keys(r.transitions).length > 0) {
          await tx.query(
            `UPDATE emails SET status = $2::jsonb ->> status, updated_at = now()
              WHERE id = $1 AND $2::jsonb ? status`,
            [r.emailId, JSON.stringify(r.transitions)],
          );
        }
        await tx.query(appendEventsFrom('emails WHERE id = $1', { sql: '$2' }, '$3::jsonb'), [
          r.emailId,
          r.type,
          JSON.stringify({
            ...(r.url !== null ? { url: r.url } : {}),
            user_agent: r.userAgent,
            machine: !human,
            ...(machineReason ? { machine_reason: machineReason } : {}),
            unique,
            source: 'tracking',
          }),
        ]);
        return true;
      });
    },

    async setTenantDefaults(tenantId: string, d: { opens?: boolean; clicks?: boolean }): Promise<boolean> {
      const r = await db.query(
        `UPDATE tenants SET track_opens = COALESCE($2, track_opens), track_clicks = COALESCE($3, track_clicks),
                updated_at = now() WHERE id = $1`,
        [tenantId, d.opens ?? null, d.clicks ?? null],
      );
      return r.rowCount > 0;
    },
  };
}
export type TrackingRepository = ReturnType<typeof trackingRepository>;
