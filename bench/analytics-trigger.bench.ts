/**
 * What the analytics trigger costs the statements that append events: single-event INSERTs (a
 * send's status changes, a webhook event) and one 5,000-event INSERT (a bulk chunk), each timed
 * with the trigger on and, as the baseline in the same run, with it disabled. Rounds alternate so
 * that drift on the machine affects both sides alike.
 *
 *   npm run bench:analytics-trigger     (creates and drops its own database)
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/db/migrator.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { dbUrl } from '../test/support/env.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const SINGLE_PER_ROUND = Number(process.env.BENCH_SINGLE ?? 2000);
const BULK_ROWS = Number(process.env.BENCH_BULK_ROWS ?? 5000);

async function main() {
  const dbName = `ms_trigger_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const db = createPgDatabase(dbUrl(dbName), { max: 1 });
  try {
    await migrate(db);
    await db.query(`INSERT INTO tenants (id, name) VALUES ('t', 'T')`);
    await db.query(
      `INSERT INTO templates (id, tenant_id, name) VALUES ('00000000-0000-4000-8000-000000000001', 't', 'x')`,
    );
    await db.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ('00000000-0000-4000-8000-000000000001', 1, 't', 's', 'h')`,
    );
    await db.query(
      `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
       SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid, 't',
              '00000000-0000-4000-8000-000000000001', 1, 'r@example.com', 'sent', 'smtp', '<m' || g || '@x>'
         FROM generate_series(1, $1) g`,
      [BULK_ROWS],
    );
    const single = () =>
      db.query(
        `INSERT INTO email_events (email_id, tenant_id, type) VALUES ('00000000-0000-4000-9000-000000000001', 't', 'sent')`,
      );
    const bulk = () =>
      db.query(
        `INSERT INTO email_events (email_id, tenant_id, type)
         SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid, 't', 'queued'
           FROM generate_series(1, $1) g`,
        [BULK_ROWS],
      );
    const sides = { on: { single: 0, bulk: 0 }, off: { single: 0, bulk: 0 } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        await db.query(
          `ALTER TABLE email_events ${side === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER email_events_analytics`,
        );
        let t = performance.now();
        for (let i = 0; i < SINGLE_PER_ROUND; i++) await single();
        sides[side].single += performance.now() - t;
        t = performance.now();
        await bulk();
        sides[side].bulk += performance.now() - t;
      }
    }
    const perSingle = (s: { single: number }) => ((s.single / (ROUNDS * SINGLE_PER_ROUND)) * 1000).toFixed(0);
    const perBulk = (s: { bulk: number }) => (s.bulk / ROUNDS).toFixed(1);
    console.log(
      `one-event INSERT:    ${perSingle(sides.on)} µs with the trigger, ${perSingle(sides.off)} µs without (baseline)`,
    );
    console.log(
      `${BULK_ROWS}-event INSERT: ${perBulk(sides.on)} ms with the trigger, ${perBulk(sides.off)} ms without (baseline)`,
    );
  } finally {
    await db.close();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
