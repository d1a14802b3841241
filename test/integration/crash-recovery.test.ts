import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, eventually, testEnv } from '../support/harness.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp.js';
import { type SystemProcess, startSystemProcess } from '../support/system-process.js';

/**
 * `kill -9` during 200 sends with the default 120 s lease and recovery settings: the emails the
 * dead process had claimed are released by its missing heartbeat, not by their lease, so every
 * accepted email goes out within 30 s of the restarted process being ready.
 */
describe('crash recovery in seconds', () => {
  let sink: SmtpSink;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let env: Record<string, string>;
  const prefix = `mstest-crashhb-${randomBytes(3).toString('hex')}`;
  let running: SystemProcess | null = null;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A slow relay, so that many emails are in a worker's hands when the process dies.
    sink = await startSmtpSink({ latencyMs: 150, keep: 10_000 });
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => {});
    env = testEnv({
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_PORT: String(sink.port),
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      WORKER_CONCURRENCY: '10',
      // The defaults: nothing here may wait for a lease to run out.
      LEASE_SECONDS: '120',
      JOB_LOCK_SECONDS: '30',
      RECOVERY_INTERVAL_SECONDS: '5',
      RECOVERY_GRACE_SECONDS: '60',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await running?.kill('SIGKILL');
    await pool?.end();
    await sink?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await database?.drop();
  });

  it('delivers every accepted email within 30 s of ready after kill -9', { timeout: 150_000 }, async () => {
    running = await startSystemProcess(env);
    const sys = running;
    const accepted: string[] = [];
    let next = 0;
    const client = async () => {
      while (next < 200) {
        const i = next++;
        try {
          const res = await fetch(`${sys.baseUrl}/send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${sys.apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              recipient: { email: `hb-${i}@example.com` },
              template_id: sys.templateId,
              variables: { name: String(i) },
            }),
          });
          if (res.status === 202) accepted.push(((await res.json()) as { email_id: string }).email_id);
        } catch {
          return;
        }
      }
    };
    const clients = [0, 1, 2, 3].map(() => client());
    await eventually(async () => accepted.length >= 150, 60_000, 5);
    await sys.kill('SIGKILL');
    await Promise.all(clients);

    const { rows: inFlight } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM emails WHERE status = 'processing' AND lease_until > now()",
    );
    // The premise: the kill left claims whose lease would hold them for two minutes.
    expect(inFlight[0]?.n).toBeGreaterThan(0);

    running = await startSystemProcess(env);
    const ready = Date.now();
    await eventually(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM emails WHERE status = 'sent' AND id = ANY($1::uuid[])",
          [accepted],
        );
        return rows[0]?.n === accepted.length;
      },
      30_000,
      200,
    ).catch(async (e) => {
      // What was left behind, for whoever reads the failure.
      const { rows } = await pool.query(
        `SELECT status, attempts, provider_deferrals, claimed_by, lease_until > now() AS leased,
                next_attempt_at, last_error FROM emails WHERE status <> 'sent' AND id = ANY($1::uuid[])`,
        [accepted],
      );
      console.log(JSON.stringify(rows, null, 1));
      throw e;
    });
    const took = Date.now() - ready;
    console.log(
      `crash recovery: ${inFlight[0]?.n} claims of the dead process; all ${accepted.length} sent ${took} ms after ready`,
    );
    expect(took).toBeLessThan(30_000);
  });
});
