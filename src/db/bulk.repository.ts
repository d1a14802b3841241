import { CANCELLABLE_STATUSES, type EmailStatus, OPEN_STATUSES } from '../domain/email-status.js';
import { type AttachmentRef, attachmentRefsInsert } from './attachments.repository.js';
import type { Database } from './database.js';
import { appendEventsFrom } from './email-events.js';

export interface BulkRecipient {
  email: string;
  name: string | null;
  variables: Record<string, unknown>;
}

interface BulkMailbox {
  email: string;
  name: string | null;
}

export interface InvalidRecipient {
  index: number;
  email: string;
  reason: string;
}

export interface BulkJobRow {
  id: string;
  tenant_id: string;
  template_id: string;
  template_version: number;
  status: 'queued' | 'processing' | 'completed' | 'cancelled';
  total: number;
  accepted: number;
  invalid_count: number;
  duplicate_count: number;
  suppressed_count: number;
  cancelled_count: number;
  invalid: InvalidRecipient[];
  shared_variables: Record<string, unknown>;
  metadata: Record<string, unknown>;
  headers: Record<string, string>;
  tags: string[];
  provider: string;
  /** The sender every email of the job is sent as (senders.service.ts); null: SMTP_FROM. */
  sender: { from: BulkMailbox | null; reply_to: BulkMailbox | null } | null;
  send_at: Date | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  /** Accepted with a test-mode key: every email of the job is captured, never delivered. */
  test: boolean;
  fanout_done: boolean;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

export interface NewBulkJob {
  id: string;
  tenantId: string;
  templateId: string;
  templateVersion: number;
  total: number;
  recipients: BulkRecipient[];
  invalid: InvalidRecipient[];
  invalidCount: number;
  duplicateCount: number;
  sharedVariables: Record<string, unknown>;
  metadata: Record<string, unknown>;
  headers: Record<string, string>;
  tags: string[];
  provider: string;
  /** Open/click tracking of its emails; null: the tenant's setting at delivery. */
  tracking?: { opens: boolean | null; clicks: boolean | null };
  sender?: { from: BulkMailbox | null; reply_to: BulkMailbox | null } | null;
  sendAt: Date | null;
  idempotencyKey: string | null;
  fingerprint: string | null;
  /** Files every email of the job carries, recorded once for the job. */
  sharedAttachments?: AttachmentRef[];
  test?: boolean;
}

/** Everything but the recipients array, which can be megabytes. */
const COLUMNS = `id, tenant_id, template_id, template_version, status, total, accepted, invalid_count,
  duplicate_count, suppressed_count, cancelled_count, invalid, shared_variables, metadata, headers, tags,
  provider, sender, send_at, idempotency_key, request_fingerprint, fanout_done, created_at,
  updated_at, completed_at, test`;

export interface FanoutChunk {
  /** Email ids to create, one per recipient, in order. */
  ids: string[];
  /** Each email's shared mail.send job key (`send_batch`), in the same order. */
  batches: string[];
  recipients: BulkRecipient[];
  messageIdDomain: string;
}

export function bulkRepository(db: Database) {
  const findByKey = async (tenantId: string, key: string) => {
    const { rows } = await db.query<BulkJobRow>(
      `SELECT ${COLUMNS} FROM bulk_jobs WHERE tenant_id = $1 AND idempotency_key = $2`,
      [tenantId, key],
    );
    return rows[0] ?? null;
  };

  return {
    findByIdempotencyKey: findByKey,

    /** Stores the job with its accepted recipients; with a taken idempotency key, returns the existing job. */
    async insert(j: NewBulkJob): Promise<{ inserted: boolean; row: BulkJobRow }> {
      const record = {
        id: j.id,
        tenant_id: j.tenantId,
        template_id: j.templateId,
        template_version: j.templateVersion,
        total: j.total,
        accepted: j.recipients.length,
        invalid_count: j.invalidCount,
        duplicate_count: j.duplicateCount,
        invalid: j.invalid,
        shared_variables: j.sharedVariables,
        metadata: j.metadata,
        headers: j.headers,
        tags: j.tags,
        provider: j.provider,
        send_at: j.sendAt?.toISOString() ?? null,
        idempotency_key: j.idempotencyKey,
        request_fingerprint: j.fingerprint,
        sender: j.sender ?? null,
        test: j.test ?? false,
        track_opens: j.tracking?.opens ?? null,
        track_clicks: j.tracking?.clicks ?? null,
        attachments: j.sharedAttachments?.length ? j.sharedAttachments : null,
      };
      const { rows } = await db.query<BulkJobRow>(
        // The job as one named-column record; the recipients, megabytes of JSON text stored as
        // text, travel apart so that they are not escaped again inside the record.
        `WITH j AS (
           SELECT * FROM json_to_record($1::json) AS j(
                    id uuid, tenant_id text, template_id uuid, template_version integer, total integer,
                    accepted integer, invalid_count integer, duplicate_count integer, invalid jsonb,
                    shared_variables jsonb, metadata jsonb, headers jsonb, tags text[], provider text,
                    send_at timestamptz, idempotency_key text, request_fingerprint text, sender jsonb,
                    test boolean, track_opens boolean, track_clicks boolean, attachments jsonb)
         ), ins AS (
           INSERT INTO bulk_jobs (id, tenant_id, template_id, template_version, total, accepted, invalid_count,
                                  duplicate_count, invalid, recipients, shared_variables, metadata, headers, tags,
                                  provider, send_at, idempotency_key, request_fingerprint, fanout_done, sender, test,
                                  track_opens, track_clicks)
           SELECT id, tenant_id, template_id, template_version, total, accepted, invalid_count,
                  duplicate_count, invalid, $2, shared_variables, metadata, headers, tags,
                  provider, send_at, idempotency_key, request_fingerprint, accepted = 0, sender, test,
                  track_opens, track_clicks
             FROM j
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
           RETURNING ${COLUMNS}
         ), att AS (
           ${attachmentRefsInsert('bulk_job_id', '(SELECT ins.id, ins.tenant_id, j.attachments FROM ins, j)', 's.attachments')}
         )
         SELECT * FROM ins`,
        [JSON.stringify(record), JSON.stringify(j.recipients)],
      );
      if (rows[0]) return { inserted: true, row: rows[0] };
      const existing = await findByKey(j.tenantId, j.idempotencyKey as string);
      if (!existing) throw new Error('idempotency conflict without a visible bulk job');
      return { inserted: false, row: existing };
    },

    async get(tenantId: string, id: string): Promise<BulkJobRow | null> {
      const { rows } = await db.query<BulkJobRow>(
        `SELECT ${COLUMNS} FROM bulk_jobs WHERE tenant_id = $1 AND id = $2`,
        [tenantId, id],
      );
      return rows[0] ?? null;
    },

    /**
     * A job whose fan-out is due and not finished, with all its accepted recipients and the chunks
     * already written; null when there is nothing to fan out. Moves a queued job to processing.
     */
    async pendingFanout(
      id: string,
    ): Promise<{ job: BulkJobRow; recipients: BulkRecipient[]; doneChunks: Set<number> } | null> {
      const { rows } = await db.query<BulkJobRow & { recipients: string | null }>(
        `UPDATE bulk_jobs SET status = 'processing', updated_at = now()
          WHERE id = $1 AND status IN ('queued', 'processing') AND NOT fanout_done
            AND (send_at IS NULL OR send_at <= now() + interval '1 second')
          RETURNING ${COLUMNS}, recipients`,
        [id],
      );
      const row = rows[0];
      if (!row?.recipients) return null;
      // Stored as JSON text (migration 019): parsed here, once.
      const { recipients: text, ...job } = row;
      const recipients = JSON.parse(text) as BulkRecipient[];
      const done = await db.query<{ chunk: number }>(
        'SELECT chunk FROM bulk_fanout_chunks WHERE bulk_job_id = $1',
        [id],
      );
      return { job, recipients, doneChunks: new Set(done.rows.map((r) => r.chunk)) };
    },

    /**
     * Turns one chunk of recipients into queued emails (and their `queued` events) with set-based
     * SQL, skipping suppressed addresses, and records the chunk — one transaction. Chunks of one
     * job may be written in parallel: each holds a share lock on the job, so a cancel waits for the
     * chunks in flight and the chunks after it see the job cancelled. Returns the ids created, or
     * null when the job is no longer open.
     */
    async fanoutChunk(
      jobId: string,
      chunkIndex: number,
      chunk: FanoutChunk,
    ): Promise<{ id: string; send_batch: string }[] | null> {
      return db.transaction(async (tx) => {
        // Four foreign-key checks per email (its tenant, template version and bulk job; its event's
        // email) are queries of their own, which the connection's force_custom_plan
        // (pg.database.ts) would plan again for every row: 20,000 plannings, most of a chunk's time.
        // Here they keep their plans, and no plan may be a sequential scan, so that a plan cached
        // while `emails` was small stays an index scan as it grows (docs/performance.md, "Bulk
        // accept and fan-out").
        await tx.query('SET LOCAL plan_cache_mode = auto; SET LOCAL enable_seqscan = off');
        const { rows: jobs } = await tx.query<BulkJobRow>(
          `SELECT ${COLUMNS} FROM bulk_jobs WHERE id = $1 FOR SHARE`,
          [jobId],
        );
        const job = jobs[0];
        if (!job || job.fanout_done || (job.status !== 'queued' && job.status !== 'processing')) return null;
        const { rows: already } = await tx.query(
          'SELECT 1 FROM bulk_fanout_chunks WHERE bulk_job_id = $1 AND chunk = $2',
          [jobId, chunkIndex],
        );
        if (already.length > 0) return [];
        // What every email of the job shares, as one named-column record.
        const shared = {
          tenant_id: job.tenant_id,
          template_id: job.template_id,
          template_version: job.template_version,
          bulk_job_id: job.id,
          metadata: job.metadata,
          tags: job.tags,
          headers: job.headers,
          provider: job.provider,
          message_id_domain: chunk.messageIdDomain,
          sender: job.sender,
          test: job.test,
        };
        const { rows } = await tx.query<{ id: string; send_batch: string }>(
          // The recipients travel as one JSON array, zipped with their ids by position: cheaper on
          // both sides than three text arrays and a jsonb array, element by element escaped.
          `WITH j AS (
             SELECT * FROM json_to_record($3::json) AS j(
                      tenant_id text, template_id uuid, template_version integer, bulk_job_id uuid,
                      metadata jsonb, tags text[], headers jsonb, provider text, message_id_domain text,
                      sender jsonb, test boolean)
           ), src AS (
             SELECT * FROM ROWS FROM (
               unnest($1::uuid[]),
               unnest($4::uuid[]),
               json_to_recordset($2::json) AS (email text, name text, variables jsonb)
             ) AS s(id, send_batch, email, name, variables)
           ), ins AS (
             INSERT INTO emails (id, tenant_id, template_id, template_version, bulk_job_id, recipient_email,
                                 recipient_name, variables, metadata, tags, headers, status, provider, message_id,
                                 next_attempt_at, list_unsubscribe, sender, test, send_batch)
             SELECT s.id, j.tenant_id, j.template_id, j.template_version, j.bulk_job_id, s.email, s.name,
                    s.variables, j.metadata, j.tags, j.headers, 'queued', j.provider,
                    '<' || s.id || '@' || j.message_id_domain || '>', now(), true, j.sender, j.test,
                    s.send_batch
               FROM src s CROSS JOIN j
              -- The tenant read straight from the parameter: a value the planner knows, so only its
              -- suppressions are looked at (by j.tenant_id, it would hash every tenant's).
              WHERE NOT EXISTS (SELECT 1 FROM suppressions x
                                 WHERE x.tenant_id = $3::json ->> 'tenant_id' AND x.email = s.email)
             ON CONFLICT (id) DO NOTHING
             RETURNING id, tenant_id, template_id, bulk_job_id, send_batch
           ), ev AS (
             ${appendEventsFrom('ins', 'queued', "jsonb_build_object('bulk_job_id', bulk_job_id::text)")}
           )
           SELECT id, send_batch FROM ins`,
          [chunk.ids, JSON.stringify(chunk.recipients), JSON.stringify(shared), chunk.batches],
        );
        await tx.query(
          'INSERT INTO bulk_fanout_chunks (bulk_job_id, chunk, created, suppressed) VALUES ($1, $2, $3, $4)',
          [jobId, chunkIndex, rows.length, chunk.recipients.length - rows.length],
        );
        return rows;
      });
    },

    /** Marks the fan-out finished once every chunk is written, and lets go of the recipients. */
    async finishFanout(jobId: string, chunks: number): Promise<boolean> {
      const { rowCount } = await db.query(
        `WITH c AS (
           SELECT count(*)::int AS n, coalesce(sum(suppressed), 0)::int AS suppressed
             FROM bulk_fanout_chunks WHERE bulk_job_id = $1
         )
         UPDATE bulk_jobs b SET fanout_done = true, recipients = NULL,
                suppressed_count = c.suppressed, updated_at = now()
           FROM c
          WHERE b.id = $1 AND b.status = 'processing' AND NOT b.fanout_done AND c.n >= $2`,
        [jobId, chunks],
      );
      return rowCount > 0;
    },

    /** Recipients turned into emails (or skipped as suppressed) so far, while the fan-out runs. */
    async fanoutProgress(tenantId: string, jobId: string): Promise<{ fanned: number; suppressed: number }> {
      const { rows } = await db.query<{ fanned: number; suppressed: number }>(
        `SELECT coalesce(sum(c.created + c.suppressed), 0)::int AS fanned, coalesce(sum(c.suppressed), 0)::int AS suppressed
           FROM bulk_fanout_chunks c JOIN bulk_jobs b ON b.id = c.bulk_job_id
          WHERE b.tenant_id = $1 AND c.bulk_job_id = $2`,
        [tenantId, jobId],
      );
      return rows[0] ?? { fanned: 0, suppressed: 0 };
    },

    /** Email counts of a job by status (index-only on emails_bulk_idx). */
    async statusCounts(tenantId: string, id: string): Promise<Partial<Record<EmailStatus, number>>> {
      const { rows } = await db.query<{ status: EmailStatus; n: number }>(
        'SELECT status, count(*)::int AS n FROM emails WHERE tenant_id = $1 AND bulk_job_id = $2 GROUP BY status',
        [tenantId, id],
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },

    /** Marks a fanned-out job completed once none of its emails can still change by sending. */
    async completeIfDone(id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        `UPDATE bulk_jobs b SET status = 'completed', completed_at = now(), updated_at = now()
          WHERE b.id = $1 AND b.status IN ('queued', 'processing') AND b.fanout_done
            AND NOT EXISTS (SELECT 1 FROM emails e WHERE e.bulk_job_id = b.id
                             AND e.status = ANY($2::text[]))`,
        [id, OPEN_STATUSES],
      );
      return rowCount > 0;
    },

    /**
     * Cancels the job: the fan-out stops and every email not yet claimed by a worker is cancelled
     * (emails already in a worker's hands may still go out). Null when unknown; 'finished' when it
     * had completed or was cancelled already.
     */
    async cancel(
      tenantId: string,
      id: string,
    ): Promise<{ outcome: 'cancelled' | 'finished'; emails: number } | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ status: string }>(
          'SELECT status FROM bulk_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
          [tenantId, id],
        );
        const status = rows[0]?.status;
        if (status === undefined) return null;
        if (status === 'completed' || status === 'cancelled') return { outcome: 'finished', emails: 0 };
        const { rowCount } = await tx.query(
          `WITH upd AS (
             UPDATE emails SET status = 'cancelled', updated_at = now(), next_attempt_at = NULL
              WHERE tenant_id = $2 AND bulk_job_id = $1 AND status = ANY($3::text[])
              RETURNING id, tenant_id, template_id
           )
           ${appendEventsFrom('upd', 'cancelled', "jsonb_build_object('bulk_job_id', $1::text)")}`,
          [id, tenantId, CANCELLABLE_STATUSES],
        );
        await tx.query(
          `UPDATE bulk_jobs SET status = 'cancelled', completed_at = now(), updated_at = now(),
                  recipients = NULL, fanout_done = true,
                  suppressed_count = (SELECT coalesce(sum(suppressed), 0) FROM bulk_fanout_chunks WHERE bulk_job_id = $1),
                  cancelled_count = cancelled_count + $2
                    + (accepted - (SELECT coalesce(sum(created + suppressed), 0) FROM bulk_fanout_chunks
                                    WHERE bulk_job_id = $1))
            WHERE id = $1 AND tenant_id = $3`,
          [id, rowCount, tenantId],
        );
        return { outcome: 'cancelled', emails: rowCount };
      });
    },

    /**
     * Jobs the recovery loop must look at: due but not fanned out for longer than the grace
     * (their mail.bulk job was lost), and fanned out but not yet marked completed.
     */
    async findOpen(graceSeconds: number, limit: number) {
      const { rows } = await db.query<{ id: string; fanout_done: boolean }>(
        `SELECT id, fanout_done FROM bulk_jobs
          WHERE status IN ('queued', 'processing')
            AND (fanout_done OR (updated_at <= now() - make_interval(secs => $1)
                                 AND (send_at IS NULL OR send_at <= now())))
          ORDER BY fanout_done, updated_at LIMIT $2`,
        [graceSeconds, limit],
      );
      return rows;
    },
  };
}
export type BulkRepository = ReturnType<typeof bulkRepository>;
