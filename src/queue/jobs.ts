/**
 * The job catalogue: queue names and what each job carries. Jobs carry ids, never payloads —
 * PostgreSQL holds the facts, so a job that is lost or runs twice changes nothing by itself.
 */
export const QUEUE_NAMES = {
  send: 'mail.send',
  scheduled: 'mail.scheduled',
  bulk: 'mail.bulk',
  dlq: 'mail.dlq',
  webhooks: 'mail.webhooks',
} as const;

export interface JobPayloads {
  /** Deliver one email (claimed in PostgreSQL before anything is sent). */
  'mail.send': { emailId: string };
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
