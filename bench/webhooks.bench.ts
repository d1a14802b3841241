/**
 * Webhook ingestion throughput: signed Standard Webhooks events (one per request, 20 % of them
 * exact replays of earlier requests) against the real API, printed beside three baselines measured
 * in the same run on the same machine:
 *   - a bare Fastify route (same raw-body parser, constant answer): the HTTP ceiling;
 *   - the dedupe upsert alone (INSERT … ON CONFLICT DO NOTHING, no HTTP);
 *   - the whole per-event statement alone (record_webhook_event, no HTTP, no signature).
 * Servers run in child processes so that the load generator does not share their event loop; the API
 * role runs compiled, as in production (`npm run build:server` first; BENCH_RUNTIME=tsx runs the
 * sources). BENCH_CPU_PROF=<dir> makes the API role write a V8 CPU profile there when it stops.
 *
 *   npm run bench:webhooks      (BENCH_SECONDS=10 BENCH_CONNECTIONS=50 BENCH_ROUNDS=2 by default)
 *
 * Needs PostgreSQL and Redis as the tests do (TEST_PG_URL, TEST_REDIS_URL); it creates and drops
 * its own database and Redis key prefix.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { webhooksRepository } from '../src/db/webhooks.repository.js';
import { createSystem } from '../src/main/system.js';
import { signStandardWebhook, standardWebhooksKey } from '../src/providers/standard-webhooks/signature.js';
import { webhookEffect } from '../src/services/webhooks.service.js';
import { dbUrl, TEST_REDIS_URL } from '../test/support/env.js';
import { deleteRedisPrefix } from '../test/support/harness.js';
import { cpuSeconds, RUNTIME, sleep, startChild, startRole, stopChild } from './lib.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const REPLAY_SHARE = 0.2;
const EMAILS = 2000;
const SECRET = 'bench-webhook-secret-0123456789';

// ---- child process: the bare baseline server, prints its URL ----------------------------------

async function serveBare() {
  const app = Fastify();
  await app.register(async (s) => {
    s.removeAllContentTypeParsers();
    s.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    s.post('/webhooks/:provider', async (_req, reply) => reply.code(202).send({ received: 1 }));
  });
  process.stdout.write(`${await app.listen({ host: '127.0.0.1', port: 0 })}\n`);
}

// ---- the workload ---------------------------------------------------------------------------

interface PreparedRequest {
  body: string;
  headers: Record<string, string>;
  replay: boolean;
  eventId: string;
}

/** N signed requests; each is new, or (20 %) an exact copy of an earlier one. */
function prepare(count: number, emailIds: string[]): PreparedRequest[] {
  const key = standardWebhooksKey(SECRET) as Buffer;
  const ts = Math.floor(Date.now() / 1000);
  const out: PreparedRequest[] = [];
  const types = ['delivered', 'opened', 'clicked', 'delivered'];
  for (let i = 0; i < count; i++) {
    if (i > 100 && Math.random() < REPLAY_SHARE) {
      const earlier = out[Math.floor(Math.random() * i)] as PreparedRequest;
      out.push({ ...earlier, replay: true });
      continue;
    }
    const eventId = `evt_${randomUUID()}`;
    const body = JSON.stringify({
      events: [
        {
          event_id: eventId,
          type: types[i % types.length],
          email_id: emailIds[i % emailIds.length],
          occurred_at: new Date().toISOString(),
          data: { smtp_response: '250 2.0.0 OK', ip: '192.0.2.1' },
        },
      ],
    });
    const id = `msg_${i}`;
    out.push({
      body,
      eventId,
      replay: false,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signStandardWebhook(key, id, ts, body),
      },
    });
  }
  return out;
}

async function load(url: string, requests: PreparedRequest[]) {
  let next = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/smtp',
        setupRequest: (req) => {
          const r = requests[next++ % requests.length] as PreparedRequest;
          return { ...req, body: r.body, headers: r.headers };
        },
      },
    ],
  });
  return {
    perSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    sent: next,
  };
}

