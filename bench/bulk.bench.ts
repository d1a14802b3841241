/**
 * The 100,000-recipient bulk send, end to end, against `npm start`'s entry point running in a
 * child process (API, workers and recovery in one process, as a single-machine install runs):
 *   - time to the 202 of POST /send/bulk (client side);
 *   - time from the 202 until all 100,000 email rows exist;
 *   - delivery rate into a real SMTP server (smtp-server in this process) over a window,
 * printed beside a baseline measured in the same run: a bare pooled nodemailer loop sending the
 * same kind of message to the same SMTP server with the same pool size.
 *
 *   npm run bench:bulk     (BENCH_RECIPIENTS=100000 BENCH_DELIVERY_SECONDS=30 by default)
 *
 * Needs PostgreSQL and Redis as the tests do; creates and drops its own database and key prefix.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { appendEventsFrom } from '../src/db/email-events.js';
import { migrate } from '../src/db/migrator.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import { FANOUT_CHUNK, FANOUT_WRITERS } from '../src/services/bulk.service.js';
import { dbUrl, TEST_REDIS_URL } from '../test/support/env.js';
import { deleteRedisPrefix, testEnv } from '../test/support/harness.js';
import { startSystemProcess } from '../test/support/system-process.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 100_000);
const DELIVERY_SECONDS = Number(process.env.BENCH_DELIVERY_SECONDS ?? 30);
const POOL = 5;
const BASELINE_MESSAGES = 5000;
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 20);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

async function main() {
  const dbName = `mailsystem_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const migrator = createPgDatabase(dbUrl(dbName), { max: 1 });
  await migrate(migrator);
  await migrator.close();
  const pool = new pg.Pool({ connectionString: dbUrl(dbName), max: 2 });
  const prefix = `msbench-${randomBytes(3).toString('hex')}`;
  const sink = new CaptureSmtpServer({ port: 0, keep: 0 });
  const { port } = await sink.start();
  let received = 0;
  let urgentAt = 0;
  sink.on('message', (m) => {
    received++;
    if (m.envelope.to[0] === 'urgent@example.com') urgentAt = performance.now();
  });

  let report: ((rowsBaselineMs: number) => void) | null = null;
  let jobIdForBaseline = '';
  const html =
    "<h1>Hello {{ name }}</h1><p>Your code is {{ code }}. Thanks for reading this month's letter.</p>";
  try {
    // --- baseline: a bare pooled nodemailer loop to the same SMTP server -------------------------
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      pool: true,
      maxConnections: POOL,
    });
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: POOL * 4 }, async () => {
        while (next < BASELINE_MESSAGES) {
          const i = next++;
          await transport.sendMail({
            from: 'Mailsystem <no-reply@mailsystem.local>',
            to: { name: `User ${i}`, address: `base${i}@example.com` },
            subject: `Hello User ${i}`,
            html: html.replace('{{ name }}', `User ${i}`).replace('{{ code }}', `C${i}`),
            text: `Hello User ${i}\n\nYour code is C${i}.`,
          });
        }
      }),
    );
    const baselineRate = BASELINE_MESSAGES / ((performance.now() - t0) / 1000);
    transport.close();

    // --- Mailsystem --------------------------------------------------------------------------------
    const system = await startSystemProcess(
      testEnv({
        DATABASE_URL: dbUrl(dbName),
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        SMTP_PORT: String(port),
        SMTP_POOL_SIZE: String(POOL),
        WORKER_CONCURRENCY: String(CONCURRENCY),
        RETRY_BASE_SECONDS: '5',
        RETRY_MAX_SECONDS: '60',
        LEASE_SECONDS: '120',
        RECOVERY_GRACE_SECONDS: '60',
        LOG_LEVEL: 'warn',
      }),
    );
    try {
      const headers = { authorization: `Bearer ${system.apiKey}`, 'content-type': 'application/json' };
      const tpl = (await (
        await fetch(`${system.baseUrl}/templates`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: 'letter', subject_template: 'Hello {{ name }}', html_template: html }),
        })
      ).json()) as { id: string };
      const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({
        email: `user${i}@example.com`,
        name: `User ${i}`,
        variables: { name: `User ${i}`, code: `C${i}` },
      }));
      const body = JSON.stringify({ template_id: tpl.id, recipients });
      received = 0;
      const a0 = performance.now();
      const res = await fetch(`${system.baseUrl}/send/bulk`, { method: 'POST', headers, body });
      const accepted = performance.now();
      if (res.status !== 202) throw new Error(`bulk answered ${res.status}: ${await res.text()}`);
      const { bulk_job_id: jobId } = (await res.json()) as { bulk_job_id: string };

      let rowsAt = 0;
      for (;;) {
        // The chunk records count the rows each committed chunk wrote (with its rows, in one
        // transaction): reading them costs nothing, where counting the emails themselves (every
        // 50 ms, 100,000 unvacuumed rows) took CPU the fan-out needs.
        const { rows } = await pool.query(
          'SELECT coalesce(sum(created + suppressed), 0)::int AS n FROM bulk_fanout_chunks WHERE bulk_job_id = $1',
          [jobId],
        );
        if (rows[0].n >= RECIPIENTS) {
          rowsAt = performance.now();
          break;
        }
        await sleep(50);
      }
      const d0 = performance.now();
      const r0 = received;
      // A transactional email sent while the bulk is delivering: how long until the relay has it?
      await sleep(2000);
      const u0 = performance.now();
      const urgent = await fetch(`${system.baseUrl}/send`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          recipient: { email: 'urgent@example.com' },
          template_id: tpl.id,
          variables: { name: 'U', code: 'X' },
        }),
      });
      if (urgent.status !== 202) throw new Error(`send answered ${urgent.status}`);
      await sleep(DELIVERY_SECONDS * 1000 - 2000);
      const deliveryRate = (received - r0) / ((performance.now() - d0) / 1000);
      const sentSince202 = received;
      await fetch(`${system.baseUrl}/bulk/${jobId}/cancel`, { method: 'POST', headers });

      report = (rowsBaselineMs: number) => {
        const line = (label: string, value: string, note = '') =>
          console.log(`${label.padEnd(46)} ${value.padStart(14)}  ${note}`);
        console.log(
          `\nbulk send of ${fmt(RECIPIENTS)} recipients (request body ${fmt(body.length / 1e6, 1)} MB), 2-core machine`,
        );
        line('POST /send/bulk → 202', `${fmt(accepted - a0)} ms`, '(target ≤ 500 ms)');
        line('202 → all email rows exist', `${fmt(rowsAt - accepted)} ms`, '(target ≤ 2,000 ms)');
        line(
          'baseline: the same rows by a bare INSERT … SELECT',
          `${fmt(rowsBaselineMs)} ms`,
          `(${FANOUT_WRITERS} connections, ${fmt(FANOUT_CHUNK)}-row statements, same schema)`,
        );
        line(
          `Mailsystem delivery rate (${DELIVERY_SECONDS} s window)`,
          `${fmt(deliveryRate)} msg/s`,
          `(${fmt(sentSince202)} delivered since the 202)`,
        );
        line(
          'transactional /send during the bulk → relay',
          urgentAt ? `${fmt(urgentAt - u0)} ms` : 'not arrived',
          '(target < 5,000 ms)',
        );
        line(
          'baseline: bare pooled nodemailer loop',
          `${fmt(baselineRate)} msg/s`,
          `(same SMTP server, pool ${POOL})`,
        );
        line('Mailsystem / baseline', `${fmt((100 * deliveryRate) / baselineRate)} %`);
      };
      jobIdForBaseline = jobId;
    } finally {
      await system.kill('SIGTERM');
    }
    // --- baseline for the rows, with the machine to itself: as many rows as the fan-out wrote, by
    // INSERT … SELECT generate_series with each email's `queued` event, into the same tables (their
    // indexes, foreign keys and triggers), in as many connections as the fan-out writes with. What
    // the fan-out adds to this is reading its recipients from the job and the suppression check.
    const rowsBaselineMs = await bareFanout(pool, jobIdForBaseline);
    report?.(rowsBaselineMs);
  } finally {
    await pool.end();
    await sink.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

/** Writes RECIPIENTS emails of a copy of the bulk job `jobId` by bare statements; returns the ms taken. */
async function bareFanout(pool: pg.Pool, jobId: string): Promise<number> {
  const copy = randomUUID();
  await pool.query(
    `INSERT INTO bulk_jobs (id, tenant_id, template_id, template_version, status)
     SELECT $2, tenant_id, template_id, template_version, 'processing' FROM bulk_jobs WHERE id = $1`,
    [jobId, copy],
  );
  const statement = (from: number, to: number) =>
    pool.query(
      `WITH j AS (SELECT * FROM bulk_jobs WHERE id = $1), ins AS (
         INSERT INTO emails (id, tenant_id, template_id, template_version, bulk_job_id, recipient_email,
                             recipient_name, variables, status, provider, message_id, next_attempt_at,
                             list_unsubscribe)
         SELECT gen_random_uuid(), j.tenant_id, j.template_id, j.template_version, j.id,
                'base' || g || '@example.com', 'User ' || g,
                jsonb_build_object('name', 'User ' || g, 'code', 'C' || g), 'queued', 'smtp',
                '<base' || g || '@mailsystem.local>', now(), true
           FROM j, generate_series($2::int, $3::int) g
         RETURNING id, tenant_id, template_id, bulk_job_id
       ), ev AS (
         ${appendEventsFrom('ins', 'queued', "jsonb_build_object('bulk_job_id', bulk_job_id::text)")}
       )
       SELECT count(*) FROM ins`,
      [copy, from, to],
    );
  const chunks = Array.from({ length: Math.ceil(RECIPIENTS / FANOUT_CHUNK) }, (_, i) => i);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: FANOUT_WRITERS }, async () => {
      for (let i = chunks.shift(); i !== undefined; i = chunks.shift()) {
        await statement(i * FANOUT_CHUNK, Math.min(RECIPIENTS, (i + 1) * FANOUT_CHUNK) - 1);
      }
    }),
  );
  return performance.now() - t0;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
