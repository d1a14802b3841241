import type { CursorKey } from './cursor.js';
import type { Database, Queryable } from './database.js';

export interface TemplateVersionRow {
  id: string;
  tenant_id: string;
  name: string;
  is_active: boolean;
  latest_version: number;
  version: number;
  subject_template: string;
  html_template: string;
  text_template: string | null;
  /** Sender defaults of this version ({email, name}), or null. */
  from_address: TemplateMailbox | null;
  reply_to: TemplateMailbox | null;
  created_at: Date;
  updated_at: Date;
  version_created_at: Date;
  cursor_ts: string;
}

export interface TemplateMailbox {
  email: string;
  name: string | null;
}

export interface TemplateContent {
  subject_template: string;
  html_template: string;
  text_template: string | null;
  from_address?: TemplateMailbox | null;
  reply_to?: TemplateMailbox | null;
}

const mailboxParam = (m: TemplateMailbox | null | undefined) => (m ? JSON.stringify(m) : null);

const SELECT_VERSION = `
  SELECT t.id, t.tenant_id, t.name, t.is_active, t.latest_version, v.version,
         v.subject_template, v.html_template, v.text_template, v.from_address, v.reply_to,
         t.created_at, t.updated_at, v.created_at AS version_created_at, t.created_at::text AS cursor_ts
    FROM templates t JOIN template_versions v ON v.template_id = t.id`;

export function templatesRepository(db: Database) {
  const getVersion = async (q: Queryable, tenantId: string, id: string, version?: number) => {
    const { rows } = await q.query<TemplateVersionRow>(
      `${SELECT_VERSION} WHERE t.tenant_id = $1 AND t.id = $2 AND v.version = coalesce($3::int, t.latest_version)`,
      [tenantId, id, version ?? null],
    );
    return rows[0] ?? null;
  };

  const insertVersion = (q: Queryable, tenantId: string, id: string, version: number, c: TemplateContent) =>
    q.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template, text_template,
                                     from_address, reply_to)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        version,
        tenantId,
        c.subject_template,
        c.html_template,
        c.text_template,
        mailboxParam(c.from_address),
        mailboxParam(c.reply_to),
      ],
    );

  return {
    getVersion: (tenantId: string, id: string, version?: number) => getVersion(db, tenantId, id, version),

    /** The latest version of each (tenant, template) given, in one statement; absent ones are left out. */
    async latestVersions(keys: readonly { tenantId: string; id: string }[]): Promise<TemplateVersionRow[]> {
      const { rows } = await db.query<TemplateVersionRow>(
        `${SELECT_VERSION}
          JOIN unnest($1::text[], $2::uuid[]) AS k(tenant_id, id) ON t.tenant_id = k.tenant_id AND t.id = k.id
         WHERE v.version = t.latest_version`,
        [keys.map((k) => k.tenantId), keys.map((k) => k.id)],
      );
      return rows;
    },

    async create(
      tenantId: string,
      id: string,
      name: string,
      c: TemplateContent,
    ): Promise<TemplateVersionRow> {
      return db.transaction(async (tx) => {
        await tx.query('INSERT INTO templates (id, tenant_id, name) VALUES ($1, $2, $3)', [
          id,
          tenantId,
          name,
        ]);
        await insertVersion(tx, tenantId, id, 1, c);
        return (await getVersion(tx, tenantId, id)) as TemplateVersionRow;
      });
    },

    /** Adds version latest+1; the row lock serialises concurrent PUTs. Null when unknown. */
    async addVersion(
      tenantId: string,
      id: string,
      name: string | undefined,
      c: TemplateContent,
    ): Promise<TemplateVersionRow | null> {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ latest_version: number }>(
          `UPDATE templates SET latest_version = latest_version + 1, name = coalesce($3, name), updated_at = now()
            WHERE tenant_id = $1 AND id = $2 RETURNING latest_version`,
          [tenantId, id, name ?? null],
        );
        const latest = rows[0]?.latest_version;
        if (latest === undefined) return null;
        await insertVersion(tx, tenantId, id, latest, c);
        return getVersion(tx, tenantId, id);
      });
    },

    async list(tenantId: string, limit: number, after: CursorKey | null): Promise<TemplateVersionRow[]> {
      const { rows } = await db.query<TemplateVersionRow>(
        `${SELECT_VERSION}
          WHERE t.tenant_id = $1 AND v.version = t.latest_version
            AND ($2::timestamptz IS NULL OR (t.created_at, t.id) < ($2::timestamptz, $3::uuid))
          ORDER BY t.created_at DESC, t.id DESC LIMIT $4`,
        [tenantId, after?.ts ?? null, after?.id ?? null, limit + 1],
      );
      return rows;
    },

    async listVersions(tenantId: string, id: string): Promise<{ version: number; created_at: Date }[]> {
      const { rows } = await db.query<{ version: number; created_at: Date }>(
        `SELECT version, created_at FROM template_versions WHERE tenant_id = $1 AND template_id = $2 ORDER BY version`,
        [tenantId, id],
      );
      return rows;
    },

    async setActive(tenantId: string, id: string, active: boolean): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE templates SET is_active = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2',
        [tenantId, id, active],
      );
      return rowCount > 0;
    },
  };
}
export type TemplatesRepository = ReturnType<typeof templatesRepository>;
