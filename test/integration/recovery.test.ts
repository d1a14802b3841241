import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { TestRedisServer } from '../support/redis-server.js';

/**
 * Redis is an accelerator, never the only copy: losing its data or the server itself loses no
 * accepted email. These tests run against a redis-server of their own.
 */
describe('recovery when Redis loses its data or goes away', () => {
  let redis: TestRedisServer;
  let h: Harness;
  let tenant: { id: string; key: string };
  let templateId: string;

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    h = await startHarness({
      redisUrl: redis.url,
      // A slow relay keeps mail in flight while Redis is flushed.
      sink: { latencyMs: 20, keep: 5000 },
      env: { WORKER_CONCURRENCY: '2', RECOVERY_GRACE_SECONDS: '30', LEASE_SECONDS: '5' },
    });
    tenant = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterEach(() => h.sink.clear());
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  const sendMany = async (n: number, prefix: string) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await h.request('POST', '/send', {
        key: tenant.key,
        body: {
          recipient: { email: `${prefix}-${i}@example.com` },
          template_id: templateId,
          variables: { name: `${i}` },
        },
      });
      expect(r.status).toBe(202);
      ids.push(r.body.email_id);
    }
    return ids;
  };

  const sentCount = async (ids: string[]) =>
    (
      await h.sql(`SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'`, [
        ids,
      ])
    )[0].n as number;

  const expectAllDeliveredOnce = async (ids: string[], prefix: string) => {
    await eventually(
      async () => {
        const [row] = await h.sql(
          `SELECT count(*)::int AS n FROM emails WHERE id = ANY($1::uuid[]) AND status = 'sent'`,
          [ids],
        );
        return row.n === ids.length;
      },
      60_000,
      200,
    );
    const received = (await h.sink.messages()).filter((m) => m.envelope.to[0]?.startsWith(`${prefix}-`));
    const perRecipient = new Map<string, number>();
    for (const m of received)
      perRecipient.set(m.envelope.to[0] as string, (perRecipient.get(m.envelope.to[0] as string) ?? 0) + 1);
    expect(perRecipient.size).toBe(ids.length);
    expect([...perRecipient.values()].filter((n) => n > 1)).toEqual([]);
  };

  it('delivers all 200 emails, none twice, when Redis is flushed during the sends', async () => {
    const first = await sendMany(100, 'flush');
    await redis.command('FLUSHALL');
    // The premise: most of them were still waiting in Redis when it lost everything.
    expect(await sentCount(first)).toBeLessThan(90);
    const second = await sendMany(100, 'flush2');
    await redis.command('FLUSHALL');
    expect(await sentCount(second)).toBeLessThan(90);
    await expectAllDeliveredOnce(first, 'flush');
    await expectAllDeliveredOnce(second, 'flush2');
  });

  it('accepts mail while Redis is down, reports not ready, and delivers once Redis is back', async () => {
    await redis.stop();
    const ready = await h.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.code).toBe('service_unavailable');
    expect(ready.body.error.details.checks).toEqual({ postgres: 'up', redis: 'down' });

    const ids = await sendMany(20, 'down');
    await redis.restart(); // back, and empty
    await eventually(async () => (await h.request('GET', '/health/ready')).status === 200, 20_000);
    await expectAllDeliveredOnce(ids, 'down');
  });

  it('resumes by itself after a Redis restart in the middle of delivery', async () => {
    const ids = await sendMany(60, 'restart');
    await redis.restart();
    expect(await sentCount(ids)).toBeLessThan(55);
    const more = await sendMany(20, 'restart2');
    await expectAllDeliveredOnce(ids, 'restart');
    await expectAllDeliveredOnce(more, 'restart2');
  });
});
