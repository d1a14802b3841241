import { TERMINAL_STATUSES } from '../domain/email-status.js';
import type { Database } from './database.js';

/** What is stored about one attached file (the lookup API shows exactly this). */
export interface AttachmentRef {
  position: number;
  filename: string;
  content_type: string;
  content_id: string | null;
  sha256: string;
  size: number;
}

/** An attached file with its bytes, as delivery needs it; `content` null once retention removed it. */
export interface StoredAttachment extends AttachmentRef {
  content: Buffer | null;
}

const FINAL_SQL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * The statement fragment that records `refs` (a JSON array of AttachmentRef, parameter `param`)
 * for every row of `source` (which has `id` and `tenant_id`), so the email or bulk job and its
 * attachments are written by one statement.
 */
export const attachmentRefsInsert = (owner: 'email_id' | 'bulk_job_id', source: string, param: string) =>
  `INSERT INTO email_attachments (tenant_id, ${owner}, position, filename, content_type, content_id, sha256, size)
   SELECT s.tenant_id, s.id, x.position, x.filename, x.content_type, x.content_id, x.sha256, x.size
     FROM ${source} s
     CROSS JOIN jsonb_to_recordset(coalesce(${param}::jsonb, '[]'::jsonb))
       AS x(position int, filename text, content_type text, content_id text, sha256 text, size int)`;

/**
 * The attachment rows of email `$2`: its own, or its bulk job's shared ones — two index probes
 * (one per partial index), where an OR in one join would not use either.
 */
const OF_EMAIL = `(
  SELECT a.* FROM email_attachments a WHERE a.email_id = $2
  UNION ALL
  SELECT a.* FROM emails e JOIN email_attachments a ON a.bulk_job_id = e.bulk_job_id
   WHERE e.id = $2 AND e.bulk_job_id IS NOT NULL)`;

export function attachmentsRepository(db: Database) {
  return {
    /**
     * Stores each distinct file once per tenant; a file already stored is only touched, which
     * keeps retention from removing it while this request refers to it.
     */
    async storeContents(tenantId: string, files: { sha256: string; content: Buffer }[]): Promise<void> {
      if (files.length === 0) return;
      // One statement per file: a bytea parameter goes over the wire as binary-safe text once,
      // where a JSON array would carry it base64-encoded a second time.
      for (const f of files) {
        await db.query(
          `INSERT INTO attachment_contents (tenant_id, sha256, size, content) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, sha256) DO UPDATE SET last_used_at = now()`,
          [tenantId, f.sha256, f.content.length, f.content],
        );
      }
    },

    /** The email's attachments (its own, or its bulk job's shared ones), without content. */
    async list(tenantId: string, emailId: string): Promise<AttachmentRef[]> {
      const { rows } = await db.query<AttachmentRef>(
        `SELECT a.position, a.filename, a.content_type, a.content_id, a.sha256, a.size
           FROM ${OF_EMAIL} a
          WHERE a.tenant_id = $1
          ORDER BY a.position`,
        [tenantId, emailId],
      );
      return rows;
    },

    /** The email's attachments with their bytes, in order. */
    async forDelivery(tenantId: string, emailId: string): Promise<StoredAttachment[]> {
      const { rows } = await db.query<StoredAttachment>(
        `SELECT a.position, a.filename, a.content_type, a.content_id, a.sha256, a.size, c.content
           FROM ${OF_EMAIL} a
           LEFT JOIN attachment_contents c ON c.tenant_id = a.tenant_id AND c.sha256 = a.sha256
          WHERE a.tenant_id = $1
          ORDER BY a.position`,
        [tenantId, emailId],
      );
      return rows;
    },

    /**
     * Removes the content of files that no email still needs: not used by any request in the
     * last `retentionDays`, and every email referring to it (directly or through its bulk job)
     * final for that long. Names, sizes and hashes stay. Returns how many files were removed.
     */
    async purge(retentionDays: number, limit = 500): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM attachment_contents c
          WHERE (c.tenant_id, c.sha256) IN (
            SELECT c2.tenant_id, c2.sha256 FROM attachment_contents c2
             WHERE c2.last_used_at < now() - make_interval(secs => $1 * 86400)
               AND NOT EXISTS (
                 SELECT 1 FROM email_attachments a JOIN emails e ON e.id = a.email_id
                  WHERE a.tenant_id = c2.tenant_id AND a.sha256 = c2.sha256
                    AND (e.status NOT IN (${FINAL_SQL})
                         OR e.updated_at > now() - make_interval(secs => $1 * 86400)))
               AND NOT EXISTS (
                 SELECT 1 FROM email_attachments a JOIN emails e ON e.bulk_job_id = a.bulk_job_id
                  WHERE a.tenant_id = c2.tenant_id AND a.sha256 = c2.sha256
                    AND (e.status NOT IN (${FINAL_SQL})
                         OR e.updated_at > now() - make_interval(secs => $1 * 86400)))
               AND NOT EXISTS (
                 SELECT 1 FROM email_attachments a JOIN bulk_jobs b ON b.id = a.bulk_job_id
                  WHERE a.tenant_id = c2.tenant_id AND a.sha256 = c2.sha256
                    AND b.status IN ('queued', 'processing'))
             LIMIT $2)`,
        [retentionDays, limit],
      );
      return rowCount;
    },
  };
}
export type AttachmentsRepository = ReturnType<typeof attachmentsRepository>;
