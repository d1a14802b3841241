import type { BulkJobRow, BulkRecipient, BulkRepository, InvalidRecipient } from '../db/bulk.repository.js';
import type { TemplatesRepository } from '../db/templates.repository.js';
import { hasHeaderBreak, isValidEmailAddress, normalizeEmailAddress } from '../domain/address.js';
import type { AttachmentInput } from '../domain/attachments.js';
import { type EmailStatus, OPEN_STATUSES } from '../domain/email-status.js';
import { AppError } from '../domain/errors.js';
import { fingerprint } from '../lib/canonical-json.js';
import { derivedUuid, isUuid, newId } from '../lib/ids.js';
import { type Dispatcher, dispatchQuietly } from '../queue/dispatcher.js';
import { BULK_JOB_EMAILS, type DispatchRequest, sendJobsFor } from '../queue/jobs.js';
import type { TemplateEngine } from '../templates/renderer.port.js';
import type { AttachmentsService } from './attachments.service.js';
import { templateSource } from './rendering.js';
import {
  activeTemplate,
  commonSendFields,
  type FieldProblem,
  trackingFingerprint,
} from './request-checks.js';
import { acceptedProvider, type SendContext } from './send.service.js';
import {
  type SenderFields,
  type SendersService,
  senderFieldProblems,
  senderFingerprint,
} from './senders.service.js';

export const MAX_BULK_RECIPIENTS = 100_000;
/** Rows per INSERT of the fan-out: large enough to be set-based, small enough to resume cheaply. */
export const FANOUT_CHUNK = 5000;
export const FANOUT_WRITERS = 2;
/**
 * The shape nearly every address has (lower case, as normalized): dot-separated atoms of common
 * characters, a local part of at most 64, LDH labels and an alphabetic TLD. Everything it matches
 * isValidEmailAddress accepts too; what it does not match gets that full check.
 */
