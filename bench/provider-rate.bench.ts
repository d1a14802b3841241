/**
 * The per-provider send rate (SMTP_MAX_PER_SECOND) held by two worker processes' worth of
 * systems sharing Redis: a backlog larger than a minute's allowance is accepted at once, and the
 * rate at which messages reach a real SMTP server is measured over a minute, printed beside the
 * configured rate and beside a baseline measured in the same run (the same setup with no limit).
 *
 *   npm run bench:provider-rate     (BENCH_RATE=14 BENCH_SECONDS=60 by default)
 *
 * Needs PostgreSQL and Redis as the tests do; creates and drops its own database and key prefix.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { migrate } from '../src/db/migrator.js';
import { createPgDatabase } from '../src/db/pg.database.js';
import { CaptureSmtpServer } from '../src/dev/capture-server.js';
import { createSystem, type System } from '../src/main/system.js';
import { ADMIN_TOKEN, dbUrl, TEST_REDIS_URL } from '../test/support/env.js';
import { deleteRedisPrefix, testEnv } from '../test/support/harness.js';

const RATE = Number(process.env.BENCH_RATE ?? 14);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const BASELINE_EMAILS = 400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(dbName: string, maxPerSecond: number, emails: number, window: number) {
  const prefix = `msbench-${randomBytes(3).toString('hex')}`;
  const sink = new CaptureSmtpServer({ port: 0, keep: 0 });
  const { port } = await sink.start();
  const times: number[] = [];
  sink.on('message', () => times.push(performance.now()));
  const env = testEnv({
    DATABASE_URL: dbUrl(dbName),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    SMTP_PORT: String(port),
    SMTP_MAX_PER_SECOND: String(maxPerSecond),
    RATE_LIMIT_PER_SECOND: '0',
    LEASE_SECONDS: '120',
  });
  const systems: System[] = [];
  try {
    // Two systems with workers: each has its own Redis connections, as two processes would.
    systems.push(await createSystem({ config: loadConfig(env), roles: { api: true, worker: true } }));
    systems.push(await createSystem({ config: loadConfig(env), roles: { api: false, worker: true } }));
    const app = systems[0]?.app;
    if (!app) throw new Error('no api');
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const tenant = (
      await app.inject({ method: 'POST', url: '/admin/tenants', headers: admin, payload: { name: 'b' } })
    ).json();
    const key = (
      await app.inject({
        method: 'POST',
        url: `/admin/tenants/${tenant.id}/api-keys`,
        headers: admin,
        payload: { name: 'b' },
      })
    ).json().key as string;
    const auth = { authorization: `Bearer ${key}` };
    const tpl = (
      await app.inject({
        method: 'POST',
        url: '/templates',
        headers: auth,
        payload: { name: 't', subject_template: 'Hi {{ name }}', html_template: '<p>Hi {{ name }}</p>' },
      })
    ).json().id as string;
    const t0 = performance.now();
    for (let i = 0; i < emails; i++) {
      const r = await app.inject({
        method: 'POST',
        url: '/send',
        headers: auth,
        payload: {
          recipient: { email: `r${i}@example.com` },
          template_id: tpl,
          variables: { name: String(i) },
        },
      });
      if (r.statusCode !== 202) throw new Error(`send: ${r.statusCode} ${r.body}`);
    }
    const accepted = (performance.now() - t0) / 1000;
    // Measure over `window` seconds from the first delivery, or until everything arrived.
    while (times.length === 0) await sleep(10);
    const first = times[0] as number;
    while (performance.now() - first < window * 1000 && times.length < emails) await sleep(50);
    const elapsed = Math.min(window, (performance.now() - first) / 1000);
    const inWindow = times.filter((t) => t - first < elapsed * 1000).length;
    return { accepted, delivered: inWindow, seconds: elapsed, rate: inWindow / elapsed };
  } finally {
    for (const s of systems.reverse()) await s.stop();
    await sink.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  }
}

async function main() {
  const dbName = `ms_provider_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: dbUrl('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  try {
    const migrator = createPgDatabase(dbUrl(dbName), { max: 1 });
    await migrate(migrator);
    await migrator.close();

    const base = await run(dbName, 0, BASELINE_EMAILS, 30);
    console.log(
      `baseline (no limit): ${base.delivered} messages in ${base.seconds.toFixed(2)} s = ${base.rate.toFixed(1)}/s`,
    );
    const backlog = Math.ceil(RATE * SECONDS * 1.2);
    const limited = await run(dbName, RATE, backlog, SECONDS);
    const error = (limited.rate / RATE - 1) * 100;
    console.log(
      `SMTP_MAX_PER_SECOND=${RATE}, two worker systems, ${backlog} emails accepted in ${limited.accepted.toFixed(1)} s:`,
    );
    console.log(
      `  measured ${limited.delivered} messages in ${limited.seconds.toFixed(1)} s = ${limited.rate.toFixed(2)}/s ` +
        `(configured ${RATE}/s, ${error >= 0 ? '+' : ''}${error.toFixed(2)} %, ${Math.abs(error) <= 5 ? 'within' : 'OUTSIDE'} ±5 %)`,
    );
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
