import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TEST_REDIS_URL } from '../support/env.js';
import { deleteRedisPrefix, eventually, testEnv } from '../support/harness.js';
import { TestPgCluster } from '../support/pg-cluster.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp.js';
import { type SystemProcess, startSystemProcess } from '../support/system-process.js';

const OUTAGES = 5;
const OUTAGE_MS = 3000;

/**
 * PostgreSQL stopped (`pg_ctl stop -m fast`) and started again several times while `npm start`'s
 * process takes mail: the process lives, every 202 is delivered exactly once, and what was
 * accepted before each outage is out within 30 s of the database's return — with the default
 * 120 s lease, so nothing may wait for a lease to run out.
 */
describe('PostgreSQL stopped and started during sends', () => {
  let cluster: TestPgCluster;
  let sink: SmtpSink;
  let pool: pg.Pool;
  let running: SystemProcess | null = null;
  const prefix = `mstest-pgout-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    cluster = await TestPgCluster.start();
    sink = await startSmtpSink({ latencyMs: 10, keep: 10_000 });
    pool = new pg.Pool({ connectionString: cluster.url('mailsystem_outage'), max: 2 });
    pool.on('error', () => {});
  }, 120_000);
  afterAll(async () => {
    await running?.kill('SIGKILL');
    await pool?.end();
    await sink?.stop();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await cluster?.destroy();
  });

  it('lives, delivers every 202 once, each within 30 s of the return', { timeout: 300_000 }, async () => {
    running = await startSystemProcess(
      testEnv({
        DATABASE_URL: cluster.url('mailsystem_outage'),
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: prefix,
        SMTP_PORT: String(sink.port),
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        LEASE_SECONDS: '120',
        WORKER_CONCURRENCY: '8',
        LOG_LEVEL: 'warn',
      }),
      60_000,
    );
    const sys = running;
    const accepted: string[] = [];
    let refused = 0;
    let sending = true;
    let n = 0;
    const client = async () => {
      while (sending) {
        const i = n++;
        try {
          const res = await fetch(`${sys.baseUrl}/send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${sys.apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify({
              recipient: { email: `pg-${i}@example.com` },
              template_id: sys.templateId,
              variables: { name: String(i) },
            }),
          });
          if (res.status === 202) accepted.push(((await res.json()) as { email_id: string }).email_id);
          else {
            expect(res.status).toBe(503);
            refused++;
          }
        } catch {
          refused++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const clients = [client(), client()];
    const sentCount = async (ids: string[]) =>
      (
        await pool.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'",
          [ids],
        )
      ).rows[0]?.n ?? 0;

    const worst: number[] = [];
    for (let k = 0; k < OUTAGES; k++) {
      await new Promise((r) => setTimeout(r, 1500));
      await cluster.stop('fast');
      await new Promise((r) => setTimeout(r, OUTAGE_MS));
      // While it is away the API says so: 503 on /send, readiness names PostgreSQL.
      const ready = await fetch(`${sys.baseUrl}/health/ready`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as any).error.details.checks.postgres).toBe('down');
      const before = [...accepted];
      await cluster.resume();
      const back = Date.now();
      expect(sys.child.exitCode).toBeNull();
      await eventually(async () => (await sentCount(before)) === before.length, 30_000, 200);
      worst.push(Date.now() - back);
    }
    sending = false;
    await Promise.all(clients);
    expect(sys.child.exitCode).toBeNull();
    expect(sys.child.signalCode).toBeNull();
    await eventually(async () => (await sentCount(accepted)) === accepted.length, 30_000, 200);

    // Exactly once: every accepted email's Message-ID reached the relay one time.
    const { rows } = await pool.query<{ message_id: string }>(
      'SELECT message_id FROM emails WHERE id = ANY($1::uuid[])',
      [accepted],
    );
    expect(rows).toHaveLength(accepted.length);
    const counts = new Map<string, number>();
    for (const m of await sink.messages()) {
      if (m.messageId) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
    }
    const wrong = rows.filter((r) => counts.get(r.message_id) !== 1);
    expect(wrong).toEqual([]);
    expect(accepted.length).toBeGreaterThan(50);
    console.log(
      `database outage: ${accepted.length} accepted, ${refused} refused while away; delivered after each return in ${worst.join(', ')} ms`,
    );
  });
});
