/**
 * Makes the analytics benchmark's data set: 10,000,000 email_events (2,000,000 emails with five
 * events each: queued, processing, sent, delivered, opened) for 10 tenants with 10 templates
 * each, spread over the last 365 days, in a database of its own. Set-based SQL (generate_series),
 * one statement per million events; the analytics trigger counts each statement's events as it
 * commits, and the aggregator then folds them into the rollups, as in production.
 *
 *   npm run bench:seed-analytics      (BENCH_EVENTS=10000000 by default)
 *   npm run bench:analytics           (then, as often as you like)
 *
 * Needs PostgreSQL as the tests do; drops and re-creates the database BENCH_ANALYTICS_DB
 * (default ms_analytics_bench).
 */
import pg from 'pg';
import { analyticsRepository } from '../src/db/analytics.repository.js';
import { migrate } from '../src/db/migrator.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { dbUrl } from '../test/support/env.js';
import { BENCH_DB } from './analytics-db.js';

const BENCH_TENANTS = 10;
const TEMPLATES_PER_TENANT = 10;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const EVENTS_PER_EMAIL = 5;
const EMAILS_PER_STATEMENT = 200_000;

const secondsSince = (t0: number) => ((performance.now() - t0) / 1000).toFixed(1);

async function main() {
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${BENCH_DB}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${BENCH_DB}"`);
  await admin.end();
  const db = createPgDatabase(dbUrl(BENCH_DB), { max: 2 });
  await migrate(db);
  const t0 = performance.now();
  try {
    await db.query(
      `INSERT INTO tenants (id, name) SELECT 'bench-' || t, 'Bench ' || t FROM generate_series(0, $1 - 1) t`,
      [BENCH_TENANTS],
    );
    await db.query(
      `CREATE TABLE bench_templates AS
         SELECT 'bench-' || t AS tenant_id, n, gen_random_uuid() AS id
           FROM generate_series(0, $1 - 1) t, generate_series(0, $2 - 1) n`,
      [BENCH_TENANTS, TEMPLATES_PER_TENANT],
    );
    await db.query(
      `INSERT INTO templates (id, tenant_id, name) SELECT id, tenant_id, 'template ' || n FROM bench_templates`,
    );
    await db.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       SELECT id, 1, tenant_id, 'Hello {{ name }}', '<p>Hello {{ name }}</p>' FROM bench_templates`,
    );

    const emails = Math.ceil(EVENTS / EVENTS_PER_EMAIL);
    for (let from = 0; from < emails; from += EMAILS_PER_STATEMENT) {
      const to = Math.min(emails, from + EMAILS_PER_STATEMENT) - 1;
      await db.query(
        `WITH src AS (
           SELECT g, 'bench-' || (g % $3) AS tenant_id, (g / $3) % $4 AS n,
                  now() - random() * interval '365 days' AS at
             FROM generate_series($1::int, $2::int) g
         ), ins AS (
           INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status,
                               provider, message_id, created_at, updated_at, sent_at)
           SELECT gen_random_uuid(), s.tenant_id, t.id, 1, 'r' || s.g || '@example.com', 'opened', 'smtp',
                  '<bench-' || s.g || '@bench.local>', s.at, s.at, s.at
             FROM src s JOIN bench_templates t ON t.tenant_id = s.tenant_id AND t.n = s.n
           RETURNING id, tenant_id, created_at
         )
         INSERT INTO email_events (email_id, tenant_id, type, at)
         SELECT i.id, i.tenant_id, v.type, i.created_at + v.after
           FROM ins i CROSS JOIN (VALUES ('queued', interval '0'), ('processing', interval '1 second'),
                                         ('sent', interval '2 seconds'), ('delivered', interval '30 seconds'),
                                         ('opened', interval '2 hours')) v(type, after)`,
        [from, to, BENCH_TENANTS, TEMPLATES_PER_TENANT],
      );
      console.log(`${((to + 1) * EVENTS_PER_EMAIL).toLocaleString('en-US')} events (${secondsSince(t0)} s)`);
    }

    // The aggregator's work, as the worker loop would do it, in bigger batches.
    const t1 = performance.now();
    const analytics = analyticsRepository(db);
    let folded = 0;
    for (;;) {
      const r = await analytics.fold(50_000, 20);
      folded += r?.rows ?? 0;
      if ((await analytics.backlog()) === 0) break;
    }
    console.log(
      `folded ${folded.toLocaleString('en-US')} pending rows into the rollups in ${secondsSince(t1)} s`,
    );
    await db.query('VACUUM ANALYZE');
    const counts = await db.query<{ events: number; hourly: number; daily: number }>(
      `SELECT (SELECT count(*) FROM email_events)::int AS events,
              (SELECT count(*) FROM analytics_hourly)::int AS hourly,
              (SELECT count(*) FROM analytics_daily)::int AS daily`,
    );
    console.log(`done in ${secondsSince(t0)} s: ${JSON.stringify(counts.rows[0])} in database ${BENCH_DB}`);
  } finally {
    await db.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
