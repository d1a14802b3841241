import { decodeCursor, page } from '../db/cursor.js';
import type { DeadLetterRow, DeadLettersRepository } from '../db/dead-letters.repository.js';
import { AppError } from '../domain/errors.js';
import { isUuid } from '../lib/ids.js';
import { type Dispatcher, dispatchQuietly } from '../queue/dispatcher.js';
import { sendJob } from '../queue/jobs.js';

export const deadLetterView = (d: DeadLetterRow) => ({
  id: d.id,
  email_id: d.email_id,
  reason: d.reason,
  last_error: d.last_error,
  attempts: d.attempts,
  recipient: d.recipient_email,
  template_id: d.template_id,
  bulk_job_id: d.bulk_job_id,
  email_status: d.email_status,
  created_at: d.created_at.toISOString(),
  retried_at: d.retried_at ? d.retried_at.toISOString() : null,
});

export function deadLettersService(deps: {
  deadLetters: DeadLettersRepository;
  dispatcher: Dispatcher;
  onDispatchError?: (e: unknown) => void;
}) {
  return {
    async list(tenantId: string, limit: number, cursor: string | undefined, includeRetried: boolean) {
      const rows = await deps.deadLetters.list(tenantId, limit, decodeCursor(cursor), { includeRetried });
      return page(rows, limit, (r) => r.id, deadLetterView);
    },

    async get(tenantId: string, id: string) {
      const row = isUuid(id) ? await deps.deadLetters.get(tenantId, id) : null;
      if (!row) throw new AppError('dead_letter_not_found');
      return deadLetterView(row);
    },

    /** Sends the email again with a fresh retry budget; each dead letter can be retried once. */
    async retry(tenantId: string, id: string) {
      const r = isUuid(id) ? await deps.deadLetters.retry(tenantId, id) : null;
      if (!r) throw new AppError('dead_letter_not_found');
      if (r.outcome === 'already')
        throw new AppError('dead_letter_already_retried', undefined, { email_id: r.emailId });
      const dl = await deps.deadLetters.get(tenantId, id);
      await dispatchQuietly(
        () =>
          deps.dispatcher.dispatch('mail.send', [
            sendJob(r.emailId, { suffix: `retry-${id}`, bulk: Boolean(dl?.bulk_job_id) }),
          ]),
        deps.onDispatchError,
      );
      return { dead_letter_id: id, email_id: r.emailId, status: 'queued' as const };
    },
  };
}
export type DeadLettersService = ReturnType<typeof deadLettersService>;
