import type { CursorKey } from './cursor.js';
import type { Queryable } from './database.js';

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'unsubscribe' | 'manual';

export interface SuppressionRow {
  tenant_id: string;
  email: string;
  reason: SuppressionReason;
  source: Record<string, unknown>;
  created_at: Date;
  cursor_ts: string;
}

/** Entries the recipient made: lifting them needs an explicit override. */
const RECIPIENT_REASONS = "'unsubscribe', 'complaint'";

export function suppressionsRepository(db: Queryable) {
  return {
    async find(tenantId: string, email: string): Promise<SuppressionRow | null> {
      const { rows } = await db.query<SuppressionRow>(
        'SELECT *, created_at::text AS cursor_ts FROM suppressions WHERE tenant_id = $1 AND email = $2',
        [tenantId, email],
      );
      return rows[0] ?? null;
    },

    /** The entries among the (tenant, address) pairs given, in one statement. */
    async findMany(keys: readonly { tenantId: string; email: string }[]): Promise<SuppressionRow[]> {
      const { rows } = await db.query<SuppressionRow>(
        `SELECT s.*, s.created_at::text AS cursor_ts
           FROM suppressions s JOIN unnest($1::text[], $2::text[]) AS k(tenant_id, email)
             ON s.tenant_id = k.tenant_id AND s.email = k.email`,
        [keys.map((k) => k.tenantId), keys.map((k) => k.email)],
      );
      return rows;
    },

    /** Adds the address; an existing entry keeps its first reason and time. Returns the entry. */
    async add(
      tenantId: string,
      email: string,
      reason: SuppressionReason,
      source: Record<string, unknown> = {},
    ): Promise<{ row: SuppressionRow; created: boolean }> {
      // Two rounds: a concurrent DELETE may remove the row that won the conflict before we read it.
      for (let round = 0; round < 2; round++) {
        const { rows } = await db.query<SuppressionRow>(
          `INSERT INTO suppressions (tenant_id, email, reason, source) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, email) DO NOTHING
           RETURNING *, created_at::text AS cursor_ts`,
          [tenantId, email, reason, source],
        );
        if (rows[0]) return { row: rows[0], created: true };
        // A separate statement: a row committed by a concurrent insert is only seen by a new snapshot.
        const existing = await this.find(tenantId, email);
        if (existing) return { row: existing, created: false };
      }
      throw new Error('suppression kept conflicting without a visible row');
    },

    /**
     * Removes the address and records the removal, in one statement. An entry the recipient made
     * (unsubscribe, complaint) goes only with `override`. 'removed', 'needs_override' (kept), or
     * 'absent'.
     */
    async remove(
      tenantId: string,
      email: string,
      opts: { override: boolean; keyId: string | null; note: string | null },
    ): Promise<'removed' | 'needs_override' | 'absent'> {
      const { rows } = await db.query<{ removed: number; present: boolean }>(
        `WITH gone AS (
           DELETE FROM suppressions
            WHERE tenant_id = $1 AND email = $2
              AND (reason NOT IN (${RECIPIENT_REASONS}) OR $3::boolean)
           RETURNING tenant_id, email, reason, source, created_at
         ), recorded AS (
           INSERT INTO suppression_removals
             (tenant_id, email, reason, source, suppressed_at, overridden, removed_by_key, note)
           SELECT tenant_id, email, reason, source, created_at, reason IN (${RECIPIENT_REASONS}), $4, $5
             FROM gone
         )
         SELECT (SELECT count(*)::int FROM gone) AS removed,
                EXISTS (SELECT 1 FROM suppressions WHERE tenant_id = $1 AND email = $2) AS present`,
        [tenantId, email, opts.override, opts.keyId, opts.note],
      );
      const row = rows[0];
      if (row && row.removed > 0) return 'removed';
      return row?.present ? 'needs_override' : 'absent';
    },

    async list(tenantId: string, limit: number, after: CursorKey | null): Promise<SuppressionRow[]> {
      const { rows } = await db.query<SuppressionRow>(
        `SELECT *, created_at::text AS cursor_ts FROM suppressions
          WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (created_at, email) < ($2::timestamptz, $3::text))
          ORDER BY created_at DESC, email DESC LIMIT $4`,
        [tenantId, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },
  };
}
export type SuppressionsRepository = ReturnType<typeof suppressionsRepository>;
