import type { Queryable } from './database.js';

export interface TenantRow {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
  /** The provider the tenant's mail goes through; null: DEFAULT_PROVIDER. */
  provider: string | null;
  /** Where its mail goes, in order, while the provider is unavailable. */
  fallback_providers: string[];
  created_at: Date;
  updated_at: Date;
}

export interface TenantPatch {
  status?: 'active' | 'suspended';
  rate_limit_per_second?: number | null;
  rate_limit_burst?: number | null;
  name?: string;
  provider?: string | null;
  fallback_providers?: string[];
}

export function tenantsRepository(db: Queryable) {
  return {
    /** Returns null when the id is taken. */
    async create(id: string, name: string): Promise<TenantRow | null> {
      const { rows } = await db.query<TenantRow>(
        `INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING *`,
        [id, name],
      );
      return rows[0] ?? null;
    },

    async get(id: string): Promise<TenantRow | null> {
      const { rows } = await db.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
      return rows[0] ?? null;
    },

    async list(limit: number, after: string | null): Promise<TenantRow[]> {
      const { rows } = await db.query<TenantRow>(
        'SELECT * FROM tenants WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2',
        [after, limit],
      );
      return rows;
    },

    async update(id: string, patch: TenantPatch): Promise<TenantRow | null> {
      const sets: string[] = [];
      const params: unknown[] = [id];
      for (const key of [
        'name',
        'status',
        'rate_limit_per_second',
        'rate_limit_burst',
        'provider',
        'fallback_providers',
      ] as const) {
        if (patch[key] !== undefined) {
          params.push(patch[key]);
          sets.push(`${key} = $${params.length}`);
        }
      }
      sets.push('updated_at = now()');
      const { rows } = await db.query<TenantRow>(
        `UPDATE tenants SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
        params,
      );
      return rows[0] ?? null;
    },
  };
}
export type TenantsRepository = ReturnType<typeof tenantsRepository>;
