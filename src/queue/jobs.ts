/**
 * The job catalogue: queue names and what each job carries. Jobs carry ids, never payloads —
 * PostgreSQL holds the facts, so a job that is lost or runs twice changes nothing by itself.
 */
import type { QueueRole } from '../config/config.js';

/**
 * The queues: the role a worker takes (`WORKER_QUEUES`), the queue it consumes and how many of its
 * jobs one worker runs at once unless configured (`mail.send` follows `WORKER_CONCURRENCY`).
 * `satisfies` keeps this table and the roles the configuration accepts one-to-one.
 */
export const QUEUES = {
  send: { name: 'mail.send', concurrency: 20 },
  scheduled: { name: 'mail.scheduled', concurrency: 5 },
  bulk: { name: 'mail.bulk', concurrency: 1 },
  dlq: { name: 'mail.dlq', concurrency: 2 },
  webhooks: { name: 'mail.webhooks', concurrency: 20 },
} as const satisfies Record<QueueRole, { name: keyof JobPayloads; concurrency: number }>;

/** Queue names by role. */
export const QUEUE_NAMES = Object.fromEntries(Object.entries(QUEUES).map(([role, q]) => [role, q.name])) as {
  readonly [R in QueueRole]: (typeof QUEUES)[R]['name'];
};

export interface JobPayloads {
  /**
   * Deliver one email, or emails handed over together (one acceptance statement's, or a slice of
   * a bulk fan-out), each claimed in PostgreSQL before anything is sent.
   */
  'mail.send': ({ emailId: string } | { emailIds: string[] }) & {
    /** Bulk mail: a worker delivers it after the transactional mail it holds. */
    bulk?: true;
  };
  /** Promote a scheduled email to `mail.send` when its `send_at` comes. */
  'mail.scheduled': { emailId: string };
  /** Fan a bulk job out into email rows and send jobs. */
  'mail.bulk': { bulkJobId: string };
  /** A dead letter was written; consumers notify or count. */
  'mail.dlq': { deadLetterId: string; emailId: string; tenantId: string };
  /** One attempt of one outgoing tenant webhook (a webhook_deliveries row, claimed before sending). */
  'mail.webhooks': { deliveryId: string };
}

export type QueueName = keyof JobPayloads;

export interface DispatchRequest<Q extends QueueName> {
  payload: JobPayloads[Q];
  /**
   * Deterministic id: dispatching the same id again while the first job still exists is a no-op,
   * so the API and the recovery loop can both dispatch without flooding the queue.
   */
  jobId: string;
  delayMs?: number;
  /** Lower runs first; omitted = before every prioritised job (transactional mail). */
  priority?: number;
}

/** Job id for a send attempt: one job per (email, attempt), so a retry is never deduped away. */
export const sendJobId = (emailId: string, attempts: number): string => `${emailId}.${attempts}`;

/** Bulk mail waits behind transactional mail in the send queue (lower runs first; none = first). */
export const BULK_PRIORITY = 10;

/** Job id for a webhook attempt: one per (delivery, time it became due), so a retry is never deduped away. */
export const webhookJobId = (deliveryId: string, dueAt: Date): string => `${deliveryId}.${dueAt.getTime()}`;

/**
 * The `mail.send` job for an email: one job id per (email, attempt) — `suffix` tells apart a
 * re-dispatch that must not be deduped against the attempt's first job (held, retried by hand) —
 * and bulk mail behind transactional mail.
 */
export function sendJob(
  emailId: string,
  o: { attempts?: number; suffix?: string; delayMs?: number | undefined; bulk?: boolean } = {},
): DispatchRequest<'mail.send'> {
  const base = sendJobId(emailId, o.attempts ?? 0);
  return {
    payload: o.bulk ? { emailId, bulk: true } : { emailId },
    jobId: o.suffix ? `${base}.${o.suffix}` : base,
    ...(o.delayMs !== undefined ? { delayMs: o.delayMs } : {}),
    ...(o.bulk ? { priority: BULK_PRIORITY } : {}),
  };
}

/** The emails a `mail.send` job delivers. */
export const emailIdsOf = (p: JobPayloads['mail.send']): string[] =>
  'emailIds' in p ? p.emailIds : [p.emailId];

/** The id of the `mail.send` job shared by the emails stored with `send_batch` = `batch`. */
export const sendBatchJobId = (batch: string): string => `${batch}.batch`;

/**
 * One `mail.send` job for emails handed over together (one acceptance statement, or a slice of a
 * bulk fan-out): one job in Redis instead of one per email. The emails carry `batch` in their
 * `send_batch` column until first claimed, so the recovery loop can ask whether their job still
 * exists before dispatching them again one by one.
 */
export function sendBatchJob(
  batch: string,
  emailIds: string[],
  o: { bulk?: boolean } = {},
): DispatchRequest<'mail.send'> {
  return {
    payload: o.bulk ? { emailIds, bulk: true } : { emailIds },
    jobId: sendBatchJobId(batch),
    ...(o.bulk ? { priority: BULK_PRIORITY } : {}),
  };
}

/**
 * The `mail.send` jobs for emails just stored: one per shared key (`sendBatchJob`), and one of its
 * own (`sendJob`, first attempt) for each email without one.
 */
export function sendJobsFor(
  emails: Iterable<{ id: string; sendBatch?: string | null | undefined }>,
  o: { bulk?: boolean } = {},
): DispatchRequest<'mail.send'>[] {
  const alone: DispatchRequest<'mail.send'>[] = [];
  const shared = new Map<string, string[]>();
  for (const e of emails) {
    if (!e.sendBatch) alone.push(sendJob(e.id, o));
    else {
      const ids = shared.get(e.sendBatch) ?? [];
      ids.push(e.id);
      shared.set(e.sendBatch, ids);
    }
  }
  return [...alone, ...[...shared].map(([batch, ids]) => sendBatchJob(batch, ids, o))];
}

/**
 * Bulk emails one shared `mail.send` job carries. A worker takes transactional mail before bulk
 * jobs, but only when one of its running jobs ends: the smaller the bulk job, the sooner. Twenty
 * (the default `WORKER_CONCURRENCY`) cuts a bulk send's jobs twentyfold and keeps that wait to one
 * job's worth of deliveries.
 */
export const BULK_JOB_EMAILS = 20;

/**
 * The `mail.scheduled` job that promotes an email at its time: the first one's id is the email's;
 * a timer re-armed because it fired early (`rearm`) gets an id of its own, since the first job
 * still exists while it runs.
 */
export function scheduledJob(
  emailId: string,
  delayMs: number,
  rearm = false,
): DispatchRequest<'mail.scheduled'> {
  return {
    payload: { emailId },
    jobId: rearm ? `${emailId}.at${Date.now() + delayMs}` : emailId,
    delayMs,
  };
}