/** Runs `op` with `concurrency` callers for SECONDS; returns operations per second. */
async function closedLoop(concurrency: number, op: (i: number) => Promise<unknown>) {
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await op(done++);
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

// ---- the run --------------------------------------------------------------------------------

async function seed(url: string): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const templateId = randomUUID();
    await c.query(`INSERT INTO tenants (id, name) VALUES ('bench', 'Bench')`);
    await c.query(`INSERT INTO templates (id, tenant_id, name) VALUES ($1, 'bench', 'bench')`, [templateId]);
    await c.query(
      `INSERT INTO template_versions (template_id, version, tenant_id, subject_template, html_template)
       VALUES ($1, 1, 'bench', 'Hi', '<p>Hi</p>')`,
      [templateId],
    );
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO emails (id, tenant_id, template_id, template_version, recipient_email, status, provider,
                           message_id, metadata, tags)
       SELECT g.id, 'bench', $1, 1, 'r' || g.n || '@example.com', 'sent', 'smtp', '<' || g.id || '@bench>',
              '{"campaign":"bench"}', '{bench}'
         FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $2) n) g
       RETURNING id`,
      [templateId, EMAILS],
    );
    return rows.map((r) => r.id);
  } finally {
    await c.end();
  }
}

async function main() {
  const name = `mailsystem_bench_webhooks_${randomBytes(4).toString('hex')}`;
  const prefix = `msbench-${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = dbUrl(name);
  const children: ChildProcess[] = [];
  try {
    const migrator = await createSystem({
      config: loadConfig({
        DATABASE_URL: url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      }),
      roles: { api: false, worker: false },
      migrate: true,
    });
    await migrator.stop();
    const emailIds = await seed(url);
    const expected = Math.ceil(SECONDS * 8000);
    const countStored = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const { rows } = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM provider_webhook_events WHERE provider = 'smtp'`,
        );
        return rows[0]?.n ?? 0;
      } finally {
        await c.end();
      }
    };
    const fmt = (n: number) => n.toFixed(0).padStart(8);
    const report: string[] = [];
    let met = false;
    // Each round measures every line again, a few seconds apart, so that a neighbour's burst on a
    // shared machine shows up as a difference between rounds rather than between lines.
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}: preparing ${expected} signed requests (${REPLAY_SHARE * 100} % replays)…`);
      const prepared = prepare(expected, emailIds);

      const bare = await startChild(fileURLToPath(import.meta.url), []);
      children.push(bare.child);
      const bareResult = await load(bare.line, prepared);
      await stopChild(bare.child);

      // The database-only baselines, with the callers the HTTP run has and the API's pool size.
      const db = createPgDatabase(url, { max: 20 });
      const repo = webhooksRepository(db);
      const upsertIds = prepare(expected, emailIds).map((r) => r.eventId);
      const upsert = await closedLoop(CONNECTIONS, (i) =>
        db.query(
          `INSERT INTO provider_webhook_events (provider, provider_event_id, type, payload)
           VALUES ('bench-upsert', $1, 'delivered', '{}') ON CONFLICT (provider, provider_event_id) DO NOTHING`,
          [upsertIds[i % upsertIds.length]],
        ),
      );
      const effect = webhookEffect('bench-record', {
        eventId: 'x',
        providerType: 'delivered',
        type: 'delivered',
        emailId: null,
        providerMessageId: null,
        occurredAt: null,
        data: { bench: true },
        payload: {},
      });
      const record = await closedLoop(CONNECTIONS, (i) =>
        repo.record(
          {
            provider: 'bench-record',
            providerEventId: (prepared[i % prepared.length] as PreparedRequest).eventId,
            providerType: 'delivered',
            emailId: emailIds[i % emailIds.length] as string,
            providerMessageId: null,
            occurredAt: new Date(),
            payload: { bench: true },
          },
          effect,
        ),
      );
      await db.close();

      const before = await countStored();
      const system = await startRole(
        'api',
        {
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          DATABASE_URL: url,
          REDIS_URL: TEST_REDIS_URL,
          QUEUE_PREFIX: prefix,
          WEBHOOK_SECRET_SMTP: SECRET,
        },
        // BENCH_CPU_PROF=<dir>: the API role writes a V8 CPU profile there when it stops.
        process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
      );
      children.push(system.child);
      const cpuBefore = cpuSeconds(system.child.pid);
      const started = performance.now();
      const full = await load(system.url, prepared);
      const apiCpu = (cpuSeconds(system.child.pid) - cpuBefore) / ((performance.now() - started) / 1000);
      // Let the requests still in flight when the clock stopped finish before counting.
      await sleep(1000);
      await stopChild(system.child);
      const stored = (await countStored()) - before;
      const distinctSent = new Set(prepared.slice(0, full.sent).map((r) => r.eventId)).size;
      met ||= full.perSecond >= 3000;

      report.push(
        `round ${round}`,
        `bare Fastify route (baseline)            ${fmt(bareResult.perSecond)}   ${fmt(bareResult.p50)} ${fmt(bareResult.p99)}  ${bareResult.non2xx}`,
        `dedupe upsert alone, no HTTP (baseline)  ${fmt(upsert)}`,
        `record_webhook_event alone, no HTTP      ${fmt(record)}`,
        `POST /webhooks/smtp, 20 % replays        ${fmt(full.perSecond)}   ${fmt(full.p50)} ${fmt(full.p99)}  ${full.non2xx}`,
        `  stored ${stored} distinct events for ${full.sent} requests (${distinctSent} distinct event ids sent); ` +
          `API process busy ${(apiCpu * 100).toFixed(0)} % of one core`,
      );
    }

    console.log(
      `\nwebhook ingestion (API ${RUNTIME}), ${SECONDS} s per run, ${CONNECTIONS} connections, 2-core machine`,
    );
    console.log('                                         per second   p50 ms   p99 ms   non-2xx');
    console.log(report.join('\n'));
    console.log(`\ntarget ≥ 3000 events/s through POST /webhooks/smtp: ${met ? 'met' : 'NOT met'}`);
  } finally {
    for (const c of children) c.kill();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv[2] === '--serve') {
  await serveBare();
} else {
  await main();
  process.exit(0);
}
