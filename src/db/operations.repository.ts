import type { Database } from './database.js';

/** Cross-tenant figures for operators (metrics); nothing here is served to a tenant. */
export function operationsRepository(db: Database) {
  return {
    /**
     * Emails waiting or in flight. Each count reads one of the small partial indexes the recovery
     * loop uses (only rows in that status are in it), so this stays cheap however many emails
     * were ever sent.
     */
    /** Queued emails per provider, for the providers named (those whose breaker is open). */
    async queuedFor(providers: readonly string[]): Promise<Record<string, number>> {
      if (providers.length === 0) return {};
      const { rows } = await db.query<{ provider: string; n: number }>(
        `SELECT provider, count(*)::int AS n FROM emails
          WHERE status = 'queued' AND next_attempt_at IS NOT NULL AND provider = ANY($1::text[])
          GROUP BY provider`,
        [providers],
      );
      return Object.fromEntries(rows.map((r) => [r.provider, r.n]));
    },

    async waitingEmails(): Promise<Record<string, number>> {
      const { rows } = await db.query<{ queued: number; scheduled: number; processing: number }>(
        `SELECT (SELECT count(*) FROM emails WHERE status = 'queued' AND next_attempt_at IS NOT NULL)::int AS queued,
                (SELECT count(*) FROM emails WHERE status = 'scheduled' AND send_at IS NOT NULL)::int AS scheduled,
                (SELECT count(*) FROM emails WHERE status = 'processing' AND lease_until IS NOT NULL)::int AS processing`,
      );
      const r = rows[0];
      return { queued: r?.queued ?? 0, scheduled: r?.scheduled ?? 0, processing: r?.processing ?? 0 };
    },
  };
}
export type OperationsRepository = ReturnType<typeof operationsRepository>;
