import type { Database } from '../db/database.js';
import type { DeliveriesRepository } from '../db/deliveries.repository.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { type DispatchRequest, sendBatchJobId, sendJob } from '../queue/jobs.js';

/** Any fixed number shared by every worker process: the recovery loop's leader lock. */
export const RECOVERY_LOCK_KEY = 4_242_002;
const MAX_PAGES_PER_TICK = 500;

export interface RecoveryTickResult {
  leader: boolean;
  brokerReset: boolean;
  redispatched: number;
  promoted: number;
}

/**
 * Re-dispatches what is due and not in flight, so that Redis is an accelerator and never the only
 * copy of anything. One process at a time does it: each tick runs while holding a PostgreSQL
 * advisory lock (`Database.withLock`: `pg_try_advisory_xact_lock` in a transaction of its own), so
 * the leader is whoever holds the lock for that tick, and a dead leader is replaced on the next tick by any other worker.
 *
 * "Not in flight" is judged by time: a queued email whose job should have run more than
 * `graceSeconds` ago has most likely lost its job. Dispatching it again is harmless when the job
 * still exists (same deterministic job id → no-op) or runs twice (the claim lets one through).
 * An email that waits in a job shared with others (`send_batch`, never claimed yet) is left alone
 * while the queue still holds that job, and dispatched on its own once it does not.
 * When the broker reports that it lost its data, the grace is dropped and the whole backlog is
 * re-dispatched in pages at once.
 */
export function recoveryService(deps: {
  db: Database;
  deliveries: DeliveriesRepository;
  dispatcher: Dispatcher;
  graceSeconds: number;
  batchSize: number;
  /** More recoverable work (bulk fan-outs, …) that runs under the same lock. */
  extra?: (brokerReset: boolean) => Promise<number>;
  /** Ends the leases of dead workers' claims before looking for what is due (heartbeats). */
  releaseDead?: () => Promise<number>;
}) {
  // After a tick that failed (Redis or PostgreSQL away), dispatches made meanwhile by the API may
  // have failed too: the next good tick sweeps without the grace.
  let lastTickFailed = false;
  const notLeader: RecoveryTickResult = { leader: false, brokerReset: false, redispatched: 0, promoted: 0 };
  const tick = async (): Promise<RecoveryTickResult> =>
    (await deps.db.withLock(RECOVERY_LOCK_KEY, async () => {
      if (deps.releaseDead) await deps.releaseDead();
      const brokerReset = (await deps.dispatcher.brokerWasReset()) || lastTickFailed;
      const grace = brokerReset ? 0 : deps.graceSeconds;
      let redispatched = 0;
      let promoted = 0;
      let after: { dueAt: string; id: string } | null = null;
      for (let pages = 0; pages < MAX_PAGES_PER_TICK; pages++) {
        const due = await deps.deliveries.findDue(grace, deps.batchSize, after);
        if (due.length === 0) break;
        const scheduled = due.filter((r) => r.status === 'scheduled').map((r) => r.id);
        const promotedIds = new Set(await deps.deliveries.promoteScheduledMany(scheduled));
        promoted += promotedIds.size;
        // An email never claimed may still wait in the job it shares with others (a backlog older
        // than the grace): it is dispatched on its own only once that job is gone.
        const batches = [
          ...new Set(due.flatMap((r) => (r.send_batch ? [sendBatchJobId(r.send_batch)] : []))),
        ];
        const waiting = await deps.dispatcher.pending('mail.send', batches);
        const send: DispatchRequest<'mail.send'>[] = due
          .filter((r) => r.status !== 'scheduled' || promotedIds.has(r.id))
          .filter((r) => !(r.send_batch && waiting.has(sendBatchJobId(r.send_batch))))
          .map((r) => sendJob(r.id, { attempts: r.attempts, bulk: r.bulk }));
        await deps.dispatcher.dispatch('mail.send', send);
        redispatched += send.length;
        const last = due[due.length - 1];
        // Outside a reset one page per tick is enough: what is left is due again next tick.
        if (!brokerReset || !last || due.length < deps.batchSize) break;
        after = { dueAt: last.due_at, id: last.id };
      }
      if (deps.extra) redispatched += await deps.extra(brokerReset);
      return { leader: true, brokerReset, redispatched, promoted };
    })) ?? notLeader;

  return {
    async tick(): Promise<RecoveryTickResult> {
      try {
        const r = await tick();
        lastTickFailed = false;
        return r;
      } catch (e) {
        lastTickFailed = true;
        throw e;
      }
    },
  };
}
export type RecoveryService = ReturnType<typeof recoveryService>;
