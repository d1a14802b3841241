import type {
  ConsumeOptions,
  Consumer,
  Dispatcher,
  JobHandler,
  JobHandlers,
  QueueStats,
} from './dispatcher.js';
import type { DispatchRequest, JobPayloads, QueueName } from './jobs.js';

interface PendingJob {
  jobId: string;
  payload: unknown;
  priority: number;
  enqueuedAt: number;
  failures: number;
}

const MAX_HANDLER_FAILURES = 5;

/**
 * Dispatcher inside the process: for the embedded mode and single-process runs where no Redis is
 * configured. It keeps the BullMQ adapter's promises (dedupe by job id while a job exists, delays,
 * priorities, handler retries with backoff) but holds nothing across a restart — the recovery loop
 * re-dispatches from PostgreSQL, as it does after a Redis flush.
 */
export function createInProcessDispatcher(
  opts: { onError?: (err: Error, where: string) => void } = {},
): Dispatcher {
  const onError = opts.onError ?? (() => {});
  const ready = new Map<QueueName, PendingJob[]>();
  const known = new Map<QueueName, Set<string>>(); // ids pending, delayed or running
  const timers = new Set<NodeJS.Timeout>();
  const active = new Map<QueueName, number>();
  const delayedCount = new Map<QueueName, number>();
  let handlers: JobHandlers = {};
  let concurrency: Partial<Record<QueueName, number>> = {};
  let consuming = false;
  let reported = false;

  const ids = (q: QueueName) => {
    const s = known.get(q) ?? new Set<string>();
    known.set(q, s);
    return s;
  };
  const list = (q: QueueName) => {
    const l = ready.get(q) ?? [];
    ready.set(q, l);
    return l;
  };
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const makeReady = (q: QueueName, job: PendingJob) => {
    const l = list(q);
    // Stable insertion by priority: 0 (none) first, then 1, 2, …; FIFO within a priority.
    let i = l.length;
    while (i > 0 && (l[i - 1]?.priority ?? 0) > job.priority) i--;
    l.splice(i, 0, job);
    pump(q);
  };

  const pump = (q: QueueName) => {
    if (!consuming) return;
    const handler = handlers[q] as JobHandler<typeof q> | undefined;
    if (!handler) return;
    const limit = concurrency[q] ?? 1;
    const l = list(q);
    while ((active.get(q) ?? 0) < limit && l.length > 0) {
      const job = l.shift() as PendingJob;
      active.set(q, (active.get(q) ?? 0) + 1);
      handler(job.payload as JobPayloads[typeof q], { jobId: job.jobId })
        .then(() => ids(q).delete(job.jobId))
        .catch((e: unknown) => {
          job.failures++;
          onError(e instanceof Error ? e : new Error(String(e)), `job ${q} ${job.jobId}`);
          if (job.failures >= MAX_HANDLER_FAILURES) ids(q).delete(job.jobId);
          else later(1000 * 2 ** (job.failures - 1), () => makeReady(q, job));
        })
        .finally(() => {
          active.set(q, (active.get(q) ?? 1) - 1);
          // Yield between jobs so a long queue does not starve timers and I/O.
          setImmediate(() => pump(q));
        });
    }
  };

  return {
    kind: 'in-process',

    async dispatch<Q extends QueueName>(q: Q, jobs: readonly DispatchRequest<Q>[]) {
      for (const j of jobs) {
        if (ids(q).has(j.jobId)) continue;
        ids(q).add(j.jobId);
        const job: PendingJob = {
          jobId: j.jobId,
          payload: j.payload,
          priority: j.priority ?? 0,
          enqueuedAt: Date.now(),
          failures: 0,
        };
        if (j.delayMs && j.delayMs > 0) {
          delayedCount.set(q, (delayedCount.get(q) ?? 0) + 1);
          later(j.delayMs, () => {
            delayedCount.set(q, (delayedCount.get(q) ?? 1) - 1);
            job.enqueuedAt = Date.now();
            makeReady(q, job);
          });
        } else makeReady(q, job);
      }
    },

    consume(h: JobHandlers, o: ConsumeOptions): Consumer {
      handlers = h;
      concurrency = o.concurrency;
      consuming = true;
      for (const q of ready.keys()) pump(q);
      return {
        async close() {
          consuming = false;
          // Let running handlers finish, as BullMQ's worker.close() does.
          while ([...active.values()].some((n) => n > 0)) await new Promise((r) => setTimeout(r, 10));
        },
      };
    },

    async pending(q, jobIds) {
      return new Set(jobIds.filter((id) => ids(q).has(id)));
    },

    async brokerWasReset() {
      // Memory starts empty once per process: report that once so recovery sweeps at start.
      if (reported) return false;
      reported = true;
      return true;
    },

    async stats(q): Promise<QueueStats> {
      const first = list(q)[0];
      return {
        waiting: list(q).length,
        delayed: delayedCount.get(q) ?? 0,
        active: active.get(q) ?? 0,
        oldestWaitingAgeMs: first ? Date.now() - first.enqueuedAt : 0,
      };
    },

    async ping() {},

    async close() {
      consuming = false;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
