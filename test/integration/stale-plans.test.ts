import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDatabase, statementName } from '../../src/db/pg.database.js';
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

  it('plans record_webhook_event for each call, from the table as it is now', async () => {
    const { rows } = await c.query<{ proconfig: string[] }>(
      "SELECT proconfig FROM pg_proc WHERE proname = 'record_webhook_event'",
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.proconfig).toContain('plan_cache_mode=force_custom_plan');
  });

  it('plans the prepared statements of the application for the table as it is now, not as it was', async () => {
    const fresh = await createTestDatabase();
    const app = createPgDatabase(fresh.url, { max: 1 });
    try {
      await app.query("INSERT INTO tenants (id, name) VALUES ('p', 'P')");
      await app.query("INSERT INTO templates (id, tenant_id, name) VALUES ($1, 'p', 't')", [template]);
      await app.query(
        `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
         VALUES ($1, 1, 'p', 's', 'h')`,
        [template],
      );
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
});
