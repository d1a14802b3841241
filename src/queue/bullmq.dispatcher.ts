import { type JobsOptions, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { withTimeout } from '../lib/time.js';
import type {
  ConsumeOptions,
  Consumer,
  Dispatcher,
  JobHandler,
  JobHandlers,
  QueueStats,
} from './dispatcher.js';
import { type DispatchRequest, QUEUE_NAMES, type QueueName } from './jobs.js';
import { redisOptionsFromUrl } from './redis-options.js';

export interface BullmqDispatcherOptions {
  redisUrl: string;
  prefix: string;
  /** How long a dispatch may wait for Redis before it gives up (recovery re-dispatches later). */
  dispatchTimeoutMs?: number;
  /**
   * How long a worker's lock on a running job lasts (renewed while it runs). A job whose worker
   * died is handed out again after about this long plus the stall check's interval.
   */
  jobLockMs?: number;
  /** How often a handler that throws is tried, and the first backoff (doubling). */
  handlerRetries?: { attempts: number; backoffMs: number };
  onError?: (err: Error, where: string) => void;
}

const DEFAULT_JOB_OPTIONS: JobsOptions = {
  // Handler exceptions are infrastructure faults (database briefly away); business retries live
  // in PostgreSQL (`next_attempt_at`).
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  // A job that kept failing is dropped, not kept: a kept job would hold its id, and dispatching
  // that id again (what the recovery loop does) would be ignored. PostgreSQL still has the email
  // and the failure is logged.
  removeOnFail: true,
};

/** Dispatcher on BullMQ. Queues and workers are created lazily, one per queue name. */
export function createBullmqDispatcher(opts: BullmqDispatcherOptions): Dispatcher {
  const base = redisOptionsFromUrl(opts.redisUrl);
  const onError = opts.onError ?? (() => {});
  const timeoutMs = opts.dispatchTimeoutMs ?? 3000;
  const jobLockMs = opts.jobLockMs ?? 30_000;
  // Producers give up after one reconnection attempt (and `dispatchTimeoutMs`) while Redis is away
  // instead of waiting for it: the API must answer, and the rows are already safe in PostgreSQL.
  const producerConnection = { ...base, maxRetriesPerRequest: 1 };
  const queues = new Map<QueueName, Queue>();
  // The control connection doubles as the health signal: while it is down, dispatches fail at
  // once instead of making every API request wait for the timeout.
  const control = new Redis({ ...base, maxRetriesPerRequest: 1 });
  let everReady = false;
  let up = false;
  control.on('ready', () => {
    everReady = true;
    up = true;
  });
  control.on('close', () => {
    up = false;
  });
  control.on('error', (e) => onError(e, 'redis'));
  const assertReachable = () => {
    if (everReady && !up) throw new Error('Redis is unreachable; the recovery loop will dispatch later');
  };
  const epochKey = `${opts.prefix}:epoch`;

  const queue = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: producerConnection,
        prefix: opts.prefix,
        defaultJobOptions: {
          ...DEFAULT_JOB_OPTIONS,
          ...(opts.handlerRetries
            ? {
                attempts: opts.handlerRetries.attempts,
                backoff: { type: 'exponential', delay: opts.handlerRetries.backoffMs },
              }
            : {}),
        },
        skipWaitingForReady: true,
      });
      q.on('error', (e) => onError(e, `queue ${name}`));
      queues.set(name, q);
    }
    return q;
  };

  return {
    kind: 'bullmq',

    async dispatch(name, jobs) {
      if (jobs.length === 0) return;
      assertReachable();
      const q = queue(name);
      const bulk = jobs.map((j: DispatchRequest<typeof name>) => ({
        name,
        data: j.payload,
        opts: {
          jobId: j.jobId,
          ...(j.delayMs && j.delayMs > 0 ? { delay: Math.ceil(j.delayMs) } : {}),
          ...(j.priority ? { priority: j.priority } : {}),
        },
      }));
      await withTimeout(q.addBulk(bulk), timeoutMs, `Redis did not take ${name} jobs in ${timeoutMs} ms`);
    },

    consume(handlers: JobHandlers, consumeOpts: ConsumeOptions): Consumer {
      const workers: Worker[] = [];
      for (const name of Object.values(QUEUE_NAMES)) {
        const handler = handlers[name] as JobHandler<typeof name> | undefined;
        if (!handler) continue;
        const worker = new Worker(name, async (job) => handler(job.data, { jobId: job.id ?? '' }), {
          connection: { ...base, maxRetriesPerRequest: null },
          prefix: opts.prefix,
          concurrency: consumeOpts.concurrency[name] ?? 1,
          // A job whose worker died is handed out again after the lock expires; the claim in
          // PostgreSQL decides whether anything is actually sent again.
          lockDuration: jobLockMs,
          stalledInterval: Math.max(1000, Math.floor(jobLockMs / 2)),
          maxStalledCount: 10,
        });
        worker.on('error', (e) => onError(e, `worker ${name}`));
        workers.push(worker);
      }
      return {
        async close() {
          await Promise.all(workers.map((w) => w.close()));
        },
      };
    },

    async pending(name, jobIds) {
      if (jobIds.length === 0) return new Set<string>();
      assertReachable();
      // A job's hash exists while it waits, is delayed or runs: finished jobs are removed
      // (removeOnComplete, removeOnFail above).
      const q = queue(name);
      const pipeline = control.pipeline();
      for (const id of jobIds) pipeline.exists(q.toKey(id));
      const replies = await withTimeout(pipeline.exec(), timeoutMs, 'Redis timeout');
      const found = new Set<string>();
      replies?.forEach(([err, n], i) => {
        if (err) throw err;
        if (n === 1) found.add(jobIds[i] as string);
      });
      return found;
    },

    async brokerWasReset() {
      assertReachable();
      // NX: the key is only missing when Redis lost its data (or on the very first start).
      const set = await withTimeout(
        control.set(epochKey, String(Date.now()), 'NX'),
        timeoutMs,
        'Redis timeout',
      );
      return set === 'OK';
    },

    async stats(name): Promise<QueueStats> {
      const q = queue(name);
      const counts = await withTimeout(
        q.getJobCounts('waiting', 'prioritized', 'delayed', 'active'),
        timeoutMs,
        'Redis timeout',
      );
      const oldest = await q.getJobs(['waiting', 'prioritized'], 0, 0, true);
      const ts = oldest[0]?.timestamp;
      return {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        delayed: counts.delayed ?? 0,
        active: counts.active ?? 0,
        oldestWaitingAgeMs: ts ? Math.max(0, Date.now() - ts) : 0,
      };
    },

    async ping(ms = 2000) {
      assertReachable();
      await withTimeout(control.ping(), ms, 'Redis did not answer');
    },

    async close() {
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => {})));
      control.disconnect();
    },
  };
}
