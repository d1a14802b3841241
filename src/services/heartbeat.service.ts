import type { WorkersRepository } from '../db/workers.repository.js';

/**
 * This worker process's heartbeat, and the release of dead workers' claims (run by the recovery
 * leader). A worker is dead when its heartbeat is older than `timeoutSeconds`; its processing
 * emails are then released at once instead of after LEASE_SECONDS.
 *
 * Claims are released only by a leader whose own heartbeats have worked for a whole timeout:
 * after a PostgreSQL outage every live worker's heartbeat is stale, and releasing then would send
 * again what live workers are still delivering (or have kept in their journal). Waiting one
 * timeout lets every live worker beat again first (they beat every timeout / 3).
 */
export function heartbeatService(deps: {
  workers: WorkersRepository;
  workerId: string;
  timeoutSeconds: number;
}) {
  let healthySince: number | null = null;
  let lastBeat = 0;
  return {
    intervalMs: (deps.timeoutSeconds * 1000) / 3,
    async beat(): Promise<void> {
      try {
        await deps.workers.beat(deps.workerId);
        lastBeat = Date.now();
        healthySince ??= lastBeat;
      } catch (e) {
        healthySince = null;
        throw e;
      }
    },
    /**
     * Whether this worker's heartbeat was written within half the timeout, beating now if not: a
     * worker that cannot say it lives must not claim or send, since the leader may release its
     * claims.
     */
    async fresh(): Promise<boolean> {
      const recent = () => Date.now() - lastBeat < (deps.timeoutSeconds * 1000) / 2;
      if (recent()) return true;
      await this.beat().catch(() => {});
      return recent();
    },
    async releaseDead(): Promise<number> {
      if (healthySince === null || Date.now() - healthySince < deps.timeoutSeconds * 1000) return 0;
      return deps.workers.releaseDead(deps.timeoutSeconds, deps.workerId);
    },
    async stop(): Promise<void> {
      await deps.workers.remove(deps.workerId).catch(() => {});
    },
  };
}
export type HeartbeatService = ReturnType<typeof heartbeatService>;
