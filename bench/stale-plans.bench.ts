/**
 * Statements that must not depend on fresh statistics. PostgreSQL caches the plans of the SQL
 * inside PL/pgSQL functions (the analytics trigger on email_events, record_webhook_event) for the
 * life of a connection, and with autovacuum off (this machine, CI) or before autovacuum's first
 * nap (a fresh install), `emails` is never analyzed. A plan made while `emails` was small and kept
 * while it grew is what stalled a 100,000-recipient bulk fan-out (minutes of CPU per 5,000-row
 * statement).
 *
 * This bench reproduces that state and times one 5,000-recipient fan-out statement (emails rows,
 * their `queued` events, and so the analytics trigger):
 *   - "warm": on a connection that ran the same statement while `emails` held 10 rows, after
 *     `emails` grew to BENCH_STALE_ROWS rows (default 200,000) plus as many dead tuples, never
 *     analyzed — the stale case;
 *   - baseline: the same statement on a new connection (plans made from the current size).
 *
 *   npm run bench:stale-plans        (BENCH_STALE_ROWS=200000 by default)
 *
 * Needs PostgreSQL as the tests do; creates and drops its own database. Runs whatever the server's
 * autovacuum setting is (it prints it); the database's tables are created with autovacuum off so
 * the result does not depend on it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/db/migrator.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { dbUrl } from '../test/support/env.js';

const ROWS = Number(process.env.BENCH_STALE_ROWS ?? 200_000);
const FANOUT = 5000;
const TIMEOUT_MS = Number(process.env.BENCH_STALE_TIMEOUT_MS ?? 120_000);

const TENANT = 'stale';
const TEMPLATE = randomUUID();

/** The bulk fan-out's shape: email rows and their `queued` events in one statement. */
let eventTemplate = true;
async function fanout(c: pg.Client, n: number): Promise<number> {
  const ids = Array.from({ length: n }, () => randomUUID());
  const started = performance.now();
  await c.query(
    `WITH ins AS (
       INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider,
                           message_id, next_attempt_at)
       SELECT id, $2, $3, 1, 'r' || ord || '@example.com', 'queued', 'mock', '<' || id || '@bench>', now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS s(id, ord)
       RETURNING id, tenant_id, template_id
     )
     INSERT INTO email_events (email_id, tenant_id, ${eventTemplate ? 'template_id, ' : ''}type, data)
     SELECT id, tenant_id, ${eventTemplate ? 'template_id, ' : ''}'queued', '{}'::jsonb FROM ins`,
    [ids, TENANT, TEMPLATE],
  );
  return performance.now() - started;
}

async function connect(name: string) {
  const c = new pg.Client({ connectionString: dbUrl(name) });
  await c.connect();
  await c.query(`SET statement_timeout = ${TIMEOUT_MS}`);
  return c;
}

async function main() {
  const dbName = `mailsystem_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  const { rows: av } = await admin.query<{ autovacuum: string }>('SHOW autovacuum');
  await admin.query(`CREATE DATABASE "${dbName}"`);
  try {
    const db = createPgDatabase(dbUrl(dbName), { max: 1 });
    await migrate(db);
    await db.close();
    const warm = await connect(dbName);
    const { rows: cols } = await warm.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'email_events' AND column_name = 'template_id'",
    );
    eventTemplate = cols.length > 0;
    await warm.query('ALTER TABLE emails SET (autovacuum_enabled = false)');
    await warm.query('ALTER TABLE email_events SET (autovacuum_enabled = false)');
    await warm.query("INSERT INTO tenants (id, name) VALUES ($1, 'Stale plans')", [TENANT]);
    await warm.query('INSERT INTO templates (id, tenant_id, name) VALUES ($1, $2, $3)', [
      TEMPLATE,
      TENANT,
      't',
    ]);
    await warm.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ($1, 1, $2, 's', 'h')`,
      [TEMPLATE, TENANT],
    );
    // The warm connection plans the trigger's statement while `emails` is small.
    for (let i = 0; i < 10; i++) await fanout(warm, 1);

    // Another connection grows `emails` (and leaves as many dead tuples), with no ANALYZE.
    const grow = await connect(dbName);
    await grow.query(
      `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider, message_id)
       SELECT gen_random_uuid(), $1, $2, 1, 'g' || g || '@example.com', 'sent', 'mock', '<g' || g || '@bench>'
         FROM generate_series(1, $3::int) g`,
      [TENANT, TEMPLATE, ROWS],
    );
    await grow.query("UPDATE emails SET updated_at = now() WHERE status = 'sent'");
    await grow.end();

    const fresh = await connect(dbName);
    const rows: [string, string][] = [];
    for (let round = 1; round <= 3; round++) {
      const base = await fanout(fresh, FANOUT).catch(timedOut);
      const stale = await fanout(warm, FANOUT).catch(timedOut);
      rows.push([`round ${round}`, `stale connection ${fmt(stale)}   fresh connection ${fmt(base)}`]);
    }
    await warm.end();
    await fresh.end();
    console.log(
      `PostgreSQL autovacuum=${av[0]?.autovacuum}; emails: ${ROWS} live + ${ROWS} dead tuples, never analyzed`,
    );
    console.log(`one ${FANOUT}-recipient fan-out statement (statement_timeout ${TIMEOUT_MS} ms):`);
    for (const [k, v] of rows) console.log(`  ${k}: ${v}`);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

/** A statement cancelled by statement_timeout (or failing otherwise) is reported, not fatal. */
const timedOut = (e: Error) => {
  console.error(e.message);
  return Number.NaN;
};
const fmt = (ms: number) => (Number.isNaN(ms) ? 'timed out' : `${ms.toFixed(0)} ms`);

await main();
