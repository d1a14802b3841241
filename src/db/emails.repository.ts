import { CANCELLABLE_STATUSES, type EmailEventType, type EmailStatus } from '../domain/email-status.js';
import { type AttachmentRef, attachmentRefsInsert } from './attachments.repository.js';
import type { CursorKey } from './cursor.js';
import type { Database, Queryable } from './database.js';
import { appendEventsFrom } from './email-events.js';

export interface EmailRow {
  id: string;
  tenant_id: string;
  template_id: string;
  template_version: number;
  bulk_job_id: string | null;
  recipient_email: string;
  recipient_name: string | null;
  variables: Record<string, unknown>;
  metadata: Record<string, unknown>;
  tags: string[];
  headers: Record<string, string>;
  subject: string | null;
  status: EmailStatus;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  send_at: Date | null;
  attempts: number;
  /** Attempts handed back because of the provider, not the message (they spend no budget). */
  provider_deferrals: number;
  next_attempt_at: Date | null;
  lease_until: Date | null;
  last_error: string | null;
  provider: string;
  provider_message_id: string | null;
  message_id: string;
  list_unsubscribe: boolean;
  /** Sent with a test-mode key: captured in the inbox, never handed to a relay or provider. */
  test?: boolean;
  /** The sender chosen at acceptance; null: SMTP_FROM (see senders.service.ts). */
  sender?: { from: EmailMailbox | null; reply_to: EmailMailbox | null } | null;
  created_at: Date;
  updated_at: Date;
  sent_at: Date | null;
  cursor_ts: string;
}

export interface EmailEventRow {
  id: number;
  type: EmailEventType;
  at: Date;
  data: Record<string, unknown>;
}

export interface FeedEventRow extends Omit<EmailEventRow, 'id'> {
  /** bigint as text */
  id: string;
  email_id: string;
  recipient_email: string;
}

export interface NewEmail {
  id: string;
  tenantId: string;
  templateId: string;
  templateVersion: number;
  recipientEmail: string;
  recipientName: string | null;
  variables: Record<string, unknown>;
  metadata: Record<string, unknown>;
  tags: string[];
  headers: Record<string, string>;
  subject: string | null;
  status: 'queued' | 'scheduled';
  idempotencyKey: string | null;
  fingerprint: string | null;
  sendAt: Date | null;
  provider: string;
  messageId: string;
  listUnsubscribe: boolean;
  /** Open/click tracking; null: the tenant's setting at delivery. */
  tracking?: { opens: boolean | null; clicks: boolean | null };
  sender?: { from: EmailMailbox | null; reply_to: EmailMailbox | null } | null;
  /** Files attached (their content stored beforehand by the attachments repository). */
  attachments?: AttachmentRef[];
  test?: boolean;
  /** The key of the mail.send job it shares with emails accepted beside it (jobs.ts, sendBatchJob). */
  sendBatch?: string | null;
}

interface EmailMailbox {
  email: string;
  name: string | null;
}

export interface EmailFilters {
  status?: EmailStatus;
  recipient?: string;
  from?: Date;
  to?: Date;
  bulkJobId?: string;
}

const SELECT = 'SELECT e.*, e.created_at::text AS cursor_ts FROM emails e';

