import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, TEST_REDIS_URL } from '../support/env.js';
import { createTestDatabase, deleteRedisPrefix, eventually, testEnv } from '../support/harness.js';
import { type SmtpSink, startSmtpSink } from '../support/smtp.js';
import { type SystemProcess, startSystemProcess } from '../support/system-process.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/**
 * `kill -9` of the whole process while tenant webhooks are in flight (claimed, waiting for a slow
 * receiver) and waiting in the outbox: after a restart every event reaches the receiver.
 */
describe('tenant webhooks across a SIGKILL', () => {
  let sink: SmtpSink;
  let receiver: WebhookReceiver;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let pool: pg.Pool;
  let env: Record<string, string>;
  const prefix = `mstest-whcrash-${randomBytes(3).toString('hex')}`;
  let running: SystemProcess | null = null;

  beforeAll(async () => {
    database = await createTestDatabase();
    sink = await startSmtpSink();
    receiver = await WebhookReceiver.start();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    pool.on('error', () => {});
    env = testEnv({
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      SMTP_PORT: String(sink.port),
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      RECOVERY_GRACE_SECONDS: '2',
      OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
      OUTBOUND_WEBHOOKS_TIMEOUT_MS: '2000',
      OUTBOUND_WEBHOOKS_RETRY_SCHEDULE: '0,1,1,1,1',
      OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await running?.kill('SIGKILL');
    await pool?.end();
    await sink?.stop();
    await receiver?.close();
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await database?.drop();
  });

  it('delivers every outgoing event after the process is killed and restarted', {
    timeout: 120_000,
  }, async () => {
    running = await startSystemProcess(env);
    const { apiKey, templateId, baseUrl } = running;
    const call = async (base: string, path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, string> };
    };
    const ep = await call(baseUrl, '/webhook-endpoints', {
      url: receiver.url('/crash'),
      events: ['email.sent'],
    });
    expect(ep.status).toBe(201);
    // A slow receiver: attempts are in flight (claimed) when the process dies.
    receiver.delayMs = 1500;
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await call(baseUrl, '/send', {
        recipient: { email: `hook-${i}@example.com` },
        template_id: templateId,
        variables: { name: String(i) },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.email_id as string);
    }
    await eventually(async () => receiver.at('/crash').length >= 1, 30_000);
    await running.kill('SIGKILL');
    const { rows: before } = await pool.query(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`,
    );
    // The premise: the kill left events undelivered.
    expect(before[0].n).toBeGreaterThan(0);

    receiver.delayMs = 0;
    running = await startSystemProcess(env);
    await eventually(
      async () => {
        const got = new Set(receiver.at('/crash').map((r) => r.json.data.email_id));
        return ids.every((id) => got.has(id));
      },
      60_000,
      200,
    );
    await eventually(async () => {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`,
      );
      return rows[0].n === 0;
    }, 20_000);
    const { rows: after } = await pool.query(`SELECT count(*)::int AS n FROM webhook_deliveries`);
    expect(after[0].n).toBe(30);
    // Every event keeps its webhook-id however many times it was attempted.
    const byEmail = new Map<string, Set<string>>();
    for (const r of receiver.at('/crash')) {
      const s = byEmail.get(r.json.data.email_id) ?? new Set();
      s.add(String(r.headers['webhook-id']));
      byEmail.set(r.json.data.email_id, s);
    }
    for (const s of byEmail.values()) expect(s.size).toBe(1);
  });
});
