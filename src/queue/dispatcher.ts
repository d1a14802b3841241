import type { DispatchRequest, JobPayloads, QueueName } from './jobs.js';

/**
 * Dispatcher — the port between the services and whatever moves jobs (BullMQ on Redis, or an
 * in-process queue for the embedded mode and single-process use).
 *
 * Contract:
 * - `dispatch` hands jobs to the broker and resolves once the broker holds them; it may reject
 *   (broker down). Callers dispatch only AFTER the facts are committed in PostgreSQL and treat a
 *   rejection as harmless: the recovery loop re-dispatches what is due and not in flight.
 * - Delivery is at-least-once and unordered: a job may run twice, late, or after a restart.
 *   Handlers must be idempotent (the email claim in PostgreSQL is what prevents a second send).
 * - A handler that throws is retried by the dispatcher a few times with backoff (for passing
 *   infrastructure faults); business retries are the services' own (`next_attempt_at`).
 * - `pending` tells which of the given job ids the broker still holds (waiting, delayed or
 *   running; finished jobs are not kept), so the recovery loop can leave alone emails whose shared
 *   job is still on its way.
 * - `brokerWasReset` tells the recovery loop that the broker lost its state (Redis flushed or
 *   restarted empty) since the last call, so a full sweep is due now rather than after the grace.
 * Not promised: exactly-once, ordering, or that a delayed job runs at the exact millisecond.
 */
export type JobHandler<Q extends QueueName> = (
  payload: JobPayloads[Q],
  meta: { jobId: string },
) => Promise<void>;

export type JobHandlers = { [Q in QueueName]?: JobHandler<Q> };

export interface ConsumeOptions {
  concurrency: Partial<Record<QueueName, number>>;
}

export interface Consumer {
  close(): Promise<void>;
}

export interface QueueStats {
  waiting: number;
  delayed: number;
  active: number;
  /** Age of the oldest job waiting to run, 0 when none waits. */
  oldestWaitingAgeMs: number;
}

export interface Dispatcher {
  readonly kind: 'bullmq' | 'in-process';
  dispatch<Q extends QueueName>(queue: Q, jobs: readonly DispatchRequest<Q>[]): Promise<void>;
  consume(handlers: JobHandlers, opts: ConsumeOptions): Consumer;
  pending(queue: QueueName, jobIds: readonly string[]): Promise<Set<string>>;
  brokerWasReset(): Promise<boolean>;
  stats(queue: QueueName): Promise<QueueStats>;
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Dispatches best-effort, as the contract above allows: the facts are already committed, so a
 * broker that refuses is reported through `onError` (logged by the caller) and the recovery loop
 * re-dispatches what is due. Never throws.
 */
export async function dispatchQuietly(
  dispatch: () => Promise<void>,
  onError: ((e: unknown) => void) | undefined,
): Promise<void> {
  try {
    await dispatch();
  } catch (e) {
    onError?.(e);
  }
}
