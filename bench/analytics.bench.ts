/**
 * GET /analytics latency on the 10,000,000-event data set of `npm run bench:seed-analytics`,
 * through the whole API (auth, validation, rollup query, zero-fill, serialisation; Fastify
 * inject, so no sockets), printed beside two baselines measured in the same run:
 *   - a `SELECT 1` round trip to the same PostgreSQL (the floor of any query);
 *   - the same 30-day daily counts computed from email_events at query time (what the rollups
 *     save).
 *
 *   npm run bench:analytics     (BENCH_ITERATIONS=300 by default)
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/config.js';
import { createSystem } from '../src/main/system.js';
import { dbUrl, TEST_REDIS_URL } from '../test/support/env.js';
import { deleteRedisPrefix, testEnv } from '../test/support/harness.js';
import { BENCH_DB } from './analytics-db.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const TARGET_P95_MS = 50;

function percentiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  return { p50: at(50), p95: at(95), n: s.length };
}

async function measure(n: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < Math.min(10, n); i++) await fn(); // warm-up: plans, caches, JIT
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return percentiles(samples);
}

async function main() {
  const prefix = `msbench-${randomBytes(3).toString('hex')}`;
  const config = loadConfig(
    testEnv({
      DATABASE_URL: dbUrl(BENCH_DB),
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      RATE_LIMIT_PER_SECOND: '0',
    }),
  );
  const system = await createSystem({ config, roles: { api: true, worker: false } });
  try {
    const { db } = system;
    const events =
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM email_events')).rows[0]?.n ?? 0;
    if (events === 0) throw new Error(`no events in ${BENCH_DB}: run npm run bench:seed-analytics first`);
    const tenantId = 'bench-0';
    const key = (await system.services.tenancy.createApiKey(tenantId, 'bench')).key;
    const templateId = (
      await db.query<{ id: string }>('SELECT id FROM templates WHERE tenant_id = $1 LIMIT 1', [tenantId])
    ).rows[0]?.id;
    const app = system.app;
    if (!app) throw new Error('no api');
    const get = async (url: string) => {
      const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
      return r;
    };
    const weekAgo = new Date(Date.now() - 7 * 24 * 3600_000).toISOString();

    console.log(`${events.toLocaleString('en-US')} events in ${BENCH_DB}; ${ITERATIONS} requests per case\n`);
    const rows: Array<[string, { p50: number; p95: number; n: number }]> = [];
    rows.push(['baseline: SELECT 1 round trip', await measure(ITERATIONS, () => db.query('SELECT 1'))]);
    rows.push([
      'baseline: 30-day daily counts from email_events',
      await measure(5, () =>
        db.query(
          `SELECT date_trunc('day', at, 'UTC') AS day, type, count(*) FROM email_events
            WHERE tenant_id = $1 AND at >= now() - interval '30 days' GROUP BY 1, 2`,
          [tenantId],
        ),
      ),
    ]);
    rows.push([
      'GET /analytics 30 days by day',
      await measure(ITERATIONS, () => get('/analytics?group_by=day')),
    ]);
    rows.push([
      'GET /analytics 7 days by hour',
      await measure(ITERATIONS, () => get(`/analytics?group_by=hour&from=${encodeURIComponent(weekAgo)}`)),
    ]);
    rows.push([
      'GET /analytics 30 days by day, one template',
      await measure(ITERATIONS, () => get(`/analytics?group_by=day&template_id=${templateId}`)),
    ]);
    rows.push([
      'GET /analytics 400 days by day',
      await measure(ITERATIONS, () => get('/analytics?group_by=day&from=2000-01-01&to=2001-02-03')),
    ]);

    const width = Math.max(...rows.map(([name]) => name.length));
    console.log(`${'case'.padEnd(width)}  ${'p50 ms'.padStart(9)}  ${'p95 ms'.padStart(9)}  n`);
    for (const [name, r] of rows) {
      console.log(
        `${name.padEnd(width)}  ${r.p50.toFixed(2).padStart(9)}  ${r.p95.toFixed(2).padStart(9)}  ${r.n}`,
      );
    }
    const worst = Math.max(...rows.filter(([n]) => n.startsWith('GET')).map(([, r]) => r.p95));
    console.log(`\nworst p95 of GET /analytics: ${worst.toFixed(2)} ms (target ≤ ${TARGET_P95_MS} ms)`);
  } finally {
    await system.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