export function emailsRepository(db: Database) {
  return {
    /**
     * Inserts the email, its attachments' references and its first event in one statement (one
     * transaction). With an idempotency key that is already taken, inserts nothing and returns
     * the existing email.
     */
    async insert(
      e: NewEmail,
    ): Promise<{ inserted: boolean; row: Pick<EmailRow, 'id' | 'status' | 'request_fingerprint'> }> {
      const [result] = await this.insertMany([e]);
      if (!result) throw new Error('insertMany returned no result');
      return result;
    },

    /**
     * Inserts many emails, their attachments' references and their first events in one statement
     * (one transaction), named columns from one JSON array. An email whose idempotency key is already taken (by an
     * earlier email, or by one before it in the same call) inserts nothing and gets the existing
     * email. Results are in the order of `emails`.
     */
    async insertMany(
      emails: readonly NewEmail[],
    ): Promise<{ inserted: boolean; row: Pick<EmailRow, 'id' | 'status' | 'request_fingerprint'> }[]> {
      // `n`: the order of the call, so that of two emails with one key the first wins.
      const records = emails.map((e, n) => ({
        n,
        id: e.id,
        tenant_id: e.tenantId,
        template_id: e.templateId,
        template_version: e.templateVersion,
        recipient_email: e.recipientEmail,
        recipient_name: e.recipientName,
        variables: e.variables,
        metadata: e.metadata,
        tags: e.tags,
        headers: e.headers,
        subject: e.subject,
        status: e.status,
        idempotency_key: e.idempotencyKey,
        request_fingerprint: e.fingerprint,
        send_at: e.sendAt?.toISOString() ?? null,
        provider: e.provider,
        message_id: e.messageId,
        list_unsubscribe: e.listUnsubscribe,
        sender: e.sender ?? null,
        test: e.test ?? false,
        track_opens: e.tracking?.opens ?? null,
        track_clicks: e.tracking?.clicks ?? null,
        attachments: e.attachments?.length ? e.attachments : null,
        send_batch: e.sendBatch ?? null,
      }));
      const { rows } = await db.queryKeptPlans<{
        id: string;
        status: EmailStatus;
        request_fingerprint: string | null;
      }>(
        `WITH r AS (
           SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
                    id uuid, tenant_id text, template_id uuid, template_version integer, recipient_email text,
                    recipient_name text, variables jsonb, metadata jsonb, tags text[], headers jsonb, subject text,
                    status text, idempotency_key text, request_fingerprint text, send_at timestamptz,
                    provider text, message_id text, list_unsubscribe boolean, sender jsonb, test boolean,
                    track_opens boolean, track_clicks boolean, attachments jsonb, send_batch uuid, n integer)
         ), ins AS (
           INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, recipient_name,
                               variables, metadata, tags, headers, subject, status, idempotency_key,
                               request_fingerprint, send_at, provider, message_id, list_unsubscribe, next_attempt_at,
                               sender, test, track_opens, track_clicks, send_batch)
           SELECT id, tenant_id, template_id, template_version, recipient_email, recipient_name,
                  variables, metadata, tags, headers, subject, status, idempotency_key,
                  request_fingerprint, send_at, provider, message_id, list_unsubscribe,
                  CASE WHEN status = 'queued' THEN now() END, sender, test, track_opens, track_clicks, send_batch
             FROM r ORDER BY n
           ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
           RETURNING id, tenant_id, template_id, status, request_fingerprint, send_at
         ), att AS (
           ${attachmentRefsInsert('email_id', '(SELECT ins.id, ins.tenant_id, r.attachments FROM ins JOIN r ON r.id = ins.id)', 's.attachments')}
         ), ev AS (
           ${appendEventsFrom('ins', { sql: 'ins.status' }, "jsonb_strip_nulls(jsonb_build_object('send_at', ins.send_at))")}
         )
         SELECT id, status, request_fingerprint FROM ins`,
        [JSON.stringify(records)],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      const results = emails.map((e) => {
        const row = byId.get(e.id);
        return row ? { inserted: true, row } : null;
      });
      // Keys already taken (possibly by a request that committed while this one waited on the
      // conflict, or by an email earlier in this call): the existing emails, in one lookup.
      const losers = emails.filter((_, i) => results[i] === null);
      const existing = new Map<string, Pick<EmailRow, 'id' | 'status' | 'request_fingerprint'>>();
      if (losers.length > 0) {
        const found = await db.query<{
          id: string;
          status: EmailStatus;
          request_fingerprint: string | null;
          tenant_id: string;
          idempotency_key: string;
        }>(
          `SELECT e.id, e.status, e.request_fingerprint, e.tenant_id, e.idempotency_key
             FROM emails e JOIN unnest($1::text[], $2::text[]) AS k(tenant_id, idempotency_key)
               ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.idempotency_key`,
          [losers.map((e) => e.tenantId), losers.map((e) => e.idempotencyKey as string)],
        );
        for (const r of found.rows) {
          existing.set(`${r.tenant_id}\u0000${r.idempotency_key}`, {
            id: r.id,
            status: r.status,
            request_fingerprint: r.request_fingerprint,
          });
        }
      }
      return emails.map((e, i) => {
        const done = results[i];
        if (done) return done;
        const row = existing.get(`${e.tenantId}\u0000${e.idempotencyKey}`);
        if (!row) throw new Error('idempotency conflict without a visible row');
        return { inserted: false, row };
      });
    },

    async findByIdempotencyKey(tenantId: string, key: string) {
      const { rows } = await db.query<{
        id: string;
        status: EmailStatus;
        request_fingerprint: string | null;
      }>('SELECT id, status, request_fingerprint FROM emails WHERE tenant_id = $1 AND idempotency_key = $2', [
        tenantId,
        key,
      ]);
      return rows[0] ?? null;
    },

    async get(tenantId: string, id: string): Promise<EmailRow | null> {
      const { rows } = await db.query<EmailRow>(`${SELECT} WHERE e.tenant_id = $1 AND e.id = $2`, [
        tenantId,
        id,
      ]);
      return rows[0] ?? null;
    },

    async events(tenantId: string, id: string): Promise<EmailEventRow[]> {
      const { rows } = await db.query<EmailEventRow>(
        'SELECT id, type, at, data FROM email_events WHERE tenant_id = $1 AND email_id = $2 ORDER BY at, id',
        [tenantId, id],
      );
      return rows;
    },

    /**
     * The tenant's events in the order they were written: those after the event `afterId`, or, with
     * no position, its latest ones. `id` is a bigint, carried as text.
     */
    async eventFeed(tenantId: string, afterId: string | null, limit: number): Promise<FeedEventRow[]> {
      const columns = `ev.id::text AS id, ev.email_id, ev.type, ev.at, ev.data, e.recipient_email
                         FROM email_events ev JOIN emails e ON e.id = ev.email_id`;
      const { rows } =
        afterId === null
          ? // Newest by time through (tenant_id, at); the page itself is in id order like the rest.
            await db.query<FeedEventRow>(
              `SELECT * FROM (SELECT ${columns} WHERE ev.tenant_id = $1 ORDER BY ev.at DESC, ev.id DESC LIMIT $2) t
                ORDER BY id::bigint`,
              [tenantId, limit],
            )
          : await db.query<FeedEventRow>(
              `SELECT ${columns} WHERE ev.tenant_id = $1 AND ev.id > $2::bigint ORDER BY ev.id LIMIT $3`,
              [tenantId, afterId, limit + 1],
            );
      return rows;
    },

    async list(
      tenantId: string,
      f: EmailFilters,
      limit: number,
      after: CursorKey | null,
    ): Promise<EmailRow[]> {
      const { rows } = await db.query<EmailRow>(
        `${SELECT}
          WHERE e.tenant_id = $1
            AND ($2::text IS NULL OR e.status = $2)
            AND ($3::text IS NULL OR e.recipient_email = $3)
            AND ($4::timestamptz IS NULL OR e.created_at >= $4)
            AND ($5::timestamptz IS NULL OR e.created_at <= $5)
            AND ($6::uuid IS NULL OR e.bulk_job_id = $6)
            AND ($7::timestamptz IS NULL OR (e.created_at, e.id) < ($7::timestamptz, $8::uuid))
          ORDER BY e.created_at DESC, e.id DESC
          LIMIT $9`,
        [
          tenantId,
          f.status ?? null,
          f.recipient ?? null,
          f.from ?? null,
          f.to ?? null,
          f.bulkJobId ?? null,
          after?.ts ?? null,
          after?.id ?? null,
          limit + 1,
        ],
      );
      return rows;
    },

    /**
     * Cancels every open email of a tenant (queued, scheduled; held ones included) and its bulk
     * jobs not yet fanned out, for mail that must never go out. Emails in a worker's hands finish
     * their attempt.
     */
    async cancelOpen(tenantId: string): Promise<{ emails: number; bulkJobs: number }> {
      const { rows } = await db.query<{ emails: number; bulk_jobs: number }>(
        `WITH b AS (
           UPDATE bulk_jobs SET status = 'cancelled', updated_at = now()
            WHERE tenant_id = $1 AND status IN ('queued', 'processing')
            RETURNING id
         ), upd AS (
           UPDATE emails SET status = 'cancelled', next_attempt_at = NULL, updated_at = now()
            WHERE tenant_id = $1 AND status = ANY($2::text[])
            RETURNING id, tenant_id, template_id
         ), ev AS (
           ${appendEventsFrom('upd', 'cancelled', "jsonb_build_object('reason', 'cancel-open')")}
         )
         SELECT (SELECT count(*) FROM upd)::int AS emails, (SELECT count(*) FROM b)::int AS bulk_jobs`,
        [tenantId, CANCELLABLE_STATUSES],
      );
      return { emails: rows[0]?.emails ?? 0, bulkJobs: rows[0]?.bulk_jobs ?? 0 };
    },

    /** How many of a tenant's emails are open (queued or scheduled). */
    async countOpen(tenantId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM emails WHERE tenant_id = $1 AND status = ANY($2::text[])`,
        [tenantId, CANCELLABLE_STATUSES],
      );
      return rows[0]?.n ?? 0;
    },

    /** Cancels a scheduled email. Returns the status the email has afterwards, or null if unknown. */
    async cancelScheduled(
      tenantId: string,
      id: string,
    ): Promise<{ cancelled: boolean; status: EmailStatus } | null> {
      return db.transaction(async (tx: Queryable) => {
        const { rows } = await tx.query<{ status: EmailStatus }>(
          'SELECT status FROM emails WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
          [tenantId, id],
        );
        const current = rows[0]?.status;
        if (current === undefined) return null;
        if (current !== 'scheduled') return { cancelled: false, status: current };
        await tx.query(
          `WITH upd AS (
             UPDATE emails SET status = 'cancelled', updated_at = now()
              WHERE tenant_id = $2 AND id = $1 RETURNING id, tenant_id, template_id
           )
           ${appendEventsFrom('upd', 'cancelled', "'{}'::jsonb")}`,
          [id, tenantId],
        );
        return { cancelled: true, status: 'cancelled' };
      });
    },
  };
}
export type EmailsRepository = ReturnType<typeof emailsRepository>;
