import type { Queryable } from './database.js';

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface KeyOwner {
  key_id: string;
  tenant_id: string;
  tenant_status: 'active' | 'suspended';
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
}

const COLUMNS = 'id, tenant_id, name, prefix, created_at, last_used_at, revoked_at';

export function apiKeysRepository(db: Queryable) {
  return {
    async create(k: {
      id: string;
      tenantId: string;
      name: string;
      prefix: string;
      hash: Buffer;
    }): Promise<ApiKeyRow> {
      const { rows } = await db.query<ApiKeyRow>(
        `INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [k.id, k.tenantId, k.name, k.prefix, k.hash],
      );
      return rows[0] as ApiKeyRow;
    },

    async listByTenant(tenantId: string): Promise<ApiKeyRow[]> {
      const { rows } = await db.query<ApiKeyRow>(
        `SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`,
        [tenantId],
      );
      return rows;
    },

    async get(tenantId: string, keyId: string): Promise<ApiKeyRow | null> {
      const { rows } = await db.query<ApiKeyRow>(
        `SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2`,
        [tenantId, keyId],
      );
      return rows[0] ?? null;
    },

    async revoke(tenantId: string, keyId: string): Promise<ApiKeyRow | null> {
      const { rows } = await db.query<ApiKeyRow>(
        `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
         WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [tenantId, keyId],
      );
      return rows[0] ?? null;
    },

    /** Whether a key with this hash exists, and whether it was revoked. */
    async stateByHash(hash: Buffer): Promise<'live' | 'revoked' | null> {
      const { rows } = await db.query<{ revoked: boolean }>(
        'SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE key_hash = $1',
        [hash],
      );
      const row = rows[0];
      return row ? (row.revoked ? 'revoked' : 'live') : null;
    },

    /** Deletes a tenant's keys whose name starts with `prefix` (the demo's keys of earlier starts). */
    async deleteNamed(tenantId: string, prefix: string): Promise<number> {
      const { rows } = await db.query<{ id: string }>(
        'DELETE FROM api_keys WHERE tenant_id = $1 AND left(name, length($2)) = $2 RETURNING id',
        [tenantId, prefix],
      );
      return rows.length;
    },

    /** The live key with this hash and its tenant, or null (unknown or revoked). */
    async findOwner(hash: Buffer): Promise<KeyOwner | null> {
      const { rows } = await db.query<KeyOwner>(
        `SELECT k.id AS key_id, t.id AS tenant_id, t.status AS tenant_status,
                t.rate_limit_per_second, t.rate_limit_burst
           FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
          WHERE k.key_hash = $1 AND k.revoked_at IS NULL`,
        [hash],
      );
      return rows[0] ?? null;
    },

    async touch(keyId: string): Promise<void> {
      // Coarse on purpose: one write per key per minute at most.
      await db.query(
        `UPDATE api_keys SET last_used_at = now()
          WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
        [keyId],
      );
    },
  };
}
export type ApiKeysRepository = ReturnType<typeof apiKeysRepository>;
