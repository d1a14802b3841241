import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkRepository } from '../../src/db/bulk.repository.js';
import type { Database } from '../../src/db/database.js';
import { emailsRepository } from '../../src/db/emails.repository.js';
import { createPgDatabase, KEPT_PLANS_OPTIONS, statementName } from '../../src/db/pg.database.js';
import { createTestDatabase } from '../support/harness.js';

/**
 * The statements PL/pgSQL caches per connection must not read `emails` in a way that grows with
 * its size: a plan made while `emails` was small (fresh install, autovacuum off or not yet run)
 * is kept for the connection's life. auto_explain reports the plans of the trigger's statements
 * to this client as notices (with what each node did), so the test reads the plan the cached
 * statement really used.
 */
describe('plans that do not depend on fresh statistics', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let c: pg.Client;
  const plans: string[] = [];
  const tenant = 'plans';
  const template = randomUUID();

  const fanout = (n: number, withTemplate: boolean) =>
    c.query(
      `WITH ins AS (
         INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider,
                             message_id)
         SELECT id, $2, $3, 1, 'r' || ord || '@example.com', 'queued', 'mock', '<' || id || '@plans>'
           FROM unnest($1::uuid[]) WITH ORDINALITY AS s(id, ord)
         RETURNING id, tenant_id, template_id
       )
       INSERT INTO email_events (email_id, tenant_id, ${withTemplate ? 'template_id, ' : ''}type)
       SELECT id, tenant_id, ${withTemplate ? 'template_id, ' : ''}'queued' FROM ins`,
      [Array.from({ length: n }, () => randomUUID()), tenant, template],
    );
  /** Plans of the analytics trigger's statement reported since `from`. */
  const triggerPlans = (from: number) =>
    plans.slice(from).filter((p) => p.includes('INSERT INTO analytics_pending'));

  beforeAll(async () => {
    db = await createTestDatabase();
    c = new pg.Client({ connectionString: db.url });
    await c.connect();
    c.on('notice', (n) => plans.push(String(n.message)));
    await c.query(`INSERT INTO tenants (id, name) VALUES ($1, 'Plans')`, [tenant]);
    await c.query('INSERT INTO templates (id, tenant_id, name) VALUES ($1, $2, $3)', [template, tenant, 't']);
    await c.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ($1, 1, $2, 's', 'h')`,
      [template, tenant],
    );
    // Plan the trigger's statement on this connection while `emails` is tiny…
    for (let i = 0; i < 3; i++) await fanout(1, true);
    // …then let `emails` grow, never analyzed, from another connection.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    await other.query(
      `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
       SELECT gen_random_uuid(), $1, $2, 1, 'g' || g || '@example.com', 'sent', 'mock', '<g' || g || '@plans>'
         FROM generate_series(1, 20000) g`,
      [tenant, template],
    );
    await other.end();
    await c.query(`LOAD 'auto_explain'`);
    await c.query('SET auto_explain.log_min_duration = 0');
    await c.query('SET auto_explain.log_nested_statements = on');
    await c.query('SET auto_explain.log_level = notice');
    await c.query('SET auto_explain.log_analyze = on');
  });
  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('counts a bulk fan-out in analytics without reading emails', async () => {
    const from = plans.length;
    await fanout(2000, true);
    const [plan] = triggerPlans(from);
    expect(plan).toBeDefined();
    // The fallback lookup is in the plan, but no node that reads emails ran.
    const readsEmails = (plan ?? '').split('\n').filter((l) => / on emails\b/.test(l));
    expect(readsEmails.every((l) => l.includes('never executed'))).toBe(true);
    const { rows } = await c.query(
      'SELECT template_id, sum(queued)::int AS queued FROM analytics_pending WHERE tenant_id = $1 GROUP BY 1',
      [tenant],
    );
    expect(rows).toEqual([{ template_id: template, queued: 2003 }]);
  });

  it('looks up the template of an event written without one by primary key, never by a scan', async () => {
    const from = plans.length;
    await fanout(500, false);
    const [plan] = triggerPlans(from);
    expect(plan).toMatch(/Index (Only )?Scan using emails_pkey on emails/);
    expect(plan).not.toMatch(/Seq Scan on emails/);
    const { rows } = await c.query(
      'SELECT template_id, sum(queued)::int AS queued FROM analytics_pending WHERE tenant_id = $1 GROUP BY 1',
      [tenant],
    );
    expect(rows).toEqual([{ template_id: template, queued: 2503 }]);
  });

  /** A connection set up as the application's are (by default, its main pool's); `ran` collects its notices. */
  const appConnection = async (url: string, options = '-c plan_cache_mode=force_custom_plan') => {
    const conn = new pg.Client({ connectionString: url, options });
    await conn.connect();
    const ran: string[] = [];
    conn.on('notice', (n) => ran.push(String(n.message)));
    return { conn, ran };
  };
  /** Tenant `p` with `template`, version 1 (through a client or the application's pool). */
  const seedTemplate = async (conn: { query(sql: string, params?: unknown[]): Promise<unknown> }) => {
    await conn.query("INSERT INTO tenants (id, name) VALUES ('p', 'P')");
    await conn.query("INSERT INTO templates (id, tenant_id, name) VALUES ($1, 'p', 't')", [template]);
    await conn.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ($1, 1, 'p', 's', 'h')`,
      [template],
    );
  };
  /** From now on, the plan of every statement the connection runs (nested ones too) comes as a notice. */
  const explainNested = async (conn: pg.Client) => {
    await conn.query(`LOAD 'auto_explain'`);
    await conn.query('SET auto_explain.log_min_duration = 0');
    await conn.query('SET auto_explain.log_nested_statements = on');
    await conn.query('SET auto_explain.log_level = notice');
  };

  it('finds and changes the email of a provider event by index, with plans cached while emails was small', async () => {
    // A connection set up as the application's are (force_custom_plan), whose record_webhook_event
    // plans are cached while `emails` holds three rows.
    const fresh = await createTestDatabase();
    const { conn, ran } = await appConnection(fresh.url);
    const record = async (emailId: string | null, messageId: string | null) =>
      (
        await conn.query<{ was_inserted: boolean; found_email_id: string | null }>({
          name: 'record',
          text: `SELECT * FROM record_webhook_event('mock', $1, $2, $3, 'bounced', now(), '{}',
                   '{"sent": "bounced"}', 'bounced', '{}', 'hard_bounce', '{}')`,
          values: [randomUUID(), emailId, messageId],
        })
      ).rows[0];
    const seedEmails = async (n: number, tag: string) =>
      (
        await conn.query<{ id: string; provider_message_id: string }>(
          `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider,
                               message_id, provider_message_id)
           SELECT gen_random_uuid(), 'p', $1, 1, $2 || g || '@example.com', 'sent', 'mock',
                  '<' || $2 || g || '@plans>', $2 || g
             FROM generate_series(1, $3::int) g
           RETURNING id, provider_message_id`,
          [template, tag, n],
        )
      ).rows;
    try {
      await seedTemplate(conn);
      const small = await seedEmails(3, 's');
      for (let i = 0; i < 10; i++) {
        const e = small[i % 3];
        await record(i % 2 ? (e?.id ?? null) : null, i % 2 ? null : (e?.provider_message_id ?? null));
      }
      const grown = await seedEmails(20_000, 'g');
      await explainNested(conn);
      const byId = grown[12_345];
      const byMessage = grown[17_000];
      expect(await record(byId?.id ?? null, null)).toMatchObject({
        was_inserted: true,
        found_email_id: byId?.id,
      });
      expect(await record(null, byMessage?.provider_message_id ?? null)).toMatchObject({
        was_inserted: true,
        found_email_id: byMessage?.id,
      });
      const onEmails = ran.filter((p) => / on emails\b/.test(p) && !p.includes('analytics_pending'));
      // Two lookups (by id, by provider message id) and two status updates (and the foreign-key
      // checks of the rows written, by primary key too).
      expect(
        onEmails.filter((p) => /Index (Only )?Scan using emails_pkey on emails/.test(p)).length,
      ).toBeGreaterThanOrEqual(3);
      expect(
        onEmails.filter((p) => /Index Scan using emails_provider_message_idx on emails/.test(p)),
      ).toHaveLength(1);
      expect(ran.filter((p) => /Seq Scan on emails/.test(p))).toEqual([]);
      const { rows } = await conn.query(
        "SELECT status, count(*)::int AS n FROM emails WHERE status = 'bounced' GROUP BY 1",
      );
      expect(rows).toEqual([{ status: 'bounced', n: 3 + 2 }]);
    } finally {
      await conn.end();
      await fresh.drop();
    }
  });

  it('plans the prepared statements of the application for the table as it is now, not as it was', async () => {
    const fresh = await createTestDatabase();
    const app = createPgDatabase(fresh.url, { max: 1 });
    try {
      await seedTemplate(app);
      const lookup = 'SELECT status FROM emails WHERE tenant_id = $1 AND id = $2';
      // Executed often while `emails` is empty: PostgreSQL would settle on a generic plan here.
      for (let i = 0; i < 10; i++) await app.query(lookup, ['p', randomUUID()]);
      await app.query(
        `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
         SELECT gen_random_uuid(), 'p', $1, 1, 'g' || g || '@example.com', 'sent', 'mock', '<g' || g || '@plans>'
           FROM generate_series(1, 20000) g`,
        [template],
      );
      const { rows } = await app.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN EXECUTE ${statementName(lookup)}('p', '${randomUUID()}')`,
      );
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index (Only )?Scan using emails_pkey on emails/);
    } finally {
      await app.close();
      await fresh.drop();
    }
  });

  it("checks a bulk fan-out's foreign keys by index with plans kept from when emails was small", async () => {
    // One connection set up as the application's are (force_custom_plan), observed through
    // auto_explain, with the bulk repository's own statements on it.
    const fresh = await createTestDatabase();
    const { conn, ran } = await appConnection(fresh.url);
    const query = async <R>(sql: string, params?: readonly unknown[]) => {
      const r = await conn.query(sql, params as unknown[]);
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    };
    const onConn: Database = {
      query,
      queryKeptPlans: query,
      async transaction(fn) {
        await conn.query('BEGIN');
        try {
          const r = await fn({ query });
          await conn.query('COMMIT');
          return r;
        } catch (e) {
          await conn.query('ROLLBACK');
          throw e;
        }
      },
      withLock: async (_key, fn) => fn(),
      ping: async () => {},
      close: async () => {},
    };
    const bulk = bulkRepository(onConn);
    const job = randomUUID();
    let chunk = 0;
    const fanout = async (n: number) => {
      const ids = Array.from({ length: n }, () => randomUUID());
      const rows = await bulk.fanoutChunk(job, chunk++, {
        ids,
        batches: ids,
        recipients: ids.map((id) => ({ email: `${id}@example.com`, name: null, variables: {} })),
        messageIdDomain: 'plans',
      });
      expect(rows).toHaveLength(n);
    };
    try {
      await seedTemplate(conn);
      await conn.query(
        `INSERT INTO bulk_jobs (id, tenant_id, template_id, template_version, status)
         VALUES ($1, 'p', $2, 1, 'processing')`,
        [job, template],
      );
      // Enough chunks while `emails` is nearly empty for PostgreSQL to settle on cached plans.
      for (let i = 0; i < 10; i++) await fanout(2);
      const other = new pg.Client({ connectionString: fresh.url });
      await other.connect();
      await other.query(
        `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
         SELECT gen_random_uuid(), 'p', $1, 1, 'g' || g || '@example.com', 'sent', 'mock', '<g' || g || '@plans>'
           FROM generate_series(1, 20000) g`,
        [template],
      );
      await other.end();
      await explainNested(conn);
      await fanout(200);
      // The check of each event's email (SELECT 1 FROM ONLY emails … FOR KEY SHARE), by primary key.
      // (On this PostgreSQL it is an index scan even with sequential scans allowed; the test guards
      // the outcome, the fan-out's enable_seqscan = off is what guarantees it.)
      const checks = ran.filter((p) => /FOR KEY SHARE/.test(p) && /"emails"/.test(p));
      expect(checks.length).toBeGreaterThanOrEqual(200);
      expect(checks.every((p) => /Index Scan using emails_pkey on emails/.test(p))).toBe(true);
      expect(ran.filter((p) => /Seq Scan on emails/.test(p))).toEqual([]);
    } finally {
      await conn.end();
      await fresh.drop();
    }
  });

  it("keeps the acceptance insert's plans from when emails was small, and they stay index plans", async () => {
    // A connection of the pool that runs `queryKeptPlans`, with the repository's insert on it,
    // prepared by name as the pool prepares it.
    const fresh = await createTestDatabase();
    const { conn, ran } = await appConnection(fresh.url, KEPT_PLANS_OPTIONS);
    const query = async <R>(sql: string, params?: readonly unknown[]) => {
      const r = await conn.query(
        params?.length ? { name: statementName(sql), text: sql, values: params as unknown[] } : sql,
      );
      return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
    };
    const emails = emailsRepository({ query, queryKeptPlans: query } as unknown as Database);
    const accept = (n: number, key: (i: number) => string | null = () => null) =>
      emails.insertMany(
        Array.from({ length: n }, (_, i) => {
          const id = randomUUID();
          return {
            id,
            tenantId: 'p',
            templateId: template,
            templateVersion: 1,
            recipientEmail: `${id}@example.com`,
            recipientName: null,
            variables: {},
            metadata: {},
            tags: [],
            headers: {},
            subject: null,
            status: 'queued' as const,
            idempotencyKey: key(i),
            fingerprint: null,
            sendAt: null,
            provider: 'mock',
            messageId: `<${id}@plans>`,
            listUnsubscribe: false,
          };
        }),
      );
    try {
      await seedTemplate(conn);
      for (let i = 0; i < 10; i++) await accept(2, (k) => `small-${i}-${k}`);
      const other = new pg.Client({ connectionString: fresh.url });
      await other.connect();
      await other.query(
        `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider,
                             message_id, idempotency_key)
         SELECT gen_random_uuid(), 'p', $1, 1, 'g' || g || '@example.com', 'sent', 'mock', '<g' || g || '@plans>',
                'grown-' || g
           FROM generate_series(1, 20000) g`,
        [template],
      );
      await other.end();
      await explainNested(conn);
      // Fifteen emails, the first of which reuses a key the table already holds.
      const results = await accept(15, (i) => (i === 0 ? 'grown-12345' : `late-${i}`));
      expect(results.map((r) => r.inserted)).toEqual([false, ...Array(14).fill(true)]);
      // The statement's plan is the one kept (generic), not made again for this execution…
      const { rows } = await conn.query<{ generic_plans: number }>(
        `SELECT generic_plans::int FROM pg_prepared_statements WHERE statement LIKE 'WITH r AS%'`,
      );
      expect(rows[0]?.generic_plans).toBeGreaterThan(0);
      // …and emails is read by its unique indexes only: the key's conflict, the events' checks.
      const checks = ran.filter((p) => /FOR KEY SHARE/.test(p) && /"emails"/.test(p));
      expect(checks).toHaveLength(14);
      expect(checks.every((p) => /Index Scan using emails_pkey on emails/.test(p))).toBe(true);
      expect(ran.filter((p) => /Seq Scan on emails|Bitmap Heap Scan on emails/.test(p))).toEqual([]);
    } finally {
      await conn.end();
      await fresh.drop();
    }
  });
});
