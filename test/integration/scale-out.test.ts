import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRole, stopChild } from '../../bench/lib.js';
import { CaptureSmtpServer } from '../../src/dev/capture-server.js';
import { ensureServerBuilt } from '../support/build.js';
import { ADMIN_TOKEN, TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, eventually, testEnv } from '../support/harness.js';

const BULK = 5000;
const SINGLES = 500;

/**
 * Scaled out as compose.yaml runs it: two API processes and three worker processes, compiled as
 * in production (`node dist/main/api.js`, `node dist/main/worker.js`), against one PostgreSQL and
 * one Redis. A 5,000-recipient bulk send and 500 concurrent single sends spread over both APIs
 * reach the SMTP server once per recipient: none lost, none twice.
 */
describe('scale-out: 2 APIs and 3 workers', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let sink: CaptureSmtpServer;
  let pool: pg.Pool;
  const prefix = `mstest-scale-${randomBytes(3).toString('hex')}`;
  const children: ChildProcess[] = [];
  const received = new Map<string, number>();
  let messages = 0;
  let apis: string[] = [];

  beforeAll(async () => {
    await ensureServerBuilt();
    database = await createTestDatabase();
    sink = new CaptureSmtpServer({ port: 0, keep: 0 });
    const { port } = await sink.start();
    sink.on('message', (m) => {
      messages++;
      for (const to of m.envelope.to) received.set(to, (received.get(to) ?? 0) + 1);
    });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => {});
    const { LOG_LEVEL: _quiet, ...env } = testEnv({
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_PORT: String(port),
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      // 500 sends at once from one tenant are the point here, not its rate limit.
      RATE_LIMIT_PER_SECOND: '0',
      // Production's leases and recovery: no email may need a lease to run out to be sent, and a
      // slow moment on a busy machine must not hand an email to a second worker.
      LEASE_SECONDS: '120',
      JOB_LOCK_SECONDS: '30',
      RECOVERY_INTERVAL_SECONDS: '5',
      RECOVERY_GRACE_SECONDS: '60',
      RETRY_BASE_SECONDS: '1',
      RETRY_MAX_SECONDS: '5',
    });
    const roles = await Promise.allSettled([
      startRole('api', env),
      startRole('api', env),
      startRole('worker', env),
      startRole('worker', env),
      startRole('worker', env),
    ]);
    for (const r of roles) if (r.status === 'fulfilled') children.push(r.value.child);
    const failed = roles.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    apis = roles.slice(0, 2).map((r) => (r as PromiseFulfilledResult<{ url: string }>).value.url);
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled(children.map(stopChild));
    await pool?.end();
    await sink?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await database?.drop();
  });

  it('delivers a bulk send and concurrent single sends exactly once each', { timeout: 330_000 }, async () => {
    const [api0, api1] = apis as [string, string];
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const post = async (url: string, body: unknown, headers: Record<string, string>) => {
      const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const tenant = await post(`${api0}/admin/tenants`, { name: 'Scale' }, admin);
    expect(tenant.status).toBe(201);
    const key = await post(`${api1}/admin/tenants/${tenant.body.id}/api-keys`, { name: 'scale' }, admin);
    expect(key.status).toBe(201);
    const headers = { authorization: `Bearer ${key.body.key}`, 'content-type': 'application/json' };
    const template = await post(
      `${api1}/templates`,
      { name: 'scale', subject_template: 'Hello {{ name }}', html_template: '<p>Hi {{ name }}</p>' },
      headers,
    );
    expect(template.status).toBe(201);

    const bulk = post(
      `${api0}/send/bulk`,
      {
        template_id: template.body.id,
        recipients: Array.from({ length: BULK }, (_, i) => ({
          email: `bulk-${i}@example.com`,
          variables: { name: `B${i}` },
        })),
      },
      headers,
    );
    const singles: number[] = [];
    let next = 0;
    const client = async (c: number) => {
      while (next < SINGLES) {
        const i = next++;
        const res = await post(
          `${c % 2 ? api1 : api0}/send`,
          {
            recipient: { email: `single-${i}@example.com` },
            template_id: template.body.id,
            variables: { name: `S${i}` },
          },
          headers,
        );
        singles.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, c) => client(c)));
    const bulkRes = await bulk;
    expect(bulkRes.status).toBe(202);
    expect(bulkRes.body).toMatchObject({ total: BULK, accepted: BULK, invalid: 0, duplicates: 0 });
    expect(singles.filter((s) => s === 202)).toHaveLength(SINGLES);

    const expected = [
      ...Array.from({ length: BULK }, (_, i) => `bulk-${i}@example.com`),
      ...Array.from({ length: SINGLES }, (_, i) => `single-${i}@example.com`),
    ];
    await eventually(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM emails WHERE status = 'sent'",
        );
        return received.size >= expected.length && rows[0]?.n === expected.length;
      },
      // Generous: on a 2-core CI machine running other suites beside it, this can take minutes.
      300_000,
      250,
    ).catch((e) => {
      throw new Error(`${e.message}; ${received.size} of ${expected.length} recipients reached the sink`);
    });
    // A second delivery of anything would come from a worker still at work: give it a moment.
    await new Promise((r) => setTimeout(r, 1000));

    const missing = expected.filter((to) => !received.has(to));
    const twice = [...received].filter(([, n]) => n > 1).map(([to]) => to);
    const unexpected = [...received.keys()].filter((to) => !/^(bulk|single)-\d+@example\.com$/.test(to));
    expect({ missing, twice, unexpected }).toEqual({ missing: [], twice: [], unexpected: [] });
    expect(messages).toBe(expected.length);

    const { rows: statuses } = await pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM emails GROUP BY status',
    );
    expect(statuses).toEqual([{ status: 'sent', n: expected.length }]);
    const { rows: dead } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    expect(dead[0]?.n).toBe(0);
    const { rows: jobs } = await pool.query<{ id: string }>('SELECT id FROM bulk_jobs');
    expect(jobs).toHaveLength(1);
    const job = await fetch(`${api1}/bulk/${jobs[0]?.id}`, { headers }).then((r) => r.json());
    expect(job).toMatchObject({ total: BULK, accepted: BULK, sent: BULK, failed: 0, skipped: 0 });
  });
});
