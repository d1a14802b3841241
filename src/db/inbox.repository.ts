import type { CursorKey } from './cursor.js';
import type { Database } from './database.js';

export interface InboxRow {
  id: string;
  tenant_id: string;
  email_id: string | null;
  message_id: string;
  from_addr: string;
  to_addr: string;
  subject: string;
  size: number;
  created_at: Date;
  cursor_ts: string;
}

export interface InboxMessageRow extends InboxRow {
  raw: Buffer;
}

const COLUMNS = `id, tenant_id, email_id, message_id, from_addr, to_addr, subject, size, created_at,
  created_at::text AS cursor_ts`;

export function inboxRepository(db: Database) {
  return {
    /**
     * Keeps the message for the tenant of email `emailId` (one per email: a repeated attempt
     * replaces it). Returns its id, or null when no such email exists.
     */
    async capture(c: {
      id: string;
      emailId: string;
      messageId: string;
      from: string;
      to: string;
      subject: string;
      raw: Buffer;
    }): Promise<string | null> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO inbox_messages (id, tenant_id, email_id, message_id, from_addr, to_addr, subject, raw, size)
         SELECT $1, e.tenant_id, e.id, $3, $4, $5, $6, $7, $8 FROM emails e WHERE e.id = $2
         ON CONFLICT (email_id) DO UPDATE
           SET raw = EXCLUDED.raw, size = EXCLUDED.size, subject = EXCLUDED.subject, created_at = now()
         RETURNING id`,
        [c.id, c.emailId, c.messageId, c.from, c.to, c.subject, c.raw, c.raw.length],
      );
      return rows[0]?.id ?? null;
    },

    /** Newest first; `q` matches the recipient or the subject (case-insensitive substring). */
    async list(
      tenantId: string,
      q: string | null,
      limit: number,
      after: CursorKey | null,
    ): Promise<InboxRow[]> {
      const { rows } = await db.query<InboxRow>(
        `SELECT ${COLUMNS} FROM inbox_messages
          WHERE tenant_id = $1
            AND ($2::text IS NULL OR strpos(lower(to_addr), lower($2)) > 0 OR strpos(lower(subject), lower($2)) > 0)
            AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
          ORDER BY created_at DESC, id DESC
          LIMIT $5`,
        [tenantId, q, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    async get(tenantId: string, id: string): Promise<InboxMessageRow | null> {
      const { rows } = await db.query<InboxMessageRow>(
        `SELECT ${COLUMNS}, raw FROM inbox_messages WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      return rows[0] ?? null;
    },

    async remove(tenantId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM inbox_messages WHERE tenant_id = $1 AND id = $2', [
        tenantId,
        id,
      ]);
      return rowCount > 0;
    },

    /** Keeps the newest `maxPerTenant` messages of each tenant; returns how many were removed. */
    async trim(maxPerTenant: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM inbox_messages WHERE id IN (
           SELECT id FROM (
             SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at DESC, id DESC) AS n
               FROM inbox_messages) ranked
            WHERE n > $1)`,
        [maxPerTenant],
      );
      return rowCount;
    },
  };
}
export type InboxRepository = ReturnType<typeof inboxRepository>;
