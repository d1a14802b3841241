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

export function suppressionsRepository(db: Queryable) {
  return {
    async find(tenantId: string, email: string): Promise<SuppressionRow | null> {
      const { rows } = await db.query<SuppressionRow>(
        'SELECT *, created_at::text AS cursor_ts FROM suppressions WHERE tenant_id = $1 AND email = $2',
        [tenantId, email],
      );
      return rows[0] ?? null;
    },

    /** Adds the address; an existing entry keeps its first reason and time. Returns the entry. */
    async add(
      tenantId: string,
      email: string,
      reason: SuppressionReason,
      source: Record<string, unknown> = {},
    ): Promise<{ row: SuppressionRow; created: boolean }> {
      const { rows } = await db.query<SuppressionRow & { created: boolean }>(
        `WITH ins AS (
           INSERT INTO suppressions (tenant_id, email, reason, source) VALUES ($1, $2, $3, $4)
           ON CONFLICT (tenant_id, email) DO NOTHING RETURNING *
         )
         SELECT *, created_at::text AS cursor_ts, true AS created FROM ins
         UNION ALL
         SELECT *, created_at::text AS cursor_ts, false AS created FROM suppressions
          WHERE tenant_id = $1 AND email = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
        [tenantId, email, reason, source],
      );
      const row = rows[0] as SuppressionRow & { created: boolean };
      return { row, created: row.created };
    },

    async remove(tenantId: string, email: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM suppressions WHERE tenant_id = $1 AND email = $2', [
        tenantId,
        email,
      ]);
      return rowCount > 0;
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