export const COMMON_ADDRESS =
  /^(?=[^@]{1,64}@)[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** Invalid recipients listed in the job (all of them are counted). */
const INVALID_REPORT_LIMIT = 1000;

export interface BulkRequest extends SenderFields {
  template_id: string;
  recipients: { email: string; name?: string | undefined; variables?: Record<string, unknown> | undefined }[];
  shared_variables?: Record<string, unknown> | undefined;
  metadata?: Record<string, unknown> | undefined;
  idempotency_key?: string | undefined;
  send_at?: string | undefined;
  tags?: string[] | undefined;
  headers?: Record<string, string> | undefined;
  /** Files every recipient gets, stored once for the job. */
  shared_attachments?: AttachmentInput[] | undefined;
  track_opens?: boolean | undefined;
  track_clicks?: boolean | undefined;
}

const DELIVERED: readonly EmailStatus[] = ['delivered', 'opened'];
const FAILED: readonly EmailStatus[] = ['failed', 'bounced', 'complained'];

/** The job as the API shows it, with live counts from its emails. */
export function bulkView(
  job: BulkJobRow,
  counts: Partial<Record<EmailStatus, number>>,
  progress: { fanned: number; suppressed: number },
) {
  const sum = (statuses: readonly EmailStatus[]) => statuses.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const fanned = job.fanout_done ? job.accepted : progress.fanned;
  const suppressedAtFanout = job.fanout_done ? job.suppressed_count : progress.suppressed;
  const notFannedOut = job.status === 'cancelled' ? 0 : job.accepted - fanned;
  return {
    id: job.id,
    status: job.status,
    template_id: job.template_id,
    template_version: job.template_version,
    total: job.total,
    accepted: job.accepted,
    queued: sum(OPEN_STATUSES) + notFannedOut,
    sent: counts.sent ?? 0,
    delivered: sum(DELIVERED),
    failed: sum(FAILED),
    skipped: suppressedAtFanout + (counts.suppressed ?? 0),
    cancelled: job.status === 'cancelled' ? job.cancelled_count : (counts.cancelled ?? 0),
    invalid: job.invalid_count,
    duplicates: job.duplicate_count,
    invalid_recipients: job.invalid,
    metadata: job.metadata,
    send_at: job.send_at?.toISOString() ?? null,
    created_at: job.created_at.toISOString(),
    completed_at: job.completed_at?.toISOString() ?? null,
  };
}

export function bulkService(deps: {
  bulk: BulkRepository;
  templates: TemplatesRepository;
  renderer: TemplateEngine;
  dispatcher: Dispatcher;
  defaultProvider: string;
  messageIdDomain: string;
  /** Checks and resolves `from`/`reply_to`; absent: every email goes out as SMTP_FROM. */
  senders?: SendersService;
  attachments?: AttachmentsService;
  onDispatchError?: (e: unknown) => void;
}) {
  const quietly = (dispatch: () => Promise<void>) => dispatchQuietly(dispatch, deps.onDispatchError);

  const reuse = (existing: BulkJobRow, requestFingerprint: string | null) => {
    if (existing.request_fingerprint !== requestFingerprint) {
      throw new AppError('idempotency_key_reused', undefined, { bulk_job_id: existing.id });
    }
    return {
      bulk_job_id: existing.id,
      status: existing.status,
      total: existing.total,
      accepted: existing.accepted,
      invalid: existing.invalid_count,
      duplicates: existing.duplicate_count,
      idempotency_reused: true,
    };
  };

  const get = async (tenantId: string, id: string): Promise<ReturnType<typeof bulkView>> => {
    const found = isUuid(id) ? await deps.bulk.get(tenantId, id) : null;
    if (!found) throw new AppError('bulk_job_not_found');
    let job = found;
    // Completion is noticed here too, so a client polling the job never waits for the recovery loop.
    if (job.status === 'processing' && job.fanout_done && (await deps.bulk.completeIfDone(id))) {
      job = (await deps.bulk.get(tenantId, id)) ?? job;
    }
    const [counts, progress] = await Promise.all([
      deps.bulk.statusCounts(tenantId, id),
      job.fanout_done
        ? { fanned: job.accepted, suppressed: job.suppressed_count }
        : deps.bulk.fanoutProgress(tenantId, id),
    ]);
    return bulkView(job, counts, progress);
  };

  const dispatchFanout = (job: { id: string; send_at: Date | null }) =>
    quietly(() =>
      deps.dispatcher.dispatch('mail.bulk', [
        {
          payload: { bulkJobId: job.id },
          jobId: job.id,
          ...(job.send_at ? { delayMs: job.send_at.getTime() - Date.now() } : {}),
        },
      ]),
    );

  return {
    /**
     * Accepts a bulk send: validates every recipient (invalid and duplicate addresses and missing
     * variables are reported, not fatal), stores the job with its recipients in one row, and
     * answers; turning recipients into emails happens in the mail.bulk queue.
     */
    async accept(tenantId: string, req: BulkRequest, headerKey: string | undefined, ctx: SendContext = {}) {
      const problems: FieldProblem[] = [];
      const { idempotencyKey, sendAt } = commonSendFields(req, headerKey, problems);
      const givenSender = senderFieldProblems(req, problems);
      if (req.shared_attachments?.length && !deps.attachments) {
        problems.push({ field: 'shared_attachments', message: 'are not supported by this installation' });
      }
      if (problems.length > 0) throw new AppError('validation_failed', undefined, problems);
      const attachments = deps.attachments?.prepare(req.shared_attachments, 'shared_attachments');

      const requestFingerprint = idempotencyKey
        ? fingerprint({
            template_id: req.template_id,
            recipients: req.recipients,
            shared_variables: req.shared_variables ?? {},
            metadata: req.metadata ?? {},
            send_at: sendAt?.toISOString() ?? null,
            headers: req.headers ?? {},
            tags: req.tags ?? [],
            ...trackingFingerprint(req),
            ...senderFingerprint(req),
            ...(attachments?.refs.length
              ? { shared_attachments: deps.attachments?.fingerprintOf(attachments) }
              : {}),
            ...(ctx.test ? { test: true } : {}),
          })
        : null;
      if (idempotencyKey) {
        const existing = await deps.bulk.findByIdempotencyKey(tenantId, idempotencyKey);
        if (existing) return reuse(existing, requestFingerprint);
      }

      const template = await activeTemplate(deps.templates, tenantId, req.template_id);
      const sender = deps.senders ? await deps.senders.forAcceptance(tenantId, givenSender, template) : null;
      const required = await deps.renderer.requiredVariables(
        templateSource({ ...template, template_id: template.id }),
      );
      const shared = req.shared_variables ?? {};
      const requiredBeyondShared = required.filter((name) => !Object.hasOwn(shared, name));

      const recipients: BulkRecipient[] = [];
      const invalid: InvalidRecipient[] = [];
      let invalidCount = 0;
      let duplicateCount = 0;
      const seen = new Set<string>();
      const report = (index: number, email: string, reason: string) => {
        if (invalid.length < INVALID_REPORT_LIMIT) invalid.push({ index, email, reason });
      };
      // A plain loop without allocations for a recipient that passes: a 100,000-recipient body is
      // checked in the request, before its 202 (docs/performance.md, "Bulk accept and fan-out").
      for (let index = 0; index < req.recipients.length; index++) {
        const r = req.recipients[index] as BulkRequest['recipients'][number];
        const email = normalizeEmailAddress(r.email);
        if (!(email.length <= 254 && COMMON_ADDRESS.test(email)) && !isValidEmailAddress(email)) {
          invalidCount++;
          report(index, r.email, 'invalid_address');
          continue;
        }
        if (r.name !== undefined && hasHeaderBreak(r.name)) {
          invalidCount++;
          report(index, r.email, 'invalid_name');
          continue;
        }
        const variables = r.variables ?? {};
        let missing: string[] | null = null;
        for (const name of requiredBeyondShared) {
          if (Object.hasOwn(variables, name)) continue;
          missing = missing ?? [];
          missing.push(name);
        }
        if (missing) {
          invalidCount++;
          report(index, r.email, `missing_variables: ${missing.join(', ')}`);
          continue;
        }
        if (seen.has(email)) {
          duplicateCount++;
          report(index, r.email, 'duplicate');
          continue;
        }
        seen.add(email);
        recipients.push({ email, name: r.name ?? null, variables });
      }

      if (attachments?.files.length) await deps.attachments?.store(tenantId, attachments);
      const { inserted, row } = await deps.bulk.insert({
        id: newId(),
        tenantId,
        templateId: template.id,
        templateVersion: template.version,
        total: req.recipients.length,
        recipients,
        invalid,
        invalidCount,
        duplicateCount,
        sharedVariables: shared,
        metadata: req.metadata ?? {},
        headers: req.headers ?? {},
        tags: req.tags ?? [],
        provider: acceptedProvider(ctx, deps.defaultProvider),
        tracking: { opens: req.track_opens ?? null, clicks: req.track_clicks ?? null },
        sender,
        sendAt,
        ...(attachments?.refs.length ? { sharedAttachments: attachments.refs } : {}),
        ...(ctx.test ? { test: true } : {}),
        idempotencyKey,
        fingerprint: requestFingerprint,
      });
      if (!inserted) return reuse(row, requestFingerprint);
      if (row.accepted > 0) {
        await dispatchFanout({
          id: row.id,
          send_at: sendAt && sendAt.getTime() > Date.now() ? sendAt : null,
        });
      } else {
        await deps.bulk.completeIfDone(row.id);
      }
      return {
        bulk_job_id: row.id,
        status: row.status,
        total: row.total,
        accepted: row.accepted,
        invalid: row.invalid_count,
        duplicates: row.duplicate_count,
        idempotency_reused: false,
      };
    },

    /**
     * The mail.bulk handler: turns the job's remaining recipients into emails, chunk by chunk,
     * dispatching each chunk's sends while the next chunk is written. Safe to run twice or after
     * a crash: each chunk commits with the position it advances.
     */
    async fanout(bulkJobId: string): Promise<{ created: number }> {
      const pending = await deps.bulk.pendingFanout(bulkJobId);
      if (!pending) {
        await deps.bulk.completeIfDone(bulkJobId);
        return { created: 0 };
      }
      const { recipients, doneChunks } = pending;
      const chunks = Math.ceil(recipients.length / FANOUT_CHUNK);
      const todo = Array.from({ length: chunks }, (_, i) => i).filter((i) => !doneChunks.has(i));
      // Sending starts once every row is written: the fan-out then has the machine to itself (a
      // 100,000-recipient job is written in a few seconds) instead of competing with its own
      // deliveries. A dispatch lost to a crash is recovered from the rows.
      const toDispatch: DispatchRequest<'mail.send'>[] = [];
      let created = 0;
      let open = true;
      // Two writers: one PostgreSQL backend cannot use both cores of a small machine.
      const writer = async () => {
        try {
          for (let i = todo.shift(); i !== undefined && open; i = todo.shift()) {
            const start = i * FANOUT_CHUNK;
            const chunk = recipients.slice(start, start + FANOUT_CHUNK);
            // Derived from the job and the recipient's place: a chunk written twice adds nothing.
            const ids = chunk.map((_, k) => derivedUuid(`${bulkJobId}/${start + k}`));
            const rows = await deps.bulk.fanoutChunk(bulkJobId, i, {
              ids,
              // Every BULK_JOB_EMAILS recipients share one mail.send job, keyed by the first one's id.
              batches: ids.map((_, k) => ids[k - (k % BULK_JOB_EMAILS)] as string),
              recipients: chunk,
              messageIdDomain: deps.messageIdDomain,
            });
            if (rows === null)
              open = false; // cancelled, or finished by another worker
            else {
              created += rows.length;
              toDispatch.push(
                ...sendJobsFor(
                  rows.map((r) => ({ id: r.id, sendBatch: r.send_batch })),
                  { bulk: true },
                ),
              );
            }
          }
        } catch (e) {
          open = false; // the sibling stops after its current chunk
          throw e;
        }
      };
      try {
        // Settled, not all: when one writer fails, the other finishes its chunk before the error
        // is rethrown, so a retry of this job never runs beside a writer still at work.
        const results = await Promise.allSettled(Array.from({ length: FANOUT_WRITERS }, writer));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        if (toDispatch.length > 0) await quietly(() => deps.dispatcher.dispatch('mail.send', toDispatch));
      }
      if (open) await deps.bulk.finishFanout(bulkJobId, chunks);
      await deps.bulk.completeIfDone(bulkJobId);
      return { created };
    },

    get,

    async cancel(tenantId: string, id: string) {
      const r = isUuid(id) ? await deps.bulk.cancel(tenantId, id) : null;
      if (!r) throw new AppError('bulk_job_not_found');
      if (r.outcome === 'finished') throw new AppError('bulk_job_not_cancellable');
      return get(tenantId, id);
    },

    /** For the recovery loop: re-dispatch lost fan-outs, complete finished jobs. */
    async recover(graceSeconds: number, limit = 100): Promise<number> {
      let dispatched = 0;
      for (const job of await deps.bulk.findOpen(graceSeconds, limit)) {
        if (job.fanout_done) await deps.bulk.completeIfDone(job.id);
        else {
          await deps.dispatcher.dispatch('mail.bulk', [{ payload: { bulkJobId: job.id }, jobId: job.id }]);
          dispatched++;
        }
      }
      return dispatched;
    },
  };
}
export type BulkService = ReturnType<typeof bulkService>;
