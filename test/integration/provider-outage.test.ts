import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapturedMessage, CaptureSmtpServer } from '../../src/dev/capture-server.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { freePort, TestRedisServer } from '../support/redis-server.js';

/**
 * A relay that goes away (stops listening, drops its connections) or answers 421 to everything:
 * the outage costs time, never mail or a duplicate, and spends no message's retry budget.
 */
const OUTAGE_ENV = {
  MAX_RETRIES: '5',
  RETRY_BASE_SECONDS: '1',
  RETRY_MAX_SECONDS: '2',
  BREAKER_THRESHOLD: '3',
  BREAKER_PAUSE_SECONDS: '0.5',
  BREAKER_MAX_PAUSE_SECONDS: '3',
  RECOVERY_GRACE_SECONDS: '2',
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A relay on a fixed port that can be taken down and brought back, keeping what it received. */
class Relay {
  received: CapturedMessage[] = [];
  server: CaptureSmtpServer | null = null;
  refuseAll = false;
  constructor(
    readonly port: number,
    readonly refuse: (rcpt: string) => { code: number; message: string } | undefined = () => undefined,
  ) {}
  async up() {
    const server = new CaptureSmtpServer({
      port: this.port,
      keep: 10_000,
      reply: (rcpt) =>
        this.refuse(rcpt) ??
        (this.refuseAll ? { code: 421, message: '4.3.2 Service not available, closing channel' } : undefined),
    });
    server.on('message', (m) => this.received.push(m));
    await server.start();
    this.server = server;
  }
  async down() {
    await this.server?.stop();
    this.server = null;
  }
  countByMessageId() {
    const counts = new Map<string, number>();
    for (const m of this.received) {
      const id = /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1] ?? '?';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  }
}

async function sendMany(h: Harness, key: string, templateId: string, n: number, prefix: string) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await h.request('POST', '/send', {
      key,
      body: {
        recipient: { email: `${prefix}${i}@example.com` },
        template_id: templateId,
        variables: { name: 'X' },
      },
    });
    expect(r.status).toBe(202);
    ids.push(r.body.email_id);
  }
  return ids;
}

async function expectAllSentOnce(h: Harness, relay: Relay, ids: string[]) {
  await eventually(
    async () => {
      const rows = await h.sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'",
        [ids],
      );
      return rows[0]?.n === ids.length;
    },
    90_000,
    200,
  );
  const rows = await h.sql<{ message_id: string; attempts: number; provider_deferrals: number }>(
    'SELECT message_id, attempts, provider_deferrals FROM emails WHERE id = ANY($1::uuid[])',
    [ids],
  );
  const counts = relay.countByMessageId();
  for (const r of rows) expect(counts.get(r.message_id)).toBe(1);
  expect(await h.sql('SELECT * FROM dead_letters WHERE email_id = ANY($1::uuid[])', [ids])).toEqual([]);
  return rows;
}

describe('the relay stops listening for 10 s during 50 sends', () => {
  let h: Harness;
  let redis: TestRedisServer;
  let relay: Relay;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    relay = new Relay(await freePort());
    await relay.up();
    h = await startHarness({ redisUrl: redis.url, env: { ...OUTAGE_ENV, SMTP_PORT: String(relay.port) } });
  });
  afterAll(async () => {
    await h?.close();
    await relay?.down();
    await redis?.stop();
  });

  it('delivers all 50 once, no dead letter; a second worker process sees the same open breaker; a Redis flush while open loses nothing', async () => {
    const peer = await h.startPeer();
    const tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    const ids = await sendMany(h, tenant.key, templateId, 20, 'before');
    await relay.down();
    const downAt = Date.now();
    ids.push(...(await sendMany(h, tenant.key, templateId, 30, 'during')));

    // Both worker processes deliver through one breaker kept in Redis: it opens, and readiness
    // (still 200: mail is accepted) says so.
    const ready = await eventually(async () => {
      const r = await h.request('GET', '/health/ready');
      return r.status === 200 && r.body.providers?.smtp?.state !== 'closed' ? r.body : null;
    }, 20_000);
    expect(ready.providers.smtp.open_since).toEqual(expect.any(String));
    const metrics = await h.request('GET', '/metrics');
    expect(metrics.raw).toMatch(/mailsystem_provider_breaker_opens\{provider="smtp"\} [1-9]/);

    // Redis loses everything while the breaker is open: jobs and breaker state are rebuilt.
    await redis.command('FLUSHALL');
    await sleep(Math.max(0, 10_000 - (Date.now() - downAt)));
    await relay.up();

    const rows = await expectAllSentOnce(h, relay, ids);
    // The outage spent no message's budget: with MAX_RETRIES=5 nothing could have failed, and
    // the attempts it took were handed back.
    expect(rows.some((r) => r.provider_deferrals > 0)).toBe(true);
    for (const r of rows) expect(r.attempts - r.provider_deferrals).toBe(1);
    await peer.stop();
  }, 180_000);
});

describe('a relay answering 421 to everything, then 550 to one recipient', () => {
  let h: Harness;
  let relay: Relay;

  beforeAll(async () => {
    relay = new Relay(await freePort(), (rcpt) =>
      rcpt === 'nobody@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined,
    );
    await relay.up();
    h = await startHarness({ env: { ...OUTAGE_ENV, SMTP_PORT: String(relay.port) } });
  });
  afterAll(async () => {
    await h?.close();
    await relay?.down();
  });

  it('holds everything through 10 s of 421s, delivers each once after, and still fails a 550 at once', async () => {
    const tenant = await h.createTenant();
    const templateId = await h.createTemplate(tenant.key);
    relay.refuseAll = true;
    const ids = await sendMany(h, tenant.key, templateId, 30, 'busy');
    await eventually(async () => {
      const r = await h.request('GET', '/health/ready');
      return r.body.providers?.smtp?.state === 'open';
    }, 20_000);
    // The lookup says why it waits; readiness and the API stay up. (An email whose attempt was
    // under way when the breaker opened is handed back once the relay's 421 comes.)
    const held = await eventually(async () => {
      const r = await h.request('GET', `/emails/${ids[ids.length - 1]}`, { key: tenant.key });
      return r.body.status === 'processing' ? null : r;
    }, 20_000);
    expect(held.body.status).toBe('queued');
    expect(held.body.waiting_on).toBe('provider');
    await sleep(10_000);
    relay.refuseAll = false;

    const rows = await expectAllSentOnce(h, relay, ids);
    for (const r of rows) expect(r.attempts - r.provider_deferrals).toBe(1);

    // The aftermath: the relay is back and refuses one recipient for good — that is the
    // message's trouble, failed at once with a dead letter.
    const bad = await h.request('POST', '/send', {
      key: tenant.key,
      body: { recipient: { email: 'nobody@example.com' }, template_id: templateId, variables: { name: 'X' } },
    });
    expect(bad.status).toBe(202);
    const failed = await eventually(async () => {
      const r = await h.request('GET', `/emails/${bad.body.email_id}`, { key: tenant.key });
      return r.body.status === 'failed' ? r.body : null;
    }, 30_000);
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toContain('550');
    const dl = await h.sql('SELECT reason FROM dead_letters WHERE email_id = $1', [bad.body.email_id]);
    expect(dl).toEqual([{ reason: 'permanent' }]);
  }, 180_000);
});
