import type { Database } from './database.js';

/** Worker heartbeats: which worker processes live, so a dead one's claims need not wait a lease. */
export function workersRepository(db: Database) {
  return {
    async beat(workerId: string): Promise<void> {
      await db.query(
        `INSERT INTO worker_heartbeats (worker_id) VALUES ($1)
         ON CONFLICT (worker_id) DO UPDATE SET beat_at = now()`,
        [workerId],
      );
    },

    async remove(workerId: string): Promise<void> {
      await db.query('DELETE FROM worker_heartbeats WHERE worker_id = $1', [workerId]);
    },

    /**
     * Forgets workers silent for longer than `timeoutSeconds` and ends the leases of the emails
     * claimed by a worker that has no live heartbeat, so the recovery loop re-dispatches them now
     * rather than when their lease runs out; never those of `self`, the caller, which knows it
     * lives. Returns the number of emails released.
     */
    async releaseDead(timeoutSeconds: number, self: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        `WITH gone AS (
           DELETE FROM worker_heartbeats WHERE beat_at < now() - make_interval(secs => $1)
         ), released AS (
           UPDATE emails SET lease_until = now() - interval '1 second'
            WHERE status = 'processing' AND lease_until >= now() AND claimed_by IS NOT NULL
              AND claimed_by <> $2
              AND NOT EXISTS (SELECT 1 FROM worker_heartbeats w
                               WHERE w.worker_id = emails.claimed_by
                                 AND w.beat_at >= now() - make_interval(secs => $1))
            RETURNING 1
         )
         SELECT count(*)::int AS n FROM released`,
        [timeoutSeconds, self],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
export type WorkersRepository = ReturnType<typeof workersRepository>;
