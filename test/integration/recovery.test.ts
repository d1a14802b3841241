import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { System } from '../../src/main/system.js';
import { eventually, type Harness, startHarness } from '../support/harness.js';
import { TestRedisServer } from '../support/redis-server.js';

/**
 * Redis is an accelerator, never the only copy: losing its data or the server itself loses no
 * accepted email. These tests run against a redis-server of their own, with the API in the test's
 * system and the workers in a peer system that a test can stop and start.
 */
describe('recovery when Redis loses its data or goes away', () => {
  let redis: TestRedisServer;
  let h: Harness;
  let worker: System | null = null;
  let tenant: { id: string; key: string };
  let templateId: string;

  const startWorker = async () => {
    worker = await h.startPeer({ roles: { api: false, worker: true } });
  };
  const stopWorker = async () => {
    await worker?.stop();
    worker = null;
  };

  beforeAll(async () => {
    redis = await TestRedisServer.start();
    h = await startHarness({
      redisUrl: redis.url,
      roles: { api: true, worker: false },
      sink: { latencyMs: 20, keep: 5000 },
      env: { WORKER_CONCURRENCY: '2', RECOVERY_GRACE_SECONDS: '30', LEASE_SECONDS: '5' },
    });
    tenant = await h.createTenant();
    templateId = await h.createTemplate(tenant.key);
  });
  afterEach(async () => {
    h.sink.clear();
    h.sink.server.latencyMs = 20;
  });
  afterAll(async () => {
    await stopWorker();
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
    await eventually(async () => (await sentCount(ids)) === ids.length, 60_000, 200);
    const perRecipient = h.sink.perRecipient(`${prefix}-`);
    expect(perRecipient.size).toBe(ids.length);
    expect([...perRecipient.values()].filter((n) => n > 1)).toEqual([]);
  };

  it('delivers all 200 emails, none twice, when Redis is flushed during the sends', async () => {
    // The first 100 wait in Redis (no worker yet) when it loses everything.
    const first = await sendMany(100, 'flush');
    await redis.command('FLUSHALL');
    expect(await sentCount(first)).toBe(0);
    await startWorker();
    // The next 100 are flushed while the worker is delivering.
    const second = await sendMany(100, 'flush2');
    await redis.command('FLUSHALL');
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
    // A slow relay keeps most of them waiting in Redis when it restarts empty.
    h.sink.server.latencyMs = 200;
    const ids = await sendMany(60, 'restart');
    await redis.restart();
    expect(await sentCount(ids)).toBeLessThan(55);
    h.sink.server.latencyMs = 5;
    const more = await sendMany(20, 'restart2');
    await expectAllDeliveredOnce(ids, 'restart');
    await expectAllDeliveredOnce(more, 'restart2');
  });
});
