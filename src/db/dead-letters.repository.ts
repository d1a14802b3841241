import type { CursorKey } from './cursor.js';
import type { Database } from './database.js';
import { appendEventsFrom } from './email-events.js';

export interface DeadLetterRow {
  id: string;
  tenant_id: string;
  email_id: string;
  reason: 'permanent' | 'retries_exhausted' | 'provider_unavailable';
  last_error: string | null;
  attempts: number;
  created_at: Date;
  retried_at: Date | null;
  recipient_email: string;
  template_id: string;
  bulk_job_id: string | null;
  email_status: string;
  cursor_ts: string;
}

const SELECT = `
  SELECT d.*, d.created_at::text AS cursor_ts, e.recipient_email, e.template_id, e.bulk_job_id, e.status AS email_status
    FROM dead_letters d JOIN emails e ON e.id = d.email_id`;

export function deadLettersRepository(db: Database) {
  return {
    async list(
      tenantId: string,
      limit: number,
      after: CursorKey | null,
      opts: { includeRetried: boolean },
    ): Promise<DeadLetterRow[]> {
      const { rows } = await db.query<DeadLetterRow>(
        `${SELECT}
          WHERE d.tenant_id = $1 AND ($2 OR d.retried_at IS NULL)
            AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
          ORDER BY d.created_at DESC, d.id DESC LIMIT $5`,
        [tenantId, opts.includeRetried, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    async get(tenantId: string, id: string): Promise<DeadLetterRow | null> {
      const { rows } = await db.query<DeadLetterRow>(`${SELECT} WHERE d.tenant_id = $1 AND d.id = $2`, [
        tenantId,
        id,
      ]);
      return rows[0] ?? null;
    },

    /**
     * Puts the failed email back in the queue with a fresh retry budget. Returns 'retried' with the
     * email id, 'already' when this dead letter was retried before, or null when it is unknown.
     */
    async retry(
      tenantId: string,
      id: string,
    ): Promise<{ outcome: 'retried' | 'already'; emailId: string } | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ email_id: string; retried_at: Date | null }>(
          'SELECT email_id, retried_at FROM dead_letters WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
          [tenantId, id],
        );
        const dl = rows[0];
        if (!dl) return null;
        if (dl.retried_at) return { outcome: 'already', emailId: dl.email_id };
        await tx.query('UPDATE dead_letters SET retried_at = now() WHERE tenant_id = $1 AND id = $2', [
          tenantId,
          id,
        ]);
        const moved = await tx.query(
          `WITH upd AS (
             UPDATE emails e SET status = 'queued', attempts = 0, next_attempt_at = now(), lease_until = NULL,
                    updated_at = now()
              WHERE e.id = $1 AND e.tenant_id = $2 AND e.status = 'failed'
              RETURNING e.id, e.tenant_id, e.template_id
           )
           ${appendEventsFrom('upd', 'retried', "jsonb_build_object('dead_letter_id', $3::text)")}`,
          [dl.email_id, tenantId, id],
        );
        // The email moved on since (a webhook said otherwise): nothing to retry.
        if (moved.rowCount === 0) return { outcome: 'already', emailId: dl.email_id };
        return { outcome: 'retried', emailId: dl.email_id };
      });
    },
  };
}
export type DeadLettersRepository = ReturnType<typeof deadLettersRepository>;
